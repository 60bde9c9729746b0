"""Group commit: ballots arriving together are written in one transaction.

A ballot is acknowledged only after its commit, and on the embedded SQLite
every commit waits for the disk (``synchronous=FULL``). One transaction per
ballot would make a burst of 3,000 presses wait for 3,000 flushes in turn.
Instead the first ballot to arrive while nobody is committing becomes the
*leader*: it takes every ballot queued meanwhile (up to ``max_batch``, and
at most one per member, i.e. per seat of a body, since a member's press
number is counted from the previous commit), hands them all to the batch
function (``Voting.cast_batch``: a few queries for the batch, one insert of
its entries, one of its presses; a refused ballot writes nothing), commits
once, and wakes each waiter with its own answer. Then it yields, so that
ballots read meanwhile join the next batch, and leads until the queue is
empty.

If the commit fails, no ballot of the batch is acknowledged: each gets the
retryable ``database_unavailable`` and is resent with the same nonce. A failure
that is not the database going away (an error raised by one ballot, e.g. a value
the driver cannot bind) is not allowed to take the others down with it: the batch
is split in halves and each half committed on its own, so only the ballot that
fails is refused, and the next batch runs whatever was raised. The leader never
stays marked as leading: ballots queued behind a leader that dies are answered
too, retryably.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction

log = logging.getLogger(__name__)

Item = Any
Outcome = Any  # a value for the waiter, or the Refusal it gets raised
Batch = Callable[[Session, AuditLog, list[Item]], list[Outcome]]


@dataclass
class _Waiting:
    key: Hashable
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class GroupCommit:
    """One per server process; ``submit`` from any handler.

    ``batch`` decides a whole batch in one transaction: it returns one outcome per
    item, in order — a value, or a Refusal for that item alone (which must then
    have written nothing).
    """

    def __init__(self, batch: Batch, max_batch: int = 500) -> None:
        self.batch = batch
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._leading = False
        self.batches = 0  # commits made, and ballots in them: for the benchmark's notes
        self.items = 0
        self.last_submit = float("-inf")  # time.monotonic() of the latest item

    def submit(
        self, key: Hashable, item: Item, sessions: sessionmaker[Session], audit: AuditLog
    ) -> Any:
        """Decide ``item`` together with those queued meanwhile; return its value once
        committed. ``key``: items with the same key never share a batch.

        Raises the item's Refusal, or Refusal('database_unavailable') if the batch's
        commit failed.
        """
        waiting = _Waiting(key, item)
        self.last_submit = time.monotonic()
        with self._lock:
            self._queue.append(waiting)
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead(sessions, audit)
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        return waiting.value

    def _lead(self, sessions: sessionmaker[Session], audit: AuditLog) -> None:
        try:
            while True:
                with self._lock:
                    batch, later, seen = [], [], set()
                    for waiting in self._queue:
                        if waiting.key in seen or len(batch) >= self.max_batch:
                            later.append(waiting)
                        else:
                            seen.add(waiting.key)
                            batch.append(waiting)
                    self._queue = later
                    if not batch:
                        self._leading = False
                        return
                self._commit(batch, sessions, audit)
                time.sleep(0)  # under gevent: let the ballots read meanwhile join the next batch
        except BaseException:
            # The leader itself is going (GreenletExit, KeyboardInterrupt): nobody else
            # would lead the ballots queued behind it. Answer them (retryable) and let
            # the next ballot to arrive lead.
            with self._lock:
                stranded, self._queue, self._leading = self._queue, [], False
            _answer(stranded, "database_unavailable")
            raise

    def _commit(
        self, batch: list[_Waiting], sessions: sessionmaker[Session], audit: AuditLog
    ) -> None:
        """Commit ``batch`` and answer each of its waiters. Never raises an Exception."""
        try:
            try:
                with write_transaction(sessions) as session:
                    outcomes = self.batch(session, audit, [w.item for w in batch])
                    if len(outcomes) != len(batch):  # inside: the transaction rolls back
                        raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
            finally:
                self.batches += 1
                self.items += len(batch)
        except Exception as exc:
            if len(batch) > 1 and not _connection_lost(exc):
                # One item's fault, most likely: halve until it is alone.
                half = len(batch) // 2
                self._commit(batch[:half], sessions, audit)
                self._commit(batch[half:], sessions, audit)
            else:
                _log_failure(exc, len(batch))
                _answer(batch, "database_unavailable")
            return
        except BaseException:  # the leader is going: never leave a waiter hanging
            _answer(batch, "database_unavailable")
            raise
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Refusal):
                waiting.error = outcome
            else:
                waiting.value = outcome
            waiting.done.set()


def _connection_lost(exc: Exception) -> bool:
    """The database went away (every item would fail alike), rather than one item failing."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _log_failure(exc: Exception, items: int) -> None:
    """Log a failed batch by the exception's class and where it was raised: never its
    message, which may quote the statement's parameters (a ballot, a sealed one)."""
    if isinstance(exc, SQLAlchemyError):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return
    where = "".join(traceback.format_tb(exc.__traceback__))  # code lines, no values
    log.error("a batch of %d failed with %s:\n%s", items, exc.__class__.__name__, where)


def _answer(waiters: list[_Waiting], code: str) -> None:
    for waiting in waiters:  # a Refusal each: they are raised in as many threads
        waiting.value, waiting.error = None, Refusal(code)
        waiting.done.set()
