"""表决 (motion): 赞成 / 反对 / 弃权 on one or several subjects, each decided alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

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
    column_labels = ("赞成", "反对", "弃权", "无效")

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
                    f"需 {c['required']} 票",
                    "通过" if passed else "未通过",
                ]
            )
            marks.append("pass" if passed else "fail")
        return SheetTable(
            head=["表决事项", "赞成", "反对", "弃权", "无效", "通过所需", "表决结果"],
            rows=rows,
            marks=marks,
            widths=[5, 1.3, 1.3, 1.3, 1.3, 1.9, 1.9],
            notes=["赞成票达到通过所需票数的为通过；未按表决器的不计入赞成、反对、弃权。"],
            verdict=rows[0][-1] if len(subjects) == 1 and decided else None,
        )

    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        subjects = result["subjects"]
        return "；".join(
            f"{titles.get(k, k)} {'通过' if c['passed'] else '未通过'}"
            if len(subjects) > 1
            else ("通过" if c["passed"] else "未通过")
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
