"""bench/bodies.py: several bodies voting in the same second on one server, each body's
ballots all acknowledged and logged once, each body's result on its own screens only."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.bodies import leaks

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # three bodies of 20 kiosks, one server: about 20 s
def test_three_bodies_voting_at_once_each_get_their_own_result_and_nothing_else(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bodies.json"
    subprocess.run(
        [sys.executable, "-m", "bench.bodies", "--bodies", "3", "--members", "20",
         "--quiet-wait", "0", "--workdir", str(tmp_path / "run"), "--out", str(out)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=280,
    )  # fmt: skip
    report = json.loads(out.read_text())

    assert report["bodies"] == 3 and report["members_per_body"] == 20
    assert len({b["body_id"] for b in report["per_body"]}) == 3
    assert len({b["vote"] for b in report["per_body"]}) == 3
    for body in report["per_body"]:
        assert body["ballots"] == body["acked"] == 20, body["name"]
        assert body["lost"] == 0 and body["duplicated"] == 0, body["name"]
        assert body["receipts_not_matching_log"] == 0, body["name"]
        assert body["leaks"] == 0, body["leaks_by_event"]
        assert body["result_to_all_ms"]["missing"] == 0, body["name"]  # 20 kiosks + 2 screens
        assert body["result_match"] is True, body["name"]
        assert body["bundle_verified"] is True, body["name"]
    overall = report["overall"]
    assert overall["ballots"] == overall["acked"] == 60
    assert overall["lost"] == overall["duplicated"] == overall["leaks"] == 0


def test_a_leak_is_an_event_naming_another_bodys_vote_on_this_bodys_screens() -> None:
    kiosks = {"vote_opened": {"1": 20}, "result": {"1": 20, "2": 3}}
    console = [
        (0.0, "vote_opened", {"id": 2}),
        (0.1, "participation", {"vote": 1, "voted": 4}),  # its own vote: no leak
        (0.2, "result", {"vote": 2, "result": {}}),
        (0.3, "attendance", {"present": 20}),
    ]
    display = [(0.2, "result", {"vote": 3}), (0.3, "announced", {"vote": 2})]

    assert leaks(kiosks, [console, display], foreign={2, 3}) == Counter(
        {"result": 5, "vote_opened": 1, "announced": 1}
    )
    assert leaks(kiosks, [console, display], foreign={4}) == Counter()
