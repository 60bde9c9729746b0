"""Deputies' records, the pure core (rules/records.py): status per sitting (出席 / 请假 /
缺席), 出勤率 at its boundaries, delegations, and no choice of a secret vote ever."""

from __future__ import annotations

from fractions import Fraction

import pytest

from audit.verify import verify_log
from rules.records import (
    ABSENT,
    LEAVE,
    PRESENT,
    Attendance,
    SittingRow,
    VoteLine,
    VoteRow,
    deputy_record,
    group_rates,
    sitting_line,
    total,
)
from tests.support.logs import LogBuilder


def row(n: int, *, signed: bool = False, leave: str | None = None, member: bool = True,
        year: int = 2027, votes: tuple[VoteRow, ...] = ()) -> SittingRow:  # fmt: skip
    return SittingRow(n, f"第{n}次会议", f"{year}-03-{n:02d}", year, member, signed, leave, votes)


def test_status_present_leave_absent_and_a_withdrawn_leave() -> None:
    assert sitting_line(row(1, signed=True)).status == PRESENT
    on_leave = sitting_line(row(2, leave="病假"))
    assert (on_leave.status, on_leave.leave_reason, on_leave.leave_withdrawn) == (
        LEAVE, "病假", False,
    )  # fmt: skip
    assert sitting_line(row(3)).status == ABSENT
    # Leave recorded, then signed in after all: present, the leave shown as withdrawn.
    came = sitting_line(row(4, signed=True, leave="因公出差"))
    assert (came.status, came.leave_withdrawn, came.leave_reason) == (PRESENT, True, "因公出差")


def test_rate_counts_leave_as_not_attending_but_apart() -> None:
    rows = [row(1, signed=True), row(2, leave="病假"), row(3), row(4, signed=True)]
    record = deputy_record(7, 1, 7, "张三", "第一代表团", rows)
    a = record.attendance
    assert (a.held, a.present, a.leave, a.absent) == (4, 2, 1, 1)
    assert a.rate == Fraction(1, 2) and a.percent == "50.00"


@pytest.mark.parametrize(
    ("present", "held", "percent"),
    [
        (0, 1, "0.00"),
        (1, 1, "100.00"),
        (2, 3, "66.67"),  # 66.666… up
        (1, 3, "33.33"),  # 33.333… down
        (1, 8, "12.50"),
        (1, 80000, "0.00"),  # 0.00125 % → 0.00
        (1, 40000, "0.00"),  # 0.0025 % → 0.00 (third decimal 2)
        (1, 1600, "0.06"),  # 0.0625 % → 0.06
        (1, 800, "0.13"),  # 0.125 % → 0.13: half up, not to even
        (7, 8, "87.50"),
    ],
)
def test_rate_rounds_two_decimals_half_up(present: int, held: int, percent: str) -> None:
    assert Attendance(held, present, 0, held - present).percent == percent


def test_no_sitting_counted_gives_no_rate() -> None:
    record = deputy_record(1, 1, 1, "李四", None, [row(1, member=False)])
    assert record.attendance.held == 0 and record.attendance.percent is None
    assert record.attendance.to_json()["rate"] is None


def test_period_is_a_year_or_all_and_sittings_before_membership_do_not_count() -> None:
    rows = [row(1, year=2026), row(2, signed=True, year=2027), row(3, member=False, year=2027)]
    assert deputy_record(1, 1, 1, "王五", None, rows).attendance.held == 2
    only = deputy_record(1, 1, 1, "王五", None, rows, year=2027)
    assert [s.sitting for s in only.sittings] == [2] and only.attendance.percent == "100.00"
    assert deputy_record(1, 1, 1, "王五", None, rows, year=2025).attendance.held == 0


def test_votes_only_of_sittings_attended_with_choice_of_named_votes_only() -> None:
    votes = (
        VoteRow(10, "关于……的表决", False, True, "条例：赞成"),
        VoteRow(11, "满意度测评", True, True, "满意"),  # a careless caller: dropped
        VoteRow(12, "另一表决", False, False),
    )
    record = deputy_record(1, 1, 1, "赵六", None,
                           [row(1, signed=True, votes=votes), row(2, votes=votes)])  # fmt: skip
    attended, absent = record.sittings
    assert absent.votes == ()  # no 未按 for a sitting one did not attend
    named, secret, missed = attended.votes
    assert named.to_json()["choice"] == "条例：赞成"
    assert secret.pressed and secret.choice is None and "choice" not in secret.to_json()
    assert not missed.pressed
    assert (record.pressed, record.not_pressed) == (2, 1)


def test_a_secret_line_refuses_a_choice() -> None:
    with pytest.raises(ValueError, match="secret"):
        VoteLine(1, "t", True, True, "赞成")


def test_delegation_rates_sum_their_members_counts() -> None:
    a = deputy_record(1, 1, 1, "甲", "一团", [row(1, signed=True), row(2)])
    b = deputy_record(2, 1, 2, "乙", "一团", [row(1, signed=True), row(2, signed=True)])
    c = deputy_record(3, 1, 3, "丙", "二团", [row(1, leave="病假"), row(2)])
    first, second = group_rates([a, b, c])
    assert (first.group, first.members, first.attendance.percent) == ("一团", 2, "75.00")
    assert (second.group, second.attendance.leave, second.attendance.percent) == ("二团", 1, "0.00")
    assert total([a, b, c]).percent == "50.00"  # 3 of 6


def test_proposals_start_empty_until_tracked_items_fill_them() -> None:
    record = deputy_record(1, 1, 1, "甲", None, [row(1)])
    assert record.proposals == [] and record.to_json()["proposals"] == []


# --- the verifier's check of leave_recorded (audit/verify.py) -----------------------------------


def _leave(log: LogBuilder, member: int, by: int, **extra: object) -> int:
    data = {"sitting": 1, "member": member, "seat": member, "reason": "病假", "by": by} | extra
    return log.append("leave_recorded", data)


def _reason(log: LogBuilder) -> list[dict[str, object]]:
    return verify_log(log.lines, log.server.public_bytes).errors


def test_the_verifier_accepts_leave_by_the_secretariat_then_a_sign_in() -> None:
    log = LogBuilder()
    log.duties()  # 1 presidium, 2 secretariat
    _leave(log, 3, by=2)
    _leave(log, 3, by=2, reason="因公出差")  # again: the reason replaced
    log.sign_in(3)  # sign-in after leave: present
    assert _reason(log) == []


@pytest.mark.parametrize(
    ("member", "by", "extra", "reason"),
    [
        (3, 1, {}, "leave is recorded by the secretariat"),  # the presidium
        (3, 7, {}, "leave is recorded by the secretariat"),  # a scrutineer
        (3, 42, {}, "by: account 42 was never created in the log"),
        (99, 2, {"seat": 99}, "member 99 is not on the roster"),
        (3, 2, {"seat": 4}, "member 3 has another seat"),
        (3, 2, {"reason": " "}, "reason: 1 to 200 characters"),
        (3, 2, {"reason": "长" * 201}, "reason: 1 to 200 characters"),
        (4, 2, {}, "member 4 already signed in"),
    ],
)
def test_the_verifier_rejects_leave_it_should_not_see(
    member: int, by: int, extra: dict[str, object], reason: str
) -> None:
    log = LogBuilder()
    log.duties()
    log.sign_in(4)
    index = _leave(log, member, by, **extra)
    assert _reason(log) == [{"index": index, "reason": f"leave_recorded: {reason}"}]
