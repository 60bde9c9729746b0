"""Pass 1 of the verifier: each line of the log on its own.

A line's form, index and server signature (``check_line``), its link to the
line before (``check_link``) need nothing from earlier entries. The sequential
verifier (``audit.verify``) and its worker processes (``audit.parallel``) both
use them from here, so neither module imports the other's caller.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from audit.entry import (
    ENTRY_KEYS,
    GENESIS_PREV,
    canonical_bytes,
    canonical_bytes_without_floats,
    entry_hash,
    signed_part_of_line,
)
from audit.entry_types import EntryType
from crypto import CryptoError, b64decode, verify_server

# entries carrying a kiosk signature
PRESS_TYPES = frozenset({EntryType.BALLOT, EntryType.PARTICIPATION})


class VerificationError(Exception):
    """The first thing that failed, at entry ``index``."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"entry {index}: {reason}")
        self.index = index
        self.reason = reason


# --- pass 1: each line on its own -------------------------------------------------


class _FloatSeen(Exception):
    pass


def _float_seen(_text: str) -> float:
    raise _FloatSeen


# Parses like json.loads, but stops at the first float (or NaN, Infinity): a
# line without one needs no walk to refuse floats before re-serializing it.
_DECODER = json.JSONDecoder(parse_float=_float_seen, parse_constant=_float_seen)


def check_line(index: int, line: bytes, server_key: bytes) -> dict[str, Any]:
    """Parse one line and check its form, its index and its server signature.

    Precondition: ``line`` has no trailing newline. Returns the entry.
    """
    floats = False
    try:
        try:
            # What json.loads(line) does, with the decoder above (an entry starts with
            # '{"', which json.detect_encoding takes for UTF-8).
            encoding = "utf-8" if line[:2] == b'{"' else json.detect_encoding(line)
            entry = _DECODER.decode(line.decode(encoding, "surrogatepass"))
        except _FloatSeen:
            floats = True  # parse it as json.loads does; canonical_bytes refuses it below
            entry = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        # RecursionError: nested too deep for the parser; no entry is.
        raise VerificationError(index, "line is not valid JSON") from None
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        raise VerificationError(index, f"entry must have exactly the keys {sorted(ENTRY_KEYS)}")
    try:
        canonical = canonical_bytes(entry) if floats else canonical_bytes_without_floats(entry)
    except TypeError as exc:
        raise VerificationError(index, str(exc)) from None
    if canonical != line:
        raise VerificationError(index, "line is not in canonical form")
    if entry["i"] != index:
        raise VerificationError(index, f"index field is {entry['i']!r}, expected {index}")
    if not isinstance(entry["data"], dict) or not isinstance(entry["type"], str):
        raise VerificationError(index, "type must be a string and data an object")
    try:
        signature = b64decode(entry["sig"], "sig") if isinstance(entry["sig"], str) else b""
    except CryptoError:
        signature = b""
    if not verify_server(server_key, signature, signed_part_of_line(line, entry)):
        raise VerificationError(index, "server signature does not verify")
    return entry


def parse_checked_line(line: bytes) -> dict[str, Any]:
    """The entry of a line that passed ``check_line`` (canonical UTF-8, no floats)."""
    return _DECODER.decode(line.decode("utf-8"))


def check_link(index: int, entry: dict[str, Any], expected_prev: str) -> None:
    """The entry's ``prev`` is ``expected_prev``: the hash of the line before
    (``GENESIS_PREV`` for entry 0)."""
    if entry["prev"] != expected_prev:
        raise VerificationError(index, "prev does not match the hash of the previous entry")


def check_chain(lines: Sequence[bytes], entries: Sequence[dict[str, Any]]) -> None:
    """Each ``prev`` is the hash of the line before (genesis for entry 0)."""
    expected = GENESIS_PREV
    for index, (line, entry) in enumerate(zip(lines, entries, strict=True)):
        check_link(index, entry, expected)
        expected = entry_hash(line)
