"""The writer of the audit log (docs/audit-log.md).

``AuditLog.append`` adds one signed, chained entry inside the caller's
transaction, so a state change and its entry commit together or not at all.
The entry's bytes come from ``audit.entry`` — the same functions the
verifier uses — and checkpoints (signed heads) follow the rule of
``audit.checkpoint``.

Every body has its own log (docs/bodies.md): its own chain from index 0, its own
Merkle tree, checkpoints and signed heads, so that an auditor of one body verifies
its votes from its export alone. Every call names the body whose log it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from audit.checkpoint import CHECKPOINT, checkpoint_due, signed_head
from audit.entry import GENESIS_PREV, entry_hash, signed_line, unsigned_entry
from audit.entry_types import EntryType
from audit.merkle import MerkleStream
from crypto import ServerKey
from voting_server.db import insert_rows
from voting_server.models import AuditEntry, Body

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
        # Per body, the Merkle tree of its log so far, kept between checkpoints so
        # that a head costs the entries since the last one, not the whole log. Its
        # last line's hash tells whether the database still agrees (another
        # process wrote, or a transaction that wrote was rolled back).
        self._trees: dict[int, tuple[MerkleStream, str]] = {}

    def lock(self, session: Session, body_id: int) -> None:
        """On PostgreSQL, hold ``body_id``'s log for this transaction: one writer of it
        at a time across processes (docs/deployment.md, one total order per log), so
        that what the caller reads of the log before appending is still true when it
        appends. Re-entrant. Another body's log is not held: two bodies' sittings
        write side by side. A transaction writing several logs takes them in the
        order of their ids (``lock_all``), so that two such never wait on each other."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(:k, :b)"), {"k": _PG_LOG_LOCK, "b": body_id}
            )

    def lock_all(self, session: Session, body_ids: Iterable[int]) -> None:
        for body_id in sorted(set(body_ids)):
            self.lock(session, body_id)

    def append(
        self,
        session: Session,
        body_id: int,
        type_: str,
        data: dict[str, Any],
        *,
        head_after: bool = False,
    ) -> Appended:
        """Add an entry to ``body_id``'s log in ``session``'s transaction. An empty log is
        started first. ``head_after``: a signed head (checkpoint) follows the entry even
        where the rule does not call for one — the verifier takes a checkpoint anywhere.

        Precondition: the caller holds the write transaction (``write_transaction``).
        """
        return self.append_many(session, body_id, [(type_, data)], head_after=head_after)[0]

    def append_many(
        self,
        session: Session,
        body_id: int,
        entries: list[tuple[str, dict[str, Any]]],
        *,
        head_after: bool = False,
    ) -> list[Appended]:
        """Add ``entries`` (type, data) in order, in ``session``'s transaction, with the
        checkpoints they make due; returns where each of them went (not the checkpoints).

        One read of the log's tail and one multi-row insert for all of them: a batch of
        ballots costs the hashing and signing of its entries, not a query per entry.
        Precondition: the caller holds the write transaction (``write_transaction``).
        """
        if not entries:
            return []
        self.lock(session, body_id)  # the tail read below stays the tail
        last = session.execute(
            select(AuditEntry.idx, AuditEntry.hash)
            .where(AuditEntry.body_id == body_id)
            .order_by(AuditEntry.idx.desc())
            .limit(1)
        ).first()
        rows: list[dict[str, Any]] = []
        if last is None:
            genesis = self._genesis(session, body_id)
            tail = self._entry(rows, body_id, 0, GENESIS_PREV, EntryType.LOG_STARTED, genesis)
        else:
            tail = Appended(index=last.idx, hash=last.hash, sig="")
        appended = []
        now = utc_timestamp(self._clock())  # entries committed together share their time
        for type_, data in entries:
            tail = self._entry(rows, body_id, tail.index + 1, tail.hash, type_, data, now)
            appended.append(tail)
            entry_type = type_
            while checkpoint_due(tail.index, entry_type):
                self._insert(session, rows)  # the head is computed over stored lines
                tail, entry_type = self._checkpoint(session, body_id, rows, tail), CHECKPOINT
        if head_after and entry_type != CHECKPOINT:
            # e.g. after an announcement (宣布): the public page's proofs need a signed head
            # that covers it, without waiting for the next result (docs/public.md)
            self._insert(session, rows)
            tail, entry_type = self._checkpoint(session, body_id, rows, tail), CHECKPOINT
            while checkpoint_due(tail.index, entry_type):
                self._insert(session, rows)
                tail = self._checkpoint(session, body_id, rows, tail)
        self._insert(session, rows)
        return appended  # the callers' entries (a receipt names one), not checkpoints after them

    def start(self, session: Session, body_id: int) -> bool:
        """Write ``log_started`` if ``body_id``'s log is empty (idempotent); True if it did."""
        self.lock(session, body_id)
        if (
            session.scalar(select(AuditEntry.idx).where(AuditEntry.body_id == body_id).limit(1))
            is not None
        ):
            return False
        rows: list[dict[str, Any]] = []
        genesis = self._genesis(session, body_id)
        self._entry(rows, body_id, 0, GENESIS_PREV, EntryType.LOG_STARTED, genesis)
        self._insert(session, rows)
        return True

    def head(self, session: Session, body_id: int, size: int, last_hash: str) -> str:
        """The RFC 6962 root (hex) of the first ``size`` entries of ``body_id``'s log;
        entry ``size - 1`` has hash ``last_hash``. Reads only the entries the cached
        tree lacks."""
        of_body = AuditEntry.body_id == body_id
        tree, tail = self._trees.get(body_id, (MerkleStream(), GENESIS_PREV))
        cached = tree.size
        if cached > size or (
            cached
            and session.scalar(select(AuditEntry.hash).where(of_body, AuditEntry.idx == cached - 1))
            != tail
        ):
            tree, tail = MerkleStream(), GENESIS_PREV
        rows = session.execute(
            select(AuditEntry.line, AuditEntry.hash)
            .where(of_body, AuditEntry.idx >= tree.size, AuditEntry.idx < size)
            .order_by(AuditEntry.idx)
        )
        for row in rows:
            tree.add(row.line.encode("utf-8"))
            tail = row.hash
        self._trees[body_id] = (tree, tail)
        if tree.size != size or tail != last_hash:
            raise RuntimeError(f"the log has a gap below entry {size}")  # never: idx is a key
        return tree.root().hex()

    def _checkpoint(
        self, session: Session, body_id: int, rows: list[dict[str, Any]], last: Appended
    ) -> Appended:
        """Queue the signed head of everything up to and including ``last`` (stored)."""
        size = last.index + 1
        now = utc_timestamp(self._clock())
        data = signed_head(size, self.head(session, body_id, size, last.hash), now, self.key.sign)
        return self._entry(rows, body_id, size, last.hash, CHECKPOINT, data, now)

    def _genesis(self, session: Session, body_id: int) -> dict[str, Any]:
        """``log_started``: the server key, and whose log this is (the body's id, name,
        kind and level), so that a bundle says which body it is the record of."""
        body = session.get(Body, body_id)
        if body is None:
            raise ValueError(f"no body {body_id}: a log belongs to a body")
        named = {"id": body.id, "name": body.name, "kind": str(body.kind), "level": str(body.level)}
        return {"server_key": self.key.public_b64, "software": SOFTWARE, "body": named}

    def _entry(
        self,
        rows: list[dict[str, Any]],
        body_id: int,
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
        rows.append({"body_id": body_id, "idx": index, "type": type_,
                     "line": line.decode("utf-8"), "hash": digest})  # fmt: skip
        return Appended(index=index, hash=digest, sig=sig)

    @staticmethod
    def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
        """Insert the queued rows in one statement and empty the queue."""
        if rows:
            insert_rows(session, AuditEntry.__table__, rows)
            rows.clear()


def iter_lines(session: Session, body_id: int, batch: int = 10_000) -> Iterator[bytes]:
    """Every line of ``body_id``'s log in order, as exported to ``log.jsonl``."""
    after = -1
    while True:
        rows = session.execute(
            select(AuditEntry.idx, AuditEntry.line)
            .where(AuditEntry.body_id == body_id, AuditEntry.idx > after)
            .order_by(AuditEntry.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row.line.encode("utf-8")
        after = rows[-1].idx
