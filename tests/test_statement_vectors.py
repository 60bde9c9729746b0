"""The committed statement vectors (tests/vectors/statements.json) against ``crypto.statements``.

Each vector's inputs must give exactly its canonical bytes; its signature must
verify with the file's TEST ONLY public key exactly when ``valid``. Ed25519 is
deterministic, so the server's signatures are made again and compared; a
kiosk's ECDSA signature is random, so a fresh one is made and verified. The
JavaScript twin is tests/js/statements.test.mjs (run by tests/test_js.py).
"""

from __future__ import annotations

import ast
import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from crypto import KioskKey, ServerKey
from crypto import statements as st
from tests.statement_vectors import BUILD, KEY_OF, VECTORS, build, dump, test_keys, verifies

FILE = json.loads(VECTORS.read_text("utf-8"))
KEYS = FILE["keys"]
BY_NAME = {v["name"]: v for v in FILE["vectors"]}


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in vectors]


@pytest.mark.parametrize("vector", FILE["vectors"], ids=_ids(FILE["vectors"]))
def test_inputs_give_the_canonical_bytes(vector: dict[str, Any]) -> None:
    data = BUILD[vector["statement"]](vector["inputs"])
    assert data.hex() == vector["canonical_hex"]
    assert data.decode("utf-8") == vector["canonical"]
    assert KEY_OF[vector["statement"]] == vector["key"]


@pytest.mark.parametrize("vector", FILE["vectors"], ids=_ids(FILE["vectors"]))
def test_signature_verifies_exactly_when_valid(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["canonical_hex"])
    assert (
        verifies(vector["key"], KEYS[vector["key"]], vector["signature"], data) is vector["valid"]
    )


def test_every_kind_has_a_good_vector_and_a_tampered_one() -> None:
    kinds = {
        st.BALLOT,
        st.PARTICIPATION,
        st.ENCRYPTED_BALLOT,
        st.KIOSK_AUTH,
        "entry",
        st.CHECKPOINT,
    }
    assert {v["statement"] for v in FILE["vectors"] if v["valid"]} == kinds
    tampered = [v for v in FILE["vectors"] if not v["valid"]]
    assert {BY_NAME[v["tampered_from"]]["statement"] for v in tampered} == kinds
    for vector in tampered:  # a tampered copy changes the bytes or the signature, never neither
        source = BY_NAME[vector["tampered_from"]]
        assert (vector["canonical_hex"], vector["signature"]) != (
            source["canonical_hex"],
            source["signature"],
        )


@pytest.mark.parametrize("kind", [st.BALLOT, st.PARTICIPATION, st.KIOSK_AUTH])
def test_kiosk_statements_are_the_documented_objects(kind: str) -> None:
    # docs/audit-log.md, spelled independently of crypto.canonical: json.dumps of the object
    for vector in (v for v in FILE["vectors"] if v["statement"] == kind):
        documented = {"type": kind, **vector["inputs"]}
        text = json.dumps(documented, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert text == vector["canonical"]


def test_server_signatures_are_made_again_identically() -> None:
    _, server = test_keys()
    for vector in (v for v in FILE["vectors"] if v["key"] == "server" and v["valid"]):
        data = bytes.fromhex(vector["canonical_hex"])
        assert base64.b64encode(server.sign(data)).decode() == vector["signature"]


def test_a_fresh_kiosk_signature_verifies() -> None:
    kiosk, _ = test_keys()
    for vector in (v for v in FILE["vectors"] if v["key"] == "kiosk" and v["valid"]):
        statement = json.loads(vector["canonical"])
        signature = st.sign_statement(kiosk, statement)
        assert signature != vector["signature"]  # ECDSA: a new random k each time
        assert verifies("kiosk", KEYS["kiosk"], signature, bytes.fromhex(vector["canonical_hex"]))


def test_the_file_holds_the_test_keys_it_names() -> None:
    kiosk = serialization.load_der_private_key(
        base64.b64decode(KEYS["kiosk"]["private_pkcs8"]), password=None
    )
    server = serialization.load_der_private_key(
        base64.b64decode(KEYS["server"]["private_pkcs8"]), password=None
    )
    assert KioskKey(kiosk).public.spki_b64 == KEYS["kiosk"]["public_spki"]  # type: ignore[arg-type]
    raw = ServerKey(server).public_bytes  # type: ignore[arg-type]
    assert base64.b64encode(raw).decode() == KEYS["server"]["public_raw"]
    assert all("TEST ONLY" in KEYS[k]["TEST_ONLY"] for k in ("kiosk", "server"))


def test_the_committed_file_is_what_the_generator_makes() -> None:
    # Changed statements must change the file on purpose: python -m tests.statement_vectors --write
    assert dump(build(FILE)) == VECTORS.read_text("utf-8")


def test_a_ballot_payload_of_the_python_kiosk_carries_both_signatures() -> None:
    from kiosk_client.client import ballot_payload

    kiosk, _ = test_keys()
    inputs = BY_NAME["ballot-motion"]["inputs"]
    payload = ballot_payload(
        kiosk, inputs["vote"], inputs["seat"], inputs["nonce"], inputs["ballot"]
    )
    ballot = bytes.fromhex(BY_NAME["ballot-motion"]["canonical_hex"])
    participation = bytes.fromhex(BY_NAME["participation"]["canonical_hex"])
    assert verifies("kiosk", KEYS["kiosk"], payload["signature"], ballot)
    assert verifies("kiosk", KEYS["kiosk"], payload["participation_signature"], participation)


# --- spelled once ------------------------------------------------------------------------------

REPO = VECTORS.parents[2]
SIGNED_TYPES = {st.BALLOT, st.PARTICIPATION, st.KIOSK_AUTH, st.CHECKPOINT}


def _statement_literals(path: Any) -> list[int]:
    """Lines of dict literals ``{"type": <a signed statement's type>, ...}`` in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value == "type"
                        and isinstance(value, ast.Constant) and value.value in SIGNED_TYPES):  # fmt: skip
                    found.append(node.lineno)
    return found


def test_no_module_but_crypto_statements_spells_a_signed_statement() -> None:
    shipped = [p for d in ("audit", "crypto", "kiosk_client", "voting_server", "bench", "rules")
               for p in sorted((REPO / d).rglob("*.py"))]  # fmt: skip
    spelled = {
        str(p.relative_to(REPO)): lines
        for p in shipped
        if p != REPO / "crypto" / "statements.py" and (lines := _statement_literals(p))
    }
    assert spelled == {}
    page = REPO / "kiosk_client" / "static" / "js"
    scripts = [p for p in sorted(page.rglob("*.*js")) if p.name != "statements.mjs"]
    assert scripts and [p.name for p in scripts if "kiosk-auth" in p.read_text("utf-8")] == []


def test_the_log_and_the_statements_share_one_canonical_serialization() -> None:
    import audit.entry
    import crypto.canonical

    assert audit.entry.canonical_bytes is crypto.canonical.canonical_bytes
    assert st.canonical_bytes is crypto.canonical.canonical_bytes
