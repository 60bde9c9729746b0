"""满意度测评 (evaluation): 满意 / 基本满意 / 不满意 per department, ranked by satisfaction.

The variants of RULES.md "Evaluation variants" are configurations of this one
kind: three grades (三档结论), scores (现场打分, counted in
``rules.kinds.evaluation_scores``), the overall rate (总体满意率) beside every
marks evaluation, and attending deputies (列席代表) as voters, reported three
ways (组成人员 / 列席代表 / 全体).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from rules.glossary import term
from rules.kinds.base import (
    DASH,
    Contest,
    KindConfig,
    MarksKind,
    NoTrusteeMode,
    SheetTable,
    json_size,
    yes_no,
)
from rules.kinds.config import (
    MAX_PAPER_BALLOTS,
    Id,
    Ratio,
    SchemaError,
    Strict,
    ThresholdModel,
    paper_count,
    paper_object,
    proper_fraction,
    unique,
)
from rules.kinds.evaluation_scores import (
    ScoresModel,
    count_scores,
    reaches,
    scores_json,
    two_decimals,
)
from rules.kinds.vocabulary import (
    DEFAULT_QUORUM,
    EVALUATION_MARKS,
    HALF_OF_VALID,
    EvaluationMark,
    EvaluationRule,
    GradeRule,
    OutcomeGroup,
    ScoreRule,
    Turnout,
    VoteSpec,
)

COLUMNS = (
    EvaluationMark.SATISFIED.value,
    EvaluationMark.BASIC.value,
    EvaluationMark.UNSATISFIED.value,
    "invalid",
)
SCORE_COLUMNS = ("valid", "invalid")  # a delegation's scores (分团): how many, of which invalid
OUTCOMES = ("satisfactory", "unsatisfactory", "satisfied", "basic", "unsatisfied")
OUTCOME_LABELS = {o: term(f"verdict.{o}") for o in OUTCOMES}
# how a sheet marks a row: 满意 passes, 不满意 fails, 基本满意 neither
OUTCOME_MARKS = {"satisfactory": "pass", "satisfied": "pass", "unsatisfactory": "fail",
                 "unsatisfied": "fail"}  # fmt: skip
# the outcomes that call for rectification (整改): 不满意 in the default and in three grades
FAILING_OUTCOMES = frozenset(o for o, mark in OUTCOME_MARKS.items() if mark == "fail")
GROUP_TERMS = {g: f"group.{g}" for g in ("members", "attending", "all")}


def _scored(subjects: Mapping[str, Any]) -> bool:
    """Whether a result's subjects are scores (现场打分) rather than marks."""
    return any("mean" in c or "valid" in c for c in subjects.values())


class GradeThresholds(Strict):
    """T1 and T2 of the three grades (三档结论); each defaults to half of the valid marks."""

    satisfied: ThresholdModel | None = None
    basic: ThresholdModel | None = None


class EvaluationVote(KindConfig):
    kind: Literal["evaluation"]
    subjects: Annotated[list[Id], Field(min_length=1, max_length=200)]
    quorum: ThresholdModel | None = None
    unsatisfied_threshold: ThresholdModel | None = None
    satisfaction_below: Ratio | None = None
    # the variants of RULES.md "Evaluation variants"
    grades: Literal["three"] | None = None
    grade_thresholds: GradeThresholds | None = None
    scores: ScoresModel | None = None
    admit_attending: bool = False
    outcome_on: Literal["members", "all"] = "members"

    _ids = field_validator("subjects")(unique)
    _below = field_validator("satisfaction_below")(proper_fraction)

    @model_validator(mode="after")
    def _one_rule(self) -> EvaluationVote:
        if self.unsatisfied_threshold is not None and self.satisfaction_below is not None:
            raise ValueError("give unsatisfied_threshold or satisfaction_below, not both")
        if self.grades is not None and self.scores is not None:
            raise ValueError("give grades or scores, not both")
        if (self.grades or self.scores) and (
            self.unsatisfied_threshold is not None or self.satisfaction_below is not None
        ):
            raise ValueError(
                "grades and scores decide on their own: no unsatisfied_threshold "
                "or satisfaction_below"
            )
        if self.grade_thresholds is not None and self.grades is None:
            raise ValueError('grade_thresholds needs grades: "three"')
        if self.outcome_on == "all" and not self.admit_attending:
            raise ValueError("outcome_on all needs admit_attending")
        return self

    def _rule(self) -> dict[str, Any]:
        if self.scores is not None:
            return {"unsatisfied_threshold": None, "scores": self.scores.to_rule()}
        if self.grades is not None:
            given = self.grade_thresholds or GradeThresholds()
            return {
                "unsatisfied_threshold": None,
                "grades": GradeRule(
                    satisfied=given.satisfied.to_threshold() if given.satisfied else HALF_OF_VALID,
                    basic=given.basic.to_threshold() if given.basic else HALF_OF_VALID,
                ),
            }
        if self.satisfaction_below is not None:
            return {"unsatisfied_threshold": None, "satisfaction_below": self.satisfaction_below}
        if self.unsatisfied_threshold is not None:
            return {"unsatisfied_threshold": self.unsatisfied_threshold.to_threshold()}
        return {}

    def to_spec(self) -> VoteSpec:
        rule = EvaluationRule(
            **self._rule(),
            admit_attending=self.admit_attending,
            outcome_on=OutcomeGroup(self.outcome_on),
        )
        return VoteSpec(
            kind=self.kind,
            subjects=tuple(self.subjects),
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
            evaluation=rule,
        )


def satisfaction_rate(satisfied: int, basic: int, unsatisfied: int) -> Fraction | None:
    """(满意 + 基本满意) / valid marks, exactly; None when nothing is valid."""
    total = satisfied + basic + unsatisfied
    return Fraction(satisfied + basic, total) if total else None


def percent_half_up(rate: Fraction) -> str:
    """A rate in [0, 1] as a percentage with two decimals, rounded half up (2/3 → "66.67")."""
    return two_decimals(rate * 100)


def competition_ranks(rates: Sequence[Fraction | None]) -> list[int]:
    """Rank 1 = highest rate; equal rates share a rank (1, 1, 3 — 名次并列).

    ``None`` (no valid marks) ranks below every rate; several ``None`` tie.
    """

    def key(rate: Fraction | None) -> tuple[int, Fraction]:
        return (0, Fraction(0)) if rate is None else (1, rate)

    keys = [key(r) for r in rates]
    return [1 + sum(1 for other in keys if other > mine) for mine in keys]


GROUPS = ("members", "attending", "all")  # the three-way report (列席代表参加测评)


def _groups(
    rule: EvaluationRule, ballots: Sequence[Any], attending: Sequence[Any]
) -> dict[str, Sequence[Any]]:
    """The ballots of each group a result reports: members only, unless attending
    deputies are admitted (then members, attending deputies, and all of them)."""
    if not rule.admit_attending:
        return {"members": ballots}
    return {"members": ballots, "attending": attending, "all": [*ballots, *attending]}


def _marks(subject: str, ballots: Sequence[Any]) -> dict[str, Any]:
    """One group's marks for ``subject``, and the satisfaction rate (shown)."""
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
    rate = satisfaction_rate(satisfied, basic, unsatisfied)
    return {
        "satisfied": satisfied,
        "basic": basic,
        "unsatisfied": unsatisfied,
        "invalid": invalid,
        "satisfaction_rate": None if rate is None else percent_half_up(rate),
    }


class Evaluation(MarksKind):
    name = "evaluation"
    label_zh = "满意度测评"
    label_en = "Satisfaction evaluation"
    config_model = EvaluationVote
    marks = (
        EvaluationMark.SATISFIED.value,
        EvaluationMark.BASIC.value,
        EvaluationMark.UNSATISFIED.value,
    )
    paper_columns = COLUMNS
    # an invalid vote is left unmarked, which is invalid (不选择的投票无效)
    paper_invalid_mark = None
    column_labels = (*(term(f"mark.{m}") for m in marks), term("col.invalid"))
    # a department left unmarked on a kiosk's ballot is invalid (不选择的无效)
    kiosk_invalid = True
    rules = ("quorum", "evaluation")
    # trustee mode: a department's contest is its three marks, at most one; unmarked is
    # invalid (不选择的无效). Attending deputies' ballots are aggregated apart (``count``'s
    # ``attending``): ``counts_from_option_totals`` is called once per group.
    unmarked_column = "invalid"

    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        rule = spec.evaluation
        out: dict[str, object] = {"subjects": list(spec.subjects), "quorum": spec.quorum.to_json()}
        if rule.scores is not None:
            out["scores"] = scores_json(rule.scores)
        elif rule.grades is not None:
            out["grades"] = "three"
            out["grade_thresholds"] = {
                "satisfied": rule.grades.satisfied.to_json(),
                "basic": rule.grades.basic.to_json(),
            }
        elif rule.unsatisfied_threshold is not None:
            out["unsatisfied_threshold"] = rule.unsatisfied_threshold.to_json()
        else:
            out["satisfaction_below"] = list(rule.satisfaction_below or ())
        # absent unless admitted: earlier votes' logged configurations stay as they were
        if rule.admit_attending:
            out["admit_attending"] = True
            out["outcome_on"] = rule.outcome_on.value
        return out

    def admits_attending(self, spec: VoteSpec) -> bool:
        return spec.evaluation.admit_attending

    def supports_trustees(self, spec: VoteSpec) -> bool:
        """Marks only: a score (现场打分) is a number, not a 0/1 mark, and its trimmed
        mean needs every score, not a total."""
        return spec.evaluation.scores is None

    def encrypted_layout(self, spec: VoteSpec) -> list[Contest]:
        if spec.evaluation.scores is not None:
            raise NoTrusteeMode(
                self.name, "现场打分: scores cannot be counted from encrypted totals"
            )
        return super().encrypted_layout(spec)

    def public_items(self, spec: VoteSpec, options: list[dict[str, str]]) -> dict[str, Any]:
        """The departments, and for 现场打分 the range a tablet's number pad allows."""
        scores = spec.evaluation.scores
        if scores is None:
            return {"subjects": options}
        return {"subjects": options, "scores": {"min": scores.low, "max": scores.high}}

    # --- ballots: marks, or scores -------------------------------------------------

    def electronic_error(self, spec: VoteSpec, ballot: Any) -> str | None:
        scores = spec.evaluation.scores
        if scores is None:
            return super().electronic_error(spec, ballot)
        for subject, score in ballot.items():
            if not scores.valid(score):
                return (
                    f"ballot.{subject}: score must be an integer from {scores.low} to {scores.high}"
                )
        return None

    def longest_ballot(self, spec: VoteSpec) -> Any:
        scores = spec.evaluation.scores
        if scores is None:
            return super().longest_ballot(spec)
        return dict.fromkeys(spec.subjects, max(scores.low, scores.high, key=json_size))

    def random_ballot(self, spec: VoteSpec, rng: random.Random) -> Any:
        scores = spec.evaluation.scores
        if scores is None:
            return super().random_ballot(spec, rng)
        return {
            s: rng.randint(scores.low, scores.high) for s in spec.subjects if rng.random() > 0.05
        }

    # --- counting ----------------------------------------------------------------------

    def tally(
        self, spec: VoteSpec, turnout: Turnout, ballots: Sequence[Any], decides: bool
    ) -> dict[str, dict[str, Any]]:
        return self.count(spec, turnout, ballots, (), decides)["subjects"]

    def count(
        self,
        spec: VoteSpec,
        turnout: Turnout,
        ballots: Sequence[Any],
        attending: Sequence[Any],
        decides: bool,
    ) -> dict[str, Any]:
        rule = spec.evaluation
        if attending and not rule.admit_attending:
            raise ValueError("this evaluation does not admit attending deputies")
        groups = _groups(rule, ballots, attending)
        out: dict[str, Any] = (
            {"subjects": self._count_scores(spec, rule.scores, groups, decides)}
            if rule.scores is not None
            else self._count_marks(spec, turnout, groups, decides)
        )
        if rule.admit_attending:  # whose marks the subjects' counts and outcomes are
            out["outcome_on"] = rule.outcome_on.value
        return out

    def _count_marks(
        self,
        spec: VoteSpec,
        turnout: Turnout,
        groups: Mapping[str, Sequence[Any]],
        decides: bool,
    ) -> dict[str, Any]:
        rule = spec.evaluation
        deciding = groups[rule.outcome_on.value]
        out: dict[str, dict[str, Any]] = {}
        rates: list[Fraction | None] = []
        favourable = valid_total = 0
        for subject in spec.subjects:
            entry = _marks(subject, deciding)
            satisfied, basic = entry["satisfied"], entry["basic"]
            unsatisfied = entry["unsatisfied"]
            valid = satisfied + basic + unsatisfied
            rate = satisfaction_rate(satisfied, basic, unsatisfied)
            rates.append(rate)
            favourable += satisfied + basic
            valid_total += valid
            outcome: str | None
            if rule.grades is not None:
                # 三档结论: T1 on satisfied marks, then T2 on satisfied + basic
                t1 = turnout.required(rule.grades.satisfied, valid)
                t2 = turnout.required(rule.grades.basic, valid)
                entry["satisfied_required"], entry["basic_required"] = t1, t2
                outcome = (
                    "satisfied"
                    if satisfied >= t1
                    else "basic"
                    if satisfied + basic >= t2
                    else "unsatisfied"
                )
            elif rule.unsatisfied_threshold is not None:
                required = turnout.required(rule.unsatisfied_threshold, valid)
                entry["unsatisfied_required"] = required
                outcome = "unsatisfactory" if unsatisfied >= required else "satisfactory"
            else:
                num, den = rule.satisfaction_below or (0, 1)
                failing = rate is not None and rate < Fraction(num, den)
                outcome = "unsatisfactory" if failing else "satisfactory"
            # without quorum, or when void, nothing is decided
            entry["outcome"] = outcome if decides else None
            if rule.admit_attending:
                for group, group_ballots in groups.items():
                    entry[group] = _marks(subject, group_ballots)
            out[subject] = entry
        for subject, rank in zip(spec.subjects, competition_ranks(rates), strict=True):
            out[subject]["rank"] = rank
        overall = Fraction(favourable, valid_total) if valid_total else None
        # 总体满意率: beside the per-subject rates, never instead of them
        return {
            "subjects": out,
            "overall_rate": None if overall is None else percent_half_up(overall),
        }

    def _count_scores(
        self,
        spec: VoteSpec,
        scores: ScoreRule,
        groups: Mapping[str, Sequence[Any]],
        decides: bool,
    ) -> dict[str, dict[str, Any]]:
        deciding = groups[spec.evaluation.outcome_on.value]
        out: dict[str, dict[str, Any]] = {}
        means: list[Fraction | None] = []
        for subject in spec.subjects:
            entry = count_scores(scores, subject, deciding)
            means.append(entry.pop("_exact"))
            if scores.pass_mark is not None:
                # judged on the shown mean; no valid score has no mean to reach the mark
                shown = entry["mean"]
                good = shown is not None and reaches(shown, scores.pass_mark)
                entry["outcome"] = (
                    ("satisfactory" if good else "unsatisfactory") if decides else None
                )
            if spec.evaluation.admit_attending:
                for group, group_ballots in groups.items():
                    counted = count_scores(scores, subject, group_ballots)
                    counted.pop("_exact")
                    entry[group] = counted
            out[subject] = entry
        # ranked by the exact mean, highest first; no valid score ranks last
        for subject, rank in zip(spec.subjects, competition_ranks(means), strict=True):
            out[subject]["rank"] = rank
        return out

    def breakdown_counts(self, spec: VoteSpec, ballots: Sequence[Any]) -> dict[str, Any]:
        scores = spec.evaluation.scores
        if scores is None:
            return super().breakdown_counts(spec, ballots)
        return {
            "subjects": {
                subject: {k: counted[k] for k in SCORE_COLUMNS}
                for subject in spec.subjects
                for counted in (count_scores(scores, subject, ballots),)
            }
        }

    def breakdown_lines(
        self, counts: Any, titles: Mapping[str, str]
    ) -> tuple[list[str], list[tuple[str, list[int]]]]:
        subjects = counts["subjects"]
        if not _scored(subjects):
            return super().breakdown_lines(counts, titles)
        one = len(subjects) == 1
        return [term("col.valid"), term("col.invalid")], [
            ("" if one else titles.get(sid, sid), [c[k] for k in SCORE_COLUMNS])
            for sid, c in subjects.items()
        ]

    # --- paper counts of scores ----------------------------------------------------------

    def paper_example(self, spec: VoteSpec) -> dict[str, Any]:
        if spec.evaluation.scores is None:
            return super().paper_example(spec)
        return {"cast": 0, "subjects": {s: {"scores": [], "invalid": 0} for s in spec.subjects}}

    def ballots_from_counts(self, spec: VoteSpec, counts: Any) -> list[Any]:
        """Scores on paper: per subject the list of valid scores and the number of
        invalid ones, together as many as the ballots cast."""
        scores = spec.evaluation.scores
        if scores is None:
            return super().ballots_from_counts(spec, counts)
        counts = paper_object(counts, "counts", ("cast", "subjects"))
        cast = paper_count(counts["cast"], "counts.cast")
        subjects = paper_object(counts["subjects"], "counts.subjects", spec.subjects)
        ballots: list[dict[str, int]] = [{} for _ in range(cast)]
        for subject in spec.subjects:
            field = f"counts.subjects.{subject}"
            row = paper_object(subjects[subject], field, ("scores", "invalid"))
            given = row["scores"]
            if not isinstance(given, list) or len(given) > MAX_PAPER_BALLOTS:
                raise SchemaError(f"{field}.scores", "must be a list of scores")
            for i, score in enumerate(given):
                if not scores.valid(score):
                    raise SchemaError(
                        f"{field}.scores[{i}]",
                        f"must be an integer from {scores.low} to {scores.high}",
                    )
            invalid = paper_count(row["invalid"], f"{field}.invalid")
            if len(given) + invalid != cast:
                raise SchemaError(
                    field, f"adds up to {len(given) + invalid}, but {cast} ballots were cast"
                )
            for ballot, score in zip(ballots, given, strict=False):
                ballot[subject] = score  # the rest leave it blank: invalid
        return ballots

    # --- presentation ----------------------------------------------------------------------

    def sheet_table(
        self, result: Mapping[str, Any], titles: Mapping[str, str], seats: int | None, decided: bool
    ) -> SheetTable:
        subjects = result["subjects"]
        if _scored(subjects):
            return self._score_sheet(result, titles)
        rows: list[list[str]] = []
        marks: list[str] = []
        for sid, c in subjects.items():
            outcome = c.get("outcome")
            rank = c.get("rank")
            rows.append(
                [
                    titles.get(sid, sid),
                    *_mark_cells(c),
                    OUTCOME_LABELS.get(outcome, DASH),
                    DASH if rank is None else str(rank),
                ]
            )
            marks.append(OUTCOME_MARKS.get(outcome, ""))
            for group in GROUPS if "members" in c else ():
                # 三种口径: 组成人员, 列席代表, 全体 — under the department they belong to
                rows.append([f"　{term(GROUP_TERMS[group])}", *_mark_cells(c[group]), "", ""])
                marks.append("")
        satisfied, basic, unsatisfied, invalid = self.column_labels
        rate_word = term("col.rate")
        notes = [
            f"{rate_word} =（{satisfied} + {basic}）÷ 有效票；"
            f"未选择或多选择的为{invalid}票，不计入{rate_word}。"
        ]
        notes.extend(_decision_notes(subjects, unsatisfied))
        notes.extend(_overall_and_group_notes(result))
        return SheetTable(
            head=[
                term("col.evaluated"),
                *self.column_labels,
                rate_word,
                term("result.evaluation"),
                term("col.rank"),
            ],
            rows=rows,
            marks=marks,
            widths=[4.2, 1.1, 1.5, 1.3, 1.1, 1.6, 1.6, 1.1],
            notes=notes,
        )

    def _score_sheet(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> SheetTable:
        subjects = result["subjects"]
        judged = any("outcome" in c for c in subjects.values())
        rows: list[list[str]] = []
        marks: list[str] = []
        for sid, c in subjects.items():
            outcome = c.get("outcome")
            rank = c.get("rank")
            tail = [OUTCOME_LABELS.get(outcome, DASH)] if judged else []
            rows.append(
                [
                    titles.get(sid, sid),
                    *_score_cells(c),
                    *tail,
                    DASH if rank is None else str(rank),
                ]
            )
            marks.append(OUTCOME_MARKS.get(outcome, ""))
            for group in GROUPS if "members" in c else ():
                blank = [""] if judged else []
                rows.append([f"　{term(GROUP_TERMS[group])}", *_score_cells(c[group]), *blank, ""])
                marks.append("")
        mean = term("col.mean")
        notes = [
            f"{mean}为有效分数的平均数，保留两位小数（四舍五入）；"
            f"空白或超出分值范围的为{term('col.invalid')}，不计入{mean}。",
            f"“{term('col.trimmed')}”为“{yes_no(True)}”的，{mean}已去掉最高分和最低分。",
        ]
        notes.extend(_overall_and_group_notes(result))
        head = [term("col.evaluated"), term("col.valid"), term("col.invalid"), mean,
                term("col.trimmed")]  # fmt: skip
        if judged:
            head.append(term("result.evaluation"))
        head.append(term("col.rank"))
        widths = [3.6, 1.1, 1.1, 1.5, 3.6] + ([1.6] if judged else []) + [1.1]
        return SheetTable(head=head, rows=rows, marks=marks, widths=widths, notes=notes)

    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        subjects = result["subjects"]
        outcomes = [c.get("outcome") for c in subjects.values()]
        act = term("act.evaluation")
        if _scored(subjects) and not any("outcome" in c for c in subjects.values()):
            best = [titles.get(k, k) for k, c in subjects.items() if c.get("rank") == 1]
            means = [c["mean"] for c in subjects.values() if c.get("rank") == 1]
            if not means or means[0] is None:
                return f"{len(outcomes)} 个部门{act}"
            return f"{len(outcomes)} 个部门{act}，{'、'.join(best)}{term('col.mean')}最高"
        bad = sum(1 for o in outcomes if o in ("unsatisfactory", "unsatisfied"))
        worst = "unsatisfied" if "unsatisfied" in outcomes else "unsatisfactory"
        basic = sum(1 for o in outcomes if o == "basic")
        if bad or basic:
            parts = [f"{basic} 个{OUTCOME_LABELS['basic']}"] if basic else []
            if bad:
                parts.append(f"{bad} 个{OUTCOME_LABELS[worst]}")
            return f"{len(outcomes)} 个部门{act}，{'，'.join(parts)}"
        return f"{len(outcomes)} 个部门{act}均为{OUTCOME_LABELS['satisfactory']}"

    def export_rows(
        self, result: Mapping[str, Any], titles: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        overall = result.get("overall_rate")
        for sid, c in result["subjects"].items():
            base = {"subject": sid, "title": titles.get(sid, sid)}
            rows.append(
                {
                    **base,
                    **_export_counts(c),
                    "required": c.get("unsatisfied_required"),
                    "outcome": OUTCOME_LABELS.get(c.get("outcome")),
                    "rank": c.get("rank"),
                    "overall_rate": overall,
                }
            )
            for group in GROUPS if "members" in c else ():
                rows.append({**base, "group": term(GROUP_TERMS[group]), **_export_counts(c[group])})
        return rows


def _mark_cells(c: Mapping[str, Any]) -> list[str]:
    rate = c.get("satisfaction_rate")
    return [
        str(c["satisfied"]),
        str(c["basic"]),
        str(c["unsatisfied"]),
        str(c["invalid"]),
        DASH if rate is None else f"{rate}%",
    ]


def _score_cells(c: Mapping[str, Any]) -> list[str]:
    mean = c.get("mean")
    return [str(c["valid"]), str(c["invalid"]), DASH if mean is None else mean,
            yes_no(bool(c["trimmed"]))]  # fmt: skip


def _export_counts(c: Mapping[str, Any]) -> dict[str, Any]:
    if "mean" in c:
        return {"valid": c["valid"], "invalid": c["invalid"], "mean": c["mean"],
                "trimmed": yes_no(bool(c["trimmed"]))}  # fmt: skip
    return {
        "satisfied": c["satisfied"],
        "basic": c["basic"],
        "unsatisfied": c["unsatisfied"],
        "invalid": c["invalid"],
        "satisfaction_rate": c.get("satisfaction_rate"),
    }


def _decision_notes(subjects: Mapping[str, Any], unsatisfied: str) -> list[str]:
    """How the outcome was decided, when one number says it for every department."""
    notes: list[str] = []
    required = {c["unsatisfied_required"] for c in subjects.values() if "unsatisfied_required" in c}
    if len(required) == 1:
        notes.append(
            f"{unsatisfied}票达到 {required.pop()} 票的，{term('result.evaluation')}为"
            f"{OUTCOME_LABELS['unsatisfactory']}。"
        )
    if any("satisfied_required" in c for c in subjects.values()):
        notes.append(
            f"三档结论：{term('mark.satisfied')}票达到其所需票数的为{OUTCOME_LABELS['satisfied']}；"
            f"否则{term('mark.satisfied')}与{term('mark.basic')}票合计达到其所需票数的为"
            f"{OUTCOME_LABELS['basic']}；其余为{OUTCOME_LABELS['unsatisfied']}。"
        )
    return notes


def _overall_and_group_notes(result: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    if "overall_rate" in result:
        rate = result["overall_rate"]
        notes.append(f"{term('overall_rate')}：{DASH if rate is None else f'{rate}%'}。")
    if "outcome_on" in result:
        decides = term(GROUP_TERMS.get(result["outcome_on"], "group.members"))
        notes.append(
            f"{term('group.attending')}参加{term('act.evaluation')}，结果按"
            f"{term('group.members')}、{term('group.attending')}、{term('group.all')}分别列出；"
            f"{term('result.evaluation')}按{decides}的票确定。"
        )
    return notes
