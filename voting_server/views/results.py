"""After the count: result sheets, exports, scrutineers, paper counts, countersignatures,
receipt checks.

Thin views over ``services.results`` (and ``sheets`` for rendering): they
authorize, translate the form, and call the service in one write
transaction. A refusal is shown with its message in the page's language and
changes nothing. Sheets, minutes and exports are official documents: Chinese.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from audit.bundle import parse_head
from audit.evidence import EvidenceError, check_receipt, parse_check_code
from audit.proofs import ProofError
from rules import glossary
from rules.paper import paper_example
from rules.parsing import load_json, parse_int
from voting_server.bounds import MAX_ID
from voting_server.extensions import audit_log, db, sessions, socketio
from voting_server.i18n import term
from voting_server.models import (
    AgendaItem,
    Attendance,
    Member,
    PaperCount,
    Sitting,
    StaffRole,
    StaffUser,
    Vote,
    VoteState,
)
from voting_server.services import attendance, results
from voting_server.services.audit_log import iter_lines
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.sheets import (
    ATTENDANCE_COLUMNS,
    AttendanceRow,
    ResultSheet,
    SheetError,
    attendance_rows,
    minutes_html,
    minutes_pdf,
    render_html,
    render_pdf,
    result_columns,
    result_rows,
    to_csv,
    to_xlsx,
)
from voting_server.sockets.identity import body_room, kiosks_room
from voting_server.views.auth import current_user, login_required, message_page, refusal_text
from voting_server.views.common import download, no_body_page, selected_body
from voting_server.views.forms import int_fields
from voting_server.views.security import csp_nonce

log = logging.getLogger(__name__)

bp = Blueprint("results", __name__, url_prefix="/results")

STAFF = tuple(StaffRole)
MAX_FORM_JSON = 2_000_000  # characters of a pasted paper count or receipt
MAX_REASON_FORM = 1_000  # characters of a reason or basis read from a form (the rule caps lower)
MAX_SCRUTINEERS = 100  # accounts named in one designation
# The official documents' file and sheet names stay Chinese, like the documents (docs/i18n.md).
DOC_RESULTS = glossary.term("result")  # 表决结果
DOC_MINUTES = glossary.term("result.summary")  # 表决结果汇总
DOC_ATTENDANCE = "签到"  # i18n: record


def _vote_or_404(vote_id: int) -> Vote | ResponseReturnValue:
    vote = db().get(Vote, vote_id)
    if vote is None:
        return message_page(
            gettext("没有该表决"), gettext("表决 %(vote)s 不存在。", vote=vote_id), 404
        )
    return vote


# --- paper counts (人工计票) ---------------------------------------------------------------


@bp.get("/votes/<int:vote_id>/paper")
@login_required(StaffRole.SECRETARIAT, StaffRole.SCRUTINEER)
def paper_page(vote_id: int, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    vote = _vote_or_404(vote_id)
    if not isinstance(vote, Vote):
        return vote
    paper = db().get(PaperCount, vote_id)
    signed = results.signatures(db(), vote_id, "paper_count") if paper else []
    sitting_id = vote.agenda_item.sitting_id
    return render_template(
        "results/paper.html",
        vote=vote,
        paper=paper,
        signed=signed,
        needed=results.PAPER_SIGNATURES,
        signed_in=attendance.present_count(db(), sitting_id, vote.electorate),
        scrutineers=results.scrutineers(db(), sitting_id),
        cancel=results.presidium_cancel(db(), vote_id),
        error=error,
        example=json.dumps(_example(vote), ensure_ascii=False, indent=1),
        form=request.form,
    ), status


def _example(vote: Vote) -> dict[str, Any]:
    """A blank count of the vote's shape, to fill in."""
    return paper_example(vote.spec())


@bp.post("/votes/<int:vote_id>/paper")
@login_required(StaffRole.SECRETARIAT)
def paper_enter(vote_id: int) -> ResponseReturnValue:
    mode = request.form.get("mode", "counts")
    text = request.form.get("data", "")
    try:
        if len(text) > MAX_FORM_JSON:
            raise Refusal("invalid_paper_count", "the entry is too long")
        try:
            data = load_json(text)
        except ValueError as exc:
            raise Refusal("invalid_paper_count", f"not JSON: {exc}") from None
        present = parse_int(request.form.get("present", ""), 0, MAX_ID)
        if present is None:
            raise Refusal("invalid_paper_count", "present: an integer")
        entry = {
            "present": present,
            ("counts" if mode == "counts" else "ballots"): data,
            "present_reason": request.form.get("present_reason", "")[:MAX_REASON_FORM],
        }
        user = current_user()
        assert user is not None
        with write_transaction(sessions()) as tx:
            results.enter_paper_count(tx, audit_log(), vote_id, tx.merge(user), mode, entry)
    except Refusal as refused:
        return paper_page(vote_id, refusal_text(refused), 400)
    log.info("paper count entered for vote %s by user %s", vote_id, user.id)
    return redirect(url_for("results.paper_page", vote_id=vote_id))


# --- scrutineers (监票人) of a sitting -----------------------------------------------------


@bp.get("/sittings/<int:sitting_id>/scrutineers")
@login_required(*STAFF)
def scrutineers_page(
    sitting_id: int, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    sitting = db().get(Sitting, sitting_id)
    if sitting is None:
        return _no_sitting(sitting_id)
    candidates = (
        db()
        .scalars(
            select(StaffUser)
            .where(StaffUser.role == StaffRole.SCRUTINEER, StaffUser.active)
            .order_by(StaffUser.username)
        )
        .all()
    )
    designated = results.scrutineers(db(), sitting_id)
    chosen = int_fields(request.form, "scrutineer") or [d.user_id for d in designated]
    return render_template(
        "results/scrutineers.html",
        sitting=sitting,
        candidates=candidates,
        designated=designated,
        chosen=chosen,
        basis=request.form.get("basis")
        or (designated[0].basis if designated else results.DEFAULT_BASIS[sitting.body.kind]),
        started=results.voting_started(db(), sitting_id),
        error=error,
    ), status


@bp.post("/sittings/<int:sitting_id>/scrutineers")
@login_required(StaffRole.PRESIDIUM)
def scrutineers_designate(sitting_id: int) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    chosen = int_fields(request.form, "scrutineer")[:MAX_SCRUTINEERS]
    try:
        with write_transaction(sessions()) as tx:
            results.designate_scrutineers(
                tx, audit_log(), sitting_id, tx.merge(user), chosen,
                request.form.get("basis", "")[:MAX_REASON_FORM],
            )  # fmt: skip
    except Refusal as refused:
        return scrutineers_page(sitting_id, refusal_text(refused), 400)
    log.info("scrutineers of sitting %s designated by user %s", sitting_id, user.id)
    return redirect(url_for("results.scrutineers_page", sitting_id=sitting_id))


# --- countersignatures (会签) ---------------------------------------------------------------


@bp.post("/votes/<int:vote_id>/countersign")
@login_required(StaffRole.PRESIDIUM, StaffRole.SCRUTINEER)
def countersign(vote_id: int) -> ResponseReturnValue:
    subject = request.form.get("subject", "")
    user = current_user()
    assert user is not None
    try:
        with write_transaction(sessions()) as tx:
            vote = results.countersign(tx, audit_log(), vote_id, tx.merge(user), subject)
            published = subject == "paper_count" and vote.state is VoteState.CLOSED
            body_id = vote.owner_body_id()
            announcement = {
                "vote": vote.id,
                "title": vote.title,
                "result": vote.result,
                "manual": True,
            }
    except Refusal as refused:
        return message_page(gettext("无法签署"), refusal_text(refused), 400)
    if published:  # the hand count is now the vote's result, on every screen
        rooms = [body_room(body_id, r.value) for r in StaffRole] + [kiosks_room(body_id)]
        socketio.emit("result", announcement, to=rooms)  # the vote's body's screens only
    target = "results.paper_page" if subject == "paper_count" else "results.sheet"
    return redirect(url_for(target, vote_id=vote_id))


# --- receipts (the auditor) ---------------------------------------------------------------


# What the tablet shows (回执：第 38 号记录) or just 38: matched, never shown.
RECORD_NUMBER = re.compile(r"\s*第?\s*([0-9]{1,10})\s*(?:号(?:记录)?)?\s*")  # i18n: record


@bp.route("/receipt", methods=["GET", "POST"])
@login_required(StaffRole.SCRUTINEER, StaffRole.PRESIDIUM)
def receipt_check() -> ResponseReturnValue:
    """Check what a tablet showed after a press — the record number (第 N 号记录) and the
    check code (校验码) — against the chosen body's log. The full JSON receipt of
    ``voting-audit check-receipt`` is still taken (``receipt``), with an inclusion proof."""
    body = selected_body()  # the chosen body's log: a receipt names its index there
    if body is None:
        return no_body_page()
    form = request.form if request.method == "POST" else {}
    page: dict[str, Any] = {"record": form.get("record", ""), "code": form.get("code", ""),
                            "text": form.get("receipt", ""), "head": form.get("head", "")}  # fmt: skip
    status = 200
    if request.method == "POST" and page["text"].strip():
        page |= _json_receipt(body.id, page["text"], page["head"])
    elif request.method == "POST":
        page |= _tablet_receipt(body.id, page["record"], page["code"])
    if page.get("error") or page.get("errors"):
        status = 400
    return render_template("results/receipt.html", **page), status


def _tablet_receipt(body_id: int, record: str, code_text: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    number = RECORD_NUMBER.fullmatch(record[:100])
    if number is None:
        errors["record"] = gettext("请填写平板上显示的记录号，如“38”或“第 38 号记录”。")
    code = parse_check_code(code_text[:100])
    if code is None:
        errors["code"] = gettext(
            "校验码是平板上显示的 12 位字母或数字（0-9、a-f），如 22bfbff976c2。"
        )
    if errors or number is None or code is None:
        return {"errors": errors}
    index = int(number.group(1))
    with sessions()() as session:
        found = results.check_tablet_receipt(session, body_id, index, code)
    if "ballot" in found:
        found["choices"] = _choices(found["ballot"], found["titles"])
    return {"answer": found, "index": index}


def _choices(ballot: Any, titles: dict[str, str]) -> list[str]:
    """A named ballot as the tablet named it: 《subject》：赞成 per subject, or the
    candidates chosen (a selection)."""
    if isinstance(ballot, dict):
        return [
            gettext("%(id)s：%(name)s", id=titles.get(k, k), name=_mark(str(v)))
            for k, v in ballot.items()
        ]
    return [titles.get(str(c), str(c)) for c in ballot] if isinstance(ballot, list) else []


def _mark(mark: str) -> str:
    try:
        return term(f"mark.{mark}")
    except KeyError:
        return mark


def _json_receipt(body_id: int, text: str, head_text: str) -> dict[str, Any]:
    """The full receipt (JSON, from a kiosk's export or ``voting-audit``), with a proof."""
    try:
        receipt = load_json(text[:MAX_FORM_JSON])
        head = parse_head(head_text.strip()) if head_text.strip() else None
        with sessions()() as session:
            lines = list(iter_lines(session, body_id))
        return {"outcome": check_receipt(receipt, lines, head)}
    except (EvidenceError, ProofError) as exc:  # what differs, as the verifier names it
        kind = gettext("凭条与记录不符")
        return {"error": gettext("%(kind)s：%(detail)s", kind=kind, detail=exc)}
    except ValueError:  # not JSON, or not a head: the parser's words are no help to staff
        return {
            "error": gettext(
                "凭条格式有误：应为终端导出的完整凭条（JSON），或改用上面的记录号和校验码核对。"
            )
        }


# --- the list of results -------------------------------------------------------------------


@bp.get("/")
@login_required(*STAFF)
def index() -> ResponseReturnValue:
    body = selected_body()  # the chosen body's results only (docs/bodies.md)
    if body is None:
        return no_body_page()
    sittings = (
        db().scalars(select(Sitting).where(Sitting.body_id == body.id).order_by(Sitting.id)).all()
    )
    votes = (
        db()
        .scalars(
            select(Vote)
            .join(AgendaItem)
            .where(AgendaItem.sitting_id.in_([s.id for s in sittings]))
            .order_by(Vote.id)
        )
        .all()
    )
    return render_template("results/index.html", votes=votes, sittings=sittings)


# --- result sheets, minutes and exports ---------------------------------------------------


def _sheet(vote_id: int) -> ResultSheet:
    return ResultSheet.from_source(results.sheet_source(db(), vote_id))


def _pdf_or_message(render: Callable[[], bytes], filename: str) -> ResponseReturnValue:
    try:
        return download(render(), "application/pdf", filename)
    except SheetError as exc:
        return message_page(gettext("无法生成 PDF"), str(exc), 503)


@bp.get("/votes/<int:vote_id>/sheet")
@login_required(*STAFF)
def sheet(vote_id: int) -> ResponseReturnValue:
    try:
        return render_html(_sheet(vote_id), nonce=csp_nonce())
    except Refusal as refused:
        return message_page(gettext("尚无表决结果"), refusal_text(refused), 404)


@bp.get("/votes/<int:vote_id>/sheet.pdf")
@login_required(*STAFF)
def sheet_pdf(vote_id: int) -> ResponseReturnValue:
    try:
        sheet_ = _sheet(vote_id)
    except Refusal as refused:
        return message_page(gettext("尚无表决结果"), refusal_text(refused), 404)
    heading = glossary.term("result", kind=sheet_.kind)  # 表决结果 / 票决结果 / 测评结果
    return _pdf_or_message(lambda: render_pdf(sheet_), f"{heading}-{vote_id}.pdf")


def _sitting_sheets(sitting_id: int) -> tuple[Sitting, list[ResultSheet]] | None:
    sitting = db().get(Sitting, sitting_id)
    if sitting is None:
        return None
    votes = [v for item in sitting.agenda_items for v in item.votes if v.result is not None]
    return sitting, [_sheet(v.id) for v in votes]


def _no_sitting(sitting_id: int) -> ResponseReturnValue:
    return message_page(
        gettext("没有该会议"), gettext("会议 %(sitting)s 不存在。", sitting=sitting_id), 404
    )


def _no_export() -> ResponseReturnValue:
    return message_page(gettext("无法导出"), gettext("没有该会议，或格式不是 csv / xlsx。"), 404)


@bp.get("/sittings/<int:sitting_id>/minutes")
@login_required(*STAFF)
def minutes(sitting_id: int) -> ResponseReturnValue:
    found = _sitting_sheets(sitting_id)
    if found is None:
        return _no_sitting(sitting_id)
    sitting, sheets = found
    return minutes_html(sheets, sitting.title, sitting.body.name, nonce=csp_nonce())


@bp.get("/sittings/<int:sitting_id>/minutes.pdf")
@login_required(*STAFF)
def minutes_pdf_view(sitting_id: int) -> ResponseReturnValue:
    found = _sitting_sheets(sitting_id)
    if found is None:
        return _no_sitting(sitting_id)
    sitting, sheets = found
    return _pdf_or_message(
        lambda: minutes_pdf(sheets, sitting.title, sitting.body.name),
        f"{DOC_MINUTES}-{sitting_id}.pdf",
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/sittings/<int:sitting_id>/results.<fmt>")
@login_required(*STAFF)
def results_export(sitting_id: int, fmt: str) -> ResponseReturnValue:
    found = _sitting_sheets(sitting_id)
    if found is None or fmt not in {"csv", "xlsx"}:
        return _no_export()
    rows = result_rows(found[1])
    columns = result_columns(rows)  # 无效 only if a vote exported can have invalid ballots
    if fmt == "csv":
        return download(to_csv(rows, columns), "text/csv", f"{DOC_RESULTS}-{sitting_id}.csv")
    return download(to_xlsx(rows, columns, DOC_RESULTS), XLSX, f"{DOC_RESULTS}-{sitting_id}.xlsx")


@bp.get("/sittings/<int:sitting_id>/attendance.<fmt>")
@login_required(*STAFF)
def attendance_export(sitting_id: int, fmt: str) -> ResponseReturnValue:
    sitting = db().get(Sitting, sitting_id)
    if sitting is None or fmt not in {"csv", "xlsx"}:
        return _no_export()
    signed = {
        a.member_id: a
        for a in db().scalars(select(Attendance).where(Attendance.sitting_id == sitting_id))
    }
    members = db().scalars(
        select(Member).where(Member.body_id == sitting.body_id, Member.active).order_by(Member.seat)
    )
    rows = attendance_rows(
        AttendanceRow(m.seat, m.name, m.id in signed,
                      signed[m.id].method.value if m.id in signed else None,
                      signed[m.id].signed_in_at if m.id in signed else None)
        for m in members
    )  # fmt: skip
    if fmt == "csv":
        name = f"{DOC_ATTENDANCE}-{sitting_id}.csv"
        return download(to_csv(rows, ATTENDANCE_COLUMNS), "text/csv", name)
    return download(
        to_xlsx(rows, ATTENDANCE_COLUMNS, DOC_ATTENDANCE),
        XLSX,
        f"{DOC_ATTENDANCE}-{sitting_id}.xlsx",
    )
