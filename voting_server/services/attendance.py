"""签到: deputies sign in at their seat's kiosk with a PIN, or staff mark them.

实到 (present) is the number of members signed in to the sitting; quorum is
present > members / 2 by default (RULES.md), and a vote can only be opened
while the body is quorate.

Staff marking a member present (代为签到) records attendance only. A ballot is
accepted only from the tablet on which the deputy entered their own PIN in this
sitting (``Attendance.pin_device``): a PIN entered after a proxy sign-in, or on
a replacement tablet, confirms the existing attendance (``pin_confirmed``)
instead of signing in twice, so 实到 counts the member once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules.kinds import DEFAULT_QUORUM
from voting_server.models import Attendance, AttendanceMethod, Member, Sitting, SittingStatus
from voting_server.services.audit_log import AuditLog
from voting_server.services.passwords import verify_secret
from voting_server.services.refusals import Refusal
from voting_server.services.rosters import log_roster_if_changed

PIN_ATTEMPTS = 5  # wrong PINs in a row before the seat is locked
PIN_LOCK = timedelta(minutes=5)


@dataclass(frozen=True)
class Quorum:
    sitting: int
    members: int  # 应到
    present: int  # 实到
    required: int

    @property
    def quorate(self) -> bool:
        return self.present >= self.required

    def to_json(self) -> dict[str, object]:
        return {"sitting": self.sitting, "members": self.members, "present": self.present,
                "quorum_required": self.required, "quorate": self.quorate}  # fmt: skip


def current_sitting(session: Session, body_id: int) -> Sitting | None:
    """The body's sitting in progress: the latest one that is not closed."""
    return session.scalars(
        select(Sitting)
        .where(Sitting.body_id == body_id, Sitting.status != SittingStatus.CLOSED)
        .order_by(Sitting.starts_at.desc(), Sitting.id.desc())
        .limit(1)
    ).first()


def present_count(session: Session, sitting_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Attendance).where(Attendance.sitting_id == sitting_id)
        )
        or 0
    )


def quorum(session: Session, sitting: Sitting) -> Quorum:
    members = sitting.body.member_count
    return Quorum(
        sitting.id, members, present_count(session, sitting.id), DEFAULT_QUORUM.required(members)
    )


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
    """Verify the PIN, counting failures. Raises Refusal; commit the session either way."""
    if member.pin_hash is None:
        raise Refusal("no_pin")
    if member.pin_locked_until is not None and member.pin_locked_until > now:
        raise Refusal("pin_locked")
    if not verify_secret(member.pin_hash, pin):
        member.pin_failures += 1
        if member.pin_failures >= PIN_ATTEMPTS:
            member.pin_locked_until = now + PIN_LOCK
            member.pin_failures = 0
        raise Refusal("pin_invalid")
    member.pin_failures = 0
    member.pin_locked_until = None


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
    session.flush()
    return quorum(session, sitting)


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
