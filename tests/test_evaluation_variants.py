"""RULES.md "Evaluation variants" by example: three grades, scores, the overall rate and
attending deputies, in the scenario format of CONTRACTS.md §2.

Every file in tests/testdata/scenarios/ holds a boundary (T1/T2 exactly at half of
the valid marks and one below, trimming at 2 × trim and 2 × trim + 1, rounding half
up at .xx5, a pass mark equal to the shown mean, shared ranks, no valid score, the
outcome flipped by ``outcome_on``, no quorum, a void vote) and its ``expect``,
worked out by hand; ``voting-server tally`` must print a result containing it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from rules import SchemaError, parse_scenario, parse_vote_config, tally
from rules.kinds import kind_of
from rules.kinds.evaluation_scores import trimmed_mean, two_decimals
from rules.paper import ballots_from_counts, paper_example
from rules.schema import electronic_ballot_error
from tests.test_tally_cli import contains, run_tally

SCENARIOS = Path(__file__).resolve().parent / "testdata" / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.glob("evaluation-*.json"))


def test_there_is_a_scenario_for_every_variant() -> None:
    assert len(NAMES) >= 12
    for word in ("three-grades", "scores", "overall-rate", "attending", "void", "no-quorum"):
        assert any(word in name for name in NAMES), word


# the console script for a few (each run starts a Python); every one in the slow lane
ON_THE_COMMAND_LINE = {
    "evaluation-three-grades.json",
    "evaluation-scores.json",
    "evaluation-attending-all.json",
}


@pytest.mark.parametrize(
    "name",
    [n if n in ON_THE_COMMAND_LINE else pytest.param(n, marks=pytest.mark.slow) for n in NAMES],
)
def test_tally_prints_the_expected_result(name: str) -> None:
    path = SCENARIOS / name
    expect = json.loads(path.read_text(encoding="utf-8"))["expect"]
    done = run_tally(path)
    assert done.returncode == 0, done.stderr
    assert contains(json.loads(done.stdout), expect), done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_the_engine_gives_the_expected_result(name: str) -> None:
    scenario = json.loads((SCENARIOS / name).read_text(encoding="utf-8"))
    assert contains(_tally(scenario), scenario["expect"])


def _tally(scenario: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_scenario(json.dumps(scenario))
    return tally(
        parsed.spec, parsed.members, parsed.present, parsed.ballots, parsed.attending_ballots
    )


def _scores(ballots: list[dict[str, Any]], **scores: Any) -> dict[str, Any]:
    vote = {"kind": "evaluation", "subjects": ["d"], "scores": {"min": 0, "max": 100, **scores}}
    return _tally({"members": 300, "present": 300, "vote": vote, "ballots": ballots})


def test_scores_without_a_pass_mark_have_no_outcome_and_no_overall_rate() -> None:
    result = _scores([{"d": 70}, {"d": 80}])
    assert "outcome" not in result["subjects"]["d"]
    assert "overall_rate" not in result  # the overall rate is of marks, not scores


def test_every_marks_evaluation_has_an_overall_rate_and_no_three_way_report_unasked() -> None:
    vote = {"kind": "evaluation", "subjects": ["d"]}
    result = _tally({"members": 3, "present": 3, "vote": vote, "ballots": [{"d": "basic"}]})
    assert result["overall_rate"] == "100.00"
    assert "members" not in result["subjects"]["d"] and "outcome_on" not in result


@pytest.mark.parametrize(
    ("scores", "shown"),
    [
        ([85, 86], "85.50"),
        ([0, 1, 2, 100], "1.50"),  # trimmed to [1, 2]
        ([0, 0, 0, 0, 0, 0, 1, 1], "0.17"),  # [0, 0, 0, 0, 0, 1]: 1/6 → 0.17
        ([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "0.00"),  # the 1 is dropped as the highest
    ],
)
def test_trimmed_mean_examples(scores: list[int], shown: str) -> None:
    mean, _ = trimmed_mean(scores, 1)
    assert mean is not None and two_decimals(mean) == shown


def test_half_up_at_exactly_five_thousandths() -> None:
    from fractions import Fraction

    assert two_decimals(Fraction(85125, 1000)) == "85.13"  # a banker's rounding gives 85.12
    assert two_decimals(Fraction(85135, 1000)) == "85.14"
    assert two_decimals(Fraction(851249, 10000)) == "85.12"


@pytest.mark.parametrize(
    ("vote", "field"),
    [
        ({"grades": "three", "scores": {}}, "grades or scores"),
        ({"grades": "two"}, "grades"),
        ({"grade_thresholds": {}}, "grade_thresholds needs grades"),
        ({"scores": {"min": 10, "max": 10}}, "min must be below max"),
        ({"scores": {"max": 1001}}, "scores.max"),
        ({"scores": {"pass_mark": 101}}, "pass_mark"),
        ({"scores": {"trim": -1}}, "scores.trim"),
        ({"scores": {"min": 0, "max": 100, "step": 5}}, "scores.step"),
        ({"outcome_on": "all"}, "outcome_on all needs admit_attending"),
        ({"outcome_on": "attending", "admit_attending": True}, "outcome_on"),
        ({"grades": "three", "satisfaction_below": [3, 5]}, "decide on their own"),
        ({"scores": {}, "unsatisfied_threshold": {"base": "members", "ratio": [1, 2],
                                                 "strict": True}}, "decide on their own"),
        ({"admit_attending": "yes"}, "admit_attending"),
    ],
)  # fmt: skip
def test_bad_variant_configurations_are_refused(vote: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaError) as caught:
        parse_vote_config({"kind": "evaluation", "subjects": ["d"], **vote})
    assert field in str(caught.value)


def test_attending_ballots_need_admit_attending(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    vote = {"kind": "evaluation", "subjects": ["d"]}
    scenario = {"members": 3, "present": 3, "vote": vote, "ballots": [],
                "attending_ballots": [{"d": "satisfied"}]}  # fmt: skip
    path.write_text(json.dumps(scenario), encoding="utf-8")
    done = run_tally(path)
    assert done.returncode == 2 and done.stdout == ""
    assert "attending_ballots" in done.stderr and "admit_attending" in done.stderr
    scenario["vote"] = {**vote, "admit_attending": True}
    scenario["attending_ballots"] = [{"x": "satisfied"}]
    path.write_text(json.dumps(scenario), encoding="utf-8")
    done = run_tally(path)
    assert done.returncode == 2 and "attending_ballots[0].x" in done.stderr


def test_other_kinds_refuse_attending_ballots() -> None:
    scenario = {"members": 3, "present": 3, "vote": {"kind": "motion", "subjects": ["m"]},
                "ballots": [], "attending_ballots": [{"m": "yes"}]}  # fmt: skip
    with pytest.raises(SchemaError, match="attending_ballots"):
        parse_scenario(json.dumps(scenario))


@pytest.mark.parametrize(
    "vote",
    [
        {"grades": "three"},
        {"grades": "three", "grade_thresholds": {"basic": {"base": "present", "ratio": [2, 3],
                                                           "strict": False}}},
        {"scores": {"min": 1, "max": 10, "trim": 0}},
        {"scores": {"pass_mark": 60}, "admit_attending": True, "outcome_on": "all"},
        {"admit_attending": True},
    ],
)  # fmt: skip
def test_a_configuration_survives_its_json(vote: dict[str, Any]) -> None:
    # the logged configuration is what the verifier reads back
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["d"], **vote})
    assert parse_vote_config(spec.to_json()) == spec


def test_the_default_configuration_json_is_unchanged() -> None:
    # votes logged before the variants keep their configuration byte for byte
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["d"]})
    assert set(spec.to_json()) == {"kind", "subjects", "quorum", "unsatisfied_threshold"}


def test_a_kiosk_may_send_scores_in_range_only() -> None:
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["a", "b"],
                              "scores": {"min": 0, "max": 100}})  # fmt: skip
    assert electronic_ballot_error(spec, {"a": 0, "b": 100}) is None
    assert electronic_ballot_error(spec, {"a": 100}) is None  # a blank is the deputy's
    for bad in (101, -1, "90", 90.5, True, None, "satisfied"):
        assert electronic_ballot_error(spec, {"a": bad}) is not None, bad
    kind = kind_of("evaluation")
    assert kind.longest_ballot(spec) == {"a": 100, "b": 100}
    rng = random.Random(7)
    for _ in range(50):
        assert electronic_ballot_error(spec, kind.random_ballot(spec, rng)) is None


def test_a_marks_kiosk_still_refuses_scores() -> None:
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["a"], "grades": "three"})
    assert electronic_ballot_error(spec, {"a": "basic"}) is None
    assert electronic_ballot_error(spec, {"a": 90}) is not None


def test_a_paper_count_of_scores_gives_its_ballots() -> None:
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["a"], "scores": {}})
    assert paper_example(spec) == {"cast": 0, "subjects": {"a": {"scores": [], "invalid": 0}}}
    counts = {"cast": 4, "subjects": {"a": {"scores": [90, 80, 70], "invalid": 1}}}
    ballots = ballots_from_counts(spec, counts)
    result = tally(spec, 5, 4, ballots)["subjects"]["a"]
    assert (result["valid"], result["invalid"], result["mean"]) == (3, 1, "80.00")
    for bad, field in (
        ({"cast": 4, "subjects": {"a": {"scores": [90], "invalid": 1}}}, "counts.subjects.a"),
        ({"cast": 1, "subjects": {"a": {"scores": [101], "invalid": 0}}}, "scores[0]"),
        ({"cast": 1, "subjects": {"a": {"scores": 90, "invalid": 0}}}, "scores"),
    ):
        with pytest.raises(SchemaError, match=field.replace("[", r"\[")):
            ballots_from_counts(spec, bad)


def test_the_sheet_of_scores_shows_the_mean_and_whether_it_was_trimmed() -> None:
    spec = parse_vote_config({"kind": "evaluation", "subjects": ["a", "b"],
                              "scores": {"pass_mark": 60}})  # fmt: skip
    result = tally(spec, 5, 5, [{"a": 90, "b": 50}, {"a": 80, "b": 40}, {"a": 70}])
    table = kind_of("evaluation").sheet_table(
        result, {"a": "县教育局", "b": "县民政局"}, None, True
    )
    assert table.head == ["测评对象", "有效", "无效", "平均分", "去掉最高分最低分", "测评结果",
                          "名次"]  # fmt: skip
    assert table.rows[0] == ["县教育局", "3", "0", "80.00", "是", "满意", "1"]
    assert table.rows[1] == ["县民政局", "2", "1", "45.00", "否", "不满意", "2"]
    assert table.marks == ["pass", "fail"]


def test_the_sheet_of_three_grades_with_attending_deputies() -> None:
    path = SCENARIOS / "evaluation-attending-members.json"
    scenario = json.loads(path.read_text(encoding="utf-8"))
    result = _tally(scenario)
    table = kind_of("evaluation").sheet_table(
        result, {"x": "县教育局", "y": "县民政局"}, None, True
    )
    assert [row[0] for row in table.rows] == [
        "县教育局", "　组成人员", "　列席代表", "　全体",
        "县民政局", "　组成人员", "　列席代表", "　全体",
    ]  # fmt: skip
    assert table.rows[0][-2:] == ["满意", "2"] and table.rows[4][-2:] == ["基本满意", "1"]
    assert table.rows[2][1:6] == ["0", "0", "3", "0", "0.00%"]
    notes = "".join(table.notes)
    assert "总体满意率：75.00%" in notes and "按组成人员的票确定" in notes
    rows = kind_of("evaluation").export_rows(result, {})
    assert [r.get("group") for r in rows[:4]] == [None, "组成人员", "列席代表", "全体"]
    assert rows[0]["overall_rate"] == "75.00"
