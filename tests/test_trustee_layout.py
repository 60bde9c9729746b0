"""Trustee mode's side of the vote kinds: each kind's encrypted layout, and decrypted
per-option totals turned into a paper count that tallies exactly as the ballots do.

The property tests draw kiosk ballots (``Kind.random_ballot``, seeded), add up their
marks per option the plain way (below, without the kind's code), turn the totals into
counts (``counts_from_option_totals``) and ballots (``ballots_from_counts``), and
check that the rules engine gives the same result as for the ballots themselves.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from rules import SchemaError, VoteSpec, tally
from rules.kinds import (
    EvaluationRule,
    GradeRule,
    KindConfig,
    MarksKind,
    NoTrusteeMode,
    OutcomeGroup,
    ScoreRule,
    Threshold,
    ThresholdBase,
    kind_of,
)

SEEDS = range(40)


def motion_spec(rng: random.Random) -> VoteSpec:
    subjects = tuple(f"s{i}" for i in range(rng.randint(1, 4)))
    return VoteSpec(kind="motion", subjects=subjects)


def selection_spec(rng: random.Random) -> VoteSpec:
    candidates = tuple(f"c{i}" for i in range(rng.randint(1, 12)))
    return VoteSpec(kind="selection", candidates=candidates, seats=rng.randint(1, len(candidates)))


def evaluation_spec(rng: random.Random, attending: bool = False) -> VoteSpec:
    rules = [
        EvaluationRule(),
        EvaluationRule(unsatisfied_threshold=None, satisfaction_below=(2, 3)),
        EvaluationRule(unsatisfied_threshold=None, grades=GradeRule()),
    ]
    rule = rng.choice(rules)
    if attending:
        outcome_on = rng.choice(list(OutcomeGroup))
        rule = EvaluationRule(
            unsatisfied_threshold=rule.unsatisfied_threshold,
            satisfaction_below=rule.satisfaction_below,
            grades=rule.grades,
            admit_attending=True,
            outcome_on=outcome_on,
        )
    subjects = tuple(f"d{i}" for i in range(rng.randint(1, 5)))
    return VoteSpec(kind="evaluation", subjects=subjects, evaluation=rule)


def plain_totals(spec: VoteSpec, ballots: Sequence[Any]) -> dict[str, dict[str, int]]:
    """Per contest and option, how many ballots mark it — written from the layout of
    docs/trustee-crypto.md, not from the kinds' code."""
    if spec.kind == "selection":
        return {"candidates": {c: sum(c in b for b in ballots) for c in spec.candidates}}
    options = ("yes", "no") if spec.kind == "motion" else ("satisfied", "basic", "unsatisfied")
    return {s: {o: sum(b.get(s) == o for b in ballots) for o in options} for s in spec.subjects}


def draw_ballots(spec: VoteSpec, rng: random.Random, most: int = 30) -> list[Any]:
    kind = kind_of(spec.kind)
    ballots = [kind.random_ballot(spec, rng) for _ in range(rng.randint(0, most))]
    assert all(kind.electronic_error(spec, b) is None for b in ballots)
    return ballots


def from_totals(spec: VoteSpec, ballots: Sequence[Any]) -> list[Any]:
    """The ballots the rules engine gets in trustee mode: made from the totals alone."""
    kind = kind_of(spec.kind)
    counts = kind.counts_from_option_totals(spec, len(ballots), plain_totals(spec, ballots))
    return kind.ballots_from_counts(spec, counts)


def turnout(rng: random.Random, cast: int) -> tuple[int, int]:
    members = cast + rng.randint(1, 20)
    return members, rng.randint(cast, members)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("make_spec", [motion_spec, selection_spec, evaluation_spec])
def test_totals_tally_as_the_ballots_do(seed: int, make_spec: Any) -> None:
    rng = random.Random(seed)
    spec = make_spec(rng)
    ballots = draw_ballots(spec, rng)
    members, present = turnout(rng, len(ballots))
    assert tally(spec, members, present, from_totals(spec, ballots)) == tally(
        spec, members, present, ballots
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_attending_deputies_are_counted_apart_from_their_own_totals(seed: int) -> None:
    rng = random.Random(seed)
    spec = evaluation_spec(rng, attending=True)
    ballots, attending = draw_ballots(spec, rng), draw_ballots(spec, rng, most=10)
    members, present = turnout(rng, len(ballots))
    expected = tally(spec, members, present, ballots, attending)
    got = tally(spec, members, present, from_totals(spec, ballots), from_totals(spec, attending))
    assert got == expected
    assert "attending" in next(iter(got["subjects"].values()))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("make_spec", [motion_spec, selection_spec, evaluation_spec])
def test_option_marks_follow_the_layout_and_add_up_to_the_totals(seed: int, make_spec: Any) -> None:
    rng = random.Random(seed)
    spec = make_spec(rng)
    kind = kind_of(spec.kind)
    layout = kind.encrypted_layout(spec)
    ballots = draw_ballots(spec, rng)
    summed = [[0] * len(c["options"]) for c in layout]
    for ballot in ballots:
        marks = kind.option_marks(spec, ballot)
        assert [len(m) for m in marks] == [len(c["options"]) for c in layout]
        for contest, row, sums in zip(layout, marks, summed, strict=True):
            assert set(row) <= {0, 1} and sum(row) <= contest["limit"]
            sums[:] = [a + b for a, b in zip(sums, row, strict=True)]
    expected = plain_totals(spec, ballots)
    assert {
        c["id"]: dict(zip(c["options"], s, strict=True))
        for c, s in zip(layout, summed, strict=True)
    } == expected


def test_layouts_of_the_three_kinds() -> None:
    motion = VoteSpec(kind="motion", subjects=("budget", "plan"))
    assert kind_of("motion").encrypted_layout(motion) == [
        {"id": "budget", "options": ["yes", "no"], "limit": 1},
        {"id": "plan", "options": ["yes", "no"], "limit": 1},
    ]
    selection = VoteSpec(kind="selection", candidates=("p", "q", "r"), seats=2)
    assert kind_of("selection").encrypted_layout(selection) == [
        {"id": "candidates", "options": ["p", "q", "r"], "limit": 2}
    ]
    evaluation = VoteSpec(kind="evaluation", subjects=("health",))
    assert kind_of("evaluation").encrypted_layout(evaluation) == [
        {"id": "health", "options": ["satisfied", "basic", "unsatisfied"], "limit": 1}
    ]


def test_counts_by_hand() -> None:
    motion = VoteSpec(kind="motion", subjects=("a",))
    counts = kind_of("motion").counts_from_option_totals(motion, 10, {"a": {"yes": 6, "no": 3}})
    assert counts == {
        "cast": 10,
        "subjects": {"a": {"yes": 6, "no": 3, "abstain": 1, "invalid": 0}},
    }
    evaluation = VoteSpec(kind="evaluation", subjects=("x",))
    totals = {"x": {"satisfied": 4, "basic": 2, "unsatisfied": 1}}
    assert kind_of("evaluation").counts_from_option_totals(evaluation, 9, totals) == {
        "cast": 9,
        "subjects": {"x": {"satisfied": 4, "basic": 2, "unsatisfied": 1, "invalid": 2}},
    }
    selection = VoteSpec(kind="selection", candidates=("p", "q"), seats=1)
    totals = {"candidates": {"p": 3, "q": 2}}
    assert kind_of("selection").counts_from_option_totals(selection, 7, totals) == {
        "valid": 7,
        "invalid": 0,
        "votes": {"p": 3, "q": 2},
    }


MOTION = VoteSpec(kind="motion", subjects=("a", "b"))
SELECTION = VoteSpec(kind="selection", candidates=("p", "q", "r"), seats=2)
EVALUATION = VoteSpec(kind="evaluation", subjects=("x",))
OK_B = {"yes": 0, "no": 0}


@pytest.mark.parametrize(
    ("spec", "cast", "totals", "field", "words"),
    [
        (MOTION, 5, {"a": {"yes": 3, "no": 3}, "b": OK_B}, "totals.a", "6 marks in all"),
        (MOTION, 5, {"a": {"yes": -1, "no": 0}, "b": OK_B}, "totals.a.yes", "-1"),
        (MOTION, 5, {"a": {"yes": 6, "no": 0}, "b": OK_B}, "totals.a.yes", "5 ballots cast"),
        (MOTION, 5, {"a": {"yes": True, "no": 0}, "b": OK_B}, "totals.a.yes", "True"),
        (MOTION, 5, {"a": {"yes": 1.0, "no": 0}, "b": OK_B}, "totals.a.yes", "1.0"),
        (MOTION, 5, {"a": {"yes": 1, "no": 0}}, "totals", "missing ['b']"),
        (MOTION, 5, {"a": {"yes": 1, "no": 0}, "b": OK_B, "c": OK_B}, "totals", "unknown ['c']"),
        (MOTION, 5, {"a": {"yes": 1, "no": 0, "abstain": 4}, "b": OK_B}, "totals.a", "unknown"),
        (MOTION, 5, {"a": {"yes": 1}, "b": OK_B}, "totals.a", "missing ['no']"),
        (MOTION, 5, [[1, 0], [0, 0]], "totals", "must be an object"),
        (MOTION, -1, {"a": OK_B, "b": OK_B}, "cast", "integer"),
        (SELECTION, 2, {"candidates": {"p": 2, "q": 2, "r": 1}}, "totals.candidates", "5 marks"),
        (SELECTION, 2, {"candidates": {"p": 3, "q": 0, "r": 0}}, "totals.candidates.p", "3"),
        (SELECTION, 2, {"candidates": {"p": 1, "q": 0}}, "totals.candidates", "missing ['r']"),
        (SELECTION, 2, {"selection": {"p": 1, "q": 0, "r": 0}}, "totals", "candidates"),
        (EVALUATION, 3, {"x": {"satisfied": 2, "basic": 1, "unsatisfied": 1}}, "totals.x", "4"),
        (
            EVALUATION,
            3,
            {"x": {"satisfied": 2, "basic": 1, "invalid": 0}},
            "totals.x",
            "missing ['unsatisfied']",
        ),
    ],
)
def test_impossible_totals_are_refused_naming_the_contest(
    spec: VoteSpec, cast: Any, totals: Any, field: str, words: str
) -> None:
    with pytest.raises(SchemaError) as refused:
        kind_of(spec.kind).counts_from_option_totals(spec, cast, totals)
    assert refused.value.field == field
    assert words in refused.value.message


SCORES = VoteSpec(
    kind="evaluation",
    subjects=("x",),
    evaluation=EvaluationRule(unsatisfied_threshold=None, scores=ScoreRule()),
)


def test_scores_have_no_trustee_mode() -> None:
    kind = kind_of("evaluation")
    assert not kind.supports_trustees(SCORES)
    for call in (
        lambda: kind.encrypted_layout(SCORES),
        lambda: kind.option_marks(SCORES, {"x": 80}),
        lambda: kind.counts_from_option_totals(SCORES, 1, {"x": {}}),
    ):
        with pytest.raises(NoTrusteeMode, match="trustee mode is not available for this kind"):
            call()


def test_the_three_kinds_support_trustees() -> None:
    for spec in (MOTION, SELECTION, EVALUATION):
        assert kind_of(spec.kind).supports_trustees(spec)


class Marks(MarksKind):
    """A kind of marks that does not name its unmarked column: no trustee mode."""

    name = "marks_without_trustees"
    label_zh = label_en = "marks"
    config_model = KindConfig
    marks = ("agree", "disagree")
    paper_columns = ("agree", "disagree", "invalid")
    paper_invalid_mark = None
    column_labels = ("agree", "disagree", "invalid")

    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        return {}

    def tally(self, spec: VoteSpec, turnout: Any, ballots: Sequence[Any], decides: bool) -> Any:
        return {}

    def sheet_table(self, *args: Any) -> Any:
        raise NotImplementedError

    def summary(self, *args: Any) -> str:
        raise NotImplementedError

    def export_rows(self, *args: Any) -> list[dict[str, Any]]:
        raise NotImplementedError


def test_a_kind_that_does_not_say_how_has_no_trustee_mode() -> None:
    kind = Marks()
    assert not kind.supports_trustees(MOTION)
    for call in (
        lambda: kind.encrypted_layout(MOTION),
        lambda: kind.option_marks(MOTION, {}),
        lambda: kind.counts_from_option_totals(MOTION, 0, {}),
    ):
        with pytest.raises(NoTrusteeMode) as refused:
            call()
        assert refused.value.field == "vote.kind"
        assert "marks_without_trustees" in refused.value.message


def test_a_threshold_on_valid_marks_sees_the_same_valid_count() -> None:
    """弃权 counted from the totals changes no valid-mark base: a motion decided on
    the valid marks passes or fails alike."""
    spec = VoteSpec(
        kind="motion",
        subjects=("a",),
        threshold=Threshold(ThresholdBase.VALID, 1, 2, strict=True),
    )
    ballots: list[dict[str, str]] = [{"a": "yes"}] * 3 + [{"a": "no"}] * 2 + [{}] * 4
    assert tally(spec, 20, 15, from_totals(spec, ballots)) == tally(spec, 20, 15, ballots)
