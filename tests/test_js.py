"""The kiosk page's JavaScript unit tests (tests/js, Node's built-in runner) in the suite.

``node --test tests/js`` checks the page's statements against the committed
vectors; then what the page signs is checked here, by Python's
``crypto.KioskPublicKey`` — the key class the server and the verifier use. No
npm package is needed: Node's own test runner and WebCrypto. Without Node the
tests skip, unless REQUIRE_SERVICES=1, where they fail.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

from crypto import KioskPublicKey
from tests.statement_vectors import VECTORS
from tests.support.services import unavailable

JS_TESTS = Path(__file__).resolve().parent / "js"
NODE_TIMEOUT_S = 120


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        unavailable("node", "no `node` on PATH for the kiosk page's JavaScript tests (Node 20+)")
    assert node is not None
    return node


def test_node_test_runner_passes_the_kiosk_javascript_tests() -> None:
    run = subprocess.run(
        [_node(), "--test", str(JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", run.stdout, re.M)
    assert passed is not None and int(passed.group(1)) > 0, run.stdout  # it found the tests


def test_what_the_page_signs_verifies_in_python() -> None:
    run = subprocess.run(
        [_node(), str(JS_TESTS / "sign_vectors.mjs")],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=True,
    )
    signed: dict[str, str] = json.loads(run.stdout)
    content = json.loads(VECTORS.read_text("utf-8"))
    key = KioskPublicKey.from_spki_b64(content["keys"]["kiosk"]["public_spki"])
    good = {v["name"]: v for v in content["vectors"] if v["key"] == "kiosk" and v["valid"]}
    assert sorted(signed) == sorted(good)
    for name, signature in signed.items():
        data = bytes.fromhex(good[name]["canonical_hex"])
        assert key.verify(base64.b64decode(signature), data), name
        assert signature != good[name]["signature"]  # the page's own, not the file's copied
    tampered = next(v for v in content["vectors"] if v["name"] == "ballot-motion/changed-mark")
    signature = base64.b64decode(signed["ballot-motion"])
    assert not key.verify(signature, bytes.fromhex(tampered["canonical_hex"]))
