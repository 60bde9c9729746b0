"""``voting-server simulate --year`` (CONTRACTS.md §6): a county's year of supervision over
real sockets — proposals and the complaint ranking, the shortlist, the congress's
selection vote generated from it, progress reports, the standing committee's special
inquiry with one department found unsatisfactory, its rectification and 回头看, and the
year-end 验单 of the selected projects.

What a scrutineer, and the public, would check: every published result is the tally of
the kiosks' own presses; the department more than half of the members found
unsatisfactory had to rectify and was found satisfactory on re-evaluation; every selected
project was accepted at year end; every tracked item ended where the year should leave
it; each body's bundle verifies alone, and one altered item event makes it fail.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules import tally
from rules.schema import parse_vote_config
from tests.support.sim import simulate, verify
from voting_server.cli.simulate_year import evaluation_ballots, selection_ballots
from voting_server.demo import year as demo
from voting_server.demo.county import COUNTY_COMMITTEE, COUNTY_CONGRESS, DELEGATIONS

SEED = "18"


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("year")
    code, report, stderr = simulate("--year", "--seed", SEED, "--out", str(out))
    assert code == 0, stderr[-4000:]
    yield report
    # the instance is kept for `publish`; its work directory is the test's to remove
    shutil.rmtree(Path(report["instance"]).parent, ignore_errors=True)


def _votes(report: dict[str, Any], body: str) -> list[dict[str, Any]]:
    return [v for v in report["votes"] if v["body"] == body]


@pytest.mark.slow  # 293 kiosks through five votes in four sittings: minutes
def test_every_vote_of_the_year_matches_the_kiosks(year: dict[str, Any]) -> None:
    congress, committee = _votes(year, COUNTY_CONGRESS), _votes(year, COUNTY_COMMITTEE)
    # the presidium's own vote, the selection vote, and the year-end 验单
    assert [(v["kind"], v["electorate"]) for v in congress] == [
        ("motion", "presidium"), ("selection", "body"), ("evaluation", "body"),
    ]  # fmt: skip
    # the special inquiry, then the re-evaluation (回头看)
    assert [v["kind"] for v in committee] == ["evaluation", "evaluation"]
    for vote in year["votes"]:
        assert vote["match"] is True and vote["result"] == vote["expected"], vote["vote"]
        if "by_delegation" in vote:  # a named congress vote: its delegations' counts too
            assert vote["by_delegation"]["match"] is True
            if vote["electorate"] == "body":
                groups = [(g["group"], g["members"]) for g in vote["by_delegation"]["result"]]
                assert groups == list(DELEGATIONS)
    assert not year["missing"], year["missing"]
    assert year["stages"][-1] == "acceptance"


@pytest.mark.slow
def test_one_department_found_unsatisfactory_rectifies_and_passes_the_review(
    year: dict[str, Any],
) -> None:
    inquiry, review = _votes(year, COUNTY_COMMITTEE)
    members = inquiry["result"]["members"]
    subjects = inquiry["result"]["subjects"]
    # more than half of ALL members pressed 不满意 for that one department, none other
    assert subjects[demo.UNSATISFACTORY]["outcome"] == "unsatisfactory"
    assert subjects[demo.UNSATISFACTORY]["unsatisfied"] > members // 2
    assert {s: r["outcome"] for s, r in subjects.items() if s != demo.UNSATISFACTORY} == {
        s: "satisfactory" for s in subjects if s != demo.UNSATISFACTORY
    }
    # the special reports' departments are the ranking's first three ("两高一低")
    assert len(subjects) == demo.SPECIAL_REPORTS and demo.UNSATISFACTORY in subjects
    assert list(review["result"]["subjects"]) == [demo.UNSATISFACTORY]
    assert review["result"]["subjects"][demo.UNSATISFACTORY]["outcome"] == "satisfactory"
    rectifications = [i for i in year["items"] if i["kind"] == "rectification"]
    assert [(i["subject"], i["state"]) for i in rectifications] == [
        (demo.UNSATISFACTORY, "closed_satisfactory")
    ]
    topics = [i for i in year["items"] if i["kind"] == "topic"]
    assert sorted(i["subject"] for i in topics) == sorted(subjects)
    assert {i["state"] for i in topics} == {"evaluated"}


@pytest.mark.slow
def test_selected_projects_are_accepted_at_year_end(year: dict[str, Any]) -> None:
    _, selection, acceptance = _votes(year, COUNTY_CONGRESS)
    selected = selection["result"]["selection"]["selected"]
    assert len(selected) == demo.PROJECT_SEATS
    projects = {i["subject"]: i for i in year["items"] if i["kind"] == "project"}
    proposals = len(demo.DEPUTY_PROPOSALS) + len(demo.IMPORTED_PROPOSALS)
    assert len(projects) == proposals
    # the ballot was generated from the shortlist: exactly the projects kept at 初审
    assert sorted(selection["result"]["selection"]["votes"]) == sorted(
        s for s, i in projects.items() if i["state"] != "rejected"
    )
    assert sorted(acceptance["result"]["subjects"]) == sorted(selected)
    for subject, item in projects.items():
        if subject in selected:
            assert item["state"] == "accepted"
        elif item["title"] in {t for s, t, *_ in demo.IMPORTED_PROPOSALS if s in demo.REJECTED}:
            assert item["state"] == "rejected"
        else:
            assert item["state"] in ("rejected", "not_selected")
    assert sum(i["state"] == "rejected" for i in projects.values()) == len(demo.REJECTED)
    for item in year["items"]:  # every item where the year should leave it
        assert item["match"] is True and item["state"] == item["expected"], item


@pytest.mark.slow
def test_each_bundle_verifies_alone_and_an_altered_item_event_fails(
    year: dict[str, Any], tmp_path: Path
) -> None:
    assert set(year["bodies"]) == {COUNTY_CONGRESS, COUNTY_COMMITTEE}
    for body in year["bodies"].values():
        code, verified = verify(Path(body["bundle"]))
        assert code == 0 and verified["ok"], verified["errors"]
        assert verified["head"] == body["head"]
    assert year["bundle"] == year["bodies"][COUNTY_CONGRESS]["bundle"]
    # each generated vote names, in its logged configuration, the items it was made from
    # (the verifier checks its candidates/subjects against them)
    sources = {
        name: [
            e["data"]["vote"]["source_items"]
            for e in map(json.loads, (Path(b["bundle"]) / "log.jsonl").read_bytes().splitlines())
            if e["type"] == "vote_configured" and "source_items" in e["data"]["vote"]
        ]
        for name, b in year["bodies"].items()
    }
    ids = {
        kind: [i["id"] for i in year["items"] if i["kind"] == kind and i["state"] in states]
        for kind, states in (
            ("project", {"accepted", "not_selected"}),
            ("topic", {"evaluated"}), ("rectification", {"closed_satisfactory"}),
        )
    }  # fmt: skip
    ids["accepted"] = [i["id"] for i in year["items"] if i["state"] == "accepted"]
    assert sources[COUNTY_CONGRESS] == [ids["project"], ids["accepted"]]
    assert sources[COUNTY_COMMITTEE] == [ids["topic"], ids["rectification"]]
    assert Path(year["instance"]).is_dir()  # kept, for `voting-server publish --instance`

    tampered = tmp_path / "tampered"
    shutil.copytree(year["bodies"][COUNTY_COMMITTEE]["bundle"], tampered)
    lines = (tampered / "log.jsonl").read_bytes().splitlines()
    index, entry = next(
        (n, json.loads(line))
        for n, line in enumerate(lines)
        if json.loads(line)["type"] == "item_changed"
        and json.loads(line)["data"].get("deadline") is not None
    )
    entry["data"]["deadline"] = "2099-12-31"  # a later deadline than 主任会议 set
    lines[index] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
    (tampered / "log.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    code, verified = verify(tampered)
    assert code == 1 and not verified["ok"]
    assert verified["errors"][0]["index"] == index


def test_year_takes_no_other_flags() -> None:
    for flags in (("--members", "10"), ("--secret",), ("--congress",)):
        code, report, stderr = simulate("--year", *flags)
        assert code == 2 and report == {} and flags[0] in stderr


def test_the_inquiry_plan_finds_one_department_unsatisfactory_by_a_majority_of_all() -> None:
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["edu", "housing", "health"]})
    voters = list(range(1, 36))
    for seed in range(5):
        ballots = evaluation_ballots(spec, voters, random.Random(seed), "housing")
        assert sorted(ballots) == voters  # every member presses
        result = tally(spec, len(voters), len(voters), list(ballots.values()))["subjects"]
        assert result["housing"]["outcome"] == "unsatisfactory"
        assert result["housing"]["unsatisfied"] > len(voters) // 2
        assert result["edu"]["outcome"] == result["health"]["outcome"] == "satisfactory"
        # not a copy of one ballot: the members' marks differ
        assert len({json.dumps(b, sort_keys=True) for b in ballots.values()}) > 1
    calm = evaluation_ballots(spec, voters, random.Random(1), None)
    outcomes = tally(spec, 35, 35, list(calm.values()))["subjects"]
    assert {r["outcome"] for r in outcomes.values()} == {"satisfactory"}


def test_the_selection_plan_fills_every_seat_without_a_tie() -> None:
    candidates = [f"p{n}" for n in range(1, 11)]
    spec = parse_vote_config({"kind": "selection", "candidates": candidates, "seats": 8})
    voters = list(range(1, 251))
    for seed in range(3):
        ballots = selection_ballots(spec, voters, random.Random(seed))
        assert all(len(b) == 8 == len(set(b)) for b in ballots.values())
        counted = tally(spec, 250, 250, list(ballots.values()))["selection"]
        assert len(counted["selected"]) == 8 and counted["runoff"] is None


@pytest.mark.slow
def test_the_year_is_published_with_its_items_timelines(
    year: dict[str, Any], tmp_path: Path
) -> None:
    """全程公开: ``voting-server publish`` on the year's instance writes every announced
    vote with proofs `voting-audit check-proof` accepts, and each body's tracked items with
    their timelines linking the votes that decided them."""
    import os
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOTING_")}
    site = tmp_path / "site"
    done = subprocess.run(
        [str(bin_dir / "voting-server"), "publish", "--instance", year["instance"],
         "--out", str(site)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and summary["votes"] == len(year["votes"])
    inquiry, review = _votes(year, COUNTY_COMMITTEE)
    committee = year["bodies"][COUNTY_COMMITTEE]["id"]
    items = (site / f"bodies/{committee}/items/index.html").read_text(encoding="utf-8")
    # evaluation → rectification → re-evaluation, each vote linked to its public result
    assert f"{demo.UNSATISFACTORY}整改" in items
    for vote in (inquiry, review):
        assert f"votes/{vote['vote']}/" in items
        proof = site / f"votes/{vote['vote']}/result.proof.json"
        check = subprocess.run([str(bin_dir / "voting-audit"), "check-proof", str(proof)],
                               capture_output=True, timeout=60)  # fmt: skip
        assert check.returncode == 0, check.stderr
    _, selection, acceptance = _votes(year, COUNTY_CONGRESS)
    congress = year["bodies"][COUNTY_CONGRESS]["id"]
    projects = (site / f"bodies/{congress}/items/index.html").read_text(encoding="utf-8")
    assert f"votes/{selection['vote']}/" in projects
    assert f"votes/{acceptance['vote']}/" in projects
