"""One writer at a time, and every change with its audit entry in one commit.

Within a process, ``WRITE_LOCK`` serializes write transactions: under gevent
a SQLite writer that waited on another greenlet's lock would block the whole
loop. (gunicorn's gevent worker patches ``threading``, so this lock yields
to other greenlets.) Across processes on PostgreSQL, the audit log takes a
transaction-scoped advisory lock (``AuditLog.append``).

In-memory state that mirrors the database (open votes, who has pressed) is
changed only by ``after_commit`` callbacks, so a failed commit leaves memory
and database agreeing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

WRITE_LOCK = threading.RLock()
_AFTER_COMMIT = "voting.after_commit"


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose changes commit together on exit, or not at all on error."""
    with WRITE_LOCK:
        with sessions.begin() as session:
            yield session
        for callback in session.info.pop(_AFTER_COMMIT, []):
            callback()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``session``'s transaction has committed (still under the lock)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)
