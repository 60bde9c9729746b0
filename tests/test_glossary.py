"""The glossary (rules/glossary.py): one table of the domain's words, both languages."""

from __future__ import annotations

import pytest

from rules import glossary
from rules.kinds import all_kinds


def test_every_term_has_both_languages() -> None:
    for key, word in glossary.TERMS.items():
        assert word.zh.strip() and word.en.strip(), key


def test_all_members_is_named_by_the_body() -> None:
    assert glossary.term("all_members", body_kind=glossary.CONGRESS) == "全体代表"
    assert glossary.term("all_members", body_kind=glossary.STANDING_COMMITTEE) == "全体组成人员"
    assert glossary.term("all_members", body_kind=glossary.CONGRESS, locale="en") == "All deputies"


def test_each_built_in_kind_has_its_act_and_result_heading() -> None:
    assert [glossary.term("result", kind=k) for k in ("motion", "selection", "evaluation")] == [
        "表决结果", "票决结果", "测评结果",
    ]  # fmt: skip
    for kind in all_kinds():
        assert glossary.term("act", kind=kind.name)  # a kind without a variant gets the plain word


def test_an_unknown_word_is_an_error_naming_it() -> None:
    with pytest.raises(KeyError, match="no_such_word"):
        glossary.term("no_such_word")


def test_the_minimum_of_votes_reads_at_least() -> None:
    assert glossary.at_least_votes(31) == "不少于 31 票"
    assert glossary.at_least_votes(31, locale="en") == "at least 31 votes"


def test_invalid_ballots_are_possible_on_paper_and_where_a_kiosk_can_leave_a_mark_out() -> None:
    """无效 only where ballots can be invalid: a kiosk's motion or selection ballot is
    checked on arrival (an unmarked subject is 弃权); an evaluation's unmarked department
    is invalid even from a kiosk; every paper count can have invalid ballots."""
    from rules.kinds import kind_of

    electronic = {
        k: kind_of(k).invalid_possible(manual=False) for k in ("motion", "selection", "evaluation")
    }
    assert electronic == {"motion": False, "selection": False, "evaluation": True}  # fmt: skip
    assert all(kind.invalid_possible(manual=True) for kind in all_kinds())
    assert kind_of("motion").column_labels[-1] == glossary.term("col.invalid")
