"""db.insert_rows: a batch's rows written as the ORM would have written them, on both
databases (on PostgreSQL through COPY), inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from voting_server.db import insert_rows, make_engine, make_session_factory, upgrade
from voting_server.demo import load_demo
from voting_server.models import Press, Vote


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade(url)
    return url


def _rows(vote_id: int, member_ids: list[int]) -> list[dict[str, object]]:
    """A named press (JSON ballot, no seal) and a secret one (no ballot, sealed bytes),
    with text that COPY's text format must escape (tab, newline, backslash, quotes)."""
    named, secret = member_ids[:2]
    return [
        {"vote_id": vote_id, "member_id": named, "nonce": "n-1", "press_no": 1, "entry_idx": 7,
         "receipt": {"seat": 1, "note": 'tab\tnewline\nback\\slash "quoted" 中文'},
         "ballot": {"regulation": "yes"}, "sealed": None},
        {"vote_id": vote_id, "member_id": secret, "nonce": "n-2", "press_no": 1, "entry_idx": 8,
         "receipt": {"seat": 2}, "ballot": None, "sealed": b"\x00\x01\\\t\xff"},
    ]  # fmt: skip


@pytest.fixture
def hall(url: str) -> Iterator[tuple[sessionmaker[Session], list[dict[str, object]]]]:
    """The demo's sessions, and two presses of its first vote to insert."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        body = load_demo(session, members=3)
        vote_id = session.scalars(sa.select(Vote.id)).first()
        rows = _rows(vote_id, [m.id for m in body.members])
    yield sessions, rows
    engine.dispose()


def test_rows_read_back_as_written(
    hall: tuple[sessionmaker[Session], list[dict[str, object]]],
) -> None:
    sessions, rows = hall
    with sessions.begin() as session:
        insert_rows(session, Press.__table__, rows)
    with sessions() as session:
        stored = session.execute(
            sa.select(Press.nonce, Press.receipt, Press.ballot, Press.sealed).order_by(Press.nonce)
        ).all()
    assert [tuple(r) for r in stored] == [
        (r["nonce"], r["receipt"], r["ballot"], r["sealed"]) for r in rows
    ]


def test_rows_are_part_of_the_callers_transaction(
    hall: tuple[sessionmaker[Session], list[dict[str, object]]],
) -> None:
    """A batch that fails after its inserts leaves nothing behind (no ballot half-stored)."""
    sessions, rows = hall
    with pytest.raises(RuntimeError), sessions.begin() as session:
        insert_rows(session, Press.__table__, rows)
        raise RuntimeError("the batch fails after its inserts")
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Press)) == 0
