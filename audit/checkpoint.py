"""Checkpoints: signed Merkle tree heads written into the log itself (RFC 9162 §4.10 style).

After every ``result`` entry, and whenever the log reaches a multiple of
``CHECKPOINT_EVERY`` entries, the server appends a ``checkpoint`` entry
whose data is a *signed head* of everything before it::

    {"size": n, "root": hex, "time": t, "sig": base64 Ed25519}

``sig`` is the server's signature over ``crypto.statements.head_bytes(n,
root, t)``. A signed head stands on its own — a result sheet prints one in
its QR code — and anyone holding the bundle checks it with the server's
public key and the first n lines of ``log.jsonl``. The writer
(``voting_server.services.audit_log``) and the verifier (``audit.verify``)
both take the rule from ``checkpoint_due`` and the bytes from
``crypto.statements``. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from audit.entry_types import EntryType
from crypto import verify_server
from crypto.statements import head_bytes

CHECKPOINT = EntryType.CHECKPOINT
CHECKPOINT_EVERY = 1000
# every result is followed by a head
CHECKPOINT_AFTER = frozenset({EntryType.RESULT, EntryType.MANUAL_RESULT})
HEAD_KEYS = frozenset({"size", "root", "time", "sig"})


def checkpoint_due(index: int, type_: str) -> bool:
    """Must a checkpoint follow the entry just written at ``index`` of type ``type_``?"""
    return type_ in CHECKPOINT_AFTER or (index + 1) % CHECKPOINT_EVERY == 0


def signed_head(size: int, root: str, time: str, sign: Callable[[bytes], bytes]) -> dict[str, Any]:
    """A head with the server's signature: the data of a ``checkpoint`` entry."""
    signature = sign(head_bytes(size, root, time))
    return {"size": size, "root": root, "time": time, "sig": base64.b64encode(signature).decode()}


def head_error(head: Any, server_key: bytes) -> str | None:
    """Why ``head`` is not a well-formed head signed by ``server_key`` (raw Ed25519), or None."""
    if not isinstance(head, dict) or set(head) != HEAD_KEYS:
        return f"a signed head has exactly the keys {sorted(HEAD_KEYS)}"
    size, root, time, sig = head["size"], head["root"], head["time"], head["sig"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "size must be a non-negative integer"
    if not isinstance(root, str) or len(root) != 64 or root != root.lower():
        return "root must be 64 lowercase hex digits"
    if not isinstance(time, str) or not isinstance(sig, str):
        return "time and sig must be strings"
    try:
        signature = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return "sig is not base64"
    if not verify_server(server_key, signature, head_bytes(size, root, time)):
        return "the server's signature on the head does not verify"
    return None
