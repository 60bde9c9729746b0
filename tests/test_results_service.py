"""Paper counts (人工计票) and countersignatures at the service level, verified offline.

The presidium designates the sitting's scrutineers before voting; the electronic
vote fails mid-way and the presidium cancels it with a reason; the secretariat
enters the hand count, two designated scrutineers countersign, and the result is
published like an electronic one, marked manual — and the log verifies.
"""

from __future__ import annotations

import json

import pytest

import tests.support.service_hall as service_hall
from rules import VoteKind
from tests.support.paper import FAILURE, act, enter, fail, refused, sign, users
from tests.support.service_hall import Hall
from voting_server.models import Vote, VoteState
from voting_server.services import results
from voting_server.sockets.errors import Refusal

hall = service_hall.hall  # the fixture: the demo committee with 61 enrolled kiosks


def vote_row(hall: Hall, vote: int) -> Vote:
    with hall.sessions() as s:
        row = s.get(Vote, vote)
        assert row is not None
        s.expunge(row)
        return row


@pytest.mark.slow
def test_a_failed_vote_counted_on_paper_is_published_after_two_scrutineers(hall: Hall) -> None:
    u = users(hall)
    vote = hall.configure(VoteKind.MOTION)  # secret, as the demo's
    hall.sign_in(*range(1, 56))
    hall.open(vote)
    hall.press(1, vote, {"regulation": "no"})  # pressed before the system failed
    act(hall, lambda s: hall.voting.cancel_vote(s, hall.log, vote, u["zhu"].id, FAILURE))
    assert vote_row(hall, vote).state is VoteState.CANCELLED  # the electronic presses are void
    assert not hall.voting.key_path(vote).exists()  # and the secret vote's key destroyed
    enter(hall, vote, u["sec"])
    sign(hall, vote, u["jp1"])
    assert vote_row(hall, vote).result is None  # one signature publishes nothing
    sign(hall, vote, u["jp2"])
    row = vote_row(hall, vote)
    assert row.state is VoteState.CLOSED and row.manual is True
    subject = row.result["subjects"]["regulation"]  # type: ignore[index]
    assert (subject["yes"], subject["no"], subject["abstain"], subject["invalid"]) == (40, 6, 3, 1)
    assert subject["required"] == 31 and subject["passed"] is True  # 过半数 of all 61
    assert (row.result["present"], row.result["cast"]) == (55, 50)  # type: ignore[index]
    with hall.tx() as s:
        hall.voting.announce(s, hall.log, vote, u["zhu"].id)
    sign(hall, vote, u["zhu"], "result")
    sign(hall, vote, u["jp1"], "result")
    hall.verify()
    types = [json.loads(line)["type"] for line in hall.lines()]
    i = types.index("manual_result")
    assert types[i + 1] == "checkpoint" and types.count("countersigned") == 4


@pytest.mark.slow
def test_paper_ballots_entered_one_by_one(hall: Hall) -> None:
    u = users(hall)
    vote = hall.votes[VoteKind.SELECTION]
    fail(hall, vote, u["zhu"])
    ballots = [["p01", "p02"], ["p01"], ["p01", "p01"], []]  # the third names p01 twice: invalid
    reason = "仅4名组成人员留在会场参加纸质表决"
    enter(hall, vote, u["sec"], "ballots", present=4, ballots=ballots, counts=None,
          present_reason=reason)  # fmt: skip
    sign(hall, vote, u["jp1"])
    sign(hall, vote, u["jp2"])
    result = vote_row(hall, vote).result or {}
    assert result["selection"]["votes"]["p01"] == 2 and result["selection"]["invalid"] == 1
    hall.verify()


@pytest.mark.slow
def test_a_corrected_count_needs_its_signatures_again(hall: Hall) -> None:
    u = users(hall)
    vote = hall.votes[VoteKind.MOTION]
    fail(hall, vote, u["zhu"])
    enter(hall, vote, u["sec"], present=54, present_reason="一名代表提前离会")
    sign(hall, vote, u["jp1"])
    enter(hall, vote, u["sec"])  # a typo corrected before publication
    sign(hall, vote, u["jp2"])
    assert vote_row(hall, vote).result is None  # jp1's signature was under the old numbers
    sign(hall, vote, u["jp1"])
    assert (vote_row(hall, vote).result or {})["present"] == 55
    hall.verify()


@pytest.mark.slow
def test_refusals_change_nothing(hall: Hall) -> None:
    u = users(hall)
    vote = hall.votes[VoteKind.MOTION]
    fail(hall, vote, u["zhu"])
    bad = {"cast": 5, "subjects": {"regulation": {"yes": 1, "no": 1, "abstain": 1, "invalid": 1}}}
    refused(hall, "invalid_paper_count", lambda: enter(hall, vote, u["sec"], counts=bad))
    refused(hall, "invalid_paper_count", lambda: enter(hall, vote, u["sec"], present=62))
    refused(hall, "invalid_paper_count", lambda: enter(hall, vote, u["sec"], "other"))
    refused(hall, "forbidden", lambda: enter(hall, vote, u["zhu"]))  # the secretariat enters
    refused(hall, "no_paper_count", lambda: sign(hall, vote, u["jp1"]))
    enter(hall, vote, u["sec"])
    refused(hall, "forbidden", lambda: sign(hall, vote, u["zhu"]))  # not a scrutineer
    refused(hall, "forbidden", lambda: sign(hall, vote, u["sec"]))  # nor the secretariat
    refused(hall, "not_designated", lambda: sign(hall, vote, u["jp3"]))
    sign(hall, vote, u["jp1"])
    refused(hall, "already_countersigned", lambda: sign(hall, vote, u["jp1"]))
    refused(hall, "vote_not_closed", lambda: sign(hall, vote, u["zhu"], "result"))
    sign(hall, vote, u["jp2"])
    refused(hall, "vote_has_result", lambda: enter(hall, vote, u["sec"]))
    refused(hall, "forbidden", lambda: sign(hall, vote, u["sec"], "result"))
    refused(hall, "not_designated", lambda: sign(hall, vote, u["jp3"], "result"))
    refused(hall, "unknown_vote", lambda: enter(hall, 999, u["sec"]))
    hall.verify()


@pytest.mark.slow
def test_the_sheet_of_a_paper_count_leads_to_its_logged_manual_result(hall: Hall) -> None:
    from audit.evidence import check_sheet_code

    u = users(hall)
    vote = hall.votes[VoteKind.MOTION]
    fail(hall, vote, u["zhu"])
    enter(hall, vote, u["sec"], present=53, present_reason="两名代表因病离会")
    with hall.sessions() as s, pytest.raises(Refusal) as refused_sheet:
        results.sheet_source(s, vote)
    assert refused_sheet.value.code == "vote_not_closed"
    sign(hall, vote, u["jp1"])
    sign(hall, vote, u["jp2"])
    sign(hall, vote, u["jp1"], "result")
    with hall.sessions() as s:
        source = results.sheet_source(s, vote)
    assert source["manual"] is True and source["secret"] is True
    signers = [c["name"] for c in source["countersignatures"]]
    assert signers == ["用户jp1", "用户jp2"]  # who signed the count (jp1 also the result)
    assert source["present_note"] == "实到 53 人与签到 55 人不一致，理由：两名代表因病离会"
    checked = check_sheet_code(source["code"], hall.lines(), hall.log.key.public_bytes)
    assert checked["manual"] is True and checked["result"] == source["result"]
