"""The secretariat's administration pages: staff accounts, kiosk devices,
enrollment codes (with QR codes) and PIN slips.

Secrets — enrollment codes and PINs — are shown once, on the response of the
POST that made them, marked not to be cached, and never logged. The QR code
of an enrollment carries the server's address and the code, never a PIN.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import select

from crypto.tls import format_fingerprint
from rules.duties import scope_error
from voting_server.extensions import audit_log, db, sessions
from voting_server.models import SEAT_MAX, BodyKind, BodyLevel, Device, Member, StaffRole
from voting_server.services import bodies, devices, staff
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.sockets.connection import disconnect_user, online_seats
from voting_server.views.auth import current_user, login_required, message_page, refusal_text
from voting_server.views.common import (
    check_served,
    current_username,
    no_body_page,
    selected_body,
    served_bodies,
    venue_ca_fingerprint,
)
from voting_server.views.forms import int_field, int_fields

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

SECRETARIAT = StaffRole.SECRETARIAT
MAX_TTL_HOURS = 24 * 14
SHEET_PER_PAGE = (1, 2, 4, 6)  # enrollment codes per printed page
SLIPS_PER_PAGE = 8  # PIN slips per printed page (cut along the lines)
REVOKE_REASON = "秘书处停用"  # i18n: record — the audit log's reason (docs/i18n.md)


def _no_store(response: Any) -> Any:
    """Pages that show a secret once: not kept by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _secret_page(template: str, **context: Any) -> ResponseReturnValue:
    return _no_store(current_app.make_response(render_template(template, **context)))


def public_base_url() -> str:
    """The address tablets use to reach this server (VOTING_PUBLIC_URL, else this request's)."""
    configured = current_app.config.get("VOTING_PUBLIC_URL")
    return str(configured or request.host_url).rstrip("/")


def enrollment_url(base_url: str, code: str, ca_fingerprint: str | None = None) -> str:
    """What a seat's QR code holds. The code travels in the fragment, which a
    browser never sends to the server, so it stays out of access logs; so does
    ``caf``, the venue CA's SHA-256 fingerprint, which the kiosk page shows for
    checking against the CA the tablet trusts (docs/tls.md)."""
    url = f"{base_url}/kiosk#enroll={code}"
    return f"{url}&caf={ca_fingerprint}" if ca_fingerprint else url


def qr_svg(data: str, label: str = "") -> Markup:
    """An inline SVG QR code of ``data`` (sized by CSS through class ``qr``), named
    ``label`` for screen readers."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    svg = image.to_string(encoding="unicode")
    named = f'<svg class="qr" role="img" aria-label="{escape(label)}"'
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', lambda _m: named, svg)
    return Markup(svg)  # generated here: paths only, no text from the request


def _ttl_hours() -> int:
    hours = int_field(request.form, "ttl_hours", low=0, default=24) or 24
    return min(hours, MAX_TTL_HOURS)


# --- index -----------------------------------------------------------------------------------


@bp.get("/")
@login_required(SECRETARIAT)
def index() -> ResponseReturnValue:
    return _index_page()


def _index_page(status: int = 200, **extra: object) -> ResponseReturnValue:
    me = current_user()
    platform = me is not None and staff.scope_of(db(), me.id) is None
    return render_template(
        "admin/index.html", bodies=served_bodies(), body=selected_body(), platform=platform,
        body_kinds=BodyKind, body_levels=BodyLevel, **extra,
    ), status  # fmt: skip


# --- bodies (机构) ------------------------------------------------------------------------


@bp.post("/bodies")
@login_required(SECRETARIAT)
def body_create() -> ResponseReturnValue:
    """A new body (docs/bodies.md), its own log started at once. Only a platform account
    (one serving every body) makes one: a town's office cannot add bodies to the server."""
    me = current_user()
    assert me is not None  # login_required
    if staff.scope_of(db(), me.id) is not None:
        return message_page(
            gettext("无权新建机构"), gettext("只有服务全部机构的平台账号可以新建机构。"), 403
        )
    form = request.form
    try:
        with write_transaction(sessions()) as tx:
            made = bodies.create_body(
                tx, audit_log(), form.get("name", ""), form.get("kind", ""), form.get("level", "")
            )
            made_id, made_name = made.id, made.name
    except Refusal as refused:
        return _index_page(400, error=refusal_text(refused), form=form)
    log.info("body %s %r created by %r", made_id, made_name, current_username())
    return redirect(url_for("admin.index", body=made_id))


# --- staff accounts ------------------------------------------------------------------------


@bp.get("/staff")
@login_required(SECRETARIAT)
def staff_list() -> ResponseReturnValue:
    return _staff_page()


def _staff_page(status: int = 200, **extra: object) -> ResponseReturnValue:
    """The accounts this secretariat may see: those serving only bodies it serves (all,
    for a platform account), with their scope; the bodies it may give them."""
    me = current_user()
    assert me is not None  # login_required
    mine = staff.scope_of(db(), me.id)
    users = [
        u for u in staff.list_users(db())
        if scope_error(mine, staff.scope_of(db(), u.id)) is None or u.id == me.id
    ]  # fmt: skip
    scopes = {u.id: staff.scope_of(db(), u.id) for u in users}
    return render_template(
        "admin/staff.html", users=users, roles=StaffRole, scopes=scopes,
        bodies=served_bodies(), **extra,
    ), status  # fmt: skip


def _bodies_field() -> list[int]:
    """The ids ticked under 服务机构: ASCII digits in range, else BadField (400)."""
    return int_fields(request.form, "bodies")


@bp.post("/staff")
@login_required(SECRETARIAT)
def staff_create() -> ResponseReturnValue:
    form = request.form
    password = form.get("password", "")
    me = current_user()
    error = None
    if password != form.get("password2", ""):
        error = gettext("两次输入的密码不一致。")
    else:
        try:
            with write_transaction(sessions()) as tx:
                user = staff.create_user(
                    tx,
                    form.get("username", ""),
                    form.get("display_name", ""),
                    form.get("role", ""),
                    password,
                    log=audit_log(),
                    by=me.id if me else None,
                    bodies=_bodies_field(),
                )
                created = user.username
        except Refusal as refused:
            error = refusal_text(refused)
    if error:
        return _staff_page(400, error=error, form=form)
    log.info("staff account %r created by %r", created, current_username())
    return redirect(url_for("admin.staff_list", created=created))


@bp.post("/staff/<int:user_id>/deactivate")
@login_required(SECRETARIAT)
def staff_deactivate(user_id: int) -> ResponseReturnValue:
    me = current_user()
    try:
        with write_transaction(sessions()) as tx:
            name = staff.deactivate_user(
                tx, user_id, log=audit_log(), by=me.id if me else None
            ).username
    except Refusal as refused:
        message = (
            gettext("不能停用自己的账号。")
            if refused.code == "forbidden" and me is not None and me.id == user_id
            else refusal_text(refused)
        )
        return message_page(gettext("无法停用"), message, 400)
    disconnect_user(user_id)  # a console left open loses its connection at once
    log.info("staff account %r deactivated by %r", name, current_username())
    return redirect(url_for("admin.staff_list"))


@bp.post("/staff/<int:user_id>/role")
@login_required(SECRETARIAT)
def staff_role(user_id: int) -> ResponseReturnValue:
    me = current_user()
    try:
        with write_transaction(sessions()) as tx:
            user = staff.change_role(
                tx, user_id, request.form.get("role", ""), log=audit_log(),
                by=me.id if me else None,
            )  # fmt: skip
            name, role = user.username, user.role.value
    except Refusal as refused:
        message = (
            gettext("不能更改自己账号的角色。")
            if refused.code == "forbidden" and me is not None and me.id == user_id
            else gettext("主持人角色只能在服务器命令行授予。")
            if refused.code == "forbidden" and request.form.get("role") == "presidium"
            else refusal_text(refused)
        )
        return message_page(gettext("无法更改角色"), message, 400)
    disconnect_user(user_id)  # its console or page reconnects under the new role
    log.info("staff account %r is now %s, by %r", name, role, current_username())
    return redirect(url_for("admin.staff_list"))


@bp.post("/staff/<int:user_id>/scope")
@login_required(SECRETARIAT)
def staff_scope(user_id: int) -> ResponseReturnValue:
    """The bodies an account serves (none ticked: every body); logged in each."""
    me = current_user()
    try:
        with write_transaction(sessions()) as tx:
            name = staff.set_scope(
                tx, user_id, _bodies_field(), log=audit_log(), by=me.id if me else None
            ).username
    except Refusal as refused:
        return message_page(gettext("无法更改服务机构"), refusal_text(refused), 400)
    disconnect_user(user_id)  # its screens reconnect for the bodies it now serves
    log.info("staff account %r scope changed by %r", name, current_username())
    return redirect(url_for("admin.staff_list"))


# --- devices and enrollment ------------------------------------------------------------------


@bp.get("/devices")
@login_required(SECRETARIAT)
def device_list() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    members = db().scalars(
        select(Member).where(Member.body_id == body.id, Member.active).order_by(Member.seat)
    )
    by_seat: dict[int, list[Any]] = {}
    for device in devices.list_devices(db(), body.id):
        by_seat.setdefault(device.seat, []).append(device)
    online = online_seats(body.id)
    rows = [
        {
            "seat": m.seat,
            "name": m.name,
            "current": next(
                (d for d in by_seat.get(m.seat, []) if d.revoked_at is None and not d.pending),
                None,
            ),
            # a replacement tablet awaiting the presidium's confirmation on the console
            "pending": any(d.revoked_at is None and d.pending for d in by_seat.get(m.seat, [])),
            "revoked": [d for d in by_seat.get(m.seat, []) if d.revoked_at is not None],
            "online": m.seat in online,
        }
        for m in members
    ]
    return render_template(
        "admin/devices.html",
        body=body,
        rows=rows,
        enrolled=sum(1 for r in rows if r["current"]),
        online=len(online),
        per_page=SHEET_PER_PAGE,
    )


@bp.post("/devices/<device_id>/revoke")
@login_required(SECRETARIAT)
def device_revoke(device_id: str) -> ResponseReturnValue:
    # The reason is a record in the audit log, kept in Chinese whatever the page's language.
    reason = request.form.get("reason", "").strip() or REVOKE_REASON
    found = db().get(Device, device_id)
    if found is not None:
        check_served(found.body_id)  # a town's office revokes only its town's tablets
    try:
        with write_transaction(sessions()) as tx:
            device = devices.revoke_device(tx, audit_log(), device_id, reason)
            seat, body_id = device.seat, device.body_id
    except Refusal as refused:
        return message_page(gettext("无法停用设备"), refusal_text(refused), 400)
    log.info("device %s (seat %s) revoked by %r", device_id, seat, current_username())
    return redirect(url_for("admin.device_list", body=body_id))


@bp.post("/devices/<device_id>/venue")
@login_required(SECRETARIAT)
def device_venue(device_id: str) -> ResponseReturnValue:
    """分会场: the secretariat sets the venue a tablet stands at (the console's figures)."""
    try:
        with write_transaction(sessions()) as tx:
            device = devices.set_venue(tx, device_id, request.form.get("venue"))
            body_id = device.body_id
    except Refusal as refused:
        return message_page(gettext("无法修改会场"), refusal_text(refused), 400)
    log.info("device %s moved to another venue by %r", device_id, current_username())
    return redirect(url_for("admin.device_list", body=body_id))


@bp.post("/enrollment")
@login_required(SECRETARIAT)
def enrollment_code() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    seat = int_field(request.form, "seat", high=SEAT_MAX)
    ttl = _ttl_hours()
    me = current_user()
    try:
        if seat is None:
            raise Refusal("unknown_seat")
        with write_transaction(sessions()) as tx:
            code = devices.issue_enrollment_code(
                tx, body.id, seat, me.id if me else None, timedelta(hours=ttl),
                venue=request.form.get("venue"),
            )  # fmt: skip
            member = devices.member_at_seat(tx, body.id, seat)
            name = member.name if member else ""
    except Refusal as refused:
        return message_page(gettext("无法生成登记码"), refusal_text(refused), 400)
    log.info("enrollment code issued for seat %s by %r", seat, current_username())
    base = public_base_url()
    caf = venue_ca_fingerprint()
    return _secret_page(
        "admin/enrollment.html",
        body=body,
        cards=[_card(base, seat, name, code, caf)],
        ca_fingerprint=format_fingerprint(caf) if caf else None,
        ttl_hours=ttl,
        base_url=base,
        per_page=1,
    )


@bp.post("/enrollment/sheet")
@login_required(SECRETARIAT)
def enrollment_sheet() -> ResponseReturnValue:
    """Codes for the seats ticked or typed (``which=selected``), or for every seat, in one
    round trip, printed as one sheet of cut-out cards. A bad or empty seat list, or a seat
    without an active member, refuses the lot: no code is issued."""
    body = selected_body()
    if body is None:
        return no_body_page()
    per_page = int_field(request.form, "per_page")
    per_page = per_page if per_page in SHEET_PER_PAGE else 4
    ttl = _ttl_hours()
    me = current_user()
    seats: list[int] | None = None
    if request.form.get("which") == "selected":
        typed = devices.parse_seat_list(request.form.get("seat_list", ""), SEAT_MAX)
        if typed is None:
            return message_page(
                gettext("无法生成登记码"),
                gettext("座位号填写有误：请填写座位号或范围，如 1-10, 15, 22。"),
                400,
            )
        seats = sorted(set(typed) | set(int_fields(request.form, "seats", high=SEAT_MAX)))
        if not seats:
            return message_page(
                gettext("无法生成登记码"), gettext("请勾选或填写要生成登记码的座位。"), 400
            )
    try:
        with write_transaction(sessions()) as tx:
            codes = devices.issue_enrollment_codes(
                tx, body.id, me.id if me else None, timedelta(hours=ttl),
                venue=request.form.get("venue"), seats=seats,
            )  # fmt: skip
            names = {
                m.seat: m.name for m in tx.scalars(select(Member).where(Member.body_id == body.id))
            }
    except Refusal as refused:
        return message_page(gettext("无法生成登记码"), refusal_text(refused), 400)
    log.info("enrollment codes issued for %s seats by %r", len(codes), current_username())
    base = public_base_url()
    caf = venue_ca_fingerprint()
    cards = [_card(base, seat, names.get(seat, ""), code, caf) for seat, code in codes.items()]
    return _secret_page(
        "admin/enrollment.html",
        body=body,
        cards=cards,
        ca_fingerprint=format_fingerprint(caf) if caf else None,
        ttl_hours=ttl,
        base_url=base,
        per_page=per_page,
    )


def _card(base: str, seat: int, name: str, code: str, caf: str | None) -> dict[str, Any]:
    qr = qr_svg(enrollment_url(base, code, caf), gettext("第 %(seat)s 座的登记二维码", seat=seat))
    return {"seat": seat, "name": name, "code": code, "qr": qr}


# --- PINs --------------------------------------------------------------------------------------


@bp.get("/pins")
@login_required(SECRETARIAT)
def pins_confirm() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    count = len(devices.active_seats(db(), body.id))
    return render_template("admin/pins_confirm.html", body=body, count=count)


@bp.post("/pins")
@login_required(SECRETARIAT)
def pins_issue() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    me = current_user()
    with write_transaction(sessions()) as tx:
        pins = devices.issue_pins(tx, body.id, audit_log(), me.id if me else None)
        names = {
            m.seat: m.name for m in tx.scalars(select(Member).where(Member.body_id == body.id))
        }
    log.info("PINs issued for %s members by %r", len(pins), current_username())
    slips = [{"seat": seat, "name": names.get(seat, ""), "pin": pin} for seat, pin in pins.items()]
    return _secret_page("admin/pins.html", body=body, slips=slips, per_page=SLIPS_PER_PAGE)


@bp.get("/pins/<int:seat>")
@login_required(SECRETARIAT)
def pin_confirm(seat: int) -> ResponseReturnValue:
    """Before one seat's PIN is reset: whose, and what it does (a page, so that the
    confirmation holds without a script)."""
    body = selected_body()
    if body is None:
        return no_body_page()
    member = devices.member_at_seat(db(), body.id, seat)
    if member is None:
        return message_page(gettext("无法重设签到密码"), gettext("该座位没有在册组成人员"), 404)
    return render_template("admin/pin_confirm.html", body=body, member=member)


@bp.post("/pins/<int:seat>")
@login_required(SECRETARIAT)
def pin_reset(seat: int) -> ResponseReturnValue:
    """One seat's new PIN, shown once on a slip; logged (``pins_reset``) without it."""
    body = selected_body()
    if body is None:
        return no_body_page()
    me = current_user()
    try:
        with write_transaction(sessions()) as tx:
            member, pin = devices.reset_pin(tx, audit_log(), body.id, seat, me.id if me else None)
            slip = {"seat": member.seat, "name": member.name, "pin": pin}
    except Refusal as refused:
        return message_page(gettext("无法重设签到密码"), refusal_text(refused), 400)
    log.info("PIN of seat %s reset by %r", seat, current_username())
    return _secret_page("admin/pins.html", body=body, slips=[slip], per_page=SLIPS_PER_PAGE)
