"""Paper counts turned into ballots: their tally gives back exactly the counts entered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import SchemaError, VoteKind, VoteSpec, tally
from rules.paper import EVALUATION_COLUMNS, MOTION_COLUMNS, ballots_from_counts

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("a", "b"))
EVALUATION = VoteSpec(kind=VoteKind.EVALUATION, subjects=("x", "y", "z"))
SELECTION = VoteSpec(kind=VoteKind.SELECTION, candidates=tuple("pqrstu"), seats=4)


@st.composite
def subject_counts(draw: st.DrawFn, spec: VoteSpec, columns: tuple[str, ...]) -> dict:
    cast = draw(st.integers(0, 80))
    subjects = {}
    for subject in spec.subjects:
        cuts = sorted(draw(st.lists(st.integers(0, cast), min_size=3, max_size=3)))
        parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], cast - cuts[2]]
        subjects[subject] = dict(zip(columns, parts, strict=True))
    return {"cast": cast, "subjects": subjects}


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(subject_counts(MOTION, MOTION_COLUMNS))
def test_motion_counts_round_trip(counts: dict) -> None:
    ballots = ballots_from_counts(MOTION, counts)
    assert len(ballots) == counts["cast"]
    result = tally(MOTION, 100, 100, ballots)
    for subject, row in counts["subjects"].items():
        got = result["subjects"][subject]
        assert {c: got[c] for c in MOTION_COLUMNS} == row


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(subject_counts(EVALUATION, EVALUATION_COLUMNS))
def test_evaluation_counts_round_trip(counts: dict) -> None:
    result = tally(EVALUATION, 100, 100, ballots_from_counts(EVALUATION, counts))
    for subject, row in counts["subjects"].items():
        got = result["subjects"][subject]
        assert {c: got[c] for c in EVALUATION_COLUMNS} == row


@st.composite
def selection_counts(draw: st.DrawFn) -> dict:
    valid = draw(st.integers(0, 60))
    votes = {c: draw(st.integers(0, valid)) for c in SELECTION.candidates}
    while sum(votes.values()) > SELECTION.seats * valid:  # keep it fillable
        top = max(votes, key=votes.__getitem__)
        votes[top] -= 1
    return {"valid": valid, "invalid": draw(st.integers(0, 10)), "votes": votes}


@settings(max_examples=300, deadline=None)
@given(selection_counts())
def test_selection_counts_round_trip(counts: dict) -> None:
    ballots = ballots_from_counts(SELECTION, counts)
    assert len(ballots) == counts["valid"] + counts["invalid"]
    result = tally(SELECTION, 100, 100, ballots)["selection"]
    assert result["votes"] == counts["votes"]
    assert result["invalid"] == counts["invalid"]


@pytest.mark.parametrize(
    ("spec", "counts", "field"),
    [
        (MOTION, {"cast": 3, "subjects": {"a": {"yes": 1, "no": 1, "abstain": 0, "invalid": 0},
                                          "b": {"yes": 3, "no": 0, "abstain": 0, "invalid": 0}}},
         "counts.subjects.a"),
        (MOTION, {"cast": 1, "subjects": {"a": {"yes": 1, "no": 0, "abstain": 0, "invalid": 0}}},
         "counts.subjects"),
        (MOTION, {"cast": -1, "subjects": {}}, "counts.cast"),
        (MOTION, {"cast": True, "subjects": {}}, "counts.cast"),
        (EVALUATION, {"cast": 1}, "counts"),
        (SELECTION, {"valid": 2, "invalid": 0, "votes": dict.fromkeys("pqrstu", 3)},
         "counts.votes.p"),
        (SELECTION, {"valid": 1, "invalid": 0, "votes": dict.fromkeys("pqrstu", 1)},
         "counts.votes"),
        (SELECTION, {"valid": 1, "invalid": 0, "votes": {"p": 1}}, "counts.votes"),
        (SELECTION, [], "counts"),
    ],
    ids=["subject does not add up", "subject missing", "negative", "boolean", "no subjects",
         "more votes than ballots", "more names than seats", "candidates missing", "not an object"],
)  # fmt: skip
def test_bad_counts_are_refused_naming_the_field(spec: VoteSpec, counts, field: str) -> None:
    with pytest.raises(SchemaError) as refused:
        ballots_from_counts(spec, counts)
    assert refused.value.field == field
