"""The tablet's browser page and the console with a replacement tablet (更换表决器).

A seat whose tablet is enrolled gets a second tablet (a code from the secretariat):
the new tablet's page says 等待主持人确认 and keeps knocking; the presidium's console
lists the request and confirms it; the page connects by itself and, the deputy
having been marked present by staff (代为签到), asks for the deputy's own PIN with a
note saying why. The console then warns of the replacement. Real server
(``voting-server run``), headless Chromium; skips without them (fails under
REQUIRE_SERVICES=1). Screenshots go to ``test-artifacts/seats/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crypto import KioskKey
from tests.support.browser import ARTIFACTS, chromium, new_instance, preparing, running_server
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Member, StaffRole
from voting_server.services import attendance, devices, staff

PASSWORD = "hall-seats-test-2026"
SEAT = 11
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.slow


def _prepare(instance: Path, url: str) -> str:
    """The demo with seat 11's tablet enrolled and its deputy marked present by staff;
    returns a fresh code for the seat (a second tablet)."""
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        presidium = staff.create_user(
            session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log
        )
        first = devices.issue_enrollment_code(session, body.id, SEAT, None)
        devices.enroll_device(session, log, first, KioskKey.generate().public.spki_b64)
        sitting = attendance.current_sitting(session, body.id)
        member = session.scalar(select(Member).where(Member.body_id == body.id,
                                                     Member.seat == SEAT))  # fmt: skip
        assert sitting is not None and member is not None
        attendance.sign_in(session, log, sitting, member, AttendanceMethod.OPERATOR,
                           by=presidium.id)  # fmt: skip
        return devices.issue_enrollment_code(session, body.id, SEAT, presidium.id)


def test_a_replacement_tablet_waits_then_asks_for_the_pin(tmp_path: Path) -> None:
    instance, url = new_instance(tmp_path)
    code = _prepare(instance, url)
    shots = ARTIFACTS / "seats"
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        tablet = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        for page in (tablet, console):
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        tablet.goto(f"{base}/kiosk")
        tablet.fill("#enroll-code", code)
        tablet.click("#enroll-button")
        tablet.wait_for_selector("#screen-waiting:not([hidden])")
        assert tablet.inner_text("#waiting-heading") == "等待主持人确认"
        tablet.screenshot(path=str(shots / "kiosk-pending.png"))

        console.goto(f"{base}/console")  # the login page, back to the console after
        console.fill("#username", "zhuchi")
        console.fill("#password", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_selector("#device-requests li[data-device]")
        assert f"第 {SEAT} 座" in console.inner_text("#device-requests")
        console.click("#device-requests li button.primary")  # 确认更换
        console.click("#confirm-yes")
        console.wait_for_selector("#devices-replaced:not([hidden])")
        warning = console.inner_text("#devices-replaced")
        assert "本次会议中更换过表决器" in warning and f"第 {SEAT} 座" in warning
        assert console.is_hidden("#device-requests")
        console.screenshot(path=str(shots / "console-replaced.png"), full_page=True)

        # The tablet connects by itself; the deputy is present (代为签到), but this
        # tablet votes only after the deputy's own PIN.
        tablet.wait_for_selector("#screen-signin:not([hidden])")
        assert tablet.is_visible("#signin-proxy")
        tablet.screenshot(path=str(shots / "kiosk-pin-after-proxy.png"))
    assert errors == []
