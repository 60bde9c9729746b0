"""The statutory rules engine: counts ballots into a result.

Pure functions over plain data — no I/O, no clock, no framework — so the
server, the ``tally`` recount command and the offline audit verifier all get
the same answer from the same code. The result is the JSON-ready dict of
CONTRACTS.md §2.

Ballot representation (the ``tally`` format):

- motion / evaluation: a mapping subject id → mark. A mark is valid only if
  it is one of the kind's mark strings; anything else (a list of several
  marks, a number, an unknown word) is invalid for that subject. An absent
  or null mark is 未选: ``abstain`` in a motion, invalid in an evaluation.
- selection: a sequence of candidate ids; invalid as a whole if it names more
  than ``seats`` candidates, one twice, or one that is not a candidate.

Precondition for every function here: the ballots have the shape of their
kind (mappings or sequences) and motion/evaluation ballots name only the
vote's subjects. The schema layer (``rules.schema``) guarantees it for files
and kiosk payloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rules.kinds import (
    EVALUATION_MARKS,
    MOTION_MARKS,
    EvaluationMark,
    MotionMark,
    Outcome,
    Threshold,
    ThresholdBase,
    VoteKind,
    VoteSpec,
)

Ballot = Mapping[str, Any] | Sequence[Any]


@dataclass(frozen=True, slots=True)
class Turnout:
    """The whole-vote counts every threshold can be based on."""

    members: int  # 应到
    present: int  # 实到
    cast: int  # ballots received

    def base(self, threshold: Threshold, valid: int) -> int:
        """The count ``threshold`` is a ratio of; ``valid`` is the subject's valid marks."""
        match threshold.base:
            case ThresholdBase.MEMBERS:
                return self.members
            case ThresholdBase.PRESENT:
                return self.present
            case ThresholdBase.CAST:
                return self.cast
            case ThresholdBase.VALID:
                return valid

    def required(self, threshold: Threshold, valid: int = 0) -> int:
        return threshold.required(self.base(threshold, valid))


def tally(spec: VoteSpec, members: int, present: int, ballots: Sequence[Ballot]) -> dict[str, Any]:
    """Count ``ballots`` of a vote described by ``spec``.

    Preconditions: 0 <= present <= members, members >= 1, ballots shaped as
    described in the module docstring. Returns the result dict of
    CONTRACTS.md §2, with an extra top-level ``outcome`` (see ``Outcome``).
    """
    if members < 1 or not 0 <= present <= members:
        raise ValueError(f"need members >= 1 and 0 <= present <= members; got {members}, {present}")
    turnout = Turnout(members=members, present=present, cast=len(ballots))
    quorate = present >= turnout.required(spec.quorum)
    void = turnout.cast > present
    outcome = Outcome.VOID if void else Outcome.DECIDED if quorate else Outcome.NO_QUORUM
    result: dict[str, Any] = {
        "members": members,
        "present": present,
        "cast": turnout.cast,
        "not_voted": max(0, present - turnout.cast),  # 未按
        "quorum": quorate,
        "void": void,
        "outcome": outcome.value,
    }
    if void:
        result["reason"] = (
            f"{turnout.cast} ballots for {present} members present "
            "(收回的选票多于发出的选票，表决无效)"
        )
    decides = outcome is Outcome.DECIDED
    match spec.kind:
        case VoteKind.MOTION:
            result["subjects"] = _tally_motion(spec, turnout, ballots, decides)  # type: ignore[arg-type]
        case VoteKind.EVALUATION:
            result["subjects"] = _tally_evaluation(spec, turnout, ballots, decides)  # type: ignore[arg-type]
        case VoteKind.SELECTION:
            result["selection"] = _tally_selection(spec, turnout, ballots, decides)  # type: ignore[arg-type]
    return result


# --- motions ---------------------------------------------------------------


def _tally_motion(
    spec: VoteSpec, turnout: Turnout, ballots: Sequence[Mapping[str, Any]], decides: bool
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for subject in spec.subjects:
        counts = dict.fromkeys(MOTION_MARKS, 0)
        invalid = 0
        for ballot in ballots:
            mark = ballot.get(subject)
            if mark is None:  # unmarked on a cast ballot counts as 弃权
                counts[MotionMark.ABSTAIN] += 1
            elif isinstance(mark, str) and mark in MOTION_MARKS:
                counts[mark] += 1
            else:
                invalid += 1
        valid = sum(counts.values())
        required = turnout.required(spec.threshold, valid)
        yes = counts[MotionMark.YES]
        out[subject] = {
            "yes": yes,
            "no": counts[MotionMark.NO],
            "abstain": counts[MotionMark.ABSTAIN],
            "invalid": invalid,
            "required": required,
            "passed": decides and yes >= required,
        }
    return out


# --- evaluations -----------------------------------------------------------


def satisfaction_rate(satisfied: int, basic: int, unsatisfied: int) -> Fraction | None:
    """(满意 + 基本满意) / valid marks, exactly; None when nothing is valid."""
    total = satisfied + basic + unsatisfied
    return Fraction(satisfied + basic, total) if total else None


def percent_half_up(rate: Fraction) -> str:
    """A rate in [0, 1] as a percentage with two decimals, rounded half up (2/3 → "66.67")."""
    hundredths = (rate.numerator * 20000 // rate.denominator + 1) // 2
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def competition_ranks(rates: Sequence[Fraction | None]) -> list[int]:
    """Rank 1 = highest rate; equal rates share a rank (1, 1, 3 — 名次并列).

    ``None`` (no valid marks) ranks below every rate; several ``None`` tie.
    """

    def key(rate: Fraction | None) -> tuple[int, Fraction]:
        return (0, Fraction(0)) if rate is None else (1, rate)

    keys = [key(r) for r in rates]
    return [1 + sum(1 for other in keys if other > mine) for mine in keys]


def _tally_evaluation(
    spec: VoteSpec, turnout: Turnout, ballots: Sequence[Mapping[str, Any]], decides: bool
) -> dict[str, dict[str, Any]]:
    rule = spec.evaluation
    out: dict[str, dict[str, Any]] = {}
    rates: list[Fraction | None] = []
    for subject in spec.subjects:
        counts = dict.fromkeys(EVALUATION_MARKS, 0)
        invalid = 0
        for ballot in ballots:
            mark = ballot.get(subject)
            # exactly one mark per subject; none or several is invalid (不选择、多选择的无效)
            if isinstance(mark, str) and mark in EVALUATION_MARKS:
                counts[mark] += 1
            else:
                invalid += 1
        satisfied = counts[EvaluationMark.SATISFIED]
        basic = counts[EvaluationMark.BASIC]
        unsatisfied = counts[EvaluationMark.UNSATISFIED]
        valid = satisfied + basic + unsatisfied
        rate = satisfaction_rate(satisfied, basic, unsatisfied)
        rates.append(rate)
        entry: dict[str, Any] = {
            "satisfied": satisfied,
            "basic": basic,
            "unsatisfied": unsatisfied,
            "invalid": invalid,
            "satisfaction_rate": None if rate is None else percent_half_up(rate),
        }
        if rule.unsatisfied_threshold is not None:
            required = turnout.required(rule.unsatisfied_threshold, valid)
            entry["unsatisfied_required"] = required
            failing = unsatisfied >= required
        else:
            num, den = rule.satisfaction_below or (0, 1)
            failing = rate is not None and rate < Fraction(num, den)
        # without quorum, or when void, nothing is decided
        entry["outcome"] = ("unsatisfactory" if failing else "satisfactory") if decides else None
        out[subject] = entry
    for subject, rank in zip(spec.subjects, competition_ranks(rates), strict=True):
        out[subject]["rank"] = rank
    return out


# --- livelihood-project selections -------------------------------------------


def selection_ballot_is_valid(
    ballot: Sequence[Any], candidates: frozenset[str], seats: int
) -> bool:
    """A ballot naming more than ``seats``, one twice, or a non-candidate is invalid whole."""
    return (
        len(ballot) <= seats
        and all(isinstance(c, str) and c in candidates for c in ballot)
        and len(set(ballot)) == len(ballot)
    )


def _tally_selection(
    spec: VoteSpec, turnout: Turnout, ballots: Sequence[Sequence[Any]], decides: bool
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
