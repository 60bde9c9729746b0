"""Deputies' records in a real browser (issue 18, item 3): the tablet's 我的履职 screen at
800×1280 and the secretariat's /admin/records pages at 1280×800.

The real server serves the demo committee with two sittings: an earlier one, already
ended, for which the secretariat recorded seat 1's leave (请假, 因公出差), and the current
one, where seat 1 signs in at its tablet in Chromium and presses in a named motion
(赞成) and in a secret livelihood ballot. Checked, as the deputy and the office would:

- the waiting screen has a large 我的履职 button; the record shows 出勤率 50.00%, the
  current sitting 出席 with the motion 已按 and 表决意见：…赞成, the ballot 已按 · 无记名
  and none of the projects chosen, the earlier sitting 请假 with its reason; 返回 goes
  back to the waiting screen; a vote opened meanwhile takes the screen;
- the staff list shows the rates and filters by year; the deputy's page lists every
  sitting and vote; axe-core on each. Screenshots: test-artifacts/records/ (copied to
  docs/screens/records-staff.png and tablet-record.png).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rules.kinds import VoteKind
from tests.support.browser import (
    ARTIFACTS,
    Shots,
    chromium,
    csp_violations,
    new_instance,
    preparing,
    running_server,
)
from tests.support.socket_hall import real_staff_channel
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Member, Sitting, SittingStatus, StaffRole
from voting_server.services import attendance, devices, records, staff

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PASSWORD = "records-test-password-2026"
TABLET = 1
PRESIGNED = range(2, 41)  # 代为签到 in both sittings: quorum, and rates worth reading
SIZE = {"width": 800, "height": 1280}
TIMEOUT_MS = 15_000
SHOTS = ARTIFACTS / "records"
PIN = "135790"


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        zhu = staff.create_user(session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log)
        sec = staff.create_user(
            session, "mishu", "秘书处", StaffRole.SECRETARIAT, PASSWORD, log=log
        )
        seats = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        devices.set_pin(session, seats[TABLET].id, PIN)
        out["code"] = devices.issue_enrollment_code(session, body.id, TABLET, None)
        current = attendance.current_sitting(session, body.id)
        assert current is not None
        earlier = Sitting(
            body=body, title="第十九次会议", starts_at=current.starts_at - timedelta(days=61)
        )
        session.add(earlier)
        session.flush()
        records.record_leave(session, log, earlier, seats[TABLET], "因公出差", by=sec.id,
                             by_role="secretariat")  # fmt: skip
        for sitting in (earlier, current):
            attendance.sign_in_many(session, log, sitting, [seats[s] for s in PRESIGNED],
                                    AttendanceMethod.OPERATOR, by=zhu.id)  # fmt: skip
        earlier.status = SittingStatus.CLOSED
        for item in current.agenda_items:
            for vote in item.votes:
                vote.secret = vote.kind == VoteKind.SELECTION  # the ballot secret, the motion named
                out[vote.kind] = vote.id
                if vote.kind == VoteKind.SELECTION:
                    out["projects"] = dict(vote.titles)
        out.update(body=body.id, member=seats[TABLET].id, name=seats[TABLET].name,
                   sitting=current.title)  # fmt: skip
    return out


def _login(page: Any, base: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("#username", "mishu")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(then.split("?")[0])))


def test_the_record_on_the_tablet_and_on_the_staff_pages(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    shots = Shots(SHOTS)
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):

        def page(name: str, viewport: dict[str, int]) -> Any:
            context = browser.new_context(viewport=viewport, timezone_id="Asia/Shanghai")
            new = context.new_page()
            new.set_default_timeout(TIMEOUT_MS)
            new.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
            csp_violations(new, name, errors)
            return new

        kiosk = page("kiosk", SIZE)
        kiosk.goto(f"{base}/kiosk")
        kiosk.fill("#enroll-code", p["code"])
        kiosk.click("#enroll-button")
        expect(kiosk.locator("#screen-signin")).to_be_visible()
        for digit in PIN:
            kiosk.click(f"#keypad button:text-is('{digit}')")
        kiosk.click("#signin-button")
        expect(kiosk.locator("#screen-waiting")).to_be_visible()
        presidium = real_staff_channel(base, "zhuchi", PASSWORD)
        try:
            motion, selection = p[VoteKind.MOTION], p[VoteKind.SELECTION]
            assert presidium.call("open_vote", {"vote": motion})["ok"]
            kiosk.locator("button.mark.yes").click()
            kiosk.click("#vote-next")
            kiosk.click("#confirm-send")
            expect(kiosk.locator("#sent-heading")).to_have_text("已提交")
            assert presidium.call("close_vote", {"vote": motion})["ok"]
            expect(kiosk.locator("#screen-result")).to_be_visible()
            assert presidium.call("open_vote", {"vote": selection})["ok"]
            expect(kiosk.locator("#screen-vote")).to_be_visible()
            chosen = list(p["projects"].values())[:2]
            for title in chosen:
                kiosk.locator("button.candidate", has_text=title).click()
            kiosk.click("#vote-next")
            kiosk.click("#confirm-send")
            expect(kiosk.locator("#sent-heading")).to_have_text("已提交")
            assert presidium.call("close_vote", {"vote": selection})["ok"]
            expect(kiosk.locator("#screen-result")).to_be_visible()
            # back to waiting: the presidium announces nothing more; reload the state
            kiosk.reload()
            expect(kiosk.locator("#screen-waiting")).to_be_visible()

            # --- 我的履职 ---------------------------------------------------------------
            button = kiosk.locator("#record-open")
            expect(button).to_have_text("我的履职")
            box = button.bounding_box()
            assert box is not None and box["height"] >= 70, box  # a large key
            button.click()
            overlay = kiosk.locator("#record-overlay")
            expect(overlay).to_be_visible()
            expect(overlay).to_contain_text(p["name"])
            expect(overlay.locator(".k-tile", has_text="出勤率")).to_contain_text("50.00%")
            current, earlier = overlay.locator(".k-record-sitting").all()
            expect(current).to_contain_text(p["sitting"])
            expect(current.locator(".k-record-status")).to_have_text("出席")
            named = current.locator(".k-record-vote", has_text="已按 · 记名")
            expect(named.locator(".k-record-choice")).to_contain_text("赞成")
            secret = current.locator(".k-record-vote", has_text="无记名")
            expect(secret.locator(".k-record-vote-mark")).to_have_text("已按 · 无记名")
            expect(secret.locator(".k-record-choice")).to_have_count(0)
            for title in chosen:  # nothing of the secret choice anywhere in the record
                expect(overlay).not_to_contain_text(title)
            expect(earlier.locator(".k-record-status")).to_have_text("请假")
            expect(earlier).to_contain_text("因公出差")
            size = kiosk.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('.k-record-status')).fontSize)"
            )
            assert size >= 32, size  # large type for an older deputy
            kiosk.screenshot(path=str(SHOTS / "tablet-record.png"), animations="disabled")
            shots.check(kiosk, "tablet-record")
            kiosk.click("#record-back")
            expect(overlay).to_be_hidden()
            expect(kiosk.locator("#screen-waiting")).to_be_visible()
            # A vote opened while the record is shown takes the screen.
            button.click()
            expect(overlay).to_be_visible()
            evaluation = p[VoteKind.EVALUATION]
            assert presidium.call("open_vote", {"vote": evaluation})["ok"]
            expect(kiosk.locator("#screen-vote")).to_be_visible()
            expect(overlay).to_be_hidden()
            assert presidium.call("cancel_vote", {"vote": evaluation, "reason": "测试"})["ok"]
        finally:
            presidium.close()

        # --- the secretariat's pages ---------------------------------------------------
        office = page("office", {"width": 1280, "height": 800})
        _login(office, base, f"/admin/records/?body={p['body']}")
        expect(office.locator("h1")).to_contain_text("代表履职档案")
        row = office.locator("#deputies tr.deputy", has_text=p["name"])
        expect(row).to_contain_text("50.00%")
        expect(office.locator("#group-rates")).to_contain_text("合计")
        office.screenshot(path=str(SHOTS / "records-staff.png"), animations="disabled")
        shots.check(office, "records-staff")
        office.select_option("#year", index=1)  # the newest year
        office.click("form.records-filter button[type=submit]")
        expect(office).to_have_url(re.compile(r"year=\d{4}"))
        row.locator("a").click()
        expect(office.locator("h1")).to_contain_text(p["name"])
        expect(office.locator("section.sitting").first).to_contain_text("出席")
        votes = office.locator("tr.vote")
        expect(votes.filter(has_text="记名").first).to_contain_text("赞成")
        for title in chosen:
            expect(office.locator("main")).not_to_contain_text(title)
        shots.take(office, "records-member", ((1280, 800),))
        office.goto(f"{base}/admin/records/leave?body={p['body']}")
        expect(office.locator("h1")).to_contain_text("登记请假")
        shots.check(office, "records-leave")
    assert errors == []
    assert shots.violations == [], shots.violations
