"""督办事项 in a real browser (issue 18, item 2): the office records proposals (a form and
a CSV), the presidium shortlists them and turns the shortlist into the ballot with one
button; the result selects a project, which gets its department and progress reports
and is accepted by the year-end evaluation; a complaint ranking proposes a department
whose evaluation is unsatisfactory, which opens its rectification — deadline, report,
回头看 in a later sitting, closed. The votes themselves are held through the services
(the deputies' tablets are another test's); everything else is clicked. Real server
(``voting-server run``), headless Chromium at 1280×800, axe-core on every state;
screenshots go to ``test-artifacts/supervision/``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from audit.verify import verify_log
from crypto import KioskKey, ServerKey, b64encode
from crypto.statements import ballot_bytes, participation_bytes
from tests.support.browser import (
    ARTIFACTS,
    Shots,
    chromium,
    csp_violations,
    new_instance,
    running_server,
)
from tests.support.db import migrate
from voting_server.db import make_engine, make_session_factory
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, StaffRole, TrackedItem
from voting_server.services import agenda, attendance, devices, staff
from voting_server.services.audit_log import AuditLog, iter_lines
from voting_server.services.voter import Voter
from voting_server.services.voting import Voting

PASSWORD = "hall-staff-test-2026"
TIMEOUT_MS = 20_000
DESK = ((1280, 800),)
SEATS = range(1, 41)

pytestmark = pytest.mark.slow


class Hall:
    """The hall behind the pages: the demo committee, 40 tablets, and the votes held
    through the services, as the console and the tablets would hold them."""

    def __init__(self, instance: Path, url: str) -> None:
        migrate(url)
        self.log = AuditLog(ServerKey.load_or_create(instance / "server_ed25519.pem"))
        self.sessions = make_session_factory(make_engine(url))
        self.voting = Voting(instance / "vote-keys")
        self.keys: dict[int, KioskKey] = {}
        self.voters: dict[int, Voter] = {}
        with self.sessions.begin() as s:
            body = load_demo(s)
            self.body = body.id
            self.users = {
                name: staff.create_user(s, name, name, role, PASSWORD, log=self.log).id
                for name, role in (("mishu", StaffRole.SECRETARIAT), ("zhuchi", StaffRole.PRESIDIUM))
            }  # fmt: skip
            for seat in SEATS:
                self.keys[seat] = KioskKey.generate()
                code = devices.issue_enrollment_code(s, body.id, seat, None)
                device = devices.enroll_device(s, self.log, code, self.keys[seat].public.spki_b64)
                self.voters[seat] = Voter(seat=seat, device=device.id, body=body.id)
        self.sign_in()

    def sign_in(self) -> None:
        with self.sessions.begin() as s:
            sitting = attendance.current_sitting(s, self.body)
            assert sitting is not None
            for seat in SEATS:
                member = attendance.member_at_seat(s, self.body, seat)
                assert member is not None
                attendance.sign_in(s, self.log, sitting, member, AttendanceMethod.KIOSK_PIN,
                                   device=self.voters[seat].device)  # fmt: skip

    def hold(self, vote: int, ballot: Callable[[int], Any], seats: range) -> None:
        """Open ``vote``, a ballot from each seat, close and announce it (the presidium)."""
        chair = self.users["zhuchi"]
        with self.sessions.begin() as s:
            self.voting.open_vote(s, self.log, vote, chair, None)
        for seat in seats:
            nonce = secrets.token_urlsafe(16)
            choice = ballot(seat)
            key = self.keys[seat]
            signature = b64encode(key.sign(ballot_bytes(vote, seat, nonce, choice)))
            taking_part = b64encode(key.sign(participation_bytes(vote, seat, nonce)))
            with self.sessions.begin() as s:
                self.voting.cast(s, self.log, self.voters[seat], vote, nonce, choice, signature,
                                 taking_part)  # fmt: skip
        with self.sessions.begin() as s:
            self.voting.close_vote(s, self.log, vote, chair, "presidium")
        with self.sessions.begin() as s:
            self.voting.announce(s, self.log, vote, chair)

    def item_id(self, kind: str) -> int:
        with self.sessions() as s:
            found = s.scalar(select(TrackedItem.id).where(TrackedItem.kind == kind))
            assert found is not None
            return found

    def lines(self) -> list[bytes]:
        with self.sessions() as s:
            return list(iter_lines(s, self.body))


def _login(page: Any, base: str, user: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(then.split("?")[0])))


def _vote_of(page: Any) -> int:
    """The generated vote's id: the button leads to its page."""
    page.wait_for_url(re.compile(r"/admin/sittings/votes/\d+"))
    return int(page.url.split("/votes/")[1].split("?")[0])


def _act(page: Any, action: str, fill: Callable[[Any], None] | None = None) -> None:
    form = page.locator(f"#form-{action}")
    if fill is not None:
        fill(form)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_a_project_and_a_rectification_in_the_browser(tmp_path: Path) -> None:
    instance, url = new_instance(tmp_path)
    hall = Hall(instance, url)
    shots = Shots(ARTIFACTS / "supervision")
    errors: list[str] = []
    report = tmp_path / "进度报告.pdf"
    report.write_bytes(b"%PDF-1.4 progress")
    proposals = tmp_path / "建议.csv"
    proposals.write_text("标题,来源,提出人\n农村公路提档升级,部门,县交通运输局\n", encoding="utf-8")
    complaints = tmp_path / "12345.csv"
    complaints.write_text(
        "部门,投诉量,重复投诉量,满意度\n县住建局,1200,300,78.5%\n县交通运输局,900,310,72%\n"
        "县人社局,900,120,85%\n",
        encoding="utf-8",
    )
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        office = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        chair = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        for name, page in (("office", office), ("chair", chair)):
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            csp_violations(page, name, errors)
        home = f"/admin/supervision/?body={hall.body}"
        _login(office, base, "mishu", home)
        _login(chair, base, "zhuchi", home)

        # 征集: one proposal typed, one imported
        office.select_option("#p-source", "deputy")
        office.fill("#p-title", "新建城南小学")
        office.fill("#p-seat", "3")
        office.click("#propose-form button[type=submit]")
        office.wait_for_selector("#timeline")
        assert "待初审" in office.inner_text("#item-state")
        office.goto(base + home)
        office.set_input_files("#import-proposals input[type=file]", str(proposals))
        office.click("#import-proposals button[type=submit]")
        office.wait_for_selector("#items tbody tr[data-item]")
        assert office.locator("#items tbody tr[data-item]").count() == 2
        shots.take(office, "proposals", DESK)

        # 初审 by the presidium, then the shortlist becomes the ballot with one button
        for n in range(2):
            chair.goto(base + home)
            chair.locator("#items tbody tr[data-item] a").nth(n).click()
            _act(chair, "shortlist")
            assert "初审通过" in chair.inner_text("#item-state")
        chair.goto(base + home)
        shots.take(chair, "shortlist", DESK)
        chair.fill("#selection-form input[name=seats]", "1")
        chair.click("#selection-form button[type=submit]")
        ballot = _vote_of(chair)
        assert chair.locator("input[name=item_title]").evaluate_all(
            "(inputs) => inputs.map((i) => i.value)"
        ) == ["新建城南小学", "农村公路提档升级"]
        school = hall.item_id("project")
        hall.hold(ballot, lambda seat: [f"p{school}"], range(1, 36))

        # selected: its department, mid-year and year-end reports, then 验单
        office.goto(f"{base}/admin/supervision/items/{school}?body={hall.body}")
        assert "票决选中" in office.inner_text("#item-state")
        assert "系统（依表决结果）" in office.inner_text("#timeline")
        _act(office, "assign", lambda f: f.locator("input[name=department]").fill("县教育局"))
        for period in ("mid_year", "year_end"):
            _act(office, "report", lambda f, p=period: (
                f.locator("select[name=period]").select_option(p),
                f.locator("input[name=file]").set_input_files(str(report)),
            ))  # fmt: skip
        shots.take(office, "project-progress", DESK)
        chair.goto(f"{base}/admin/supervision/items/{school}?body={hall.body}")
        _act(chair, "submit_acceptance")
        acceptance = _vote_of(chair)
        hall.hold(acceptance, lambda seat: {f"p{school}": "satisfied"}, range(1, 36))
        chair.goto(f"{base}/admin/supervision/items/{school}?body={hall.body}")
        assert "验单满意" in chair.inner_text("#item-state")
        assert chair.locator("#timeline tr.event").count() == 9
        shots.take(chair, "project-accepted", DESK)

        # 两高一低 → a topic → its evaluation, unsatisfactory → a rectification opens
        office.goto(base + home)
        office.set_input_files("#import-complaints input[type=file]", str(complaints))
        office.click("#import-complaints button[type=submit]")
        office.wait_for_selector("#ranking")
        shots.take(office, "complaint-ranking", DESK)
        for box in office.locator("#ranking input[type=checkbox]").all()[1:]:
            box.uncheck()
        office.click("#topics-form button[type=submit]")
        office.wait_for_selector("#items")
        chair.goto(base + home)
        chair.check("#evaluation-form input[name=item]")
        chair.click("#evaluation-form button[type=submit]")
        evaluation = _vote_of(chair)
        hall.hold(evaluation, lambda seat: {"县交通运输局": "unsatisfied"}, range(1, 32))
        rect = hall.item_id("rectification")
        page = f"{base}/admin/supervision/items/{rect}?body={hall.body}"
        chair.goto(page)
        assert "待定整改期限" in chair.inner_text("#item-state")
        _act(chair, "set_deadline", lambda f: (
            f.locator("input[name=deadline]").fill("2026-09-30"),
            f.locator("textarea[name=issues]").fill("农村公路养护资金不到位"),
        ))  # fmt: skip
        office.goto(page)
        assert office.locator("#form-set_deadline").count() == 0  # the presidium's step
        _act(office, "report", lambda f: f.locator("input[name=file]").set_input_files(str(report)))
        assert "已报送整改报告" in office.inner_text("#item-state")

        # 回头看 in a later sitting, with the same subject
        with hall.sessions.begin() as s:
            agenda.close_sitting(s, 1, "presidium")
            agenda.create_sitting(
                s,
                hall.body,
                agenda.SittingForm("第二十一次会议", datetime(2026, 10, 20, 1, tzinfo=UTC)),
            )
        hall.sign_in()
        chair.goto(page)
        _act(chair, "schedule_reevaluation")
        again = _vote_of(chair)
        hall.hold(again, lambda seat: {"县交通运输局": "satisfied"}, range(1, 36))
        chair.goto(page)
        assert "整改完成" in chair.inner_text("#item-state")
        shots.take(chair, "rectification-closed", DESK)
        chair.goto(f"{base}/admin/supervision/subjects?body={hall.body}&subject=县交通运输局")
        outcomes = chair.locator("#evaluations td.outcome").all_inner_texts()
        assert outcomes == ["不满意", "满意"]
        shots.take(chair, "subject-history", DESK)
    report_ = verify_log(hall.lines(), hall.log.key.public_bytes)
    assert report_.ok, report_.errors
    changes = [json.loads(line) for line in hall.lines()]
    assert sum(1 for e in changes if e["type"] == "item_changed") >= 20
    assert errors == []
    assert shots.violations == [], shots.violations
