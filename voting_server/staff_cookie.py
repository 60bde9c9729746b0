"""The staff session cookie: which live session and account a request speaks for.

A login (views/auth.py) puts the account's id, role and the server-side
session's token in Flask's signed cookie. Both the HTTP views and the
Socket.IO connect handler (sockets/connection.py) read it back here, so it
lives below both: a socket never imports a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from voting_server.extensions import sessions
from voting_server.models import StaffSession, StaffUser, utcnow
from voting_server.services import staff_sessions
from voting_server.services.transactions import write_transaction

SESSION_USER = "staff_user_id"
SESSION_ROLE = "staff_role"
SESSION_TOKEN = "staff_session"


def session_limits(app: Flask | None = None) -> staff_sessions.Limits:
    """The idle and absolute limits of staff sessions (settings.py)."""
    config = (app or current_app).config
    return staff_sessions.Limits.of_seconds(
        config.get("VOTING_SESSION_IDLE_S", staff_sessions.IDLE_DEFAULT_S),
        config.get("VOTING_SESSION_MAX_S", staff_sessions.ABSOLUTE_DEFAULT_S),
    )


def staff_session_of(
    db_session: Session, data: Mapping[str, Any]
) -> tuple[StaffUser, StaffSession] | None:
    """The account and live server-side session a session cookie speaks for: the
    session neither ended nor timed out, the account active with the role of login."""
    user_id = data.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    record = staff_sessions.live(db_session, data.get(SESSION_TOKEN), session_limits(), utcnow())
    if record is None or record.user_id != user_id:
        return None
    user = db_session.get(StaffUser, user_id)
    if user is None or not user.active or data.get(SESSION_ROLE) != user.role.value:
        return None
    return user, record


def note_activity(record: StaffSession) -> None:
    """Move the session's idle clock, at most once a minute (one small write)."""
    now = utcnow()
    if staff_sessions.needs_touch(record, now):
        with write_transaction(sessions()) as tx:
            staff_sessions.touch(tx, [record.id], now)
