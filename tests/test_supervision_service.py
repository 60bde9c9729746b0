"""Tracked items through the services (docs/supervision.md): a livelihood project from
proposal to 验单 and a department's rectification from an unsatisfactory evaluation to
回头看, every change in the log and the log verifying; votes generated from item lists
without retyping; and a dishonest log — an altered candidate list, an illegal
transition, a change by the wrong role — failing the verifier with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from audit.entry import GENESIS_PREV, canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.verify import verify_log
from tests.support import paper, service_hall
from tests.support.service_hall import Hall, refused
from voting_server.models import StaffUser, TrackedItem, Vote
from voting_server.services import agenda, supervision
from voting_server.services.refusals import Refusal

hall = service_hall.hall  # the fixture: the demo committee with 61 enrolled kiosks
BODY = 1


def report(name: str) -> supervision.Upload:
    return supervision.Upload(name, f"{name}.pdf", "application/pdf", b"%PDF-1.4 " + name.encode())


def act(hall: Hall, work: Callable[[Any], Any]) -> Any:
    with hall.tx() as s:
        return work(s)


def state(hall: Hall, item: int) -> str:
    with hall.sessions() as s:
        found = s.get(TrackedItem, item)
        assert found is not None
        return found.state


def hold(hall: Hall, vote: int, ballot: Any, voters: range, zhu: StaffUser) -> dict[str, Any]:
    """Open, vote, close and announce ``vote``: ``ballot`` from every seat in ``voters``."""
    hall.open(vote)
    for seat in voters:
        hall.press(seat, vote, ballot)
    result = hall.close(vote)
    act(hall, lambda s: hall.voting.announce(s, hall.log, vote, zhu.id))
    return result


def propose(hall: Hall, sec: StaffUser, title: str, **kw: Any) -> int:
    fields = {"kind": "project", "year": 2026, "source": "public", **kw}
    proposal = supervision.Proposal(title=title, **fields)
    return act(hall, lambda s: supervision.propose(s, hall.log, BODY, sec.id, proposal).id)


def put_to_acceptance(hall: Hall, project: int, sec: StaffUser, zhu: StaffUser) -> int:
    """A selected project assigned to 县教育局, reported mid-year and at year end, then put
    to its acceptance vote (验单); the vote's id."""
    act(hall, lambda s: supervision.change(s, hall.log, project, "assign", sec.id,
                                           department="县教育局"))  # fmt: skip
    for period in ("mid_year", "year_end"):
        act(hall, lambda s, p=period: supervision.change(
            s, hall.log, project, "report", sec.id, period=p, upload=report(p)))  # fmt: skip
    return int(act(hall, lambda s: supervision.generate_evaluation_vote(
        s, hall.log, paper.SITTING, [project], zhu.id).id))  # fmt: skip


@pytest.fixture
def staff(hall: Hall) -> dict[str, StaffUser]:
    users = paper.users(hall)
    hall.sign_in(*range(1, 41))  # 40 of 61 present
    return users


def test_a_project_from_proposal_to_acceptance(hall: Hall, staff: dict[str, StaffUser]) -> None:
    sec, zhu = staff["sec"], staff["zhu"]
    school = propose(hall, sec, "新建城南小学", source="deputy", proposer_member_id=3)
    road = propose(hall, sec, "农村公路提档升级", source="department", proposer_name="县交通运输局")
    square = propose(hall, sec, "城东广场改造")
    # 初审 is the presidium's: the office may not shortlist, and nothing is logged
    refused("forbidden", hall, lambda: act(hall, lambda s: supervision.change(
        s, hall.log, school, "shortlist", sec.id)))  # fmt: skip
    for item in (school, road):
        act(hall, lambda s, i=item: supervision.change(s, hall.log, i, "shortlist", zhu.id))
    act(
        hall, lambda s: supervision.change(s, hall.log, square, "reject", zhu.id, note="已列入计划")
    )
    # the shortlist becomes the vote, in the order given, without retyping
    vote = act(hall, lambda s: supervision.generate_selection_vote(
        s, hall.log, paper.SITTING, [school, road], 1, zhu.id).id)  # fmt: skip
    with hall.sessions() as s:
        made = s.get(Vote, vote)
        assert made is not None
        assert made.options() == [(f"p{school}", "新建城南小学"), (f"p{road}", "农村公路提档升级")]
    result = hold(hall, vote, [f"p{school}"], range(1, 36), zhu)
    assert result["selection"]["selected"] == [f"p{school}"]
    assert (state(hall, school), state(hall, road)) == ("selected", "not_selected")

    acceptance = put_to_acceptance(hall, school, sec, zhu)
    hold(hall, acceptance, {f"p{school}": "satisfied"}, range(1, 36), zhu)
    assert state(hall, school) == "accepted"
    hall.verify()

    with hall.sessions() as s:
        timeline = supervision.public_timeline(s, school)
        detail = supervision.item_detail(s, school)
        mine = supervision.proposals_by_member(s, 3)
    assert [e["to"] for e in timeline["events"]] == [
        "proposed", "shortlisted", "submitted", "selected", "in_progress", "in_progress",
        "in_progress", "accepted_vote", "accepted",
    ]  # fmt: skip
    assert all("by_name" not in e for e in timeline["events"])
    assert [v["id"] for v in timeline["votes"]] == [vote, acceptance]
    assert detail["events"][1]["by_name"] == zhu.display_name
    assert detail["events"][5]["document"]["title"] == "mid_year"
    assert [m["id"] for m in mine] == [school]
    entries = [json.loads(line) for line in hall.lines()]
    changes = [e["data"] for e in entries if e["type"] == "item_changed"]
    assert sum(1 for c in changes if c["item"] == school) == 9  # one entry per change
    configured = [e["data"]["vote"] for e in entries if e["type"] == "vote_configured"]
    assert {v["id"]: v.get("source_items") for v in configured}[vote] == [school, road]


def test_a_rectification_from_evaluation_to_re_evaluation(
    hall: Hall, staff: dict[str, StaffUser]
) -> None:
    sec, zhu = staff["sec"], staff["zhu"]
    # the topic of next year's plan: the rectification is that year's, not the vote's day's
    topic = propose(hall, sec, "农村公路养护专项工作报告", kind="topic", source="complaints",
                    department="县交通运输局", year=2027)  # fmt: skip
    vote = act(hall, lambda s: supervision.generate_evaluation_vote(
        s, hall.log, paper.SITTING, [topic], zhu.id).id)  # fmt: skip
    # 31 不满意 of 61 members: more than half → unsatisfactory
    hold(hall, vote, {"县交通运输局": "unsatisfied"}, range(1, 32), zhu)
    assert state(hall, topic) == "evaluated"
    with hall.sessions() as s:
        (rect,) = supervision.items(s, BODY, kind="rectification")
    assert (rect["subject"], rect["state"], rect["department"], rect["year"]) == (
        "县交通运输局", "opened", "县交通运输局", 2027,
    )  # fmt: skip
    item = rect["id"]
    act(hall, lambda s: supervision.change(s, hall.log, item, "set_deadline", zhu.id,
                                           deadline="2026-09-30", issues="养护资金不到位"))  # fmt: skip
    act(hall, lambda s: supervision.change(s, hall.log, item, "report", sec.id,
                                           upload=report("整改报告")))  # fmt: skip
    # 回头看 in a later sitting only
    with pytest.raises(Refusal) as err:
        act(hall, lambda s: supervision.generate_evaluation_vote(
            s, hall.log, paper.SITTING, [item], zhu.id))  # fmt: skip
    assert err.value.code == "no_sitting"
    act(hall, lambda s: agenda.close_sitting(s, paper.SITTING, "presidium"))
    later = act(
        hall,
        lambda s: (
            agenda.create_sitting(
                s, BODY, agenda.SittingForm("第二十一次会议", datetime(2026, 10, 20, 1, tzinfo=UTC))
            ).id
        ),
    )
    again = act(hall, lambda s: supervision.generate_evaluation_vote(
        s, hall.log, later, [item], zhu.id).id)  # fmt: skip
    hall.sign_in(*range(1, 41))
    hold(hall, again, {"县交通运输局": "satisfied"}, range(1, 36), zhu)
    assert state(hall, item) == "closed_satisfactory"
    with hall.sessions() as s:
        history = supervision.subject_history(s, BODY, "县交通运输局")
        assert len(supervision.items(s, BODY, kind="rectification")) == 1  # no new one
    assert [h["vote_id"] for h in history["evaluations"]] == [vote, again]
    assert [h["result"]["outcome"] for h in history["evaluations"]] == [
        "unsatisfactory", "satisfactory",
    ]  # fmt: skip
    hall.verify()


def test_a_project_not_accepted_opens_no_rectification(
    hall: Hall, staff: dict[str, StaffUser]
) -> None:
    sec, zhu = staff["sec"], staff["zhu"]
    school = propose(hall, sec, "新建城南小学")
    act(hall, lambda s: supervision.change(s, hall.log, school, "shortlist", zhu.id))
    vote = act(hall, lambda s: supervision.generate_selection_vote(
        s, hall.log, paper.SITTING, [school], 1, zhu.id).id)  # fmt: skip
    hold(hall, vote, [f"p{school}"], range(1, 36), zhu)
    acceptance = put_to_acceptance(hall, school, sec, zhu)
    hold(hall, acceptance, {f"p{school}": "unsatisfied"}, range(1, 33), zhu)
    assert state(hall, school) == "not_accepted"
    with hall.sessions() as s:
        assert supervision.items(s, BODY, kind="rectification") == []
    hall.verify()


def test_an_edited_generated_vote_does_not_open(hall: Hall, staff: dict[str, StaffUser]) -> None:
    sec, zhu = staff["sec"], staff["zhu"]
    ids = [propose(hall, sec, f"项目{n}") for n in range(3)]
    for item in ids:
        act(hall, lambda s, i=item: supervision.change(s, hall.log, i, "shortlist", zhu.id))
    vote = act(hall, lambda s: supervision.generate_selection_vote(
        s, hall.log, paper.SITTING, ids[:2], 1, zhu.id).id)  # fmt: skip

    def edit(s: Any) -> None:
        found = s.get(Vote, vote)
        found.configure({**found.config, "candidates": [f"p{i}" for i in ids[:1]]},
                        {f"p{ids[0]}": "项目0"})  # fmt: skip

    act(hall, edit)
    with pytest.raises(Refusal) as err:
        hall.open(vote)
    assert err.value.code == "bad_configuration"
    # nor is it deleted from under its items, which record it
    refused("vote_not_draft", hall, lambda: act(hall, lambda s: agenda.delete_vote(s, vote)))


# --- a dishonest log --------------------------------------------------------------------------


def resign(hall: Hall, index: int, change: Callable[[dict[str, Any]], None]) -> list[bytes]:
    """A dishonest server: change entry ``index``, re-sign and re-chain from there."""
    lines = hall.lines()
    out = list(lines[:index])
    for i, line in enumerate(lines[index:], start=index):
        entry = json.loads(line)
        if i == index:
            change(entry["data"])
        prev = entry_hash(out[-1]) if out else GENESIS_PREV
        unsigned = unsigned_entry(i, prev, entry["t"], entry["type"], entry["data"])
        out.append(canonical_bytes(sign_entry(unsigned, hall.log.key.sign)))
    return out


def first(hall: Hall, type_: str, test: Callable[[dict[str, Any]], bool]) -> int:
    for i, line in enumerate(hall.lines()):
        entry = json.loads(line)
        if entry["type"] == type_ and test(entry["data"]):
            return i
    raise AssertionError(f"no {type_}")


@pytest.fixture
def selected(hall: Hall, staff: dict[str, StaffUser]) -> dict[str, int]:
    sec, zhu = staff["sec"], staff["zhu"]
    ids = [propose(hall, sec, f"项目{n}") for n in range(3)]
    for item in ids:
        act(hall, lambda s, i=item: supervision.change(s, hall.log, i, "shortlist", zhu.id))
    vote = act(hall, lambda s: supervision.generate_selection_vote(
        s, hall.log, paper.SITTING, ids, 2, zhu.id).id)  # fmt: skip
    hold(hall, vote, [f"p{ids[0]}", f"p{ids[1]}"], range(1, 36), zhu)
    hall.verify()
    return {"vote": vote, "a": ids[0], "b": ids[1], "c": ids[2], "sec": sec.id}


def failure(hall: Hall, lines: list[bytes]) -> dict[str, Any]:
    report = verify_log(lines, hall.log.key.public_bytes)
    assert not report.ok
    return report.errors[0]


def test_an_altered_candidate_list_fails(hall: Hall, selected: dict[str, int]) -> None:
    k = first(hall, "vote_configured", lambda d: d["vote"]["id"] == selected["vote"])

    def drop_one(data: dict[str, Any]) -> None:  # a candidate quietly left off the ballot
        vote = data["vote"]
        gone = f"p{selected['c']}"
        vote["config"]["candidates"].remove(gone)
        del vote["titles"][gone]

    error = failure(hall, resign(hall, k, drop_one))
    assert error["index"] == k
    assert "candidates/subjects" in error["reason"] and "≠ its items'" in error["reason"]

    def drop_source(data: dict[str, Any]) -> None:
        data["vote"]["source_items"].remove(selected["c"])

    error = failure(hall, resign(hall, k, drop_source))
    assert error["index"] == k and "≠ the items put to this vote" in error["reason"]


def test_an_illegal_transition_fails(hall: Hall, selected: dict[str, int]) -> None:
    c = selected["c"]
    k = first(hall, "item_changed", lambda d: d["item"] == c and d["action"] == "not_select")

    def select_it(data: dict[str, Any]) -> None:  # a project the deputies did not choose
        data.update(action="select", to="selected")

    error = failure(hall, resign(hall, k, select_it))
    assert error == {"index": k, "reason": (
        f"item_changed: item {c}: vote {selected['vote']}'s result calls for not_select, "
        "not select"
    )}  # fmt: skip
    k = first(hall, "item_changed", lambda d: d["item"] == c and d["action"] == "shortlist")

    def skip_review(data: dict[str, Any]) -> None:  # straight to selected, no vote
        data.update(action="select", to="selected")

    error = failure(hall, resign(hall, k, skip_review))
    assert error["index"] == k
    assert "select: the item is proposed, expected submitted" in error["reason"]


def test_a_change_by_the_wrong_role_fails(hall: Hall, selected: dict[str, int]) -> None:
    a = selected["a"]
    k = first(hall, "item_changed", lambda d: d["item"] == a and d["action"] == "shortlist")

    def by_office(data: dict[str, Any]) -> None:  # the office shortlisting for itself
        data.update(by=selected["sec"], role="secretariat")

    error = failure(hall, resign(hall, k, by_office))
    assert error == {"index": k, "reason": (
        f"item_changed: item {a}: shortlist is for presidium, not secretariat"
    )}  # fmt: skip

    def claims_presidium(data: dict[str, Any]) -> None:  # the office's account, claiming more
        data.update(by=selected["sec"])

    error = failure(hall, resign(hall, k, claims_presidium))
    assert error["index"] == k and "but account" in error["reason"]


def test_an_unsatisfactory_finding_not_followed_up_fails(
    hall: Hall, staff: dict[str, StaffUser]
) -> None:
    """督办不落空: a server that announces a department unsatisfactory but never opens its
    rectification, or never marks the topic evaluated, fails where the log stops."""
    sec, zhu = staff["sec"], staff["zhu"]
    topic = propose(hall, sec, "城市内涝治理专项工作报告", kind="topic", source="office",
                    department="县水利局")  # fmt: skip
    vote = act(hall, lambda s: supervision.generate_evaluation_vote(
        s, hall.log, paper.SITTING, [topic], zhu.id).id)  # fmt: skip
    hold(hall, vote, {"县水利局": "unsatisfied"}, range(1, 32), zhu)
    hall.verify()
    k = first(hall, "item_changed", lambda d: d["action"] == "open")
    evaluated = first(hall, "item_changed", lambda d: d["action"] == "evaluated")
    lines = hall.lines()
    report = verify_log(lines[:k], hall.log.key.public_bytes)
    assert report.errors == [{"index": k, "reason": (
        f"vote {vote} was announced, but not followed up: a rectification of '县水利局'"
    )}]  # fmt: skip
    report = verify_log(lines[:evaluated], hall.log.key.public_bytes)
    assert report.errors[0]["index"] == evaluated
    assert f"item {topic}" in report.errors[0]["reason"]
