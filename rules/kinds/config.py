"""Building blocks shared by the kinds' configuration schemas and paper counts.

Kept apart from ``rules.schema`` so that a kind module can import them while
the schema (which lists the registered kinds) imports the kinds.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules.kinds.vocabulary import Threshold, ThresholdBase

# Ids of subjects and candidates: short, printable, no surrounding whitespace.
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Ratio = tuple[Count, Annotated[int, Field(gt=0, le=1_000_000)]]

MAX_PAPER_BALLOTS = 100_000


def proper_fraction(ratio: Ratio | None) -> Ratio | None:
    if ratio is not None and ratio[0] > ratio[1]:
        raise ValueError(f"[num, den] needs num <= den; got {list(ratio)}")
    return ratio


def unique(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{i!r} is listed twice")
        seen.add(i)
    return ids


class SchemaError(ValueError):
    """Bad input, with the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Strict(BaseModel):
    """The base of every kind's configuration model: no unknown keys, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ThresholdModel(Strict):
    base: ThresholdBase
    ratio: Ratio
    strict: bool

    _ratio = field_validator("ratio")(proper_fraction)

    def to_threshold(self) -> Threshold:
        return Threshold(self.base, self.ratio[0], self.ratio[1], self.strict)

    @classmethod
    def of(cls, threshold: Threshold) -> ThresholdModel:
        return cls(
            base=threshold.base, ratio=(threshold.num, threshold.den), strict=threshold.strict
        )


# --- paper counts ------------------------------------------------------------------


def paper_count(value: Any, field: str) -> int:
    """A hand-counted number: an integer from 0 to MAX_PAPER_BALLOTS."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PAPER_BALLOTS:
        raise SchemaError(field, f"must be an integer from 0 to {MAX_PAPER_BALLOTS}")
    return value


def paper_object(value: Any, field: str, keys: tuple[str, ...] | frozenset[str]) -> dict[str, Any]:
    """An object with exactly ``keys``."""
    if not isinstance(value, dict):
        raise SchemaError(field, "must be an object")
    if set(value) != set(keys):
        missing, extra = set(keys) - set(value), set(value) - set(keys)
        detail = f"missing {sorted(missing)}" if missing else f"unknown {sorted(extra)}"
        raise SchemaError(field, f"must have exactly the keys {sorted(keys)} ({detail})")
    return value
