"""分团: a named vote's breakdown by delegation, published in its result entry, checked by
the verifier, and printed on the sheet and in the exports; secret votes never break down.
Sign-in per delegation (分团签到) for the console. Service level, on a real database."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

import tests.support.service_hall as service_hall
from audit.verify import verify_log
from rules import VoteSpec
from rules.breakdown import by_delegation
from rules.congress import MemberRole
from rules.kinds import VoteKind
from tests.support.logs import LogBuilder, resign
from tests.support.service_hall import Hall
from voting_server.models import Body, BodyKind, Member, Sitting, Vote
from voting_server.services import attendance, delegations, results
from voting_server.sheets import ResultSheet, render_html, result_rows

hall = service_hall.hall  # the demo committee, 61 enrolled kiosks

EAST, WEST = "东城代表团", "西城代表团"


def two_delegations(hall: Hall) -> None:
    """Seats 1–30 in 东城, 31–61 in 西城, and the body a congress (人民代表大会)."""
    with hall.tx() as s:
        s.execute(update(Member).where(Member.seat <= 30).values(group_name=EAST))
        s.execute(update(Member).where(Member.seat > 30).values(group_name=WEST))
        s.execute(update(Body).values(kind=BodyKind.CONGRESS))


def result_entry(hall: Hall, vote: int) -> dict[str, Any]:
    entries = [json.loads(line) for line in hall.lines()]
    return next(e["data"] for e in entries if e["type"] == "result" and e["data"]["vote"] == vote)


def subject_of(hall: Hall, vote: int) -> str:
    with hall.sessions() as s:
        return s.get(Vote, vote).spec().subjects[0]  # type: ignore[union-attr]


def test_a_named_vote_publishes_each_delegations_counts(hall: Hall) -> None:
    two_delegations(hall)
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.sign_in(*range(1, 21), *range(31, 56))  # 东城 20 of 30, 西城 25 of 31
    with hall.sessions() as s:
        sitting = s.scalars(select(Sitting)).first()
        assert attendance.sign_in_by_delegation(s, sitting) == [  # type: ignore[arg-type]
            {"group": EAST, "members": 30, "present": 20},
            {"group": WEST, "members": 31, "present": 25},
        ]
    hall.open(vote)
    subject = subject_of(hall, vote)
    for seat in range(1, 16):  # 东城: 15 yes, 5 do not press
        hall.press(seat, vote, {subject: "yes"})
    for seat in range(31, 51):  # 西城: 10 no, 10 abstain, 5 do not press
        hall.press(seat, vote, {subject: "no" if seat <= 40 else "abstain"})
    result = hall.close(vote)
    data = result_entry(hall, vote)
    assert data["result"] == result  # the result itself is unchanged (CONTRACTS §2)
    assert data["by_delegation"] == [
        {"group": EAST, "members": 30, "present": 20, "cast": 15, "not_voted": 5,
         "subjects": {subject: {"yes": 15, "no": 0, "abstain": 0, "invalid": 0}}},
        {"group": WEST, "members": 31, "present": 25, "cast": 20, "not_voted": 5,
         "subjects": {subject: {"yes": 0, "no": 10, "abstain": 10, "invalid": 0}}},
    ]  # fmt: skip
    hall.verify()

    with hall.sessions() as s:
        source = results.sheet_source(s, vote)
        view = delegations.breakdown_view(s, s.get(Vote, vote))  # type: ignore[arg-type]
    assert view is not None and view["title"] == "分团表决情况"  # what the console lists
    # a kiosk's ballot cannot be invalid: no 无效 column (术语表: 无效 only where it can be)
    assert view["head"] == ["代表团", "应到", "实到", "未按", "赞成", "反对", "弃权"]
    assert view["rows"][1] == [WEST, "31", "25", "5", "0", "10", "10"]
    sheet = ResultSheet.from_source(source)
    html = render_html(sheet)
    assert "分团表决情况" in html and EAST in html and WEST in html and "无效" not in html
    rows = result_rows([sheet])
    assert all(r["invalid"] is None for r in rows)  # no 无效 in the export either
    west = [r for r in rows if r["delegation"] == WEST]
    assert len(rows) == 3 and rows[0]["delegation"] is None
    assert (west[0]["members"], west[0]["present"], west[0]["not_voted"]) == (31, 25, 5)
    assert (west[0]["yes"], west[0]["no"], west[0]["abstain"]) == (0, 10, 10)


def test_a_secret_vote_never_breaks_down(hall: Hall) -> None:
    two_delegations(hall)
    vote = hall.configure(VoteKind.MOTION, secret=True)
    hall.sign_in(*range(1, 41))
    hall.open(vote)
    subject = subject_of(hall, vote)
    for seat in range(1, 31):
        hall.press(seat, vote, {subject: "yes" if seat % 2 else "no"})
    hall.close(vote)
    assert "by_delegation" not in result_entry(hall, vote)
    assert all(b"by_delegation" not in line for line in hall.lines())
    hall.verify()
    with hall.sessions() as s:
        assert delegations.logged_breakdown(s, vote) is None
        assert delegations.breakdown_view(s, s.get(Vote, vote)) is None  # type: ignore[arg-type]
        source = results.sheet_source(s, vote)
    sheet = ResultSheet.from_source(source)
    assert "分团表决情况" not in render_html(sheet)
    assert all(r["delegation"] is None for r in result_rows([sheet]))
    # even a sheet handed a breakdown prints none for a secret vote
    forced = ResultSheet.from_source({**source, "by_delegation": [{"group": EAST}]})
    assert "分团表决情况" not in render_html(forced)
    assert all(r["delegation"] is None for r in result_rows([forced]))


def test_a_committee_without_groups_publishes_no_breakdown(hall: Hall) -> None:
    with hall.tx() as s:
        s.execute(update(Member).values(group_name=None))
    vote = hall.configure(VoteKind.SELECTION, secret=False)
    hall.sign_in(*range(1, 41))
    hall.open(vote)
    hall.close(vote)
    assert "by_delegation" not in result_entry(hall, vote)
    hall.verify()


GROUPED = {1: EAST, 2: EAST, 3: WEST, 4: WEST, 5: WEST}


def _named_sitting(groups: dict[int, str] | None) -> LogBuilder:
    spec = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
    log = LogBuilder(members=5, groups=groups)
    log.sign_in(1, 2, 3, 4)
    log.configure(1, spec, secret=False)
    log.open(1, spec, present=4)
    ballots = {1: {"budget": "yes"}, 3: {"budget": "no"}}
    for seat, ballot in ballots.items():
        log.press(1, seat, ballot, secret=False)
    breakdown = (
        by_delegation(spec, sorted(groups.items()), {1, 2, 3, 4}, ballots) if groups else None
    )
    log.close(1, spec, 4, list(ballots.values()), secret=False, by_delegation=breakdown)
    return log


def _verify(log: LogBuilder, lines: list[bytes] | None = None) -> Any:
    return verify_log(lines or log.lines, log.server.public_bytes)


def test_the_verifier_recomputes_the_breakdown() -> None:
    log = _named_sitting(GROUPED)
    assert _verify(log).ok
    index = log.last("result")
    entry = json.loads(log.lines[index])["data"]
    assert [e["group"] for e in entry["by_delegation"]] == [EAST, WEST]

    def fewer_present(data: dict[str, Any]) -> None:
        data["by_delegation"][0]["present"] -= 1

    report = _verify(log, resign(log, index, fewer_present))
    assert report.errors[0]["index"] == index
    assert (
        "by_delegation differs" in report.errors[0]["reason"] and EAST in report.errors[0]["reason"]
    )

    dropped = _verify(log, resign(log, index, lambda d: d.pop("by_delegation")))
    assert dropped.errors[0]["reason"] == "result: by_delegation: absent"


def test_the_verifier_refuses_a_breakdown_where_none_belongs() -> None:
    log = _named_sitting(None)  # no delegations in the roster: an old log verifies as before
    assert _verify(log).ok
    index = log.last("result")
    report = _verify(log, resign(log, index, lambda d: d.update(by_delegation=[])))
    assert report.errors[0]["reason"] == "result: by_delegation: unexpected"


def test_sign_in_by_delegation_counts_deputies_only(hall: Hall) -> None:
    """分团签到: a 列席 attendee has no delegation and is in no delegation's 应到 / 实到 —
    not even as a row of members without a delegation (未分团)."""
    two_delegations(hall)
    with hall.tx() as s:
        s.execute(
            update(Member)
            .where(Member.seat == 61)
            .values(role=MemberRole.ATTENDEE, group_name=None)
        )
    hall.sign_in(1, 2, 3, 61)
    with hall.sessions() as s:
        sitting = s.scalars(select(Sitting)).first()
        assert attendance.sign_in_by_delegation(s, sitting) == [  # type: ignore[arg-type]
            {"group": EAST, "members": 30, "present": 3},
            {"group": WEST, "members": 30, "present": 0},
        ]
