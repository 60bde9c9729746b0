"""代表团 on the server: sign-in per delegation and the breakdown of named votes.

The delegation is the roster's group (``Member.group_name``). A named vote's
breakdown (rules/breakdown.py) is computed at close from the roster the log
holds and published in the ``result`` entry as ``by_delegation``; screens,
sheets and exports read it back from the log, so they show exactly what the
verifier recomputes. Secret votes never break down.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules import VoteSpec
from rules.breakdown import by_delegation, roster_pairs
from voting_server.models import Attendance, AuditEntry, Body, BodyKind, Sitting
from voting_server.services.rosters import roster_snapshot


def group_head(body: Body) -> str:
    """What a body's roster groups are called: a congress's 代表团, a committee's 组别."""
    return "代表团" if body.kind is BodyKind.CONGRESS else "组别"


def present_ids(session: Session, sitting_id: int) -> set[int]:
    """The members signed in to the sitting (签到)."""
    return set(
        session.scalars(select(Attendance.member_id).where(Attendance.sitting_id == sitting_id))
    )


def vote_breakdown(
    session: Session, body: Body, sitting_id: int, spec: VoteSpec, ballots: Mapping[int, Any]
) -> list[dict[str, Any]] | None:
    """The breakdown of a named vote's counted ballots (member → ballot), or None when
    the body's roster has no delegations. Precondition: the roster the log last holds
    for ``body`` is the current one (``log_roster_if_changed`` before the result)."""
    pairs = roster_pairs(roster_snapshot(session, body)["members"])
    return by_delegation(spec, pairs, present_ids(session, sitting_id), ballots)


def sign_in_by_delegation(session: Session, sitting: Sitting) -> list[dict[str, Any]] | None:
    """分团签到: per delegation in roster order, ``{group, members, present}`` (应到 /
    实到); None when the roster has no delegations."""
    pairs = roster_pairs(roster_snapshot(session, sitting.body)["members"])
    if all(group is None for _, group in pairs):
        return None
    here = present_ids(session, sitting.id)
    out: dict[str | None, dict[str, Any]] = {}
    for member, group in pairs:
        entry = out.setdefault(group, {"group": group, "members": 0, "present": 0})
        entry["members"] += 1
        entry["present"] += member in here
    return list(out.values())


def logged_breakdown(session: Session, vote_id: int) -> list[dict[str, Any]] | None:
    """The ``by_delegation`` published in the vote's ``result`` entry, or None."""
    for line in session.scalars(
        select(AuditEntry.line)
        .where(AuditEntry.type == EntryType.RESULT)
        .order_by(AuditEntry.idx.desc())
    ):
        data = json.loads(line)["data"]
        if data.get("vote") == vote_id:
            breakdown = data.get("by_delegation")
            return list(breakdown) if breakdown is not None else None
    return None
