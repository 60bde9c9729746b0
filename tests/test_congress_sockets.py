"""The congress session over real sockets: a 列席 attendee signs in at a seat's tablet
and is not counted in 实到, nor let press; the presidium's own vote counts only the
presidium; the congress vote that requires the presidium's decision opens only after
it was adopted. The log verifies offline."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select, update

from kiosk_client.client import KioskClient
from rules.congress import Electorate, MemberRole, PresidiumSeat
from rules.kinds import VoteKind
from tests.support.live import LiveServer
from tests.support.socket_hall import WAIT, Channel, Tablet, close_all, prepare_hall, staff_channels
from tests.test_voting_sockets import check_refusal, refused
from voting_server.extensions import audit_log, sessions
from voting_server.models import AttendanceMethod, Body, Member, Vote
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction

ATTENDEE = 60  # 列席 (seats 59–61)
PIN_SEATS = [*range(1, 13), ATTENDEE]


def _congress(app: Flask, motion: int) -> tuple[int, int]:
    """Seats 59–61 列席, 1–9 the presidium (1 the 执行主席), 58 deputies; 13–35 marked
    present by staff. Returns the presidium's decision and the congress vote requiring it."""
    with app.app_context(), write_transaction(sessions()) as s:
        s.execute(update(Member).where(Member.seat.in_((59, 60, 61))).values(
            role=MemberRole.ATTENDEE))  # fmt: skip
        s.execute(update(Member).where(Member.seat.in_(range(1, 10))).values(
            presidium=PresidiumSeat.MEMBER))  # fmt: skip
        s.execute(update(Body).values(member_count=58))
        template = s.get(Vote, motion)
        assert template is not None
        made = []
        for columns in ({"electorate": Electorate.PRESIDIUM}, {}):
            vote = Vote(agenda_item_id=template.agenda_item_id, title=template.title,
                        secret=False, **columns)  # fmt: skip
            vote.configure(template.config, template.titles)
            s.add(vote)
            s.flush()
            made.append(vote.id)
        decision, ballot = made
        s.get(Vote, ballot).requires_vote_id = decision  # type: ignore[union-attr]
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        members = s.scalars(select(Member).where(Member.seat.in_(range(13, 36)))).all()
        attendance.sign_in_many(s, audit_log(), sitting, list(members), AttendanceMethod.OPERATOR)
    return decision, ballot


def test_attendee_presidium_and_required_decision_over_real_sockets(
    live_app: Flask, live_server: LiveServer
) -> None:
    hall = prepare_hall(live_app, PIN_SEATS)
    decision, ballot = _congress(live_app, hall.votes[VoteKind.MOTION])
    subject = hall.spec(decision).subjects[0]
    staff: dict[str, Channel] = {}
    tablets: dict[int, Tablet] = {}
    try:
        staff = staff_channels(live_app, live_server.url, ("presidium", "display"))
        presidium = staff["presidium"]
        for seat in PIN_SEATS:
            deputy = hall.deputies[seat]
            client = KioskClient(live_server.url, deputy.kiosk.key, deputy.kiosk.device_id)
            tablets[seat] = Tablet(deputy, None, client)
            client.connect(WAIT)
            answer = tablets[seat].sign_in(deputy.pin)
            assert answer["ok"], answer
        # the attendee's sign-in is recorded, but 实到 is the 23 + 12 deputies
        assert answer["present"] == 35 and answer["members"] == 58
        state = tablets[ATTENDEE].state()
        assert state["member"]["role"] == "attendee" and state["signed_in"] is True
        assert presidium.call("state", {})["state"]["attendance"]["present"] == 35

        def open_(vote: int) -> Any:
            return presidium.call("open_vote", {"vote": vote})

        refused(hall, "requirement_not_met", lambda: open_(ballot))
        assert open_(decision)["ok"]
        opened = hall.entries()[-1]["data"]
        assert (opened["members"], opened["present"]) == (9, 9)  # the presidium's 应到/实到
        assert tablets[1].state()["open_vote"]["electorate"] == "presidium"
        for seat in (10, ATTENDEE):  # a deputy outside the presidium; an attendee
            refused(
                hall, "not_a_voter", lambda s=seat: tablets[s].ballot(decision, {subject: "yes"})
            )
        for seat in range(1, 10):
            assert tablets[seat].ballot(decision, {subject: "yes" if seat <= 6 else "no"})["ok"]
            if seat == 4:  # 未按 on the console: of the presidium's 9 present, not of 35
                progress = presidium.call("state", {})["state"]["participation"]
                assert (progress["voted"], progress["not_voted"]) == (4, 5)
        closed = presidium.call("close_vote", {"vote": decision})
        assert closed["ok"], closed
        result = hall.vote_row(decision)["result"]
        assert (result["members"], result["present"], result["cast"]) == (9, 9, 9)
        assert result["subjects"][subject]["passed"] is True  # 6 of 9: 主席团原则通过

        assert open_(ballot)["ok"]  # …提交大会表决
        opened = hall.entries()[-1]["data"]
        assert (opened["members"], opened["present"]) == (58, 35)
        answer = tablets[ATTENDEE].ballot(ballot, {subject: "yes"})
        check_refusal(answer, "not_a_voter")
        for seat in range(1, 13):
            assert tablets[seat].ballot(ballot, {subject: "yes"})["ok"]
        assert presidium.call("close_vote", {"vote": ballot})["ok"]
        result = hall.vote_row(ballot)["result"]
        assert (result["members"], result["present"], result["cast"]) == (58, 35, 12)
    finally:
        close_all(*tablets.values(), *staff.values())
    hall.verify()
