"""A log entry: its canonical bytes, its hash, and how the chain links.

``canonical_bytes`` (``crypto.canonical``, re-exported here) is the one
serialization used by the writer (the server) and the verifier
(``voting-audit verify``); docs/audit-log.md describes it. What the server
signs for an entry is ``crypto.statements.entry_bytes``; the two shortcuts
below cut the same bytes out of a line instead of serializing twice.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from crypto.canonical import canonical_bytes, canonical_bytes_without_floats
from crypto.statements import entry_bytes

GENESIS_PREV = "0" * 64  # ``prev`` of entry 0
ENTRY_KEYS = frozenset({"i", "prev", "t", "type", "data", "sig"})


def entry_hash(line: bytes) -> str:
    """SHA-256 of an entry's line (its canonical bytes with ``sig``), lowercase hex."""
    return hashlib.sha256(line).hexdigest()


def signed_part(entry: dict[str, Any]) -> bytes:
    """What the server signs: the canonical bytes of the entry without ``sig``."""
    return entry_bytes(entry)


def signed_part_of_line(line: bytes, entry: dict[str, Any]) -> bytes:
    """``signed_part(entry)``, cut out of ``line`` instead of serializing the entry again.

    Precondition: ``line`` is ``canonical_bytes(entry)`` and ``entry`` has
    exactly ``ENTRY_KEYS``. Sorted, those end in ``sig``, ``t``, ``type``, so
    the line ends ``,"sig":S,"t":T,"type":Y}`` and the signed part is the line
    without ``,"sig":S``.
    """
    rest = b"," + _line_end(entry)
    cut = b',"sig":' + canonical_bytes_without_floats(entry["sig"]) + rest
    if not line.endswith(cut):  # the precondition does not hold: take the long way
        return signed_part(entry)
    return line[: -len(cut)] + rest


def _line_end(entry: dict[str, Any]) -> bytes:
    """How an entry's canonical bytes end: ``"t":T,"type":Y}`` (its last keys, sorted)."""
    return (
        b'"t":'
        + canonical_bytes_without_floats(entry["t"])
        + b',"type":'
        + (canonical_bytes_without_floats(entry["type"]) + b"}")
    )


def unsigned_entry(index: int, prev: str, time: str, type_: str, data: dict[str, Any]) -> dict:
    """The entry before signing. ``time`` is given by the caller (the shell owns the clock)."""
    return {"i": index, "prev": prev, "t": time, "type": type_, "data": data}


def sign_entry(entry: dict[str, Any], sign: Callable[[bytes], bytes]) -> dict[str, Any]:
    """The entry with ``sig`` added; its line is ``canonical_bytes`` of the result."""
    return {**entry, "sig": base64.b64encode(sign(signed_part(entry))).decode("ascii")}


def signed_line(entry: dict[str, Any], sign: Callable[[bytes], bytes]) -> tuple[bytes, str]:
    """``canonical_bytes(sign_entry(entry, sign))`` and the ``sig`` it holds, with the entry
    serialized once instead of twice (the writer does this for every ballot).

    Precondition: ``entry`` is as ``unsigned_entry`` makes it (no ``sig``). Sorted, its
    keys end in ``t``, ``type``, and ``sig`` goes just before ``t``: the line is the
    signed part with ``"sig":S,`` put in at that place. Otherwise the long way.
    """
    part = signed_part(entry)
    sig = base64.b64encode(sign(part)).decode("ascii")
    rest = _line_end(entry)
    if entry.keys() != ENTRY_KEYS - {"sig"} or not part.endswith(b"," + rest):
        return canonical_bytes({**entry, "sig": sig}), sig
    return part[: -len(rest)] + b'"sig":' + canonical_bytes_without_floats(sig) + b"," + rest, sig
