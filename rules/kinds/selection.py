"""民生实事项目票决 (selection): choose at most ``seats`` of the candidates; most votes win."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from rules.glossary import at_least_votes, term
from rules.kinds.base import (
    CHECK,
    Contest,
    Kind,
    KindConfig,
    SheetTable,
    checked_option_totals,
    json_size,
    yes_no,
)
from rules.kinds.config import Id, SchemaError, ThresholdModel, paper_count, paper_object, unique
from rules.kinds.vocabulary import (
    DEFAULT_QUORUM,
    DEFAULT_SELECTION_THRESHOLD,
    Turnout,
    VoteSpec,
)

MAX_ENTRIES = 10_000  # a paper or scenario ballot longer than this is refused as malformed
CONTEST = "candidates"  # the one contest of an encrypted selection ballot (trustee mode)


class SelectionVote(KindConfig):
    kind: Literal["selection"]
    candidates: Annotated[list[Id], Field(min_length=1, max_length=500)]
    seats: Annotated[int, Field(ge=1)]
    threshold: ThresholdModel | None = None
    quorum: ThresholdModel | None = None

    _ids = field_validator("candidates")(unique)

    @field_validator("seats")
    @classmethod
    def _seats(cls, seats: int, info: ValidationInfo) -> int:
        candidates = info.data.get("candidates")
        if candidates is not None and seats > len(candidates):
            raise ValueError(f"{seats} seats exceed the {len(candidates)} candidates")
        return seats

    def to_spec(self) -> VoteSpec:
        return VoteSpec(
            kind=self.kind,
            candidates=tuple(self.candidates),
            seats=self.seats,
            threshold=self.threshold.to_threshold()
            if self.threshold
            else DEFAULT_SELECTION_THRESHOLD,
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
        )


def selection_ballot_is_valid(
    ballot: Sequence[Any], candidates: frozenset[str], seats: int
) -> bool:
    """A ballot naming more than ``seats``, one twice, or a non-candidate is invalid whole."""
    return (
        len(ballot) <= seats
        and all(isinstance(c, str) and c in candidates for c in ballot)
        and len(set(ballot)) == len(ballot)
    )


def _fill_seats(
    qualified: list[str], votes: Mapping[str, int], seats: int
) -> tuple[list[str], dict[str, Any] | None]:
    """Take ``qualified`` (sorted, most votes first) into ``seats`` seats.

    If candidates with equal votes straddle the last seat, those above the tie
    are selected and the tied ones go to a runoff (再次投票) for the rest.
    """
    if len(qualified) <= seats:
        return qualified, None
    last = votes[qualified[seats - 1]]
    if votes[qualified[seats]] != last:
        return qualified[:seats], None
    above = [c for c in qualified if votes[c] > last]
    tied = [c for c in qualified if votes[c] == last]
    return above, {"candidates": tied, "seats": seats - len(above)}


class Selection(Kind):
    name = "selection"
    label_zh = "民生实事项目票决"
    label_en = "Livelihood-project ballot"
    config_model = SelectionVote
    items_key = "candidates"
    result_key = "selection"
    has_seats = True
    breaks_down = True
    # a kiosk's ballot is checked whole on arrival: only a paper count has invalid ballots
    kiosk_invalid = False

    def check_spec(self, spec: VoteSpec) -> None:
        if not spec.candidates or not 1 <= spec.seats <= len(spec.candidates):
            raise ValueError("a selection needs candidates and 1 <= seats <= len(candidates)")
        if len(set(spec.candidates)) != len(spec.candidates):
            raise ValueError("subject and candidate ids must be unique")

    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        return {
            "candidates": list(spec.candidates),
            "seats": spec.seats,
            "threshold": spec.threshold.to_json(),
            "quorum": spec.quorum.to_json(),
        }

    def example_items(self) -> dict[str, Any]:
        return {"candidates": ["a", "b"], "seats": 1}

    def public_items(self, spec: VoteSpec, options: list[dict[str, str]]) -> dict[str, Any]:
        return {"candidates": options, "seats": spec.seats}

    def check_ballot(self, spec: VoteSpec, ballot: Any, field: str) -> None:
        if not isinstance(ballot, list):
            raise SchemaError(field, "a selection ballot must be a list of candidate ids")
        if len(ballot) > MAX_ENTRIES:
            raise SchemaError(field, "too many entries")

    def electronic_error(self, spec: VoteSpec, ballot: Any) -> str | None:
        if not selection_ballot_is_valid(ballot, frozenset(spec.candidates), spec.seats):
            return f"ballot: choose at most {spec.seats} distinct candidates of this vote"
        return None

    def longest_ballot(self, spec: VoteSpec) -> Any:
        longest = sorted(spec.candidates, key=json_size, reverse=True)
        return longest[: spec.seats]

    def random_ballot(self, spec: VoteSpec, rng: random.Random) -> Any:
        return rng.sample(list(spec.candidates), rng.randint(0, spec.seats))

    def tally(
        self, spec: VoteSpec, turnout: Turnout, ballots: Sequence[Any], decides: bool
    ) -> dict[str, Any]:
        known = frozenset(spec.candidates)
        votes = dict.fromkeys(spec.candidates, 0)
        invalid = 0
        for ballot in ballots:
            if selection_ballot_is_valid(ballot, known, spec.seats):
                for candidate in ballot:
                    votes[candidate] += 1
            else:
                invalid += 1
        valid_ballots = turnout.cast - invalid
        required = turnout.required(spec.threshold, valid_ballots)
        # Most votes first; sorted() is stable, so equal votes keep the ballot order.
        by_votes = sorted(spec.candidates, key=lambda c: -votes[c])
        qualified = [c for c in by_votes if votes[c] >= required] if decides else []
        selected, runoff = _fill_seats(qualified, votes, spec.seats)
        runoff_seats = runoff["seats"] if runoff else 0
        unfilled = spec.seats - len(selected) - runoff_seats
        chosen = set(selected) | set(runoff["candidates"] if runoff else ())
        return {
            "votes": votes,
            "invalid": invalid,
            "required": required,
            "selected": selected,
            "runoff": runoff,
            "unfilled": unfilled,
            # 另行投票: when seats stay unfilled, the presidium may vote again among
            # the candidates not chosen, in order of their first-round votes.
            "next_round_candidates": [c for c in by_votes if c not in chosen] if unfilled else [],
        }

    def breakdown_counts(self, spec: VoteSpec, ballots: Sequence[Any]) -> dict[str, Any]:
        """Each candidate's votes and the invalid ballots, by the tally's own rule of validity."""
        cast = len(ballots)
        counted = self.tally(spec, Turnout(cast, cast, cast), ballots, decides=False)
        return {self.result_key: {"votes": counted["votes"], "invalid": counted["invalid"]}}

    def breakdown_lines(
        self, counts: Any, titles: Mapping[str, str]
    ) -> tuple[list[str], list[tuple[str, list[int]]]]:
        # one line per delegation: a column per candidate, then its invalid ballots
        sel = counts[self.result_key]
        head = [titles.get(c, c) for c in sel["votes"]] + [term("col.invalid_ballots")]
        return head, [("", [*sel["votes"].values(), sel["invalid"]])]

    def breakdown_export_rows(self, counts: Any, titles: Mapping[str, str]) -> list[dict[str, Any]]:
        sel = counts[self.result_key]
        return [
            {"subject": cid, "title": titles.get(cid, cid), "votes": n, "invalid": sel["invalid"]}
            for cid, n in sel["votes"].items()
        ]

    def paper_example(self, spec: VoteSpec) -> dict[str, Any]:
        return {"valid": 0, "invalid": 0, "votes": dict.fromkeys(spec.candidates, 0)}

    def ballots_from_counts(self, spec: VoteSpec, counts: Any) -> list[Any]:
        """From ``{"valid": v, "invalid": i, "votes": {id: n}}``."""
        counts = paper_object(counts, "counts", ("valid", "invalid", "votes"))
        valid = paper_count(counts["valid"], "counts.valid")
        invalid = paper_count(counts["invalid"], "counts.invalid")
        votes = paper_object(counts["votes"], "counts.votes", spec.candidates)
        numbers = {c: paper_count(votes[c], f"counts.votes.{c}") for c in spec.candidates}
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

    # --- trustee mode: one contest of the candidates, at most ``seats`` of them --------

    def supports_trustees(self, spec: VoteSpec) -> bool:
        return True

    def encrypted_layout(self, spec: VoteSpec) -> list[Contest]:
        return [{"id": CONTEST, "options": list(spec.candidates), "limit": spec.seats}]

    def option_marks(self, spec: VoteSpec, ballot: Any) -> list[list[int]]:
        chosen = set(ballot)
        return [[int(c in chosen) for c in spec.candidates]]

    def counts_from_option_totals(self, spec: VoteSpec, cast: int, totals: Any) -> dict[str, Any]:
        """Every kiosk ballot is valid (checked whole on arrival, its limit proven), so
        ``valid`` is ``cast``, ``invalid`` 0 and ``votes`` the candidates' totals."""
        checked = checked_option_totals(self.encrypted_layout(spec), cast, totals)
        return {"valid": cast, "invalid": 0, "votes": checked[CONTEST]}

    def sheet_table(
        self, result: Mapping[str, Any], titles: Mapping[str, str], seats: int | None, decided: bool
    ) -> SheetTable:
        sel = result["selection"]
        votes: Mapping[str, int] = sel["votes"]
        selected = list(sel.get("selected") or [])
        runoff = sel.get("runoff") or None
        in_runoff = set(runoff["candidates"]) if runoff else set()
        if seats is None:
            seats = (
                len(selected) + (runoff["seats"] if runoff else 0) + int(sel.get("unfilled") or 0)
            )
        # most votes first; equal votes keep the ballot order (as the tally does)
        order = sorted(votes, key=lambda c: -votes[c])
        selected_word, runoff_word = term("verdict.selected"), term("verdict.runoff")
        rows, marks = [], []
        for i, cid in enumerate(order, start=1):
            if cid in selected:
                outcome, mark = f"{CHECK} {selected_word}", "selected"
            elif cid in in_runoff:
                outcome, mark = runoff_word, "runoff"
            else:
                outcome, mark = term("verdict.not_selected"), ""
            rows.append([str(i), titles.get(cid, cid), str(votes[cid]), outcome])
            marks.append(mark)
        notes = [
            f"应选 {seats} 项，候选 {len(votes)} 项；{selected_word}须得票"
            f"{at_least_votes(sel['required'])}；{selected_word} {len(selected)} 项。"
        ]
        if runoff:
            names = "、".join(titles.get(c, c) for c in runoff["candidates"])
            tied = votes[runoff["candidates"][0]]
            notes.append(
                f"{runoff_word}：{names} 得票相同（{tied} 票），跨越末位名额，"
                f"须就剩余 {runoff['seats']} 个名额再次投票。"
            )
        if sel.get("unfilled"):
            line = f"尚有 {sel['unfilled']} 个名额未选出"
            if sel.get("next_round_candidates"):
                line += (
                    f"，可在{term('verdict.not_selected')}的 "
                    f"{len(sel['next_round_candidates'])} 个候选项目中按得票多少为序另行投票"
                )
            notes.append(line + "。")
        # 无效票 N 张 is printed where ballots can be invalid (``invalid_notes``), and
        # always when there are some: a number is never hidden
        invalid_note = f"{term('col.invalid_ballots')} {sel['invalid']} 张。"
        if sel["invalid"]:
            notes.append(invalid_note)
        return SheetTable(
            head=[term("col.number"), term("col.candidate"), term("col.votes"), term("col.result")],
            rows=rows,
            marks=marks,
            widths=[0.9, 7, 1.4, 2],
            notes=notes,
            name_column=1,
            invalid_notes=() if sel["invalid"] else (invalid_note,),
        )

    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        sel = result["selection"]
        parts = [f"{term('verdict.selected')} {len(sel['selected'])} 项"]
        if sel.get("runoff"):
            parts.append(f"{len(sel['runoff']['candidates'])} 项{term('verdict.runoff')}")
        if sel.get("unfilled"):
            parts.append(f"{sel['unfilled']} 个名额未选出")
        return "，".join(parts)

    def export_rows(
        self, result: Mapping[str, Any], titles: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        sel = result["selection"]
        runoff = set((sel.get("runoff") or {}).get("candidates", ()))
        return [
            {
                "subject": cid,
                "title": titles.get(cid, cid),
                "invalid": sel["invalid"],
                "votes": votes,
                "required": sel["required"],
                "selected": yes_no(cid in sel["selected"]),
                "runoff": yes_no(cid in runoff),
            }
            for cid, votes in sel["votes"].items()
        ]
