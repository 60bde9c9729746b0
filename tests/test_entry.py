"""The writer's one-serialization line (``signed_line``) against the reference
``canonical_bytes(sign_entry(...))``, and the verifier's cut back to the signed part."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from audit.entry import (
    canonical_bytes,
    sign_entry,
    signed_line,
    signed_part,
    signed_part_of_line,
    unsigned_entry,
)
from crypto import ServerKey
from crypto.keys import verify_server

KEY = ServerKey.generate()

ENTRIES = [
    unsigned_entry(0, "0" * 64, "2026-12-03T21:00:00.000000Z", "log_started", {}),
    unsigned_entry(
        7,
        "ab" * 32,
        "2026-12-03T21:00:01.123456Z",
        "ballot",
        {"vote": 3, "seat": 12, "ballot": {"政府工作报告": "yes"}, "press": 1},
    ),
    unsigned_entry(8, "cd" * 32, "t", 'we"ird\\type', {"list": [1, "二", {"z": None, "a": True}]}),
    unsigned_entry(9, "ef" * 32, "", "", {"sig": "a key named like the entry's own", "t": "x"}),
]


@pytest.mark.parametrize("entry", ENTRIES)
def test_signed_line_is_the_canonical_line_of_the_signed_entry(entry: dict[str, Any]) -> None:
    line, sig = signed_line(entry, KEY.sign)
    reference = sign_entry(entry, KEY.sign)  # Ed25519 is deterministic: the same sig
    assert (line, sig) == (canonical_bytes(reference), reference["sig"])
    assert signed_part_of_line(line, reference) == signed_part(entry)
    assert verify_server(KEY.public_bytes, base64.b64decode(sig), signed_part(entry))


def test_an_entry_not_shaped_by_unsigned_entry_takes_the_long_way() -> None:
    # "sz" sorts after "sig" and before "t": cut in before "t", sig would be out of order.
    odd = {**ENTRIES[1], "sz": 1}
    line, sig = signed_line(odd, KEY.sign)
    assert line == canonical_bytes({**odd, "sig": sig})
    assert line.index(b'"sig":') < line.index(b'"sz":')


def test_floats_are_refused_before_signing() -> None:
    with pytest.raises(TypeError, match="floats"):
        signed_line({**ENTRIES[1], "data": {"share": 0.5}}, KEY.sign)
