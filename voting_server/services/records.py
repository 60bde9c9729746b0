"""Deputies' records (代表履职档案): leave (请假), and the rows the pure core turns into
records and attendance rates (rules/records.py; docs/records.md).

The database is read here, in a few set queries per body, and handed to the core as
plain rows. A secret vote's ballot is never read: for such a vote only whether the
member's participation is recorded (a press row exists, 已按) is selected.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules.congress import Electorate, MemberRole, PresidiumSeat
from rules.duties import leave_error
from rules.glossary import mark_word
from rules.lifecycle import VoteState
from rules.records import (
    LEAVE_REASON_MAX,
    DeputyRecord,
    GroupRate,
    SittingRow,
    VoteRow,
    deputy_record,
    group_rates,
)
from voting_server.models import (
    AgendaItem,
    Attendance,
    AuditEntry,
    Body,
    Leave,
    Member,
    Press,
    Sitting,
    SittingStatus,
    Vote,
)
from voting_server.services import supervision
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal
from voting_server.services.rosters import log_roster_if_changed
from voting_server.timefmt import local

HELD = (SittingStatus.OPEN, SittingStatus.CLOSED)  # 举行中 / 已结束: the sittings that count
# A vote counts in a record once it was counted electronically; a draft, an open vote and
# a cancelled one (also one replaced by a paper count: no press shows who voted) do not.
COUNTED = (VoteState.CLOSED, VoteState.ANNOUNCED)


# --- leave (请假) ---------------------------------------------------------------------------


def record_leave(
    session: Session, log: AuditLog, sitting: Sitting, member: Member, reason: str,
    *, by: int, by_role: str | None,
) -> Leave:  # fmt: skip
    """Record (or replace the reason of) a member's leave for a sitting not yet ended.

    Refuses: a role other than the secretariat (``forbidden``), a member of another body
    or inactive (``unknown_member``), an ended sitting (``no_sitting``), a member already
    signed in (``already_signed_in``: present, not on leave), a reason empty or longer
    than LEAVE_REASON_MAX (``invalid_payload``)."""
    if leave_error(by_role) is not None:
        raise Refusal("forbidden", "leave is recorded by the secretariat")
    reason = reason.strip()
    if not reason or len(reason) > LEAVE_REASON_MAX:
        raise Refusal("invalid_payload", f"reason: 1 to {LEAVE_REASON_MAX} characters")
    if member.body_id != sitting.body_id or not member.active:
        raise Refusal("unknown_member")
    if sitting.status is SittingStatus.CLOSED:
        raise Refusal("no_sitting", "the sitting has ended")
    signed = session.scalar(
        select(Attendance.id).where(
            Attendance.sitting_id == sitting.id, Attendance.member_id == member.id
        )
    )
    if signed is not None:
        raise Refusal("already_signed_in")
    log_roster_if_changed(session, log, sitting.body)  # the verifier checks the member on it
    leave = session.scalar(
        select(Leave).where(Leave.sitting_id == sitting.id, Leave.member_id == member.id)
    )
    now = datetime.now(UTC)
    if leave is None:
        leave = Leave(sitting_id=sitting.id, member_id=member.id, reason=reason,
                      recorded_by=by, recorded_at=now)  # fmt: skip
        session.add(leave)
    else:
        leave.reason, leave.recorded_by, leave.recorded_at = reason, by, now
    log.append(session, sitting.body_id, EntryType.LEAVE_RECORDED, {
        "sitting": sitting.id, "member": member.id, "seat": member.seat, "reason": reason,
        "by": by,
    })  # fmt: skip
    session.flush()
    return leave


def leaves_of(session: Session, sitting_id: int) -> dict[int, str]:
    """member id → reason of the leaves recorded for a sitting."""
    rows = session.execute(
        select(Leave.member_id, Leave.reason).where(Leave.sitting_id == sitting_id)
    ).all()
    return {m: r for m, r in rows}


# --- gathering ------------------------------------------------------------------------------


def _choice_text(vote: Vote, ballot: Any) -> str:
    """A named ballot as people read it: 事项：赞成；… or the candidates chosen."""
    titles = vote.titles or {}
    if isinstance(ballot, dict):
        return "；".join(f"{titles.get(k, k)}：{mark_word(v)}" for k, v in ballot.items())
    if isinstance(ballot, list):
        return "、".join(titles.get(str(c), str(c)) for c in ballot) or "—"
    return str(ballot)


def held_sittings(session: Session, body_id: int) -> list[Sitting]:
    return list(
        session.scalars(
            select(Sitting)
            .where(Sitting.body_id == body_id, Sitting.status.in_(HELD))
            .order_by(Sitting.starts_at, Sitting.id)
        )
    )


def years(session: Session, body_id: int) -> list[int]:
    """The years in which the body held sittings, newest first (the period filter)."""
    found = {local(s.starts_at).year for s in held_sittings(session, body_id)}  # type: ignore[union-attr]
    return sorted(found, reverse=True)


def _rows_by_member(
    session: Session, body: Body, members: list[Member]
) -> dict[int, list[SittingRow]]:
    """Every held sitting of the body, as each of ``members`` saw it."""
    sittings = held_sittings(session, body.id)
    sitting_ids = [s.id for s in sittings]
    member_ids = [m.id for m in members]
    if not sittings or not members:
        return {m.id: [] for m in members}
    signed = set(
        session.execute(
            select(Attendance.sitting_id, Attendance.member_id).where(
                Attendance.sitting_id.in_(sitting_ids), Attendance.member_id.in_(member_ids)
            )
        )
    )
    leaves = {
        (s, m): r
        for s, m, r in session.execute(
            select(Leave.sitting_id, Leave.member_id, Leave.reason).where(
                Leave.sitting_id.in_(sitting_ids), Leave.member_id.in_(member_ids)
            )
        )
    }
    votes = list(
        session.scalars(
            select(Vote)
            .join(AgendaItem, AgendaItem.id == Vote.agenda_item_id)
            .where(AgendaItem.sitting_id.in_(sitting_ids), Vote.state.in_(COUNTED))
            .order_by(AgendaItem.position, Vote.id)
        )
    )
    by_sitting: dict[int, list[Vote]] = defaultdict(list)
    for vote in votes:
        by_sitting[vote.agenda_item.sitting_id].append(vote)
    secret_ids = [v.id for v in votes if v.secret]
    named = {v.id: v for v in votes if not v.secret}
    # Secret votes: who pressed, nothing else (the ballot column is not even selected).
    pressed: set[tuple[int, int]] = set(
        session.execute(
            select(Press.vote_id, Press.member_id)
            .where(Press.vote_id.in_(secret_ids), Press.member_id.in_(member_ids))
            .distinct()
        )
    )
    # Named votes: the press that counted, by the vote's key policy (first or last).
    choices: dict[tuple[int, int], str] = {}
    for vote_id, member_id, ballot in session.execute(
        select(Press.vote_id, Press.member_id, Press.ballot)
        .where(Press.vote_id.in_(list(named)), Press.member_id.in_(member_ids))
        .order_by(Press.vote_id, Press.member_id, Press.press_no)
    ):
        key = (vote_id, member_id)
        pressed.add(key)
        if key not in choices or named[vote_id].key_policy.may_press_again:
            choices[key] = _choice_text(named[vote_id], ballot)
    last_seen = _last_seen(sittings, signed, leaves)
    rosters = rosters_at(session, body.id, sitting_ids)
    out: dict[int, list[SittingRow]] = {}
    for member in members:
        rows = []
        for sitting in sittings:
            when = local(sitting.starts_at)
            assert when is not None
            key = (sitting.id, member.id)
            lines = [
                VoteRow(
                    v.id,
                    v.title,
                    v.secret,
                    (v.id, member.id) in pressed,
                    None if v.secret else choices.get((v.id, member.id)),
                )
                for v in by_sitting[sitting.id]
                if _votes_in(v, member)
            ]
            # Signed in or on leave: a member then, whatever roster was logged first.
            was = key in signed or key in leaves or _was_member(member, sitting, last_seen, rosters)
            rows.append(SittingRow(
                sitting.id, sitting.title, when.strftime("%Y-%m-%d"), when.year, was,
                key in signed, leaves.get(key), tuple(lines),
            ))  # fmt: skip
        out[member.id] = rows
    return out


def _votes_in(vote: Vote, member: Member) -> bool:
    """A presidium's vote (主席团会议) is in the records of its members only."""
    return vote.electorate is Electorate.BODY or member.presidium is not PresidiumSeat.NONE


def _last_seen(
    sittings: list[Sitting], signed: set[tuple[int, int]], leaves: dict[tuple[int, int], str]
) -> dict[int, int]:
    """member → position of the last sitting where they signed in or had leave."""
    order = {s.id: i for i, s in enumerate(sittings)}
    out: dict[int, int] = {}
    for sitting_id, member_id in [*signed, *leaves]:
        out[member_id] = max(out.get(member_id, -1), order[sitting_id])
    return out


def rosters_at(session: Session, body_id: int, sitting_ids: Iterable[int]) -> dict[int, set[int]]:
    """sitting → the members on the body's roster when it was held, as the audit log knows
    it: the ``roster`` entry in force at the sitting's first ``signed_in`` (or
    ``leave_recorded``) entry — the server logs the roster whenever it changed, before
    either. A sitting the log names in no such entry is left out (the caller falls back)."""
    wanted = set(sitting_ids)
    rosters: list[tuple[int, set[int]]] = []
    for idx, line in session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type == EntryType.ROSTER)
        .order_by(AuditEntry.idx)
    ):
        members = json.loads(line)["data"]["members"]
        rosters.append((idx, {int(m["id"]) for m in members}))
    first: dict[int, int] = {}
    for idx, line in session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(
            AuditEntry.body_id == body_id,
            AuditEntry.type.in_([EntryType.SIGNED_IN, EntryType.LEAVE_RECORDED]),
        )
        .order_by(AuditEntry.idx)
    ):
        sitting = json.loads(line)["data"]["sitting"]
        if sitting in wanted and sitting not in first:
            first[sitting] = idx
            if len(first) == len(wanted):
                break
    starts = [idx for idx, _ in rosters]
    out: dict[int, set[int]] = {}
    for sitting, idx in first.items():
        at = bisect_left(starts, idx) - 1
        if at >= 0:
            out[sitting] = rosters[at][1]
    return out


def _was_member(
    member: Member, sitting: Sitting, last_seen: dict[int, int], rosters: dict[int, set[int]]
) -> bool:
    """Whether a sitting counts for the member: they were on the roster logged for it
    (``rosters_at``). A sitting the log has no roster for (none signed in): an active
    member counts it; a removed one if it came no later than the last sitting where
    they signed in or had leave (docs/records.md)."""
    if sitting.id in rosters:
        return member.id in rosters[sitting.id]
    if member.active:
        return True
    last = last_seen.get(member.id)
    if last is None:
        return False
    held = [s.id for s in member.body.sittings if s.status in HELD]
    return sitting.id in held[: last + 1]


def deputies(session: Session, body_id: int, group: str | None = None) -> list[Member]:
    """The body's deputies (代表 / 组成人员; 列席 attendees keep no record), by seat;
    removed ones too (their records stay)."""
    query = select(Member).where(Member.body_id == body_id, Member.role == MemberRole.DEPUTY)
    if group is not None:
        query = query.where(Member.group_name == group)
    return list(session.scalars(query.order_by(Member.seat)))


def groups(session: Session, body_id: int) -> list[str]:
    """The body's delegations (代表团), in roster order."""
    rows = session.execute(
        select(Member.group_name, Member.seat)
        .where(Member.body_id == body_id, Member.role == MemberRole.DEPUTY,
               Member.group_name.is_not(None))
        .order_by(Member.seat)
    )  # fmt: skip
    seen: dict[str, None] = {}
    for name, _seat in rows:
        seen.setdefault(name, None)
    return list(seen)


def records(
    session: Session, body: Body, year: int | None = None, group: str | None = None
) -> list[DeputyRecord]:
    """Every deputy's record in ``body`` over ``year`` (None: all), of ``group`` if given.
    Removed members with no sitting counted are left out."""
    members = deputies(session, body.id, group)
    rows = _rows_by_member(session, body, members)
    active = {m.id for m in members if m.active}
    proposed = supervision.proposals_by_members(session, [m.id for m in members])
    out = [_record(m, rows[m.id], year, proposed.get(m.id, [])) for m in members]
    return [r for r in out if r.member in active or r.attendance.held]


def record_of(session: Session, member: Member, year: int | None = None) -> DeputyRecord:
    """One deputy's record."""
    rows = _rows_by_member(session, member.body, [member])
    return _record(
        member, rows[member.id], year, supervision.proposals_by_member(session, member.id)
    )


def _record(
    member: Member, rows: Iterable[SittingRow], year: int | None, proposals: list[dict[str, Any]]
) -> DeputyRecord:
    return deputy_record(
        member.id, member.body_id, member.seat, member.name, member.group_name, rows, year,
        proposals=[p for p in proposals if year is None or p["year"] == year],
    )  # fmt: skip


def delegation_rates(found: list[DeputyRecord]) -> list[GroupRate]:
    return group_rates(found)


def kiosk_record(session: Session, body_id: int | None, seat: int | None) -> dict[str, Any]:
    """The record a tablet shows (我的履职): its own seat's deputy, over all sittings; a seat
    with no deputy (an attendee's, 列席, or empty) has none (``None``)."""
    if body_id is None or seat is None:
        raise Refusal("not_authenticated")
    member = session.scalars(
        select(Member).where(Member.body_id == body_id, Member.seat == seat, Member.active)
    ).first()
    if member is None or member.role is not MemberRole.DEPUTY:
        return {"member": None}
    return record_of(session, member).to_json()
