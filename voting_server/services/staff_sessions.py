"""Staff sessions kept on the server (docs/staff-pages.md, "Sessions").

A login creates a ``StaffSession`` row; the browser's signed cookie carries
only its random token. A session is live while it is not ended (logout, a
password change, deactivation), not idle longer than ``Limits.idle``, and
younger than ``Limits.absolute``. One row per browser, not a counter per
account: logging out on the staff-room PC leaves the console open on the
presidium's laptop, while a password change or deactivation ends them all.

Activity is written at most once per ``TOUCH_EVERY`` (``needs_touch``), so a
busy page costs one small write a minute, not one per request; the idle limit
is therefore kept to within a minute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voting_server.models import StaffSession

TOKEN_BYTES = 32
TOKEN_MAX = 64  # token_urlsafe(32) is 43 characters; anything longer is not ours
TOUCH_EVERY = timedelta(minutes=1)
IDLE_DEFAULT_S = 30 * 60
ABSOLUTE_DEFAULT_S = 12 * 60 * 60  # a sitting day


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of_seconds(cls, idle_s: int, absolute_s: int) -> Limits:
        return cls(timedelta(seconds=idle_s), timedelta(seconds=absolute_s))


def session_id(token: str) -> str:
    """The stored id of a token: its SHA-256, so the table alone opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int, now: datetime) -> str:
    """A new session of ``user_id``; returns the token for the cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        StaffSession(id=session_id(token), user_id=user_id, created_at=now, last_seen_at=now)
    )
    session.flush()
    return token


def live(session: Session, token: object, limits: Limits, now: datetime) -> StaffSession | None:
    """The session of ``token`` if it is still live at ``now``, else None."""
    if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX:
        return None
    record = session.get(StaffSession, session_id(token))
    if record is None or not is_live(record, limits, now):
        return None
    return record


def is_live(record: StaffSession, limits: Limits, now: datetime) -> bool:
    return (
        record.ended_at is None
        and now - record.created_at < limits.absolute
        and now - record.last_seen_at < limits.idle
    )


def needs_touch(record: StaffSession, now: datetime) -> bool:
    return now - record.last_seen_at >= TOUCH_EVERY


def touch(session: Session, ids: list[str], now: datetime) -> None:
    """Record activity of the (not ended) sessions ``ids`` at ``now``."""
    if ids:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id.in_(ids), StaffSession.ended_at.is_(None))
            .values(last_seen_at=now)
        )


def end(session: Session, token: object, reason: str, now: datetime) -> str | None:
    """End the session of ``token`` (logout); returns its id, None if it had none."""
    if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX:
        return None
    sid = session_id(token)
    session.execute(
        update(StaffSession)
        .where(StaffSession.id == sid, StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    return sid


def end_all(session: Session, user_id: int, reason: str, now: datetime) -> None:
    """End every session of ``user_id`` (password changed, account deactivated)."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def ended_among(session: Session, ids: list[str], limits: Limits, now: datetime) -> set[str]:
    """Which of ``ids`` are no longer live (for dropping their open connections)."""
    if not ids:
        return set()
    rows = session.scalars(select(StaffSession).where(StaffSession.id.in_(ids)))
    alive = {r.id for r in rows if is_live(r, limits, now)}
    return set(ids) - alive
