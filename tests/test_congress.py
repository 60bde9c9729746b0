"""The congress session at the service level: 列席 attendees sign in but never vote or
count, the presidium votes alone (主席团会议), and a congress vote that requires the
presidium's adopted decision opens only after it — and the verifier applies the same
rules to the log, so a server that broke them is caught offline."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

import tests.support.service_hall as service_hall
from audit.checkpoint import CHECKPOINT, signed_head
from audit.entry import canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.merkle import tree_root
from audit.verify import verify_log
from rules.congress import Electorate, MemberRole, PresidiumSeat, adopted
from rules.kinds import VoteKind
from tests.support.service_hall import Hall, refused
from voting_server.models import Body, Member, Vote, VoteState
from voting_server.services import attendance
from voting_server.services.refusals import Refusal

hall = service_hall.hall  # the demo body (61 seats), a tablet enrolled at every seat

ATTENDEES = (59, 60, 61)  # 列席: e.g. 政府组成人员
PRESIDIUM = tuple(range(1, 10))  # 主席团: 9 deputies, seat 1 the 执行主席


def _congress(hall: Hall) -> None:
    """Seats 59–61 become 列席 and 1–9 the presidium; 应到 is the 58 deputies (as the
    roster import sets it)."""
    with hall.tx() as s:
        s.execute(update(Member).where(Member.seat.in_(ATTENDEES)).values(role=MemberRole.ATTENDEE))
        s.execute(
            update(Member).where(Member.seat.in_(PRESIDIUM)).values(presidium=PresidiumSeat.MEMBER)
        )
        s.execute(
            update(Member).where(Member.seat == 1).values(presidium=PresidiumSeat.EXECUTIVE_CHAIR)
        )
        s.execute(update(Body).values(member_count=61 - len(ATTENDEES)))


def _motion(hall: Hall, **columns: Any) -> int:
    """A new named motion on the demo's motion item, with ``columns`` set."""
    with hall.tx() as s:
        template = s.get(Vote, hall.votes[VoteKind.MOTION])
        assert template is not None
        vote = Vote(agenda_item_id=template.agenda_item_id, title="关于提交大会表决的决定",
                    secret=False, **columns)  # fmt: skip
        vote.configure(template.config, template.titles)
        s.add(vote)
        s.flush()
        return vote.id


def _subject(hall: Hall, vote: int) -> str:
    with hall.sessions() as s:
        return s.get(Vote, vote).spec().subjects[0]  # type: ignore[union-attr]


def test_attendees_sign_in_but_never_count_nor_vote(hall: Hall) -> None:
    _congress(hall)
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.sign_in(*range(1, 30), *ATTENDEES)  # 29 deputies and 3 列席 signed in
    with hall.sessions() as s:
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        quorum = attendance.quorum(s, sitting)
        assert (quorum.members, quorum.present, quorum.quorate) == (58, 29, False)
        assert attendance.signed_in_count(s, sitting.id) == 32  # their sign-ins are recorded
    # 29 of 58 is not 过半数: the attendees do not make up the quorum
    refused("no_quorum", hall, lambda: hall.open(vote))
    hall.sign_in(30)
    hall.open(vote)
    subject = _subject(hall, vote)
    refused("not_a_voter", hall, lambda: hall.press(60, vote, {subject: "yes"}))
    for seat in range(1, 31):
        hall.press(seat, vote, {subject: "yes"})
    result = hall.close(vote)
    assert (result["members"], result["present"], result["cast"]) == (58, 30, 30)
    assert result["subjects"][subject]["passed"] is True  # 30 of 58 deputies
    hall.verify()
    roster = [json.loads(line) for line in hall.lines() if b'"type":"roster"' in line][-1]
    listed = {m["seat"]: m for m in roster["data"]["members"]}
    assert listed[60]["role"] == "attendee" and listed[1]["presidium"] == "executive_chair"
    assert listed[2] == {**listed[2], "role": "deputy", "presidium": "member"}


def test_the_presidium_votes_alone_and_the_congress_vote_waits_for_its_decision(
    hall: Hall,
) -> None:
    _congress(hall)
    decision = _motion(hall, electorate=Electorate.PRESIDIUM)
    ballot = _motion(hall, requires_vote_id=decision)  # the congress's vote on the list
    hall.sign_in(*range(1, 7), *range(10, 41), 59)  # 6 of the 9 presidium members
    refused("requirement_not_met", hall, lambda: hall.open(ballot))
    hall.open(decision)
    opened = json.loads(hall.lines()[-1])["data"]
    assert (opened["members"], opened["present"]) == (9, 6)  # 应到/实到 of the presidium
    configured = json.loads(hall.lines()[-2])["data"]["vote"]
    assert configured["electorate"] == "presidium"
    subject = _subject(hall, decision)
    refused("not_a_voter", hall, lambda: hall.press(10, decision, {subject: "yes"}))
    refused("not_a_voter", hall, lambda: hall.press(59, decision, {subject: "yes"}))
    for seat in range(1, 6):
        hall.press(seat, decision, {subject: "yes"})
    result = hall.close(decision)
    assert (result["members"], result["present"], result["cast"]) == (9, 6, 5)
    assert adopted(result)  # 5 of 9: 主席团原则通过
    hall.open(ballot)  # …提交大会表决: now the congress votes, all its deputies
    opened = json.loads(hall.lines()[-1])["data"]
    assert (opened["members"], opened["present"]) == (58, 37)
    assert json.loads(hall.lines()[-2])["data"]["vote"]["requires"] == decision
    refused("not_a_voter", hall, lambda: hall.press(59, ballot, {subject: "yes"}))
    for seat in range(10, 41):
        hall.press(seat, ballot, {subject: "yes"})
    assert hall.close(ballot)["subjects"][subject]["yes"] == 31
    hall.verify()
    lines = hall.lines()

    # A server that let a 列席 attendee's ballot into the congress vote:
    ballot_at = _last(lines, "ballot")
    fails_at(hall, _resign(hall, lines, ballot_at, _by_attendee(hall, 59)), ballot_at,
             "is not a voter")  # fmt: skip
    # …that gave the presidium's vote the congress's 应到:
    decision_opened = _first(lines, "vote_opened")
    fails_at(hall, _resign(hall, lines, decision_opened, lambda d: d.update(members=58)),
             decision_opened, "members 58 ≠ roster 9")  # fmt: skip
    # …that opened the presidium's vote on a requirement not yet adopted:
    decision_configured = _first(lines, "vote_configured")
    fails_at(
        hall, _resign(hall, lines, decision_configured, lambda d: d["vote"].update(requires=ballot)),
        decision_opened, f"opened before vote {ballot}",
    )  # fmt: skip
    # …or that put a 列席 attendee on the presidium:
    roster_at = _last(lines, "roster")
    fails_at(hall, _resign(hall, lines, roster_at, _attendee_on_presidium), roster_at,
             "cannot sit on the presidium")  # fmt: skip


def test_a_vote_requiring_a_rejected_decision_never_opens(hall: Hall) -> None:
    _congress(hall)
    decision = _motion(hall, electorate=Electorate.PRESIDIUM)
    ballot = _motion(hall, requires_vote_id=decision)
    hall.sign_in(*range(1, 41))
    hall.open(decision)
    subject = _subject(hall, decision)
    for seat in range(1, 10):
        hall.press(seat, decision, {subject: "no"})
    assert not adopted(hall.close(decision))
    refused("requirement_not_met", hall, lambda: hall.open(ballot))
    with hall.sessions() as s:
        assert s.get(Vote, ballot).state is VoteState.DRAFT  # type: ignore[union-attr]
    hall.verify()


# --- the verifier, over a dishonest server's log ---------------------------------------


def _first(lines: list[bytes], type_: str) -> int:
    return next(i for i, line in enumerate(lines) if json.loads(line)["type"] == type_)


def _last(lines: list[bytes], type_: str) -> int:
    return max(i for i, line in enumerate(lines) if json.loads(line)["type"] == type_)


def _resign(hall: Hall, lines: list[bytes], index: int, change: Any) -> list[bytes]:
    """Entry ``index`` rewritten by ``change``, and it and every later one re-signed and
    re-chained with the server's own key: only the verifier's meaning checks can tell."""
    entries = [json.loads(line) for line in lines]
    change(entries[index]["data"])
    out = list(lines[:index])
    for entry in entries[index:]:
        entry["prev"] = entry_hash(out[-1])
        if entry["type"] == CHECKPOINT:  # the server's signed heads, of the rewritten log
            data = entry["data"]
            entry["data"] = signed_head(len(out), tree_root(out).hex(), data["time"],
                                        hall.log.key.sign)  # fmt: skip
        unsigned = unsigned_entry(entry["i"], entry["prev"], entry["t"], entry["type"],
                                  entry["data"])  # fmt: skip
        out.append(canonical_bytes(sign_entry(unsigned, hall.log.key.sign)))
    return out


def fails_at(hall: Hall, lines: list[bytes], index: int, words: str) -> None:
    report = verify_log(lines, hall.log.key.public_bytes)
    assert not report.ok
    assert report.errors[0]["index"] == index, report.errors
    assert words in report.errors[0]["reason"], report.errors


def _by_attendee(hall: Hall, seat: int) -> Any:
    """A named ballot entry made over as the attendee at ``seat`` pressing, signed by
    that seat's own tablet (the kiosk signature verifies)."""
    from crypto import b64encode
    from crypto.statements import ballot_bytes

    def change(data: dict[str, Any]) -> None:
        with hall.sessions() as s:
            member = attendance.member_at_seat(s, 1, seat)
            assert member is not None
            member_id = member.id
        nonce = "attendee-nonce-000001"
        signature = hall.keys[seat].sign(ballot_bytes(data["vote"], seat, nonce, data["ballot"]))
        data.update(seat=seat, member=member_id, device=hall.voters[seat].device, nonce=nonce,
                    press=1, kiosk_sig=b64encode(signature))  # fmt: skip

    return change


def _attendee_on_presidium(data: dict[str, Any]) -> None:
    for m in data["members"]:
        if m["seat"] == ATTENDEES[0]:
            m["presidium"] = "member"


def test_a_log_without_roles_verifies_as_all_deputies(hall: Hall) -> None:
    """Logs written before roles existed list members without role fields: each is a
    deputy outside the presidium, and the log verifies as it always did."""
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.sign_in(*range(1, 41))
    hall.open(vote)
    subject = _subject(hall, vote)
    for seat in range(1, 41):
        hall.press(seat, vote, {subject: "yes"})
    hall.close(vote)
    lines = hall.lines()

    def strip(data: dict[str, Any]) -> None:
        for m in data["members"]:
            del m["role"], m["presidium"]  # the delegations (group) stay: a later field

    old = _resign(hall, lines, _first(lines, "roster"), strip)
    assert b'"presidium"' not in old[_first(lines, "roster")]
    assert verify_log(old, hall.log.key.public_bytes).ok


def test_sign_ins_at_several_venues_count_as_one_sitting(hall: Hall) -> None:
    """分会场: tablets at the main hall and a branch venue; the console's figures split by
    venue, 实到 and the vote are the sitting's one count."""
    from crypto import KioskKey
    from voting_server.services import devices

    _congress(hall)
    with hall.tx() as s:
        for seat, voter in hall.voters.items():
            devices.set_venue(s, voter.device or "", " 主会场 " if seat <= 30 else "第一分会场")
    refused_venue = "会" * 51
    with hall.tx() as s, pytest.raises(Refusal):
        devices.set_venue(s, hall.voters[1].device or "", refused_venue)
    hall.sign_in(*range(1, 21), *range(40, 51), ATTENDEES[1])
    with hall.sessions() as s:
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        assert attendance.sign_in_by_venue(s, sitting) == [
            {"venue": "主会场", "deputies": 20, "attendees": 0},
            {"venue": "第一分会场", "deputies": 11, "attendees": 1},
        ]
        assert attendance.quorum(s, sitting).present == 31  # one 实到 over both venues
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.open(vote)
    subject = _subject(hall, vote)
    for seat in (*range(1, 21), *range(40, 51)):
        hall.press(seat, vote, {subject: "yes"})
    assert hall.close(vote)["cast"] == 31
    hall.verify()
    # A tablet enrolled with a code issued for a venue stands there.
    with hall.tx() as s:
        code = devices.issue_enrollment_code(s, 1, 5, None, venue="第二分会场")
        device = devices.enroll_device(s, hall.log, code, KioskKey.generate().public.spki_b64)
        assert device.venue == "第二分会场"
