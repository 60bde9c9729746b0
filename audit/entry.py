"""A log entry: its canonical bytes, its hash, and how the chain links.

``canonical_bytes`` is the one serialization used by the writer (the server)
and the verifier (``voting-audit verify``); docs/audit-log.md describes it.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

GENESIS_PREV = "0" * 64  # ``prev`` of entry 0
ENTRY_KEYS = frozenset({"i", "prev", "t", "type", "data", "sig"})


def canonical_bytes(obj: Any) -> bytes:
    """Keys sorted, no spaces, UTF-8 without escapes. Floats are refused.

    The same bytes come out of JSON.stringify over key-sorted objects, which
    is how the kiosk page signs its statements.
    """
    _refuse_floats(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _refuse_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise TypeError("floats have no canonical form here; use integers or strings")
    if isinstance(obj, dict):
        for value in obj.values():
            _refuse_floats(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _refuse_floats(value)


def entry_hash(line: bytes) -> str:
    """SHA-256 of an entry's line (its canonical bytes with ``sig``), lowercase hex."""
    return hashlib.sha256(line).hexdigest()


def signed_part(entry: dict[str, Any]) -> bytes:
    """What the server signs: the canonical bytes of the entry without ``sig``."""
    return canonical_bytes({k: v for k, v in entry.items() if k != "sig"})


def unsigned_entry(index: int, prev: str, time: str, type_: str, data: dict[str, Any]) -> dict:
    """The entry before signing. ``time`` is given by the caller (the shell owns the clock)."""
    return {"i": index, "prev": prev, "t": time, "type": type_, "data": data}


def sign_entry(entry: dict[str, Any], sign: Callable[[bytes], bytes]) -> dict[str, Any]:
    """The entry with ``sig`` added; its line is ``canonical_bytes`` of the result."""
    return {**entry, "sig": base64.b64encode(sign(signed_part(entry))).decode("ascii")}
