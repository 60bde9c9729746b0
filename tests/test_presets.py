"""Rule presets: config/presets.toml resolves to valid, explicit vote configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import SchemaError, VoteKind, VoteSpec, tally
from rules.kinds import (
    DEFAULT_MOTION_THRESHOLD,
    DEFAULT_UNSATISFIED_THRESHOLD,
    ThresholdBase,
)
from voting_server.presets import (
    load_presets,
    preset_scopes,
    preset_titles,
    presets_for,
    resolve,
)
from voting_server.settings import CONFIG_DIR

PRESETS = CONFIG_DIR / "presets.toml"


def test_shipped_presets_include_the_named_ones() -> None:
    presets = load_presets(PRESETS)
    assert {"default", "two_thirds"} <= set(presets[VoteKind.MOTION])
    assert {"default", "satisfaction_below_60"} <= set(presets[VoteKind.EVALUATION])
    assert "default" in presets[VoteKind.SELECTION]


def test_default_preset_is_rules_md_default() -> None:
    presets = load_presets(PRESETS)
    spec = resolve(presets, VoteKind.MOTION, "default", {"subjects": ["budget"]})
    assert spec.threshold == DEFAULT_MOTION_THRESHOLD
    evaluation = resolve(presets, VoteKind.EVALUATION, "default", {"subjects": ["a"]})
    assert evaluation.evaluation.unsatisfied_threshold == DEFAULT_UNSATISFIED_THRESHOLD


def test_two_thirds_preset_needs_1987_of_2980() -> None:
    spec = resolve(load_presets(PRESETS), VoteKind.MOTION, "two_thirds", {"subjects": ["charter"]})
    assert spec.threshold.base is ThresholdBase.MEMBERS
    assert not spec.threshold.strict
    yes_1987 = [{"charter": "yes"}] * 1987 + [{"charter": "no"}] * 993
    result = tally(spec, 2980, 2980, yes_1987)
    assert result["subjects"]["charter"]["required"] == 1987
    assert result["subjects"]["charter"]["passed"] is True
    result = tally(spec, 2980, 2980, [*yes_1987[1:], {"charter": "no"}])
    assert result["subjects"]["charter"]["passed"] is False


def test_satisfaction_below_60_preset() -> None:
    spec = resolve(
        load_presets(PRESETS), VoteKind.EVALUATION, "satisfaction_below_60", {"subjects": ["d"]}
    )
    assert spec.evaluation.satisfaction_below == (3, 5)
    exactly_60 = [{"d": "satisfied"}] * 3 + [{"d": "unsatisfied"}] * 2
    assert tally(spec, 5, 5, exactly_60)["subjects"]["d"]["outcome"] == "satisfactory"
    below = [{"d": "satisfied"}] * 3 + [{"d": "unsatisfied"}] * 3
    assert tally(spec, 6, 6, below)["subjects"]["d"]["outcome"] == "unsatisfactory"


def _evaluation(name: str, subjects: list[str]) -> VoteSpec:
    return resolve(load_presets(PRESETS), VoteKind.EVALUATION, name, {"subjects": subjects})


def test_three_grades_preset_is_half_of_the_valid_marks_half_included() -> None:
    spec = _evaluation("three_grades", ["d"])
    half = [{"d": "satisfied"}] * 5 + [{"d": "unsatisfied"}] * 5  # 5 of 10: 满意
    assert tally(spec, 12, 12, half)["subjects"]["d"]["outcome"] == "satisfied"
    basic = [{"d": "satisfied"}] * 4 + [{"d": "basic"}] + [{"d": "unsatisfied"}] * 5
    assert tally(spec, 12, 12, basic)["subjects"]["d"]["outcome"] == "basic"
    under = [{"d": "satisfied"}] * 4 + [{"d": "unsatisfied"}] * 6
    assert tally(spec, 12, 12, under)["subjects"]["d"]["outcome"] == "unsatisfied"


def test_scores_presets_drop_the_highest_and_the_lowest() -> None:
    spec = _evaluation("scores", ["d"])
    result = tally(spec, 5, 5, [{"d": 0}, {"d": 80}, {"d": 90}, {"d": 100}])["subjects"]["d"]
    assert (result["mean"], result["trimmed"], "outcome" in result) == ("85.00", True, False)
    spec = _evaluation("scores_pass_60", ["d"])
    assert tally(spec, 3, 3, [{"d": 60}])["subjects"]["d"]["outcome"] == "satisfactory"
    assert tally(spec, 3, 3, [{"d": 59}])["subjects"]["d"]["outcome"] == "unsatisfactory"


def test_attending_deputies_preset_reports_three_ways_and_members_decide() -> None:
    spec = _evaluation("attending_deputies", ["d"])
    assert spec.evaluation.admit_attending
    members = [{"d": "satisfied"}] * 3
    attending = [{"d": "unsatisfied"}] * 5
    result = tally(spec, 5, 3, members, attending)
    d = result["subjects"]["d"]
    assert d["outcome"] == "satisfactory" and d["unsatisfied"] == 0
    assert (d["members"]["satisfied"], d["attending"]["unsatisfied"], d["all"]["invalid"]) == (
        3,
        5,
        0,
    )
    assert result["cast"] == 3 and result["overall_rate"] == "100.00"


def test_every_evaluation_preset_reports_the_overall_rate_unless_scored() -> None:
    for name in load_presets(PRESETS)[VoteKind.EVALUATION]:
        spec = _evaluation(name, ["a", "b"])
        result = tally(spec, 3, 3, [{"a": "satisfied", "b": "unsatisfied"}])
        assert ("overall_rate" in result) is (spec.evaluation.scores is None), name


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(SchemaError, match="preset"):
        resolve(load_presets(PRESETS), VoteKind.MOTION, "three_quarters", {"subjects": ["x"]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            '[motion.bad]\nthreshold = { base = "members", ratio = [1, 0], strict = true }\n',
            "ratio",
        ),
        (
            '[motion.bad]\nthreshhold = { base = "members", ratio = [1, 2], strict = true }\n',
            "motion.bad",
        ),
        ("[referendum.default]\n", "referendum"),
        ("[evaluation.bad]\nsatisfaction_below = [6, 5]\n", "satisfaction_below"),
    ],
)
def test_bad_preset_file_fails_at_load_naming_the_field(
    tmp_path: Path, body: str, field: str
) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        load_presets(path)
    assert field in str(err.value)


def test_a_preset_names_its_bodies_and_the_others_do_not_see_it() -> None:
    presets, scopes = load_presets(PRESETS), preset_scopes(PRESETS)
    committee = presets_for(presets, scopes, "standing_committee", "city")
    township = presets_for(presets, scopes, "congress", "township")
    assert "satisfaction_below_60" in committee[VoteKind.EVALUATION]
    assert "satisfaction_below_60" not in township[VoteKind.EVALUATION]
    assert set(township[VoteKind.MOTION]) == set(presets[VoteKind.MOTION])  # every body's


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ('bodies = ["parliament"]', "motion.x.bodies"),
        ("levels = []", "motion.x.levels"),
        ('levels = "city"', "motion.x.levels"),
    ],
)
def test_a_bad_preset_scope_is_refused_naming_it(tmp_path: Path, scope: str, field: str) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(f'[motion.x]\ntitle = "x"\n{scope}\n', encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        load_presets(path)
    assert err.value.field == field


def test_a_title_names_all_members_in_the_words_of_the_body() -> None:
    """全体代表 at a congress, 全体组成人员 at a standing committee, never the other."""
    path = CONFIG_DIR / "presets.toml"
    congress = preset_titles(path, "congress")
    committee = preset_titles(path, "standing_committee")
    assert congress["motion"]["default"] == "全体代表过半数通过"
    assert committee["motion"]["default"] == "全体组成人员过半数通过"
    assert committee["selection"]["default"] == "得票超过全体组成人员半数，按得票多少确定"
    every = [
        t for titles in (congress, committee) for named in titles.values() for t in named.values()
    ]
    assert not [t for t in every if "{" in t]
    assert not [t for named in committee.values() for t in named.values() if "全体代表" in t]
