"""bench/trustee_verify.py: the verifier's rate on encrypted ballots against their group
operations (issue 20, Deliver 7). Only the shape and the counting are tested here; the
figures are measured by running it (docs/performance.md), never asserted with a timer."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bench import trustee_verify


def test_it_counts_every_proof_branch_the_verifier_checks(tmp_path: Path) -> None:
    out = tmp_path / "trustee_verify.json"
    result = CliRunner().invoke(
        trustee_verify.main, ["--ballots", "10", "--op-repeat", "20", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    kinds = {k["kind"]: k for k in report["kinds"]}
    # every branch of every range proof costs g^v, α^c (or ᾱ^c), K^w and β^c:
    # motion: 2 options × 2 branches + a limit proof of 2 branches = 6 branches;
    # selection of 10 of 12: 12 × 2 + 11 = 35; evaluation of 3 departments: 9 × 2 + 3 × 2 = 24
    for kind, branches in (("motion", 6), ("selection", 35), ("evaluation", 24)):
        ops = kinds[kind]["operations_per_ballot"]
        assert (ops["base_pow"], ops["pow"]) == (branches, 3 * branches), (kind, ops)
        assert kinds[kind]["ballots"] == 10
        assert kinds[kind]["ratio"] > 0
    assert report["met"] == all(k["ratio"] >= 0.5 for k in report["kinds"])
