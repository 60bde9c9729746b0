"""``voting-server tally SCENARIO.json`` as a scrutineer runs it (CONTRACTS.md §2).

Every check runs the installed console script in a subprocess: the exit code,
stdout and stderr are the interface. Good input: the result as JSON on stdout.
Malformed input: exit 2, one line on stderr naming the offending field,
nothing on stdout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

VOTING_SERVER = Path(sys.executable).with_name("voting-server")
SCENARIO_NAMES = sorted(
    p.name for p in (Path(__file__).resolve().parents[2] / "shared" / "scenarios").glob("*.json")
)


def voting_server() -> str:
    if VOTING_SERVER.is_file():
        return str(VOTING_SERVER)
    found = shutil.which("voting-server")
    if found is None:
        pytest.fail(f"the voting-server console script is not installed next to {sys.executable}")
    return found


def run_tally(
    path: Path | str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [voting_server(), "tally", str(path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def contains(actual: Any, expected: Any) -> bool:
    """``actual`` has every key of ``expected`` with an equal value (recursively)."""
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() <= actual.keys()
            and all(contains(actual[k], v) for k, v in expected.items())
        )
    return type(actual) is type(expected) and actual == expected


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_shared_scenario_prints_expect(shared_dir: Path, name: str) -> None:
    path = shared_dir / "scenarios" / name
    expect = json.loads(path.read_text(encoding="utf-8"))["expect"]
    done = run_tally(path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert contains(result, expect), done.stdout


def test_shared_scenarios_are_there(shared_dir: Path) -> None:
    assert sorted(p.name for p in (shared_dir / "scenarios").glob("*.json")) == SCENARIO_NAMES
    assert len(SCENARIO_NAMES) >= 4


@pytest.mark.slow
def test_reads_the_scenario_from_stdin() -> None:
    scenario = {
        "members": 5,
        "present": 4,
        "vote": {"kind": "motion", "subjects": ["m"]},
        "ballots": [{"m": "yes"}, {"m": "yes"}, {"m": "yes"}, {}],
    }
    done = run_tally("-", stdin=json.dumps(scenario))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # 5 members: 过半数 = floor(5/2)+1 = 3 yes; the empty ballot is an abstention
    assert result["subjects"]["m"] == {
        "yes": 3,
        "no": 0,
        "abstain": 1,
        "invalid": 0,
        "required": 3,
        "passed": True,
    }
    assert (result["cast"], result["not_voted"], result["quorum"], result["void"]) == (
        4,
        0,
        True,
        False,
    )


def test_void_vote_is_a_result_not_an_error(tmp_path: Path) -> None:
    # more ballots than present is the voters' doing: exit 0, "void" with a reason
    path = tmp_path / "void.json"
    path.write_text(
        json.dumps(
            {
                "members": 5,
                "present": 2,
                "vote": {"kind": "selection", "candidates": ["a", "b"], "seats": 1},
                "ballots": [["a"], ["a"], ["a"]],
            }
        ),
        encoding="utf-8",
    )
    done = run_tally(path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["void"] is True and result["reason"]
    assert result["not_voted"] == 0
    assert result["quorum"] is False  # 2 of 5 is not more than half either
    assert result["selection"]["selected"] == []
    assert result["selection"]["votes"] == {"a": 3, "b": 0}


@pytest.mark.slow
def test_chinese_ids_are_printed_as_json(tmp_path: Path) -> None:
    path = tmp_path / "zh.json"
    scenario = {
        "members": 3,
        "present": 3,
        "vote": {"kind": "evaluation", "subjects": ["民政局"]},
        "ballots": [{"民政局": "satisfied"}, {"民政局": "basic"}, {"民政局": "unsatisfied"}],
    }
    path.write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
    done = run_tally(path)
    assert done.returncode == 0, done.stderr
    subject = json.loads(done.stdout)["subjects"]["民政局"]
    assert subject["satisfaction_rate"] == "66.67"
    assert subject["rank"] == 1


GOOD: dict[str, Any] = {
    "members": 5,
    "present": 5,
    "vote": {"kind": "motion", "subjects": ["m"]},
    "ballots": [{"m": "yes"}],
}


def variant(**changes: Any) -> str:
    scenario = json.loads(json.dumps(GOOD))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = scenario
        for part in parents:
            node = node[part]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return json.dumps(scenario)


DROP = object()
SELECTION = {"kind": "selection", "candidates": ["a", "b"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param("{not json", "scenario", id="not-json"),
        pytest.param("", "scenario", id="empty-file"),
        pytest.param("[1, 2]", "scenario", id="not-an-object"),
        pytest.param(variant(vote=DROP), "vote", id="missing-vote"),
        pytest.param(variant(vote__kind="referendum"), "vote.kind", id="unknown-kind"),
        pytest.param(variant(vote__kind=DROP), "vote.kind", id="missing-kind"),
        pytest.param(variant(vote={**SELECTION, "seats": 0}), "vote.seats", id="seats-0"),
        pytest.param(variant(vote={**SELECTION, "seats": -1}), "vote.seats", id="seats-negative"),
        pytest.param(variant(vote={**SELECTION, "seats": 3}), "vote.seats", id="seats-over-m"),
        pytest.param(
            variant(vote__threshold={"base": "members", "ratio": [1, 0], "strict": True}),
            "vote.threshold.ratio",
            id="threshold-den-0",
        ),
        pytest.param(
            variant(vote__quorum={"base": "members", "ratio": [1, 0], "strict": True}),
            "vote.quorum.ratio",
            id="quorum-den-0",
        ),
        pytest.param(
            variant(vote__threshold={"base": "seats", "ratio": [1, 2], "strict": True}),
            "vote.threshold.base",
            id="threshold-unknown-base",
        ),
        pytest.param(variant(members=-5), "members", id="members-negative"),
        pytest.param(variant(members=0), "members", id="members-0"),
        pytest.param(variant(present=-1), "present", id="present-negative"),
        pytest.param(variant(present=6), "present", id="present-over-members"),
        pytest.param(variant(members="61"), "members", id="members-string"),
        pytest.param(variant(ballots=DROP), "ballots", id="missing-ballots"),
        pytest.param(variant(ballots=[["m"]]), "ballots[0]", id="motion-ballot-a-list"),
        pytest.param(variant(ballots=[{"x": "yes"}]), "ballots[0].x", id="unknown-subject"),
    ],
)
def test_malformed_input_exits_2_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(text, encoding="utf-8")
    done = run_tally(path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    message = done.stderr.strip()
    assert message and "\n" not in message, done.stderr
    assert field in message, message
    assert "Traceback" not in done.stderr


def test_the_good_variant_is_accepted(tmp_path: Path) -> None:
    # the base of the malformed cases above is itself fine: each case fails on its change
    path = tmp_path / "scenario.json"
    path.write_text(variant(), encoding="utf-8")
    done = run_tally(path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["subjects"]["m"]["yes"] == 1


def test_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-scenario.json"
    done = run_tally(missing)
    assert done.returncode == 2
    assert done.stdout == ""
    message = done.stderr.strip()
    assert message and "\n" not in message
    assert "no-such-scenario.json" in message


def test_missing_argument_is_a_usage_error() -> None:
    done = subprocess.run([voting_server(), "tally"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "SCENARIO" in done.stderr
