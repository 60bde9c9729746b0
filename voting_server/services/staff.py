"""Staff accounts: create, list, deactivate, change role, authenticate, change password.

Callers hold the transaction (``write_transaction``) for changes. Creating,
disabling and changing the role of an account are audit-log entries
(``staff_created``, ``staff_disabled``, ``staff_role_changed``: who did it, the
account, its username and role), so that the verifier knows who held which role
when each entry was written (docs/duties.md). ``by`` None is the operator of the
server's command line. Accounts older than this logging are logged once, as
``existing``, by ``log_unlogged_accounts`` (at the server's first event and before
every staff change). Passwords are never logged or returned.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules.duties import account_change_error
from voting_server.models import NAME_MAX, AuditEntry, StaffRole, StaffUser, utcnow
from voting_server.services import staff_sessions
from voting_server.services.audit_log import AuditLog
from voting_server.services.passwords import burn_verification_time, hash_secret, verify_secret
from voting_server.services.refusals import Refusal

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 takes any length; a cap keeps a login cheap to refuse
USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")
STAFF_ENTRIES = (EntryType.STAFF_CREATED, EntryType.STAFF_DISABLED, EntryType.STAFF_ROLE_CHANGED)


def _role(value: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(value)
    except ValueError:
        raise Refusal("invalid_payload", f"role: unknown role {value!r}") from None


def actor_role(session: Session, by: int | None) -> str | None:
    """The role of the active account ``by`` (None: unknown, disabled, or no account)."""
    if by is None:
        return None
    actor = session.get(StaffUser, by)
    return actor.role.value if actor is not None and actor.active else None


def _check_change(session: Session, by: int | None, target: int | None, role: str | None) -> None:
    error = account_change_error(by, actor_role(session, by), target, role)
    if error is not None:
        raise Refusal("forbidden", error)


def _entry(user: StaffUser, by: int | None, **extra: object) -> dict[str, object]:
    return {"user": user.id, "username": user.username, "name": user.display_name,
            "role": user.role.value, "by": by, **extra}  # fmt: skip


def log_unlogged_accounts(session: Session, log: AuditLog) -> int:
    """Log once every account the log has not seen created (a database from before
    accounts were logged): ``staff_created`` with ``existing`` true, and
    ``staff_disabled`` for a disabled one. Returns how many were logged."""
    log.lock(session)  # several server processes start at once: each account logged once
    logged = {
        json.loads(line)["data"]["user"]
        for line in session.scalars(
            select(AuditEntry.line).where(AuditEntry.type == EntryType.STAFF_CREATED)
        )
    }
    entries: list[tuple[str, dict[str, object]]] = []
    for user in session.scalars(select(StaffUser).order_by(StaffUser.id)):
        if user.id in logged:
            continue
        entries.append((EntryType.STAFF_CREATED, _entry(user, None, existing=True)))
        if not user.active:
            entries.append((EntryType.STAFF_DISABLED, _entry(user, None)))
    log.append_many(session, entries)
    return len(entries)


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
    session: Session,
    username: str,
    display_name: str,
    role: StaffRole | str,
    password: str,
    *,
    log: AuditLog,
    by: int | None = None,
) -> StaffUser:
    """A new active account, logged (``staff_created``). Refuses a malformed or taken
    username, an unknown role, a display name of the wrong length, a password against
    the policy, and a creator the duties do not allow (rules/duties.py)."""
    username = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise Refusal("invalid_username")
    role = _role(role)
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= NAME_MAX:
        raise Refusal("invalid_payload", f"display_name: 1 to {NAME_MAX} characters")
    check_password_policy(username, password)
    _check_change(session, by, None, role.value)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Refusal("username_taken")
    log_unlogged_accounts(session, log)
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_secret(password),
        active=True,
    )
    session.add(user)
    session.flush()
    log.append(session, EntryType.STAFF_CREATED, _entry(user, by, existing=False))
    return user


def list_users(session: Session) -> list[StaffUser]:
    """Every account, active first, then by role and username."""
    return list(
        session.scalars(
            select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.role, StaffUser.username)
        )
    )


def deactivate_user(
    session: Session, user_id: int, *, log: AuditLog, by: int | None = None
) -> StaffUser:
    """Deactivate an account (kept, for the ``by`` of logged actions); logged.

    Its sessions end (their next request or connection is refused). Nobody
    deactivates their own account: the last administrator would lock everyone out.
    """
    user = session.get(StaffUser, user_id)
    if user is None:
        raise Refusal("unknown_user")
    _check_change(session, by, user_id, None)
    if not user.active:
        return user  # already: nothing to log
    log_unlogged_accounts(session, log)
    user.active = False
    staff_sessions.end_all(session, user_id, "deactivated", utcnow())
    log.append(session, EntryType.STAFF_DISABLED, _entry(user, by))
    return user


def change_role(
    session: Session, user_id: int, role: StaffRole | str, *, log: AuditLog, by: int | None = None
) -> StaffUser:
    """Give an active account another role; logged (``staff_role_changed``, with ``from``).

    No account changes its own role, and only the command line grants the
    presidium role (rules/duties.py). The account's open sessions end (a login
    keeps the role it was made with); the caller disconnects its sockets.
    """
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise Refusal("unknown_user")
    new = _role(role)
    _check_change(session, by, user_id, new.value)
    if new is user.role:
        return user
    log_unlogged_accounts(session, log)
    old = user.role.value
    user.role = new
    staff_sessions.end_all(session, user_id, "role_changed", utcnow())
    session.flush()
    log.append(session, EntryType.STAFF_ROLE_CHANGED, {**_entry(user, by), "from": old})
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
