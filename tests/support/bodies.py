"""Bodies in tests: most tests hold one body (the demo's), whose log is *the* log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voting_server.models import Body


def only_body_id(session: Session) -> int:
    """The id of the database's one body (fails if there are several or none)."""
    ids = list(session.scalars(select(Body.id)))
    assert len(ids) == 1, f"expected one body, found {ids}"
    return ids[0]
