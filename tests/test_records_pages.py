"""Deputies' records through the server: the tablet's 我的履职 (``my_record``) gives a
tablet its own seat's record and no other, a secret vote's line there says 已按 and
nothing more; the secretariat's pages (/admin/records) list the rates, show a
deputy's sittings and votes, record leave, and export XLSX and PDF."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import load_workbook

from kiosk_client.client import ballot_payload, new_nonce
from rules.kinds import VoteKind
from tests.support import socket_hall
from tests.support.live import logged_in, post_form
from tests.support.socket_hall import Hall, close_all, kiosk_channel, staff_channel
from voting_server.extensions import audit_log, sessions
from voting_server.models import AttendanceMethod, Member
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction

hall = socket_hall.hall


def _present(hall: Hall, seats: range, pins: tuple[int, ...]) -> None:
    with hall.app.app_context(), write_transaction(sessions()) as s:
        for seat in seats:
            member = s.get(Member, hall.deputies[seat].member_id)
            assert member is not None
            sitting = attendance.current_sitting(s, member.body_id)
            assert sitting is not None
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=None)
            if seat in pins:
                device = hall.deputies[seat].kiosk.device_id
                attendance.confirm_pin(s, audit_log(), sitting, member, device)


def _sitting_with_votes(hall: Hall) -> tuple[int, int, list[Any]]:
    """Seats 1–40 present; seat 1 votes 赞成 and seat 2 反对 in a named motion; in a
    secret evaluation seat 1 marks 不满意 everywhere, seat 2 满意; seat 3 presses neither."""
    motion, evaluation = hall.votes[VoteKind.MOTION], hall.votes[VoteKind.EVALUATION]
    hall.configure(motion, secret=False)
    hall.configure(evaluation, secret=True)
    _present(hall, range(1, 41), pins=(1, 2, 3))
    presidium = staff_channel(hall.app, "presidium")
    tablets = {seat: kiosk_channel(hall.app, hall.deputies[seat].kiosk) for seat in (1, 2, 3)}
    subject = hall.spec(motion).subjects[0]
    departments = hall.spec(evaluation).subjects

    def press(seat: int, vote: int, ballot: Any) -> None:
        key = hall.deputies[seat].kiosk.key
        answer = tablets[seat].call("ballot", ballot_payload(key, vote, seat, new_nonce(), ballot))
        assert answer["ok"], answer

    assert presidium.call("open_vote", {"vote": motion})["ok"]
    press(1, motion, {subject: "yes"})
    press(2, motion, {subject: "no"})
    assert presidium.call("close_vote", {"vote": motion})["ok"]
    assert presidium.call("open_vote", {"vote": evaluation})["ok"]
    press(1, evaluation, {d: "unsatisfied" for d in departments})
    press(2, evaluation, {d: "satisfied" for d in departments})
    assert presidium.call("close_vote", {"vote": evaluation})["ok"]
    return motion, evaluation, [presidium, *tablets.values()]


def _untitled(record: dict[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False)
    for s in record["sittings"]:
        text = text.replace(json.dumps(s["title"], ensure_ascii=False), '""')
        for v in s["votes"]:
            text = text.replace(json.dumps(v["title"], ensure_ascii=False), '""')
    return text


def test_a_tablet_gets_its_own_seats_record_only_and_no_secret_choice(hall: Hall) -> None:
    motion, evaluation, channels = _sitting_with_votes(hall)
    one = kiosk_channel(hall.app, hall.deputies[1].kiosk)
    two = kiosk_channel(hall.app, hall.deputies[2].kiosk)
    stranger = kiosk_channel(hall.app, hall.deputies[61].kiosk, authenticate=False)
    try:
        mine = one.call("my_record", {})
        assert mine["ok"], mine
        record = mine["record"]
        assert (record["seat"], record["member"]) == (1, hall.deputies[1].member_id)
        votes = {v["vote"]: v for v in record["sittings"][0]["votes"]}
        assert votes[motion]["pressed"] and "赞成" in votes[motion]["choice"]
        assert votes[evaluation] == {"vote": evaluation, "title": votes[evaluation]["title"],
                                     "secret": True, "pressed": True}  # fmt: skip
        for word in ("不满意", "unsatisfied", "满意", "satisfied"):
            assert word not in _untitled(record)
        # Seat 2's tablet: seat 2's record, whose secret line is the same as seat 1's.
        theirs = two.call("my_record")["record"]
        assert theirs["seat"] == 2 and "反对" in json.dumps(theirs, ensure_ascii=False)
        assert [v for v in theirs["sittings"][0]["votes"] if v["secret"]] == [votes[evaluation]]
        # No way to ask for another seat: the payload takes nothing.
        for payload in ({"seat": 2}, {"member": hall.deputies[2].member_id}, {"body": 1}, [2]):
            answer = one.call("my_record", payload)
            assert not answer["ok"] and answer["error"] == "invalid_payload", answer
        assert stranger.call("my_record", {})["error"] == "not_authenticated"
        assert channels[0].call("my_record", {})["error"] == "forbidden"  # the presidium
    finally:
        close_all(one, two, stranger, *channels)


def test_the_secretariats_pages_rates_member_leave_and_exports(hall: Hall) -> None:
    *_, channels = _sitting_with_votes(hall)
    close_all(*channels)
    app = hall.app
    sec = logged_in(app, "secretariat").client
    body = hall.deputies[1].kiosk.body_id
    # 请假 for seat 50 (not signed in), refused for seat 1 (present)
    answer = post_form(sec, f"/admin/records/leave?body={body}",
                       {"sitting": _sitting_id(hall), "seat": "50", "reason": "病假"})  # fmt: skip
    assert answer.status_code == 302, answer.get_data(as_text=True)
    refused = post_form(sec, f"/admin/records/leave?body={body}",
                        {"sitting": _sitting_id(hall), "seat": "1", "reason": "病假"})  # fmt: skip
    assert refused.status_code == 400 and "已经签到" in refused.get_data(as_text=True)
    empty = post_form(sec, f"/admin/records/leave?body={body}",
                      {"sitting": _sitting_id(hall), "seat": "51", "reason": ""})  # fmt: skip
    assert empty.status_code == 400
    assert "病假" in sec.get(f"/admin/records/leave?body={body}").get_data(as_text=True)
    page = sec.get(f"/admin/records/?body={body}").get_data(as_text=True)
    assert "出勤率" in page and hall.deputies[1].name in page
    assert "65.57%" in page  # 40 of 61 present in the one sitting: 65.5737… → 65.57
    other_year = sec.get(f"/admin/records/?body={body}&year=2001").get_data(as_text=True)
    assert "65.57%" not in other_year and "—" in other_year  # no sitting that year: no rate
    member = sec.get(f"/admin/records/members/{hall.deputies[1].member_id}").get_data(as_text=True)
    assert "已按" in member and "赞成" in member
    assert "不满意" not in member.replace("满意度测评", "")
    on_leave = sec.get(f"/admin/records/members/{hall.deputies[50].member_id}")
    assert "病假" in on_leave.get_data(as_text=True)
    xlsx = sec.get(f"/admin/records/members/{hall.deputies[1].member_id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(xlsx.data))
    cells = [str(c) for ws in book for row in ws.iter_rows(values_only=True) for c in row]
    assert "已按" in cells and not any("不满意" in c.replace("满意度测评", "") for c in cells)
    pdf = sec.get(f"/admin/records/export.pdf?body={body}")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    assert sec.get(f"/admin/records/export.xlsx?body={body}").status_code == 200
    assert sec.get(f"/admin/records/export.doc?body={body}").status_code == 404
    # The presidium and the scrutineers do not see the records pages (the secretariat's).
    zhu = logged_in(app, "presidium", "zhu.records").client
    assert zhu.get(f"/admin/records/?body={body}").status_code == 403
    assert "/admin/records/" in sec.get(f"/admin/?body={body}").get_data(as_text=True)


def _sitting_id(hall: Hall) -> str:
    with hall.app.app_context(), sessions()() as s:
        sitting = attendance.current_sitting(s, hall.deputies[1].kiosk.body_id)
        assert sitting is not None
        return str(sitting.id)


def test_a_secretariat_sees_the_records_of_the_bodies_it_serves_only(hall: Hall) -> None:
    from voting_server.services import bodies

    app = hall.app
    with app.app_context(), write_transaction(sessions()) as s:
        town = bodies.create_body(s, audit_log(), "示例镇人民代表大会", "congress", "township").id
    clerk = logged_in(app, "secretariat", "zhen.mishu", bodies=[town]).client
    city = hall.deputies[1].kiosk.body_id
    assert clerk.get(f"/admin/records/?body={city}").status_code == 403
    assert clerk.get(f"/admin/records/members/{hall.deputies[1].member_id}").status_code == 403
    assert clerk.get(f"/admin/records/export.xlsx?body={city}").status_code == 403
    leave = post_form(clerk, f"/admin/records/leave?body={city}",
                      {"sitting": _sitting_id(hall), "seat": "5", "reason": "病假"})  # fmt: skip
    assert leave.status_code == 403
    assert clerk.get(f"/admin/records/?body={town}").status_code == 200
