"""Bodies (机构) on one server: a congress or a standing committee at city, county or
township level, each with its own roster, sittings, devices, staff and audit log
(docs/bodies.md). Callers hold the transaction (``write_transaction``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voting_server.models import Body, BodyKind, BodyLevel
from voting_server.services import staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal

NAME_MAX = 200  # bodies.name


def create_body(session: Session, log: AuditLog, name: str, kind: str, level: str) -> Body:
    """A new body, its log started at once: ``log_started`` naming it, then the staff
    accounts that serve it (``existing``: made before it). Refuses an empty or taken
    name, an unknown kind or level, and a township standing committee (there is none)."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise Refusal("invalid_payload", f"name: 1 to {NAME_MAX} characters")
    try:
        body_kind, body_level = BodyKind(kind), BodyLevel(level)
    except ValueError:
        raise Refusal("invalid_payload", f"kind/level: unknown {kind!r}/{level!r}") from None
    if body_kind is BodyKind.STANDING_COMMITTEE and body_level is BodyLevel.TOWNSHIP:
        raise Refusal("invalid_payload", "乡镇人大不设常委会: no township standing committee")
    if session.scalar(select(Body.id).where(Body.name == name)) is not None:
        raise Refusal("invalid_payload", f"name: a body is already called {name!r}")
    body = Body(name=name, kind=body_kind, level=body_level)
    session.add(body)
    try:
        session.flush()
    except IntegrityError:  # another process made it meanwhile
        raise Refusal("invalid_payload", f"name: a body is already called {name!r}") from None
    staff.start_body_log(session, log, body.id)
    return body


def list_bodies(session: Session) -> list[Body]:
    return list(session.scalars(select(Body).order_by(Body.id)))
