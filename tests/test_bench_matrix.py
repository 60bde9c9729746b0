"""``make bench-matrix`` (bench/matrix.py) on a small hall: each combination asked for
is measured with its own kind, mode and database, every ballot is acknowledged and
logged exactly once, the published result is the tally of the acknowledged ballots,
and the plot shows every combination."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.support.services import REPO

MEMBERS = 30


def run_matrix(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    """``python -m bench.matrix`` with ``args`` at ``MEMBERS`` kiosks; its JSON and plot
    go to ``tmp_path``. The machine is shared: the bursts do not wait for it to be quiet."""
    out, plot = tmp_path / "matrix.json", tmp_path / "matrix.svg"
    subprocess.run(
        [sys.executable, "-m", "bench.matrix", "--members", str(MEMBERS),
         "--out", str(out), "--plot", str(plot), *args],
        cwd=REPO, env={**os.environ, "BENCH_QUIET_WAIT_S": "0"}, check=True, timeout=280,
    )  # fmt: skip
    return json.loads(out.read_text())


def assert_measured(report: dict[str, Any], kind: str, secret: bool, db: str) -> None:
    """One §5 object of a complete run of ``kind``, ``secret``, on ``db``."""
    assert (report["kind"], report["secret"], report["db"]) == (kind, secret, db)
    assert report["ballot"]["vote"]["kind"] == kind
    assert report["members"] == report["ballots"] == report["acked"] == MEMBERS
    assert (report["lost"], report["duplicated"], report["receipts_not_matching_log"]) == (0, 0, 0)
    assert report["ballot"]["result_match"] is True
    assert report["ballot"]["bundle_verified"] is True
    assert report["result_to_all_ms"]["missing"] == 0
    assert report["echo"]["burst"]["acked"] == MEMBERS  # the same payloads, echoed
    assert report["ratio_to_echo"] is not None
    assert report["targets"]["lost_0"] and report["targets"]["duplicated_0"]
    assert report["verify"] is None and report["targets"]["verify_ratio_ge_0.8"] is None
    sizes = report["ballot"]["vote"]["payload_bytes"]
    assert 0 < sizes["min"] <= sizes["p50"] <= sizes["max"]


@pytest.mark.slow
def test_two_kinds_on_sqlite(tmp_path: Path) -> None:
    reports = run_matrix(
        tmp_path, "--only", "selection:secret:sqlite", "--only", "evaluation:named:sqlite"
    )
    assert len(reports) == 2
    assert_measured(reports[0], "selection", True, "sqlite")
    assert_measured(reports[1], "evaluation", False, "sqlite")
    # A selection ballot marks up to 10 of the 12 candidates: the largest is larger than
    # an empty one by the candidates' ids.
    sizes = reports[0]["ballot"]["vote"]["payload_bytes"]
    assert sizes["max"] > sizes["min"]
    svg = (tmp_path / "matrix.svg").read_text()
    assert "selection:secret:sqlite: n=30" in svg and "evaluation:named:sqlite: n=30" in svg


@pytest.mark.slow
@pytest.mark.postgres
def test_secret_selection_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    # The matrix creates (and drops) a database of its own on the same server.
    name = f"{make_url(postgres_url).database}_matrix"
    reports = run_matrix(
        tmp_path, "--only", "selection:secret:postgresql",
        "--postgres", postgres_url, "--postgres-database", name,
    )  # fmt: skip
    assert len(reports) == 1
    assert_measured(reports[0], "selection", True, "postgresql+psycopg")
