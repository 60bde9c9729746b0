"""Staff accounts: create, list, deactivate, authenticate, change password.

Callers hold the transaction (``write_transaction``) for changes. Staff
accounts are not part of the audit log (docs/audit-log.md has no entry type
for them); what a staff member does in a sitting is logged with ``by``.
Passwords are never logged or returned.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from voting_server.models import NAME_MAX, StaffRole, StaffUser, utcnow
from voting_server.services import staff_sessions
from voting_server.services.passwords import burn_verification_time, hash_secret, verify_secret
from voting_server.sockets.errors import Refusal

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 takes any length; a cap keeps a login cheap to refuse
USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively: ``Zhang.Wei`` logs in as ``zhang.wei``."""
    return username.strip().lower()


def check_password_policy(username: str, password: str) -> None:
    """Refusal('weak_password') unless ``password`` may be used by ``username``."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Refusal("weak_password", f"{PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if password.strip().lower() == normalize_username(username):
        raise Refusal("weak_password", "the password is the username")


def create_user(
    session: Session, username: str, display_name: str, role: StaffRole | str, password: str
) -> StaffUser:
    """A new active account. Refuses a malformed or taken username, an unknown
    role, a display name of the wrong length, and a password against the policy."""
    username = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise Refusal("invalid_username")
    try:
        role = StaffRole(role)
    except ValueError:
        raise Refusal("invalid_payload", f"role: unknown role {role!r}") from None
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= NAME_MAX:
        raise Refusal("invalid_payload", f"display_name: 1 to {NAME_MAX} characters")
    check_password_policy(username, password)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Refusal("username_taken")
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_secret(password),
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[StaffUser]:
    """Every account, active first, then by role and username."""
    return list(
        session.scalars(
            select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.role, StaffUser.username)
        )
    )


def deactivate_user(session: Session, user_id: int, *, by: int | None = None) -> StaffUser:
    """Deactivate an account (kept, for the ``by`` of logged actions).

    Its sessions end (their next request or connection is refused). Nobody
    deactivates their own account: the last administrator would lock everyone out.
    """
    user = session.get(StaffUser, user_id)
    if user is None:
        raise Refusal("unknown_user")
    if by is not None and by == user_id:
        raise Refusal("forbidden", "you cannot deactivate your own account")
    user.active = False
    staff_sessions.end_all(session, user_id, "deactivated", utcnow())
    return user


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active account with this username and password, or None.

    Every failure looks and takes the same: no account, a deactivated one and
    a wrong password all cost one argon2 verification and answer None.
    """
    if not isinstance(password, str) or len(password) > PASSWORD_MAX:
        return None
    user = session.scalar(
        select(StaffUser).where(StaffUser.username == normalize_username(username))
    )
    if user is None:
        burn_verification_time(password)
        return None
    if not verify_secret(user.password_hash, password) or not user.active:
        return None
    return user


def change_password(session: Session, user_id: int, old_password: str, new_password: str) -> None:
    """Set a new password after checking the current one (Refusal 'login_failed').
    Every session of the account ends, this browser's too (the caller starts a new one)."""
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise Refusal("unknown_user")
    if not verify_secret(user.password_hash, old_password):
        raise Refusal("login_failed")
    check_password_policy(user.username, new_password)
    user.password_hash = hash_secret(new_password)
    staff_sessions.end_all(session, user_id, "password", utcnow())
