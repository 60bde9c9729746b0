"""代表团 on the server: the breakdown of named votes (sign-in per delegation, 分团签到,
is ``attendance.sign_in_by_delegation``).

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
from rules.breakdown import breakdown_table, breakdown_title, by_delegation, roster_pairs
from rules.kinds import kind_of
from voting_server.models import Attendance, AuditEntry, Body, BodyKind, Vote


def group_head(body: Body) -> str:
    """What a body's roster groups are called: a congress's 代表团, a committee's 组别."""
    return "代表团" if body.kind is BodyKind.CONGRESS else "组别"


def present_ids(session: Session, sitting_id: int) -> set[int]:
    """The members signed in to the sitting (签到)."""
    return set(
        session.scalars(select(Attendance.member_id).where(Attendance.sitting_id == sitting_id))
    )


def vote_breakdown(
    session: Session,
    roster: Mapping[str, Any],
    sitting_id: int,
    spec: VoteSpec,
    ballots: Mapping[int, Any],
) -> list[dict[str, Any]] | None:
    """The breakdown of a named vote's counted ballots (member → ballot), or None when
    the body's roster has no delegations. ``roster``: the roster the log last holds for
    the body, as ``log_roster_if_changed`` returns it just before the result."""
    pairs = roster_pairs(roster["members"])
    return by_delegation(spec, pairs, present_ids(session, sitting_id), ballots)


def logged_breakdown(session: Session, vote_id: int) -> list[dict[str, Any]] | None:
    """The ``by_delegation`` published in the vote's ``result`` entry (in its body's
    log), or None."""
    vote = session.get(Vote, vote_id)
    if vote is None:
        return None
    for line in session.scalars(
        select(AuditEntry.line)
        .where(AuditEntry.body_id == vote.owner_body_id(), AuditEntry.type == EntryType.RESULT)
        .order_by(AuditEntry.idx.desc())
    ):
        data = json.loads(line)["data"]
        if data.get("vote") == vote_id:
            breakdown = data.get("by_delegation")
            return list(breakdown) if breakdown is not None else None
    return None


def breakdown_view(session: Session, vote: Vote) -> dict[str, Any] | None:
    """The console's 分团表决情况 of a closed named vote: the sheet's table (Chinese, as
    the sheet prints it) from the logged breakdown; None for a secret vote or none."""
    if vote.secret or vote.manual or vote.result is None:
        return None
    breakdown = logged_breakdown(session, vote.id)
    if not breakdown:
        return None
    head = group_head(vote.agenda_item.sitting.body)
    table = breakdown_table(vote.kind, breakdown, dict(vote.titles), head)
    if not kind_of(vote.kind).invalid_possible(vote.manual):  # 无效 only where it can be
        table = table.without_invalid()
    return {"title": breakdown_title(head), "head": table.head, "rows": table.rows}
