"""The county congress and its standing committee voting at once, in real browsers
(issue 16, Done-when).

One real server (``voting-server run``: gunicorn, gevent) holds two bodies of the demo
county (voting_server/demo/county.py): 示例县人民代表大会 — 250 deputies in 12
delegations, a presidium, 8 列席 — and its standing committee (35 members). Two
Chromium processes drive them side by side:

- browser A, the congress: the presidium's console (``/console?body=``), the hall
  display, the tablets of a 城关镇 deputy and a 河西镇 deputy, and a 列席 attendee's
  tablet. Two more deputies, one of each delegation, press through the Python kiosk
  client (kiosk_client/); 132 others were signed in by staff (代为签到) before the
  server started, so that the hall is quorate. The console opens the named motion on
  the government work report, the deputies press, the console closes it.
- browser B, the committee: its console, its display and a member's tablet (a second
  member presses through the Python client); its evaluation is opened and closed while
  the congress's motion is open.

Every page is its own browser context, as every tablet and screen of the hall is its
own device (own cookies, own IndexedDB and device key). What is asserted: the 列席
tablet shows 列席 and no vote keys; each display and console shows its own body's vote
and result, and none of the Socket.IO frames a congress screen received names the
committee's vote (and the other way round); the congress console's 分团表决情况 table
holds both delegations' counts as pressed. The congress console after the close and
the congress display are screenshotted at 1920×1080 into the test's tmp dir, and
copied to ``test-artifacts/congress/`` for people to look at.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto import KioskKey
from kiosk_client.client import KioskClient
from rules.congress import MemberRole
from tests.support.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    chromium,
    csp_violations,
    new_instance,
    preparing,
    running_server,
)
from voting_server.db import make_engine, make_session_factory
from voting_server.demo.county import (
    BODIES,
    COMMITTEE_SITTING,
    CONGRESS_SITTING,
    COUNTY_COMMITTEE,
    COUNTY_CONGRESS,
    COUNTY_DEPARTMENTS,
    load_body,
)
from voting_server.models import AttendanceMethod, Member, StaffRole, Vote
from voting_server.services import attendance, devices, staff

PASSWORD = "county-browser-test-2026"
TIMEOUT_MS = 20_000
WAIT_S = 20.0
SHOTS = ARTIFACTS / "congress"

CHENGGUAN, HEXI = "城关镇代表团", "河西镇代表团"  # seats 1..30 and 31..56 of the demo roster
# The congress: seat → (delegation, mark). Browser tablets and Python kiosks.
CONGRESS_BROWSER = {2: (CHENGGUAN, "赞成"), 31: (HEXI, "赞成")}
CONGRESS_PYTHON = {3: (CHENGGUAN, "abstain"), 32: (HEXI, "no")}
ATTENDEE_SEAT = 251  # the first 列席
# Deputies signed in by staff before the server starts: 1..140 but the tablets above,
# which sign in with their PINs — 140 present of 250, quorate (过半数: 126).
CONGRESS_PRESENT = 140
# The committee: one member's tablet in the browser, one Python kiosk; 22 present of 35.
COMMITTEE_BROWSER = {1: ["满意", "基本满意", "不满意"]}
COMMITTEE_PYTHON = {2: {"education": "satisfied", "health": "satisfied", "housing": "basic"}}
COMMITTEE_PRESENT = 22
REPORT_MOTION = "关于县人民政府工作报告的决议"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class County:
    base: str
    url: str
    congress: int  # body ids
    committee: int
    motion: int  # the congress's named motion
    evaluation: int  # the committee's evaluation
    motion_title: str
    evaluation_title: str
    codes: dict[tuple[int, int], str]  # (body, seat) → enrollment code of a browser tablet
    pins: dict[tuple[int, int], str]
    python_devices: dict[tuple[int, int], tuple[KioskKey, str]]  # (body, seat) → key, device


def _pin(body: int, seat: int) -> str:
    return f"{(body * 7919 + seat * 104729) % 900000 + 100000}"


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    """The county's congress and committee, staff with known passwords, PINs and codes
    of the driven seats, Python kiosks enrolled, the other deputies signed in by staff."""
    wanted = {d.name: d for d in BODIES if d.name in (COUNTY_CONGRESS, COUNTY_COMMITTEE)}
    out: dict[str, Any] = {"codes": {}, "pins": {}, "python": {}}
    with preparing(instance, url) as (session, log):
        congress = load_body(session, wanted[COUNTY_CONGRESS])
        committee = load_body(session, wanted[COUNTY_COMMITTEE])
        for body, prefix in ((congress, "xian"), (committee, "xian.cw")):
            staff.create_user(session, f"{prefix}.zhuchi", "主持人", StaffRole.PRESIDIUM,
                              PASSWORD, log=log, bodies=[body.id])  # fmt: skip
            staff.create_user(session, f"{prefix}.daping", "大屏", StaffRole.DISPLAY,
                              PASSWORD, log=log, bodies=[body.id])  # fmt: skip
        plan = (
            (congress, CONGRESS_SITTING, [*CONGRESS_BROWSER, ATTENDEE_SEAT], list(CONGRESS_PYTHON),
             range(1, CONGRESS_PRESENT + 1)),
            (committee, COMMITTEE_SITTING, list(COMMITTEE_BROWSER), list(COMMITTEE_PYTHON),
             range(1, COMMITTEE_PRESENT + 1)),
        )  # fmt: skip
        for body, title, browser_seats, python_seats, present in plan:
            members = {
                m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
            }
            for seat in [*browser_seats, *python_seats]:
                pin = out["pins"][(body.id, seat)] = _pin(body.id, seat)
                devices.set_pin(session, members[seat].id, pin)
                code = devices.issue_enrollment_code(session, body.id, seat, None)
                if seat in browser_seats:
                    out["codes"][(body.id, seat)] = code
                else:
                    key = KioskKey.generate()
                    device = devices.enroll_device(session, log, code, key.public.spki_b64)
                    out["python"][(body.id, seat)] = (key, device.id)
            sitting = attendance.current_sitting(session, body.id)
            assert sitting is not None and sitting.title == title
            driven = {*browser_seats, *python_seats}
            by_staff = [members[s] for s in present if s not in driven]
            attendance.sign_in_many(session, log, sitting, by_staff, AttendanceMethod.OPERATOR)
        congress_members = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == congress.id))
        }
        assert congress_members[ATTENDEE_SEAT].role is MemberRole.ATTENDEE
        for seat, (delegation, _) in {**CONGRESS_BROWSER, **CONGRESS_PYTHON}.items():
            assert congress_members[seat].group_name == delegation

        def vote_titled(body_id: int, prefix: str) -> Vote:
            sitting = attendance.current_sitting(session, body_id)
            assert sitting is not None
            return next(
                v for i in sitting.agenda_items for v in i.votes if v.title.startswith(prefix)
            )

        motion = vote_titled(congress.id, REPORT_MOTION)
        motion.secret = False  # 记名表决: its result is broken down by delegation
        evaluation = vote_titled(committee.id, "对县教育局")
        out.update(
            congress=congress.id, committee=committee.id, motion=motion.id,
            evaluation=evaluation.id, motion_title=motion.title,
            evaluation_title=evaluation.title,
        )  # fmt: skip
    return out


@pytest.fixture
def county(tmp_path: Path) -> Iterator[County]:
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield County(
            base=base, url=url, congress=p["congress"], committee=p["committee"],
            motion=p["motion"], evaluation=p["evaluation"], motion_title=p["motion_title"],
            evaluation_title=p["evaluation_title"], codes=p["codes"], pins=p["pins"],
            python_devices=p["python"],
        )  # fmt: skip


@dataclass
class Screens:
    """The pages of one browser (one body's hall); each page its own context."""

    browser: Any
    county: County
    errors: list[str] = field(default_factory=list)
    # page name → every Socket.IO frame it received, decoded (for the cross-talk check)
    frames: dict[str, list[str]] = field(default_factory=dict)

    def page(self, name: str, width: int = 1280, height: int = 800) -> Any:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.errors.append(f"{name}: {exc}"))
        csp_violations(page, name, self.errors)
        received = self.frames.setdefault(name, [])
        page.on(
            "websocket", lambda ws: ws.on("framereceived", lambda f: received.append(_decoded(f)))
        )
        return page

    def staff(self, name: str, username: str, target: str, width: int = 1280,
              height: int = 800) -> Any:  # fmt: skip
        page = self.page(name, width, height)
        page.goto(self.county.base + target)  # not logged in: the login page, back here after
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(self.county.base + target)
        return page

    def kiosk(self, body: int, seat: int) -> Any:
        """A tablet enrolled for ``seat`` of ``body`` and signed in with its PIN."""
        from playwright.sync_api import expect

        page = self.page(f"kiosk-{body}-{seat}")
        page.goto(self.county.base + "/kiosk")
        page.fill("#enroll-code", self.county.codes[(body, seat)])
        page.click("#enroll-button")
        expect(page.locator("#screen-signin")).to_be_visible()
        expect(page.locator("#who")).to_contain_text(f"第 {seat} 座")
        page.fill("#pin", self.county.pins[(body, seat)])
        page.click("#signin-button")
        expect(page.locator("#screen-waiting")).to_be_visible()
        return page


def _decoded(frame: str | bytes) -> str:
    """A Socket.IO frame as readable text: the JSON after the packet type and ack id,
    dumped again without escapes, so that a Chinese title is found whichever way the
    server encoded it."""
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    match = re.match(r"^\d+(?:/[^,]*,)?\d*", text)
    body = text[match.end() :] if match else text
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return text


def python_kiosk(county: County, body: int, seat: int) -> KioskClient:
    """A tablet of the Python kiosk client, connected and signed in with its PIN."""
    key, device = county.python_devices[(body, seat)]
    client = KioskClient(county.base, key, device)
    client.connect(WAIT_S)
    client.sign_in(county.pins[(body, seat)], WAIT_S)
    return client


def press(kiosk: Any, marks: list[str]) -> None:
    """One mark per subject, in order; confirm and send; the receipt comes back."""
    from playwright.sync_api import expect

    expect(kiosk.locator("#screen-vote")).to_be_visible()
    subjects = kiosk.locator("#vote-body .subject")
    expect(subjects).to_have_count(len(marks))
    for i, mark in enumerate(marks):
        subjects.nth(i).locator("button.mark", has_text=re.compile(f"^✔? ?{mark}$")).click()
        expect(subjects.nth(i).locator("button.mark.chosen")).to_have_text(mark)
    kiosk.click("#vote-next")
    expect(kiosk.locator("#screen-confirm")).to_be_visible()
    kiosk.click("#confirm-send")
    expect(kiosk.locator("#sent-receipt")).to_contain_text("回执：第")


def open_vote(console: Any, vote: int) -> None:
    from playwright.sync_api import expect

    row = console.locator(f"tr[data-vote='{vote}']")
    row.get_by_role("button", name="开始表决").click()
    console.click("#confirm-yes")
    expect(console.locator("#live")).to_be_visible()
    expect(row).to_contain_text("表决中")


def close_vote(console: Any, vote: int) -> None:
    from playwright.sync_api import expect

    row = console.locator(f"tr[data-vote='{vote}']")
    row.get_by_role("button", name="结束表决").click()
    expect(console.locator("#confirm-text")).to_contain_text("结束表决")
    console.click("#confirm-yes")
    expect(row).to_contain_text("已结束")


def figure(scope: Any, label: str) -> Any:
    """The number under a label (应到, 实到, 已按, 未按) in a row of figures."""
    return scope.locator(
        ".figure", has=scope.page.locator(f".figure-label:text-is('{label}')")
    ).locator(".figure-value")


def stored_result(county: County, vote_id: int) -> dict[str, Any]:
    with make_session_factory(make_engine(county.url))() as session:
        vote = session.get(Vote, vote_id)
        assert vote is not None and vote.result is not None
        return dict(vote.result)


def test_the_congress_and_its_standing_committee_vote_at_once_in_two_browsers(
    county: County, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    c, cw = county.congress, county.committee
    python_tablets: list[KioskClient] = []
    with chromium() as browser_a:
        browser_b = browser_a.browser_type.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            a, b = Screens(browser_a, county), Screens(browser_b, county)

            # --- browser A: the congress's console and display; the tablets; the 列席 ------
            console_a = a.staff("console-a", "xian.zhuchi", f"/console?body={c}")
            expect(console_a.locator("#conn")).to_have_text("已连接")
            expect(console_a.locator("#sitting-title")).to_contain_text(CONGRESS_SITTING)
            display_a = a.staff("display-a", "xian.daping", "/display", 1920, 1080)
            expect(display_a.locator("#sitting")).to_contain_text(CONGRESS_SITTING)
            congress_tablets = {seat: a.kiosk(c, seat) for seat in CONGRESS_BROWSER}
            attendee = a.kiosk(c, ATTENDEE_SEAT)
            expect(attendee.locator("#waiting-heading")).to_have_text("列席")
            congress_python = {seat: python_kiosk(county, c, seat) for seat in CONGRESS_PYTHON}
            python_tablets.extend(congress_python.values())
            expect(console_a.locator("#present")).to_have_text(str(CONGRESS_PRESENT))
            expect(console_a.locator("#members")).to_have_text("250")  # deputies only
            expect(console_a.locator("#quorum")).to_contain_text("已达到法定人数")

            # --- browser B: the committee's console, display and a tablet --------------------
            console_b = b.staff("console-b", "xian.cw.zhuchi", f"/console?body={cw}")
            expect(console_b.locator("#sitting-title")).to_contain_text(COMMITTEE_SITTING)
            display_b = b.staff("display-b", "xian.cw.daping", "/display", 1920, 1080)
            expect(display_b.locator("#sitting")).to_contain_text(COMMITTEE_SITTING)
            committee_tablets = {seat: b.kiosk(cw, seat) for seat in COMMITTEE_BROWSER}
            committee_python = {seat: python_kiosk(county, cw, seat) for seat in COMMITTEE_PYTHON}
            python_tablets.extend(committee_python.values())
            expect(console_b.locator("#present")).to_have_text(str(COMMITTEE_PRESENT))
            expect(console_b.locator("#members")).to_have_text("35")

            # --- A opens the congress's named motion; the deputies press ---------------------
            open_vote(console_a, county.motion)
            expect(display_a.locator("#stage-open")).to_be_visible()
            expect(display_a.locator("#open-title")).to_have_text(county.motion_title)
            for seat, (_, mark) in CONGRESS_BROWSER.items():
                press(congress_tablets[seat], [mark])
            for seat, (_, mark) in CONGRESS_PYTHON.items():
                receipt = congress_python[seat].vote(
                    county.motion, {"report": mark}, deadline_s=WAIT_S
                )
                assert receipt["entry"] > 0
            # The 列席 tablet: the notice, never the keys, while the vote is open.
            expect(attendee.locator("#screen-waiting")).to_be_visible()
            expect(attendee.locator("#waiting-heading")).to_have_text("列席")
            expect(attendee.locator("#waiting-text")).to_contain_text("不参加表决")
            expect(attendee.locator("#screen-vote")).to_be_hidden()
            expect(attendee.locator("button.mark:visible")).to_have_count(0)
            expect(display_a.locator("#open-voted")).to_have_text("4")
            expect(console_a.locator("#live-voted")).to_have_text("4")
            expect(console_a.locator("#live-not-voted")).to_have_text(str(CONGRESS_PRESENT - 4))

            # --- B, while A's vote is open: the committee's evaluation, opened and closed ------
            expect(console_b.locator("#live")).to_be_hidden()  # A's open vote is not B's
            expect(display_b.locator("#stage-idle")).to_be_visible()
            open_vote(console_b, county.evaluation)
            expect(console_b.locator("#live-title")).to_contain_text(county.evaluation_title)
            expect(display_b.locator("#open-title")).to_have_text(county.evaluation_title)
            for seat, marks in COMMITTEE_BROWSER.items():
                press(committee_tablets[seat], marks)
            for seat, ballot in COMMITTEE_PYTHON.items():
                assert committee_python[seat].vote(county.evaluation, ballot, deadline_s=WAIT_S)
            expect(display_b.locator("#open-voted")).to_have_text("2")
            close_vote(console_b, county.evaluation)
            evaluation = stored_result(county, county.evaluation)
            assert (evaluation["members"], evaluation["present"], evaluation["cast"]) == (
                35, COMMITTEE_PRESENT, 2,
            )  # fmt: skip
            result_b = display_b.locator("#stage-result")
            expect(result_b).to_be_visible()
            expect(display_b.locator("#result-title")).to_have_text(county.evaluation_title)
            expect(figure(result_b, "已按")).to_have_text("2")
            expect(figure(result_b, "应到")).to_have_text("35")
            departments = [name for _, name in COUNTY_DEPARTMENTS]
            expect(result_b.locator("tbody tr td:nth-child(1)")).to_have_text(departments)

            # A is untouched: its vote still open, its figures its own.
            expect(console_a.locator("#live")).to_be_visible()
            expect(console_a.locator("#live-title")).to_contain_text(county.motion_title)
            expect(console_a.locator("#live-voted")).to_have_text("4")
            expect(display_a.locator("#stage-open")).to_be_visible()
            expect(display_a.locator("#open-title")).to_have_text(county.motion_title)
            expect(display_a.locator("#open-voted")).to_have_text("4")
            expect(console_a.locator(f"tr[data-vote='{county.evaluation}']")).to_have_count(0)

            # --- A closes: the result on the display and the console, 分团表决情况 ----------
            close_vote(console_a, county.motion)
            motion = stored_result(county, county.motion)
            assert (motion["members"], motion["present"], motion["cast"]) == (
                250, CONGRESS_PRESENT, 4,
            )  # fmt: skip
            assert motion["subjects"]["report"]["yes"] == 2
            assert motion["subjects"]["report"]["no"] == 1
            assert motion["subjects"]["report"]["abstain"] == 1
            assert motion["subjects"]["report"]["passed"] is False  # 2 of 250: not 过半数
            result_a = display_a.locator("#stage-result")
            expect(result_a).to_be_visible()
            expect(display_a.locator("#result-title")).to_have_text(county.motion_title)
            for label, value in (("应到", 250), ("实到", CONGRESS_PRESENT), ("已按", 4),
                                 ("未按", CONGRESS_PRESENT - 4)):  # fmt: skip
                expect(figure(result_a, label)).to_have_text(str(value))
            # one subject: 赞成 / 反对 / 弃权 as figures, the verdict as large (the hall's stage)
            for label, value in (("赞成", 2), ("反对", 1), ("弃权", 1)):
                expect(figure(result_a, label)).to_have_text(str(value))
            expect(result_a.locator(".hall-outcome")).to_have_text("未通过")
            expect(result_a.locator(".hall-required")).to_contain_text("不少于 126 票")
            # Every tablet shows the result, the 列席's too, naming the motion by its title.
            # (The tablet's result is figures, not a table: kiosk/results.mjs.)
            for tablet in (*congress_tablets.values(), attendee):
                expect(tablet.locator("#screen-result")).to_be_visible()
                expect(tablet.locator("#screen-result")).to_contain_text(REPORT_MOTION)
                subject = tablet.locator("#result-body .k-subject").first
                expect(subject.locator(".k-tile-value")).to_have_text(["2", "1", "1"])
                expect(subject.locator(".k-verdict")).to_have_text("未通过")
                expect(subject).to_contain_text("不少于 126 票")
            motion_row = console_a.locator(f"tr[data-vote='{county.motion}']")
            result_row = motion_row.locator("xpath=following-sibling::tr[1]")
            expect(result_row).to_contain_text("未通过")
            result_row.locator("summary").click()  # past results are collapsed on the console
            breakdown = result_row.get_by_test_id("breakdown")
            expect(breakdown.locator("caption")).to_have_text("分团表决情况")
            head = breakdown.locator("thead th").all_inner_texts()
            rows = {
                cells[0]: dict(zip(head, cells, strict=True))
                for cells in (
                    r.locator("td").all_inner_texts() for r in breakdown.locator("tbody tr").all()
                )
            }
            assert len(rows) == 12  # every delegation, pressed or not
            pressed: dict[str, dict[str, int]] = {CHENGGUAN: {}, HEXI: {}}
            label = {"赞成": "赞成", "yes": "赞成", "no": "反对", "abstain": "弃权"}
            for delegation, mark in [*CONGRESS_BROWSER.values(), *CONGRESS_PYTHON.values()]:
                counts = pressed[delegation]
                counts[label[mark]] = counts.get(label[mark], 0) + 1
            for delegation, members in ((CHENGGUAN, 30), (HEXI, 26)):
                row = rows[delegation]
                cast = sum(pressed[delegation].values())
                assert (row["应到"], row["实到"], row["未按"]) == (
                    str(members), str(members), str(members - cast),
                ), row  # fmt: skip
                for column in ("赞成", "反对", "弃权"):
                    assert row[column] == str(pressed[delegation].get(column, 0)), row
            for delegation, row in rows.items():
                if delegation not in pressed:
                    assert (row["赞成"], row["反对"], row["弃权"]) == ("0", "0", "0"), row
            # B is untouched by A's close: its result stays on its display.
            expect(display_b.locator("#result-title")).to_have_text(county.evaluation_title)
            expect(console_b.locator(f"tr[data-vote='{county.motion}']")).to_have_count(0)

            # --- screenshots at the projector's size -------------------------------------------
            shots = tmp_path / "shots"
            shots.mkdir()
            console_a.set_viewport_size({"width": 1920, "height": 1080})
            result_row.scroll_into_view_if_needed()
            console_a.screenshot(path=str(shots / "congress-console-closed.png"),
                                 animations="disabled")  # fmt: skip
            console_a.screenshot(path=str(shots / "congress-console-closed-full.png"),
                                 full_page=True, animations="disabled")  # fmt: skip
            display_a.screenshot(path=str(shots / "congress-display-result.png"),
                                 animations="disabled")  # fmt: skip
            display_b.screenshot(path=str(shots / "committee-display-result.png"),
                                 animations="disabled")  # fmt: skip
            attendee.screenshot(path=str(shots / "congress-kiosk-attendee.png"))
            SHOTS.mkdir(parents=True, exist_ok=True)
            for png in shots.glob("*.png"):
                shutil.copy(png, SHOTS / png.name)
            print(f"\nscreenshots: {shots} (copied to {SHOTS})")

            # --- 分团签到: the operator signs a whole delegation in by its name -------------
            box = console_a.locator("#delegations")
            expect(box.locator("tr", has_text="东湖乡代表团")).to_contain_text("0 / 20")
            console_a.fill("#operator-seat", "东湖乡代表团")
            console_a.click("#operator-form button[type=submit]")
            expect(console_a.locator("#confirm-text")).to_contain_text("东湖乡代表团的 20 位代表")
            console_a.click("#confirm-yes")
            expect(box.locator("tr", has_text="东湖乡代表团")).to_contain_text("20 / 20")
            expect(console_a.locator("#present")).to_have_text(str(CONGRESS_PRESENT + 20))
            # 列席 attendees are no delegation's, and are never counted in one
            expect(box.locator("tr", has_text="未分团")).to_have_count(0)
        finally:
            for client in python_tablets:
                client.close()
            browser_b.close()

    # --- no cross-talk: no frame a congress screen received names the committee's vote,
    # and none a committee screen received names the congress's motion.
    # Each screen did hear its own body's vote by title (so the check can see a title).
    for screens, own, foreign in (
        (a, county.motion_title, county.evaluation_title),
        (b, county.evaluation_title, county.motion_title),
    ):
        for name, frames in screens.frames.items():
            assert any(own in f for f in frames), f"{name} never heard its own vote"
            leaked = [f for f in frames if foreign in f]
            assert leaked == [], f"{name} received the other body's vote: {leaked[:2]}"
    assert a.errors == [] and b.errors == []
