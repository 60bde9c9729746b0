"""表决 (motion): 赞成 / 反对 / 弃权 on one or several subjects, each decided alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from rules.glossary import at_least_votes, term
from rules.kinds.base import KindConfig, MarksKind, SheetTable, yes_no
from rules.kinds.config import (
    Id,
    ThresholdModel,
    unique,
)
from rules.kinds.vocabulary import (
    DEFAULT_MOTION_THRESHOLD,
    DEFAULT_QUORUM,
    MOTION_MARKS,
    MotionMark,
    Turnout,
    VoteSpec,
)

SPOILED = "spoiled"  # the mark of a motion subject spoiled on paper (废票): counted invalid
COLUMNS = (MotionMark.YES.value, MotionMark.NO.value, MotionMark.ABSTAIN.value, "invalid")


def _verdict(passed: bool) -> str:
    return term("verdict.passed" if passed else "verdict.failed")


class MotionVote(KindConfig):
    kind: Literal["motion"]
    subjects: Annotated[list[Id], Field(min_length=1, max_length=200)]
    threshold: ThresholdModel | None = None
    quorum: ThresholdModel | None = None

    _ids = field_validator("subjects")(unique)

    def to_spec(self) -> VoteSpec:
        return VoteSpec(
            kind=self.kind,
            subjects=tuple(self.subjects),
            threshold=self.threshold.to_threshold() if self.threshold else DEFAULT_MOTION_THRESHOLD,
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
        )


class Motion(MarksKind):
    name = "motion"
    label_zh = "议案表决"
    label_en = "Motion"
    config_model = MotionVote
    marks = (MotionMark.YES.value, MotionMark.NO.value, MotionMark.ABSTAIN.value)
    paper_columns = COLUMNS
    # unmarked would be 弃权 in a motion, so an invalid vote is a spoiled mark
    paper_invalid_mark = SPOILED
    column_labels = (*(term(f"mark.{m}") for m in marks), term("col.invalid"))
    # a kiosk's unmarked subject is 弃权 and its marks are checked on arrival: only a
    # paper count has invalid votes
    kiosk_invalid = False
    # trustee mode: a subject's contest is yes / no, at most one; unmarked is 弃权
    unmarked_column = MotionMark.ABSTAIN.value

    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        return {
            "subjects": list(spec.subjects),
            "threshold": spec.threshold.to_json(),
            "quorum": spec.quorum.to_json(),
        }

    def tally(
        self, spec: VoteSpec, turnout: Turnout, ballots: Sequence[Any], decides: bool
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

    def sheet_table(
        self, result: Mapping[str, Any], titles: Mapping[str, str], seats: int | None, decided: bool
    ) -> SheetTable:
        rows, marks = [], []
        subjects = result["subjects"]
        for sid, c in subjects.items():
            passed = bool(c["passed"])
            rows.append(
                [
                    titles.get(sid, sid),
                    str(c["yes"]),
                    str(c["no"]),
                    str(c["abstain"]),
                    str(c["invalid"]),
                    at_least_votes(c["required"]),
                    _verdict(passed),
                ]
            )
            marks.append("pass" if passed else "fail")
        return SheetTable(
            head=[
                term("col.subject"),
                *self.column_labels,
                term("col.required"),
                term("col.result"),
            ],
            rows=rows,
            marks=marks,
            widths=[5, 1.3, 1.3, 1.3, 1.3, 2.4, 1.6],
            notes=[
                "{yes}票达到{required}票数的为{passed}；{not_voted}表决器的不计入{yes}、{no}、"
                "{abstain}。".format(
                    yes=term("mark.yes"),
                    no=term("mark.no"),
                    abstain=term("mark.abstain"),
                    required=term("col.required"),
                    passed=term("verdict.passed"),
                    not_voted=term("not_voted"),
                )
            ],
            verdict=rows[0][-1] if len(subjects) == 1 and decided else None,
        )

    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        subjects = result["subjects"]
        return "；".join(
            f"{titles.get(k, k)} {_verdict(c['passed'])}"
            if len(subjects) > 1
            else _verdict(c["passed"])
            for k, c in subjects.items()
        )

    def export_rows(
        self, result: Mapping[str, Any], titles: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        return [
            {
                "subject": sid,
                "title": titles.get(sid, sid),
                "yes": c["yes"],
                "no": c["no"],
                "abstain": c["abstain"],
                "invalid": c["invalid"],
                "required": c["required"],
                "passed": yes_no(c["passed"]),
            }
            for sid, c in result["subjects"].items()
        ]
