"""Kiosk tablets and deputies' PINs: enrollment codes, device keys, PIN slips.

A tablet is bound to a seat in two steps. The secretariat issues a one-time
enrollment code for the seat (shown once, stored only as its SHA-256); the
tablet then registers its own P-256 public key with the code and becomes a
``Device``. The first tablet of a seat is enrolled at once (``device_enrolled``).
Any later one is a replacement (更换表决器): it stays *pending* — it may not
connect, no ballot of it counts — until the presidium confirms it on the
console, which revokes the seat's earlier tablet, or rejects it. So at most one
tablet speaks for a seat, and the secretariat alone (who issues the codes and
may revoke a lost tablet) can never swap one. Every step is in the audit log
(``device_enrollment_requested``, ``device_enrollment_confirmed`` /
``_rejected``, ``device_revoked``), which is how the verifier knows whose
signature a ballot carries.

Callers hold the transaction (``write_transaction``). Plaintext codes and
PINs are returned to the caller to show once, and never logged or stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from crypto import CryptoError, KioskPublicKey
from voting_server.models import (
    VENUE_MAX,
    Device,
    DeviceReplacement,
    EnrollmentCode,
    Member,
    ReplacementStatus,
    Sitting,
    SittingStatus,
)
from voting_server.services.audit_log import AuditLog
from voting_server.services.passwords import hash_pin, is_valid_pin, new_pin
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import after_commit

# No 0/O, 1/I: an operator reads the code off paper and types it on a tablet.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # 40 bits; single use, short-lived and rate-limited at the endpoint
DEFAULT_CODE_TTL = timedelta(hours=24)
DEVICE_ID_PREFIX = "kd_"
REASON_REPLACED = "replaced"  # device_revoked.reason: the presidium confirmed a new tablet
REASON_SUPERSEDED = "superseded"  # a pending tablet whose seat requested another one since

# Called with a device id after a transaction that revoked it has committed;
# the Socket.IO layer registers one to drop the device's live connections.
revocation_listeners: list[Callable[[str], None]] = []


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


# --- enrollment codes ------------------------------------------------------------------


def normalize_code(code: str) -> str:
    """What the operator typed → the code as issued: case, spaces and dashes don't matter."""
    return "".join(ch for ch in code.upper() if ch not in " -\t\r\n")


def format_code(code: str) -> str:
    """``K7QM4XPA`` → ``K7QM-4XPA``, the way codes are shown and printed."""
    return f"{code[:4]}-{code[4:]}"


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode("ascii", "replace")).hexdigest()


def issue_enrollment_code(
    session: Session,
    body_id: int,
    seat: int,
    created_by: int | None,
    ttl: timedelta = DEFAULT_CODE_TTL,
    *,
    now: datetime | None = None,
    venue: str | None = None,
) -> str:
    """A new one-time code for ``seat`` of the body, formatted ``XXXX-XXXX``.

    The seat must be held by an active member (Refusal 'unknown_seat'). Earlier
    unused codes of the seat stop working: the code shown last is the valid one,
    so a lost printout is void once a new one is issued.
    """
    now = _now(now)
    if ttl <= timedelta(0):
        raise Refusal("invalid_payload", "ttl: must be positive")
    if _active_member(session, body_id, seat) is None:
        raise Refusal("unknown_seat", f"seat {seat}")
    session.execute(
        update(EnrollmentCode)
        .where(
            EnrollmentCode.body_id == body_id,
            EnrollmentCode.seat == seat,
            EnrollmentCode.used_at.is_(None),
            EnrollmentCode.expires_at > now,
        )
        .values(expires_at=now)
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        EnrollmentCode(
            body_id=body_id,
            seat=seat,
            code_hash=code_hash(code),
            created_at=now,
            expires_at=now + ttl,
            created_by=created_by,
            venue=clean_venue(venue),
        )
    )
    session.flush()
    return format_code(code)


def issue_enrollment_codes(
    session: Session,
    body_id: int,
    created_by: int | None,
    ttl: timedelta = DEFAULT_CODE_TTL,
    *,
    now: datetime | None = None,
    venue: str | None = None,
    seats: list[int] | None = None,
) -> dict[int, str]:
    """A new code for each of ``seats`` (None: every seat held by an active member):
    {seat: code}, by seat. All or nothing: a seat without an active member refuses the
    lot (Refusal 'unknown_seat'), and the caller's transaction keeps no code of it."""
    chosen = active_seats(session, body_id) if seats is None else sorted(set(seats))
    if not chosen:
        raise Refusal("unknown_seat", "no seat chosen")
    return {
        seat: issue_enrollment_code(session, body_id, seat, created_by, ttl, now=now, venue=venue)
        for seat in chosen
    }


SEAT_LIST_MAX = 5000  # seats named in one request (a national congress has about 3,000)


def parse_seat_list(text: str, high: int) -> list[int] | None:
    """``"1-10, 15，22"`` → the seats, ascending; None if any part is not a seat number
    in [1, high] or a range of them (commas, Chinese commas, 、 or spaces separate)."""
    seats: set[int] = set()
    text = re.sub(r"\s*([-－~～至])\s*", r"\1", text.strip())  # "1 - 10" is one range
    for part in re.split(r"[\s,，、;；]+", text):
        if not part:
            continue
        bounds = re.fullmatch(r"([0-9]{1,6})(?:[-－~～至]([0-9]{1,6}))?", part)
        if bounds is None:
            return None
        low = int(bounds.group(1))
        top = int(bounds.group(2)) if bounds.group(2) else low
        if not 1 <= low <= top <= high or len(seats) + top - low >= SEAT_LIST_MAX:
            return None
        seats.update(range(low, top + 1))
    return sorted(seats)


def clean_venue(venue: str | None) -> str | None:
    """A venue label (主会场 / 第一分会场), trimmed; empty is none. Refuses one too long."""
    text = " ".join((venue or "").split())
    if len(text) > VENUE_MAX:
        raise Refusal("invalid_payload", f"venue: at most {VENUE_MAX} characters")
    return text or None


def set_venue(session: Session, device_id: str, venue: str | None) -> Device:
    """The secretariat moves a tablet to another venue (分会场), or corrects its label.
    Venues only group the console's sign-in figures: every venue's sign-ins and ballots
    count in the one sitting, and nothing of it is logged."""
    device = session.get(Device, device_id)
    if device is None:
        raise Refusal("unknown_device")
    device.venue = clean_venue(venue)
    session.flush()
    return device


# --- devices -----------------------------------------------------------------------------


def parse_public_key(public_key_spki_b64: str) -> KioskPublicKey:
    """The kiosk key, or Refusal('invalid_payload') saying why it is not a P-256 SPKI."""
    try:
        return KioskPublicKey.from_spki_b64(public_key_spki_b64)
    except (CryptoError, ValueError, TypeError) as exc:
        raise Refusal("invalid_payload", f"public_key: {exc}") from None


def enroll_device(
    session: Session,
    log: AuditLog,
    code: str,
    public_key_spki_b64: str,
    *,
    now: datetime | None = None,
) -> Device:
    """Register a tablet's key for the seat of a valid one-time ``code``.

    Refuses, changing nothing: a key that is not P-256 ('invalid_payload'); a code
    that was never issued or is mistyped ('enrollment_unknown'), already used
    ('enrollment_used') or expired, or voided by a newer code for the seat
    ('enrollment_expired') — each its own message, so that staff know whether to
    retype or to issue a new code; a key already enrolled for another seat
    ('enrollment_invalid'). The seat's first tablet is enrolled (``device_enrolled``);
    a later one is returned ``pending``, awaiting the presidium (``replacement
    requested``), and an earlier pending request of the seat is superseded.
    """
    now = _now(now)
    key = parse_public_key(public_key_spki_b64)
    spki_b64 = key.spki_b64  # re-encoded: one spelling per key in the log and the table
    record = session.scalar(
        select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash(code))
    )
    if record is None:
        raise Refusal("enrollment_unknown", "unknown code")
    if record.used_at is not None:
        raise Refusal("enrollment_used", "code already used")
    if record.expires_at <= now:
        raise Refusal("enrollment_expired", "code expired")
    # One tablet, one seat: the same key speaking for two seats would let one
    # person vote twice.
    elsewhere = session.scalar(
        select(Device.id).where(
            Device.public_key == spki_b64,
            Device.revoked_at.is_(None),
            (Device.body_id != record.body_id) | (Device.seat != record.seat),
        )
    )
    if elsewhere is not None:
        raise Refusal("enrollment_invalid", "this key is enrolled for another seat")

    record.used_at = now
    # A replacement whenever the seat ever had a confirmed tablet, revoked or not:
    # revoking the old one first must not let the secretariat skip the presidium.
    replacing = _had_device(session, record.body_id, record.seat)
    device = Device(
        id=new_device_id(),
        body_id=record.body_id,
        seat=record.seat,
        public_key=spki_b64,
        enrolled_at=now,
        pending=replacing,
        venue=record.venue,
    )
    session.add(device)
    session.flush()
    data = {"device": device.id, "seat": device.seat, "public_key": device.public_key}
    if not replacing:
        log.append(session, device.body_id, EntryType.DEVICE_ENROLLED, data)
        return device
    for earlier in _pending_requests(session, record.body_id, record.seat):
        if earlier.device_id == device.id:
            continue
        earlier.status, earlier.decided_at = ReplacementStatus.SUPERSEDED, now
        stale = session.get(Device, earlier.device_id)
        if stale is not None and stale.revoked_at is None:
            _revoke(session, log, stale, REASON_SUPERSEDED, now)
    current = active_devices(session, record.body_id, record.seat)
    old = current[0].id if current else None
    session.add(DeviceReplacement(body_id=record.body_id, seat=record.seat, device_id=device.id,
                                  old_device_id=old, requested_at=now))  # fmt: skip
    session.flush()
    log.append(
        session, device.body_id, EntryType.DEVICE_ENROLLMENT_REQUESTED, {**data, "replaces": old}
    )
    return device


def _had_device(session: Session, body_id: int, seat: int) -> bool:
    return (
        session.scalar(
            select(Device.id)
            .where(Device.body_id == body_id, Device.seat == seat, Device.pending.is_(False))
            .limit(1)
        )
        is not None
    )


def _pending_requests(
    session: Session, body_id: int, seat: int | None = None
) -> list[DeviceReplacement]:
    query = select(DeviceReplacement).where(
        DeviceReplacement.body_id == body_id,
        DeviceReplacement.status == ReplacementStatus.PENDING,
    )
    if seat is not None:
        query = query.where(DeviceReplacement.seat == seat)
    return list(session.scalars(query.order_by(DeviceReplacement.requested_at)))


def decide_replacement(
    session: Session,
    log: AuditLog,
    device_id: str,
    confirm: bool,
    by: int,
    role: str,
    *,
    now: datetime | None = None,
) -> DeviceReplacement:
    """The presidium's decision on a pending tablet (the caller checked the role).

    Confirm: the seat's earlier tablet is revoked (``device_revoked``, reason
    ``replaced``; its connections dropped after commit) and the new one becomes
    usable. Reject: the new one is revoked. Refusal('unknown_request') unless
    ``device_id`` is a pending request.
    """
    now = _now(now)
    request = session.scalar(
        select(DeviceReplacement).where(
            DeviceReplacement.device_id == device_id,
            DeviceReplacement.status == ReplacementStatus.PENDING,
        )
    )
    device = session.get(Device, device_id)
    if request is None or device is None or device.revoked_at is not None:
        raise Refusal("unknown_request")
    sitting = session.scalar(
        select(Sitting.id)
        .where(Sitting.body_id == request.body_id, Sitting.status != SittingStatus.CLOSED)
        .order_by(Sitting.starts_at.desc(), Sitting.id.desc())
        .limit(1)
    )  # the sitting in progress (attendance.current_sitting): its console shows the warning
    request.decided_by, request.decided_at, request.sitting_id = by, now, sitting
    data = {"device": device.id, "seat": device.seat, "by": by, "role": role}
    if not confirm:
        request.status = ReplacementStatus.REJECTED
        device.revoked_at = now
        session.flush()
        log.append(session, device.body_id, EntryType.DEVICE_ENROLLMENT_REJECTED, data)
        return request
    request.status = ReplacementStatus.CONFIRMED
    device.pending = False
    session.flush()
    log.append(
        session, device.body_id, EntryType.DEVICE_ENROLLMENT_CONFIRMED, {**data, "sitting": sitting}
    )
    for old in active_devices(session, device.body_id, device.seat):
        if old.id != device.id:
            _revoke(session, log, old, REASON_REPLACED, now)
    return request


def replacement_requests(session: Session, body_id: int) -> list[dict[str, Any]]:
    """The pending requests, oldest first, for the console: seat, member, time."""
    return [_describe(session, r) for r in _pending_requests(session, body_id)]


def sitting_replacements(session: Session, sitting_id: int) -> list[dict[str, Any]]:
    """The tablets replaced during the sitting (the console's warning until it ends)."""
    rows = session.scalars(
        select(DeviceReplacement)
        .where(
            DeviceReplacement.sitting_id == sitting_id,
            DeviceReplacement.status == ReplacementStatus.CONFIRMED,
        )
        .order_by(DeviceReplacement.decided_at)
    )
    return [_describe(session, r) for r in rows]


def _describe(session: Session, request: DeviceReplacement) -> dict[str, Any]:
    member = _active_member(session, request.body_id, request.seat)
    decided = request.decided_at
    return {"device": request.device_id, "seat": request.seat,
            "member": member.name if member else None, "replaces": request.old_device_id,
            "requested_at": request.requested_at.isoformat(),
            "decided_at": decided.isoformat() if decided else None}  # fmt: skip


def revoke_device(
    session: Session, log: AuditLog, device_id: str, reason: str, *, now: datetime | None = None
) -> Device:
    """Revoke a device (a lost or replaced tablet); Refusal('unknown_device') if
    there is no such active device. Its live connections are dropped after commit."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise Refusal("invalid_payload", "reason: 1 to 200 characters")
    device = session.get(Device, device_id)
    if device is None or device.revoked_at is not None:
        raise Refusal("unknown_device")
    _revoke(session, log, device, reason, _now(now))
    return device


def _revoke(session: Session, log: AuditLog, device: Device, reason: str, now: datetime) -> None:
    device.revoked_at = now
    session.flush()
    log.append(
        session, device.body_id, EntryType.DEVICE_REVOKED, {"device": device.id, "reason": reason}
    )
    device_id = device.id
    for listener in list(revocation_listeners):
        after_commit(session, lambda listener=listener: listener(device_id))


def new_device_id() -> str:
    return DEVICE_ID_PREFIX + secrets.token_urlsafe(12)  # 16 URL-safe characters


def active_devices(session: Session, body_id: int, seat: int) -> list[Device]:
    """The seat's confirmed, unrevoked tablets (one, or none)."""
    return list(
        session.scalars(
            select(Device).where(
                Device.body_id == body_id,
                Device.seat == seat,
                Device.revoked_at.is_(None),
                Device.pending.is_(False),
            )
        )
    )


def usable_device(session: Session, device_id: str) -> Device | None:
    """The device if it exists, is not revoked and not awaiting the presidium: what a
    kiosk connection needs."""
    device = session.get(Device, device_id)
    if device is None or device.revoked_at is not None or device.pending:
        return None
    return device


def is_pending(session: Session, device_id: str) -> bool:
    """A replacement tablet still awaiting the presidium's confirmation?"""
    device = session.get(Device, device_id)
    return device is not None and device.pending and device.revoked_at is None


def list_devices(session: Session, body_id: int) -> list[Device]:
    """Every device of the body, by seat, the current one of a seat last."""
    return list(
        session.scalars(
            select(Device)
            .where(Device.body_id == body_id)
            .order_by(Device.seat, Device.enrolled_at)
        )
    )


# --- seats and PINs ------------------------------------------------------------------------


def _active_member(session: Session, body_id: int, seat: int) -> Member | None:
    return session.scalar(
        select(Member).where(Member.body_id == body_id, Member.seat == seat, Member.active)
    )


def member_at_seat(session: Session, body_id: int, seat: int) -> Member | None:
    """The active member holding ``seat``, or None."""
    return _active_member(session, body_id, seat)


def active_seats(session: Session, body_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Member.seat)
            .where(Member.body_id == body_id, Member.active)
            .order_by(Member.seat)
        )
    )


def issue_pins(
    session: Session, body_id: int, log: AuditLog | None = None, by: int | None = None
) -> dict[int, str]:
    """A new random PIN for every active member: {seat: pin}, by seat, to print
    once on PIN slips. Earlier PINs stop working; wrong-PIN counters and locks
    are cleared. Only the hashes are stored; with ``log``, the reset is logged
    (``pins_reset``: the seats and who, never a PIN)."""
    pins: dict[int, str] = {}
    members = session.scalars(
        select(Member).where(Member.body_id == body_id, Member.active).order_by(Member.seat)
    )
    for member in members:
        pin = new_pin()
        _store_pin(member, pin)
        pins[member.seat] = pin
    session.flush()
    if log is not None and pins:
        _log_reset(session, log, body_id, list(pins), by, every=True)
    return pins


def reset_pin(
    session: Session, log: AuditLog, body_id: int, seat: int, by: int | None
) -> tuple[Member, str]:
    """A new random PIN for the member at ``seat`` (a deputy who lost the slip or is
    locked out): the member and the PIN, shown once. The seat's old PIN stops working,
    its lock is cleared, and ``pins_reset`` records the seat and who — never the PIN.
    Refusal('unknown_seat') unless an active member holds the seat."""
    member = _active_member(session, body_id, seat)
    if member is None:
        raise Refusal("unknown_seat", f"seat {seat}")
    pin = new_pin()
    _store_pin(member, pin)
    session.flush()
    _log_reset(session, log, body_id, [seat], by, every=False)
    return member, pin


def _log_reset(
    session: Session, log: AuditLog, body_id: int, seats: list[int], by: int | None, every: bool
) -> None:
    log.append(session, body_id, EntryType.PINS_RESET, {"seats": seats, "all": every, "by": by})


def set_pin(session: Session, member_id: int, pin: str) -> Member:
    """Set one member's PIN (e.g. a deputy who lost the slip); clears the lock."""
    if not is_valid_pin(pin):
        raise Refusal("invalid_pin")
    member = session.get(Member, member_id)
    if member is None or not member.active:
        raise Refusal("unknown_member")
    _store_pin(member, pin)
    session.flush()
    return member


def _store_pin(member: Member, pin: str) -> None:
    member.pin_hash = hash_pin(pin)
    member.pin_failures = 0
    member.pin_locked_until = None
