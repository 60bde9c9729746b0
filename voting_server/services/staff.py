"""Staff accounts: create, list, deactivate, change role, authenticate, change password.

Callers hold the transaction (``write_transaction``) for changes. Creating,
disabling and changing the role of an account are audit-log entries
(``staff_created``, ``staff_disabled``, ``staff_role_changed``: who did it, the
account, its username and role), so that the verifier knows who held which role
when each entry was written (docs/duties.md). ``by`` None is the operator of the
server's command line. Accounts older than this logging are logged once, as
``existing``, by ``log_unlogged_accounts`` (at the server's first event and before
every staff change). Passwords are never logged or returned.

Accounts are scoped to bodies (``staff_scopes``; none = every body, a platform
account). An account's changes are logged in the log of every body it serves, so
that each body's log alone tells who held which role there (docs/bodies.md); a
change of scope is ``staff_scope_changed``, logged in every body it served or serves.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules.duties import account_change_error, scope_error
from voting_server.models import (
    NAME_MAX,
    AuditEntry,
    Body,
    StaffRole,
    StaffScope,
    StaffUser,
    utcnow,
)
from voting_server.services import staff_sessions
from voting_server.services.audit_log import AuditLog
from voting_server.services.passwords import burn_verification_time, hash_secret, verify_secret
from voting_server.services.refusals import Refusal

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 takes any length; a cap keeps a login cheap to refuse
USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")
STAFF_ENTRIES = (
    EntryType.STAFF_CREATED,
    EntryType.STAFF_DISABLED,
    EntryType.STAFF_ROLE_CHANGED,
    EntryType.STAFF_SCOPE_CHANGED,
)


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


def scope_of(session: Session, user_id: int) -> list[int] | None:
    """The ids of the bodies the account serves, in order; None: every body."""
    ids = list(
        session.scalars(
            select(StaffScope.body_id)
            .where(StaffScope.user_id == user_id)
            .order_by(StaffScope.body_id)
        )
    )
    return ids or None


def all_body_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Body.id).order_by(Body.id)))


def served_body_ids(session: Session, user_id: int) -> list[int]:
    """The bodies the account serves, in order (every body for a platform account)."""
    scope = scope_of(session, user_id)
    return scope if scope is not None else all_body_ids(session)


def serves(session: Session, user_id: int, body_id: int) -> bool:
    scope = scope_of(session, user_id)
    return scope is None or body_id in scope


def _check_change(
    session: Session,
    by: int | None,
    target: int | None,
    role: str | None,
    bodies: list[int] | None = None,
) -> None:
    """Refusal('forbidden') unless ``by`` may change ``target`` (serving ``bodies``)."""
    error = account_change_error(by, actor_role(session, by), target, role)
    if error is None and by is not None:
        error = scope_error(scope_of(session, by), bodies)
    if error is not None:
        raise Refusal("forbidden", error)


def _check_bodies(session: Session, bodies: list[int] | None) -> list[int] | None:
    """``bodies`` sorted and deduplicated; Refusal('unknown_body') naming one that is not."""
    if bodies is None or not bodies:
        return None
    wanted = sorted(set(bodies))
    known = set(all_body_ids(session))
    for body_id in wanted:
        if body_id not in known:
            raise Refusal("unknown_body", f"no body {body_id}")
    return wanted


def _entry(user: StaffUser, by: int | None, **extra: object) -> dict[str, object]:
    return {"user": user.id, "username": user.username, "name": user.display_name,
            "role": user.role.value, "by": by, **extra}  # fmt: skip


def log_unlogged_accounts(session: Session, log: AuditLog, body_id: int) -> int:
    """Log once, in ``body_id``'s log, every account serving the body that its log has
    not seen (a database from before accounts were logged, or a body just created):
    ``staff_created`` with ``existing`` true, and ``staff_disabled`` for a disabled
    one. Returns how many were logged.

    Only before the log saw an account made under the rules: after that, an account
    the log does not know came to the body by ``staff_scope_changed`` or not at all."""
    log.lock(session, body_id)  # several server processes start at once: each logged once
    rows = session.execute(
        select(AuditEntry.type, AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type.in_([str(t) for t in STAFF_ENTRIES]))
        .order_by(AuditEntry.idx)
    )
    logged: set[int] = set()
    for row in rows:
        data = json.loads(row.line)["data"]
        if row.type == EntryType.STAFF_CREATED and data.get("existing"):
            logged.add(data["user"])
        elif not (
            row.type == EntryType.STAFF_DISABLED and data["user"] in logged and data["by"] is None
        ):  # fmt: skip  (an existing one's, logged with it)
            return 0  # accounts are logged as they change from here on
    scoped = set(session.scalars(select(StaffScope.user_id)))  # accounts serving some bodies
    scoped_here = set(
        session.scalars(select(StaffScope.user_id).where(StaffScope.body_id == body_id))
    )
    entries: list[tuple[str, dict[str, object]]] = []
    for user in session.scalars(select(StaffUser).order_by(StaffUser.id)):
        if user.id in logged or (user.id in scoped and user.id not in scoped_here):
            continue
        entries.append((EntryType.STAFF_CREATED, _entry(user, None, existing=True)))
        if not user.active:
            entries.append((EntryType.STAFF_DISABLED, _entry(user, None)))
    log.append_many(session, body_id, entries)
    return len(entries)


def start_body_log(session: Session, log: AuditLog, body_id: int) -> None:
    """Start a new body's log: ``log_started``, then the accounts that serve it."""
    log.start(session, body_id)
    log_unlogged_accounts(session, log, body_id)


def _log_everywhere(
    session: Session, log: AuditLog, body_ids: list[int], type_: str, data: dict[str, object]
) -> None:
    """Log one account change in each of ``body_ids``' logs (in id order: lock order).
    The caller logged the older accounts first (``log_unlogged_accounts``), before the
    change: an account made now must not look ``existing``."""
    log.lock_all(session, body_ids)
    for body_id in sorted(set(body_ids)):
        log.append(session, body_id, type_, data)


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
    bodies: list[int] | None = None,
) -> StaffUser:
    """A new active account serving ``bodies`` (None or empty: every body), logged
    (``staff_created``) in each of their logs. Refuses a malformed or taken username,
    an unknown role or body, a display name of the wrong length, a password against
    the policy, and a creator the duties do not allow (rules/duties.py)."""
    username = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise Refusal("invalid_username")
    role = _role(role)
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= NAME_MAX:
        raise Refusal("invalid_payload", f"display_name: 1 to {NAME_MAX} characters")
    check_password_policy(username, password)
    bodies = _check_bodies(session, bodies)
    _check_change(session, by, None, role.value, bodies)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Refusal("username_taken")
    served = bodies if bodies is not None else all_body_ids(session)
    for body_id in served:  # before the new account exists: it is not "existing"
        log_unlogged_accounts(session, log, body_id)
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_secret(password),
        active=True,
    )
    session.add(user)
    session.flush()
    session.add_all(StaffScope(user_id=user.id, body_id=b) for b in bodies or [])
    session.flush()
    _log_everywhere(session, log, served, EntryType.STAFF_CREATED, _entry(user, by, existing=False))
    return user


def set_scope(
    session: Session,
    user_id: int,
    bodies: list[int] | None,
    *,
    log: AuditLog,
    by: int | None = None,
) -> StaffUser:
    """Let the account serve ``bodies`` (None or empty: every body); logged
    (``staff_scope_changed``, with ``from``) in the log of every body it served or now
    serves. Its sessions end (a console connected to a body it left must not stay)."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise Refusal("unknown_user")
    bodies = _check_bodies(session, bodies)
    old = scope_of(session, user_id)
    _check_change(session, by, user_id, None, old)
    _check_change(session, by, user_id, None, bodies)
    if old == bodies:
        return user
    before, after = served_body_ids(session, user_id), bodies or all_body_ids(session)
    for body_id in sorted(set(before) | set(after)):
        log_unlogged_accounts(session, log, body_id)
    session.execute(delete(StaffScope).where(StaffScope.user_id == user_id))
    session.add_all(StaffScope(user_id=user_id, body_id=b) for b in bodies or [])
    staff_sessions.end_all(session, user_id, "scope_changed", utcnow())
    session.flush()
    data = {**_entry(user, by), "active": user.active, "bodies": bodies, "from": old}
    _log_everywhere(session, log, sorted(set(before) | set(after)),
                    EntryType.STAFF_SCOPE_CHANGED, data)  # fmt: skip
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
    _check_change(session, by, user_id, None, scope_of(session, user_id))
    if not user.active:
        return user  # already: nothing to log
    served = served_body_ids(session, user_id)
    for body_id in served:
        log_unlogged_accounts(session, log, body_id)
    user.active = False
    staff_sessions.end_all(session, user_id, "deactivated", utcnow())
    _log_everywhere(session, log, served, EntryType.STAFF_DISABLED, _entry(user, by))
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
    _check_change(session, by, user_id, new.value, scope_of(session, user_id))
    if new is user.role:
        return user
    served = served_body_ids(session, user_id)
    for body_id in served:
        log_unlogged_accounts(session, log, body_id)
    old = user.role.value
    user.role = new
    staff_sessions.end_all(session, user_id, "role_changed", utcnow())
    session.flush()
    data = {**_entry(user, by), "from": old}
    _log_everywhere(session, log, served, EntryType.STAFF_ROLE_CHANGED, data)
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
