"""What a scrutineer (监票人) reads of each vote in a body's log: one summary per vote.

Built from the log's own entries only — ``vote_configured`` (title, kind, titles),
``vote_opened``, ``vote_closed`` (participants), ``vote_cancelled``,
``vote_announced``, ``result`` / ``manual_result`` (the result line) and
``countersigned`` — never from the tables the server keeps beside it, so the page
says what the exported log says. The lifecycle entries are few (a handful per
vote), read by their indexed ``type``: ballots are not read, their count is
``vote_closed``'s ``cast``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules.kinds import is_kind, kind_of
from voting_server.models import AuditEntry

E = EntryType
SUMMARY_TYPES = (
    E.VOTE_CONFIGURED, E.VOTE_OPENED, E.VOTE_CLOSED, E.VOTE_CANCELLED, E.VOTE_ANNOUNCED,
    E.RESULT, E.MANUAL_RESULT, E.COUNTERSIGNED,
)  # fmt: skip
MAX_SUMMARIES = 500  # votes shown on one page, the latest first (a sitting has dozens)


@dataclass
class Countersignature:
    subject: str  # paper_count | result
    role: str
    name: str
    time: str  # the entry's ``t`` (UTC, as logged)


@dataclass
class VoteSummary:
    vote: int
    title: str = ""
    kind: str = ""
    titles: dict[str, str] = field(default_factory=dict)  # subject or candidate → title
    secret: bool | None = None
    configured_index: int | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    announced_at: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    members: int | None = None
    present: int | None = None
    cast: int | None = None  # participants (已按), from vote_closed
    result: dict[str, Any] | None = None  # as the rules engine counted it (rules.md)
    result_line: str | None = None  # the kind's one line, as the minutes print it
    result_index: int | None = None
    manual: bool = False
    countersignatures: list[Countersignature] = field(default_factory=list)


def _vote_id(data: dict[str, Any]) -> int | None:
    vote = data.get("vote")
    vote = vote.get("id") if isinstance(vote, dict) else vote
    return vote if isinstance(vote, int) and not isinstance(vote, bool) else None


def vote_summaries(session: Session, body_id: int, vote: int | None = None) -> list[VoteSummary]:
    """Each vote of ``body_id``'s log (or only ``vote``), the latest first."""
    rows = session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type.in_([t.value for t in SUMMARY_TYPES]))
        .order_by(AuditEntry.idx)
    )
    votes: dict[int, VoteSummary] = {}
    for idx, line in rows:
        entry = json.loads(line)
        data = entry.get("data") or {}
        vote_id = _vote_id(data)
        if vote_id is None or (vote is not None and vote_id != vote):
            continue
        summary = votes.setdefault(vote_id, VoteSummary(vote_id))
        _apply(summary, entry["type"], idx, str(entry.get("t", "")), data)
    ordered = sorted(votes.values(), key=lambda s: s.vote, reverse=True)
    return ordered[:MAX_SUMMARIES]


def _apply(s: VoteSummary, type_: str, idx: int, t: str, data: dict[str, Any]) -> None:
    if type_ == E.VOTE_CONFIGURED:
        config = data["vote"]
        s.title = str(config.get("title", ""))
        s.kind = str((config.get("config") or {}).get("kind", ""))
        s.secret = bool(config.get("secret"))
        s.configured_index = idx
        s.titles = dict(config.get("titles") or {})
    elif type_ == E.VOTE_OPENED:
        s.opened_at, s.members, s.present = t, data.get("members"), data.get("present")
    elif type_ == E.VOTE_CLOSED:
        s.closed_at, s.cast = t, data.get("cast")
    elif type_ == E.VOTE_CANCELLED:
        s.cancelled_at, s.cancel_reason = t, data.get("reason")
    elif type_ == E.VOTE_ANNOUNCED:
        s.announced_at = t
    elif type_ in (E.RESULT, E.MANUAL_RESULT):
        s.result_index, s.manual = idx, type_ == E.MANUAL_RESULT
        s.result = data.get("result") or {}
        s.result_line = _result_line(s, s.result)
        if type_ == E.MANUAL_RESULT:
            s.members, s.present = data.get("members", s.members), data.get("present", s.present)
    elif type_ == E.COUNTERSIGNED:
        s.countersignatures.append(Countersignature(
            str(data.get("subject", "")), str(data.get("role", "")), str(data.get("name", "")), t,
        ))  # fmt: skip


def _result_line(s: VoteSummary, result: dict[str, Any]) -> str:
    """The kind's own one-line summary (as the minutes print it), Chinese like the sheets."""
    if not is_kind(s.kind):
        return ""
    try:
        return kind_of(s.kind).summary(result, s.titles)
    except (KeyError, TypeError, ValueError):  # a result the kind cannot read: say nothing
        return ""
