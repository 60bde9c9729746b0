"""Deputies' records (代表履职档案) for the secretariat: the deputies of a body with their
attendance rates (出勤率) over a year or all, per delegation (代表团); a deputy's page with
every sitting and vote; exports as XLSX and PDF; and leave (请假) recorded for a sitting.

A thin shell over services/records.py (gathering) and rules/records.py (the counts).
A secret vote shows 已按 / 未按 only, here as everywhere (docs/records.md).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from rules.breakdown import group_label
from rules.records import LEAVE_REASON_MAX, group_rates, total
from voting_server.extensions import audit_log, db, sessions
from voting_server.models import GROUP_MAX, Body, Member, Sitting, SittingStatus, StaffRole
from voting_server.services import attendance, records
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.sheets.model import SheetError
from voting_server.sheets.records import (
    rate_text,
    record_pdf,
    record_xlsx,
    records_pdf,
    records_xlsx,
    status_text,
)
from voting_server.views.auth import current_user, login_required, message_page, refusal_text
from voting_server.views.common import check_served, download, no_body_page, selected_body
from voting_server.views.forms import int_field

bp = Blueprint("records", __name__, url_prefix="/admin/records")

SECRETARIAT = StaffRole.SECRETARIAT
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR_RANGE = (1949, 9999)


def _year() -> int | None:
    """The period: ``?year=2027``, or all (absent, empty or ``all``)."""
    return int_field(request.args, "year", low=YEAR_RANGE[0], high=YEAR_RANGE[1])


def _group(body: Body) -> str | None:
    """``?group=`` a delegation of the body, or None (all); an unknown one: 404."""
    group = request.args.get("group", "").strip()
    if not group:
        return None
    if len(group) > GROUP_MAX or group not in records.groups(db(), body.id):
        abort(404)
    return group


def _export(
    fmt: str, xlsx: Callable[[], bytes], pdf: Callable[[], bytes], name: str
) -> ResponseReturnValue:
    if fmt == "xlsx":
        return download(xlsx(), XLSX, f"{name}.xlsx")
    if fmt != "pdf":
        abort(404)
    try:
        return download(pdf(), "application/pdf", f"{name}.pdf")
    except SheetError as exc:
        return message_page(gettext("无法生成 PDF"), str(exc), 503)


@bp.get("/")
@login_required(SECRETARIAT)
def index() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    year, group = _year(), _group(body)
    found = records.records(db(), body, year, group)
    return render_template(
        "records/index.html", body=body, year=year, group=group, found=found,
        years=records.years(db(), body.id), groups=records.groups(db(), body.id),
        rates=group_rates(found), whole=total(found), rate_text=rate_text,
        group_label=group_label,
    )  # fmt: skip


@bp.get("/export.<fmt>")
@login_required(SECRETARIAT)
def export(fmt: str) -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    year, group = _year(), _group(body)
    found = records.records(db(), body, year, group)
    title = body.name if group is None else f"{body.name} {group}"
    name = f"出勤率-{title}-{year or '全部'}"  # i18n: record — a document's file name
    return _export(
        fmt, lambda: records_xlsx(title, found, year), lambda: records_pdf(title, found, year), name
    )


def _member(member_id: int) -> Member:
    member = db().get(Member, member_id)
    if member is None:
        abort(404)
    check_served(member.body_id)
    return member


@bp.get("/members/<int:member_id>")
@login_required(SECRETARIAT)
def member(member_id: int) -> ResponseReturnValue:
    found = _member(member_id)
    year = _year()
    record = records.record_of(db(), found, year)
    return render_template(
        "records/member.html", body=found.body, member=found, record=record, year=year,
        years=records.years(db(), found.body_id), status_text=status_text, rate_text=rate_text,
    )  # fmt: skip


@bp.get("/members/<int:member_id>/export.<fmt>")
@login_required(SECRETARIAT)
def member_export(member_id: int, fmt: str) -> ResponseReturnValue:
    found = _member(member_id)
    year = _year()
    record = records.record_of(db(), found, year)
    name = f"履职档案-{found.name}-{year or '全部'}"  # i18n: record — a document's file name
    return _export(
        fmt, lambda: record_xlsx(record),
        lambda: record_pdf(record, found.body.name, year), name,
    )  # fmt: skip


# --- leave (请假) ---------------------------------------------------------------------------


def _open_sittings(body: Body) -> list[Sitting]:
    return list(
        db().scalars(
            select(Sitting)
            .where(Sitting.body_id == body.id, Sitting.status != SittingStatus.CLOSED)
            .order_by(Sitting.starts_at, Sitting.id)
        )
    )


def _leave_page(body: Body, status: int = 200, **extra: object) -> ResponseReturnValue:
    sittings = _open_sittings(body)
    chosen = int_field(request.values, "sitting")
    sitting = next((s for s in sittings if s.id == chosen), sittings[-1] if sittings else None)
    leaves: list[tuple[Member, str, bool]] = []
    if sitting is not None:
        for member_id, reason in records.leaves_of(db(), sitting.id).items():
            m = db().get(Member, member_id)
            if m is not None:
                signed = attendance.is_signed_in(db(), sitting.id, member_id)
                leaves.append((m, reason, signed))
        leaves.sort(key=lambda t: t[0].seat)
    return render_template(
        "records/leave.html", body=body, sittings=sittings, sitting=sitting, leaves=leaves,
        reason_max=LEAVE_REASON_MAX, **extra,
    ), status  # fmt: skip


@bp.get("/leave")
@login_required(SECRETARIAT)
def leave_form() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    return _leave_page(body)


@bp.post("/leave")
@login_required(SECRETARIAT)
def leave_record() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    me = current_user()
    assert me is not None
    sitting_id = int_field(request.form, "sitting", low=1)
    seat = int_field(request.form, "seat", low=1)
    reason = request.form.get("reason", "")
    form = {"seat": request.form.get("seat", ""), "reason": reason[: LEAVE_REASON_MAX + 1]}
    if sitting_id is None or seat is None:
        return _leave_page(body, 400, error=gettext("请选择会议并填写座位号。"), form=form)
    try:
        with write_transaction(sessions()) as tx:
            sitting = tx.get(Sitting, sitting_id)
            if sitting is None or sitting.body_id != body.id:
                raise Refusal("no_sitting")
            found = attendance.member_at_seat(tx, body.id, seat)
            if found is None:
                raise Refusal("unknown_member")
            records.record_leave(tx, audit_log(), sitting, found, reason, by=me.id,
                                 by_role=me.role.value)  # fmt: skip
    except Refusal as refused:
        message = refusal_text(refused)
        if refused.code == "invalid_payload":
            message = gettext("请填写请假事由（不超过 %(n)s 字）。", n=LEAVE_REASON_MAX)
        return _leave_page(body, 400, error=message, form=form)
    return redirect(url_for("records.leave_form", body=body.id, sitting=sitting_id, done=seat))
