"""The per-line work of the verifier, on worker processes (``verify_log(jobs=N)``).

Most of verifying is signature checks that need nothing from earlier
entries: the server's Ed25519 signature on every line and the kiosk's P-256
signature on every ballot. ``check_chunk`` does, for a run of consecutive
lines, everything that needs only those lines — ``check_line`` (parse,
canonical form, index, server signature), the links between them, their
Merkle leaf hashes, and each press's kiosk signature against the key its
device was first enrolled with (``enrolled_keys``, a hint: the replay uses
the result only if the log enrolled that very key when the press comes).
``checked_chunks`` runs it over the log on a pool of processes, a bounded
number of chunks ahead, and yields the results in log order; the ordered
checks (links between chunks, the replay, checkpoints) stay with the caller
(``audit.verify``).

A chunk stops at its first failing line and carries that failure, so the
caller can raise it after replaying the entries before it. Pure apart from
the processes: no files, no clock.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from audit.entry import entry_hash
from audit.lines import (
    PRESS_TYPES,
    VerificationError,
    check_line,
    check_link,
)
from audit.merkle import leaf_hash
from crypto import KioskPublicKey, b64decode
from crypto.statements import press_bytes

_UNCHECKED, _VERIFIED, _FORGED = 0, 1, 2
MAX_CHUNK = 2000  # lines per task: big enough to amortize the hand-over, small enough to spread
TASKS_PER_WORKER = 4  # chunks in flight per worker: workers never wait, memory stays bounded


@dataclass
class CheckedChunk:
    """What a worker found in the lines ``start`` … ``start + passed`` (and the next)."""

    start: int
    passed: int  # lines that passed, from ``start`` (parsing them again here is cheaper
    # than sending the parsed entries back)
    leaves: bytes  # their Merkle leaf hashes, 32 bytes each
    last_hash: str  # entry_hash of the last line that passed ('' if none did)
    kiosk: bytes = b""  # per line that passed: _UNCHECKED, _VERIFIED or _FORGED
    failure: tuple[int, str] | None = None  # the first failing line: VerificationError's fields
    crash: BaseException | None = None  # or what the sequential verifier would have raised there

    def kiosk_check(self, offset: int) -> bool | None:
        """Did the kiosk signature of line ``start + offset`` verify (None: not checked)?"""
        mark = self.kiosk[offset]
        return None if mark == _UNCHECKED else mark == _VERIFIED

    def raise_failure(self) -> None:
        """Raise what stopped the chunk, if anything."""
        if self.failure is not None:
            raise VerificationError(*self.failure)
        if self.crash is not None:
            raise self.crash


def check_chunk(
    start: int,
    lines: Sequence[bytes],
    server_key: bytes,
    kiosk_keys: Mapping[str, str],
    parsed_keys: dict[str, KioskPublicKey | None] | None = None,
) -> CheckedChunk:
    """Check ``lines`` (entries ``start`` …) on their own; stop at the first that fails.

    The link of the first line to the line before is left to the caller.
    ``parsed_keys`` caches parsed device keys between calls.
    """
    cache = {} if parsed_keys is None else parsed_keys
    checked = CheckedChunk(start, 0, b"", "")
    leaves, kiosk = bytearray(), bytearray()
    prev: str | None = None
    for offset, line in enumerate(lines):
        index = start + offset
        try:
            entry = check_line(index, line, server_key)
            if prev is not None:
                check_link(index, entry, prev)
        except VerificationError as exc:
            checked.failure = (exc.index, exc.reason)
            break
        except Exception as exc:  # re-raised by the caller at this entry
            checked.crash = exc
            break
        checked.passed += 1
        leaves += leaf_hash(line)
        prev = entry_hash(line)
        ahead = None
        if entry["type"] in PRESS_TYPES:
            ahead = _kiosk_check(entry["type"], entry["data"], kiosk_keys, cache)
        kiosk.append(_UNCHECKED if ahead is None else _VERIFIED if ahead else _FORGED)
    checked.leaves, checked.kiosk = bytes(leaves), bytes(kiosk)
    checked.last_hash = prev or ""
    return checked


def _kiosk_check(
    type_: str,
    data: dict[str, Any],
    kiosk_keys: Mapping[str, str],
    cache: dict[str, KioskPublicKey | None],
) -> bool | None:
    """Does the press's kiosk signature verify with its device's key in ``kiosk_keys``?
    None if anything about it is odd: the replay then checks it and reports what is wrong."""
    try:
        spki = kiosk_keys.get(str(data["device"]))
        if spki is None:
            return None
        if spki not in cache:
            try:
                cache[spki] = KioskPublicKey.from_spki_b64(spki)
            except ValueError:
                cache[spki] = None
        key = cache[spki]
        if key is None:
            return None
        signature = b64decode(data["kiosk_sig"], "kiosk_sig")
        # The line passed check_line, so it holds no float.
        return key.verify(signature, press_bytes(type_, data, float_free=True))
    except Exception:  # only a shortcut: the replay finds and names the defect
        return None


# --- the worker processes ---------------------------------------------------------------

_worker: tuple[bytes, dict[str, str], dict[str, KioskPublicKey | None]] | None = None


def _start_worker(server_key: bytes, kiosk_keys: dict[str, str]) -> None:
    global _worker
    _worker = (server_key, kiosk_keys, {})


def _check_in_worker(start: int, lines: list[bytes]) -> CheckedChunk:
    assert _worker is not None, "the pool's initializer sets it"
    server_key, kiosk_keys, parsed = _worker
    return check_chunk(start, lines, server_key, kiosk_keys, parsed)


def _context() -> Any:
    """Fork where it is safe — Linux, and no other thread in this process that could
    hold a lock across the fork — else spawn. Either way the workers are this
    process's children, so their CPU time counts in its RUSAGE_CHILDREN."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def chunk_size(lines: int, jobs: int) -> int:
    """Enough chunks to keep every worker busy, each at most ``MAX_CHUNK`` lines."""
    return max(1, min(MAX_CHUNK, -(-lines // (jobs * TASKS_PER_WORKER))))


@contextmanager
def checked_chunks(
    lines: Sequence[bytes],
    server_key: bytes,
    kiosk_keys: Mapping[str, str],
    *,
    jobs: int,
    chunk: int | None = None,
) -> Iterator[Iterator[CheckedChunk]]:
    """The ``check_chunk`` results of consecutive chunks of ``lines``, in order, computed
    by ``jobs`` processes; leaving the block stops the workers (also on a failure).
    ``kiosk_keys``: device → key to check kiosk signatures with (``enrolled_keys``)."""
    size = chunk if chunk is not None else chunk_size(len(lines), jobs)
    if size < 1:
        raise ValueError("chunk must be at least 1 line")
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(server_key, dict(kiosk_keys)),
    )
    pending: deque[Future[CheckedChunk]] = deque()
    starts = iter(range(0, len(lines), size))

    def submit() -> None:
        start = next(starts, None)
        if start is not None:
            pending.append(pool.submit(_check_in_worker, start, list(lines[start : start + size])))

    def results() -> Iterator[CheckedChunk]:
        for _ in range(jobs * TASKS_PER_WORKER):
            submit()
        while pending:
            checked = pending.popleft().result()
            submit()
            yield checked

    try:
        yield results()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
