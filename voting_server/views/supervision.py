"""督办事项 pages: tracked items of a body — livelihood projects, special-report topics
and rectifications (docs/supervision.md, docs/staff-pages.md).

Thin: each page reads or calls ``services.supervision`` (and its imports); who may
take which step is the rules' (``rules.supervision``), so a form is shown only to the
role that may use it, and the service refuses anyone else all the same. A refusal
changes nothing and is shown on the page, in the reader's language.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from rules.duties import SYSTEM
from rules.supervision import PERIODS, step_of
from voting_server.extensions import audit_log, db, sessions
from voting_server.i18n import (
    ITEM_ACTION_LABELS as ACTION_LABELS,
)
from voting_server.i18n import (
    ITEM_KIND_LABELS as KIND_LABELS,
)
from voting_server.i18n import (
    ITEM_PERIOD_LABELS as PERIOD_LABELS,
)
from voting_server.i18n import (
    ITEM_SOURCE_LABELS as SOURCE_LABELS,
)
from voting_server.i18n import (
    ITEM_STATE_LABELS as STATE_LABELS,
)
from voting_server.i18n import N_
from voting_server.models import Body, Sitting, SittingStatus, StaffRole, TrackedItem
from voting_server.roster import MAX_BYTES, RosterError
from voting_server.services import agenda, attendance, supervision
from voting_server.services import supervision_imports as imports
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.timefmt import log_time
from voting_server.views import auth
from voting_server.views.auth import current_user, login_required, message_page
from voting_server.views.common import check_served, download, no_body_page, selected_body
from voting_server.views.forms import int_field, int_fields

log = logging.getLogger(__name__)

bp = Blueprint("supervision", __name__, url_prefix="/admin/supervision")
STAFF = (StaffRole.SECRETARIAT, StaffRole.PRESIDIUM)

# who took a step: a staff role (the accounts' labels), or the system citing a vote
ROLE_LABELS = {**auth.ROLE_LABELS, SYSTEM: N_("系统（依表决结果）")}
REFUSALS = {
    "forbidden": N_("您的角色不能进行此操作。"),
    "invalid_payload": N_("输入有误，或事项当前状态不允许此操作。"),
    "no_sitting": N_("请选择本机构尚未结束的会议；回头看须在测评之后的会议中进行。"),
    "bad_configuration": N_("表决设置有误。"),
    "unknown_member": N_("提出人不是本机构的代表。"),
    "unknown_document": N_("没有这份文件。"),
}
FIELD_LABELS = {
    "title": N_("标题"),
    "source": N_("来源"),
    "proposer": N_("提出人"),
    "department": N_("部门"),
    "complaints": N_("投诉量"),
    "repeat": N_("重复投诉量"),
    "satisfaction": N_("满意度"),
    "header": N_("表头"),
    "row": N_("整行"),
    "file": N_("文件"),
}


def labels() -> dict[str, Any]:
    """Every label table, translated, for the templates."""
    tables = {
        "kinds": KIND_LABELS, "states": STATE_LABELS, "actions": ACTION_LABELS,
        "sources": SOURCE_LABELS, "periods": PERIOD_LABELS, "roles": ROLE_LABELS,
        "fields": FIELD_LABELS,
    }  # fmt: skip
    return {name: {k: _(v) for k, v in table.items()} for name, table in tables.items()}


def _refused(refusal: Refusal) -> str:
    return _(REFUSALS.get(refusal.code, N_("操作未完成。")))


def _user() -> tuple[int, str]:
    user = current_user()
    assert user is not None  # login_required
    return user.id, user.role.value


def _body() -> Body | None:
    return selected_body()


def _open_sittings(body_id: int) -> list[Sitting]:
    return list(
        db().scalars(
            select(Sitting)
            .where(Sitting.body_id == body_id, Sitting.status != SittingStatus.CLOSED)
            .order_by(Sitting.starts_at, Sitting.id)
        )
    )


def _year() -> int:
    return dt.datetime.now(dt.UTC).year


@bp.get("/")
@login_required(*STAFF)
def index(
    error: str | None = None,
    detail: str = "",
    errors: list[RosterError] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    body = _body()
    if body is None:
        return no_body_page()
    kind = request.args.get("kind") or None
    kind = kind if kind in KIND_LABELS else None
    year = int_field(request.args, "year", low=supervision.YEARS[0], high=supervision.YEARS[1])
    state = request.args.get("state") or None
    state = state if state in STATE_LABELS else None
    listed = supervision.items(db(), body.id, kind=kind, year=year, state=state)
    _by, role = _user()
    ready = [
        i for i in supervision.items(db(), body.id)
        if (i["kind"], i["state"]) in supervision.GENERATING
    ]  # fmt: skip
    return render_template(
        "supervision/index.html", body=body, items=listed, kind=kind, year=year, state=state,
        role=role, ready=ready, sittings=_open_sittings(body.id), labels=labels(),
        this_year=_year(), error=error, detail=detail, errors=errors or [],
    ), status  # fmt: skip


@bp.post("/proposals")
@login_required(StaffRole.SECRETARIAT)
def propose() -> ResponseReturnValue:
    body = _body()
    if body is None:
        return no_body_page()
    by, _role = _user()
    form = request.form
    member = None
    seat = int_field(form, "seat", high=99_999)
    if seat is not None:
        found = attendance.member_at_seat(db(), body.id, seat)
        if found is None:
            return index(error=_("提出人不是本机构的代表。"), status=400)
        member = found.id
    proposal = supervision.Proposal(
        kind=form.get("kind", "project"), title=form.get("title", ""),
        year=int_field(form, "year", low=supervision.YEARS[0], high=supervision.YEARS[1]) or _year(),
        source=form.get("source", "public"), description=form.get("description", ""),
        department=form.get("department") or None,
        proposer_member_id=member, proposer_name=form.get("proposer") or None,
    )  # fmt: skip
    try:
        with write_transaction(sessions()) as tx:
            item = supervision.propose(tx, audit_log(), body.id, by, proposal)
            item_id = item.id
    except Refusal as refusal:
        return index(error=_refused(refusal), detail=refusal.detail, status=400)
    return redirect(url_for("supervision.item", tracked_id=item_id, body=body.id))


def _file() -> tuple[bytes, str] | None:
    """The upload, or the ranking page's hidden copy of it."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.stream.read(MAX_BYTES + 1), upload.filename
    if request.form.get("data"):
        try:
            data = base64.b64decode(request.form["data"], validate=True)
        except (binascii.Error, ValueError):
            return None
        # bounded as an upload is: one byte over the bound, and the parser refuses it
        return data[: MAX_BYTES + 1], request.form.get("filename", "")
    return None


@bp.post("/import/proposals")
@login_required(StaffRole.SECRETARIAT)
def import_proposals() -> ResponseReturnValue:
    body = _body()
    if body is None:
        return no_body_page()
    by, _role = _user()
    read = _file()
    if read is None:
        return index(error=_("请选择文件（CSV 或 XLSX）。"), status=400)
    year = (
        int_field(request.form, "year", low=supervision.YEARS[0], high=supervision.YEARS[1])
        or _year()
    )
    try:
        with write_transaction(sessions()) as tx:
            made = imports.import_proposals(tx, audit_log(), body.id, by, *read, year)
            count = len(made)
    except imports.ImportRejected as rejected:
        message = _("文件有 %(n)s 处错误，未导入任何建议。", n=len(rejected.errors))
        return index(error=message, errors=list(rejected.errors), status=400)
    except Refusal as refusal:
        return index(error=_refused(refusal), detail=refusal.detail, status=400)
    log.info("%s proposals imported for body %s", count, body.id)
    return redirect(url_for("supervision.index", body=body.id, kind="project"))


@bp.post("/import/complaints")
@login_required(StaffRole.SECRETARIAT)
def import_complaints() -> ResponseReturnValue:
    """A complaint-statistics file ranked by 两高一低 (nothing stored); the departments
    ticked on the ranking are then proposed as this year's special-report topics."""
    body = _body()
    if body is None:
        return no_body_page()
    read = _file()
    if read is None:
        return index(error=_("请选择文件（CSV 或 XLSX）。"), status=400)
    try:
        ranked = imports.rank_file(*read)
    except imports.ImportRejected as rejected:
        message = _("文件有 %(n)s 处错误，未导入任何数据。", n=len(rejected.errors))
        return index(error=message, errors=list(rejected.errors), status=400)
    return render_template(
        "supervision/complaints.html", body=body, ranked=ranked, labels=labels(),
        percent=imports.percent, this_year=_year(), top=min(3, len(ranked)),
        data=base64.b64encode(read[0]).decode("ascii"), filename=read[1],
    )  # fmt: skip


@bp.post("/topics")
@login_required(StaffRole.SECRETARIAT)
def propose_topics() -> ResponseReturnValue:
    """The departments ticked on the ranking (read again from the same file), proposed."""
    body = _body()
    if body is None:
        return no_body_page()
    by, _role = _user()
    chosen = set(request.form.getlist("department"))
    year = (
        int_field(request.form, "year", low=supervision.YEARS[0], high=supervision.YEARS[1])
        or _year()
    )
    read = _file()
    if read is None or not chosen:
        return index(error=_("请至少选择一个部门。"), status=400)
    try:
        ranked = [r for r in imports.rank_file(*read) if r.department in chosen]
        with write_transaction(sessions()) as tx:
            imports.propose_topics(tx, audit_log(), body.id, by, ranked, year)
    except imports.ImportRejected as rejected:
        message = _("文件有 %(n)s 处错误，未导入任何数据。", n=len(rejected.errors))
        return index(error=message, errors=list(rejected.errors), status=400)
    except Refusal as refusal:
        return index(error=_refused(refusal), detail=refusal.detail, status=400)
    return redirect(url_for("supervision.index", body=body.id, kind="topic"))


@bp.post("/votes")
@login_required(StaffRole.PRESIDIUM)
def generate() -> ResponseReturnValue:
    """The ticked items become a vote of the chosen sitting, without retyping: the
    shortlisted projects a selection for N seats; the others an evaluation."""
    body = _body()
    if body is None:
        return no_body_page()
    by, _role = _user()
    form = request.form
    ids = int_fields(form, "item")
    sitting = int_field(form, "sitting")
    if not ids or sitting is None:
        return index(error=_("请选择事项和会议。"), status=400)
    for item_id in ids:
        found = db().get(TrackedItem, item_id)
        if found is None or found.body_id != body.id:
            return index(error=_("输入有误，或事项当前状态不允许此操作。"), status=400)
    title = " ".join(form.get("title", "").split()) or None
    try:
        with write_transaction(sessions()) as tx:
            if form.get("vote_kind") == "selection":
                seats = int_field(form, "seats", high=500)
                if seats is None:
                    raise Refusal("invalid_payload", "seats")
                vote = supervision.generate_selection_vote(
                    tx, audit_log(), sitting, ids, seats, by, title
                )
            else:
                vote = supervision.generate_evaluation_vote(
                    tx, audit_log(), sitting, ids, by, title
                )
            vote_id = vote.id
    except Refusal as refusal:
        return index(error=_refused(refusal), detail=refusal.detail, status=400)
    return redirect(url_for("agenda.vote", vote_id=vote_id))


def _tracked(tracked_id: int) -> TrackedItem | None:
    found = db().get(TrackedItem, tracked_id)
    if found is not None:
        check_served(found.body_id)
    return found


@bp.get("/items/<int:tracked_id>")
@login_required(*STAFF)
def item(
    tracked_id: int, error: str | None = None, detail: str = "", status: int = 200
) -> ResponseReturnValue:
    found = _tracked(tracked_id)
    if found is None:
        return message_page(_("未找到"), _("没有这个督办事项。"), 404)
    body = db().get(Body, found.body_id)
    _by, role = _user()
    shown = supervision.item_detail(db(), tracked_id)
    for event in shown["events"]:
        event["at_shown"] = log_time(event["at"])  # 北京时间
    forms = []
    for action in shown["actions"]:
        step = step_of(found.kind, action)
        if step is None or SYSTEM in step.roles or role not in step.roles:
            continue  # the system's, or another role's
        forms.append({"action": action, "step": step})
    return render_template(
        "supervision/item.html", body=body, item=shown, forms=forms, role=role,
        labels=labels(), periods=[p for p in PERIODS if p not in shown["reports"]],
        sittings=_open_sittings(found.body_id), error=error, detail=detail,
    ), status  # fmt: skip


@bp.post("/items/<int:tracked_id>")
@login_required(*STAFF)
def act(tracked_id: int) -> ResponseReturnValue:
    found = _tracked(tracked_id)
    if found is None:
        return message_page(_("未找到"), _("没有这个督办事项。"), 404)
    by, _role = _user()
    form = request.form
    action = form.get("action", "")
    step = step_of(found.kind, action)
    if step is None:
        return item(tracked_id, error=_("输入有误，或事项当前状态不允许此操作。"), status=400)
    upload = None
    if step.document:
        file = request.files.get("file")
        if file is None or not file.filename:
            return item(tracked_id, error=_("请选择要上传的文件。"), status=400)
        content = file.stream.read(agenda.DOCUMENT_MAX_BYTES + 1)
        if len(content) > agenda.DOCUMENT_MAX_BYTES:
            return item(tracked_id, error=_("文件过大（超过 20 MB）。"), status=400)
        upload = supervision.Upload(form.get("doc_title", ""), file.filename,
                                    file.mimetype or "", content)  # fmt: skip
    generated = None
    try:
        with write_transaction(sessions()) as tx:
            if step.vote:
                sitting = int_field(form, "sitting")
                if sitting is None:
                    raise Refusal("no_sitting", "sitting")
                vote = supervision.generate_evaluation_vote(
                    tx, audit_log(), sitting, [tracked_id], by
                )
                generated = vote.id
            else:
                supervision.change(
                    tx, audit_log(), tracked_id, action, by, note=form.get("note", ""),
                    department=form.get("department"), period=form.get("period") or None,
                    deadline=form.get("deadline") or None,
                    issues=form.get("issues") if step.deadline else None, upload=upload,
                )  # fmt: skip
    except Refusal as refusal:
        return item(tracked_id, error=_refused(refusal), detail=refusal.detail, status=400)
    if generated is not None:  # the vote made from the item: the presidium sees it
        return redirect(url_for("agenda.vote", vote_id=generated))
    return redirect(url_for("supervision.item", tracked_id=tracked_id, body=found.body_id))


@bp.get("/documents/<int:doc_id>")
@login_required(*STAFF)
def document(doc_id: int) -> ResponseReturnValue:
    try:
        found = supervision.document(db(), doc_id)
    except Refusal:
        return message_page(_("未找到"), _("没有这份文件。"), 404)
    if _tracked(found.item_id) is None:
        return message_page(_("未找到"), _("没有这份文件。"), 404)
    return download(found.content, found.media_type, found.filename)


@bp.get("/subjects")
@login_required(*STAFF)
def subject() -> ResponseReturnValue:
    body = _body()
    if body is None:
        return no_body_page()
    name = " ".join(request.args.get("subject", "").split())[:64]
    history = supervision.subject_history(db(), body.id, name) if name else None
    return render_template(
        "supervision/subject.html", body=body, subject=name, history=history, labels=labels()
    )
