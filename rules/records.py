"""Deputies' records (代表履职档案): from plain rows to a deputy's record and the
attendance rates (出勤率) of deputies and delegations. Pure: no I/O, no clock.

A record is per member row, that is per body: a person who sits in a congress and in
its standing committee has two rows and two records (the roster gives no stable
person number, and names are not unique). docs/records.md states the rules:

- A sitting counts for a member when it was held (举行中 or 已结束) while the member
  was on the roster (``SittingRow.member``), in the period chosen.
- Its status for the member: 出席 (signed in), 请假 (leave recorded, not signed in)
  or 缺席 (neither). A member on leave who signs in after all is 出席; the leave is
  shown as withdrawn (请假已撤回).
- 出勤率 = sittings 出席 ÷ sittings counted; 请假 counts as not attending and is
  shown apart. Two decimals, rounded half up (``percent_half_up``); no sitting
  counted: no rate ("—").
- In each vote of a sitting the member attended: 已按 or 未按; the choice only in a
  named vote. A secret vote's line has no choice field at all (``VoteLine``
  refuses one): nothing in a record can tell how a member voted in secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rules.kinds.evaluation import percent_half_up  # the satisfaction rate's rounding

LEAVE_REASON_MAX = 200  # 病假 / 因公出差 …: a line, not a letter

PRESENT = "present"  # 出席
LEAVE = "leave"  # 请假
ABSENT = "absent"  # 缺席
STATUSES = (PRESENT, LEAVE, ABSENT)


@dataclass(frozen=True)
class VoteRow:
    """One vote held in a sitting, as a member took part in it (or not)."""

    vote: int
    title: str
    secret: bool
    pressed: bool  # the member's ballot (named) or participation (secret) is recorded
    choice: Any = None  # named votes only: the ballot as counted; ignored for secret votes


@dataclass(frozen=True)
class SittingRow:
    """A sitting held by the member's body, and what the member did in it."""

    sitting: int
    title: str
    date: str  # YYYY-MM-DD, local (北京时间)
    year: int
    member: bool  # the member was on the roster at this sitting: it counts for them
    signed_in: bool
    leave_reason: str | None = None  # 请假 recorded for this member and sitting
    votes: Sequence[VoteRow] = ()


@dataclass(frozen=True)
class VoteLine:
    """A vote in a record: 已按 / 未按, and the choice of a named vote only."""

    vote: int
    title: str
    secret: bool
    pressed: bool
    choice: Any = None

    def __post_init__(self) -> None:
        if self.secret and self.choice is not None:
            raise ValueError("a secret vote's line never carries a choice")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "vote": self.vote, "title": self.title, "secret": self.secret,
            "pressed": self.pressed,
        }  # fmt: skip
        if not self.secret:
            out["choice"] = self.choice
        return out


@dataclass(frozen=True)
class SittingLine:
    sitting: int
    title: str
    date: str
    status: str  # PRESENT, LEAVE or ABSENT
    leave_reason: str | None  # the reason of a leave (also when withdrawn)
    leave_withdrawn: bool  # leave recorded, then the member signed in: 出席
    votes: tuple[VoteLine, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "sitting": self.sitting, "title": self.title, "date": self.date,
            "status": self.status, "leave_reason": self.leave_reason,
            "leave_withdrawn": self.leave_withdrawn,
            "votes": [v.to_json() for v in self.votes],
        }  # fmt: skip


@dataclass(frozen=True)
class Attendance:
    """Counts over the sittings counted, and the rate."""

    held: int  # sittings counted (held while a member)
    present: int
    leave: int
    absent: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.present, self.held) if self.held else None

    @property
    def percent(self) -> str | None:
        """出勤率 as "95.00" (no % sign), or None when no sitting counts."""
        rate = self.rate
        return None if rate is None else percent_half_up(rate)

    def __add__(self, other: Attendance) -> Attendance:
        return Attendance(
            self.held + other.held, self.present + other.present,
            self.leave + other.leave, self.absent + other.absent,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"held": self.held, "present": self.present, "leave": self.leave,
                "absent": self.absent, "rate": self.percent}  # fmt: skip


NO_ATTENDANCE = Attendance(0, 0, 0, 0)


@dataclass(frozen=True)
class DeputyRecord:
    member: int
    body: int
    seat: int
    name: str
    group: str | None  # 代表团 / 组别
    sittings: tuple[SittingLine, ...]
    attendance: Attendance
    pressed: int  # votes pressed (已按) in the sittings attended
    not_pressed: int  # 未按
    # Proposals made (代表建议 / 项目建议): the tracked items (督办事项) the deputy proposed
    proposals: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member, "body": self.body, "seat": self.seat,
            "name": self.name, "group": self.group,
            "attendance": self.attendance.to_json(),
            "votes": {"pressed": self.pressed, "not_pressed": self.not_pressed},
            "sittings": [s.to_json() for s in self.sittings],
            "proposals": list(self.proposals),
        }  # fmt: skip


def in_period(row: SittingRow, year: int | None) -> bool:
    """A sitting in the period: the calendar year (local) given, or all (None)."""
    return year is None or row.year == year


def sitting_line(row: SittingRow) -> SittingLine:
    """The member's status in one sitting, and their votes if they attended."""
    if row.signed_in:
        status = PRESENT
    elif row.leave_reason is not None:
        status = LEAVE
    else:
        status = ABSENT
    votes: tuple[VoteLine, ...] = ()
    if status == PRESENT:
        votes = tuple(
            VoteLine(v.vote, v.title, v.secret, v.pressed, None if v.secret else v.choice)
            for v in row.votes
        )
    return SittingLine(
        row.sitting, row.title, row.date, status, row.leave_reason,
        row.signed_in and row.leave_reason is not None, votes,
    )  # fmt: skip


def attendance_of(lines: Iterable[SittingLine]) -> Attendance:
    counts = {s: 0 for s in STATUSES}
    for line in lines:
        counts[line.status] += 1
    return Attendance(sum(counts.values()), counts[PRESENT], counts[LEAVE], counts[ABSENT])


def deputy_record(
    member: int, body: int, seat: int, name: str, group: str | None,
    rows: Iterable[SittingRow], year: int | None = None,
    proposals: Iterable[dict[str, Any]] = (),
) -> DeputyRecord:  # fmt: skip
    """The record over the sittings of ``rows`` that count for the member, in the period,
    with the proposals (代表建议) the deputy made, as tracked items record them."""
    lines = tuple(sitting_line(r) for r in rows if r.member and in_period(r, year))
    pressed = sum(1 for s in lines for v in s.votes if v.pressed)
    not_pressed = sum(1 for s in lines for v in s.votes if not v.pressed)
    return DeputyRecord(member, body, seat, name, group, lines, attendance_of(lines),
                        pressed, not_pressed, list(proposals))  # fmt: skip


@dataclass(frozen=True)
class GroupRate:
    group: str | None  # 代表团; None: members of no delegation
    members: int
    attendance: Attendance

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "members": self.members,
                "attendance": self.attendance.to_json()}  # fmt: skip


def group_rates(records: Iterable[DeputyRecord]) -> list[GroupRate]:
    """出勤率 per delegation: the sums of its members' counts (sittings 出席 ÷ sittings
    counted over all its members), in the order the delegations first appear."""
    totals: dict[str | None, Attendance] = {}
    members: dict[str | None, int] = {}
    for record in records:
        totals[record.group] = totals.get(record.group, NO_ATTENDANCE) + record.attendance
        members[record.group] = members.get(record.group, 0) + 1
    return [GroupRate(g, members[g], totals[g]) for g in totals]


def total(records: Iterable[DeputyRecord]) -> Attendance:
    out = NO_ATTENDANCE
    for record in records:
        out = out + record.attendance
    return out


def years_of(rows: Mapping[int, SittingRow] | Iterable[SittingRow]) -> list[int]:
    """The years in which sittings were held, newest first (the period filter's choices)."""
    values = rows.values() if isinstance(rows, Mapping) else rows
    return sorted({r.year for r in values}, reverse=True)
