"""现场打分 (scores), a variant of the evaluation kind: the counting of scores.

Each subject gets an integer score in [min, max]; a blank, non-integer or
out-of-range score is invalid for that subject. The mean of the valid scores
drops the ``trim`` highest and ``trim`` lowest (去掉最高分、最低分) when more
than 2 × trim are valid, and is kept as an exact fraction; it is shown with
two decimals rounded half up, and the outcome (when a pass mark is set) is
judged on the shown mean. Pure: no floats, no I/O. ``rules.kinds.evaluation``
is the kind; this module only counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, Any

from pydantic import Field, model_validator

from rules.kinds.config import Strict
from rules.kinds.vocabulary import SCORE_LIMIT, ScoreRule

Score = Annotated[int, Field(ge=0, le=SCORE_LIMIT)]


class ScoresModel(Strict):
    """The ``scores`` object of an evaluation's configuration (CONTRACTS.md §2)."""

    min: Score = 0
    max: Score = 100
    trim: Annotated[int, Field(ge=0, le=100)] = 1
    pass_mark: Score | None = None

    @model_validator(mode="after")
    def _range(self) -> ScoresModel:
        if self.min >= self.max:
            raise ValueError(f"min must be below max; got {self.min}, {self.max}")
        if self.pass_mark is not None and not self.min <= self.pass_mark <= self.max:
            raise ValueError(f"pass_mark must lie in [{self.min}, {self.max}]")
        return self

    def to_rule(self) -> ScoreRule:
        return ScoreRule(low=self.min, high=self.max, trim=self.trim, pass_mark=self.pass_mark)


def scores_json(rule: ScoreRule) -> dict[str, object]:
    """The ``scores`` object of ``rule``, every default explicit (``pass_mark`` when set)."""
    out: dict[str, object] = {"min": rule.low, "max": rule.high, "trim": rule.trim}
    if rule.pass_mark is not None:
        out["pass_mark"] = rule.pass_mark
    return out


def two_decimals(value: Fraction) -> str:
    """A non-negative fraction with two decimals, rounded half up (256/3 → "85.33")."""
    hundredths = (value.numerator * 200 // value.denominator + 1) // 2
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def trimmed_mean(scores: Sequence[int], trim: int) -> tuple[Fraction | None, bool]:
    """The mean of ``scores`` without the ``trim`` highest and ``trim`` lowest, exactly,
    and whether it was trimmed: only when more than 2 × trim scores are given (with
    fewer, dropping would leave too few, so the plain mean is kept). None if empty."""
    if not scores:
        return None, False
    ordered = sorted(scores)
    trimmed = trim > 0 and len(ordered) > 2 * trim
    kept = ordered[trim : len(ordered) - trim] if trimmed else ordered
    return Fraction(sum(kept), len(kept)), trimmed


def reaches(shown: str, pass_mark: int) -> bool:
    """Whether a shown mean ("59.995" shows as "60.00") is at least ``pass_mark``."""
    whole, _, cents = shown.partition(".")
    return int(whole) * 100 + int(cents) >= pass_mark * 100


def count_scores(rule: ScoreRule, subject: str, ballots: Sequence[Any]) -> dict[str, Any]:
    """One group's scores for ``subject``: valid, invalid, mean (shown), trimmed."""
    valid: list[int] = []
    invalid = 0
    for ballot in ballots:
        score = ballot.get(subject)
        if rule.valid(score):
            valid.append(score)
        else:
            invalid += 1
    mean, trimmed = trimmed_mean(valid, rule.trim)
    return {
        "valid": len(valid),
        "invalid": invalid,
        "mean": None if mean is None else two_decimals(mean),
        "trimmed": trimmed,
        "_exact": mean,  # the exact mean ranks; dropped before the result leaves the kind
    }
