"""After the count: paper counts (人工计票), countersignatures (会签), result sheets.

RULES.md: if the electronic system fails during a vote, voting continues on
paper and the scrutineers count by hand; the counts are entered into the
system, countersigned, and logged like any result. Here:

0. ``designate_scrutineers`` (presidium, before the sitting's first vote
   opens): the sitting's scrutineers (监票人), logged as ``scrutineers_designated``
   with who designated them and on what basis (for a congress: elected by the
   deputies). Only they countersign the sitting's counts and results.
1. ``enter_paper_count`` (secretariat): only for a vote that failed
   electronically — opened, then cancelled by the presidium with a logged
   reason (the presidium cancels first; an open vote, a draft and a closed
   vote are refused). The paper ballots, or ballots made from the counts, are
   logged as ``paper_count_entered`` with the sitting's signed-in count
   (``attendance``); a ``present`` that differs from it needs a reason, which
   is logged and printed on the sheet. Entering again replaces a count not yet
   published, and its signatures.
2. ``countersign`` (designated scrutineers): once ``PAPER_SIGNATURES`` distinct
   scrutineers have countersigned, the result is counted by the rules
   engine and logged as ``manual_result`` (a checkpoint follows, as after
   any result); the vote is closed with ``manual`` set, and is announced
   like any other. The presidium and the designated scrutineers also
   countersign published results (``subject="result"``); the result sheet
   lists them. The secretariat never countersigns (rules/duties.py).

Each function runs inside the caller's write transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from audit.checkpoint import CHECKPOINT
from audit.entry_types import EntryType
from audit.evidence import check_record, sheet_code
from rules import SchemaError, tally
from rules.duties import BASIS_MAX, countersign_error, designation_error, present_error
from rules.kinds import kind_of
from rules.lifecycle import (
    COUNTERSIGN_ACTIONS,
    PAPER,
    SUBJECTS,
    Action,
    LifecycleError,
    State,
    role_error,
    transition,
)
from rules.paper import MAX_PAPER_BALLOTS, PAPER_SIGNATURES, ballots_from_counts
from rules.schema import check_ballot
from voting_server.models import (
    PRESENT_REASON_MAX,
    AgendaItem,
    AuditEntry,
    BodyKind,
    Countersignature,
    PaperCount,
    Sitting,
    SittingScrutineer,
    StaffRole,
    StaffUser,
    Vote,
    VoteState,
)
from voting_server.services import attendance, delegations, staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal
from voting_server.services.rosters import log_roster_if_changed

# The basis a designation records unless the presidium writes another (a record: Chinese).
DEFAULT_BASIS = {
    BodyKind.CONGRESS: "经大会全体会议表决通过，由代表中选举产生",  # i18n: record
    BodyKind.STANDING_COMMITTEE: "经主任会议确定，由主持人指定",  # i18n: record
}


def _now() -> datetime:
    return datetime.now(UTC)


def _vote(session: Session, vote_id: int) -> Vote:
    vote = session.get(Vote, vote_id)
    if vote is None:
        raise Refusal("unknown_vote")
    return vote


def lifecycle_state(session: Session, vote: Vote) -> State:
    """The vote's state in rules/lifecycle.py: a cancelled vote whose hand count
    awaits its countersignatures is ``paper`` (stored: cancelled, with the count)."""
    if vote.state is VoteState.CANCELLED and session.get(PaperCount, vote.id) is not None:
        return PAPER
    return vote.state


# Why a paper count may not be entered, by the stored state (the lifecycle says when).
_NO_PAPER_COUNT = {
    VoteState.CLOSED: "vote_has_result",
    VoteState.ANNOUNCED: "vote_has_result",
    VoteState.OPEN: "vote_still_open",  # the presidium cancels it first, with a reason
    VoteState.DRAFT: "vote_never_opened",
}


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


# --- scrutineers (监票人) ------------------------------------------------------------


def scrutineers(session: Session, sitting_id: int) -> list[SittingScrutineer]:
    """The sitting's designated scrutineers, in account order."""
    return list(
        session.scalars(
            select(SittingScrutineer)
            .where(SittingScrutineer.sitting_id == sitting_id)
            .order_by(SittingScrutineer.user_id)
        )
    )


def voting_started(session: Session, sitting_id: int) -> bool:
    """Whether a vote of the sitting has ever been opened."""
    return (
        session.scalar(
            select(Vote.id)
            .join(AgendaItem)
            .where(AgendaItem.sitting_id == sitting_id, Vote.opened_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def designate_scrutineers(
    session: Session,
    log: AuditLog,
    sitting_id: int,
    user: StaffUser,
    scrutineer_ids: list[int],
    basis: str,
) -> list[SittingScrutineer]:
    """The presidium designates (or, before voting starts, re-designates) the
    sitting's scrutineers; logged as ``scrutineers_designated``."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        raise Refusal("no_sitting")
    basis = basis.strip() if isinstance(basis, str) else ""
    if not 1 <= len(basis) <= BASIS_MAX:
        raise Refusal("invalid_payload", f"basis: 1 to {BASIS_MAX} characters")
    actor = staff.actor_role(session, user.id)
    if actor != StaffRole.PRESIDIUM.value:
        raise Refusal("forbidden", "scrutineers are designated by the presidium")
    roles = {i: staff.actor_role(session, i) for i in scrutineer_ids}
    error = designation_error(actor, scrutineer_ids, roles)
    if error is not None:
        raise Refusal("invalid_designation", error)
    if voting_started(session, sitting_id):
        raise Refusal("voting_started")
    if not all(staff.serves(session, i, sitting.body_id) for i in [user.id, *scrutineer_ids]):
        raise Refusal("invalid_designation", "every scrutineer serves the sitting's body")
    staff.log_unlogged_accounts(session, log, sitting.body_id)
    ids = sorted(scrutineer_ids)
    log.append(session, sitting.body_id, EntryType.SCRUTINEERS_DESIGNATED, {
        "sitting": sitting_id, "scrutineers": ids, "by": user.id, "basis": basis,
    })  # fmt: skip
    session.execute(delete(SittingScrutineer).where(SittingScrutineer.sitting_id == sitting_id))
    now = _now()
    rows = [SittingScrutineer(sitting_id=sitting_id, user_id=i, designated_by=user.id,
                              designated_at=now, basis=basis) for i in ids]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return rows


# --- paper counts (人工计票) ------------------------------------------------------------


def presidium_cancel(session: Session, vote_id: int) -> dict[str, Any] | None:
    """The logged ``vote_cancelled`` data of the vote, if the presidium cancelled it
    with a reason (not the server, e.g. on a lost vote key)."""
    vote = session.get(Vote, vote_id)
    if vote is None:
        return None
    for line in session.scalars(
        select(AuditEntry.line)
        .where(
            AuditEntry.body_id == vote.owner_body_id(),
            AuditEntry.type == EntryType.VOTE_CANCELLED,
        )
        .order_by(AuditEntry.idx.desc())
    ):
        data = json.loads(line)["data"]
        if data.get("vote") != vote_id:
            continue
        by = data.get("by")
        reason = data.get("reason")
        if not isinstance(reason, str) or not reason.strip() or not isinstance(by, int):
            return None
        signer = session.get(StaffUser, by)
        return data if signer is not None and signer.role is StaffRole.PRESIDIUM else None
    return None


def enter_paper_count(
    session: Session,
    log: AuditLog,
    vote_id: int,
    user: StaffUser,
    mode: str,
    entry: dict[str, Any],
) -> PaperCount:
    """Log a hand count for ``vote_id`` (``entry``: ``present``, ``counts`` or
    ``ballots``, and ``present_reason`` when ``present`` is not the signed-in count)."""
    error = role_error(Action.ENTER_PAPER_COUNT, staff.actor_role(session, user.id))
    if error is not None:
        raise Refusal("forbidden", error)
    vote = _vote(session, vote_id)
    try:
        transition(lifecycle_state(session, vote), Action.ENTER_PAPER_COUNT)
    except LifecycleError:
        raise Refusal(_NO_PAPER_COUNT[vote.state]) from None
    if vote.opened_at is None:  # cancelled as a draft: nothing was held
        raise Refusal("vote_never_opened")
    if presidium_cancel(session, vote_id) is None:
        raise Refusal("cancel_without_reason")
    sitting = vote.agenda_item.sitting
    # 应到 and the sign-ins of the vote's electorate: a presidium vote's are the presidium's
    members, signed_in = attendance.electorate_counts(session, sitting, vote.electorate)
    present = entry.get("present")
    if not isinstance(present, int) or isinstance(present, bool) or not 0 <= present <= members:
        raise Refusal("invalid_paper_count", f"present: an integer from 0 to {members}")
    reason = entry.get("present_reason")
    reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
    if reason is not None and len(reason) > PRESENT_REASON_MAX:
        raise Refusal("invalid_paper_count", f"present_reason: at most {PRESENT_REASON_MAX}")
    if present_error(present, signed_in, reason) is not None:
        raise Refusal("present_differs", f"实到 {present}，签到 {signed_in}")
    if present == signed_in:
        reason = None  # nothing to explain
    ballots = paper_ballots(vote, mode, entry)
    counts = entry.get("counts") if mode == "counts" else None
    staff.log_unlogged_accounts(session, log, sitting.body_id)
    log_roster_if_changed(session, log, sitting.body)  # 应到 of this count
    log.append(session, sitting.body_id, EntryType.PAPER_COUNT_ENTERED, {
        "vote": vote_id, "members": members, "present": present, "attendance": signed_in,
        "present_reason": reason, "mode": mode, "counts": counts, "ballots": ballots,
        "by": user.id,
    })  # fmt: skip
    # A corrected count starts over: earlier signatures were under other numbers.
    session.execute(
        delete(Countersignature).where(
            Countersignature.vote_id == vote_id, Countersignature.subject == "paper_count"
        )
    )
    paper = session.get(PaperCount, vote_id) or PaperCount(vote_id=vote_id)
    paper.mode, paper.counts, paper.ballots, paper.present = mode, counts, ballots, present
    paper.attendance, paper.present_reason = signed_in, reason
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
    if subject not in SUBJECTS:
        raise Refusal("invalid_payload", f"subject: one of {list(SUBJECTS)}")
    designated = {d.user_id for d in scrutineers(session, vote.agenda_item.sitting_id)}
    role = staff.actor_role(session, user.id)
    error = countersign_error(subject, user.id, role, designated)
    if error is not None:
        code = "not_designated" if role == StaffRole.SCRUTINEER.value else "forbidden"
        raise Refusal(code, error)
    try:
        transition(lifecycle_state(session, vote), COUNTERSIGN_ACTIONS[subject])
    except LifecycleError:
        raise Refusal("no_paper_count" if subject == "paper_count" else "vote_not_closed") from None
    if subject == "result" and vote.result is None:
        raise Refusal("vote_not_closed")
    already = session.scalar(
        select(Countersignature.id).where(
            Countersignature.vote_id == vote_id,
            Countersignature.subject == subject,
            Countersignature.user_id == user.id,
        )
    )
    if already is not None:
        raise Refusal("already_countersigned")
    body_id = vote.owner_body_id()
    staff.log_unlogged_accounts(session, log, body_id)
    log.append(session, body_id, EntryType.COUNTERSIGNED, {
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
    log.append(session, vote.owner_body_id(), EntryType.MANUAL_RESULT, {
        "vote": vote.id, "members": members, "present": paper.present, "result": result,
    })  # fmt: skip
    vote.state = transition(PAPER, Action.PUBLISH_PAPER_COUNT)  # type: ignore[assignment]
    vote.result, vote.manual, vote.closed_at = result, True, _now()
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
    vote = session.get(Vote, vote_id)
    if vote is None:
        return None
    of_body = AuditEntry.body_id == vote.owner_body_id()  # the vote's body's log
    rows = session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(of_body, AuditEntry.type.in_((EntryType.RESULT, EntryType.MANUAL_RESULT)))
        .order_by(AuditEntry.idx)
    ).all()
    for row in rows:
        entry = json.loads(row.line)
        if entry["data"].get("vote") != vote_id:
            continue
        after = session.scalar(
            select(AuditEntry.line).where(of_body, AuditEntry.idx == row.idx + 1)
        )
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
        "kind": vote.kind,
        "secret": vote.secret,
        "manual": vote.manual,
        "trustees": bool(vote.trustees),
        "opened_at": vote.opened_at,
        "closed_at": vote.closed_at,
        "members": vote.result.get("members"),
        "present": vote.result.get("present"),
        "result": vote.result,
        "titles": dict(vote.titles),
        "seats": spec.seats if kind_of(spec.kind).has_seats else None,
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
        "present_note": _present_note(session, vote) if vote.manual else None,
        # 分团: named electronic votes only; a secret vote never breaks down
        "by_delegation": None
        if vote.secret or vote.manual
        else delegations.logged_breakdown(session, vote_id),
        "group_head": delegations.group_head(sitting.body),
    }


def _present_note(session: Session, vote: Vote) -> str | None:
    """A paper count whose 实到 is not the sign-ins: the sheet says so, and why."""
    paper = session.get(PaperCount, vote.id)
    if paper is None or paper.attendance is None or paper.present == paper.attendance:
        return None
    return (
        f"实到 {paper.present} 人与签到 {paper.attendance} 人不一致，"
        f"理由：{paper.present_reason or '未说明'}"
    )  # i18n: record — the sheet is an official document


# --- receipts: what the tablet shows -------------------------------------------------------


def check_tablet_receipt(session: Session, body_id: int, index: int, code: str) -> dict[str, Any]:
    """The record number and check code a tablet showed (回执：第 N 号记录，校验码 …),
    checked against ``body_id``'s log (``audit.evidence.check_record``): one entry read,
    never the whole log. A found one also carries its vote's ``title``, ``secret`` and
    ``titles`` (of subjects or candidates), to name the choice as the tablet did."""
    line = session.scalar(
        select(AuditEntry.line).where(AuditEntry.body_id == body_id, AuditEntry.idx == index)
    )
    found = check_record(line.encode("utf-8") if line is not None else None, code)
    if found["status"] == "found":
        vote = session.get(Vote, found["vote"])
        found["title"] = vote.title if vote is not None else str(found["vote"])
        found["titles"] = dict(vote.titles) if vote is not None else {}
        found["kind"] = vote.kind if vote is not None else None
    return found
