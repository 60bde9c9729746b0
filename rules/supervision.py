"""Tracked items (督办事项): livelihood projects, special-report topics and rectifications,
their states, the steps between them and who may take each. Pure: no I/O, no clock.

One table, ``STEPS``, says for each kind of item and each action: the states it may be
taken in, the state it leads to, the roles that may take it (rules/duties.py) and what
it must carry (a vote, a document, a reporting period, a deadline). The services ask
``apply`` before they change an item, and the verifier (audit/verify.py) replays every
``item_changed`` entry of the log through it. docs/supervision.md is the table for people.

An action that an announced vote decides (selected or not, accepted or not, closed or
reopened) is the system's, citing the vote; ``announced_action`` says which one a result
calls for, so that the server and the verifier agree on it.

Also here: the complaint ranking "两高一低" (``rank_departments``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

from rules.duties import ITEM_DECIDERS, ITEM_RECORDERS, ITEM_SYSTEM, item_role_error
from rules.kinds.evaluation import FAILING_OUTCOMES
from rules.kinds.vocabulary import Outcome


class ItemKind(StrEnum):
    PROJECT = "project"  # 民生实事项目: 征集 → 初审 → 票决 → 实施 → 验单
    TOPIC = "topic"  # 专项工作报告议题: a department chosen for a special report and its 测评
    RECTIFICATION = "rectification"  # 整改: after an unsatisfactory evaluation, until 回头看


class Period(StrEnum):
    """When a livelihood project reports its progress (一季一推动)."""

    Q1 = "q1"
    MID_YEAR = "mid_year"  # 年中
    Q3 = "q3"
    YEAR_END = "year_end"  # 年底


PERIODS = tuple(p.value for p in Period)
REQUIRED_REPORTS = frozenset({Period.MID_YEAR.value, Period.YEAR_END.value})  # before 验单
# The outcomes of an evaluation subject that call for rectification: the evaluation's
# own (RULES.md "Follow-up of results").
BAD_OUTCOMES = FAILING_OUTCOMES
NEW = None  # the "state" of an item before its first entry
DECIDED = Outcome.DECIDED.value  # a result that decides (not void, quorate)
DEADLINE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # 整改期限, a date (北京时间)
ISSUES_MAX = 2_000


@dataclass(frozen=True)
class Step:
    sources: frozenset[str | None]
    target: str
    roles: frozenset[str]
    vote: bool = False  # cites a vote: the one generated (to await), or the one that decided
    document: bool = False  # carries a document (a report)
    period: bool = False  # a progress report's period
    deadline: bool = False  # a deadline and the issues to fix


def _s(*states: str | None) -> frozenset[str | None]:
    return frozenset(states)


R, D, S = ITEM_RECORDERS, ITEM_DECIDERS, ITEM_SYSTEM
# (kind, action) → step. The one transition table.
STEPS: Mapping[tuple[str, str], Step] = {
    # 民生实事项目
    ("project", "propose"): Step(_s(NEW), "proposed", R),  # 征集: a proposal recorded
    ("project", "shortlist"): Step(_s("proposed"), "shortlisted", D),  # 初审通过
    ("project", "reject"): Step(_s("proposed"), "rejected", D),  # 初审未通过
    ("project", "submit"): Step(_s("shortlisted"), "submitted", D, vote=True),  # 列入票决
    ("project", "select"): Step(_s("submitted"), "selected", S, vote=True),  # 票决选中
    ("project", "not_select"): Step(_s("submitted"), "not_selected", S, vote=True),
    ("project", "assign"): Step(_s("selected"), "in_progress", R),  # 交办 a department
    ("project", "report"): Step(
        _s("in_progress"), "in_progress", R, document=True, period=True
    ),  # 进度报告
    ("project", "submit_acceptance"): Step(
        _s("in_progress"), "accepted_vote", D, vote=True
    ),  # 验单测评
    ("project", "accept"): Step(_s("accepted_vote"), "accepted", S, vote=True),
    ("project", "not_accept"): Step(_s("accepted_vote"), "not_accepted", S, vote=True),
    # 专项工作报告议题 (from the complaint ranking, or proposed by the office)
    ("topic", "propose"): Step(_s(NEW), "proposed", R),
    ("topic", "drop"): Step(_s("proposed"), "dropped", D),
    ("topic", "schedule"): Step(_s("proposed"), "scheduled", D, vote=True),  # 列入测评
    ("topic", "evaluated"): Step(_s("scheduled"), "evaluated", S, vote=True),
    # 整改
    ("rectification", "open"): Step(_s(NEW), "opened", S, vote=True),
    ("rectification", "set_deadline"): Step(
        _s("opened", "reopened"), "deadline_set", D, deadline=True
    ),  # 主任会议定期限
    ("rectification", "report"): Step(_s("deadline_set"), "reported", R, document=True),
    ("rectification", "schedule_reevaluation"): Step(
        _s("reported"), "reevaluation_scheduled", D, vote=True
    ),  # 回头看
    ("rectification", "close"): Step(
        _s("reevaluation_scheduled"), "closed_satisfactory", S, vote=True
    ),
    ("rectification", "reopen"): Step(_s("reevaluation_scheduled"), "reopened", S, vote=True),
}
KINDS = tuple(k.value for k in ItemKind)
ACTIONS: Mapping[str, tuple[str, ...]] = {
    kind: tuple(a for k, a in STEPS if k == kind) for kind in KINDS
}
STATES: Mapping[str, tuple[str, ...]] = {
    kind: tuple(dict.fromkeys(s.target for (k, _), s in STEPS.items() if k == kind))
    for kind in KINDS
}
# The states in which an item awaits the vote it was put to.
AWAITING = frozenset({"submitted", "accepted_vote", "scheduled", "reevaluation_scheduled"})
FINAL = frozenset(
    {"rejected", "not_selected", "accepted", "not_accepted", "dropped", "evaluated",
     "closed_satisfactory"}
)  # fmt: skip


@dataclass(frozen=True)
class ItemState:
    """What the rules need to know of an item: its kind, state and subject id (the
    candidate or subject id it has in the votes generated from it), the vote it awaits,
    the progress periods reported, and the rectification round (1, 2 … after 回头看)."""

    kind: str
    state: str
    subject: str
    vote: int | None = None
    reports: frozenset[str] = frozenset()
    round: int = 1


@dataclass(frozen=True)
class Event:
    """One change asked of an item. ``role``: the staff role taking it, or ``SYSTEM``."""

    kind: str
    action: str
    role: str | None
    subject: str = ""  # at creation: the item's subject id
    vote: int | None = None
    document: bool = False
    period: str | None = None
    deadline: str | None = None
    issues: str | None = None


@dataclass(frozen=True)
class Refused:
    """Why an event does not apply, naming what mismatched."""

    reason: str


def step_of(kind: str, action: str) -> Step | None:
    return STEPS.get((kind, action))


def allowed_actions(state: ItemState | None, kind: str) -> list[str]:
    """The actions that may be taken on an item now (by some role)."""
    current = state.state if state is not None else NEW
    return [a for (k, a), s in STEPS.items() if k == kind and current in s.sources]


def apply(state: ItemState | None, event: Event) -> ItemState | Refused:
    """The item after ``event``, or why it may not happen. ``state`` None: a new item."""
    if event.kind not in KINDS:
        return Refused(f"unknown item kind {event.kind!r}")
    if state is not None and state.kind != event.kind:
        return Refused(f"the item is a {state.kind}, not a {event.kind}")
    step = step_of(event.kind, event.action)
    if step is None:
        return Refused(f"no action {event.action!r} for a {event.kind}")
    current = state.state if state is not None else NEW
    if current not in step.sources:
        expected = " or ".join(sorted("(new)" if s is None else s for s in step.sources))
        shown = "(new)" if current is None else current
        return Refused(f"{event.action}: the item is {shown}, expected {expected}")
    if (error := item_role_error(event.action, step.roles, event.role)) is not None:
        return Refused(error)
    if (error := _carried_error(step, event, state)) is not None:
        return Refused(f"{event.action}: {error}")
    if state is None:
        if not event.subject or event.subject != event.subject.strip() or len(event.subject) > 64:
            return Refused(f"{event.action}: a subject id of 1 to 64 characters is needed")
        return ItemState(event.kind, step.target, event.subject, vote=event.vote)
    return _next(state, step, event)


def _carried_error(step: Step, event: Event, state: ItemState | None) -> str | None:
    if step.vote != (event.vote is not None):
        return "a vote is required" if step.vote else "no vote belongs to this step"
    if step.vote and ITEM_SYSTEM & step.roles and state is not None and event.vote != state.vote:
        return f"vote {event.vote} is not the one the item awaits ({state.vote})"
    if step.document and not event.document:
        return "a document is required"
    if step.period:
        if event.period not in PERIODS:
            return f"period {event.period!r} is not one of {[p.value for p in Period]}"
        assert state is not None
        if event.period in state.reports:
            return f"the {event.period} report was already made"
    elif event.period is not None:
        return "no period belongs to this step"
    if step.deadline:
        if event.deadline is None or not DEADLINE.match(event.deadline):
            return "a deadline YYYY-MM-DD is required"
        if not event.issues or not event.issues.strip() or len(event.issues) > ISSUES_MAX:
            return f"the issues to fix (1 to {ISSUES_MAX} characters) are required"
    if event.action == "submit_acceptance" and state is not None:
        missing = sorted(REQUIRED_REPORTS - state.reports)
        if missing:
            return f"progress reports missing: {missing}"
    return None


def _next(state: ItemState, step: Step, event: Event) -> ItemState:
    reports = state.reports | {event.period} if event.period else state.reports
    round_ = state.round + 1 if state.state == "reopened" else state.round
    # an item awaits the vote it was put to until that vote decides it
    vote = event.vote if step.target in AWAITING else None
    return replace(state, state=step.target, vote=vote, reports=reports, round=round_)


def ballot_title(kind: str, title: str, department: str | None) -> str:
    """An item's title on a generated ballot: a project's own title; a department (a
    topic, a rectification) is evaluated by its name."""
    return title if kind == ItemKind.PROJECT else department or title


def follow_rerun(state: ItemState, old: int, new: int) -> ItemState:
    """A re-run (再次表决) of the vote an item awaits: it now awaits the new vote."""
    return replace(state, vote=new) if state.vote == old else state


def announced_action(state: ItemState, result: Mapping[str, Any]) -> str | None:
    """The system's action on an item awaiting a vote whose ``result`` was announced:
    None when the result decides nothing for it (no quorum, void, a runoff for it)."""
    if result.get("outcome") != DECIDED:
        return None  # 表决无效 / 不足法定人数: the presidium re-runs it
    if state.state == "submitted":
        selection = result.get("selection")
        if not isinstance(selection, Mapping) or "selected" not in selection:
            return None
        runoff = selection.get("runoff") or {}
        if state.subject in runoff.get("candidates", ()):
            return None  # 再次投票 decides it
        return "select" if state.subject in selection["selected"] else "not_select"
    outcome = subject_outcome(result, state.subject)
    if outcome is _MISSING:
        return None
    bad = outcome in BAD_OUTCOMES
    if state.state == "accepted_vote":
        return "not_accept" if bad else "accept"
    if state.state == "reevaluation_scheduled":
        return "reopen" if bad else "close"
    if state.state == "scheduled":
        return "evaluated"
    return None


_MISSING = object()


def subject_outcome(result: Mapping[str, Any], subject: str) -> Any:
    """The outcome of ``subject`` in an evaluation's result (None: the kind gives none,
    e.g. scores without a pass mark); ``_MISSING`` if the result has no such subject."""
    subjects = result.get("subjects")
    if not isinstance(subjects, Mapping) or subject not in subjects:
        return _MISSING
    entry = subjects[subject]
    return entry.get("outcome") if isinstance(entry, Mapping) else None


def unsatisfactory_subjects(result: Mapping[str, Any]) -> list[str]:
    """The subjects of an announced evaluation that must rectify (整改), in result order."""
    subjects = result.get("subjects")
    if result.get("outcome") != DECIDED or not isinstance(subjects, Mapping):
        return []
    return [s for s in subjects if subject_outcome(result, s) in BAD_OUTCOMES]


# --- the complaint ranking "两高一低" ------------------------------------------------------


@dataclass(frozen=True)
class ComplaintRow:
    """A department's complaint statistics (e.g. the 12345 hotline's) for the year:
    complaints (投诉量), repeat complaints (重复投诉量) and satisfaction (满意度, a
    fraction of 1: 85.5% is Fraction(171, 200))."""

    department: str
    complaints: int
    repeat: int
    satisfaction: Fraction


@dataclass(frozen=True)
class Ranked:
    department: str
    complaint_rank: int
    repeat_rank: int
    satisfaction_rank: int
    score: int  # the sum of the three ranks: the lower, the worse
    position: int  # 1, 2, 3 … in the ranking (no ties: file order breaks them)
    row: ComplaintRow = field(compare=False)


def competition_ranks(values: Sequence[Any], highest_first: bool) -> list[int]:
    """Rank 1 for the worst value; equal values share a rank (1, 1, 3)."""
    return [1 + sum(1 for w in values if (w > v if highest_first else w < v)) for v in values]


def rank_departments(rows: Sequence[ComplaintRow]) -> list[Ranked] | Refused:
    """Rank departments by "两高一低": high complaints, high repeat complaints, low
    satisfaction. Each measure ranks the departments from worst (1) with ties shared;
    the score is the sum of the three ranks; the lowest score comes first, and equal
    scores keep the order of the rows. Refused when a department is named twice or a
    figure is out of range."""
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        if not row.department or row.department in seen:
            return Refused(f"row {n}: department {row.department!r} is empty or named twice")
        seen.add(row.department)
        if row.complaints < 0 or not 0 <= row.repeat <= row.complaints:
            return Refused(f"row {n}: repeat complaints must be between 0 and the complaints")
        if not 0 <= row.satisfaction <= 1:
            return Refused(f"row {n}: satisfaction must be between 0 and 100%")
    c = competition_ranks([r.complaints for r in rows], highest_first=True)
    p = competition_ranks([r.repeat for r in rows], highest_first=True)
    s = competition_ranks([r.satisfaction for r in rows], highest_first=False)
    order = sorted(range(len(rows)), key=lambda i: (c[i] + p[i] + s[i], i))
    return [
        Ranked(rows[i].department, c[i], p[i], s[i], c[i] + p[i] + s[i], n, rows[i])
        for n, i in enumerate(order, 1)
    ]


def propose_top(rows: Sequence[ComplaintRow], k: int) -> list[Ranked] | Refused:
    """The first ``k`` of the ranking: the departments proposed for this year's special
    reports (专项工作报告)."""
    if k < 1:
        return Refused("at least one department must be proposed")
    ranked = rank_departments(rows)
    return ranked if isinstance(ranked, Refused) else ranked[:k]
