"""Test vectors for every signed statement: inputs → canonical bytes → signature.

``tests/vectors/statements.json`` is built here and checked by
``tests/test_statement_vectors.py`` (Python, against ``crypto.statements``) and
``tests/js/statements.test.mjs`` (Node, against the kiosk page's
``statements.mjs``). Another implementation of a kiosk or a verifier can use
the file the same way: build the bytes from ``inputs``, compare them with
``canonical_hex``, and check ``signature`` with the file's public key —
``valid`` says whether it must verify.

The keys are derived from fixed labels, so regenerating gives the same keys.
They are TEST ONLY: published here, they protect nothing. Ed25519 signatures
are deterministic; ECDSA ones are not, so a kiosk signature already in the
file is kept while it still verifies over the same bytes, and the file changes
only when a statement does.

Regenerate (only when a statement changes on purpose, which breaks every
existing log)::

    .venv/bin/python -m tests.statement_vectors --write
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto import KioskKey, KioskPublicKey, ServerKey, verify_server
from crypto import statements as st

VECTORS = Path(__file__).resolve().parent / "vectors" / "statements.json"

# Bytes of each statement kind, from a vector's inputs.
BUILD: dict[str, Callable[[dict[str, Any]], bytes]] = {
    st.BALLOT: lambda i: st.ballot_bytes(i["vote"], i["seat"], i["nonce"], i["ballot"]),
    st.PARTICIPATION: lambda i: st.participation_bytes(i["vote"], i["seat"], i["nonce"]),
    st.ENCRYPTED_BALLOT: lambda i: st.encrypted_ballot_bytes(
        i["vote"], i["seat"], i["nonce"], i["ballot"]
    ),
    st.KIOSK_AUTH: lambda i: st.auth_bytes(i["device"], i["challenge"]),
    "entry": lambda i: st.entry_bytes(i["entry"]),
    st.CHECKPOINT: lambda i: st.head_bytes(i["size"], i["root"], i["time"]),
}
KEY_OF = {st.BALLOT: "kiosk", st.PARTICIPATION: "kiosk", st.KIOSK_AUTH: "kiosk",
          st.ENCRYPTED_BALLOT: "kiosk",
          "entry": "server", st.CHECKPOINT: "server"}  # fmt: skip

TEST_ONLY = "TEST ONLY: published in this repository, protects nothing; never use it for a hall"
NONCE = "q0XbNn1iT4uGk2Zf8wYc7A"  # 22 URL-safe characters, as the Python kiosk makes them
CHALLENGE = "yZkq3m8T0p9JvW2nA4sB6dE1fG5hJ7kL9mN0pQ2rS4t"  # 32 bytes, base64url


def _hex(label: str) -> str:
    """64 hex digits standing for an element or a scalar: the statement signs them as text."""
    return hashlib.sha256(label.encode()).hexdigest()


# A one-contest motion ballot in the wire form of docs/trustee-crypto.md (the values stand
# for elements and scalars: what is signed is their text).
ENCRYPTED = {
    "contests": [
        {
            "selections": [
                {
                    "alpha": _hex(f"alpha{o}"),
                    "beta": _hex(f"beta{o}"),
                    "proof": {
                        "c": [_hex(f"c{o}0"), _hex(f"c{o}1")],
                        "v": [_hex(f"v{o}0"), _hex(f"v{o}1")],
                    },
                }
                for o in range(2)
            ],
            "proof": {"c": [_hex("lc0"), _hex("lc1")], "v": [_hex("lv0"), _hex("lv1")]},
        }
    ]
}

# (name, statement kind, inputs): the statements that verify.
GOOD: list[tuple[str, str, dict[str, Any]]] = [
    ("ballot-motion", st.BALLOT, {"vote": 7, "seat": 12, "nonce": NONCE, "ballot": {"1": "yes"}}),
    # "10" sorts before "2": keys are ordered as strings, not numbers
    ("ballot-evaluation", st.BALLOT, {"vote": 8, "seat": 3, "nonce": NONCE,
     "ballot": {"1": "satisfied", "2": "basic", "10": "unsatisfied"}}),
    # a list keeps its order (the kiosk lists candidates in the order shown)
    # 现场打分: scores are JSON integers, signed as they are (100, not "100")
    ("ballot-scores", st.BALLOT, {"vote": 11, "seat": 5, "nonce": NONCE,
     "ballot": {"1": 100, "2": 0, "10": 85}}),
    ("ballot-selection", st.BALLOT, {"vote": 9, "seat": 140, "nonce": NONCE,
     "ballot": ["3", "1"]}),
    ("ballot-selection-empty", st.BALLOT, {"vote": 9, "seat": 141, "nonce": NONCE, "ballot": []}),
    ("participation", st.PARTICIPATION, {"vote": 7, "seat": 12, "nonce": NONCE}),
    # a trustee-mode ballot: the encrypted marks and their proofs (docs/trustee-votes.md)
    ("encrypted-ballot", st.ENCRYPTED_BALLOT, {"vote": 12, "seat": 4, "nonce": NONCE,
     "ballot": ENCRYPTED}),
    ("kiosk-auth", st.KIOSK_AUTH, {"device": "d-7f3a9c2e", "challenge": CHALLENGE}),
    # 会签: a scrutineer's countersignature is an entry the server signs
    ("entry-countersigned", "entry", {"entry": {
        "i": 41, "prev": "5e" * 32, "t": "2026-11-22T10:15:00.000000Z", "type": "countersigned",
        "data": {"vote": 7, "subject": "result", "by": 7, "role": "scrutineer",
                 "name": "李𠀀华"}}}),
    # keys beyond the BMP sort by code point (U+FF61 before U+1F600), not by UTF-16 unit
    ("entry-keys-beyond-bmp", "entry", {"entry": {
        "i": 2, "prev": "0" * 64, "t": "2026-11-22T09:00:00.000000Z", "type": "member_added",
        "data": {"😀": 1, "｡": 2, "z": "引号\"与\\反斜杠\n", "a": [True, False, None, -3]}}}),
    ("checkpoint", st.CHECKPOINT, {"size": 1000, "root": "ab" * 32,
     "time": "2026-11-22T10:16:00.000000Z"}),
]  # fmt: skip


def _changed(inputs: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(inputs)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


# (name, the good vector it copies, how): each must fail with the good vector's signature.
TAMPERED: list[tuple[str, str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]]] = [
    ("ballot-motion/changed-mark", "ballot-motion",
     lambda i: (st.BALLOT, _changed(i, ("ballot", "1"), "no"))),
    ("ballot-motion/other-seat", "ballot-motion", lambda i: (st.BALLOT, _changed(i, ("seat",), 13))),
    ("ballot-motion/other-vote", "ballot-motion", lambda i: (st.BALLOT, _changed(i, ("vote",), 70))),
    ("ballot-motion/other-nonce", "ballot-motion",
     lambda i: (st.BALLOT, _changed(i, ("nonce",), NONCE[:-1] + "B"))),
    ("ballot-motion/as-participation", "ballot-motion",
     lambda i: (st.PARTICIPATION, {k: v for k, v in i.items() if k != "ballot"})),
    ("ballot-selection/reordered", "ballot-selection",
     lambda i: (st.BALLOT, _changed(i, ("ballot",), ["1", "3"]))),
    ("ballot-scores/score-changed", "ballot-scores",
     lambda i: (st.BALLOT, _changed(i, ("ballot", "10"), 86))),
    ("ballot-scores/score-as-text", "ballot-scores",
     lambda i: (st.BALLOT, _changed(i, ("ballot", "10"), "85"))),
    ("ballot-evaluation/mark-dropped", "ballot-evaluation",
     lambda i: (st.BALLOT, _changed(i, ("ballot",), {"1": "satisfied", "2": "basic"}))),
    ("encrypted-ballot/changed-alpha", "encrypted-ballot",
     lambda i: (st.ENCRYPTED_BALLOT, _changed(i, ("ballot", "contests", 0, "selections", 0,
                                                 "alpha"), _hex("other")))),
    ("encrypted-ballot/as-ballot", "encrypted-ballot",
     lambda i: (st.BALLOT, i)),
    ("encrypted-ballot/other-seat", "encrypted-ballot",
     lambda i: (st.ENCRYPTED_BALLOT, _changed(i, ("seat",), 5))),
    ("participation/other-seat", "participation",
     lambda i: (st.PARTICIPATION, _changed(i, ("seat",), 21))),
    ("kiosk-auth/other-challenge", "kiosk-auth",
     lambda i: (st.KIOSK_AUTH, _changed(i, ("challenge",), CHALLENGE[::-1]))),
    ("kiosk-auth/other-device", "kiosk-auth",
     lambda i: (st.KIOSK_AUTH, _changed(i, ("device",), "d-7f3a9c2f"))),
    ("entry-countersigned/other-signer", "entry-countersigned",
     lambda i: ("entry", _changed(i, ("entry", "data", "by"), 9))),
    ("entry-countersigned/other-index", "entry-countersigned",
     lambda i: ("entry", _changed(i, ("entry", "i"), 42))),
    ("checkpoint/other-root", "checkpoint",
     lambda i: (st.CHECKPOINT, _changed(i, ("root",), "ab" * 31 + "ac"))),
    ("checkpoint/other-size", "checkpoint", lambda i: (st.CHECKPOINT, _changed(i, ("size",), 1001))),
]  # fmt: skip


def _label_scalar(label: str) -> bytes:
    return hashlib.sha256(f"{label} ({TEST_ONLY})".encode()).digest()


def test_keys() -> tuple[KioskKey, ServerKey]:
    """The fixed TEST ONLY keys: a P-256 kiosk key and an Ed25519 server key."""
    scalar = int.from_bytes(_label_scalar("kiosk"), "big")  # below the P-256 order: 2^-32 odds
    kiosk = KioskKey(ec.derive_private_key(scalar, ec.SECP256R1()))
    server = ServerKey(Ed25519PrivateKey.from_private_bytes(_label_scalar("server")))
    return kiosk, server


test_keys.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def _pkcs8(key: KioskKey | ServerKey) -> str:
    der = key._private.private_bytes(  # the test keys are published on purpose
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(der).decode()


def verifies(key: str, public: dict[str, Any], signature: str, data: bytes) -> bool:
    """Does ``signature`` (base64) over ``data`` verify with the file's ``key`` public key?"""
    raw = base64.b64decode(signature)
    if key == "kiosk":
        return KioskPublicKey.from_spki_b64(public["public_spki"]).verify(raw, data)
    return verify_server(base64.b64decode(public["public_raw"]), raw, data)


def build(previous: dict[str, Any] | None) -> dict[str, Any]:
    """The vector file's content; kiosk signatures of ``previous`` kept while they verify."""
    kiosk, server = test_keys()
    keys = {
        "kiosk": {"TEST_ONLY": TEST_ONLY,
                  "algorithm": "ECDSA P-256 with SHA-256; signature raw r‖s (64 bytes), base64",
                  "private_pkcs8": _pkcs8(kiosk), "public_spki": kiosk.public.spki_b64},
        "server": {"TEST_ONLY": TEST_ONLY,
                   "algorithm": "Ed25519; signature 64 bytes, base64",
                   "private_pkcs8": _pkcs8(server),
                   "public_raw": base64.b64encode(server.public_bytes).decode()},
    }  # fmt: skip
    kept = {v["name"]: v["signature"] for v in (previous or {}).get("vectors", [])}
    signer = {"kiosk": kiosk, "server": server}
    vectors: list[dict[str, Any]] = []
    for name, kind, inputs in GOOD:
        data, key = BUILD[kind](inputs), KEY_OF[kind]
        signature = kept.get(name)
        if signature is None or not verifies(key, keys[key], signature, data):
            signature = base64.b64encode(signer[key].sign(data)).decode()
        vectors.append(_vector(name, kind, key, inputs, data, signature, valid=True))
    good = {v["name"]: v for v in vectors}
    for name, source, tamper in TAMPERED:
        kind, inputs = tamper(good[source]["inputs"])
        vector = _vector(name, kind, KEY_OF[kind], inputs, BUILD[kind](inputs),
                         good[source]["signature"], valid=False)  # fmt: skip
        vectors.append({**vector, "tampered_from": source})
    # A signature with one bit flipped, over the good bytes.
    for source in ("ballot-motion", "entry-countersigned"):
        raw = bytearray(base64.b64decode(good[source]["signature"]))
        raw[10] ^= 0x01
        vectors.append({**good[source], "name": f"{source}/flipped-bit", "valid": False,
                        "signature": base64.b64encode(bytes(raw)).decode(),
                        "tampered_from": source})  # fmt: skip
    return {
        "about": "Every signed statement: inputs → canonical bytes → signature. "
        "Built by tests/statement_vectors.py; see its docstring and docs/audit-log.md.",
        "keys": keys,
        "vectors": vectors,
    }


def _vector(name: str, kind: str, key: str, inputs: dict[str, Any], data: bytes,
            signature: str, *, valid: bool) -> dict[str, Any]:  # fmt: skip
    return {"name": name, "statement": kind, "key": key, "inputs": inputs,
            "canonical": data.decode("utf-8"), "canonical_hex": data.hex(),
            "signature": signature, "valid": valid}  # fmt: skip


def dump(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {VECTORS}")
    args = parser.parse_args()
    previous = json.loads(VECTORS.read_text("utf-8")) if VECTORS.exists() else None
    text = dump(build(previous))
    if args.write:
        VECTORS.write_text(text, "utf-8")
        print(f"wrote {VECTORS}")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
