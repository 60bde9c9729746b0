"""Schemas for vote configurations and tally scenarios (CONTRACTS.md §2).

Everything that reaches the engine from outside — a scenario file, an agenda
form, a logged vote configuration — passes through these models first, so
the engine's preconditions hold. Errors carry the dotted path of the
offending field (``vote.threshold.ratio[1]``) and a message fit for one line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules.engine import selection_ballot_is_valid
from rules.kinds import (
    DEFAULT_MOTION_THRESHOLD,
    DEFAULT_QUORUM,
    DEFAULT_SELECTION_THRESHOLD,
    EVALUATION_MARKS,
    MOTION_MARKS,
    EvaluationRule,
    Threshold,
    ThresholdBase,
    VoteKind,
    VoteSpec,
)

# Ids of subjects and candidates: short, printable, no surrounding whitespace.
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Ratio = tuple[Count, Annotated[int, Field(gt=0, le=1_000_000)]]


def _proper_fraction(ratio: Ratio | None) -> Ratio | None:
    if ratio is not None and ratio[0] > ratio[1]:
        raise ValueError(f"[num, den] needs num <= den; got {list(ratio)}")
    return ratio


class SchemaError(ValueError):
    """Bad input, with the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ThresholdModel(_Strict):
    base: ThresholdBase
    ratio: Ratio
    strict: bool

    _ratio = field_validator("ratio")(_proper_fraction)

    def to_threshold(self) -> Threshold:
        return Threshold(self.base, self.ratio[0], self.ratio[1], self.strict)

    @classmethod
    def of(cls, threshold: Threshold) -> ThresholdModel:
        return cls(
            base=threshold.base, ratio=(threshold.num, threshold.den), strict=threshold.strict
        )


def _unique(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{i!r} is listed twice")
        seen.add(i)
    return ids


class MotionVote(_Strict):
    kind: Literal[VoteKind.MOTION]
    subjects: Annotated[list[Id], Field(min_length=1, max_length=200)]
    threshold: ThresholdModel | None = None
    quorum: ThresholdModel | None = None

    _ids = field_validator("subjects")(_unique)

    def to_spec(self) -> VoteSpec:
        return VoteSpec(
            kind=VoteKind.MOTION,
            subjects=tuple(self.subjects),
            threshold=self.threshold.to_threshold() if self.threshold else DEFAULT_MOTION_THRESHOLD,
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
        )


class SelectionVote(_Strict):
    kind: Literal[VoteKind.SELECTION]
    candidates: Annotated[list[Id], Field(min_length=1, max_length=500)]
    seats: Annotated[int, Field(ge=1)]
    threshold: ThresholdModel | None = None
    quorum: ThresholdModel | None = None

    _ids = field_validator("candidates")(_unique)

    @field_validator("seats")
    @classmethod
    def _seats(cls, seats: int, info: ValidationInfo) -> int:
        candidates = info.data.get("candidates")
        if candidates is not None and seats > len(candidates):
            raise ValueError(f"{seats} seats exceed the {len(candidates)} candidates")
        return seats

    def to_spec(self) -> VoteSpec:
        return VoteSpec(
            kind=VoteKind.SELECTION,
            candidates=tuple(self.candidates),
            seats=self.seats,
            threshold=self.threshold.to_threshold()
            if self.threshold
            else DEFAULT_SELECTION_THRESHOLD,
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
        )


class EvaluationVote(_Strict):
    kind: Literal[VoteKind.EVALUATION]
    subjects: Annotated[list[Id], Field(min_length=1, max_length=200)]
    quorum: ThresholdModel | None = None
    unsatisfied_threshold: ThresholdModel | None = None
    satisfaction_below: Ratio | None = None

    _ids = field_validator("subjects")(_unique)
    _below = field_validator("satisfaction_below")(_proper_fraction)

    @model_validator(mode="after")
    def _one_rule(self) -> EvaluationVote:
        if self.unsatisfied_threshold is not None and self.satisfaction_below is not None:
            raise ValueError("give unsatisfied_threshold or satisfaction_below, not both")
        return self

    def to_spec(self) -> VoteSpec:
        if self.satisfaction_below is not None:
            rule = EvaluationRule(
                unsatisfied_threshold=None, satisfaction_below=self.satisfaction_below
            )
        elif self.unsatisfied_threshold is not None:
            rule = EvaluationRule(unsatisfied_threshold=self.unsatisfied_threshold.to_threshold())
        else:
            rule = EvaluationRule()
        return VoteSpec(
            kind=VoteKind.EVALUATION,
            subjects=tuple(self.subjects),
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
            evaluation=rule,
        )


VoteConfig = Annotated[MotionVote | SelectionVote | EvaluationVote, Field(discriminator="kind")]
_VOTE_CONFIG: TypeAdapter[MotionVote | SelectionVote | EvaluationVote] = TypeAdapter(VoteConfig)


class _ScenarioModel(BaseModel):
    # Unknown top-level keys (``expect``, a title, notes) are allowed; inside
    # ``vote`` they are not, since a misspelt threshold must not fall back silently.
    model_config = ConfigDict(extra="allow", strict=True)
    members: Annotated[int, Field(ge=1, le=1_000_000)]
    present: Count
    vote: VoteConfig
    ballots: Annotated[list[Any], Field(max_length=1_000_000)]


class Scenario(BaseModel):
    """A validated tally input: the vote, the turnout, and the ballots."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    members: int
    present: int
    spec: VoteSpec
    ballots: tuple[Any, ...]


def format_loc(loc: tuple[int | str, ...]) -> str:
    """('vote', 'ratio', 1) → 'vote.ratio[1]'; pydantic's union tags are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {k.value for k in VoteKind} or part.startswith(("function-", "tagged-union")):
            continue
        else:
            out += f".{part}" if out else part
    return out or "scenario"


def first_error(exc: ValidationError) -> SchemaError:
    """The first pydantic error as a SchemaError naming its field."""
    err = exc.errors(include_url=False)[0]
    field = format_loc(tuple(err["loc"]))
    message = err["msg"]
    if err["type"] == "union_tag_invalid":
        field = f"{field}.kind"
        message = (
            f"unknown kind {err['input'].get('kind')!r}; expected motion, selection or evaluation"
        )
    elif err["type"] == "union_tag_not_found":
        field = f"{field}.kind"
        message = "missing; expected motion, selection or evaluation"
    message = message.removeprefix("Value error, ")
    return SchemaError(field, message.replace("\n", " "))


def check_ballot(spec: VoteSpec, ballot: Any, field: str) -> None:
    """Raise SchemaError unless ``ballot`` has the shape the engine expects.

    Marks themselves are not judged here: an invalid mark is the voter's,
    and the engine counts it as invalid. What is refused is structure — a
    ballot of the wrong type, or one naming a subject the vote does not have.
    """
    if spec.kind is VoteKind.SELECTION:
        if not isinstance(ballot, list):
            raise SchemaError(field, "a selection ballot must be a list of candidate ids")
        if len(ballot) > 10_000:
            raise SchemaError(field, "too many entries")
        return
    if not isinstance(ballot, dict):
        raise SchemaError(field, f"a {spec.kind.value} ballot must be an object subject → mark")
    for key in ballot:
        if key not in spec.subjects:
            raise SchemaError(f"{field}.{key}", f"not a subject of this vote {list(spec.subjects)}")


def electronic_ballot_error(spec: VoteSpec, ballot: Any) -> str | None:
    """Why a ballot from a kiosk is not acceptable, or None.

    A paper ballot may carry invalid marks, which the engine counts as such;
    a kiosk offers only valid choices, so anything else from one is refused:
    each mark one of the kind's strings (subjects may be left unmarked), a
    selection of at most ``seats`` distinct candidates.
    """
    try:
        check_ballot(spec, ballot, "ballot")
    except SchemaError as exc:
        return str(exc)
    if spec.kind is VoteKind.SELECTION:
        if not selection_ballot_is_valid(ballot, frozenset(spec.candidates), spec.seats):
            return f"ballot: choose at most {spec.seats} distinct candidates of this vote"
        return None
    marks = MOTION_MARKS if spec.kind is VoteKind.MOTION else EVALUATION_MARKS
    for subject, mark in ballot.items():
        if not isinstance(mark, str) or mark not in marks:
            return f"ballot.{subject}: mark must be one of {sorted(marks)}"
    return None


def parse_vote_config(data: Any) -> VoteSpec:
    """Validate a ``vote`` object (CONTRACTS.md §2) into a VoteSpec."""
    try:
        model = _VOTE_CONFIG.validate_json(json.dumps(data))
    except ValidationError as exc:
        raise first_error(exc) from None
    return model.to_spec()


def parse_scenario(text: str | bytes) -> Scenario:
    """Validate a scenario file's text. Raises SchemaError naming the first bad field."""
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError("scenario", f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise SchemaError("scenario", "expected a JSON object")
    try:
        model = _ScenarioModel.model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        raise first_error(exc) from None
    if model.present > model.members:
        raise SchemaError("present", f"{model.present} present exceeds {model.members} members")
    spec = model.vote.to_spec()
    for i, ballot in enumerate(model.ballots):
        check_ballot(spec, ballot, f"ballots[{i}]")
    return Scenario(
        members=model.members, present=model.present, spec=spec, ballots=tuple(model.ballots)
    )
