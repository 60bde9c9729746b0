"""The staff pages in a real browser (issue 17, item 4): the secretariat prints enrollment
codes for chosen seats as one sheet and edits a ballot's candidates as rows (moved with
the buttons, imported from a CSV); a scrutineer checks a receipt with what the tablet
showed and reads the audit page in Chinese. Real server (``voting-server run``),
headless Chromium at 1280×800, axe-core on every page; screenshots go to
``test-artifacts/staff/``. Skips without Chromium (fails under REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto import KioskKey, ServerKey, b64encode
from crypto.statements import ballot_bytes, participation_bytes
from rules.kinds import VoteKind
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
from voting_server.models import AttendanceMethod, StaffRole, StaffUser, Vote
from voting_server.services import attendance, devices, results, staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.voter import Voter
from voting_server.services.voting import Voting

PASSWORD = "hall-staff-test-2026"
TIMEOUT_MS = 20_000
DESK = ((1280, 800),)  # the office's laptop
VOTED = range(1, 41)

pytestmark = pytest.mark.slow


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    """The demo, three staff accounts, seats 1–40 signed in on their tablets and the
    named motion voted and closed; returns seat 5's receipt and the votes' ids."""
    migrate(url)
    log = AuditLog(ServerKey.load_or_create(instance / "server_ed25519.pem"))
    sessions = make_session_factory(make_engine(url))
    voting = Voting(instance / "vote-keys")
    with sessions.begin() as s:
        body = load_demo(s)
        users = {
            name: staff.create_user(s, name, name, role, PASSWORD, log=log).id
            for name, role in (("mishu", StaffRole.SECRETARIAT),
                               ("jianpiao", StaffRole.SCRUTINEER), ("zhuchi", StaffRole.PRESIDIUM))
        }  # fmt: skip
        sitting = attendance.current_sitting(s, body.id)
        assert sitting is not None
        keys, voters = {}, {}
        for seat in VOTED:
            keys[seat] = KioskKey.generate()
            code = devices.issue_enrollment_code(s, body.id, seat, None)
            device = devices.enroll_device(s, log, code, keys[seat].public.spki_b64)
            voters[seat] = Voter(seat=seat, device=device.id, body=body.id)
            member = attendance.member_at_seat(s, body.id, seat)
            assert member is not None
            attendance.sign_in(s, log, sitting, member, AttendanceMethod.KIOSK_PIN,
                               device=device.id)  # fmt: skip
        votes = {v.kind: v.id for item in sitting.agenda_items for v in item.votes}
        sitting_id = sitting.id
        motion = s.get(Vote, votes[VoteKind.MOTION])
        assert motion is not None
        motion.secret = False  # a named vote: the checker names the choice
    with sessions.begin() as s:
        voting.open_vote(s, log, votes[VoteKind.MOTION], 1, None)
    receipt = None
    for seat in VOTED:
        ballot = {"regulation": "no" if seat == 5 else "yes"}
        nonce = secrets.token_urlsafe(16)
        vote = votes[VoteKind.MOTION]
        signature = b64encode(keys[seat].sign(ballot_bytes(vote, seat, nonce, ballot)))
        taking_part = b64encode(keys[seat].sign(participation_bytes(vote, seat, nonce)))
        with sessions.begin() as s:
            got, _ = voting.cast(s, log, voters[seat], vote, nonce, ballot, signature,
                                 taking_part)  # fmt: skip
        if seat == 5:
            receipt = got.to_json()
    with sessions.begin() as s:
        voting.close_vote(s, log, votes[VoteKind.MOTION], users["zhuchi"], "presidium")
    with sessions.begin() as s:  # 宣布 and the chair's countersignature: the audit summary
        voting.announce(s, log, votes[VoteKind.MOTION], users["zhuchi"])
        chair = s.get(StaffUser, users["zhuchi"])
        assert chair is not None
        results.countersign(s, log, votes[VoteKind.MOTION], chair, "result")
        selection = s.scalar(select(Vote.id).where(Vote.kind == VoteKind.SELECTION))
    assert receipt is not None
    return {"receipt": receipt, "motion": votes[VoteKind.MOTION], "selection": selection,
            "sitting": sitting_id}  # fmt: skip


def _login(page: Any, base: str, user: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(then.split("?")[0])))


def test_the_staff_pages_in_the_browser(tmp_path: Path) -> None:
    instance, url = new_instance(tmp_path)
    ready = _prepare(instance, url)
    receipt = ready["receipt"]
    shots = Shots(ARTIFACTS / "staff")
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        office = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        auditor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        for name, page in (("office", office), ("auditor", auditor)):
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            csp_violations(page, name, errors)
            page.on("dialog", lambda dialog: dialog.accept())  # data-confirm: 确定
        # Codes for the seats ticked and typed, one sheet, a card per seat.
        _login(office, base, "mishu", "/admin/devices")
        shots.take(office, "devices", DESK)
        for seat in (41, 42):
            office.check(f"input[name=seats][value='{seat}']")
        office.fill("#seat_list", "43-46")
        office.click("button[name=which][value=selected]")
        office.wait_for_selector("section.page .card")
        seats = office.locator(".card .seat").all_inner_texts()
        assert seats == [f"第 {n} 座" for n in range(41, 47)], seats
        assert office.locator(".card svg.qr").count() == 6
        assert office.locator(".card .code").first.inner_text().count("-") == 1
        shots.take(office, "codes-sheet", DESK)
        office.emulate_media(media="print")
        office.screenshot(path=str(shots.folder / "codes-sheet-print.png"), full_page=True)
        office.emulate_media(media="screen")

        # A ballot's candidates as rows: moved with the buttons, then imported from a file.
        office.goto(f"{base}/admin/sittings/votes/{ready['selection']}")
        titles = office.locator("input[name=item_title]")
        first, second = titles.nth(0).input_value(), titles.nth(1).input_value()
        count = titles.count()
        assert office.is_hidden("#rows-unsaved")
        office.click("button[name=row_op][value='down:0']")  # in the page: no round trip
        titles = office.locator("input[name=item_title]")
        assert [titles.nth(0).input_value(), titles.nth(1).input_value()] == [second, first]
        assert office.is_visible("#rows-unsaved")
        assert office.get_attribute("#item-rows tbody tr:first-child button[value^='up:']",
                                    "disabled") is not None  # fmt: skip
        office.click("button[name=row_op][value=add]")
        assert titles.count() == count + 1 and titles.nth(count).input_value() == ""
        assert office.locator("#item-rows tbody tr").last.locator("td").first.inner_text() == str(
            count + 1
        )
        office.click(f"button[name=row_op][value='remove:{count}']")
        assert titles.count() == count
        shots.take(office, "candidates-rows", DESK)
        office.get_by_role("button", name="保存表决事项").click()  # saved: the new order
        office.wait_for_url(re.compile(r"saved=1"))
        titles = office.locator("input[name=item_title]")
        assert [titles.nth(0).input_value(), titles.nth(1).input_value()] == [second, first]
        upload = tmp_path / "候选项目.csv"
        upload.write_text("编号,名称\np1,新建中小学12所\np2,老旧小区改造\np3,公交线路优化\n",
                          encoding="utf-8")  # fmt: skip
        office.set_input_files("#items_file", str(upload))
        office.click("button[name=row_op][value=import]")
        office.wait_for_load_state()
        imported = office.locator("input[name=item_title]").evaluate_all(
            "(inputs) => inputs.map((i) => i.value)"
        )
        assert imported == ["新建中小学12所", "老旧小区改造", "公交线路优化"]
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(b"PK\x03\x04 not a workbook")
        office.set_input_files("#items_file", str(bad))
        office.click("button[name=row_op][value=import]")
        office.wait_for_selector("#items-error")
        assert "不是有效的XLSX文件" in office.inner_text("#items-error")
        shots.take(office, "candidates-import-refused", DESK)

        # A standing committee's vote form says 全体组成人员, never 全体代表 (术语表).
        office.goto(f"{base}/admin/sittings/votes/{ready['selection']}")
        form_text = office.inner_text("main")
        assert "全体组成人员" in form_text and "全体代表" not in form_text

        # One seat's PIN, reset alone: a slip for that seat, the reset logged without it.
        office.goto(f"{base}/admin/pins/5")
        office.get_by_role("button", name="确认重设并打印密码条").click()
        office.wait_for_selector(".slip .pin")
        assert office.locator(".slip").count() == 1
        assert office.inner_text(".slip .seat").startswith("第 5 座")
        pin = office.inner_text(".slip .pin").strip()
        assert pin.isdigit() and len(pin) == 6
        shots.take(office, "pin-reset-one-seat", DESK)

        # The receipt checker takes what the tablet showed.
        _login(auditor, base, "jianpiao", "/results/receipt")
        auditor.fill("#record", f"第 {receipt['entry']} 号记录")
        auditor.fill("#code", receipt["entry_hash"][:12])
        auditor.click("form.receipt-form button[type=submit]")
        auditor.wait_for_selector("#receipt-answer")
        answer = auditor.inner_text("#receipt-answer")
        assert "一致：第" in answer and "反对" in answer, answer
        shots.take(auditor, "receipt-found", DESK)
        auditor.fill("#code", "000000000000")
        auditor.click("form.receipt-form button[type=submit]")
        auditor.wait_for_selector("#receipt-answer.missing")
        shots.take(auditor, "receipt-wrong-code", DESK)
        auditor.fill("#record", "abc")
        auditor.click("form.receipt-form button[type=submit]")
        auditor.wait_for_selector("#record-error")
        assert "Expecting" not in auditor.inner_text("main")

        # The audit page: Chinese entry names, fields, a summary per vote.
        auditor.goto(f"{base}/audit/")
        assert auditor.locator(".entry-type").first.inner_text() == "日志开始"
        summary = auditor.inner_text(f"#vote-{ready['motion']}")
        assert "赞成 39，反对 1，弃权 0 — 通过" in summary, summary
        assert "宣布" in summary and "表决结果：主持人" in summary, summary
        shots.take(auditor, "audit", DESK)
        auditor.goto(f"{base}/audit/?type=pins_reset")
        reset_entry = auditor.inner_text("main")
        assert "5" in reset_entry and pin not in reset_entry  # the seat, never the PIN
        auditor.goto(f"{base}/audit/?type=ballot")
        assert auditor.locator(".entry-type").first.inner_text() == "记名选票"
        shots.take(auditor, "audit-ballots", DESK)

        # The sitting is held since its first sign-in; the office ends it (闭会).
        office.goto(f"{base}/admin/sittings/{ready['sitting']}")
        assert "举行中" in office.inner_text("#sitting-status")
        shots.take(office, "sitting-held", DESK)
        office.check("input[name=confirm]")
        office.get_by_role("button", name="结束会议（闭会）").click()
        office.wait_for_url(re.compile(r"closed=1"))
        assert "已结束" in office.inner_text("#sitting-status")
        assert office.get_by_role("button", name="结束会议（闭会）").count() == 0

    assert errors == []
    assert shots.violations == [], "\n".join(shots.violations)
