"""签到: deputies sign in at their seat's kiosk with a PIN, or staff mark them.

实到 (present) is the number of deputies signed in to the sitting; quorum is
present > members / 2 by default (RULES.md), and a vote can only be opened
while the body is quorate. Attendees (列席) sign in too — recorded and logged —
but never count in 实到; in a presidium vote (主席团会议) 应到 and 实到 are the
presidium's (``electorate_counts``, rules/congress.py).

Staff marking a member present (代为签到) records attendance only. A ballot is
accepted only from the tablet on which the deputy entered their own PIN in this
sitting (``Attendance.pin_device``): a PIN entered after a proxy sign-in, or on
a replacement tablet, confirms the existing attendance (``pin_confirmed``)
instead of signing in twice, so 实到 counts the member once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from audit.entry_types import EntryType
from rules.congress import Electorate, MemberRole, PresidiumSeat
from rules.kinds import DEFAULT_QUORUM
from voting_server.models import (
    AgendaItem,
    Attendance,
    AttendanceMethod,
    Body,
    Device,
    Member,
    Sitting,
    SittingStatus,
)
from voting_server.services.audit_log import AuditLog
from voting_server.services.passwords import verify_secret
from voting_server.services.refusals import Refusal
from voting_server.services.rosters import log_roster_if_changed
from voting_server.timefmt import local

PIN_ATTEMPTS = 5  # wrong PINs in a row before the seat is locked
PIN_LOCK = timedelta(minutes=5)


@dataclass(frozen=True)
class Quorum:
    sitting: int
    members: int  # 应到
    present: int  # 实到
    required: int
    # 分团签到: per delegation in roster order {group, members, present}; None without any
    by_delegation: list[dict[str, object]] | None = None

    @property
    def quorate(self) -> bool:
        return self.present >= self.required

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "sitting": self.sitting, "members": self.members, "present": self.present,
            "quorum_required": self.required, "quorate": self.quorate,
        }  # fmt: skip
        if self.by_delegation is not None:
            out["by_delegation"] = self.by_delegation
        return out


def current_sitting(session: Session, body_id: int, *, with_agenda: bool = False) -> Sitting | None:
    """The body's sitting in progress: the latest one that is not closed.

    ``with_agenda``: its body, agenda items, their documents and votes loaded at once
    (four queries, not one per item): a screen's state reads them all, and 3,000
    tablets reconnecting ask for it 3,000 times."""
    query = (
        select(Sitting)
        .where(Sitting.body_id == body_id, Sitting.status != SittingStatus.CLOSED)
        .order_by(Sitting.starts_at.desc(), Sitting.id.desc())
        .limit(1)
    )
    if with_agenda:
        items = selectinload(Sitting.agenda_items)
        query = query.options(
            joinedload(Sitting.body),
            items.selectinload(AgendaItem.documents),
            items.selectinload(AgendaItem.votes),
        )
    return session.scalars(query).first()


def _electorate_filter(electorate: Electorate) -> Any:
    """The members of ``electorate`` (rules/congress.py ``in_electorate``), as SQL."""
    deputies = Member.role == MemberRole.DEPUTY
    if electorate is Electorate.PRESIDIUM:
        return deputies & (Member.presidium != PresidiumSeat.NONE)
    return deputies


def present_count(
    session: Session, sitting_id: int, electorate: Electorate = Electorate.BODY
) -> int:
    """实到: the members of ``electorate`` signed in (never 列席 attendees)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(Member, Member.id == Attendance.member_id)
            .where(Attendance.sitting_id == sitting_id, _electorate_filter(electorate))
        )
        or 0
    )


def attendees_signed_in(session: Session, sitting_id: int) -> int:
    """列席 attendees signed in for the sitting (those an evaluation may admit)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(Member, Member.id == Attendance.member_id)
            .where(Attendance.sitting_id == sitting_id, Member.role == MemberRole.ATTENDEE)
        )
        or 0
    )


def signed_in_count(session: Session, sitting_id: int) -> int:
    """Everyone signed in, attendees included (the console's 列席 figure is the difference)."""
    return (
        session.scalar(
            select(func.count()).select_from(Attendance).where(Attendance.sitting_id == sitting_id)
        )
        or 0
    )


def sign_in_by_venue(session: Session, sitting: Sitting) -> list[dict[str, Any]]:
    """Sign-in per venue (分会场) for the console: {venue, deputies, attendees}, by venue
    (None: a seat whose tablet has no venue, or none). A member counts at the venue of
    their seat's current tablet; every venue's sign-ins count in the sitting's one 实到."""
    current = (
        select(Device.seat, Device.venue)
        .where(Device.body_id == sitting.body_id, Device.revoked_at.is_(None),
               Device.pending.is_(False))
        .subquery()
    )  # fmt: skip
    rows = session.execute(
        select(current.c.venue, Member.role, func.count())
        .select_from(Attendance)
        .join(Member, Member.id == Attendance.member_id)
        .outerjoin(current, current.c.seat == Member.seat)
        .where(Attendance.sitting_id == sitting.id)
        .group_by(current.c.venue, Member.role)
    ).all()
    venues: dict[str | None, dict[str, Any]] = {}
    for venue, role, count in rows:
        entry = venues.setdefault(venue, {"venue": venue, "deputies": 0, "attendees": 0})
        entry["deputies" if role is MemberRole.DEPUTY else "attendees"] += count
    return sorted(venues.values(), key=lambda v: (v["venue"] is None, v["venue"] or ""))


def electorate_size(session: Session, body: Body, electorate: Electorate) -> int:
    """应到 of a vote of ``electorate``: the body's statutory base (``member_count``, the
    deputies), or the active presidium members."""
    if electorate is Electorate.BODY:
        return body.member_count
    return (
        session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.body_id == body.id, Member.active, _electorate_filter(electorate))
        )
        or 0
    )


def electorate_counts(
    session: Session, sitting: Sitting, electorate: Electorate
) -> tuple[int, int]:
    """(应到, 实到) of a vote of ``electorate`` in ``sitting``."""
    return (
        electorate_size(session, sitting.body, electorate),
        present_count(session, sitting.id, electorate),
    )


def quorum(session: Session, sitting: Sitting, *, by_delegation: bool = True) -> Quorum:
    """应到 / 实到 of the sitting; ``by_delegation=False`` leaves out 分团签到 (a tablet
    shows only the two figures, and the breakdown is most of the query's cost)."""
    members = sitting.body.member_count
    return Quorum(
        sitting.id,
        members,
        present_count(session, sitting.id),
        DEFAULT_QUORUM.required(members),
        sign_in_by_delegation(session, sitting) if by_delegation else None,
    )


def sign_in_by_delegation(session: Session, sitting: Sitting) -> list[dict[str, object]] | None:
    """分团签到: 应到 / 实到 per delegation (the roster's group) in roster order (by its
    first seat); None when no member has one. Deputies only: 列席 attendees belong to no
    delegation and count in no 应到. One aggregate query: it runs on every sign-in's
    broadcast."""
    signed = (
        select(Attendance.member_id).where(Attendance.sitting_id == sitting.id).scalar_subquery()
    )
    rows = session.execute(
        select(
            Member.group_name,
            func.min(Member.seat).label("first"),
            func.count().label("members"),
            func.count().filter(Member.id.in_(signed)).label("present"),
        )
        .where(Member.body_id == sitting.body_id, Member.active, Member.role == MemberRole.DEPUTY)
        .group_by(Member.group_name)
        .order_by("first")
    ).all()
    if all(row.group_name is None for row in rows):
        return None
    return [{"group": r.group_name, "members": r.members, "present": r.present} for r in rows]


def is_signed_in(session: Session, sitting_id: int, member_id: int) -> bool:
    return (
        session.scalar(
            select(Attendance.id).where(
                Attendance.sitting_id == sitting_id, Attendance.member_id == member_id
            )
        )
        is not None
    )


def attendance_of(session: Session, sitting_id: int, member_id: int) -> Attendance | None:
    return session.scalar(
        select(Attendance).where(
            Attendance.sitting_id == sitting_id, Attendance.member_id == member_id
        )
    )


def confirm_pin(
    session: Session, log: AuditLog, sitting: Sitting, member: Member, device: str
) -> Quorum:
    """The deputy entered their PIN (checked by the caller) on ``device`` while already
    present: ballots from that tablet count from now on; attendance is unchanged."""
    row = attendance_of(session, sitting.id, member.id)
    if row is None:
        raise Refusal("not_signed_in")
    if row.pin_device == device:
        raise Refusal("already_signed_in")
    row.pin_device = device
    log.append(session, sitting.body_id, EntryType.PIN_CONFIRMED, {
        "sitting": sitting.id, "member": member.id, "seat": member.seat, "device": device,
    })  # fmt: skip
    session.flush()
    return quorum(session, sitting)


def member_at_seat(session: Session, body_id: int, seat: int) -> Member | None:
    return session.scalars(
        select(Member).where(Member.body_id == body_id, Member.seat == seat, Member.active)
    ).first()


def check_pin(session: Session, member: Member, pin: str, now: datetime) -> None:
    """Verify the PIN, counting failures. Raises Refusal; commit the session either way.

    The refusal says what the deputy may do next (its ``data``): after a wrong PIN,
    ``tries_left`` before the lock; when locked (the wrong PIN that locks it, and
    every PIN until the lock ends), ``locked_until`` (UTC, ISO) and
    ``locked_until_time``, the hour and minute in 北京时间 as the hall reads it."""
    if member.pin_hash is None:
        raise Refusal("no_pin")
    if member.pin_locked_until is not None and member.pin_locked_until > now:
        raise Refusal("pin_locked", data=_lock_data(member.pin_locked_until))
    if not verify_secret(member.pin_hash, pin):
        member.pin_failures += 1
        if member.pin_failures >= PIN_ATTEMPTS:
            member.pin_locked_until = now + PIN_LOCK
            member.pin_failures = 0
            raise Refusal("pin_locked", data=_lock_data(member.pin_locked_until))
        raise Refusal("pin_invalid", data={"tries_left": PIN_ATTEMPTS - member.pin_failures})
    member.pin_failures = 0
    member.pin_locked_until = None


def _lock_data(until: datetime) -> dict[str, object]:
    at = local(until)
    assert at is not None
    return {"tries_left": 0, "locked_until": until.astimezone(UTC).isoformat(),
            "locked_until_time": at.strftime("%H:%M")}  # fmt: skip


def sign_in(
    session: Session,
    log: AuditLog,
    sitting: Sitting,
    member: Member,
    method: AttendanceMethod,
    *,
    device: str | None = None,
    by: int | None = None,
) -> Quorum:
    """Record the sign-in and its audit entry. Refuses a second sign-in."""
    return sign_in_many(session, log, sitting, [member], method, device=device, by=by)


def sign_in_many(
    session: Session,
    log: AuditLog,
    sitting: Sitting,
    members: list[Member],
    method: AttendanceMethod,
    *,
    device: str | None = None,
    by: int | None = None,
) -> Quorum:
    """Sign in ``members`` in one transaction (staff marking a whole hall present before
    a rehearsal, or one deputy at a kiosk): the roster is compared with the log once,
    not once per member. All or nothing: any refusal refuses the lot."""
    for member in members:
        _check_can_sign_in(session, sitting, member)
    if len({m.id for m in members}) != len(members):
        raise Refusal("already_signed_in")  # the same member twice in the list
    log_roster_if_changed(session, log, sitting.body)
    for member in members:
        _record_sign_in(session, log, sitting, member, method, device=device, by=by)
    mark_held(sitting)
    session.flush()
    return quorum(session, sitting)


def mark_held(sitting: Sitting) -> None:
    """The sitting is being held (举行中) from its first sign-in or vote on: a planned one
    (筹备中) becomes open; one declared ended (已结束) stays so."""
    if sitting.status is SittingStatus.PLANNED:
        sitting.status = SittingStatus.OPEN


def _check_can_sign_in(session: Session, sitting: Sitting, member: Member) -> None:
    if member.body_id != sitting.body_id or not member.active:
        raise Refusal("unknown_member")
    if is_signed_in(session, sitting.id, member.id):
        raise Refusal("already_signed_in")


def _record_sign_in(
    session: Session,
    log: AuditLog,
    sitting: Sitting,
    member: Member,
    method: AttendanceMethod,
    *,
    device: str | None = None,
    by: int | None = None,
) -> None:
    """The attendance row and its ``signed_in`` entry (the roster is already logged)."""
    pin_device = device if method is AttendanceMethod.KIOSK_PIN else None
    session.add(Attendance(sitting_id=sitting.id, member_id=member.id, method=method,
                           signed_in_at=datetime.now(UTC), pin_device=pin_device))  # fmt: skip
    data: dict[str, object] = {"sitting": sitting.id, "member": member.id, "seat": member.seat,
                               "method": method.value}  # fmt: skip
    if device is not None:
        data["device"] = device
    if by is not None:
        data["by"] = by
    log.append(session, sitting.body_id, EntryType.SIGNED_IN, data)
