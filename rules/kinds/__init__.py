"""Vote kinds (表决方式) and the vocabulary they share.

``vocabulary`` spells marks, thresholds, policies and ``VoteSpec``; each kind
is one module (``motion``, ``selection``, ``evaluation``) implementing
``base.Kind``; ``registry`` lists them. Importing this package registers the
built-in kinds.
"""

from rules.kinds.vocabulary import (
    DEFAULT_KEY_POLICY,
    DEFAULT_LIVE_TALLY,
    DEFAULT_MOTION_THRESHOLD,
    DEFAULT_QUORUM,
    DEFAULT_SECRET,
    DEFAULT_SELECTION_THRESHOLD,
    DEFAULT_UNSATISFIED_THRESHOLD,
    EVALUATION_MARKS,
    HALF_OF_VALID,
    MAJORITY_OF_MEMBERS,
    MOTION_MARKS,
    SCORE_LIMIT,
    TWO_THIRDS_OF_MEMBERS,
    EvaluationMark,
    EvaluationRule,
    GradeRule,
    KeyPolicy,
    LiveTally,
    MotionMark,
    Outcome,
    OutcomeGroup,
    ScoreRule,
    Threshold,
    ThresholdBase,
    Turnout,
    VoteKind,
    VoteSpec,
    live_tally_allowed,
)

# isort: split
from rules.kinds.base import Kind, KindConfig, MarksKind, NoTrusteeMode, SheetTable
from rules.kinds.evaluation import Evaluation
from rules.kinds.motion import Motion
from rules.kinds.registry import UnknownKind, all_kinds, is_kind, kind_of, names, register
from rules.kinds.selection import Selection

for _kind in (Motion(), Selection(), Evaluation()):
    register(_kind)

__all__ = [
    "DEFAULT_KEY_POLICY",
    "DEFAULT_LIVE_TALLY",
    "DEFAULT_MOTION_THRESHOLD",
    "DEFAULT_QUORUM",
    "DEFAULT_SECRET",
    "DEFAULT_SELECTION_THRESHOLD",
    "DEFAULT_UNSATISFIED_THRESHOLD",
    "EVALUATION_MARKS",
    "HALF_OF_VALID",
    "MAJORITY_OF_MEMBERS",
    "MOTION_MARKS",
    "SCORE_LIMIT",
    "TWO_THIRDS_OF_MEMBERS",
    "EvaluationMark",
    "EvaluationRule",
    "GradeRule",
    "KeyPolicy",
    "Kind",
    "KindConfig",
    "LiveTally",
    "MarksKind",
    "MotionMark",
    "NoTrusteeMode",
    "Outcome",
    "OutcomeGroup",
    "ScoreRule",
    "SheetTable",
    "Threshold",
    "ThresholdBase",
    "Turnout",
    "UnknownKind",
    "VoteKind",
    "VoteSpec",
    "all_kinds",
    "is_kind",
    "kind_of",
    "live_tally_allowed",
    "names",
    "register",
]
