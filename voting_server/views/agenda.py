"""Sittings, agenda items and votes: the secretariat edits, the presidium reads.

Thin views over ``services.agenda``: parse the form (every bad field named,
nothing changed), call the service in one write transaction, redirect.
A vote that has been opened is shown read-only and every change to it is
refused with 409.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy import select

from rules.congress import Electorate
from rules.duties import close_sitting_error
from rules.kinds import KeyPolicy, LiveTally, ThresholdBase, all_kinds
from voting_server.extensions import db, sessions
from voting_server.i18n import current_locale, kind_labels, term
from voting_server.models import AgendaItem, Document, Sitting, SittingStatus, StaffRole, Vote
from voting_server.presets import Presets, preset_titles, presets_for
from voting_server.roster import MAX_BYTES
from voting_server.services import agenda
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.services.trustee_ceremony import sitting_key
from voting_server.services.uploads import read_table_upload
from voting_server.timefmt import form_value
from voting_server.views.auth import current_user, login_required, message_page, refusal_text
from voting_server.views.common import current_username, download, no_body_page, selected_body

log = logging.getLogger(__name__)


def _shown(bad: agenda.FormErrors) -> dict[str, str]:
    """The form's faults in the reader's language (the service names them by msgid)."""
    return {name: gettext(e.msgid, **e.values) for name, e in bad.errors.items()}


bp = Blueprint("agenda", __name__, url_prefix="/admin/sittings")

EDIT = (StaffRole.SECRETARIAT,)
READ = (StaffRole.SECRETARIAT, StaffRole.PRESIDIUM)


def labels(body_kind: str | None = None) -> dict[str, Any]:
    """Chinese names of the rules' vocabulary, for the templates. Who "all members" are
    is the glossary's, by ``body_kind`` (全体代表 at a congress, 全体组成人员 at a
    standing committee)."""
    everyone = term("all_members", body_kind=body_kind)
    return {
        "kinds": kind_labels(),
        # Which parts of the vote form each kind uses (static/js/pages.js shows only those).
        "kind_fields": {
            kind.name: {
                "seats": kind.has_seats,
                "threshold": "threshold" in kind.rules,
                "evaluation": "evaluation" in kind.rules,
            }
            for kind in all_kinds()
        },
        "bases": {
            ThresholdBase.MEMBERS.value: _(
                "%(all_members)s（%(members)s）", all_members=everyone, members=term("members")
            ),
            ThresholdBase.PRESENT.value: _("出席人数（实到）"),
            ThresholdBase.CAST.value: _("收回的选票数"),
            ThresholdBase.VALID.value: _("有效票数"),
        },
        "key_policies": {
            KeyPolicy.LAST_PRESS.value: _("可以改按，以最后一次为准"),
            KeyPolicy.FIRST_PRESS.value: _("按键后不能更改，以第一次为准"),
        },
        "electorates": {
            Electorate.BODY.value: everyone,
            Electorate.PRESIDIUM.value: _("主席团会议（仅主席团成员表决）"),
        },
        "live_tallies": {
            LiveTally.HIDDEN.value: _("表决中不显示"),
            LiveTally.PARTICIPATION.value: _("只显示已按、未按人数"),
            LiveTally.BREAKDOWN.value: _("显示各项票数（仅限记名表决）"),
        },
        "statuses": {status.value: term(f"sitting.{status.value}") for status in SittingStatus},
        "vote_states": {
            "draft": _("草稿（可修改）"),
            "open": _("表决中"),
            "closed": _("表决结束"),
            "cancelled": _("已取消"),
            "announced": _("已宣布结果"),
        },
    }


def _presets(item_: AgendaItem) -> Presets:
    """The presets offered to the body whose sitting holds ``item_`` (config/presets.toml
    names a preset's bodies and levels)."""
    body = item_.sitting.body
    return presets_for(
        current_app.extensions["voting.presets"],
        current_app.extensions["voting.preset_scopes"],
        body.kind.value,
        body.level.value,
    )


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role is StaffRole.SECRETARIAT


def _local(value: Any) -> str:
    return form_value(value)


def _not_found(what: str) -> ResponseReturnValue:
    return message_page(_("没有该记录"), _("%(what)s不存在。", what=what), 404)


def _read_only() -> ResponseReturnValue:
    return message_page(
        _("不能修改"),
        _("该表决已开始或已结束，设置已记入审计日志，只能查看，不能修改。"),
        409,
    )


# --- sittings ------------------------------------------------------------------------------


@bp.get("/")
@login_required(*READ)
def sittings(errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    rows = db().scalars(
        select(Sitting).where(Sitting.body_id == body.id).order_by(Sitting.starts_at.desc())
    )
    form = request.form if errors else {}
    return render_template(
        "operator/sittings.html",
        body=body,
        sittings=list(rows),
        form=form,
        errors=errors or {},
        can_edit=_can_edit(),
        labels=labels(),
        local=_local,
    ), status


@bp.post("/")
@login_required(*EDIT)
def sitting_create() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    try:
        form = agenda.parse_sitting_form(request.form)
    except agenda.FormErrors as bad:
        return sittings(_shown(bad), 400)
    with write_transaction(sessions()) as tx:
        sitting_id = agenda.create_sitting(tx, body.id, form).id
    log.info("sitting %s created by %r", sitting_id, current_username())
    return redirect(url_for("agenda.sitting", sitting_id=sitting_id))


@bp.get("/<int:sitting_id>")
@login_required(*READ)
def sitting(
    sitting_id: int,
    errors: dict[str, str] | None = None,
    item_errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    found = db().get(Sitting, sitting_id)
    if found is None:
        return _not_found(_("会议"))
    form = request.form if errors else {"title": found.title, "starts_at": _local(found.starts_at)}
    next_position = max((i.position for i in found.agenda_items), default=0) + 1
    item_form = request.form if item_errors else {"position": str(next_position)}
    return render_template(
        "operator/sitting.html",
        sitting=found,
        form=form,
        errors=errors or {},
        item_form=item_form,
        item_errors=item_errors or {},
        can_edit=_can_edit(),
        can_close=_can_close(),
        item_editable=agenda.item_editable,
        labels=labels(),
    ), status


@bp.post("/<int:sitting_id>")
@login_required(*EDIT)
def sitting_update(sitting_id: int) -> ResponseReturnValue:
    if db().get(Sitting, sitting_id) is None:
        return _not_found(_("会议"))
    try:
        form = agenda.parse_sitting_form(request.form)
    except agenda.FormErrors as bad:
        return sitting(sitting_id, errors=_shown(bad), status=400)
    with write_transaction(sessions()) as tx:
        agenda.update_sitting(tx, sitting_id, form)
    return redirect(url_for("agenda.sitting", sitting_id=sitting_id, saved=1))


def _can_close() -> bool:
    user = current_user()
    return user is not None and close_sitting_error(user.role.value) is None


@bp.post("/<int:sitting_id>/close")
@login_required(*READ)
def sitting_close(sitting_id: int) -> ResponseReturnValue:
    """闭会 (结束会议): the presidium or the secretariat, after confirming; never while a
    vote of the sitting is open."""
    if db().get(Sitting, sitting_id) is None:
        return _not_found(_("会议"))
    user = current_user()
    if request.form.get("confirm") != "1":
        return message_page(_("未结束会议"), _("请勾选“确认本次会议已经结束”后再结束会议。"), 400)
    try:
        with write_transaction(sessions()) as tx:
            agenda.close_sitting(tx, sitting_id, user.role.value if user else None)
    except Refusal as refused:
        if refused.code == "vote_already_open":
            return message_page(
                _("不能结束会议"),
                _("本次会议有表决正在进行。请先结束或取消该表决，再结束会议。"),
                409,
            )
        return message_page(_("不能结束会议"), refusal_text(refused), 403)
    log.info("sitting %s closed by %r", sitting_id, current_username())
    return redirect(url_for("agenda.sitting", sitting_id=sitting_id, closed=1))


# --- agenda items ---------------------------------------------------------------------------


@bp.post("/<int:sitting_id>/items")
@login_required(*EDIT)
def item_create(sitting_id: int) -> ResponseReturnValue:
    if db().get(Sitting, sitting_id) is None:
        return _not_found(_("会议"))
    try:
        form = agenda.parse_item_form(request.form)
    except agenda.FormErrors as bad:
        return sitting(sitting_id, item_errors=_shown(bad), status=400)
    with write_transaction(sessions()) as tx:
        item_id = agenda.save_item(tx, sitting_id, None, form).id
    return redirect(url_for("agenda.item", item_id=item_id))


@bp.get("/items/<int:item_id>")
@login_required(*READ)
def item(
    item_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    found = db().get(AgendaItem, item_id)
    if found is None:
        return _not_found(_("议程"))
    form = (
        request.form
        if errors
        else {
            "position": str(found.position),
            "title": found.title,
            "description": found.description,
        }
    )
    return render_template(
        "operator/item.html",
        item=found,
        form=form,
        errors=errors or {},
        can_edit=_can_edit(),
        editable=_can_edit() and agenda.item_editable(found),
        labels=labels(),
    ), status


@bp.post("/items/<int:item_id>")
@login_required(*EDIT)
def item_update(item_id: int) -> ResponseReturnValue:
    found = db().get(AgendaItem, item_id)
    if found is None:
        return _not_found(_("议程"))
    try:
        form = agenda.parse_item_form(request.form)
    except agenda.FormErrors as bad:
        return item(item_id, _shown(bad), 400)
    try:
        with write_transaction(sessions()) as tx:
            agenda.save_item(tx, found.sitting_id, item_id, form)
    except Refusal:
        return _read_only()
    return redirect(url_for("agenda.item", item_id=item_id, saved=1))


@bp.post("/items/<int:item_id>/delete")
@login_required(*EDIT)
def item_delete(item_id: int) -> ResponseReturnValue:
    if db().get(AgendaItem, item_id) is None:
        return _not_found(_("议程"))
    try:
        with write_transaction(sessions()) as tx:
            sitting_id = agenda.delete_item(tx, item_id)
    except Refusal:
        return message_page(_("不能删除"), _("议程下还有表决事项。请先删除其中的表决草稿。"), 409)
    return redirect(url_for("agenda.sitting", sitting_id=sitting_id))


@bp.post("/items/<int:item_id>/documents")
@login_required(*EDIT)
def document_add(item_id: int) -> ResponseReturnValue:
    if db().get(AgendaItem, item_id) is None:
        return _not_found(_("议程"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return item(item_id, {"file": _("请选择要上传的文件。")}, 400)
    content = upload.stream.read(agenda.DOCUMENT_MAX_BYTES + 1)
    if len(content) > agenda.DOCUMENT_MAX_BYTES:
        return item(item_id, {"file": _("文件过大（超过 20 MB）。")}, 400)
    if not content:
        return item(item_id, {"file": _("文件是空的。")}, 400)
    try:
        with write_transaction(sessions()) as tx:
            agenda.add_document(
                tx,
                item_id,
                request.form.get("doc_title", ""),
                upload.filename,
                upload.mimetype,
                content,
            )
    except Refusal:
        return _read_only()
    return redirect(url_for("agenda.item", item_id=item_id))


@bp.get("/documents/<int:document_id>")
@login_required(*READ)
def document(document_id: int) -> ResponseReturnValue:
    found = db().get(Document, document_id)
    if found is None:
        return _not_found(_("文件"))
    return download(found.content, found.media_type, found.filename)


@bp.post("/documents/<int:document_id>/delete")
@login_required(*EDIT)
def document_delete(document_id: int) -> ResponseReturnValue:
    if db().get(Document, document_id) is None:
        return _not_found(_("文件"))
    try:
        with write_transaction(sessions()) as tx:
            item_id = agenda.delete_document(tx, document_id)
    except Refusal:
        return _read_only()
    return redirect(url_for("agenda.item", item_id=item_id))


# --- votes -----------------------------------------------------------------------------------


def _vote_page(
    item_: AgendaItem,
    vote: Vote | None,
    form: Any,
    errors: dict[str, str] | None = None,
    status: int = 200,
    rows: list[agenda.Row] | None = None,
    unsaved: bool = False,
) -> ResponseReturnValue:
    presets = _presets(item_)
    rows = agenda.rows_of(form) if rows is None else rows
    return render_template(
        "operator/vote.html",
        item=item_,
        vote=vote,
        form=form,
        rows=rows or [("", "")],
        max_items=agenda.MAX_ITEMS,
        unsaved=unsaved,
        errors=errors or {},
        editable=_can_edit() and (vote is None or agenda.vote_editable(vote)),
        presets=dict(presets),
        # the votes this one may wait for (主席团原则通过…提交大会表决): the sitting's motions
        requirements={"": _("无")}
        | {
            str(v.id): f"{v.id}. {v.title}"
            for v in agenda.requirement_choices(db(), item_.sitting_id, vote.id if vote else None)
        },
        preset_titles=_preset_titles(item_.sitting.body.kind.value),
        labels=labels(item_.sitting.body.kind.value),
        custom=agenda.CUSTOM,
        # 监票人密钥加密 is offered once the sitting's scrutineers completed a key ceremony
        trustee_key=sitting_key(db(), item_.sitting_id) is not None,
    ), status


def _preset_titles(body_kind: str) -> dict[str, dict[str, str]]:
    titles = preset_titles(Path(current_app.config["VOTING_PRESETS_FILE"]), body_kind)
    return dict(titles)


def _row_edit(item_: AgendaItem, vote: Vote | None) -> ResponseReturnValue | None:
    """The row editor's buttons (添加一行, 上移, 下移, 删除, 导入): the form comes back with
    its rows changed and nothing saved (the page works without a script). None when the
    form was sent to be saved. A bad import file leaves the rows as they were."""
    op = request.form.get("row_op")
    if op is None:
        return None
    rows = agenda.rows_of(request.form)
    if op == "import":
        upload = request.files.get("items_file")
        if upload is None or not upload.filename:
            return _vote_page(item_, vote, request.form, {"items": _("请选择要导入的CSV或XLSX文件。")},
                              400, rows)  # fmt: skip
        data = upload.stream.read(MAX_BYTES + 1)
        table, refusal = read_table_upload(data, upload.filename)
        if refusal is not None:
            message = _("导入失败：%(reason)s", reason=_upload_reason(refusal.message))
            return _vote_page(item_, vote, request.form, {"items": message}, 400, rows)
        try:
            imported = agenda.rows_from_table(table)
        except agenda.FormErrors as bad:
            return _vote_page(item_, vote, request.form, _shown(bad), 400, rows)
        return _vote_page(item_, vote, request.form, None, 200, imported, unsaved=True)
    changed = agenda.apply_row_op(rows, op)
    if changed is None:
        return _vote_page(item_, vote, request.form, {"items": _("无法执行该操作。")}, 400, rows)
    return _vote_page(item_, vote, request.form, None, 200, changed, unsaved=True)


def _upload_reason(message: str) -> str:
    """The roster reader's reason ("中文 / English") in the page's language."""
    zh, _sep, en = message.partition(" / ")
    return en if en and current_locale() == "en" else zh


@bp.get("/items/<int:item_id>/votes/new")
@login_required(*EDIT)
def vote_new(item_id: int) -> ResponseReturnValue:
    found = db().get(AgendaItem, item_id)
    if found is None:
        return _not_found(_("议程"))
    return _vote_page(found, None, agenda.blank_vote_form(_presets(found)))


@bp.post("/items/<int:item_id>/votes")
@login_required(*EDIT)
def vote_create(item_id: int) -> ResponseReturnValue:
    found = db().get(AgendaItem, item_id)
    if found is None:
        return _not_found(_("议程"))
    edited = _row_edit(found, None)
    if edited is not None:
        return edited
    try:
        draft = agenda.parse_vote_form(request.form, _presets(found))
    except agenda.FormErrors as bad:
        return _vote_page(found, None, request.form, _shown(bad), 400)
    try:
        with write_transaction(sessions()) as tx:
            vote_id = agenda.save_vote(tx, item_id, None, draft).id
    except agenda.FormErrors as bad:  # the requirement, checked against the sitting
        return _vote_page(found, None, request.form, _shown(bad), 400)
    log.info("vote %s created by %r", vote_id, current_username())
    return redirect(url_for("agenda.vote", vote_id=vote_id, saved=1))


@bp.get("/votes/<int:vote_id>")
@login_required(*READ)
def vote(vote_id: int) -> ResponseReturnValue:
    found = db().get(Vote, vote_id)
    if found is None:
        return _not_found(_("表决"))
    return _vote_page(
        found.agenda_item, found, agenda.vote_form_values(found, _presets(found.agenda_item))
    )


@bp.post("/votes/<int:vote_id>")
@login_required(*EDIT)
def vote_update(vote_id: int) -> ResponseReturnValue:
    found = db().get(Vote, vote_id)
    if found is None:
        return _not_found(_("表决"))
    if not agenda.vote_editable(found):
        return _read_only()
    edited = _row_edit(found.agenda_item, found)
    if edited is not None:
        return edited
    try:
        draft = agenda.parse_vote_form(request.form, _presets(found.agenda_item))
    except agenda.FormErrors as bad:
        return _vote_page(found.agenda_item, found, request.form, _shown(bad), 400)
    try:
        with write_transaction(sessions()) as tx:
            agenda.save_vote(tx, found.agenda_item_id, vote_id, draft)
    except agenda.FormErrors as bad:
        db().expire_all()
        return _vote_page(found.agenda_item, found, request.form, _shown(bad), 400)
    except Refusal:
        return _read_only()
    log.info("vote %s edited by %r", vote_id, current_username())
    return redirect(url_for("agenda.vote", vote_id=vote_id, saved=1))


@bp.post("/votes/<int:vote_id>/delete")
@login_required(*EDIT)
def vote_delete(vote_id: int) -> ResponseReturnValue:
    if db().get(Vote, vote_id) is None:
        return _not_found(_("表决"))
    try:
        with write_transaction(sessions()) as tx:
            item_id = agenda.delete_vote(tx, vote_id)
    except Refusal:
        return _read_only()
    return redirect(url_for("agenda.item", item_id=item_id))
