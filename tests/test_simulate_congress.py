"""``voting-server simulate --congress`` (CONTRACTS.md §6): the county congress session and
its standing committee's sitting at once, named and secret.

What a scrutineer checks: every published result equals the tally of the kiosks' own
choices; every named vote of the congress's deputies breaks down by delegation exactly
as the kiosks chose, a secret vote and the presidium's own vote not at all; each body's
bundle verifies alone with ``voting-audit verify DIR`` and holds nothing of the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.sim import simulate, verify
from voting_server.demo.county import COUNTY_COMMITTEE, COUNTY_CONGRESS, DELEGATIONS

pytestmark = pytest.mark.slow  # two sittings of 293 kiosks: a minute or more


@pytest.fixture(scope="module", params=["named", "secret"])
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp(f"congress-{request.param}")
    flags = ["--secret"] if request.param == "secret" else []
    code, report, stderr = simulate("--congress", "--seed", "16", "--out", str(out), *flags)
    assert code == 0, stderr[-3000:]
    return request.param, report


def test_every_vote_of_both_bodies_matches_the_kiosks(run: tuple[str, dict[str, Any]]) -> None:
    which, report = run
    congress = [v for v in report["votes"] if v["body"] == COUNTY_CONGRESS]
    committee = [v for v in report["votes"] if v["body"] == COUNTY_COMMITTEE]
    assert [(v["kind"], v["electorate"]) for v in congress] == [
        ("motion", "presidium"), ("selection", "body"), ("motion", "body"),
    ]  # fmt: skip
    assert [v["kind"] for v in committee] == ["evaluation"]
    assert {v["body_kind"] for v in congress} == {"congress"}
    assert {v["body_kind"] for v in committee} == {"standing_committee"}
    for vote in report["votes"]:
        assert vote["match"] is True and vote["result"] == vote["expected"]
        assert vote["secret"] is (which == "secret")
    presidium_vote, ballot, motion = congress
    assert presidium_vote["result"]["members"] == 25  # 主席团会议: the presidium alone
    assert presidium_vote["result"]["subjects"]["submit"]["passed"] is True
    for vote in (ballot, motion):  # 应到 and 实到: the 250 deputies, never the 列席
        assert vote["result"]["members"] == 250 and vote["result"]["present"] == 250
    assert committee[0]["result"]["members"] == 35
    assert report["members"] == 285 and report["attendees"] == 8


def test_named_votes_break_down_by_delegation_secret_ones_never(
    run: tuple[str, dict[str, Any]],
) -> None:
    which, report = run
    for vote in report["votes"]:
        if which == "secret" or vote["body_kind"] != "congress":
            assert "by_delegation" not in vote
            continue
        breakdown = vote["by_delegation"]
        assert breakdown["match"] is True and breakdown["result"] == breakdown["expected"]
        if vote["electorate"] == "presidium":
            assert breakdown["result"] is None  # not the delegations' business
        else:
            groups = [(g["group"], g["members"]) for g in breakdown["result"]]
            assert groups == list(DELEGATIONS)
            assert sum(g["cast"] for g in breakdown["result"]) == vote["result"]["cast"]


def test_each_body_has_its_own_bundle_that_verifies_alone(
    run: tuple[str, dict[str, Any]],
) -> None:
    _, report = run
    assert set(report["bodies"]) == {COUNTY_CONGRESS, COUNTY_COMMITTEE}
    vote_ids = {
        name: {v["vote"] for v in report["votes"] if v["body"] == name} for name in report["bodies"]
    }
    for name, body in report["bodies"].items():
        bundle = Path(body["bundle"])
        code, verified = verify(bundle)
        assert code == 0 and verified["ok"], verified["errors"]
        assert verified["head"] == body["head"]
        results = [
            json.loads(line)["data"]["vote"]
            for line in (bundle / "log.jsonl").read_bytes().splitlines()
            if json.loads(line)["type"] == "result"
        ]
        assert set(results) == vote_ids[name]  # its own votes, none of the other body's
    assert report["bundle"] == report["bodies"][COUNTY_CONGRESS]["bundle"]


def test_bad_arguments_exit_2() -> None:
    code, report, stderr = simulate("--congress", "--members", "10")
    assert code == 2 and report == {} and "--members" in stderr
