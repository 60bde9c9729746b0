"""Paper counts (人工计票) as ballots, so that a hand count goes through the same tally.

When the electronic system fails, the scrutineers count paper ballots by
hand (RULES.md). The secretariat enters either the paper ballots
themselves (the ``tally`` format) or the counts. Counts are turned here
into an equivalent list of ballots — one per paper ballot cast — whose
tally gives exactly those counts; the log keeps both, and the verifier
recounts the ballots with the same engine. Pure: no I/O.

Counts, by kind (every number a non-negative integer):

- motion:     ``{"cast": n, "subjects": {id: {"yes", "no", "abstain", "invalid"}}}``,
  each subject's four numbers summing to ``cast``;
- evaluation: ``{"cast": n, "subjects": {id: {"satisfied", "basic", "unsatisfied", "invalid"}}}``,
  likewise;
- selection:  ``{"valid": v, "invalid": i, "votes": {id: n}}``, each candidate's
  votes at most ``valid``, all votes at most ``seats × valid``.
"""

from __future__ import annotations

from typing import Any

from rules.kinds import EvaluationMark, MotionMark, VoteKind, VoteSpec
from rules.schema import SchemaError

SPOILED = "spoiled"  # the mark of a motion subject spoiled on paper (废票): counted invalid
MAX_PAPER_BALLOTS = 100_000
PAPER_SIGNATURES = 2  # 两名监票人 countersign a hand count before it is published

MOTION_COLUMNS = (MotionMark.YES.value, MotionMark.NO.value, MotionMark.ABSTAIN.value, "invalid")
EVALUATION_COLUMNS = (
    EvaluationMark.SATISFIED.value,
    EvaluationMark.BASIC.value,
    EvaluationMark.UNSATISFIED.value,
    "invalid",
)


def _count(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PAPER_BALLOTS:
        raise SchemaError(field, f"must be an integer from 0 to {MAX_PAPER_BALLOTS}")
    return value


def _object(value: Any, field: str, keys: tuple[str, ...] | frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(field, "must be an object")
    if set(value) != set(keys):
        missing, extra = set(keys) - set(value), set(value) - set(keys)
        detail = f"missing {sorted(missing)}" if missing else f"unknown {sorted(extra)}"
        raise SchemaError(field, f"must have exactly the keys {sorted(keys)} ({detail})")
    return value


def ballots_from_counts(spec: VoteSpec, counts: Any) -> list[Any]:
    """Ballots whose tally under ``spec`` gives ``counts``; SchemaError names a bad field."""
    if spec.kind is VoteKind.SELECTION:
        return _selection(spec, counts)
    columns = MOTION_COLUMNS if spec.kind is VoteKind.MOTION else EVALUATION_COLUMNS
    counts = _object(counts, "counts", ("cast", "subjects"))
    cast = _count(counts["cast"], "counts.cast")
    subjects = _object(counts["subjects"], "counts.subjects", spec.subjects)
    ballots: list[dict[str, str]] = [{} for _ in range(cast)]
    for subject in spec.subjects:
        field = f"counts.subjects.{subject}"
        row = _object(subjects[subject], field, columns)
        numbers = [_count(row[c], f"{field}.{c}") for c in columns]
        if sum(numbers) != cast:
            raise SchemaError(field, f"adds up to {sum(numbers)}, but {cast} ballots were cast")
        position = 0
        for column, number in zip(columns, numbers, strict=True):
            for ballot in ballots[position : position + number]:
                if column != "invalid":
                    ballot[subject] = column
                elif spec.kind is VoteKind.MOTION:
                    ballot[subject] = SPOILED  # unmarked would be 弃权 in a motion
                # evaluation: left unmarked, which is invalid (不选择的投票无效)
            position += number
    return ballots


def _selection(spec: VoteSpec, counts: Any) -> list[list[str]]:
    counts = _object(counts, "counts", ("valid", "invalid", "votes"))
    valid = _count(counts["valid"], "counts.valid")
    invalid = _count(counts["invalid"], "counts.invalid")
    votes = _object(counts["votes"], "counts.votes", spec.candidates)
    numbers = {c: _count(votes[c], f"counts.votes.{c}") for c in spec.candidates}
    for candidate, number in numbers.items():
        if number > valid:
            raise SchemaError(
                f"counts.votes.{candidate}", f"{number} votes, but only {valid} valid ballots"
            )
    if sum(numbers.values()) > spec.seats * valid:
        raise SchemaError(
            "counts.votes",
            f"{sum(numbers.values())} votes in all, more than {spec.seats} on each of {valid} ballots",
        )
    # Deal each candidate's votes round the valid ballots: a candidate's votes
    # (at most ``valid``) land on distinct ballots, and no ballot gets more
    # than ceil(total / valid) <= seats names.
    ballots: list[list[str]] = [[] for _ in range(valid)]
    position = 0
    for candidate in spec.candidates:
        for _ in range(numbers[candidate]):
            ballots[position % valid].append(candidate)
            position += 1
    spoiled = [[spec.candidates[0], spec.candidates[0]] for _ in range(invalid)]  # a name twice
    return ballots + spoiled
