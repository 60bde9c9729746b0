"""The roster as the audit log knows it: logged whenever it changes.

The verifier checks every sign-in and ballot against the last logged roster
of the body, and every vote's 应到 against its member count. Each member carries
their role (deputy | attendee, 列席), presidium seat and delegation (代表团): who
counts and who votes is decided from them (rules/congress.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from voting_server.models import AuditEntry, Body, Member
from voting_server.services.audit_log import AuditLog


def roster_snapshot(session: Session, body: Body) -> dict[str, Any]:
    members = session.scalars(
        select(Member).where(Member.body_id == body.id, Member.active).order_by(Member.seat)
    ).all()
    return {
        "body": {
            "id": body.id,
            "name": body.name,
            "kind": body.kind.value,
            "level": body.level.value,
        },
        "member_count": body.member_count,
        "members": [_member(m) for m in members],
    }


def _member(member: Member) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": member.id, "seat": member.seat, "name": member.name,
        # 代表 or 列席, and the seat on the 主席团: who votes and counts (rules/congress.py)
        "role": member.role.value, "presidium": member.presidium.value,
    }  # fmt: skip
    if member.group_name is not None:
        # 代表团: the verifier recomputes each named vote's breakdown from it; left out
        # when there is none, so a roster without delegations logs as it always did
        out["group"] = member.group_name
    return out


def log_roster_if_changed(session: Session, log: AuditLog, body: Body) -> dict[str, Any]:
    """Append a ``roster`` entry unless the last one logged for ``body`` is the same.
    Returns the roster as logged, so a caller needing it (the close's breakdown by
    delegation) does not load the body's members a second time."""
    snapshot = roster_snapshot(session, body)
    last = session.scalar(
        select(AuditEntry.line)
        .where(AuditEntry.body_id == body.id, AuditEntry.type == EntryType.ROSTER)
        .order_by(AuditEntry.idx.desc())
        .limit(1)
    )  # the body's own log holds only its rosters
    if last is None or json.loads(last)["data"] != snapshot:
        log.append(session, body.id, EntryType.ROSTER, snapshot)
    return snapshot
