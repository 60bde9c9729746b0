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
from tests.testdata.bundles.make_golden import (
    TRUSTEE_VARIANTS,
    TRUSTEES_GOOD,
    VARIANTS,
    make,
)

VOTING_AUDIT = Path(sys.executable).with_name("voting-audit")
EXPECTED: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
HONEST = ("good", TRUSTEES_GOOD)
TAMPERED = sorted(name for name in EXPECTED if name not in HONEST)


def test_every_bundle_has_its_expectation_and_every_expectation_its_bundle() -> None:
    bundles = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert bundles == sorted(EXPECTED) == sorted([*HONEST, *VARIANTS, *TRUSTEE_VARIANTS])
    # All seven kinds of tampering the issue names, a forgery by each kind of key, an
    # altered breakdown by delegation and a 列席 attendee's ballot (issue 16); in trustee
    # mode (issue 20) a ciphertext, a 0/1 proof, a limit proof, an aggregate, a partial
    # decryption, its proof, a count of the result, a coefficient commitment, the joint key.
    assert len(VARIANTS) == 10 and len(TRUSTEE_VARIANTS) == 9
    assert len(TAMPERED) == 19


@pytest.mark.parametrize("name", HONEST)
def test_the_good_bundles_verify(name: str) -> None:
    report = verify_bundle(GOLDEN / name, jobs=1)
    assert report.ok and report.errors == []
    assert report.entries == EXPECTED[name]["entries"]
    assert report.head == EXPECTED[name]["head"]


def test_every_secret_vote_of_the_trustee_sitting_is_proven_by_the_auditors_command() -> None:
    """``voting-audit verify trustees_good --json``: the motion, the selection and the
    evaluation held in trustee mode each reported ``"content": "proven"``."""
    done = subprocess.run(
        [str(VOTING_AUDIT), "verify", "--jobs", "1", "--json", str(GOLDEN / TRUSTEES_GOOD)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["errors"] == []
    assert report["votes"] == [{"vote": v, "content": "proven"} for v in (1, 2, 3)]


def test_each_trustee_variant_fails_at_the_entry_it_tampered_with() -> None:
    """The index expected.json records is the tampered entry's, by its type: the first
    error is the content check there, not a signature or the chain."""
    types = {
        "trustees_ciphertext_changed": "encrypted_ballot",
        "trustees_range_proof_changed": "encrypted_ballot",
        "trustees_limit_proof_changed": "encrypted_ballot",
        "trustees_aggregate_changed": "aggregates",
        "trustees_partial_decryption_changed": "decryption_share",
        "trustees_partial_proof_changed": "decryption_share",
        "trustees_result_count_changed": "result",
        "trustees_commitment_changed": "trustee_commitments",
        "trustees_joint_key_changed": "trustee_key",
    }
    assert sorted(types) == sorted(TRUSTEE_VARIANTS)
    for name, type_ in types.items():
        lines = (GOLDEN / name / "log.jsonl").read_bytes().splitlines()
        index = EXPECTED[name]["index"]
        assert json.loads(lines[index])["type"] == type_, name
        assert EXPECTED[name]["reason"].startswith(f"{type_}: "), name
        assert "signature" not in EXPECTED[name]["reason"], name


@pytest.mark.parametrize("name", TAMPERED)
def test_a_tampered_bundle_fails_with_its_stated_error(name: str) -> None:
    report = verify_bundle(GOLDEN / name, jobs=1)
    assert not report.ok
    first = report.errors[0]
    assert (first["index"], first["reason"]) == (EXPECTED[name]["index"], EXPECTED[name]["reason"])


@pytest.mark.parametrize("name", [*HONEST, *TAMPERED])
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
