"""The trustees' key ceremony (密钥仪式) of a sitting, as the server runs it.

The rules are ``audit/trustee_ceremony.py`` (the verifier replays the same functions
over the log); here they meet the database and the log:

- ``start_ceremony`` (presidium): trustees = the sitting's designated scrutineers in the
  designation's order (account ids ascending), k (default a majority); an unfinished
  earlier ceremony of the sitting is logged failed (``abandoned``) first. Logs
  ``trustee_ceremony_started``.
- ``post_step`` (the trustee itself: a designated, active scrutineer whose account is
  the ceremony's trustee at that index): ``commitments`` → ``trustee_commitments``;
  ``shares`` → ``trustee_shares``; ``verdicts`` → ``trustee_verdicts``, then
  ``trustee_ceremony_failed`` if a complaint is upheld, or ``trustee_key`` once every
  verdict is in and ``verified``.
- ``ceremony_state``: what the calling trustee's page shows and must do next.
- ``sitting_key``: the joint key new trustee-mode votes of a sitting use.

Every request is checked completely before anything is written: a refusal
(``CeremonyError``, or ``Refusal`` for what is not the ceremony's) changes nothing.
Each function runs inside the caller's write transaction.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import trustee_ceremony as ceremonies
from audit.entry_types import EntryType
from audit.trustee_ceremony import Ceremony, CeremonyError, Phase
from rules.duties import trustee_error
from voting_server.models import Sitting, StaffUser, TrusteeCeremony, TrusteePost
from voting_server.services import staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal
from voting_server.services.results import scrutineers

# step → (its entry, its check, the request's fields: the rest of the entry is the caller's)
STEPS: dict[str, tuple[EntryType, Any, frozenset[str]]] = {
    "commitments": (
        EntryType.TRUSTEE_COMMITMENTS,
        ceremonies.check_commitments,
        frozenset({"commitments"}),
    ),
    "shares": (EntryType.TRUSTEE_SHARES, ceremonies.check_shares, frozenset({"shares"})),
    "verdicts": (EntryType.TRUSTEE_VERDICTS, ceremonies.check_verdicts, frozenset({"verdicts"})),
}


def _now() -> datetime:
    return datetime.now(UTC)


# --- reading a ceremony ----------------------------------------------------------------------


def _row(session: Session, ceremony_id: str) -> TrusteeCeremony:
    row = session.scalar(select(TrusteeCeremony).where(TrusteeCeremony.ceremony_id == ceremony_id))
    if row is None:
        raise CeremonyError("ceremony_unknown", f"ceremony {ceremony_id!r}")
    return row


def _rebuild(session: Session, row: TrusteeCeremony) -> Ceremony:
    """The ceremony as its stored (already checked and logged) steps made it."""
    ceremony = ceremonies.from_started(row.started)
    posts = session.scalars(
        select(TrusteePost).where(TrusteePost.ceremony_id == row.id).order_by(TrusteePost.id)
    )
    for post in posts:
        STEPS[post.step][1](ceremony, post.data, verify=False)
    if row.status == Phase.FAILED:
        ceremony.failed = True
    elif row.key is not None:
        ceremony.key = row.key
    return ceremony


def latest(session: Session, sitting_id: int) -> TrusteeCeremony | None:
    """The sitting's latest ceremony, whatever its phase."""
    return session.scalar(
        select(TrusteeCeremony)
        .where(TrusteeCeremony.sitting_id == sitting_id)
        .order_by(TrusteeCeremony.id.desc())
        .limit(1)
    )


def sitting_key(session: Session, sitting_id: int) -> dict[str, Any] | None:
    """The ``trustee_key`` data new trustee-mode votes of the sitting use: its latest
    completed ceremony's, if its trustees are still the designated scrutineers (a
    re-designation calls for a new ceremony); else None."""
    row = session.scalar(
        select(TrusteeCeremony)
        .where(TrusteeCeremony.sitting_id == sitting_id, TrusteeCeremony.status == Phase.DONE)
        .order_by(TrusteeCeremony.id.desc())
        .limit(1)
    )
    if row is None or row.key is None:
        return None
    designated = [s.user_id for s in scrutineers(session, sitting_id)]
    return row.key if row.key["trustees"] == designated else None


# --- starting ------------------------------------------------------------------------------


def start_ceremony(
    session: Session, log: AuditLog, sitting_id: int, user: StaffUser, k: int | None
) -> TrusteeCeremony:
    """The presidium starts a key ceremony for the sitting (k None: a majority)."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        raise Refusal("no_sitting")
    if not staff.serves(session, user.id, sitting.body_id):
        raise Refusal("forbidden", "the account does not serve the sitting's body")
    log.lock(session, sitting.body_id)
    designated = [(s.user_id, s.user.display_name) for s in scrutineers(session, sitting_id)]
    ceremony_id = secrets.token_hex(16)
    ceremony = ceremonies.start(
        ceremony_id, sitting_id, designated, k, staff.actor_role(session, user.id)
    )
    staff.log_unlogged_accounts(session, log, sitting.body_id)
    previous = latest(session, sitting_id)
    if previous is not None and previous.status not in (Phase.DONE, Phase.FAILED):
        old = _rebuild(session, previous)
        log.append(session, sitting.body_id, EntryType.TRUSTEE_CEREMONY_FAILED,
                   ceremonies.failed_data(old, ceremonies.ABANDONED_REASON, user.id))  # fmt: skip
        previous.status, previous.ended_at = Phase.FAILED, _now()
    started = ceremonies.started_data(ceremony, user.id)
    log.append(session, sitting.body_id, EntryType.TRUSTEE_CEREMONY_STARTED, started)
    row = TrusteeCeremony(
        ceremony_id=ceremony_id, body_id=sitting.body_id, sitting_id=sitting_id,
        n=ceremony.n, k=ceremony.k, started=started, status=ceremony.phase,
        started_by=user.id, started_at=_now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


# --- a trustee's step ----------------------------------------------------------------------


def _trustee_index(
    session: Session, row: TrusteeCeremony, ceremony: Ceremony, user: StaffUser
) -> int:
    """The caller's index in the ceremony: an active scrutineer, designated for the
    sitting, whose account is one of the ceremony's trustees."""
    designated = {s.user_id for s in scrutineers(session, row.sitting_id)}
    error = trustee_error(user.id, staff.actor_role(session, user.id), designated)
    if error is not None:
        raise CeremonyError("ceremony_not_trustee", error)
    for trustee in ceremony.trustees:
        if trustee.user_id == user.id:
            return trustee.index
    raise CeremonyError("ceremony_not_trustee", f"account {user.id} is not a trustee of it")


def post_step(
    session: Session,
    log: AuditLog,
    ceremony_id: str,
    step: str,
    user: StaffUser,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The calling trustee posts ``step`` (``commitments``, ``shares``, ``verdicts``)
    with ``payload`` (that step's fields, without ``index``/``user_id``: the caller's
    own). Returns the ceremony's state for the caller afterwards."""
    entry_type, check, fields = STEPS[step]
    if set(payload) != fields:
        raise CeremonyError("ceremony_malformed", f"the fields are {sorted(fields)}")
    row = _row(session, ceremony_id)
    log.lock(session, row.body_id)  # the state read below stays true until the commit
    ceremony = _rebuild(session, row)
    index = _trustee_index(session, row, ceremony, user)
    data = {"ceremony_id": ceremony_id, "index": index, "user_id": user.id, **payload}
    upheld = check(ceremony, data)
    appended = log.append(session, row.body_id, entry_type, data)
    session.add(TrusteePost(ceremony_id=row.id, step=step, trustee_index=index, user_id=user.id,
                            data=data, posted_at=_now(), log_index=appended.index))  # fmt: skip
    if step == "verdicts" and upheld:
        log.append(session, row.body_id, EntryType.TRUSTEE_CEREMONY_FAILED,
                   ceremonies.failed_data(ceremony, ceremonies.COMPLAINT_REASON, None))  # fmt: skip
        ceremony.failed = True
        row.ended_at = _now()
    elif step == "verdicts" and ceremonies.all_verified(ceremony):
        key = ceremonies.key_data(ceremony)
        log.append(session, row.body_id, EntryType.TRUSTEE_KEY, key)
        ceremony.key, row.key, row.ended_at = key, key, _now()
    row.status = ceremony.phase
    session.flush()
    return state_for(ceremony, row, index)


# --- what a page shows -----------------------------------------------------------------------


def _next_step(ceremony: Ceremony, index: int | None) -> str | None:
    """What trustee ``index`` must do now: post a step, wait for the others, or nothing."""
    phase = ceremony.phase
    if index is None or phase in (Phase.DONE, Phase.FAILED):
        return None
    posted = {
        Phase.COMMITMENTS: ceremony.commitments,
        Phase.SHARES: ceremony.shares,
        Phase.VERDICTS: ceremony.verdicts,
    }[phase]
    return "wait" if index in posted else str(phase)


def state_for(ceremony: Ceremony, row: TrusteeCeremony, index: int | None) -> dict[str, Any]:
    """The ceremony as trustee ``index`` (None: the presidium, or another reader) sees it:
    everybody's commitments and who posted what; the shares addressed to ``index``."""
    return {
        "ok": True,
        "ceremony_id": ceremony.ceremony_id,
        "sitting": ceremony.sitting,
        "n": ceremony.n,
        "k": ceremony.k,
        "base_hash": ceremony.base.hex(),
        "phase": str(ceremony.phase),
        "trustees": [
            {
                "index": t.index,
                "user_id": t.user_id,
                "name": t.name,
                "commitments": t.index in ceremony.commitments,
                "shares": t.index in ceremony.shares,
                "verdicts": t.index in ceremony.verdicts,
            }
            for t in ceremony.trustees
        ],
        "you": index,
        "next": _next_step(ceremony, index),
        "commitments": {str(i): c for i, c in sorted(ceremony.commitments.items())},
        "shares_for_you": ceremonies.shares_for(ceremony, index) if index is not None else [],
        "complaints": list(ceremony.complaints),
        "key": ceremony.key,
    }


def ceremony_state(session: Session, ceremony_id: str, user: StaffUser) -> dict[str, Any]:
    """The ceremony for its trustee ``user``, or for the presidium (no shares)."""
    row = _row(session, ceremony_id)
    ceremony = _rebuild(session, row)
    if staff.actor_role(session, user.id) == "presidium":
        return state_for(ceremony, row, None)
    return state_for(ceremony, row, _trustee_index(session, row, ceremony, user))


def sitting_state(session: Session, sitting_id: int, user: StaffUser) -> dict[str, Any]:
    """The sitting's latest ceremony for ``user`` (``{"ok": true, "ceremony_id": null}``
    when none was started)."""
    if session.get(Sitting, sitting_id) is None:
        raise Refusal("no_sitting")
    row = latest(session, sitting_id)
    if row is None:
        return {"ok": True, "ceremony_id": None, "sitting": sitting_id, "phase": None}
    return ceremony_state(session, row.ceremony_id, user)
