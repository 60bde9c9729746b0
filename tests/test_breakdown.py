"""分团表决情况: the pure breakdown of a named vote by delegation (rules/breakdown.py)."""

from __future__ import annotations

import pytest

from rules import parse_vote_config, tally
from rules.breakdown import UNGROUPED, breakdown_table, by_delegation

MOTION = parse_vote_config({"kind": "motion", "subjects": ["budget"]})
TWO = parse_vote_config({"kind": "motion", "subjects": ["a", "b"]})
SELECTION = parse_vote_config({"kind": "selection", "candidates": ["x", "y", "z"], "seats": 2})
EVALUATION = parse_vote_config({"kind": "evaluation", "subjects": ["dept"]})

# seats 1-6: 一团 on 1, 2, 5; 二团 on 3, 4; 三团 on 6
ROSTER = [(1, "一团"), (2, "一团"), (3, "二团"), (4, "二团"), (5, "一团"), (6, "三团")]


def test_each_delegation_counts_its_own_members_in_roster_order() -> None:
    ballots = {1: {"budget": "yes"}, 2: {"budget": "no"}, 3: {}, 4: {"budget": "yes"}}
    out = by_delegation(MOTION, ROSTER, present={1, 2, 3, 4, 5}, ballots=ballots)
    assert out == [
        {"group": "一团", "members": 3, "present": 3, "cast": 2, "not_voted": 1,
         "subjects": {"budget": {"yes": 1, "no": 1, "abstain": 0, "invalid": 0}}},
        {"group": "二团", "members": 2, "present": 2, "cast": 2, "not_voted": 0,
         # unmarked on a cast ballot is 弃权, as in the whole vote's tally
         "subjects": {"budget": {"yes": 1, "no": 0, "abstain": 1, "invalid": 0}}},
        # nobody present: every count zero, still listed
        {"group": "三团", "members": 1, "present": 0, "cast": 0, "not_voted": 0,
         "subjects": {"budget": {"yes": 0, "no": 0, "abstain": 0, "invalid": 0}}},
    ]  # fmt: skip


def test_the_delegations_add_up_to_the_result() -> None:
    ballots = {1: {"budget": "yes"}, 3: {"budget": "abstain"}, 4: {"budget": "no"}, 6: {}}
    present = {1, 2, 3, 4, 6}
    out = by_delegation(MOTION, ROSTER, present, ballots)
    assert out is not None
    result = tally(MOTION, 6, len(present), list(ballots.values()))
    for key in ("members", "present", "cast", "not_voted"):
        assert sum(e[key] for e in out) == result[key]
    for mark in ("yes", "no", "abstain", "invalid"):
        total = sum(e["subjects"]["budget"][mark] for e in out)
        assert total == result["subjects"]["budget"][mark]


def test_no_delegations_no_breakdown() -> None:
    roster = [(1, None), (2, None)]
    assert by_delegation(MOTION, roster, {1, 2}, {1: {"budget": "yes"}}) is None


def test_members_without_delegation_are_one_more_group_in_seat_order() -> None:
    roster = [(1, None), (2, "一团"), (3, None)]
    out = by_delegation(MOTION, roster, {1, 2, 3}, {3: {"budget": "no"}})
    assert out is not None
    assert [(e["group"], e["members"], e["cast"]) for e in out] == [(None, 2, 1), ("一团", 1, 0)]
    assert breakdown_table("motion", out, {}).rows[0][0] == UNGROUPED


def test_attendees_signed_in_do_not_count_and_strangers_are_refused() -> None:
    # 列席 (id 99) signs in but is not among the voting members the caller passes
    out = by_delegation(MOTION, ROSTER, {1, 99}, {})
    assert out is not None and out[0]["present"] == 1
    with pytest.raises(ValueError, match="99"):
        by_delegation(MOTION, ROSTER, {1, 99}, {99: {"budget": "yes"}})


def test_selection_counts_votes_and_invalid_ballots_per_delegation() -> None:
    ballots = {1: ["x", "y"], 2: ["x", "x"], 3: ["z"], 4: []}
    out = by_delegation(SELECTION, ROSTER, {1, 2, 3, 4}, ballots)
    assert out is not None
    assert out[0]["selection"] == {"votes": {"x": 1, "y": 1, "z": 0}, "invalid": 1}
    assert out[1]["selection"] == {"votes": {"x": 0, "y": 0, "z": 1}, "invalid": 0}
    table = breakdown_table("selection", out, {"x": "甲", "y": "乙", "z": "丙"})
    assert table.head == ["代表团", "应到", "实到", "未按", "甲", "乙", "丙", "无效票"]
    assert table.rows[0] == ["一团", "3", "2", "0", "1", "1", "0", "1"]


def test_evaluation_unmarked_is_invalid() -> None:
    out = by_delegation(EVALUATION, ROSTER, {3, 4}, {3: {"dept": "satisfied"}, 4: {}})
    assert out is not None
    assert out[1]["subjects"]["dept"] == {
        "satisfied": 1,
        "basic": 0,
        "unsatisfied": 0,
        "invalid": 1,
    }


def test_table_of_several_subjects_prints_turnout_once_per_delegation() -> None:
    out = by_delegation(TWO, ROSTER[:2], {1, 2}, {1: {"a": "yes", "b": "no"}})
    assert out is not None
    table = breakdown_table("motion", out, {"a": "预算", "b": "决算"})
    assert table.head == [
        "代表团",
        "表决事项",
        "应到",
        "实到",
        "未按",
        "赞成",
        "反对",
        "弃权",
        "无效",
    ]
    assert table.rows == [
        ["一团", "预算", "2", "2", "1", "1", "0", "0", "0"],
        ["", "决算", "", "", "", "0", "1", "0", "0"],
    ]
    assert len(table.widths) == len(table.head)
