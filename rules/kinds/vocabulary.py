"""The vocabulary of a vote: marks, thresholds, policies and the vote spec.

This module is the one home of these concepts. The rules engine, the server,
the kiosk client and the audit verifier all import them from here (through
``rules.kinds``); nothing else spells a mark or a threshold default. What a
kind of vote *does* lives in its own module (``rules.kinds.motion`` …), found
through the registry. Pure data: no I/O, no framework.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class VoteKind(StrEnum):
    """The names of the three built-in kinds of RULES.md.

    A convenience for callers that name a built-in kind; it is not the list of
    kinds (``rules.kinds.registry`` is: a kind may be registered at runtime),
    and nothing branches on it.
    """

    MOTION = "motion"  # 表决: 赞成 / 反对 / 弃权 on one or several subjects
    SELECTION = "selection"  # 民生实事项目票决: choose at most N of M candidates
    EVALUATION = "evaluation"  # 满意度测评: 满意 / 基本满意 / 不满意 per department


class MotionMark(StrEnum):
    YES = "yes"  # 赞成 (green key)
    NO = "no"  # 反对 (red key)
    ABSTAIN = "abstain"  # 弃权 (yellow key)


class EvaluationMark(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


MOTION_MARKS: frozenset[str] = frozenset(m.value for m in MotionMark)
EVALUATION_MARKS: frozenset[str] = frozenset(m.value for m in EvaluationMark)


class ThresholdBase(StrEnum):
    """What a threshold ratio is taken of."""

    MEMBERS = "members"  # 全体组成人员 (应到): the statutory default
    PRESENT = "present"  # 实到: signed in for the sitting
    CAST = "cast"  # ballots received
    VALID = "valid"  # valid marks for the subject (valid ballots, for a selection)


class KeyPolicy(StrEnum):
    """Which of a deputy's presses counts."""

    LAST_PRESS = "last_press"  # may change until close; the last one counts
    FIRST_PRESS = "first_press"  # the first ballot is final

    @property
    def may_press_again(self) -> bool:
        """A later press replaces the counted ballot (可以改按，以最后一次为准)."""
        return self is KeyPolicy.LAST_PRESS

    def counted(self, presses: Sequence[T]) -> T:
        """Of one deputy's presses, in order (at least one), the one that counts."""
        return presses[-1] if self.may_press_again else presses[0]


class LiveTally(StrEnum):
    """What the presidium and the hall display see while a vote is open."""

    HIDDEN = "hidden"  # nothing until close
    PARTICIPATION = "participation"  # 已按 / 未按 only
    BREAKDOWN = "breakdown"  # running counts per mark


def live_tally_allowed(secret: bool, live_tally: LiveTally) -> bool:
    """A secret vote may not show a running breakdown: counts that move as a
    deputy presses would reveal the choice (无记名)."""
    return not (secret and live_tally is LiveTally.BREAKDOWN)


class Outcome(StrEnum):
    """Whole-vote outcome of a tally."""

    DECIDED = "decided"
    NO_QUORUM = "no_quorum"  # not 过半数出席: nothing passes
    VOID = "void"  # more ballots than present (收回的多于发出的): must be re-run


@dataclass(frozen=True, slots=True)
class Threshold:
    """A count requirement ``{base, ratio [num, den], strict}``.

    strict (过半数, "more than"): required = floor(base × num / den) + 1.
    not strict (三分之二以上, "at least", 以上 includes the number itself):
    required = ceil(base × num / den). Integer arithmetic only.
    """

    base: ThresholdBase
    num: int
    den: int
    strict: bool

    def __post_init__(self) -> None:
        if self.den <= 0 or self.num < 0 or self.num > self.den:
            raise ValueError(
                f"ratio must satisfy 0 <= num <= den, den > 0; got {self.num}/{self.den}"
            )

    def required(self, base_count: int) -> int:
        """The smallest count that meets the threshold for ``base_count`` (>= 0)."""
        if base_count < 0:
            raise ValueError(f"base count must be >= 0; got {base_count}")
        if self.strict:
            return base_count * self.num // self.den + 1
        return -(-base_count * self.num // self.den)

    def to_json(self) -> dict[str, object]:
        return {"base": self.base.value, "ratio": [self.num, self.den], "strict": self.strict}


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


# RULES.md defaults. Named presets (config/presets.toml) are deltas from these.
MAJORITY_OF_MEMBERS = Threshold(ThresholdBase.MEMBERS, 1, 2, strict=True)  # 全体组成人员过半数
TWO_THIRDS_OF_MEMBERS = Threshold(ThresholdBase.MEMBERS, 2, 3, strict=False)  # 三分之二以上
DEFAULT_QUORUM = MAJORITY_OF_MEMBERS  # 过半数出席
DEFAULT_MOTION_THRESHOLD = MAJORITY_OF_MEMBERS
DEFAULT_SELECTION_THRESHOLD = MAJORITY_OF_MEMBERS
DEFAULT_UNSATISFIED_THRESHOLD = MAJORITY_OF_MEMBERS  # 不满意超过全体组成人员半数
DEFAULT_KEY_POLICY = KeyPolicy.LAST_PRESS
DEFAULT_SECRET = True  # hall electronic voting is 无记名 by default
DEFAULT_LIVE_TALLY = LiveTally.HIDDEN  # nothing leaks before close unless the vote says so


# 半数以上 of the subject's valid marks, the half included: the three grades' default
HALF_OF_VALID = Threshold(ThresholdBase.VALID, 1, 2, strict=False)


class OutcomeGroup(StrEnum):
    """Whose marks decide an evaluation that admits attending deputies (列席代表)."""

    MEMBERS = "members"  # 组成人员 only: the default
    ALL = "all"  # members and attending deputies together


@dataclass(frozen=True, slots=True)
class GradeRule:
    """三档结论: 满意 when satisfied marks reach ``satisfied``; otherwise 基本满意 when
    satisfied + basic marks reach ``basic``; otherwise 不满意."""

    satisfied: Threshold = HALF_OF_VALID
    basic: Threshold = HALF_OF_VALID


SCORE_LIMIT = 1000  # the highest score a vote may allow (a kiosk's pad has four digits)


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """现场打分: an integer score in [low, high] per subject; the mean drops the ``trim``
    highest and ``trim`` lowest (去掉最高分、最低分) when more than 2 × trim are valid;
    ``pass_mark`` (optional) gives the outcome on the shown mean."""

    low: int = 0
    high: int = 100
    trim: int = 1
    pass_mark: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.low < self.high <= SCORE_LIMIT:
            raise ValueError(f"scores need 0 <= min < max <= {SCORE_LIMIT}")
        if not 0 <= self.trim <= 100:
            raise ValueError("trim must be from 0 to 100")
        if self.pass_mark is not None and not self.low <= self.pass_mark <= self.high:
            raise ValueError(f"pass_mark must lie in [{self.low}, {self.high}]")

    def valid(self, score: object) -> bool:
        """A score a deputy may give: an integer (not a boolean) in [low, high]."""
        return type(score) is int and self.low <= score <= self.high


@dataclass(frozen=True, slots=True)
class EvaluationRule:
    """How an evaluated department's result is decided.

    Exactly one rule is set: ``unsatisfied_threshold`` (``unsatisfactory`` when
    unsatisfied marks reach it), ``satisfaction_below`` (``unsatisfactory`` when
    the rate is strictly below num/den), ``grades`` (三档结论) or ``scores``
    (现场打分). ``admit_attending``: attending deputies (列席代表) vote too, and
    ``outcome_on`` says whose ballots decide.
    """

    unsatisfied_threshold: Threshold | None = DEFAULT_UNSATISFIED_THRESHOLD
    satisfaction_below: tuple[int, int] | None = None
    grades: GradeRule | None = None
    scores: ScoreRule | None = None
    admit_attending: bool = False
    outcome_on: OutcomeGroup = OutcomeGroup.MEMBERS

    def __post_init__(self) -> None:
        chosen = [
            rule
            for rule in (
                self.unsatisfied_threshold,
                self.satisfaction_below,
                self.grades,
                self.scores,
            )
            if rule is not None
        ]
        if len(chosen) != 1:
            raise ValueError(
                "exactly one of unsatisfied_threshold, satisfaction_below, grades, scores"
            )
        object.__setattr__(self, "outcome_on", OutcomeGroup(self.outcome_on))
        if self.outcome_on is OutcomeGroup.ALL and not self.admit_attending:
            raise ValueError("outcome_on all needs admit_attending")
        if self.satisfaction_below is not None:
            num, den = self.satisfaction_below
            if den <= 0 or num < 0 or num > den:
                raise ValueError(
                    f"satisfaction_below must satisfy 0 <= num <= den; got {num}/{den}"
                )


@dataclass(frozen=True, slots=True)
class VoteSpec:
    """Everything the engine needs to know about a vote, as plain data.

    ``kind`` names a registered kind (``rules.kinds.registry``), which says
    which of the other fields it uses: ``subjects`` (motion, evaluation) or
    ``candidates`` and ``seats`` (selection). Ids are unique within their list.
    """

    kind: str
    subjects: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    seats: int = 0
    threshold: Threshold = MAJORITY_OF_MEMBERS
    quorum: Threshold = DEFAULT_QUORUM
    evaluation: EvaluationRule = EvaluationRule()

    def __post_init__(self) -> None:
        # A plain string, so that a spec compares and serialises the same
        # whether it was built from VoteKind.MOTION or from "motion".
        object.__setattr__(self, "kind", str(self.kind))
        from rules.kinds.registry import kind_of  # the registry imports this module

        kind_of(self.kind).check_spec(self)

    def to_json(self) -> dict[str, object]:
        """The scenario form of CONTRACTS.md §2 (``vote`` object), every default explicit."""
        from rules.kinds.registry import kind_of

        return {"kind": self.kind, **kind_of(self.kind).spec_json(self)}
