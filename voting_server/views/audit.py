"""The auditor's page (监票人): the log with filters, its verification, receipts.

Each entry is shown as its canonical line — the bytes that are hashed,
signed and exported — never joined to anything else: the log already keeps
a secret vote's choices apart from who pressed, and this page adds no join.
Filters run in SQL and pages are keyset-paged by index, so a log of a
million entries is read a page at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB

from audit.entry_types import EntryType
from rules.parsing import parse_int
from voting_server.bounds import MAX_ID
from voting_server.extensions import db
from voting_server.models import AuditEntry, StaffRole
from voting_server.services.audit_log import utc_timestamp
from voting_server.services.log_check import LogCheck
from voting_server.timefmt import from_form_value, log_time
from voting_server.views.auth import login_required
from voting_server.views.common import no_body_page, selected_body

bp = Blueprint("audit", __name__, url_prefix="/audit")

AUDITOR = StaffRole.SCRUTINEER
PAGE_SIZE = 50
# The entry types of the log (audit/entry_types.py: the writer's and the verifier's list).
ENTRY_TYPES = tuple(sorted(t.value for t in EntryType))


def _log_check() -> LogCheck:
    check = current_app.extensions.get("voting.log_check")
    if check is None:
        check = current_app.extensions["voting.log_check"] = LogCheck(
            current_app.config["VOTING_DATABASE_URL"], Path(current_app.config["INSTANCE_DIR"])
        )
    return check


def _json_text(*path: str) -> ColumnElement[Any]:
    """A field of the entry's JSON as text, in SQL (the line is the stored JSON)."""
    if db().get_bind().dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(AuditEntry.line, JSONB), *path)
    return cast(func.json_extract(AuditEntry.line, "$." + ".".join(path)), String)


def _local_to_utc(text: str) -> str | None:
    """A datetime-local value (北京时间) as the log's UTC timestamp form, for comparison."""
    try:
        local = from_form_value(text)
    except ValueError:
        return None
    return utc_timestamp(local)


def parse_filters(args: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The query's filters and an error per bad field (a bad field filters nothing)."""
    filters: dict[str, Any] = {}
    errors: dict[str, str] = {}
    type_ = args.get("type", "")
    if type_:
        if type_ in ENTRY_TYPES:
            filters["type"] = type_
        else:
            errors["type"] = _("没有这种记录类型。")
    for name in ("vote", "from", "to", "after"):
        text = args.get(name, "").strip()
        if text:
            number = parse_int(text, 0, MAX_ID)
            if number is None:
                errors[name] = _("应为非负整数。")
            else:
                filters[name] = number
    for name in ("since", "until"):
        text = args.get(name, "").strip()
        if text:
            stamp = _local_to_utc(text)
            if stamp is None:
                errors[name] = _("时间格式应为 2027-03-01 09:00。")
            else:
                filters[name] = stamp
    return filters, errors


def query_entries(
    body_id: int, filters: dict[str, Any], limit: int = PAGE_SIZE
) -> list[AuditEntry]:
    """One page of ``body_id``'s log matching ``filters``, in index order."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.body_id == body_id)
        .order_by(AuditEntry.idx)
        .limit(limit)
    )
    if "type" in filters:
        query = query.where(AuditEntry.type == filters["type"])
    if "from" in filters:
        query = query.where(AuditEntry.idx >= filters["from"])
    if "to" in filters:
        query = query.where(AuditEntry.idx <= filters["to"])
    if "after" in filters:
        query = query.where(AuditEntry.idx > filters["after"])
    if "vote" in filters:
        # ``vote`` is the vote's id, or (vote_configured) the vote object with its id
        vote = func.coalesce(_json_text("data", "vote", "id"), _json_text("data", "vote"))
        query = query.where(vote == str(filters["vote"]))
    if "since" in filters:
        query = query.where(_json_text("t") >= filters["since"])
    if "until" in filters:
        query = query.where(_json_text("t") < filters["until"])
    return list(db().scalars(query))


def _log_size(body_id: int) -> int:
    last = db().scalar(select(func.max(AuditEntry.idx)).where(AuditEntry.body_id == body_id))
    return 0 if last is None else last + 1


@bp.get("/")
@login_required(AUDITOR)
def index() -> ResponseReturnValue:
    body = selected_body()  # the chosen body's log (one log per body, docs/bodies.md)
    if body is None:
        return no_body_page()
    filters, errors = parse_filters(request.args)
    entries = query_entries(body.id, filters, PAGE_SIZE + 1)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    check = _log_check().current
    if check is not None and check.body != body.id:
        check = None  # another body's check
    return render_template(
        "audit/index.html",
        entries=entries,
        more=more,
        next_args={**args, "after": entries[-1].idx} if more else None,
        first_args=args if "after" in filters else None,
        args=request.args,
        errors=errors,
        types=ENTRY_TYPES,
        size=_log_size(body.id),
        body=body,
        check=check,
        local=log_time,
    ), (400 if errors else 200)


@bp.post("/verify")
@login_required(AUDITOR)
def verify() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    _log_check().start(_log_size(body.id), body.id)
    return redirect(url_for("audit.index", body=body.id, _anchor="verification"))
