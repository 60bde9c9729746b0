"""Schemas for vote configurations and tally scenarios (CONTRACTS.md §2).

Everything that reaches the engine from outside — a scenario file, an agenda
form, a logged vote configuration — passes through these models first, so
the engine's preconditions hold. Errors carry the dotted path of the
offending field (``vote.threshold.ratio[1]``) and a message fit for one line.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from rules.kinds import VoteSpec, all_kinds, kind_of, names
from rules.kinds.config import Id, SchemaError, ThresholdModel
from rules.kinds.registry import generation

__all__ = [
    "Id",
    "Scenario",
    "SchemaError",
    "ThresholdModel",
    "check_ballot",
    "electronic_ballot_error",
    "format_loc",
    "parse_scenario",
    "parse_vote_config",
]


@cache
def _models(_generation: int) -> tuple[TypeAdapter[Any], Any]:
    """The ``vote`` schema of every registered kind (pydantic picks one by ``kind``),
    and the scenario schema around it; rebuilt when a kind is registered."""
    configs = tuple(k.config_model for k in all_kinds())
    vote = Annotated[Union[configs], Field(discriminator="kind")]  # noqa: UP007
    scenario = create_model(
        "_ScenarioModel",
        __base__=_ScenarioBase,
        vote=(vote, ...),
        ballots=(Annotated[list[Any], Field(max_length=1_000_000)], ...),
        # 列席代表's ballots, where the vote admits them (counted apart from members')
        attending_ballots=(Annotated[list[Any], Field(max_length=1_000_000)], []),
    )
    return TypeAdapter(vote), scenario


class _ScenarioBase(BaseModel):
    # Unknown top-level keys (``expect``, a title, notes) are allowed; inside
    # ``vote`` they are not, since a misspelt threshold must not fall back silently.
    model_config = ConfigDict(extra="allow", strict=True)
    members: Annotated[int, Field(ge=1, le=1_000_000)]
    present: Annotated[int, Field(ge=0, le=1_000_000)]


def _expected_kinds() -> str:
    known = names()
    return known[0] if len(known) == 1 else f"{', '.join(known[:-1])} or {known[-1]}"


class Scenario(BaseModel):
    """A validated tally input: the vote, the turnout, and the ballots."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    members: int
    present: int
    spec: VoteSpec
    ballots: tuple[Any, ...]
    attending_ballots: tuple[Any, ...] = ()


def format_loc(loc: tuple[int | str, ...]) -> str:
    """('vote', 'ratio', 1) → 'vote.ratio[1]'; pydantic's union tags are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in names() or part.startswith(("function-", "tagged-union")):
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
        message = f"unknown kind {err['input'].get('kind')!r}; expected {_expected_kinds()}"
    elif err["type"] == "union_tag_not_found":
        field = f"{field}.kind"
        message = f"missing; expected {_expected_kinds()}"
    message = message.removeprefix("Value error, ")
    return SchemaError(field, message.replace("\n", " "))


def check_ballot(spec: VoteSpec, ballot: Any, field: str) -> None:
    """Raise SchemaError unless ``ballot`` has the shape the engine expects.

    Marks themselves are not judged here: an invalid mark is the voter's,
    and the engine counts it as invalid. What is refused is structure — a
    ballot of the wrong type, or one naming a subject the vote does not have.
    """
    kind_of(spec.kind).check_ballot(spec, ballot, field)


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
    return kind_of(spec.kind).electronic_error(spec, ballot)


def parse_vote_config(data: Any) -> VoteSpec:
    """Validate a ``vote`` object (CONTRACTS.md §2) into a VoteSpec."""
    try:
        model = _models(generation())[0].validate_json(json.dumps(data))
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
        model = _models(generation())[1].model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        raise first_error(exc) from None
    if model.present > model.members:
        raise SchemaError("present", f"{model.present} present exceeds {model.members} members")
    spec = model.vote.to_spec()
    for i, ballot in enumerate(model.ballots):
        check_ballot(spec, ballot, f"ballots[{i}]")
    if model.attending_ballots and not kind_of(spec.kind).admits_attending(spec):
        raise SchemaError("attending_ballots", "the vote does not say admit_attending: true")
    for i, ballot in enumerate(model.attending_ballots):
        check_ballot(spec, ballot, f"attending_ballots[{i}]")
    return Scenario(
        members=model.members,
        present=model.present,
        spec=spec,
        ballots=tuple(model.ballots),
        attending_ballots=tuple(model.attending_ballots),
    )
