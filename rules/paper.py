"""Paper counts (人工计票) as ballots, so that a hand count goes through the same tally.

When the electronic system fails, the scrutineers count paper ballots by
hand (RULES.md). The secretariat enters either the paper ballots
themselves (the ``tally`` format) or the counts. Counts are turned here
into an equivalent list of ballots — one per paper ballot cast — whose
tally gives exactly those counts; the log keeps both, and the verifier
recounts the ballots with the same engine. Pure: no I/O.

Counts, by kind (every number a non-negative integer; each kind's module,
``rules.kinds.*``, reads its own — ``Kind.ballots_from_counts``):

- motion:     ``{"cast": n, "subjects": {id: {"yes", "no", "abstain", "invalid"}}}``,
  each subject's four numbers summing to ``cast``;
- evaluation: ``{"cast": n, "subjects": {id: {"satisfied", "basic", "unsatisfied", "invalid"}}}``,
  likewise;
- selection:  ``{"valid": v, "invalid": i, "votes": {id: n}}``, each candidate's
  votes at most ``valid``, all votes at most ``seats × valid``.
"""

from __future__ import annotations

from typing import Any

from rules.kinds import VoteSpec, kind_of
from rules.kinds.config import MAX_PAPER_BALLOTS
from rules.kinds.evaluation import COLUMNS as EVALUATION_COLUMNS
from rules.kinds.motion import COLUMNS as MOTION_COLUMNS
from rules.kinds.motion import SPOILED

__all__ = [
    "EVALUATION_COLUMNS",
    "MAX_PAPER_BALLOTS",
    "MOTION_COLUMNS",
    "PAPER_SIGNATURES",
    "SPOILED",
    "ballots_from_counts",
    "paper_example",
]

PAPER_SIGNATURES = 2  # 两名监票人 countersign a hand count before it is published


def ballots_from_counts(spec: VoteSpec, counts: Any) -> list[Any]:
    """Ballots whose tally under ``spec`` gives ``counts``; SchemaError names a bad field."""
    return kind_of(spec.kind).ballots_from_counts(spec, counts)


def paper_example(spec: VoteSpec) -> dict[str, Any]:
    """A blank count of ``spec``'s shape, for the secretariat to fill in."""
    return kind_of(spec.kind).paper_example(spec)
