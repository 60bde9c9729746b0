"""After the count: paper counts (人工计票), countersignatures (会签), result sheets.

RULES.md: if the electronic system fails during a vote, voting continues on
paper and the scrutineers count by hand; the counts are entered into the
system, countersigned, and logged like any result. Here:

1. ``enter_paper_count`` (secretariat): the vote — open, never opened, or
   cancelled — is cancelled if it is not yet (its electronic presses are
   discarded; a secret vote's key destroyed), and the paper ballots, or
   ballots made from the counts, are logged as ``paper_count_entered``.
   Entering again replaces a count not yet published, and its signatures.
2. ``countersign`` (scrutineers): once ``PAPER_SIGNATURES`` distinct
   scrutineers have countersigned, the result is counted by the rules
   engine and logged as ``manual_result`` (a checkpoint follows, as after
   any result); the vote is closed with ``manual`` set, and is announced
   like any other. Presidium and scrutineers also countersign published
   results (``subject="result"``); the result sheet lists them.

Each function runs inside the caller's write transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from audit.checkpoint import CHECKPOINT
from audit.evidence import sheet_code
from voting_server.models import (
    AuditEntry,
    Countersignature,
    PaperCount,
    StaffRole,
    StaffUser,
    Vote,
    VoteState,
)
from voting_server.rules import SchemaError, tally
from voting_server.rules.paper import MAX_PAPER_BALLOTS, PAPER_SIGNATURES, ballots_from_counts
from voting_server.rules.schema import check_ballot
from voting_server.services.audit_log import AuditLog
from voting_server.services.rosters import log_roster_if_changed
from voting_server.services.voting import Voting
from voting_server.sockets.errors import Refusal

PAPER_REASON = "电子表决系统故障，改为纸质表决、人工计票"
SUBJECTS = ("paper_count", "result")


def _now() -> datetime:
    return datetime.now(UTC)


def _vote(session: Session, vote_id: int) -> Vote:
    vote = session.get(Vote, vote_id)
    if vote is None:
        raise Refusal("unknown_vote")
    return vote


def paper_ballots(vote: Vote, mode: str, entry: dict[str, Any]) -> list[Any]:
    """The paper ballots of an entry: given as such (``ballots``) or made from ``counts``."""
    spec = vote.spec()
    try:
        if mode == "counts":
            return ballots_from_counts(spec, entry.get("counts"))
        if mode != "ballots":
            raise SchemaError("mode", 'must be "counts" or "ballots"')
        ballots = entry.get("ballots")
        if not isinstance(ballots, list) or len(ballots) > MAX_PAPER_BALLOTS:
            raise SchemaError("ballots", f"must be a list of at most {MAX_PAPER_BALLOTS} ballots")
        for i, ballot in enumerate(ballots):
            check_ballot(spec, ballot, f"ballots[{i}]")
        return ballots
    except SchemaError as exc:
        raise Refusal("invalid_paper_count", str(exc)) from None


def enter_paper_count(
    session: Session,
    log: AuditLog,
    voting: Voting,
    vote_id: int,
    user: StaffUser,
    mode: str,
    entry: dict[str, Any],
) -> PaperCount:
    """Log a hand count for ``vote_id`` (``entry``: ``present`` and ``counts`` or ``ballots``)."""
    vote = _vote(session, vote_id)
    if vote.state in {VoteState.CLOSED, VoteState.ANNOUNCED}:
        raise Refusal("vote_has_result")
    members = vote.agenda_item.sitting.body.member_count
    present = entry.get("present")
    if not isinstance(present, int) or isinstance(present, bool) or not 0 <= present <= members:
        raise Refusal("invalid_paper_count", f"present: an integer from 0 to {members}")
    ballots = paper_ballots(vote, mode, entry)
    if vote.state is not VoteState.CANCELLED:
        voting.cancel_vote(session, log, vote_id, user.id, PAPER_REASON)
    counts = entry.get("counts") if mode == "counts" else None
    log_roster_if_changed(session, log, vote.agenda_item.sitting.body)  # 应到 of this count
    log.append(session, "paper_count_entered", {
        "vote": vote_id, "members": members, "present": present, "mode": mode,
        "counts": counts, "ballots": ballots, "by": user.id,
    })  # fmt: skip
    # A corrected count starts over: earlier signatures were under other numbers.
    session.execute(
        delete(Countersignature).where(
            Countersignature.vote_id == vote_id, Countersignature.subject == "paper_count"
        )
    )
    paper = session.get(PaperCount, vote_id) or PaperCount(vote_id=vote_id)
    paper.mode, paper.counts, paper.ballots, paper.present = mode, counts, ballots, present
    paper.entered_by, paper.entered_at = user.id, _now()
    session.add(paper)
    vote.members_at_open = members
    session.flush()
    return paper


def countersign(
    session: Session, log: AuditLog, vote_id: int, user: StaffUser, subject: str
) -> Vote:
    """Sign a pending paper count (scrutineers) or a published result (presidium, scrutineers)."""
    vote = _vote(session, vote_id)
    if subject == "paper_count":
        if user.role is not StaffRole.SCRUTINEER:
            raise Refusal("forbidden", "a paper count is countersigned by scrutineers")
        paper = session.get(PaperCount, vote_id)
        if paper is None or vote.state is not VoteState.CANCELLED:
            raise Refusal("no_paper_count")
    elif subject == "result":
        if user.role not in {StaffRole.PRESIDIUM, StaffRole.SCRUTINEER}:
            raise Refusal("forbidden", "results are countersigned by the presidium and scrutineers")
        if vote.state not in {VoteState.CLOSED, VoteState.ANNOUNCED} or vote.result is None:
            raise Refusal("vote_not_closed")
    else:
        raise Refusal("invalid_payload", f"subject: one of {list(SUBJECTS)}")
    already = session.scalar(
        select(Countersignature.id).where(
            Countersignature.vote_id == vote_id,
            Countersignature.subject == subject,
            Countersignature.user_id == user.id,
        )
    )
    if already is not None:
        raise Refusal("already_countersigned")
    log.append(session, "countersigned", {
        "vote": vote_id, "subject": subject, "by": user.id, "role": user.role.value,
        "name": user.display_name,
    })  # fmt: skip
    session.add(Countersignature(
        vote_id=vote_id, subject=subject, user_id=user.id, role=user.role.value, signed_at=_now()
    ))  # fmt: skip
    session.flush()
    if subject == "paper_count" and len(signatures(session, vote_id, subject)) >= PAPER_SIGNATURES:
        _publish_paper_count(session, log, vote)
    return vote


def _publish_paper_count(session: Session, log: AuditLog, vote: Vote) -> None:
    paper = session.get(PaperCount, vote.id)
    assert paper is not None
    members = vote.members_at_open or vote.agenda_item.sitting.body.member_count
    result = tally(vote.spec(), members, paper.present, paper.ballots)
    log.append(session, "manual_result", {
        "vote": vote.id, "members": members, "present": paper.present, "result": result,
    })  # fmt: skip
    vote.state, vote.result, vote.manual, vote.closed_at = VoteState.CLOSED, result, True, _now()
    session.flush()


def signatures(session: Session, vote_id: int, subject: str) -> list[Countersignature]:
    return list(
        session.scalars(
            select(Countersignature)
            .where(Countersignature.vote_id == vote_id, Countersignature.subject == subject)
            .order_by(Countersignature.id)
        )
    )


# --- what a result sheet shows -------------------------------------------------------


def result_code(session: Session, vote_id: int) -> dict[str, Any] | None:
    """The sheet code (``audit.evidence.sheet_code``) of the vote's logged result, with the
    signed head of the checkpoint after it; None while the vote has no logged result."""
    rows = session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(AuditEntry.type.in_(("result", "manual_result")))
        .order_by(AuditEntry.idx)
    ).all()
    for row in rows:
        entry = json.loads(row.line)
        if entry["data"].get("vote") != vote_id:
            continue
        after = session.scalar(select(AuditEntry.line).where(AuditEntry.idx == row.idx + 1))
        head = json.loads(after) if after is not None else None
        if head is None or head["type"] != CHECKPOINT:
            return None
        return sheet_code(vote_id, row.idx, row.line.encode("utf-8"), head["data"])
    return None


def sheet_source(session: Session, vote_id: int) -> dict[str, Any]:
    """Everything a result sheet prints about one vote, as plain data."""
    vote = _vote(session, vote_id)
    if vote.result is None:
        raise Refusal("vote_not_closed")
    item = vote.agenda_item
    sitting = item.sitting
    spec = vote.spec()
    return {
        "body": sitting.body.name,
        "sitting": sitting.title,
        "agenda_item": item.title,
        "title": vote.title,
        "kind": vote.kind.value,
        "secret": vote.secret,
        "manual": vote.manual,
        "opened_at": vote.opened_at,
        "closed_at": vote.closed_at,
        "members": vote.result.get("members"),
        "present": vote.result.get("present"),
        "result": vote.result,
        "titles": dict(vote.titles),
        "seats": spec.seats if spec.kind.value == "selection" else None,
        # A hand count's sheet shows the scrutineers who signed the count, then
        # whoever countersigned the result (each person once).
        "countersignatures": list(
            {
                c.user_id: {"role": c.role, "name": c.user.display_name, "time": c.signed_at}
                for c in [
                    *signatures(session, vote_id, "paper_count"),
                    *signatures(session, vote_id, "result"),
                ]
            }.values()
        ),
        "vote_id": vote_id,
        "code": result_code(session, vote_id),
    }
