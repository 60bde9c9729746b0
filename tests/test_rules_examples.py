"""RULES.md by example, through the public API (``parse_scenario`` + ``tally``).

Every expected number below was worked out by hand from RULES.md, with the
arithmetic written next to it, so that a scrutineer can check it on paper.
Scenarios go through ``parse_scenario`` (the JSON form of CONTRACTS.md §2),
so the defaults exercised are the ones a scenario file gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rules import VoteKind, parse_scenario, tally
from rules.kinds import KeyPolicy
from voting_server.presets import load_presets, resolve
from voting_server.settings import CONFIG_DIR

SCENARIO_NAMES = sorted(
    p.name for p in (Path(__file__).resolve().parents[2] / "shared" / "scenarios").glob("*.json")
)


def count(
    vote: dict[str, Any], ballots: list[Any], members: int, present: int | None = None
) -> dict[str, Any]:
    """Tally a scenario given in the CONTRACTS.md §2 file format."""
    text = json.dumps(
        {
            "members": members,
            "present": members if present is None else present,
            "vote": vote,
            "ballots": ballots,
        }
    )
    scenario = parse_scenario(text)
    return tally(scenario.spec, scenario.members, scenario.present, list(scenario.ballots))


def motion(*subjects: str, **rules: Any) -> dict[str, Any]:
    return {"kind": "motion", "subjects": list(subjects), **rules}


def evaluation(*subjects: str, **rules: Any) -> dict[str, Any]:
    return {"kind": "evaluation", "subjects": list(subjects), **rules}


def selection(candidates: str, seats: int, **rules: Any) -> dict[str, Any]:
    return {"kind": "selection", "candidates": candidates.split(), "seats": seats, **rules}


def threshold(base: str, num: int, den: int, strict: bool) -> dict[str, Any]:
    return {"base": base, "ratio": [num, den], "strict": strict}


def yes_no(yes: int, no: int, abstain: int = 0, subject: str = "m") -> list[dict[str, str]]:
    return [{subject: "yes"}] * yes + [{subject: "no"}] * no + [{subject: "abstain"}] * abstain


def marks(subject: str, **counts: int) -> list[dict[str, str]]:
    """Ballots carrying ``counts[mark]`` times each mark for ``subject``."""
    return [{subject: mark} for mark, n in counts.items() for _ in range(n)]


def contains(actual: Any, expected: Any) -> bool:
    """``actual`` has every key of ``expected`` with an equal value (recursively)."""
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() <= actual.keys()
            and all(contains(actual[k], v) for k, v in expected.items())
        )
    return type(actual) is type(expected) and actual == expected


# --- thresholds -------------------------------------------------------------


def test_30_of_60_is_not_a_majority_of_members_31_is() -> None:
    # 过半数 of 60: floor(60 × 1/2) + 1 = 31. 30 is exactly half, not more than half.
    result = count(motion("m"), yes_no(30, 30), members=60)
    assert result["subjects"]["m"]["required"] == 31
    assert result["subjects"]["m"]["passed"] is False
    result = count(motion("m"), yes_no(31, 29), members=60)
    assert result["subjects"]["m"]["required"] == 31
    assert result["subjects"]["m"]["passed"] is True


def test_majority_of_61_members_is_31() -> None:
    # floor(61 / 2) + 1 = 31 (RULES.md example)
    result = count(motion("m"), yes_no(31, 30), members=61)
    assert (result["subjects"]["m"]["required"], result["subjects"]["m"]["passed"]) == (31, True)
    result = count(motion("m"), yes_no(30, 31), members=61)
    assert (result["subjects"]["m"]["required"], result["subjects"]["m"]["passed"]) == (31, False)


def test_majority_counts_members_not_yes_versus_no() -> None:
    # 30 yes, 0 no, 30 abstain of 60: more yes than no, but not more than half of members.
    result = count(motion("m"), yes_no(30, 0, abstain=30), members=60)
    assert result["subjects"]["m"]["passed"] is False


def test_two_thirds_of_2980_is_1987_and_1986_is_not() -> None:
    # 三分之二以上 (not strict, "at least"): ceil(2980 × 2 / 3) = ceil(1986.67) = 1987
    vote = motion("charter", threshold=threshold("members", 2, 3, strict=False))
    result = count(vote, yes_no(1987, 993, subject="charter"), members=2980)
    assert result["subjects"]["charter"] == {
        "yes": 1987,
        "no": 993,
        "abstain": 0,
        "invalid": 0,
        "required": 1987,
        "passed": True,
    }
    result = count(vote, yes_no(1986, 994, subject="charter"), members=2980)
    assert result["subjects"]["charter"]["required"] == 1987
    assert result["subjects"]["charter"]["passed"] is False


def test_at_least_includes_the_number_itself_strict_does_not() -> None:
    # 30 members, 20 yes = exactly two-thirds.
    # not strict (以上): ceil(30 × 2/3) = 20 → passes; strict: floor(20) + 1 = 21 → fails.
    at_least = count(motion("m", threshold=threshold("members", 2, 3, False)), yes_no(20, 10), 30)
    assert (at_least["subjects"]["m"]["required"], at_least["subjects"]["m"]["passed"]) == (
        20,
        True,
    )
    more_than = count(motion("m", threshold=threshold("members", 2, 3, True)), yes_no(20, 10), 30)
    assert (more_than["subjects"]["m"]["required"], more_than["subjects"]["m"]["passed"]) == (
        21,
        False,
    )


def test_half_not_strict_is_at_least_half() -> None:
    # ceil(60 / 2) = 30: 30 of 60 is "half or more"
    result = count(motion("m", threshold=threshold("members", 1, 2, False)), yes_no(30, 30), 60)
    assert (result["subjects"]["m"]["required"], result["subjects"]["m"]["passed"]) == (30, True)


def test_threshold_base_members_versus_present() -> None:
    # 61 members, 40 present, 21 yes 19 no.
    # base members: floor(61/2)+1 = 31 → fails; base present: floor(40/2)+1 = 21 → passes.
    ballots = yes_no(21, 19)
    by_members = count(motion("m"), ballots, members=61, present=40)["subjects"]["m"]
    assert (by_members["required"], by_members["passed"]) == (31, False)
    vote = motion("m", threshold=threshold("present", 1, 2, True))
    by_present = count(vote, ballots, members=61, present=40)["subjects"]["m"]
    assert (by_present["required"], by_present["passed"]) == (21, True)


def test_threshold_base_cast() -> None:
    # 61 members, 50 present, 30 cast: floor(30/2)+1 = 16; 16 yes passes, 15 does not.
    vote = motion("m", threshold=threshold("cast", 1, 2, True))
    result = count(vote, yes_no(16, 14), members=61, present=50)["subjects"]["m"]
    assert (result["required"], result["passed"]) == (16, True)
    result = count(vote, yes_no(15, 15), members=61, present=50)["subjects"]["m"]
    assert (result["required"], result["passed"]) == (16, False)


def test_threshold_base_valid_excludes_invalid_marks() -> None:
    # 20 cast: 8 yes, 4 no, 3 abstain, 5 invalid → 15 valid marks.
    # base valid: floor(15/2)+1 = 8 → passes; base cast: floor(20/2)+1 = 11 → fails.
    ballots = yes_no(8, 4, abstain=3) + [{"m": "maybe"}] * 5
    valid = count(motion("m", threshold=threshold("valid", 1, 2, True)), ballots, 20)
    assert valid["subjects"]["m"]["invalid"] == 5
    assert (valid["subjects"]["m"]["required"], valid["subjects"]["m"]["passed"]) == (8, True)
    cast = count(motion("m", threshold=threshold("cast", 1, 2, True)), ballots, 20)
    assert (cast["subjects"]["m"]["required"], cast["subjects"]["m"]["passed"]) == (11, False)


# --- quorum -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "present", "quorate"),
    [
        (61, 30, False),  # 30 > 30.5? no
        (61, 31, True),  # 31 > 30.5
        (60, 30, False),  # exactly half is not 过半数出席
        (60, 31, True),
        (1, 1, True),
        (1, 0, False),
        (2, 1, False),
    ],
)
def test_quorum_is_more_than_half_of_members_present(
    members: int, present: int, quorate: bool
) -> None:
    assert (present * 2 > members) is quorate  # the rule itself, checked by hand
    result = count(motion("m"), [], members=members, present=present)
    assert result["quorum"] is quorate
    assert result["outcome"] == ("decided" if quorate else "no_quorum")


def test_quorum_failure_passes_nothing() -> None:
    # 61 members, 30 present, every ballot yes, threshold on present (16 would pass it).
    vote = motion("a", "b", threshold=threshold("present", 1, 2, True))
    ballots = [{"a": "yes", "b": "yes"}] * 30
    result = count(vote, ballots, members=61, present=30)
    assert result["quorum"] is False
    assert result["void"] is False
    assert result["outcome"] == "no_quorum"
    for subject in ("a", "b"):
        assert result["subjects"][subject]["yes"] == 30  # still counted and shown
        assert result["subjects"][subject]["passed"] is False


def test_quorum_failure_selects_nothing() -> None:
    vote = selection("a b c", 2, threshold=threshold("cast", 1, 2, True))
    result = count(vote, [["a", "b"]] * 5, members=11, present=5)
    assert result["quorum"] is False
    assert result["selection"]["votes"] == {"a": 5, "b": 5, "c": 0}
    assert result["selection"]["selected"] == []
    assert result["selection"]["runoff"] is None


def test_quorum_failure_decides_no_evaluation() -> None:
    # 11 members, 5 present, every mark unsatisfied: the department is not found
    # unsatisfactory (nor satisfactory) by a sitting without quorum.
    result = count(evaluation("d"), marks("d", unsatisfied=5), members=11, present=5)
    assert result["quorum"] is False
    assert result["subjects"]["d"]["unsatisfied"] == 5
    assert result["subjects"]["d"]["satisfaction_rate"] == "0.00"
    assert result["subjects"]["d"]["outcome"] not in ("satisfactory", "unsatisfactory")


def test_configured_quorum_two_thirds_at_least() -> None:
    # quorum {members, [2,3], at least}: ceil(30 × 2/3) = 20 present
    vote = motion("m", quorum=threshold("members", 2, 3, False))
    assert count(vote, [], members=30, present=20)["quorum"] is True
    assert count(vote, [], members=30, present=19)["quorum"] is False


# --- turnout, void ----------------------------------------------------------


def test_not_voted_is_present_minus_cast() -> None:
    result = count(motion("m"), yes_no(40, 10, abstain=3), members=61, present=55)
    assert (result["cast"], result["not_voted"]) == (53, 2)
    assert (result["members"], result["present"]) == (61, 55)


def test_more_ballots_than_present_is_void() -> None:
    # 5 members, 4 present, 5 ballots all yes: 收回的选票多于发出的选票 → void.
    result = count(motion("m"), yes_no(5, 0), members=5, present=4)
    assert result["void"] is True
    assert isinstance(result["reason"], str) and result["reason"].strip()
    assert result["outcome"] == "void"
    assert result["cast"] == 5
    assert result["not_voted"] == 0  # max(0, 4 - 5)
    assert result["quorum"] is True  # 4 of 5 present: the vote was quorate, but void
    assert result["subjects"]["m"]["passed"] is False


def test_void_selection_selects_nothing() -> None:
    vote = selection("a b c", 2, threshold=threshold("cast", 0, 1, False))
    result = count(vote, [["a"], ["b"], ["a", "b"], []], members=5, present=3)
    assert result["void"] is True and result["reason"]
    assert result["not_voted"] == 0
    assert result["selection"]["selected"] == []
    assert result["selection"]["runoff"] is None


def test_void_evaluation_decides_nothing() -> None:
    result = count(evaluation("d"), marks("d", unsatisfied=4), members=5, present=3)
    assert result["void"] is True and result["reason"]
    assert result["subjects"]["d"]["outcome"] not in ("satisfactory", "unsatisfactory")


def test_as_many_ballots_as_present_is_not_void() -> None:
    result = count(motion("m"), yes_no(4, 0), members=5, present=4)
    assert result["void"] is False
    assert "reason" not in result
    assert result["not_voted"] == 0
    assert result["subjects"]["m"]["passed"] is True  # 4 ≥ floor(5/2)+1 = 3


# --- motions ----------------------------------------------------------------


def test_unmarked_subject_on_a_cast_ballot_is_abstain() -> None:
    # 3 members: ballots {} and {"m": null} leave m unmarked → 2 abstain; 1 yes.
    result = count(motion("m"), [{"m": "yes"}, {}, {"m": None}], members=3)
    subject = result["subjects"]["m"]
    assert (subject["yes"], subject["no"], subject["abstain"], subject["invalid"]) == (1, 0, 2, 0)
    assert result["cast"] == 3 and result["not_voted"] == 0


@pytest.mark.parametrize(
    "mark",
    ["YES", "Yes", "maybe", "", "satisfied", 1, 0, True, False, ["yes"], ["yes", "no"], {"a": 1}],
)
def test_any_other_motion_mark_is_invalid(mark: Any) -> None:
    result = count(motion("m"), [{"m": mark}, {"m": "yes"}], members=3)
    subject = result["subjects"]["m"]
    assert (subject["yes"], subject["no"], subject["abstain"], subject["invalid"]) == (1, 0, 0, 1)


def test_several_subjects_on_one_ballot_are_tallied_each_on_its_own() -> None:
    # 逐人表决: 7 members; appointee a gets 4 yes (≥ floor(7/2)+1 = 4), b gets 3.
    ballots = [
        {"a": "yes", "b": "yes", "c": "no"},
        {"a": "yes", "b": "yes", "c": "no"},
        {"a": "yes", "b": "no"},
        {"a": "yes", "b": "abstain", "c": "bogus"},
        {"b": "yes", "c": "yes"},
        {"a": "no", "b": "no", "c": "abstain"},
    ]
    result = count(motion("a", "b", "c"), ballots, members=7)
    assert result["cast"] == 6 and result["not_voted"] == 1
    assert result["subjects"]["a"] == {
        "yes": 4,
        "no": 1,
        "abstain": 1,
        "invalid": 0,
        "required": 4,
        "passed": True,
    }
    assert result["subjects"]["b"] == {
        "yes": 3,
        "no": 2,
        "abstain": 1,
        "invalid": 0,
        "required": 4,
        "passed": False,
    }
    assert result["subjects"]["c"] == {
        "yes": 1,
        "no": 2,
        "abstain": 2,
        "invalid": 1,
        "required": 4,
        "passed": False,
    }


def test_every_cast_ballot_is_counted_once_per_subject() -> None:
    ballots = [{"a": "yes"}, {"b": "no"}, {}, {"a": 5, "b": "abstain"}]
    result = count(motion("a", "b"), ballots, members=5)
    for subject in result["subjects"].values():
        total = subject["yes"] + subject["no"] + subject["abstain"] + subject["invalid"]
        assert total == result["cast"] == 4


# --- selections (民生实事项目票决) ---------------------------------------------


def test_choose_n_of_m_by_votes() -> None:
    # 9 members, 3 seats of 5 candidates, threshold floor(9/2)+1 = 5.
    ballots = [["a", "b", "c"]] * 3 + [["b", "c", "d"]] * 3 + [["c", "e"]] * 2 + [[]]
    # votes: a 3, b 6, c 8, d 3, e 2 → qualified (≥ 5): c, b
    result = count(selection("a b c d e", 3), ballots, members=9)
    sel = result["selection"]
    assert sel["votes"] == {"a": 3, "b": 6, "c": 8, "d": 3, "e": 2}
    assert sel["invalid"] == 0  # the empty ballot is valid
    assert sel["required"] == 5
    assert sel["selected"] == ["c", "b"]  # most votes first
    assert sel["runoff"] is None
    assert sel["unfilled"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        ["a", "b", "c"],  # more than 2 seats
        ["a", "a"],  # one candidate twice
        ["a", "zz"],  # unknown candidate
        ["zz"],
        ["a", 1],  # not a candidate id
        [None],
    ],
)
def test_invalid_selection_ballot_counts_for_nobody(bad: list[Any]) -> None:
    ballots = [bad, ["a"], ["a", "b"], []]
    result = count(selection("a b c", 2, threshold=threshold("cast", 0, 1, False)), ballots, 5)
    sel = result["selection"]
    assert sel["invalid"] == 1
    assert sel["votes"] == {"a": 2, "b": 1, "c": 0}  # the bad ballot added nothing


def test_fewer_than_n_and_empty_ballots_are_valid() -> None:
    ballots = [[], ["c"], ["b", "a"]]
    result = count(selection("a b c", 3), ballots, members=3)
    assert result["selection"]["invalid"] == 0
    assert result["selection"]["votes"] == {"a": 1, "b": 1, "c": 1}


def test_qualification_is_more_than_half_of_members() -> None:
    # 60 members: a has 31 (> 30), b has exactly 30 → only a qualifies; 2 seats → 1 unfilled.
    ballots = [["a", "b"]] * 30 + [["a"]] + [[]] * 29
    sel = count(selection("a b c", 2), ballots, members=60)["selection"]
    assert sel["votes"] == {"a": 31, "b": 30, "c": 0}
    assert sel["required"] == 31
    assert sel["selected"] == ["a"]
    assert sel["runoff"] is None
    assert sel["unfilled"] == 1


def test_selected_are_ranked_by_votes_and_equal_votes_keep_ballot_order() -> None:
    # 10 members; threshold 6. c 9, e 7, b 7, a 6 → 4 seats: c, then b and e (b listed
    # before e on the ballot), then a.
    ballots = (
        [["a", "b", "c", "e"]] * 6 + [["b", "c", "e"]] * 1 + [["c"]] * 2 + [[]] * 1
    )  # a 6, b 7, c 9, e 7, d 0
    sel = count(selection("a b c d e", 4), ballots, members=10)["selection"]
    assert sel["votes"] == {"a": 6, "b": 7, "c": 9, "d": 0, "e": 7}
    assert sel["selected"] == ["c", "b", "e", "a"]
    assert sel["unfilled"] == 0 and sel["runoff"] is None


def test_tie_straddling_the_last_seat_goes_to_a_runoff() -> None:
    # 11 members, threshold 6, 2 seats: a 9, b 6, c 6. b and c straddle seat 2.
    ballots = [["a", "b"]] * 4 + [["a", "c"]] * 4 + [["a"]] + [["b", "c"]] * 2
    sel = count(selection("a b c d", 2), ballots, members=11)["selection"]
    assert sel["votes"] == {"a": 9, "b": 6, "c": 6, "d": 0}
    assert sel["required"] == 6
    assert sel["selected"] == ["a"]
    assert sel["runoff"] == {"candidates": ["b", "c"], "seats": 1}
    assert sel["unfilled"] == 0


def test_tie_for_every_seat_sends_all_tied_to_runoff() -> None:
    # 3 tied qualified candidates for 2 seats: nobody is above the tie.
    vote = selection("a b c", 2, threshold=threshold("cast", 0, 1, False))
    ballots = [["a", "b"], ["b", "c"], ["c", "a"]]
    sel = count(vote, ballots, members=3)["selection"]
    assert sel["selected"] == []
    assert sel["runoff"] == {"candidates": ["a", "b", "c"], "seats": 2}
    assert sel["unfilled"] == 0


def test_tie_within_the_seats_needs_no_runoff() -> None:
    # a and b tie but both fit in the 2 seats; c below them.
    vote = selection("a b c", 2, threshold=threshold("cast", 0, 1, False))
    sel = count(vote, [["a", "b"], ["a", "b"], ["c"]], members=3)["selection"]
    assert sel["selected"] == ["a", "b"]
    assert sel["runoff"] is None


def test_tie_among_unqualified_candidates_is_no_runoff() -> None:
    # 11 members, threshold 6, 2 seats: a 8 qualifies; b 5 and c 5 tie but don't qualify.
    ballots = [["a", "b"]] * 5 + [["a", "c"]] * 3 + [["c"]] * 2
    sel = count(selection("a b c", 2), ballots, members=11)["selection"]
    assert sel["votes"] == {"a": 8, "b": 5, "c": 5}
    assert sel["selected"] == ["a"]
    assert sel["runoff"] is None
    assert sel["unfilled"] == 1


def test_unfilled_seats_list_the_rest_for_another_round_by_votes() -> None:
    # 7 members, threshold 4, 3 seats: a 5 qualifies; d 3, b 2, c 2, e 0 do not.
    ballots = [["a", "d"]] * 3 + [["a", "b"]] + [["a", "c"]] + [["b", "c"]]
    sel = count(selection("a b c d e", 3), ballots, members=7)["selection"]
    assert sel["votes"] == {"a": 5, "b": 2, "c": 2, "d": 3, "e": 0}
    assert sel["selected"] == ["a"]
    assert sel["unfilled"] == 2
    # 另行投票: the candidates not chosen, in order of first-round votes (ties: ballot order)
    assert sel["next_round_candidates"] == ["d", "b", "c", "e"]


def test_selection_threshold_base_valid_counts_valid_ballots() -> None:
    # 5 ballots, 2 invalid (too many names, unknown id) → 3 valid ballots.
    # base valid: floor(3/2)+1 = 2 → a (2 votes) qualifies; base cast: floor(5/2)+1 = 3 → not.
    ballots = [["a"], ["a", "b"], ["b"], ["a", "b", "c"], ["zz"]]
    vote = selection("a b c", 2, threshold=threshold("valid", 1, 2, True))
    sel = count(vote, ballots, members=5)["selection"]
    assert (sel["invalid"], sel["required"], sel["selected"]) == (2, 2, ["a", "b"])
    vote = selection("a b c", 2, threshold=threshold("cast", 1, 2, True))
    sel = count(vote, ballots, members=5)["selection"]
    assert (sel["required"], sel["selected"], sel["unfilled"]) == (3, [], 2)


def test_no_candidate_qualifies_leaves_every_seat_unfilled() -> None:
    sel = count(selection("a b", 1), [["a"], ["b"]], members=5)["selection"]
    assert sel["selected"] == [] and sel["runoff"] is None and sel["unfilled"] == 1


# --- evaluations (满意度测评) ------------------------------------------------


@pytest.mark.parametrize(
    ("satisfied", "basic", "unsatisfied", "shown"),
    [
        (2, 0, 1, "66.67"),  # RULES.md example
        (1, 0, 2, "33.33"),
        (1, 0, 5, "16.67"),  # 16.666… up
        (5, 0, 1, "83.33"),  # 83.333… down
        (1, 0, 31, "3.13"),  # 1/32 = 3.125 exactly: half up, not half even
        (57, 0, 143, "28.50"),
        (0, 0, 4, "0.00"),
        (3, 4, 0, "100.00"),
        (40, 10, 1, "98.04"),  # 50/51 = 98.039…
        (2401, 0, 1601, "60.00"),  # 2401/4002 = 59.99500…% shows as 60.00
    ],
)
def test_satisfaction_rate_two_decimals_half_up(
    satisfied: int, basic: int, unsatisfied: int, shown: str
) -> None:
    ballots = marks("d", satisfied=satisfied, basic=basic, unsatisfied=unsatisfied)
    subject = count(evaluation("d"), ballots, members=len(ballots))["subjects"]["d"]
    assert (subject["satisfied"], subject["basic"], subject["unsatisfied"]) == (
        satisfied,
        basic,
        unsatisfied,
    )
    assert subject["satisfaction_rate"] == shown


def test_satisfaction_rate_counts_basic_as_satisfied_and_ignores_invalid() -> None:
    # 3 satisfied + 1 basic + 1 unsatisfied + 3 invalid → 4/5 = 80.00
    ballots = [*marks("d", satisfied=3, basic=1, unsatisfied=1), {}, {"d": None}, {"d": "yes"}]
    subject = count(evaluation("d"), ballots, members=8)["subjects"]["d"]
    assert subject["invalid"] == 3
    assert subject["satisfaction_rate"] == "80.00"


def test_satisfaction_rate_undefined_without_valid_marks() -> None:
    subject = count(evaluation("d"), [{}, {"d": "bad"}], members=3)["subjects"]["d"]
    assert subject["invalid"] == 2
    assert subject["satisfaction_rate"] is None


def test_unmarked_subject_is_invalid_in_an_evaluation() -> None:
    # the same unmarked ballot is abstain in a motion (tested above), invalid here
    subject = count(evaluation("d"), [{}, {"d": "satisfied"}], members=3)["subjects"]["d"]
    assert (subject["satisfied"], subject["basic"], subject["unsatisfied"]) == (1, 0, 0)
    assert subject["invalid"] == 1


@pytest.mark.parametrize(
    "mark",
    [None, ["satisfied", "basic"], ["satisfied"], "yes", "abstain", "Satisfied", 1, True, ""],
)
def test_none_or_several_or_unknown_evaluation_marks_are_invalid(mark: Any) -> None:
    subject = count(evaluation("d"), [{"d": mark}, {"d": "basic"}], members=3)["subjects"]["d"]
    assert (subject["satisfied"], subject["basic"], subject["unsatisfied"]) == (0, 1, 0)
    assert subject["invalid"] == 1


def test_default_outcome_unsatisfied_more_than_half_of_members() -> None:
    # 61 members: unsatisfactory needs floor(61/2)+1 = 31 unsatisfied marks
    at_31 = marks("d", satisfied=20, unsatisfied=31)
    assert count(evaluation("d"), at_31, 61)["subjects"]["d"]["outcome"] == "unsatisfactory"
    at_30 = marks("d", satisfied=21, unsatisfied=30)
    assert count(evaluation("d"), at_30, 61)["subjects"]["d"]["outcome"] == "satisfactory"
    # 30 of 60 is exactly half: not more than half → satisfactory
    half = marks("d", basic=30, unsatisfied=30)
    assert count(evaluation("d"), half, 60)["subjects"]["d"]["outcome"] == "satisfactory"


def test_default_outcome_ignores_the_rate() -> None:
    # 61 members, 40 present: 10 satisfied, 30 unsatisfied → 25.00 %, yet 30 < 31.
    result = count(evaluation("d"), marks("d", satisfied=10, unsatisfied=30), 61, 40)
    assert result["subjects"]["d"]["satisfaction_rate"] == "25.00"
    assert result["subjects"]["d"]["outcome"] == "satisfactory"


@pytest.mark.parametrize(
    ("satisfied", "basic", "unsatisfied", "outcome"),
    [
        (3, 0, 2, "satisfactory"),  # exactly 60.00 % is not below 60 %
        (30, 30, 40, "satisfactory"),  # 60/100
        (2, 1, 2, "satisfactory"),  # 3/5
        (59, 0, 41, "unsatisfactory"),  # 59.00 %
        (3, 0, 3, "unsatisfactory"),  # 50.00 %
        (2401, 0, 1601, "unsatisfactory"),  # shows 60.00 but 59.995… % is below 60 %
        (4, 0, 0, "satisfactory"),
    ],
)
def test_satisfaction_below_60_percent(
    satisfied: int, basic: int, unsatisfied: int, outcome: str
) -> None:
    ballots = marks("d", satisfied=satisfied, basic=basic, unsatisfied=unsatisfied)
    vote = evaluation("d", satisfaction_below=[3, 5])
    subject = count(vote, ballots, members=len(ballots))["subjects"]["d"]
    assert subject["outcome"] == outcome


def test_configured_unsatisfied_threshold_on_present() -> None:
    # 61 members, 40 present: {present, [1,3], at least} → ceil(40/3) = 14 unsatisfied.
    vote = evaluation("d", unsatisfied_threshold=threshold("present", 1, 3, False))
    at_14 = count(vote, marks("d", satisfied=26, unsatisfied=14), 61, 40)["subjects"]["d"]
    assert at_14["outcome"] == "unsatisfactory"
    at_13 = count(vote, marks("d", satisfied=27, unsatisfied=13), 61, 40)["subjects"]["d"]
    assert at_13["outcome"] == "satisfactory"


def evaluate_many(per_subject: dict[str, tuple[int, int, int]], invalid: int = 0) -> dict:
    """One ballot list for several subjects; subject i's j-th ballot carries its j-th mark."""
    columns = {
        s: ["satisfied"] * a + ["basic"] * b + ["unsatisfied"] * c
        for s, (a, b, c) in per_subject.items()
    }
    n = max(len(col) for col in columns.values()) + invalid
    ballots = [{s: col[j] for s, col in columns.items() if j < len(col)} for j in range(n)]
    return count(evaluation(*per_subject), ballots, members=n)["subjects"]


def test_ranks_highest_rate_first_with_shared_ranks() -> None:
    # rates: a 3/4, b 1/1, c 3/4, d 1/2 → b 1st; a and c share 2nd; d is 4th (1, 2, 2, 4)
    subjects = evaluate_many({"a": (3, 0, 1), "b": (2, 2, 0), "c": (1, 2, 1), "d": (1, 0, 1)})
    assert {s: v["rank"] for s, v in subjects.items()} == {"a": 2, "b": 1, "c": 2, "d": 4}


def test_ranks_1_1_3() -> None:
    subjects = evaluate_many({"x": (4, 0, 0), "y": (1, 1, 2), "z": (0, 2, 0)})
    assert [subjects[s]["rank"] for s in ("x", "y", "z")] == [1, 3, 1]


def test_ranks_compare_exact_rates_not_the_rounded_ones() -> None:
    # a: 200/201 = 99.5024…% and b: 199/200 = 99.5 % both show "99.50"; a ranks above b.
    subjects = evaluate_many({"a": (200, 0, 1), "b": (199, 0, 1)})
    assert subjects["a"]["satisfaction_rate"] == subjects["b"]["satisfaction_rate"] == "99.50"
    assert (subjects["a"]["rank"], subjects["b"]["rank"]) == (1, 2)


def test_subject_without_valid_marks_ranks_last() -> None:
    # c has no valid mark (rate undefined): below d's 0.00 %. e also has none: shares last.
    subjects = evaluate_many({"a": (1, 0, 0), "c": (0, 0, 0), "d": (0, 0, 1), "e": (0, 0, 0)})
    assert subjects["c"]["satisfaction_rate"] is None
    assert subjects["d"]["satisfaction_rate"] == "0.00"
    assert {s: v["rank"] for s, v in subjects.items()} == {"a": 1, "c": 3, "d": 2, "e": 3}


# --- presets (config/presets.toml) -----------------------------------------
# tests/test_presets.py covers two_thirds (1,987 of 2,980) and satisfaction_below_60;
# here: the defaults reached through a preset equal the scenario defaults, by example.


def preset_tally(kind: VoteKind, name: str, items: dict, members: int, ballots: list) -> dict:
    spec = resolve(load_presets(CONFIG_DIR / "presets.toml"), kind, name, items)
    return tally(spec, members, members, ballots)


def test_motion_default_preset_is_more_than_half_of_members() -> None:
    items = {"subjects": ["m"]}
    result = preset_tally(VoteKind.MOTION, "default", items, 60, yes_no(30, 30))
    assert (result["subjects"]["m"]["required"], result["subjects"]["m"]["passed"]) == (31, False)
    result = preset_tally(VoteKind.MOTION, "default", items, 60, yes_no(31, 29))
    assert result["subjects"]["m"]["passed"] is True


def test_two_thirds_preset_at_exactly_two_thirds_of_30() -> None:
    items = {"subjects": ["m"]}
    result = preset_tally(VoteKind.MOTION, "two_thirds", items, 30, yes_no(20, 10))
    assert (result["subjects"]["m"]["required"], result["subjects"]["m"]["passed"]) == (20, True)
    result = preset_tally(VoteKind.MOTION, "two_thirds", items, 30, yes_no(19, 11))
    assert result["subjects"]["m"]["passed"] is False


def test_selection_default_preset_qualifies_more_than_half_of_members() -> None:
    items = {"candidates": ["a", "b"], "seats": 2}
    ballots = [["a", "b"]] * 30 + [["a"]] + [[]] * 29  # a 31, b 30 of 60
    sel = preset_tally(VoteKind.SELECTION, "default", items, 60, ballots)["selection"]
    assert (sel["required"], sel["selected"], sel["unfilled"]) == (31, ["a"], 1)


def test_evaluation_default_preset_unsatisfied_more_than_half_of_members() -> None:
    items = {"subjects": ["d"]}
    over = marks("d", satisfied=30, unsatisfied=31)
    assert (
        preset_tally(VoteKind.EVALUATION, "default", items, 61, over)["subjects"]["d"]["outcome"]
        == "unsatisfactory"
    )
    half = marks("d", satisfied=31, unsatisfied=30)
    assert (
        preset_tally(VoteKind.EVALUATION, "default", items, 61, half)["subjects"]["d"]["outcome"]
        == "satisfactory"
    )


# --- the shared scenarios ----------------------------------------------------


def test_shared_scenarios_are_there(shared_dir: Path) -> None:
    names = sorted(p.name for p in (shared_dir / "scenarios").glob("*.json"))
    assert names == SCENARIO_NAMES
    assert len(names) >= 4


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_shared_scenario_reproduces_expect(shared_dir: Path, name: str) -> None:
    text = (shared_dir / "scenarios" / name).read_text(encoding="utf-8")
    expect = json.loads(text)["expect"]
    scenario = parse_scenario(text)
    result = tally(scenario.spec, scenario.members, scenario.present, list(scenario.ballots))
    assert contains(result, expect), json.dumps(result, ensure_ascii=False, indent=1)


def test_contains_helper_can_fail() -> None:
    assert contains({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}})
    assert not contains({"a": {"b": 1}}, {"a": {"b": 2}})
    assert not contains({"a": {}}, {"a": {"b": 1}})
    assert not contains({"a": True}, {"a": 1})


def test_the_key_policy_says_which_press_counts() -> None:
    # 可以改按，以最后一次为准 — or the first ballot is final.
    presses = ["yes", "no", "abstain"]
    assert KeyPolicy.LAST_PRESS.counted(presses) == "abstain"
    assert KeyPolicy.FIRST_PRESS.counted(presses) == "yes"
    assert KeyPolicy.LAST_PRESS.may_press_again and not KeyPolicy.FIRST_PRESS.may_press_again
