"""满意度测评 (evaluation): 满意 / 基本满意 / 不满意 per department, ranked by satisfaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from rules.glossary import term
from rules.kinds.base import DASH, KindConfig, MarksKind, SheetTable
from rules.kinds.config import Id, Ratio, ThresholdModel, proper_fraction, unique
from rules.kinds.vocabulary import (
    DEFAULT_QUORUM,
    EVALUATION_MARKS,
    EvaluationMark,
    EvaluationRule,
    Turnout,
    VoteSpec,
)

COLUMNS = (
    EvaluationMark.SATISFIED.value,
    EvaluationMark.BASIC.value,
    EvaluationMark.UNSATISFIED.value,
    "invalid",
)
OUTCOME_LABELS = {o: term(f"verdict.{o}") for o in ("satisfactory", "unsatisfactory")}


class EvaluationVote(KindConfig):
    kind: Literal["evaluation"]
    subjects: Annotated[list[Id], Field(min_length=1, max_length=200)]
    quorum: ThresholdModel | None = None
    unsatisfied_threshold: ThresholdModel | None = None
    satisfaction_below: Ratio | None = None

    _ids = field_validator("subjects")(unique)
    _below = field_validator("satisfaction_below")(proper_fraction)

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

    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        out: dict[str, object] = {"subjects": list(spec.subjects), "quorum": spec.quorum.to_json()}
        if spec.evaluation.unsatisfied_threshold is not None:
            out["unsatisfied_threshold"] = spec.evaluation.unsatisfied_threshold.to_json()
        else:
            out["satisfaction_below"] = list(spec.evaluation.satisfaction_below or ())
        return out

    def tally(
        self, spec: VoteSpec, turnout: Turnout, ballots: Sequence[Any], decides: bool
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
            entry["outcome"] = (
                ("unsatisfactory" if failing else "satisfactory") if decides else None
            )
            out[subject] = entry
        for subject, rank in zip(spec.subjects, competition_ranks(rates), strict=True):
            out[subject]["rank"] = rank
        return out

    def sheet_table(
        self, result: Mapping[str, Any], titles: Mapping[str, str], seats: int | None, decided: bool
    ) -> SheetTable:
        rows, marks = [], []
        subjects = result["subjects"]
        for sid, c in subjects.items():
            outcome = c.get("outcome")
            rank = c.get("rank")
            rate = c.get("satisfaction_rate")
            rows.append(
                [
                    titles.get(sid, sid),
                    str(c["satisfied"]),
                    str(c["basic"]),
                    str(c["unsatisfied"]),
                    str(c["invalid"]),
                    DASH if rate is None else f"{rate}%",
                    OUTCOME_LABELS.get(outcome, DASH),
                    DASH if rank is None else str(rank),
                ]
            )
            marks.append({"satisfactory": "pass", "unsatisfactory": "fail"}.get(outcome, ""))
        satisfied, basic, unsatisfied, invalid = self.column_labels
        rate_word = term("col.rate")
        notes = [
            f"{rate_word} =（{satisfied} + {basic}）÷ 有效票；"
            f"未选择或多选择的为{invalid}票，不计入{rate_word}。"
        ]
        required = {
            c["unsatisfied_required"] for c in subjects.values() if "unsatisfied_required" in c
        }
        if len(required) == 1:
            notes.append(
                f"{unsatisfied}票达到 {required.pop()} 票的，{term('result.evaluation')}为"
                f"{OUTCOME_LABELS['unsatisfactory']}。"
            )
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

    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        outcomes = [c.get("outcome") for c in result["subjects"].values()]
        bad = sum(1 for o in outcomes if o == "unsatisfactory")
        act = term("act.evaluation")
        return (
            f"{len(outcomes)} 个部门{act}，{bad} 个{OUTCOME_LABELS['unsatisfactory']}"
            if bad
            else f"{len(outcomes)} 个部门{act}均为{OUTCOME_LABELS['satisfactory']}"
        )

    def export_rows(
        self, result: Mapping[str, Any], titles: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        return [
            {
                "subject": sid,
                "title": titles.get(sid, sid),
                "satisfied": c["satisfied"],
                "basic": c["basic"],
                "unsatisfied": c["unsatisfied"],
                "invalid": c["invalid"],
                "required": c.get("unsatisfied_required"),
                "satisfaction_rate": c.get("satisfaction_rate"),
                "outcome": OUTCOME_LABELS.get(c.get("outcome")),
                "rank": c.get("rank"),
            }
            for sid, c in result["subjects"].items()
        ]
