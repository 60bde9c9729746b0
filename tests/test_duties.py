"""Separation of duties (分权, docs/duties.md) in the server: no one role makes a result.

A paper count only after the presidium cancelled a vote that was held, with a
reason; its 实到 is the sign-ins or the difference is explained and printed;
only the sitting's designated scrutineers countersign, two different people,
never the secretariat; every staff account change is in the log, from the
command line and from the pages alike.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

import tests.support.db as support_db
import tests.support.service_hall as service_hall
from rules import VoteKind
from tests.support.bodies import only_body_id
from tests.support.db import migrate
from tests.support.live import LoggedIn, create_staff, post_form
from tests.support.paper import FAILURE, SITTING, act, enter, fail, refused, sign, users
from tests.support.service_hall import Hall
from voting_server.cli import main
from voting_server.db import make_engine, make_session_factory
from voting_server.extensions import audit_log, sessions
from voting_server.models import (
    AttendanceMethod,
    Body,
    BodyKind,
    BodyLevel,
    StaffRole,
    StaffUser,
    Vote,
    VoteState,
)
from voting_server.services import results, staff
from voting_server.services.audit_log import AuditLog, iter_lines
from voting_server.services.transactions import write_transaction
from voting_server.sheets import ResultSheet, render_html


def entries(lines: list[bytes], *types: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in lines]
    return [e["data"] | {"type": e["type"]} for e in found if e["type"] in types]


STAFF_TYPES = ("staff_created", "staff_disabled", "staff_role_changed")
hall = service_hall.hall  # the fixtures: the demo committee with 61 enrolled kiosks …
demo_url = support_db.demo_url  # … and the demo in a database for the command line


# --- paper counts ------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_paper_count_on_an_open_vote_nor_on_a_draft(hall: Hall) -> None:
    u = users(hall)
    vote = hall.votes[VoteKind.MOTION]
    refused(hall, "vote_never_opened", lambda: enter(hall, vote, u["sec"]))  # a draft
    hall.sign_in(*range(1, 56))
    hall.open(vote)
    refused(hall, "vote_still_open", lambda: enter(hall, vote, u["sec"]))
    with hall.sessions() as s:
        assert s.get(Vote, vote).state is VoteState.OPEN  # type: ignore[union-attr]  # not cancelled


@pytest.mark.slow
def test_no_paper_count_after_a_cancel_that_was_not_the_presidiums_with_a_reason(
    hall: Hall,
) -> None:
    u = users(hall)
    vote = hall.votes[VoteKind.MOTION]
    hall.sign_in(*range(1, 56))
    hall.open(vote)
    act(hall, lambda s: hall.voting.cancel_vote(s, hall.log, vote, u["sec"].id, FAILURE))
    refused(hall, "cancel_without_reason", lambda: enter(hall, vote, u["sec"]))


@pytest.mark.slow
def test_present_other_than_the_sign_ins_needs_a_reason_printed_on_the_sheet(hall: Hall) -> None:
    u = users(hall)
    vote = hall.votes[VoteKind.MOTION]
    fail(hall, vote, u["zhu"])  # 55 signed in
    refused(hall, "present_differs", lambda: enter(hall, vote, u["sec"], present=50))
    refused(hall, "present_differs",
            lambda: enter(hall, vote, u["sec"], present=50, present_reason="  "))  # fmt: skip
    enter(hall, vote, u["sec"], present=50, present_reason="五名代表在表决前离会")
    sign(hall, vote, u["jp1"])
    sign(hall, vote, u["jp2"])
    [logged] = entries(hall.lines(), "paper_count_entered")
    assert (logged["present"], logged["attendance"]) == (50, 55)
    assert logged["present_reason"] == "五名代表在表决前离会"
    with hall.sessions() as s:
        html = render_html(ResultSheet.from_source(results.sheet_source(s, vote)))
    assert "实到 50 人与签到 55 人不一致，理由：五名代表在表决前离会" in html
    hall.verify()


# --- countersignatures -------------------------------------------------------------------------


@pytest.mark.slow
def test_only_designated_scrutineers_countersign_and_one_person_counts_once(hall: Hall) -> None:
    u = users(hall)  # jp1, jp2 designated; jp3 a scrutineer account, not designated
    vote = hall.votes[VoteKind.MOTION]
    fail(hall, vote, u["zhu"])
    enter(hall, vote, u["sec"])
    refused(hall, "not_designated", lambda: sign(hall, vote, u["jp3"]))
    refused(hall, "forbidden", lambda: sign(hall, vote, u["sec"]))
    refused(hall, "forbidden", lambda: sign(hall, vote, u["zhu"]))  # the presidium alone: no
    sign(hall, vote, u["jp1"])
    refused(hall, "already_countersigned", lambda: sign(hall, vote, u["jp1"]))
    with hall.sessions() as s:
        assert s.get(Vote, vote).result is None  # type: ignore[union-attr]  # one person, once
    sign(hall, vote, u["jp2"])
    refused(hall, "forbidden", lambda: sign(hall, vote, u["sec"], "result"))
    refused(hall, "not_designated", lambda: sign(hall, vote, u["jp3"], "result"))
    hall.verify()


@pytest.mark.slow
def test_without_designated_scrutineers_nobody_countersigns(hall: Hall) -> None:
    u = users(hall, designate=False)
    vote = hall.votes[VoteKind.MOTION]
    fail(hall, vote, u["zhu"])
    enter(hall, vote, u["sec"])
    refused(hall, "not_designated", lambda: sign(hall, vote, u["jp1"]))


@pytest.mark.slow
def test_the_presidium_designates_scrutineers_before_voting_starts(hall: Hall) -> None:
    u = users(hall, designate=False)
    jp = [u["jp1"].id, u["jp2"].id]

    def designate(by: StaffUser, ids: list[int], basis: str = "经主任会议确定") -> Any:
        return lambda: act(
            hall, lambda s: results.designate_scrutineers(s, hall.log, SITTING, by, ids, basis)
        )

    refused(hall, "forbidden", designate(u["sec"], jp))
    refused(hall, "invalid_designation", designate(u["zhu"], jp[:1]))  # two are needed
    refused(hall, "invalid_designation", designate(u["zhu"], [u["jp1"].id, u["sec"].id]))
    refused(hall, "invalid_payload", designate(u["zhu"], jp, " "))
    designate(u["zhu"], jp)()
    [logged] = entries(hall.lines(), "scrutineers_designated")
    assert logged == {"type": "scrutineers_designated", "sitting": SITTING,
                      "scrutineers": sorted(jp), "by": u["zhu"].id, "basis": "经主任会议确定"}  # fmt: skip
    hall.sign_in(*range(1, 56))
    hall.open(hall.votes[VoteKind.MOTION])
    refused(hall, "voting_started", designate(u["zhu"], [u["jp1"].id, u["jp3"].id]))
    hall.verify()


# --- staff accounts ----------------------------------------------------------------------------


@pytest.mark.slow
def test_account_changes_are_logged_by_the_service(hall: Hall) -> None:
    u = users(hall, designate=False)
    with hall.tx() as s:
        made = staff.create_user(s, "new.one", "新人", "display", "a long password", log=hall.log,
                                 by=u["sec"].id).id  # fmt: skip
        staff.change_role(s, made, "scrutineer", log=hall.log, by=u["sec"].id)
        staff.deactivate_user(s, made, log=hall.log, by=u["sec"].id)
    logged = entries(hall.lines(), *STAFF_TYPES)
    assert [e["username"] for e in logged[:5]] == [f"{n}-user" for n in ("sec", "zhu", "jp1",
                                                                            "jp2", "jp3")]  # fmt: skip
    assert logged[5:] == [
        {"type": "staff_created", "user": made, "username": "new.one", "name": "新人",
         "role": "display", "by": u["sec"].id, "existing": False},
        {"type": "staff_role_changed", "user": made, "username": "new.one", "name": "新人",
         "role": "scrutineer", "from": "display", "by": u["sec"].id},
        {"type": "staff_disabled", "user": made, "username": "new.one", "name": "新人",
         "role": "scrutineer", "by": u["sec"].id},
    ]  # fmt: skip
    hall.verify()


def test_accounts_from_before_logging_are_logged_once(hall: Hall) -> None:
    with hall.tx() as s:  # as an older version made them: no log entry
        s.add(StaffUser(username="old.zhu", display_name="老主任", role=StaffRole.PRESIDIUM,
                        password_hash="x", active=True))  # fmt: skip
        s.add(StaffUser(username="old.gone", display_name="旧账号", role=StaffRole.DISPLAY,
                        password_hash="x", active=False))  # fmt: skip
    with hall.tx() as s:
        assert staff.log_unlogged_accounts(s, hall.log, only_body_id(s)) == 3
    with hall.tx() as s:
        assert staff.log_unlogged_accounts(s, hall.log, only_body_id(s)) == 0
    logged = entries(hall.lines(), *STAFF_TYPES)
    assert [(e["type"], e["username"], e["by"]) for e in logged] == [
        ("staff_created", "old.zhu", None), ("staff_created", "old.gone", None),
        ("staff_disabled", "old.gone", None),
    ]  # fmt: skip
    assert all(e.get("existing", True) for e in logged)
    hall.verify()


def _web_log(app: Flask) -> list[bytes]:
    with app.app_context(), sessions()() as s:
        return list(iter_lines(s, only_body_id(s)))


def test_the_secretariats_pages_log_every_account_change(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    client = secretariat.client
    form = {"username": "jian.piao", "display_name": "李监票", "role": "display",
            "password": "long enough pw", "password2": "long enough pw"}  # fmt: skip
    assert post_form(client, "/admin/staff", form).status_code == 302
    with live_app.app_context(), sessions()() as s:
        new_id = s.scalar(select(StaffUser.id).where(StaffUser.username == "jian.piao"))
    role = post_form(client, f"/admin/staff/{new_id}/role", {"role": "scrutineer"})
    assert role.status_code == 302
    assert post_form(client, f"/admin/staff/{new_id}/deactivate").status_code == 302
    logged = [e for e in entries(_web_log(live_app), *STAFF_TYPES) if e["user"] == new_id]
    assert [(e["type"], e["role"], e["by"]) for e in logged] == [
        ("staff_created", "display", secretariat.account.id),
        ("staff_role_changed", "scrutineer", secretariat.account.id),
        ("staff_disabled", "scrutineer", secretariat.account.id),
    ]
    # The secretariat grants no presidium role and changes no role of its own.
    before = len(_web_log(live_app))
    made = post_form(client, "/admin/staff", {**form, "username": "zhu.xi", "role": "presidium"})
    assert made.status_code == 400 and "命令行" in made.get_data(as_text=True)
    own = post_form(client, f"/admin/staff/{secretariat.account.id}/role", {"role": "scrutineer"})
    assert own.status_code == 400 and "不能更改自己账号的角色" in own.get_data(as_text=True)
    assert len(_web_log(live_app)) == before


@pytest.mark.slow
def test_the_presidium_designates_on_its_page_and_the_secretariat_cannot(
    live_app: Flask, presidium: LoggedIn, secretariat: LoggedIn
) -> None:
    first = create_staff(live_app, "scrutineer", "jp.one")
    second = create_staff(live_app, "scrutineer", "jp.two")
    form = {"scrutineer": [str(first.id), str(second.id)], "basis": "经主任会议确定"}
    page = "/results/sittings/1/scrutineers"
    assert post_form(secretariat.client, page, form).status_code == 403
    assert "尚未指定监票人" in presidium.client.get(page).get_data(as_text=True)
    assert post_form(presidium.client, page, form).status_code == 302
    html = presidium.client.get(page).get_data(as_text=True)
    assert "测试scrutineer" in html and "经主任会议确定" in html
    [logged] = entries(_web_log(live_app), "scrutineers_designated")
    assert logged["scrutineers"] == sorted([first.id, second.id])
    assert logged["by"] == presidium.account.id


def test_the_paper_page_refuses_an_open_vote(live_app: Flask, secretariat: LoggedIn) -> None:
    from voting_server.extensions import voting
    from voting_server.services import attendance

    with live_app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, 1)
        for seat in range(1, 41):
            member = attendance.member_at_seat(s, 1, seat)
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR,
                               by=None)  # fmt: skip
        vote = s.scalars(select(Vote).order_by(Vote.id)).first()
        assert vote is not None
        vote_id = vote.id
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), vote_id, 1, None)
    answer = post_form(secretariat.client, f"/results/votes/{vote_id}/paper",
                       {"mode": "counts", "present": "40", "data": "{}"})  # fmt: skip
    assert answer.status_code == 400
    assert "须先由主席团取消表决并说明理由" in answer.get_data(as_text=True)
    with live_app.app_context(), sessions()() as s:
        assert s.get(Vote, vote_id).state is VoteState.OPEN  # type: ignore[union-attr]


# --- the command line --------------------------------------------------------------------------


def test_the_command_line_logs_every_account_change(demo_url: str) -> None:
    def run(*args: str, input: str | None = None) -> None:
        result = CliRunner().invoke(main, [*args, "--database-url", demo_url], input=input)
        assert result.exit_code == 0, result.output

    run("staff", "create", "zhu.chi", "--role", "presidium", "--password-stdin",
        input="a long password\n")  # fmt: skip
    run("create-user", "jian.piao", "--role", "display", "--password-stdin",
        input="a long password\n")  # fmt: skip
    run("staff", "set-role", "jian.piao", "scrutineer")
    run("staff", "disable", "jian.piao")
    engine = make_engine(demo_url)
    try:
        with make_session_factory(engine)() as s:
            lines = list(iter_lines(s, only_body_id(s)))
    finally:
        engine.dispose()
    logged = entries(lines, *STAFF_TYPES)
    assert [(e["type"], e["username"], e["role"], e["by"]) for e in logged] == [
        ("staff_created", "zhu.chi", "presidium", None),
        ("staff_created", "jian.piao", "display", None),
        ("staff_role_changed", "jian.piao", "scrutineer", None),
        ("staff_disabled", "jian.piao", "scrutineer", None),
    ]


@pytest.mark.slow
def test_accounts_are_logged_once_on_postgresql_and_the_log_verifies(postgres_url: str) -> None:
    from audit.verify import verify_log
    from crypto import ServerKey

    migrate(postgres_url)
    engine = make_engine(postgres_url)
    log = AuditLog(ServerKey.generate())
    try:
        factory = make_session_factory(engine)
        with write_transaction(factory) as s:
            s.add(StaffUser(username="old.mishu", display_name="老秘书", password_hash="x",
                            role=StaffRole.SECRETARIAT, active=True))  # fmt: skip
            s.add(Body(name="测试", kind=BodyKind.CONGRESS, level=BodyLevel.CITY))  # its log
        with write_transaction(factory) as s:
            old = s.scalar(select(StaffUser.id).where(StaffUser.username == "old.mishu"))
            staff.create_user(s, "new.jp", "新监票", "scrutineer", "a long password", log=log,
                              by=old)  # fmt: skip
            assert staff.log_unlogged_accounts(s, log, only_body_id(s)) == 0
        with factory() as s:
            lines = list(iter_lines(s, only_body_id(s)))
    finally:
        engine.dispose()
    logged = entries(lines, *STAFF_TYPES)
    assert [(e["username"], e["existing"], e["by"]) for e in logged] == [
        ("old.mishu", True, None), ("new.jp", False, old)
    ]  # fmt: skip
    assert verify_log(lines, log.key.public_bytes).ok
