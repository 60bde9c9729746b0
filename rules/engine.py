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

This module counts what every kind shares — turnout, quorum, a void vote —
and hands the ballots to the kind's own ``tally`` (``rules.kinds.motion``,
``selection``, ``evaluation``, or any registered kind), whose counts go
under ``result[kind.result_key]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rules.kinds import Outcome, Turnout, VoteSpec, kind_of

# The counting of each kind lives in its module; these names stay importable from here.
from rules.kinds.evaluation import competition_ranks, percent_half_up, satisfaction_rate
from rules.kinds.selection import selection_ballot_is_valid

__all__ = [
    "Ballot",
    "Turnout",
    "competition_ranks",
    "percent_half_up",
    "satisfaction_rate",
    "selection_ballot_is_valid",
    "tally",
]

Ballot = Mapping[str, Any] | Sequence[Any]


def tally(
    spec: VoteSpec,
    members: int,
    present: int,
    ballots: Sequence[Ballot],
    attending: Sequence[Ballot] = (),
) -> dict[str, Any]:
    """Count ``ballots`` of a vote described by ``spec``.

    Preconditions: 0 <= present <= members, members >= 1, ballots shaped as
    described in the module docstring. ``attending``: the ballots of attending
    deputies (列席代表), only where the vote admits them (``Kind.admits_attending``);
    they are counted apart by the kind and never enter ``cast``, 未按 or a void vote.
    Returns the result dict of CONTRACTS.md §2, with an extra top-level
    ``outcome`` (see ``Outcome``).
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
    kind = kind_of(spec.kind)
    if attending and not kind.admits_attending(spec):
        raise ValueError("this vote does not admit attending deputies (admit_attending)")
    result.update(kind.count(spec, turnout, ballots, attending, decides))
    return result
