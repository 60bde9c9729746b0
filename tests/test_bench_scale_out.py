"""The benchmark's scale-out run (``python -m bench.run --scale-out``, bench/README.md):
the ballot burst against the stack with one and with two server processes, and the
whole stack's CPU per 1,000 ballots — a small run, real processes throughout (nginx,
Redis, PostgreSQL, the kiosks' client processes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import bench.run
from bench.run import STACK_PARTS, Shard, scale_out_phase

pytestmark = pytest.mark.slow  # two stacks, two bursts each: make check leaves it out


def test_scale_out_run_reports_the_whole_stacks_cpu(
    postgres_url: str, redis_url: str, nginx_path: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Figures, not a measurement: no waiting minutes for a shared machine to quieten.
    monkeypatch.setattr(bench.run, "QUIET_WAIT_S", 5.0)
    database = sa.make_url(postgres_url).database
    shards = [Shard("kiosks-0")]
    try:
        report = scale_out_phase(
            members=24, burst_s=1.0, seed=3, shards=shards, secret=False, workdir=tmp_path,
            sign_in="staff", postgres_admin_url=postgres_url, message_queue=redis_url,
            database_prefix=f"{database}_scale_", bursts=2,
        )  # fmt: skip
    finally:
        for shard in shards:
            shard.quit()
    assert report["complete"], report["runs"]
    for processes, run in report["runs"].items():
        # two bursts: every seat pressed twice, the second press stored as one more
        assert [b["acked"] for b in run["bursts"]] == [24, 24]
        assert run["acked"] == run["presses"] == 48
        assert run["lost"] == run["duplicated"] == 0
        assert run["result_match"] is True  # one ballot per seat counted, not two
        assert set(run["stack_cpu_parts_s"]) == set(STACK_PARTS)
        assert run["stack_cpu_s"] == pytest.approx(
            sum(b["stack_cpu_s"] for b in run["bursts"]), abs=0.011
        )
        assert run["stack_cpu_s"] > 0
        # the idle second before each burst is counted apart, not in the burst's CPU
        assert run["lead_cpu_s"] == pytest.approx(
            sum(b["lead_cpu_s"] for b in run["bursts"]), abs=0.011
        )
        assert all(b["lead_cpu_s"] >= 0 for b in run["bursts"])
        per_1000 = run["stack_cpu_s"] / 48 * 1000  # stack_cpu_s is rounded to 0.01 s
        assert run["stack_cpu_per_1000_s"] == pytest.approx(per_1000, abs=0.25)
        found = run["stack_processes"]  # every part of the stack was found in /proc
        assert found["checkers"] == int(processes)  # one signature checker per server
        assert found["server"] >= 2 * int(processes)  # a gunicorn master and worker each
        assert found["nginx"] >= 2  # its master and worker
        assert found["postgres"] > 1  # the postmaster and its children
        assert found["redis"] >= 1
        assert 2 <= run["batches"] <= 48  # at least one commit per burst
        switches = run["stack_context_switches"]  # read from /proc for every part
        assert set(switches) == set(STACK_PARTS)
        assert switches["server"]["voluntary"] > 0  # the workers waited on their sockets
        assert all(n["voluntary"] >= 0 and n["involuntary"] >= 0 for n in switches.values())
    assert isinstance(report["cpu_per_1000_ratio"], float)
    assert report["cpu_per_1000_ratio"] > 0
    assert len(report["cpu_per_1000_ratio_by_burst"]) == 2
