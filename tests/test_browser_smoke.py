"""A whole vote in a real browser: kiosk, presidium console and hall display.

The real server (``voting-server run``: gunicorn, gevent, the same code as in
the hall) serves the demo committee on a free local port; headless Chromium
drives three separate browser contexts — a deputy's tablet, the presidium's
console and the hall display — through enrollment (a WebCrypto key),
challenge, PIN sign-in, an operator sign-in, opening the motion, a 赞成
press with its receipt, closing, and the result on every screen.

Needs Chromium (Debian package ``chromium``) and Playwright (the dev extras);
without them the test skips, with REQUIRE_SERVICES=1 it fails. Playwright's
own browser download is never used. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.browser import (
    ARTIFACTS,
    chromium,
    csp_violations,
    new_instance,
    preparing,
    running_server,
)
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Member, StaffRole
from voting_server.services import attendance, devices, staff

PASSWORD = "hall-smoke-test-2026"
PIN = "246810"
KIOSK_SEAT = 1
OPERATOR_SEAT = 2
# Seats 3..31 are signed in before the server starts: with seats 1 and 2 that
# makes 31 of 61 present, exactly the quorum (过半数), so the motion may open.
PRESIGNED = range(3, 32)
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Hall:
    base: str
    code: str
    banner: str  # what ``voting-server run`` printed before gunicorn took over


def _prepare(instance: Path, url: str) -> str:
    """The demo, two staff accounts, a PIN and an enrollment code for seat 1,
    and 29 members already present. Returns the enrollment code."""
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        presidium = staff.create_user(
            session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log
        )
        staff.create_user(session, "dapin", "会场大屏", StaffRole.DISPLAY, PASSWORD, log=log)
        seats = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        devices.set_pin(session, seats[KIOSK_SEAT].id, PIN)
        code = devices.issue_enrollment_code(session, body.id, KIOSK_SEAT, presidium.id)
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        for seat in PRESIGNED:
            attendance.sign_in(
                session, log, sitting, seats[seat], AttendanceMethod.OPERATOR, by=presidium.id
            )
    return code


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    code = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, banner):
        yield Hall(base=base, code=code, banner=banner)


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Screens:
    """Pages of one test, each in its own browser context (own cookies and storage),
    with their console errors collected and screenshots numbered in order."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser = browser
        self.base = base
        self.errors: list[str] = []
        self.shot = 0
        ARTIFACTS.mkdir(exist_ok=True)

    def open(self, name: str, width: int, height: int) -> Any:
        page = self.browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.errors.append(f"{name}: {exc}"))
        csp_violations(page, name, self.errors)
        return page

    def login(self, page: Any, username: str, target: str) -> None:
        page.goto(f"{self.base}{target}")  # not logged in: the login page, back here after
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.base}{target}")

    def screenshot(self, page: Any, name: str) -> None:
        self.shot += 1
        page.screenshot(path=str(ARTIFACTS / f"smoke-{self.shot:02d}-{name}.png"), full_page=True)


def test_a_motion_from_kiosk_to_hall_display(
    browser: Any, hall: Hall, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    for label, path in (
        ("主席团控制台", "/console"),
        ("会场大屏", "/display"),
        ("代表终端", "/kiosk"),
    ):
        assert label in hall.banner and path in hall.banner, hall.banner

    screens = Screens(browser, hall.base)

    # The deputy's tablet: enroll with the seat's code, then sign in with the PIN.
    kiosk = screens.open("kiosk", 1024, 1366)
    kiosk.goto(f"{hall.base}/kiosk")
    expect(kiosk.locator("#screen-enroll")).to_be_visible()
    kiosk.fill("#enroll-code", hall.code.lower())  # as an operator might type it
    kiosk.click("#enroll-button")
    expect(kiosk.locator("#screen-signin")).to_be_visible()
    expect(kiosk.locator("#conn")).to_have_text("已连接")
    expect(kiosk.locator("#who")).to_contain_text(f"第 {KIOSK_SEAT} 座")
    screens.screenshot(kiosk, "kiosk-signin")
    for digit in PIN:
        kiosk.click(f"#keypad button:text-is('{digit}')")
    kiosk.click("#signin-button")
    expect(kiosk.locator("#screen-waiting")).to_be_visible()

    # The presidium's console: sign in seat 2 by hand, which makes the quorum.
    console = screens.open("console", 1400, 1000)
    screens.login(console, "zhuchi", "/console")
    expect(console.locator("#conn")).to_have_text("已连接")
    expect(console.locator("#present")).to_have_text("30")
    expect(console.locator("#quorum")).to_contain_text("未达到法定人数")
    console.fill("#operator-seat", str(OPERATOR_SEAT))
    console.click("#operator-form button[type=submit]")
    console.click("#confirm-yes")
    expect(console.locator("#present")).to_have_text("31")
    expect(console.locator("#quorum")).to_contain_text("已达到法定人数")
    screens.screenshot(console, "console-quorate")

    # The hall display, logged in as the display account.
    display = screens.open("display", 1920, 1080)
    screens.login(display, "dapin", "/display")
    expect(display.locator("#idle-present")).to_have_text("31")

    # Open the motion (the first agenda item's vote), with a two-minute countdown.
    motion = console.locator("#agenda > table > tbody > tr[data-vote]").first
    motion.locator("button", has_text="开始表决").click()
    console.fill("#confirm-seconds", "120")
    console.click("#confirm-yes")
    expect(console.locator("#live")).to_be_visible()
    expect(display.locator("#stage-open")).to_be_visible()
    expect(display.locator("#open-not-voted")).to_have_text("31")

    # 赞成 on the tablet, confirmed, acknowledged with a receipt.
    expect(kiosk.locator("#screen-vote")).to_be_visible()
    expect(kiosk.locator("#vote-countdown")).to_contain_text("剩余时间")
    screens.screenshot(kiosk, "kiosk-vote")
    kiosk.click("button.mark.yes")
    kiosk.click("#vote-next")
    expect(kiosk.locator("#confirm-summary")).to_contain_text("赞成")
    kiosk.click("#confirm-send")
    expect(kiosk.locator("#sent-receipt")).to_contain_text("回执：第")
    screens.screenshot(kiosk, "kiosk-receipt")
    expect(display.locator("#open-voted")).to_have_text("1")
    expect(display.locator("#open-not-voted")).to_have_text("30")
    expect(console.locator("#live-voted")).to_have_text("1")
    screens.screenshot(display, "display-open")

    # Close: the result on the display, the tablet and the console.
    motion.locator("button", has_text="结束表决").click()
    console.click("#confirm-yes")
    result = display.locator("#stage-result")
    expect(result).to_be_visible()
    for text in ("应到", "61", "实到", "31", "赞成", "反对", "弃权", "未按", "未通过"):
        expect(result).to_contain_text(text)
    screens.screenshot(display, "display-result")
    expect(kiosk.locator("#result-heading")).to_have_text("表决结果")
    expect(kiosk.locator("#result-body")).to_contain_text("未通过")
    screens.screenshot(kiosk, "kiosk-result")
    expect(console.locator("#agenda")).to_contain_text("已结束")
    screens.screenshot(console, "console-result")

    assert screens.errors == []
