"""The golden bundles (tests/testdata/bundles): the honest one verifies, every tampered
copy fails with exactly the error expected.json states, through the library and through
the auditor's command; and make_golden.py still writes exactly the committed bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.bundle import verify_bundle
from tests.testdata.bundles.make_golden import HERE as GOLDEN
from tests.testdata.bundles.make_golden import VARIANTS, make

VOTING_AUDIT = Path(sys.executable).with_name("voting-audit")
EXPECTED: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
TAMPERED = sorted(name for name in EXPECTED if name != "good")


def test_every_bundle_has_its_expectation_and_every_expectation_its_bundle() -> None:
    bundles = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert bundles == sorted(EXPECTED) == sorted(["good", *VARIANTS])
    # All seven kinds of tampering the issue names, a forgery by each kind of key, an
    # altered breakdown by delegation and a 列席 attendee's ballot (issue 16).
    assert len(TAMPERED) == 10


def test_the_good_bundle_verifies() -> None:
    report = verify_bundle(GOLDEN / "good", jobs=1)
    assert report.ok and report.errors == []
    assert report.entries == EXPECTED["good"]["entries"]
    assert report.head == EXPECTED["good"]["head"]


@pytest.mark.parametrize("name", TAMPERED)
def test_a_tampered_bundle_fails_with_its_stated_error(name: str) -> None:
    report = verify_bundle(GOLDEN / name, jobs=1)
    assert not report.ok
    first = report.errors[0]
    assert (first["index"], first["reason"]) == (EXPECTED[name]["index"], EXPECTED[name]["reason"])


@pytest.mark.parametrize("name", ["good", *TAMPERED])
def test_voting_audit_verify_prints_the_stated_result(name: str) -> None:
    done = subprocess.run(
        [str(VOTING_AUDIT), "verify", "--jobs", "1", str(GOLDEN / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = EXPECTED[name]
    if expected["ok"]:
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == f"OK: all {expected['entries']} entries verified"
        assert done.stderr == ""
    else:
        line = f"FAILED at entry {expected['index']}: {expected['reason']}"
        assert done.returncode == 1
        assert done.stdout.splitlines()[0] == line
        assert done.stderr.splitlines()[-1] == f"voting-audit: {line}"


def test_make_golden_writes_exactly_the_committed_bundles(tmp_path: Path) -> None:
    make(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        [Path("expected.json")]
        + [p.relative_to(GOLDEN) for name in EXPECTED for p in (GOLDEN / name).iterdir()]
    )
    assert written == committed
    for path in written:
        assert (tmp_path / path).read_bytes() == (GOLDEN / path).read_bytes(), path
