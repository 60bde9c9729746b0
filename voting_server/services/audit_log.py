"""The writer of the audit log (docs/audit-log.md).

``AuditLog.append`` adds one signed, chained entry inside the caller's
transaction, so a state change and its entry commit together or not at all.
The entry's bytes come from ``audit.entry`` — the same functions the
verifier uses — and checkpoints (signed heads) follow the rule of
``audit.checkpoint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from audit.checkpoint import CHECKPOINT, checkpoint_due, signed_head
from audit.entry import GENESIS_PREV, entry_hash, signed_line, unsigned_entry
from audit.entry_types import EntryType
from audit.merkle import MerkleStream
from crypto import ServerKey
from voting_server.models import AuditEntry

SOFTWARE = "congress-voting 0.1.0"
_PG_LOG_LOCK = 0x766F7465  # advisory lock id: one log writer at a time across processes


@dataclass(frozen=True)
class Appended:
    """Where an entry went: what a receipt names."""

    index: int
    hash: str
    sig: str


def utc_timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    def __init__(self, key: ServerKey, clock: Callable[[], datetime] | None = None) -> None:
        self.key = key
        self._clock = clock or (lambda: datetime.now(UTC))
        # The Merkle tree of the log so far, kept between checkpoints so that a
        # head costs the entries since the last one, not the whole log. Its
        # last line's hash tells whether the database still agrees (another
        # process wrote, or a transaction that wrote was rolled back).
        self._tree = MerkleStream()
        self._tree_tail = GENESIS_PREV

    def lock(self, session: Session) -> None:
        """On PostgreSQL, hold the log for this transaction: one writer at a time across
        processes (docs/deployment.md, one total order), so that what the caller reads
        of the log before appending is still true when it appends. Re-entrant."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOG_LOCK})

    def append(self, session: Session, type_: str, data: dict[str, Any]) -> Appended:
        """Add an entry in ``session``'s transaction. An empty log is started first.

        Precondition: the caller holds the write transaction (``write_transaction``).
        """
        return self.append_many(session, [(type_, data)])[0]

    def append_many(
        self, session: Session, entries: list[tuple[str, dict[str, Any]]]
    ) -> list[Appended]:
        """Add ``entries`` (type, data) in order, in ``session``'s transaction, with the
        checkpoints they make due; returns where each of them went (not the checkpoints).

        One read of the log's tail and one multi-row insert for all of them: a batch of
        ballots costs the hashing and signing of its entries, not a query per entry.
        Precondition: the caller holds the write transaction (``write_transaction``).
        """
        if not entries:
            return []
        self.lock(session)  # the tail read below stays the tail
        last = session.execute(
            select(AuditEntry.idx, AuditEntry.hash).order_by(AuditEntry.idx.desc()).limit(1)
        ).first()
        rows: list[dict[str, Any]] = []
        if last is None:
            tail = self._entry(rows, 0, GENESIS_PREV, EntryType.LOG_STARTED, self._genesis())
        else:
            tail = Appended(index=last.idx, hash=last.hash, sig="")
        appended = []
        now = utc_timestamp(self._clock())  # entries committed together share their time
        for type_, data in entries:
            tail = self._entry(rows, tail.index + 1, tail.hash, type_, data, now)
            appended.append(tail)
            entry_type = type_
            while checkpoint_due(tail.index, entry_type):
                self._insert(session, rows)  # the head is computed over stored lines
                tail, entry_type = self._checkpoint(session, rows, tail), CHECKPOINT
        self._insert(session, rows)
        return appended  # the callers' entries (a receipt names one), not checkpoints after them

    def start(self, session: Session) -> None:
        """Write ``log_started`` if the log is empty (idempotent)."""
        if session.scalar(select(AuditEntry.idx).limit(1)) is None:
            rows: list[dict[str, Any]] = []
            self._entry(rows, 0, GENESIS_PREV, EntryType.LOG_STARTED, self._genesis())
            self._insert(session, rows)

    def head(self, session: Session, size: int, last_hash: str) -> str:
        """The RFC 6962 root (hex) of the first ``size`` entries; entry ``size - 1``
        has hash ``last_hash``. Reads only the entries the cached tree lacks."""
        cached = self._tree.size
        if cached > size or (
            cached
            and session.scalar(select(AuditEntry.hash).where(AuditEntry.idx == cached - 1))
            != self._tree_tail
        ):
            self._tree, self._tree_tail = MerkleStream(), GENESIS_PREV
        rows = session.execute(
            select(AuditEntry.line, AuditEntry.hash)
            .where(AuditEntry.idx >= self._tree.size, AuditEntry.idx < size)
            .order_by(AuditEntry.idx)
        )
        for row in rows:
            self._tree.add(row.line.encode("utf-8"))
            self._tree_tail = row.hash
        if self._tree.size != size or self._tree_tail != last_hash:
            raise RuntimeError(f"the log has a gap below entry {size}")  # never: idx is a key
        return self._tree.root().hex()

    def _checkpoint(self, session: Session, rows: list[dict[str, Any]], last: Appended) -> Appended:
        """Queue the signed head of everything up to and including ``last`` (stored)."""
        size = last.index + 1
        now = utc_timestamp(self._clock())
        data = signed_head(size, self.head(session, size, last.hash), now, self.key.sign)
        return self._entry(rows, size, last.hash, CHECKPOINT, data, now)

    def _genesis(self) -> dict[str, Any]:
        return {"server_key": self.key.public_b64, "software": SOFTWARE}

    def _entry(
        self,
        rows: list[dict[str, Any]],
        index: int,
        prev: str,
        type_: str,
        data: dict[str, Any],
        time: str | None = None,
    ) -> Appended:
        """Sign and chain one entry; queue its row in ``rows`` for ``_insert``."""
        type_ = str(type_)  # an EntryType as the plain text the database driver stores
        entry = unsigned_entry(index, prev, time or utc_timestamp(self._clock()), type_, data)
        line, sig = signed_line(entry, self.key.sign)
        digest = entry_hash(line)
        rows.append({"idx": index, "type": type_, "line": line.decode("utf-8"), "hash": digest})
        return Appended(index=index, hash=digest, sig=sig)

    @staticmethod
    def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
        """Insert the queued rows in one statement and empty the queue."""
        if rows:
            session.execute(insert(AuditEntry), rows)
            rows.clear()


def iter_lines(session: Session, batch: int = 10_000) -> Iterator[bytes]:
    """Every line of the log in order, as exported to ``log.jsonl``."""
    after = -1
    while True:
        rows = session.execute(
            select(AuditEntry.idx, AuditEntry.line)
            .where(AuditEntry.idx > after)
            .order_by(AuditEntry.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row.line.encode("utf-8")
        after = rows[-1].idx
