"""The one canonical serialization: what every signature and every log line is over.

``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
in UTF-8: keys sorted by code point, no spaces, no escapes beyond JSON's
own. The server, the verifier and the kiosks (``crypto.statements`` and its
JavaScript twin ``kiosk_client/static/js/kiosk/statements.mjs``) all produce
these bytes; docs/audit-log.md describes them. Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

# What json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# builds on every call, built once (the verifier encodes millions of entries).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(obj: Any) -> bytes:
    """Keys sorted, no spaces, UTF-8 without escapes. Floats are refused.

    The same bytes come out of JSON.stringify over key-sorted objects, which
    is how the kiosk page signs its statements.
    """
    _refuse_floats(obj)
    return canonical_bytes_without_floats(obj)


def canonical_bytes_without_floats(obj: Any) -> bytes:
    """``canonical_bytes`` of an object the caller knows holds no float (e.g. JSON
    parsed with a ``parse_float`` that saw none): the same bytes, without the walk."""
    return _ENCODER.encode(obj).encode("utf-8")


def _refuse_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise TypeError("floats have no canonical form here; use integers or strings")
    if isinstance(obj, dict):
        for value in obj.values():
            _refuse_floats(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _refuse_floats(value)
