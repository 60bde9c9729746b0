"""The live screens: the deputies' kiosk, the presidium console, the hall display.

The pages are shells; everything live comes over Socket.IO (docs/protocol.md)
through our own small client, ``kiosk_client/static/js/sio.js``. Every
script and style is served from this server: the hall LAN has no internet.
"""

from __future__ import annotations

import mimetypes
import time
from pathlib import Path

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

import kiosk_client
from crypto.tls import format_fingerprint
from rules.congress import MemberRole, PresidiumSeat
from voting_server.extensions import db
from voting_server.models import Member, StaffRole
from voting_server.services import kiosk_documents
from voting_server.views.auth import current_user, login_required, message_page
from voting_server.views.common import download, no_body_page, selected_body, venue_ca_fingerprint
from voting_server.views.security import allow_framing_by_this_server

# RFC 9239: JavaScript is text/javascript. Some systems' mime tables still say
# application/javascript, which Werkzeug serves without a charset; text/* gets
# "; charset=utf-8", which the Chinese strings in the scripts need.
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")  # the kiosk's ES modules (js/kiosk/*.mjs)
mimetypes.add_type("application/manifest+json", ".webmanifest")  # the kiosk's full-screen manifest

KIOSK_STATIC = Path(kiosk_client.__file__).resolve().parent / "static"

bp = Blueprint("screens", __name__)

# The kiosk's own scripts (sio.js, kiosk.js, kiosk/*.mjs) live with the kiosk client.
kiosk_static = Blueprint(
    "kiosk_static",
    __name__,
    static_folder=str(KIOSK_STATIC),
    static_url_path="",
    url_prefix="/kiosk-static",
)


def _server_now_ms() -> int:
    """The server's clock for the page's countdowns (a tablet's clock may be off)."""
    return int(time.time() * 1000)


@bp.get("/kiosk")
def kiosk() -> ResponseReturnValue:
    """The deputy's tablet. No staff login: the device proves itself with its own key."""
    caf = venue_ca_fingerprint()
    return render_template(
        "kiosk.html",
        server_now_ms=_server_now_ms(),
        ca_fingerprint=caf or "",
        ca_fingerprint_text=format_fingerprint(caf) if caf else "",
    )


@bp.get("/kiosk/documents/<int:document_id>")
def kiosk_document(document_id: int) -> ResponseReturnValue:
    """A document of the current agenda, opened on a tablet through a link from
    ``document_link`` (docs/protocol.md). No session: the signed token is the
    permission. The token travels in the query string, which the access log leaves
    out (config/gunicorn.conf.py logs the path only)."""
    allow_framing_by_this_server()  # it opens in the kiosk page's frame, answer or refusal
    found = kiosk_documents.linked_document(
        db(), current_app.config["SECRET_KEY"], request.args.get("t", ""), document_id
    )
    if found is None:
        response = current_app.make_response(
            message_page(
                gettext("无法打开文件"),
                gettext("文件链接无效或已过期。请返回表决页面，重新点击文件。"),
                403,
            )
        )
    else:
        response = download(found.content, found.media_type, found.filename, "inline")
        # The kiosk's origin holds the device's signing key (IndexedDB): an uploaded
        # HTML or SVG served here must never run script in it. ``sandbox`` gives the
        # response an opaque origin with scripts and forms off; ``nosniff``
        # keeps the browser from reading, say, a "text/plain" upload as HTML.
        # A PDF is the exception: Chromium's viewer refuses a sandboxed document, and
        # a PDF (with nosniff) is drawn by the viewer, never run as a page of ours.
        sandbox = "" if found.media_type == "application/pdf" else "sandbox; "
        response.headers["Content-Security-Policy"] = f"{sandbox}frame-ancestors 'self'"
        response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"  # nothing of a sitting stays on a tablet
    return response


@bp.get("/console")
@login_required(StaffRole.PRESIDIUM, StaffRole.SECRETARIAT)
def console() -> ResponseReturnValue:
    """The presidium's console; the secretariat sees it read-only (and may sign members in)."""
    user = current_user()
    assert user is not None  # login_required
    body = selected_body()  # ?body=ID (403 if not served), else the first it serves
    if body is None:
        return no_body_page()
    return render_template(
        "console.html",
        server_now_ms=_server_now_ms(),
        can_act=user.role is StaffRole.PRESIDIUM,
        user_name=user.display_name,
        roster=_roster(body.id),
        body=body,
    )


@bp.get("/display")
@login_required(StaffRole.DISPLAY, StaffRole.PRESIDIUM)
def display() -> ResponseReturnValue:
    """The hall display (16:9 projector); the presidium may open it to check it."""
    body = selected_body()
    if body is None:
        return no_body_page()
    return render_template("display.html", server_now_ms=_server_now_ms(), body=body)


def _roster(body_id: int) -> list[dict[str, object]]:
    """Seat → member, of the console's body: for operator sign-in (by seat, or a whole
    代表团: 分团签到) and the seat map (座位图), whose 未按 list of a presidium vote
    (主席团会议) counts the presidium only."""
    members = db().scalars(
        select(Member).where(Member.body_id == body_id, Member.active).order_by(Member.seat)
    )
    return [
        {"id": m.id, "seat": m.seat, "name": m.name, "group": m.group_name,
         "attendee": m.role is MemberRole.ATTENDEE,
         "presidium": m.presidium is not PresidiumSeat.NONE}
        for m in members
    ]  # fmt: skip
