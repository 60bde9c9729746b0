"""Deputies' records over a real database (services/records.py): leave (请假) recorded by
the secretariat and logged, sign-in after leave, 已按 / 未按 per vote, a named vote's
choice, a secret vote's record that says nothing of the choice, exports, and the log
verifying with the new entry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from rules.kinds import VoteKind
from tests.support import service_hall
from tests.support.paper import users
from tests.support.service_hall import Hall, refused
from voting_server.models import Member, Sitting, SittingStatus, Vote
from voting_server.services import attendance, records
from voting_server.services.records import record_leave
from voting_server.sheets.records import record_pdf, record_xlsx, records_pdf, records_xlsx

hall = service_hall.hall


def member(s: Any, seat: int) -> Member:
    found = attendance.member_at_seat(s, 1, seat)
    assert found is not None
    return found


def leave(hall: Hall, seat: int, reason: str, by: int, role: str | None = "secretariat") -> None:
    with hall.tx() as s:
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        record_leave(s, hall.log, sitting, member(s, seat), reason, by=by, by_role=role)


def record(hall: Hall, seat: int) -> dict[str, Any]:
    with hall.sessions() as s:
        return records.record_of(s, member(s, seat)).to_json()


def test_leave_is_logged_refused_to_others_and_withdrawn_by_a_sign_in(hall: Hall) -> None:
    u = users(hall, designate=False)
    sec, zhu = u["sec"].id, u["zhu"].id
    leave(hall, 5, "病假", sec)
    leave(hall, 6, "因公出差", sec)
    leave(hall, 6, "参加培训", sec)  # recorded again: the reason replaced, logged again
    refused("forbidden", hall, lambda: leave(hall, 7, "病假", zhu, "presidium"))
    refused("invalid_payload", hall, lambda: leave(hall, 7, "  ", sec))
    refused("invalid_payload", hall, lambda: leave(hall, 7, "长" * 201, sec))
    hall.sign_in(*(n for n in range(1, 42) if n != 6))  # 5 on leave signs in; 6 does not
    refused("already_signed_in", hall, lambda: leave(hall, 8, "病假", sec))
    logged = [json.loads(line) for line in hall.lines()]
    leaves = [e["data"] for e in logged if e["type"] == "leave_recorded"]
    assert [(d["seat"], d["reason"], d["by"]) for d in leaves] == [
        (5, "病假", sec), (6, "因公出差", sec), (6, "参加培训", sec),
    ]  # fmt: skip
    hall.verify()
    five, six, fifty = record(hall, 5), record(hall, 6), record(hall, 50)
    assert five["sittings"][0]["status"] == "present" and five["sittings"][0]["leave_withdrawn"]
    assert (
        six["sittings"][0]["status"] == "leave" and six["sittings"][0]["leave_reason"] == "参加培训"
    )
    assert fifty["sittings"][0]["status"] == "absent"
    assert six["attendance"] == {"held": 1, "present": 0, "leave": 1, "absent": 0, "rate": "0.00"}
    assert five["attendance"]["rate"] == "100.00"


def test_a_closed_sitting_takes_no_leave_and_a_foreign_member_none(hall: Hall) -> None:
    sec = users(hall, designate=False)["sec"].id
    with hall.tx() as s:
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        sitting.status = SittingStatus.CLOSED
        sitting_id = sitting.id

    def closed() -> None:
        with hall.tx() as s:
            sitting = s.get(Sitting, sitting_id)
            assert sitting is not None
            record_leave(s, hall.log, sitting, member(s, 3), "病假", by=sec, by_role="secretariat")

    refused("no_sitting", hall, closed)


def _named_and_secret(hall: Hall) -> tuple[int, int, dict[int, Any]]:
    """A named motion and a secret evaluation in the sitting; seats 1–40 present, 1–30
    press the motion and 1–35 the evaluation."""
    motion = hall.configure(VoteKind.MOTION, secret=False)
    evaluation = hall.configure(VoteKind.EVALUATION, secret=True)
    hall.sign_in(*range(1, 41))
    hall.open(motion)
    with hall.sessions() as s:
        subject = s.get(Vote, motion).spec().subjects[0]  # type: ignore[union-attr]
        departments = s.get(Vote, evaluation).spec().subjects  # type: ignore[union-attr]
    for seat in range(1, 31):
        hall.press(seat, motion, {subject: "yes" if seat % 2 else "no"})
    hall.press(1, motion, {subject: "abstain"})  # last press counts
    hall.close(motion)
    hall.open(evaluation)
    secret: dict[int, Any] = {}
    for seat in range(1, 36):
        secret[seat] = {d: ("unsatisfied" if seat == 3 else "satisfied") for d in departments}
        hall.press(seat, evaluation, secret[seat])
    hall.close(evaluation)
    return motion, evaluation, secret


def test_presses_and_named_choices_and_rates_over_the_body(hall: Hall) -> None:
    motion, evaluation, _ = _named_and_secret(hall)
    one, thirty_three, forty, fifty = (record(hall, n) for n in (1, 33, 40, 50))
    votes = {v["vote"]: v for v in one["sittings"][0]["votes"]}
    assert votes[motion]["pressed"] and "弃权" in votes[motion]["choice"]  # the last press
    assert votes[evaluation] == {"vote": evaluation, "title": votes[evaluation]["title"],
                                 "secret": True, "pressed": True}  # fmt: skip
    votes = {v["vote"]: v for v in thirty_three["sittings"][0]["votes"]}
    assert not votes[motion]["pressed"] and votes[motion]["choice"] is None  # 未按
    assert votes[evaluation]["pressed"]
    assert forty["votes"] == {"pressed": 0, "not_pressed": 2}
    assert fifty["sittings"][0]["votes"] == []  # absent: no vote lines
    with hall.sessions() as s:
        from voting_server.models import Body

        body = s.get(Body, 1)
        assert body is not None
        found = records.records(s, body)
        assert len(found) == 61
        assert records.records(s, body, year=1999)[0].attendance.held == 0
    assert sum(r.attendance.present for r in found) == 40
    whole = records.delegation_rates(found)
    assert sum(g.members for g in whole) == 61


@pytest.mark.parametrize("seat", [3, 4])
def test_a_secret_votes_record_and_exports_hold_no_mark_of_the_choice(
    hall: Hall, seat: int
) -> None:
    """Seat 3 was the only one to mark 不满意 in the secret evaluation; seat 4 marked 满意.
    Their records, and every export of them, must be the same but for name and seat:
    nothing tells the one from the other."""
    _motion, evaluation, _ = _named_and_secret(hall)
    with hall.sessions() as s:
        mine = records.record_of(s, member(s, seat))
        other = records.record_of(s, member(s, 7 - seat))
        from voting_server.models import Body

        body = s.get(Body, 1)
        assert body is not None
        everyone = records.records(s, body)
    line = next(v for v in mine.sittings[0].votes if v.vote == evaluation)
    titles = [v.title for v in mine.sittings[0].votes]  # 满意度测评 is in a title
    data = _untitled(json.dumps(mine.to_json(), ensure_ascii=False), titles)
    assert line.pressed and line.choice is None
    for word in ("satisfied", "unsatisfied", "basic", "满意", "不满意", "基本满意"):
        assert word not in data
    strip = lambda r: {**r.to_json(), "member": 0, "seat": 0, "name": ""}  # noqa: E731
    assert strip(mine)["sittings"][0]["votes"][1] == strip(other)["sittings"][0]["votes"][1]
    for blob in (record_xlsx(mine), record_pdf(mine), records_xlsx(body.name, everyone, None)):
        assert b"unsatisfied" not in blob
    assert record_pdf(mine)[:4] == b"%PDF" and records_pdf(body.name, everyone, None)[:4] == b"%PDF"
    text = _untitled(_xlsx_text(record_xlsx(mine)), titles)
    for word in ("不满意", "基本满意", "unsatisfied"):
        assert word not in text
    assert "已按" in text


def _untitled(text: str, titles: list[str]) -> str:
    for title in titles:
        text = text.replace(title, "")
    return text


def _xlsx_text(blob: bytes) -> str:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(blob))
    return "\n".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )


def test_no_select_of_a_secret_ballot(hall: Hall) -> None:
    """The gathering never reads the ballot column for a secret vote: after the close it
    is NULL anyway, and the records query asks only who pressed."""
    _named_and_secret(hall)
    with hall.sessions() as s:
        from voting_server.models import Press

        rows = s.execute(select(Press.ballot).join(Vote).where(Vote.secret)).scalars().all()
        assert rows and all(r is None for r in rows)


def test_a_sitting_counts_for_those_on_the_roster_logged_for_it(hall: Hall) -> None:
    """Seat 61 leaves the roster after the first sitting, seat 62 joins before the second:
    each counts only the sitting held while on the roster (the audit log's ``roster``
    entries); seat 1 counts both."""
    from datetime import timedelta

    from voting_server.models import AttendanceMethod, Body

    hall.sign_in(*range(1, 41))
    with hall.tx() as s:
        body = s.get(Body, 1)
        assert body is not None
        first = attendance.current_sitting(s, 1)
        assert first is not None
        first.status = SittingStatus.CLOSED
        second = Sitting(body=body, title="第二十一次会议",
                         starts_at=first.starts_at + timedelta(days=30))  # fmt: skip
        s.add(second)
        member(s, 61).active = False
        s.add(Member(body_id=1, seat=62, name="新委员", group_name=None))
        s.flush()
        attendance.sign_in_many(s, hall.log, second, [member(s, n) for n in range(1, 33)],
                                AttendanceMethod.OPERATOR)  # fmt: skip
    hall.verify()
    with hall.sessions() as s:
        body = s.get(Body, 1)
        assert body is not None
        found = {r.seat: r for r in records.records(s, body)}
        gone = s.scalars(select(Member).where(Member.seat == 61)).one()
        assert records.record_of(s, gone).attendance.held == 1
    assert found[1].attendance.held == 2 and found[1].attendance.percent == "100.00"
    assert found[62].attendance.held == 1 and found[62].attendance.absent == 1
    assert found[61].attendance.held == 1 and found[61].attendance.absent == 1
    assert found[40].attendance.to_json() == {
        "held": 2, "present": 1, "leave": 0, "absent": 1, "rate": "50.00",
    }  # fmt: skip


def test_a_deputys_proposals_are_in_the_record_of_their_year(hall: Hall) -> None:
    from voting_server.services import supervision

    u = users(hall, designate=False)
    with hall.tx() as s:
        deputy = member(s, 3)

        def propose(title: str, year: int) -> None:
            p = supervision.Proposal(
                kind="project", title=title, year=year, source="deputy",
                proposer_member_id=deputy.id,
            )  # fmt: skip
            supervision.propose(s, hall.log, 1, u["sec"].id, p)

        propose("新建城南小学", 2026)
        propose("农贸市场改造", 2027)
    assert [p["title"] for p in record(hall, 3)["proposals"]] == ["新建城南小学", "农贸市场改造"]
    assert record(hall, 4)["proposals"] == []
    with hall.sessions() as s:
        by_year = records.record_of(s, member(s, 3), year=2027).to_json()
        every = {r.seat: r for r in records.records(s, s.get(Sitting, 1).body)}
    assert [p["title"] for p in by_year["proposals"]] == ["农贸市场改造"]
    assert [p["title"] for p in every[3].proposals] == ["新建城南小学", "农贸市场改造"]
    # the exports list them too, with the item's state (待初审: proposed, not yet reviewed)
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(record_xlsx(every[3])))
    rows = [[c.value for c in row] for row in book["建议"].iter_rows(min_row=2)]
    assert rows == [[2026, "新建城南小学", "待初审"], [2027, "农贸市场改造", "待初审"]]
    assert record_pdf(every[3]).startswith(b"%PDF")
    hall.verify()
