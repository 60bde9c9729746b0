"""名册导入 in the browser: the secretariat uploads a CSV or XLSX roster.

A thin page over ``voting_server.roster`` (the same parser and all-or-nothing
apply as ``voting-server import-roster``). 预览 applies the roster in a
transaction that is rolled back, to show what would change; 导入 applies it
and logs the new roster (``services.rosters``). Any bad row: every error is
listed with its line and field, and nothing is written. The file is parsed
within the roster's bounds, in a process apart from the event loop
(``services.uploads``): the hall's sockets are served meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import logging

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from voting_server.extensions import audit_log, db, sessions
from voting_server.models import Body, StaffRole
from voting_server.roster import (
    MAX_BYTES,
    ParsedRoster,
    RosterChanges,
    RosterRejected,
    apply_roster,
)
from voting_server.services.rosters import log_roster_if_changed
from voting_server.services.transactions import WRITE_LOCK, write_transaction
from voting_server.services.uploads import parse_roster_upload
from voting_server.views.auth import login_required
from voting_server.views.common import current_username, no_body_page, selected_body

log = logging.getLogger(__name__)

bp = Blueprint("roster", __name__, url_prefix="/admin/roster")


def _read_upload() -> tuple[bytes, str] | str:
    """The roster's bytes and file name: the upload, or the preview's hidden copy.
    A string is the error to show. Past ``MAX_BYTES`` the parse refuses it."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_BYTES + 1)
        name = upload.filename
    elif request.form.get("data"):
        try:
            data = base64.b64decode(request.form["data"], validate=True)
        except (binascii.Error, ValueError):
            return _("文件内容已损坏，请重新选择文件。")
        name = request.form.get("filename", "")
    else:
        return _("请选择名册文件（CSV 或 XLSX）。")
    return data, name


@bp.get("/")
@login_required(StaffRole.SECRETARIAT)
def form() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    return render_template("operator/roster.html", body=body)


@bp.post("/")
@login_required(StaffRole.SECRETARIAT)
def upload() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    read = _read_upload()
    if isinstance(read, str):
        return render_template("operator/roster.html", body=body, error=read), 400
    data, filename = read
    parsed = parse_roster_upload(data, filename)
    if not parsed.ok:
        return _page(body, parsed, filename, errors=list(parsed.errors)), 400
    if request.form.get("action") == "import":
        return _import(body.id, parsed, filename)
    return _preview(body.id, parsed, data, filename)


def _preview(body_id: int, parsed: ParsedRoster, data: bytes, filename: str) -> ResponseReturnValue:
    """Apply in a transaction that is rolled back: what an import would change."""
    with WRITE_LOCK, sessions()() as session:
        try:
            body = session.get(Body, body_id)
            assert body is not None
            changes = apply_roster(session, body, parsed)
        except RosterRejected as rejected:
            return _page(body, parsed, filename, errors=list(rejected.errors)), 400
        finally:
            session.rollback()
    return _page(
        db().get(Body, body_id),
        parsed,
        filename,
        changes=changes,
        data=base64.b64encode(data).decode("ascii"),
    )


def _import(body_id: int, parsed: ParsedRoster, filename: str) -> ResponseReturnValue:
    try:
        with write_transaction(sessions()) as tx:
            body = tx.get(Body, body_id)
            assert body is not None
            changes = apply_roster(tx, body, parsed)
            log_roster_if_changed(tx, audit_log(), body)
    except RosterRejected as rejected:
        return _page(db().get(Body, body_id), parsed, filename, errors=list(rejected.errors)), 400
    log.info("roster of body %s imported by %r: %s", body_id, current_username(), changes)
    return _page(db().get(Body, body_id), parsed, filename, changes=changes, imported=True)


def _page(
    body: Body | None,
    parsed: ParsedRoster,
    filename: str,
    *,
    errors: list | None = None,
    changes: RosterChanges | None = None,
    data: str | None = None,
    imported: bool = False,
) -> str:
    return render_template(
        "operator/roster.html",
        body=body,
        parsed=parsed,
        filename=filename,
        errors=errors or [],
        changes=changes,
        data=data,
        imported=imported,
    )
