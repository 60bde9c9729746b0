"""The rules engine (functional core): vote kinds, thresholds, and the tally.

``kinds`` defines the vocabulary, ``engine`` counts ballots, ``schema``
validates what comes from outside. No I/O, no framework, no clock.
"""

from rules.engine import tally
from rules.kinds import Threshold, VoteKind, VoteSpec
from rules.schema import Scenario, SchemaError, parse_scenario, parse_vote_config

__all__ = [
    "Scenario",
    "SchemaError",
    "Threshold",
    "VoteKind",
    "VoteSpec",
    "parse_scenario",
    "parse_vote_config",
    "tally",
]
