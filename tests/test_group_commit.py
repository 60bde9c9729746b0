"""The group commit (services/group_commit.py): whatever a batch raises, the batch fails
alone — its items get a retryable refusal, and the next batch runs.

The batch function here is a stand-in for ``Voting.cast_batch`` that raises on the
item "bad" (as the database driver did on a vote id of 2**63); the transaction
is a real one on a SQLite file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from voting_server.db import make_engine, make_session_factory
from voting_server.services.group_commit import GroupCommit
from voting_server.sockets.errors import MESSAGES, Refusal

WAIT = 10.0


class Batches:
    """A batch function that raises ValueError for the item "bad", can be held at its
    first call, and records every batch it was given."""

    def __init__(self, hold_first: bool = False) -> None:
        self.seen: list[list[str]] = []
        self.held = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, session: Session, audit: Any, items: list[str]) -> list[Any]:
        self.seen.append(list(items))
        if len(self.seen) == 1:
            self.held.set()
            assert self.release.wait(WAIT)
        if "bad" in items:
            raise ValueError(f"cannot bind {items}")
        return [f"receipt of {item}" for item in items]


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    return make_session_factory(make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}"))


def submit_in_thread(
    commit: GroupCommit, key: int, item: str, sessions: sessionmaker[Session]
) -> Callable[[], Any]:
    """Submit from another thread; returns a function that waits for its outcome (the
    value, or the exception raised) and fails the test if none comes."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(commit.submit(key, item, sessions, None))  # type: ignore[arg-type]
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result() -> Any:
        thread.join(WAIT)
        assert not thread.is_alive(), f"{item!r} was never answered"
        return outcome[0]

    return result


def assert_retryable(outcome: Any) -> None:
    assert isinstance(outcome, Refusal), outcome
    assert outcome.code == "database_unavailable" and MESSAGES[outcome.code][1] is True


def test_a_batch_that_raises_fails_alone_and_the_next_batch_runs(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    commit = GroupCommit(Batches())
    assert_retryable(submit_in_thread(commit, 1, "bad", sessions)())
    assert "ValueError" in caplog.text
    assert "cannot bind [" not in caplog.text  # the message may quote a ballot
    # The leader was not left marked as leading: the next ballot is committed.
    assert submit_in_thread(commit, 2, "good", sessions)() == "receipt of good"
    assert submit_in_thread(commit, 1, "bad", sessions)() != "receipt of bad"
    assert submit_in_thread(commit, 3, "after", sessions)() == "receipt of after"


def test_the_ballots_sharing_a_batch_with_a_bad_one_are_committed(
    sessions: sessionmaker[Session],
) -> None:
    batches = Batches(hold_first=True)
    commit = GroupCommit(batches)
    first = submit_in_thread(commit, 0, "first", sessions)
    assert batches.held.wait(WAIT)
    # These queue while the leader commits "first", and go together into the next batch.
    waiting = [submit_in_thread(commit, key, item, sessions)
               for key, item in enumerate(["a", "bad", "b", "c"], start=1)]  # fmt: skip
    while sum(len(b) for b in batches.seen) < 1 or len(commit._queue) < 4:
        threading.Event().wait(0.01)
    batches.release.set()
    assert first() == "receipt of first"
    a, bad, b, c = (result() for result in waiting)
    assert (a, b, c) == ("receipt of a", "receipt of b", "receipt of c")
    assert_retryable(bad)
    assert ["a", "bad", "b", "c"] in batches.seen  # tried together, then split
    assert submit_in_thread(commit, 9, "later", sessions)() == "receipt of later"


class LeaderKilled(BaseException):
    """What a killed greenlet raises in itself (like gevent's GreenletExit)."""


def test_ballots_queued_behind_a_leader_that_dies_are_answered(
    sessions: sessionmaker[Session],
) -> None:
    release = threading.Event()
    held = threading.Event()

    def batch(session: Session, audit: Any, items: list[str]) -> list[Any]:
        if items == ["dies"]:
            held.set()
            assert release.wait(WAIT)
            raise LeaderKilled
        return [f"receipt of {item}" for item in items]

    commit = GroupCommit(batch)
    leader = submit_in_thread(commit, 0, "dies", sessions)
    assert held.wait(WAIT)
    queued = submit_in_thread(commit, 1, "queued", sessions)
    while len(commit._queue) < 1:
        threading.Event().wait(0.01)
    release.set()
    assert isinstance(leader(), LeaderKilled)  # the leader's own end goes on up
    assert_retryable(queued())  # answered, to be resent; not left waiting for ever
    assert submit_in_thread(commit, 2, "next", sessions)() == "receipt of next"
