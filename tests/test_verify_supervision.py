"""The verifier on tracked items (督办事项, docs/supervision.md), on logs built entry by
entry: an honest cycle verifies; a vote generated from items that does not name them,
or lists other candidates or titles, fails at its ``vote_configured``; a change the
system makes before its vote is announced, or against its result, fails; so does a
rectification opened for a subject that was not found unsatisfactory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.verify import verify_log
from rules import VoteKind, VoteSpec
from tests.support.logs import LogBuilder

SELECTION = VoteSpec(kind=VoteKind.SELECTION, candidates=("p1", "p2"), seats=1)
EVALUATION = VoteSpec(kind=VoteKind.EVALUATION, subjects=("县交通运输局",))
TITLES = {"p1": "新建城南小学", "p2": "农村公路提档升级"}


def change(log: LogBuilder, item: int, action: str, from_: str | None, to: str, by: int | None,
           role: str, vote: int | None = None, **extra: Any) -> int:  # fmt: skip
    return log.append("item_changed", {
        "item": item, "kind": extra.pop("kind", "project"), "action": action, "from": from_,
        "to": to, "by": by, "role": role, "vote": vote, "note": "", **extra,
    })  # fmt: skip


def created(title: str, subject: str, department: str | None = None) -> dict[str, Any]:
    return {"title": title, "subject": subject, "department": department, "year": 2026,
            "source": "public", "proposer": {"member": None, "name": None}}  # fmt: skip


def configured(log: LogBuilder, vote: int, spec: VoteSpec, titles: dict[str, str],
               sources: list[int] | None) -> int:  # fmt: skip
    data: dict[str, Any] = {
        "id": vote, "body": 1, "sitting": 1, "agenda_item": vote, "title": "票决",
        "config": spec.to_json(), "titles": titles, "secret": False, "key_policy": "last_press",
        "live_tally": "hidden", "rerun_of": None,
    }  # fmt: skip
    if sources is not None:
        data["source_items"] = sources
    return log.append("vote_configured", {"vote": data})


def cycle(**tamper: Callable[..., Any]) -> tuple[LogBuilder, dict[str, int]]:
    """Two projects proposed, shortlisted and put to a ballot; p1 selected. Then a topic
    evaluated unsatisfactory, which opens a rectification. ``tamper`` replaces a step."""
    log, marks = LogBuilder(), {}
    log.duties()  # 1 presidium, 2 secretariat
    for item, subject in ((1, "p1"), (2, "p2")):
        change(log, item, "propose", None, "proposed", 2, "secretariat",
               **created(TITLES[subject], subject))  # fmt: skip
        change(log, item, "shortlist", "proposed", "shortlisted", 1, "presidium")
    marks["submit"] = change(log, 1, "submit", "shortlisted", "submitted", 1, "presidium", 10)
    change(log, 2, "submit", "shortlisted", "submitted", 1, "presidium", 10)
    marks["configured"] = tamper.get("configure", configured)(log, 10, SELECTION, TITLES, [1, 2])
    log.sign_in(1, 2, 3, 4)
    log.open(10, SELECTION, 4)
    for member in (1, 2, 3):
        log.press(10, member, ["p1"], secret=False)
    log.close(10, SELECTION, 4, [["p1"]] * 3, secret=False)
    marks["announced"] = log.append("vote_announced", {"vote": 10, "by": 1})
    marks["select"] = change(log, 1, "select", "submitted", "selected", None, "system", 10)
    change(log, 2, "not_select", "submitted", "not_selected", None, "system", 10)
    # a topic, its evaluation, and the rectification its unsatisfactory result opens
    change(log, 3, "propose", None, "proposed", 2, "secretariat", kind="topic",
           **created("县交通运输局专项工作报告", "县交通运输局", "县交通运输局"))  # fmt: skip
    change(log, 3, "schedule", "proposed", "scheduled", 1, "presidium", 11, kind="topic")
    configured(log, 11, EVALUATION, {"县交通运输局": "县交通运输局"}, [3])
    log.open(11, EVALUATION, 4)
    mark = tamper.get("mark", lambda: "unsatisfied")()
    for member in (1, 2, 3, 4):
        log.press(11, member, {"县交通运输局": mark}, secret=False)
    log.close(11, EVALUATION, 4, [{"县交通运输局": mark}] * 4, secret=False)
    log.append("vote_announced", {"vote": 11, "by": 1})
    change(log, 3, "evaluated", "scheduled", "evaluated", None, "system", 11, kind="topic")
    marks["open"] = tamper.get("follow_up", open_rectification)(log)
    return log, marks


def open_rectification(log: LogBuilder) -> int:
    return change(log, 4, "open", None, "opened", None, "system", 11, kind="rectification",
                  **created("县交通运输局整改", "县交通运输局", "县交通运输局"))  # fmt: skip


def first_error(log: LogBuilder) -> dict[str, Any] | None:
    report = verify_log(log.lines, log.server.public_bytes)
    return report.errors[0] if report.errors else None


def test_an_honest_cycle_verifies() -> None:
    log, _ = cycle()
    assert first_error(log) is None


@pytest.mark.parametrize(
    ("sources", "titles", "candidates", "reason"),
    [
        (None, TITLES, ("p1", "p2"), "items [1, 2] await this vote; it names none"),
        ([1], TITLES, ("p1", "p2"), "source_items [1] ≠ the items put to this vote [1, 2]"),
        ([1, 2], TITLES, ("p2", "p1"), "the vote's candidates/subjects ['p2', 'p1'] ≠ its items'"),
        ([1, 2], {"p1": "新建城南小学", "p2": "别的项目"}, ("p1", "p2"),
         "the title of 'p2' is not item 2's"),
    ],
)  # fmt: skip
def test_a_generated_vote_must_be_its_item_list(
    sources: list[int] | None, titles: dict[str, str], candidates: tuple[str, ...], reason: str
) -> None:
    spec = VoteSpec(kind=VoteKind.SELECTION, candidates=candidates, seats=1)

    def dishonest(log: LogBuilder, vote: int, _spec: VoteSpec, _t: Any, _s: Any) -> int:
        return configured(log, vote, spec, titles, sources)

    log, marks = cycle(configure=dishonest)
    error = first_error(log)
    assert error is not None and error["index"] == marks["configured"], error
    assert reason in error["reason"]


def test_a_system_change_against_the_result_fails() -> None:
    bad, marks = cycle_with_wrong_selection()
    assert first_error(bad) == {"index": marks["select"], "reason": (
        "item_changed: item 2: vote 10's result calls for not_select, not select"
    )}  # fmt: skip


def cycle_with_wrong_selection() -> tuple[LogBuilder, dict[str, int]]:
    log, marks = LogBuilder(), {}
    log.duties()
    for item, subject in ((1, "p1"), (2, "p2")):
        change(log, item, "propose", None, "proposed", 2, "secretariat",
               **created(TITLES[subject], subject))  # fmt: skip
        change(log, item, "shortlist", "proposed", "shortlisted", 1, "presidium")
        change(log, item, "submit", "shortlisted", "submitted", 1, "presidium", 10)
    configured(log, 10, SELECTION, TITLES, [1, 2])
    log.sign_in(1, 2, 3, 4)
    log.open(10, SELECTION, 4)
    for member in (1, 2, 3):
        log.press(10, member, ["p1"], secret=False)
    log.close(10, SELECTION, 4, [["p1"]] * 3, secret=False)
    log.append("vote_announced", {"vote": 10, "by": 1})
    marks["select"] = change(log, 2, "select", "submitted", "selected", None, "system", 10)
    return log, marks


def test_a_system_change_before_the_announcement_fails() -> None:
    log = LogBuilder()
    log.duties()
    change(log, 1, "propose", None, "proposed", 2, "secretariat", **created("甲", "p1"))
    change(log, 1, "shortlist", "proposed", "shortlisted", 1, "presidium")
    change(log, 1, "submit", "shortlisted", "submitted", 1, "presidium", 10)
    spec = VoteSpec(kind=VoteKind.SELECTION, candidates=("p1",), seats=1)
    configured(log, 10, spec, {"p1": "甲"}, [1])
    k = change(log, 1, "select", "submitted", "selected", None, "system", 10)
    assert first_error(log) == {"index": k, "reason": "item_changed: vote 10 is not announced"}


def test_a_rectification_needs_an_unsatisfactory_subject() -> None:
    log, marks = cycle(mark=lambda: "satisfied")
    error = first_error(log)
    assert error == {"index": marks["open"], "reason": (
        "item_changed: item 4: '县交通运输局' was not found unsatisfactory in vote 11"
    )}  # fmt: skip


def test_a_vote_generated_after_it_was_configured_fails() -> None:
    log = LogBuilder()
    log.duties()
    change(log, 1, "propose", None, "proposed", 2, "secretariat", **created("甲", "p1"))
    change(log, 1, "shortlist", "proposed", "shortlisted", 1, "presidium")
    spec = VoteSpec(kind=VoteKind.SELECTION, candidates=("p1",), seats=1)
    configured(log, 10, spec, {"p1": "甲"}, None)
    k = change(log, 1, "submit", "shortlisted", "submitted", 1, "presidium", 10)
    assert first_error(log) == {
        "index": k,
        "reason": "item_changed: item 1: vote 10 was configured before it",
    }


def test_an_unsatisfactory_finding_must_open_its_rectification() -> None:
    """督办不落空: after the announcement, the server's own follow-up comes first; a log
    that goes on without the rectification, or ends, fails there."""
    log, marks = cycle(follow_up=lambda log: log.append("vote_announced", {"vote": 10, "by": 1}))
    assert first_error(log) == {"index": marks["open"], "reason": (
        "vote 11 was announced, but not followed up: a rectification of '县交通运输局'"
    )}  # fmt: skip
    log, marks = cycle(follow_up=lambda log: len(log.lines))  # the log ends
    assert first_error(log) == {"index": len(log.lines), "reason": (
        "vote 11 was announced, but not followed up: a rectification of '县交通运输局'"
    )}  # fmt: skip
