"""The pure rules of tracked items (rules/supervision.py, docs/supervision.md): the one
transition table, who may take each step, what a step must carry, what an announced
result decides, and the complaint ranking "两高一低" on worked examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rules.duties import PRESIDIUM, SCRUTINEER, SECRETARIAT, SYSTEM
from rules.supervision import (
    STATES,
    STEPS,
    ComplaintRow,
    Event,
    ItemState,
    Refused,
    announced_action,
    apply,
    competition_ranks,
    follow_rerun,
    propose_top,
    rank_departments,
    unsatisfactory_subjects,
)


def run(events: list[Event]) -> ItemState:
    state: ItemState | None = None
    for event in events:
        new = apply(state, event)
        assert not isinstance(new, Refused), new
        state = new
    assert state is not None
    return state


def project(action: str, role: str | None, **kw: object) -> Event:
    return Event("project", action, role, **kw)  # type: ignore[arg-type]


def rect(action: str, role: str | None, **kw: object) -> Event:
    return Event("rectification", action, role, **kw)  # type: ignore[arg-type]


def test_a_project_from_proposal_to_acceptance() -> None:
    state = run([
        project("propose", SECRETARIAT, subject="p1"),
        project("shortlist", PRESIDIUM),
        project("submit", PRESIDIUM, vote=7),
    ])  # fmt: skip
    assert (state.state, state.vote) == ("submitted", 7)
    state = run([
        project("propose", SECRETARIAT, subject="p1"),
        project("shortlist", PRESIDIUM),
        project("submit", PRESIDIUM, vote=7),
        project("select", SYSTEM, vote=7),
        project("assign", SECRETARIAT),
        project("report", SECRETARIAT, document=True, period="mid_year"),
        project("report", SECRETARIAT, document=True, period="year_end"),
        project("submit_acceptance", PRESIDIUM, vote=12),
        project("accept", SYSTEM, vote=12),
    ])  # fmt: skip
    assert state.state == "accepted"
    assert state.reports == {"mid_year", "year_end"}
    assert state.vote is None


def test_a_rectification_reopens_and_starts_a_new_round() -> None:
    events = [
        rect("open", SYSTEM, subject="县交通运输局", vote=3),
        rect("set_deadline", PRESIDIUM, deadline="2026-09-30", issues="农村公路养护"),
        rect("report", SECRETARIAT, document=True),
        rect("schedule_reevaluation", PRESIDIUM, vote=9),
        rect("reopen", SYSTEM, vote=9),
    ]
    state = run(events)
    assert (state.state, state.round) == ("reopened", 1)
    state = run([*events, rect("set_deadline", PRESIDIUM, deadline="2027-03-31", issues="再整改")])
    assert (state.state, state.round) == ("deadline_set", 2)


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        # wrong role: the office does not decide 初审
        ([project("propose", SECRETARIAT, subject="p1"), project("shortlist", SECRETARIAT)],
         "shortlist is for presidium, not secretariat"),
        # a scrutineer records nothing
        ([project("propose", SCRUTINEER, subject="p1")], "propose is for secretariat"),
        # the system's step taken by a person
        ([project("propose", SECRETARIAT, subject="p1"), project("shortlist", PRESIDIUM),
          project("submit", PRESIDIUM, vote=7), project("select", PRESIDIUM, vote=7)],
         "select is made by the system"),
        # illegal transition: selected before any vote
        ([project("propose", SECRETARIAT, subject="p1"), project("select", SYSTEM, vote=7)],
         "select: the item is proposed, expected submitted"),
        # decided by another vote than the one it awaits
        ([project("propose", SECRETARIAT, subject="p1"), project("shortlist", PRESIDIUM),
          project("submit", PRESIDIUM, vote=7), project("select", SYSTEM, vote=8)],
         "vote 8 is not the one the item awaits (7)"),
        # 验单 before the year-end report
        ([project("propose", SECRETARIAT, subject="p1"), project("shortlist", PRESIDIUM),
          project("submit", PRESIDIUM, vote=7), project("select", SYSTEM, vote=7),
          project("assign", SECRETARIAT),
          project("report", SECRETARIAT, document=True, period="mid_year"),
          project("submit_acceptance", PRESIDIUM, vote=12)],
         "progress reports missing: ['year_end']"),
        # the same period twice
        ([project("propose", SECRETARIAT, subject="p1"), project("shortlist", PRESIDIUM),
          project("submit", PRESIDIUM, vote=7), project("select", SYSTEM, vote=7),
          project("assign", SECRETARIAT),
          project("report", SECRETARIAT, document=True, period="mid_year"),
          project("report", SECRETARIAT, document=True, period="mid_year")],
         "the mid_year report was already made"),
        # a report without its document
        ([rect("open", SYSTEM, subject="d", vote=3),
          rect("set_deadline", PRESIDIUM, deadline="2026-09-30", issues="x"),
          rect("report", SECRETARIAT)], "a document is required"),
        # a deadline that is no date
        ([rect("open", SYSTEM, subject="d", vote=3),
          rect("set_deadline", PRESIDIUM, deadline="九月底", issues="x")],
         "a deadline YYYY-MM-DD is required"),
        ([rect("open", SYSTEM, subject="d")], "open: a vote is required"),
        ([Event("project", "open", SYSTEM, subject="d", vote=1)], "no action 'open' for a project"),
    ],
)  # fmt: skip
def test_refusals_name_what_mismatched(events: list[Event], reason: str) -> None:
    state: ItemState | None = None
    for event in events[:-1]:
        new = apply(state, event)
        assert isinstance(new, ItemState), new
        state = new
    refused = apply(state, events[-1])
    assert isinstance(refused, Refused)
    assert reason in refused.reason


def test_every_step_names_roles_and_reaches_a_known_state() -> None:
    for (kind, _action), step in STEPS.items():
        assert step.roles
        assert step.target in STATES[kind]
        if SYSTEM in step.roles:
            assert step.vote, "the system acts only on a vote's result"


def test_what_an_announced_result_decides() -> None:
    submitted = ItemState("project", "submitted", "p2", vote=7)
    selection = {"outcome": "decided", "selection": {"selected": ["p1", "p2"], "runoff": None}}
    assert announced_action(submitted, selection) == "select"
    assert announced_action(ItemState("project", "submitted", "p9", vote=7), selection) == (
        "not_select"
    )
    runoff = {"candidates": ["p2", "p3"], "seats": 1}
    tie = {"outcome": "decided", "selection": {"selected": ["p1"], "runoff": runoff}}
    assert announced_action(submitted, tie) is None  # 再次投票 decides it
    no_quorum = {"outcome": "no_quorum", "selection": {"selected": []}}
    assert announced_action(submitted, no_quorum) is None

    evaluation = {
        "outcome": "decided",
        "subjects": {"a": {"outcome": "satisfactory"}, "b": {"outcome": "unsatisfied"}},
    }
    assert announced_action(ItemState("project", "accepted_vote", "a", 4), evaluation) == "accept"
    assert announced_action(ItemState("project", "accepted_vote", "b", 4), evaluation) == (
        "not_accept"
    )
    scheduled = ItemState("rectification", "reevaluation_scheduled", "b", 4)
    assert announced_action(scheduled, evaluation) == "reopen"
    assert announced_action(ItemState("topic", "scheduled", "a", 4), evaluation) == "evaluated"
    assert unsatisfactory_subjects(evaluation) == ["b"]
    bad = {"x": {"outcome": "unsatisfactory"}}
    assert unsatisfactory_subjects({"outcome": "decided", "subjects": bad}) == ["x"]
    assert unsatisfactory_subjects({"outcome": "void", "subjects": bad}) == []
    assert follow_rerun(scheduled, 4, 5).vote == 5


# --- 两高一低 --------------------------------------------------------------------------------


def row(name: str, complaints: int, repeat: int, percent: str) -> ComplaintRow:
    return ComplaintRow(name, complaints, repeat, Fraction(percent) / 100)


def test_competition_ranks_share_ties() -> None:
    assert competition_ranks([5, 9, 9, 1], highest_first=True) == [3, 1, 1, 4]
    assert competition_ranks([Fraction(9, 10), Fraction(8, 10)], highest_first=False) == [2, 1]


def test_ranking_two_highs_one_low() -> None:
    rows = [
        row("县住建局", 1200, 300, "78.5"),
        row("县交通运输局", 900, 310, "72.0"),
        row("县市场监管局", 400, 50, "91.0"),
        row("县人社局", 900, 120, "85.0"),
    ]
    ranked = rank_departments(rows)
    assert not isinstance(ranked, Refused)
    table = [(r.department, r.complaint_rank, r.repeat_rank, r.satisfaction_rank, r.score)
             for r in ranked]  # fmt: skip
    assert table == [
        ("县交通运输局", 2, 1, 1, 4),  # 900 shares 2nd place with 人社局
        ("县住建局", 1, 2, 2, 5),
        ("县人社局", 2, 3, 3, 8),
        ("县市场监管局", 4, 4, 4, 12),
    ]
    assert [r.position for r in ranked] == [1, 2, 3, 4]


def test_equal_scores_keep_the_file_order() -> None:
    rows = [row("甲", 10, 1, "90"), row("乙", 3, 3, "90"), row("丙", 5, 2, "50")]
    # 甲: 1+3+2 = 6, 乙: 3+1+2 = 6, 丙: 2+2+1 = 5 → 丙, then 甲 before 乙 (file order)
    ranked = propose_top(rows, 2)
    assert not isinstance(ranked, Refused)
    assert [r.department for r in ranked] == ["丙", "甲"]


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([row("甲", 1, 0, "90"), row("甲", 2, 0, "90")], "row 2: department '甲'"),
        ([row("甲", 1, 2, "90")], "row 1: repeat complaints"),
        ([row("甲", 1, 0, "101")], "row 1: satisfaction"),
    ],
)
def test_bad_statistics_are_refused(rows: list[ComplaintRow], reason: str) -> None:
    refused = rank_departments(rows)
    assert isinstance(refused, Refused) and reason in refused.reason
