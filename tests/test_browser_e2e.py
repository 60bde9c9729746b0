"""A whole sitting in a real browser: three kiosks, the presidium console, the hall display.

The real server (``voting-server run``: gunicorn, gevent) serves the demo
committee on a free port. Headless Chromium (Debian's) drives, each in its own
browser context (own cookies, own IndexedDB, own device key):

- three deputies' tablets, enrolled with their seats' codes and signed in with
  their PINs (the tablets are held landscape, portrait, landscape);
- the presidium's console and the hall display, logged in as staff.

For each kind of vote — motion, livelihood-project ballot, evaluation — the
presidium opens it, the three kiosks vote, one of them losing its connection
mid-ballot, the presidium closes it, and the display must show the result the
server stored, number by number. The lost connection is cut two ways:

- after the server recorded the ballot but before its acknowledgement reached
  the tablet (the WebSocket is intercepted and closed as the receipt passes):
  the tablet resends the same signed ballot and must get the same receipt —
  counted once;
- before the ballot left the tablet (the browser context goes offline): the
  ballot waits and goes out when the network returns.

Every state of every page is screenshotted at 1280×800, 800×1280 and 1920×1080
under ``test-artifacts/screenshots/`` and checked with axe-core (no serious or
critical violation). The demo's thresholds are set to a base of the ballots
cast so that three tablets can pass a motion and select projects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from voting_server.db import make_engine, make_session_factory
from voting_server.demo import DEPARTMENTS, LIVELIHOOD_PROJECTS, REGULATION, load_demo
from voting_server.models import AttendanceMethod, Document, Member, StaffRole, Vote
from voting_server.services import attendance, devices, staff

PASSWORD = "hall-e2e-test-2026"
KIOSK_SEATS = (1, 2, 3)
PINS = {1: "135790", 2: "246802", 3: "975310"}
# Seats 4..28 are signed in by staff before the server starts, 29..31 from the console
# (代为签到 of a range): 28 present, short of the quorum of 31 (过半数 of 61) until the
# three tablets sign in.
PRESIGNED = range(4, 29)
TIMEOUT_MS = 20_000
SHOTS = ARTIFACTS / "screenshots"
DRAFT_TEXT = "第一条　为了规范本市……（条例草案全文）"  # the motion's document, as plain text
BY_CAST = {"base": "cast", "ratio": [1, 2], "strict": True}  # more than half of the ballots cast

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class Hall:
    base: str
    url: str  # the database
    codes: dict[int, str]  # seat → enrollment code
    sitting_id: int
    votes: dict[str, int]  # kind → vote id
    item_id: int  # the first agenda item (it has a document)


def _prepare(instance: Path, url: str) -> tuple[dict[int, str], int, dict[str, int], int]:
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        presidium = staff.create_user(
            session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log
        )
        staff.create_user(session, "mishuchu", "秘书处", StaffRole.SECRETARIAT, PASSWORD, log=log)
        staff.create_user(session, "jianpiao", "监票人", StaffRole.SCRUTINEER, PASSWORD, log=log)
        staff.create_user(session, "dapin", "会场大屏", StaffRole.DISPLAY, PASSWORD, log=log)
        seats = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        codes = {}
        for seat in KIOSK_SEATS:
            devices.set_pin(session, seats[seat].id, PINS[seat])
            codes[seat] = devices.issue_enrollment_code(session, body.id, seat, presidium.id)
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        for seat in PRESIGNED:
            attendance.sign_in(
                session, log, sitting, seats[seat], AttendanceMethod.OPERATOR, by=presidium.id
            )
        first_item = sitting.agenda_items[0]
        session.add(
            Document(
                agenda_item=first_item,
                title="条例草案全文",
                filename="draft.txt",
                media_type="text/plain; charset=utf-8",
                content=DRAFT_TEXT.encode(),
            )
        )
        votes = {}
        for item in sitting.agenda_items:
            for vote in item.votes:
                config = dict(vote.config)
                if vote.kind == VoteKind.EVALUATION:
                    config["unsatisfied_threshold"] = BY_CAST
                else:
                    config["threshold"] = BY_CAST
                vote.configure(config, vote.titles)
                votes[vote.kind] = vote.id
        session.flush()
        return codes, sitting.id, votes, first_item.id


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    codes, sitting_id, votes, item_id = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield Hall(base=base, url=url, codes=codes, sitting_id=sitting_id, votes=votes,
                   item_id=item_id)  # fmt: skip


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@dataclass
class Link:
    """The WebSocket of one tablet, routed through the test so that it can be cut.

    ``drop_next_receipt``: the next ballot acknowledgement coming from the server is
    swallowed and the connection closed on both sides — the server has recorded the
    ballot, the tablet never hears of it. While ``down``, reconnections are refused.
    """

    down: bool = False
    drop_next_receipt: bool = False
    dropped: list[str] = field(default_factory=list)

    def route(self, ws: Any) -> None:
        if self.down:
            ws.close()
            return
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if (
                self.drop_next_receipt
                and isinstance(message, str)
                and message.startswith("43")  # a Socket.IO acknowledgement
                and '"receipt"' in message
            ):
                self.drop_next_receipt = False
                self.dropped.append(message)
                self.down = True
                ws.close()
                server.close()
                return
            ws.send(message)

        server.on_message(from_server)


class Sitting:
    """The pages of one sitting and the actions a person would take on them."""

    def __init__(self, browser: Any, hall: Hall, shots: Shots) -> None:
        self.browser = browser
        self.hall = hall
        self.shots = shots
        self.errors: list[str] = []
        self.contexts: dict[str, Any] = {}
        self.links: dict[int, Link] = {}

    def page(self, name: str, width: int, height: int) -> Any:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts[name] = context
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.errors.append(f"{name}: {exc}"))
        csp_violations(page, name, self.errors)
        return page

    def login(self, page: Any, username: str, target: str, shoot: bool = False) -> None:
        page.goto(f"{self.hall.base}{target}")  # not logged in: the login page, back here after
        page.wait_for_selector("#username")
        if shoot:
            self.shots.take(page, "login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.hall.base}{target}")

    def kiosk(
        self, seat: int, width: int, height: int, shoot: bool = False, qr: bool = False
    ) -> Any:
        """A tablet enrolled for ``seat`` — its code typed by staff, or, with ``qr``, the
        address of the seat's QR code opened (the code arrives filled in) — and signed in."""
        from playwright.sync_api import expect

        page = self.page(f"kiosk-{seat}", width, height)
        link = self.links[seat] = Link()
        page.route_web_socket(re.compile(r"/socket\.io/"), link.route)
        code = self.hall.codes[seat]
        page.goto(f"{self.hall.base}/kiosk" + (f"#enroll={code}" if qr else ""))
        expect(page.locator("#screen-enroll")).to_be_visible()
        if shoot:
            self.shots.take(page, "kiosk-enroll")
        if qr:
            expect(page.locator("#enroll-code")).to_have_value(code.upper())
            assert "#" not in page.url  # the code does not stay in the address bar
        else:
            page.fill("#enroll-code", code.lower())  # as staff might type it
        page.click("#enroll-button")
        expect(page.locator("#screen-signin")).to_be_visible()
        expect(page.locator("#conn")).to_have_text("已连接")
        expect(page.locator("#who")).to_contain_text(f"第 {seat} 座")
        if shoot:
            self.shots.take(page, "kiosk-signin")
        for digit in PINS[seat]:
            page.click(f"#keypad button:text-is('{digit}')")
        page.click("#signin-button")
        expect(page.locator("#screen-waiting")).to_be_visible()
        return page


def figure(scope: Any, label: str) -> Any:
    """The number under a label (应到, 实到, 已按, 未按) in a row of figures."""
    return scope.locator(
        ".figure", has=scope.page.locator(f".figure-label:text-is('{label}')")
    ).locator(".figure-value")


def stored_result(hall: Hall, vote_id: int) -> dict[str, Any]:
    with make_session_factory(make_engine(hall.url))() as session:
        vote = session.get(Vote, vote_id)
        assert vote is not None and vote.result is not None
        return dict(vote.result)


def test_a_sitting_of_all_three_kinds_in_the_browser(
    browser: Any, hall: Hall, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    shots = Shots(SHOTS)
    hall_pages = Sitting(browser, hall, shots)
    print(f"\nscreenshots: {SHOTS}")

    # --- staff screens: the console (no quorum yet) and the hall display ---------------
    console = hall_pages.page("console", 1280, 800)
    hall_pages.login(console, "zhuchi", "/console", shoot=True)
    expect(console.locator("#conn")).to_have_text("已连接")
    expect(console.locator("#present")).to_have_text("25")
    console.fill("#operator-seat", "28-31")  # 28 is present already
    console.click("#operator-form button[type=submit]")
    expect(console.locator("#confirm-text")).to_have_text(
        "为 4 位代表代为签到（第 28、29、30、31 座）？"
    )
    console.click("#confirm-yes")
    expect(console.locator("#message")).to_have_text("已为 3 位代表代为签到；第 28 座此前已签到")
    expect(console.locator("#present")).to_have_text("28")
    expect(console.locator("#quorum")).to_contain_text("未达到法定人数")
    expect(console.locator("#kiosks")).to_contain_text("尚无已登记的代表终端")
    motion_row = console.locator(f"tr[data-vote='{hall.votes['motion']}']")
    expect(motion_row.get_by_role("button", name="开始表决")).to_be_disabled()
    shots.take(console, "console-no-quorum")

    display = hall_pages.page("display", 1920, 1080)
    hall_pages.login(display, "dapin", "/display")
    expect(display.locator("#idle-present")).to_have_text("28")
    shots.take(display, "display-idle")

    # --- three tablets: enroll, PIN sign-in; the third makes the quorum -----------------
    kiosk_a = hall_pages.kiosk(1, 1280, 800, shoot=True)
    kiosk_b = hall_pages.kiosk(2, 800, 1280)
    kiosk_c = hall_pages.kiosk(3, 1280, 800, qr=True)
    shots.take(kiosk_a, "kiosk-waiting")
    manifest = kiosk_a.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
    )  # the tablet's home-screen shortcut opens the kiosk full screen
    assert (manifest["start_url"], manifest["display"]) == ("/kiosk", "fullscreen")
    expect(console.locator("#present")).to_have_text("31")
    expect(console.locator("#quorum")).to_contain_text("已达到法定人数")
    expect(console.locator("#kiosks")).to_have_text("代表终端全部在线（3 台）")
    expect(display.locator("#idle-present")).to_have_text("31")
    shots.take(console, "console-quorate")

    # --- 1. the motion, with a countdown; seat 2 changes its mind; seat 3's receipt is lost
    motion_row.get_by_role("button", name="开始表决").click()
    expect(console.locator("#confirm-dialog")).to_be_visible()
    console.fill("#confirm-seconds", "900")
    shots.take(console, "console-confirm-open")
    console.click("#confirm-yes")
    expect(console.locator("#live")).to_be_visible()
    expect(display.locator("#stage-open")).to_be_visible()
    expect(display.locator("#open-title")).to_have_text(f"关于《{REGULATION}》的表决")
    expect(display.locator("#open-not-voted")).to_have_text("31")
    expect(display.locator("#open-countdown")).to_contain_text("剩余时间")

    for kiosk in (kiosk_a, kiosk_b, kiosk_c):
        expect(kiosk.locator("#screen-vote")).to_be_visible()
        expect(kiosk.locator("#vote-countdown")).to_contain_text("剩余时间")
        expect(kiosk.locator("#vote-agenda")).to_contain_text("议程第 1 项")
    shots.take(kiosk_a, "kiosk-motion")
    kiosk_a.locator("#vote-document summary").click()
    expect(kiosk_a.locator("#vote-document-text")).to_contain_text("全体组成人员过半数")
    # the agenda item's document, full screen, and back to the vote
    kiosk_a.locator("#vote-documents button", has_text="条例草案全文").click()
    expect(kiosk_a.locator("#document-overlay")).to_be_visible()
    expect(kiosk_a.frame_locator("#document-frame").locator("body")).to_contain_text(DRAFT_TEXT)
    shots.take(kiosk_a, "kiosk-document")
    kiosk_a.click("#document-back")
    expect(kiosk_a.locator("#document-overlay")).to_be_hidden()
    expect(kiosk_a.locator("#screen-vote")).to_be_visible()

    kiosk_a.locator("button.mark", has_text="赞成").click()
    shots.take(kiosk_a, "kiosk-motion-chosen")  # the other keys step back, still legible
    cast_marks(kiosk_a, ["赞成"])
    expect(kiosk_a.locator("#confirm-summary")).to_contain_text("赞成")
    shots.take(kiosk_a, "kiosk-motion-confirm")
    kiosk_a.click("#confirm-send")
    expect(kiosk_a.locator("#sent-receipt")).to_contain_text("回执：第")
    shots.take(kiosk_a, "kiosk-motion-receipt")

    cast_marks(kiosk_b, ["反对"])
    kiosk_b.click("#confirm-send")
    expect(kiosk_b.locator("#sent-receipt")).to_contain_text("第 1 次提交")
    kiosk_b.click("#sent-change")  # last_press: a change before the close counts instead
    cast_marks(kiosk_b, ["赞成"])
    kiosk_b.click("#confirm-send")
    expect(kiosk_b.locator("#sent-receipt")).to_contain_text("第 2 次提交")

    entry = cut_after_recording(hall_pages, console, kiosk_c, 3, ["反对"], "motion")
    expect(kiosk_c.locator("#sent-receipt")).to_contain_text(f"回执：第 {entry} 号记录")
    expect(kiosk_c.locator("#sent-receipt")).to_contain_text("第 1 次提交")

    expect(display.locator("#open-voted")).to_have_text("3")
    expect(display.locator("#open-not-voted")).to_have_text("28")
    expect(console.locator("#live-voted")).to_have_text("3")
    shots.take(display, "display-motion-open")
    shots.take(console, "console-motion-open")

    close(console, motion_row)
    motion = stored_result(hall, hall.votes["motion"])
    assert motion["cast"] == 3 and motion["present"] == 31  # each tablet counted once
    assert motion["subjects"]["regulation"] == {
        "yes": 2, "no": 1, "abstain": 0, "invalid": 0, "required": 2, "passed": True,
    }  # fmt: skip
    result = display.locator("#stage-result")
    expect(result).to_be_visible()
    expect_figures(result, motion)
    # one subject: 赞成 / 反对 / 弃权 as figures and the verdict as large as them
    for label, count in (("赞成", "2"), ("反对", "1"), ("弃权", "0")):
        expect(figure(result, label)).to_have_text(count)
    expect(result.locator(".hall-outcome")).to_have_text("通过")
    expect(result.locator(".hall-required")).to_contain_text("不少于 2 票")
    shots.take(display, "display-motion-result")
    expect(kiosk_a.locator("#result-body")).to_contain_text("通过")
    shots.take(kiosk_a, "kiosk-motion-result")
    motion_row.get_by_role("button", name="宣布结果").click()
    console.click("#confirm-yes")
    expect(display.locator("#result-heading")).to_have_text("表决结果（已宣布）")
    expect(motion_row).to_contain_text("已宣布")
    shots.take(console, "console-motion-announced")

    # --- 2. the livelihood projects: at most 10 of 12; seat 3's receipt is lost ---------
    selection_row = console.locator(f"tr[data-vote='{hall.votes['selection']}']")
    selection_row.get_by_role("button", name="开始表决").click()
    console.click("#confirm-yes")
    expect(display.locator("#stage-open")).to_be_visible()
    titles = dict(LIVELIHOOD_PROJECTS)
    pick(kiosk_a, [titles[p] for p in ("p01", "p02", "p03")])
    kiosk_a.click("#vote-next")
    kiosk_a.click("#confirm-send")
    expect(kiosk_a.locator("#sent-receipt")).to_contain_text("回执：第")

    ten = [titles[f"p{n:02d}"] for n in range(1, 11)]
    pick(kiosk_b, ten)
    expect(kiosk_b.locator("#selection-counter")).to_contain_text("已选择 10 项")
    kiosk_b.locator("button.candidate", has_text=titles["p11"]).click()  # an eleventh: refused
    expect(kiosk_b.locator("#message")).to_have_text("最多选择10项。如需更换，请先取消已选的一项。")
    expect(kiosk_b.locator("#selection-counter")).to_contain_text("最多选择10项")
    expect(kiosk_b.locator("button.candidate[aria-pressed=true]")).to_have_count(10)
    shots.take(kiosk_b, "kiosk-selection-refused")
    kiosk_b.click("#vote-next")
    expect(kiosk_b.locator("#confirm-summary li")).to_have_count(11)  # the heading and 10 projects
    kiosk_b.click("#confirm-send")
    expect(kiosk_b.locator("#sent-receipt")).to_contain_text("回执：第")

    entry = cut_after_recording(
        hall_pages, console, kiosk_c, 3, [titles["p02"], titles["p05"]], "selection"
    )
    expect(kiosk_c.locator("#sent-receipt")).to_contain_text(f"回执：第 {entry} 号记录")
    expect(display.locator("#open-voted")).to_have_text("3")

    close(console, selection_row)
    selection = stored_result(hall, hall.votes["selection"])
    assert selection["cast"] == 3
    votes = {"p01": 2, "p02": 3, "p03": 2, "p04": 1, "p05": 2, "p06": 1, "p07": 1,
             "p08": 1, "p09": 1, "p10": 1, "p11": 0, "p12": 0}  # fmt: skip
    assert {k: selection["selection"]["votes"].get(k, 0) for k in votes} == votes
    assert selection["selection"]["selected"] == ["p02", "p01", "p03", "p05"]
    assert selection["selection"]["unfilled"] == 6
    result = display.locator("#stage-result")
    expect(result).to_be_visible()
    expect(display.locator("#result-heading")).to_have_text("票决结果")
    expect_figures(result, selection)
    # in ballot order, 序号 the ballot number (not the rank)
    ballot = [f"p{n:02d}" for n in range(1, 13)]
    rows = result.locator("tbody tr")
    expect(rows.locator("td:nth-child(1)")).to_have_text([str(n) for n in range(1, 13)])
    expect(rows.locator("td:nth-child(2)")).to_have_text([titles[p] for p in ballot])
    expect(rows.locator("td:nth-child(3)")).to_have_text([str(votes[p]) for p in ballot])
    chosen = ("p01", "p02", "p03", "p05")
    expect(rows.locator("td:nth-child(4)")).to_have_text(
        ["入选" if p in chosen else "未入选" for p in ballot]
    )
    expect(result.locator(".hall-note")).to_contain_text("尚有 6 项空缺")
    shots.take(display, "display-selection-result")
    shots.take(kiosk_b, "kiosk-selection-result")

    # --- 3. the evaluation of three departments; seat 3 is offline when it confirms -----
    evaluation_row = console.locator(f"tr[data-vote='{hall.votes['evaluation']}']")
    evaluation_row.get_by_role("button", name="开始表决").click()
    console.click("#confirm-yes")
    expect(display.locator("#stage-open")).to_be_visible()
    for kiosk in (kiosk_a, kiosk_b, kiosk_c):
        expect(kiosk.locator("#vote-title")).to_contain_text("满意度测评")
    shots.take(kiosk_c, "kiosk-evaluation")
    cast_marks(kiosk_a, ["满意", "基本满意", "不满意"])
    kiosk_a.click("#confirm-send")
    cast_marks(kiosk_b, ["满意", "不满意", "不满意"])
    kiosk_b.click("#confirm-send")
    expect(kiosk_b.locator("#sent-receipt")).to_contain_text("回执：第")

    cast_marks(kiosk_c, ["基本满意", "满意", "不满意"])
    # The tablet loses the network: the browser says so (offline), and nothing passes —
    # the routed WebSocket bypasses the browser's emulation, so the link refuses too.
    hall_pages.links[3].down = True
    hall_pages.contexts["kiosk-3"].set_offline(True)
    expect(kiosk_c.locator("#conn")).to_have_text("正在重新连接…")
    kiosk_c.click("#confirm-send")
    expect(kiosk_c.locator("#sent-heading")).to_have_text("正在提交…")
    expect(kiosk_c.locator("#sent-receipt")).to_be_hidden()
    shots.take(kiosk_c, "kiosk-offline-pending")
    expect(display.locator("#open-voted")).to_have_text("2")  # nothing arrived from seat 3
    hall_pages.links[3].down = False
    hall_pages.contexts["kiosk-3"].set_offline(False)
    expect(kiosk_c.locator("#conn")).to_have_text("已连接")
    expect(kiosk_c.locator("#sent-receipt")).to_contain_text("第 1 次提交")
    expect(display.locator("#open-voted")).to_have_text("3")
    expect(kiosk_a.locator("#sent-receipt")).to_contain_text("回执：第")

    close(console, evaluation_row)
    evaluation = stored_result(hall, hall.votes["evaluation"])
    assert evaluation["cast"] == 3
    expected = {
        "civil-affairs": (2, 1, 0, "100.00", "satisfactory", 1),
        "sports": (1, 1, 1, "66.67", "satisfactory", 2),
        "sasac": (0, 0, 3, "0.00", "unsatisfactory", 3),
    }
    for sid, (sat, basic, unsat, rate, outcome, rank) in expected.items():
        s = evaluation["subjects"][sid]
        assert (s["satisfied"], s["basic"], s["unsatisfied"]) == (sat, basic, unsat)
        assert (s["satisfaction_rate"], s["outcome"], s["rank"]) == (rate, outcome, rank)
    result = display.locator("#stage-result")
    expect(result).to_be_visible()
    expect(display.locator("#result-heading")).to_have_text("测评结果")
    expect_figures(result, evaluation)
    departments = dict(DEPARTMENTS)
    rows = result.locator("tbody tr")
    expect(rows.locator("td:nth-child(1)")).to_have_text([departments[s] for s in expected])
    expect(rows.locator("td:nth-child(5)")).to_have_text(["100.00%", "66.67%", "0.00%"])
    expect(rows.locator("td:nth-child(6)")).to_have_text(["满意", "满意", "不满意"])
    expect(rows.locator("td:nth-child(7)")).to_have_text(["1", "2", "3"])
    shots.take(display, "display-evaluation-result")
    shots.take(kiosk_c, "kiosk-evaluation-result")
    shots.take(console, "console-all-closed")

    # --- re-run and cancel, each behind its confirmation ----------------------------------
    motion_row.get_by_role("button", name="重新表决").click()
    console.click("#confirm-yes")
    rerun_row = console.locator("#agenda tbody tr[data-vote]", has_text="（重新表决）")
    expect(rerun_row).to_have_count(1)
    rerun_row.get_by_role("button", name="开始表决").click()
    console.click("#confirm-yes")
    expect(kiosk_a.locator("#screen-vote")).to_be_visible()
    rerun_row.get_by_role("button", name="取消表决").click()
    console.click("#confirm-yes")  # no reason given: refused by the dialog
    expect(console.locator("#confirm-error")).to_have_text("请填写取消原因")
    console.fill("#confirm-reason", "表决器故障，改用举手表决")
    shots.take(console, "console-confirm-cancel")
    console.click("#confirm-yes")
    expect(display.locator("#stage-cancelled")).to_be_visible()
    expect(display.locator("#cancelled-reason")).to_have_text("原因：表决器故障，改用举手表决")
    expect(kiosk_a.locator("#screen-cancelled")).to_be_visible()
    shots.take(kiosk_a, "kiosk-cancelled")
    shots.take(display, "display-cancelled")

    # --- the operators' pages that exist -----------------------------------------------------
    secretariat = operator_pages(hall_pages, hall)

    # --- the secretariat revokes seat 2's tablet: it is cut off and says so -------------------
    secretariat.goto(hall.base + "/admin/devices")
    row = secretariat.locator("tr", has=secretariat.locator("td:text-is('2')")).first
    expect(row).to_contain_text("在线")
    secretariat.once("dialog", lambda dialog: dialog.accept())  # 确定停用第 2 座的终端吗？
    row.get_by_role("button", name="停用终端").click()
    expect(kiosk_b.locator("#screen-connecting")).to_be_visible()
    expect(kiosk_b.locator("#message")).to_have_text("设备未登记或已停用")
    expect(kiosk_b.locator("#reenroll-button")).to_be_visible()
    shots.take(kiosk_b, "kiosk-revoked")

    print(
        f"screenshots: {shots.count} states x 3 sizes in {SHOTS}; axe-core checked {len(shots.checked)}"
    )
    assert hall_pages.errors == []
    assert shots.violations == [], "axe-core:\n" + "\n".join(shots.violations)


# --- what a person does on the pages ---------------------------------------------------------


def cast_marks(kiosk: Any, marks: list[str]) -> None:
    """Press one mark per subject, in order, then go to the confirmation screen."""
    from playwright.sync_api import expect

    expect(kiosk.locator("#screen-vote")).to_be_visible()
    subjects = kiosk.locator("#vote-body .subject")
    expect(subjects).to_have_count(len(marks))
    for i, mark in enumerate(marks):
        subjects.nth(i).locator("button.mark", has_text=re.compile(f"^✔? ?{mark}$")).click()
        expect(subjects.nth(i).locator("button.mark.chosen")).to_have_text(mark)
    kiosk.click("#vote-next")
    expect(kiosk.locator("#screen-confirm")).to_be_visible()


def pick(kiosk: Any, titles: list[str]) -> None:
    from playwright.sync_api import expect

    expect(kiosk.locator("#screen-vote")).to_be_visible()
    for title in titles:
        kiosk.locator("button.candidate", has_text=title).click()
    expect(kiosk.locator("button.candidate[aria-pressed=true]")).to_have_count(len(titles))


def cut_after_recording(
    hall_pages: Sitting, console: Any, kiosk: Any, seat: int, choice: list[str], kind: str
) -> int:
    """Submit on ``kiosk`` and cut its connection as the server's receipt passes; check the
    tablet waits, the console warns of the offline kiosk, then restore. Returns the entry
    number of the receipt that was lost."""
    from playwright.sync_api import expect

    link = hall_pages.links[seat]
    if kind == "selection":
        pick(kiosk, choice)
        kiosk.click("#vote-next")
    else:
        cast_marks(kiosk, choice)
    before = len(link.dropped)
    link.drop_next_receipt = True
    kiosk.click("#confirm-send")
    expect(kiosk.locator("#conn")).to_have_text("正在重新连接…")
    expect(kiosk.locator("#sent-heading")).to_have_text("正在提交…")
    expect(kiosk.locator("#sent-receipt")).to_be_hidden()
    expect(console.locator("#kiosks")).to_contain_text(f"1 台代表终端未连接（第 {seat} 座）")
    if kind == "motion":
        hall_pages.shots.take(kiosk, "kiosk-reconnecting")
        hall_pages.shots.take(console, "console-kiosk-offline")
    assert len(link.dropped) == before + 1
    entry = int(re.search(r'"entry":\s*(\d+)', link.dropped[-1]).group(1))  # type: ignore[union-attr]
    link.down = False
    expect(kiosk.locator("#conn")).to_have_text("已连接")
    expect(console.locator("#kiosks")).to_have_text("代表终端全部在线（3 台）")
    return entry


def close(console: Any, row: Any) -> None:
    from playwright.sync_api import expect

    row.get_by_role("button", name="结束表决").click()
    expect(console.locator("#confirm-text")).to_contain_text("结束表决")
    console.click("#confirm-yes")
    try:
        expect(row).to_contain_text("已结束")
    except AssertionError as exc:  # seen once, not understood: keep what the chair saw
        said = console.locator("#message").inner_text()
        dialog = console.locator("#confirm-dialog").is_visible()
        raise AssertionError(
            f"{exc}\nthe console's message: {said!r}; dialog open: {dialog}"
        ) from exc


def expect_figures(result: Any, stored: dict[str, Any]) -> None:
    """应到 / 实到 / 已按 / 未按 on the display are the server's stored figures."""
    from playwright.sync_api import expect

    for label, key in (
        ("应到", "members"),
        ("实到", "present"),
        ("已按", "cast"),
        ("未按", "not_voted"),
    ):
        expect(figure(result, label)).to_have_text(str(stored[key]))
    assert (stored["members"], stored["present"], stored["not_voted"]) == (61, 31, 28)


# The sheets speak the glossary's words (issue 17): the title per kind, 已按 (not 投票),
# 入选 (not 当选), 不少于 N 票 (not N 票以上), and 无效 only where a ballot can be invalid
# (an electronic motion's cannot: every kiosk ballot is checked on arrival).
SHEET_WORDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "results-motion-sheet": ("表决结果", ("已按", "不少于"), ("投票", "票以上", "无效")),
    "results-selection-sheet": ("票决结果", ("已按", "入选"), ("当选", "票以上")),
    "results-evaluation-sheet": ("测评结果", ("已按", "无效"), ("投票",)),
    "results-minutes": ("表决结果汇总", ("入选",), ("当选", "票以上")),
}


def sheet_words(page: Any, title: str, present: tuple[str, ...], absent: tuple[str, ...]) -> None:
    from playwright.sync_api import expect

    expect(page.locator("h1").first).to_have_text(title)
    text = page.locator("body").inner_text()
    head = " ".join(page.locator("th").all_inner_texts())
    for word in present:
        assert word in text, (title, word)
    for word in absent:
        assert word not in (head if word == "无效" else text), (title, word)


def operator_pages(hall_pages: Sitting, hall: Hall) -> Any:
    """The secretariat's, the scrutineer's and the results pages, after the votes.
    Returns the secretariat's page."""
    from playwright.sync_api import expect

    base = hall.base
    secretariat = hall_pages.page("secretariat", 1280, 800)
    hall_pages.login(secretariat, "mishuchu", "/admin/")
    pages = [
        ("admin-index", "/admin/"),
        ("admin-staff", "/admin/staff"),
        ("admin-devices", "/admin/devices"),
        ("admin-pins-confirm", "/admin/pins"),
        ("overview", "/"),
        ("account-password", "/account/password"),
        ("results-index", "/results/"),
        ("results-motion-sheet", f"/results/votes/{hall.votes['motion']}/sheet"),
        ("results-selection-sheet", f"/results/votes/{hall.votes['selection']}/sheet"),
        ("results-evaluation-sheet", f"/results/votes/{hall.votes['evaluation']}/sheet"),
        ("results-minutes", f"/results/sittings/{hall.sitting_id}/minutes"),
        ("results-paper", f"/results/votes/{hall.votes['motion']}/paper"),
        ("console-secretariat", "/console"),
        ("operator-roster", "/admin/roster/"),
        ("operator-sittings", "/admin/sittings/"),
        ("operator-sitting", f"/admin/sittings/{hall.sitting_id}"),
        ("operator-item", f"/admin/sittings/items/{hall.item_id}"),
        ("operator-vote-new", f"/admin/sittings/items/{hall.item_id}/votes/new"),
        ("operator-vote-closed", f"/admin/sittings/votes/{hall.votes['motion']}"),
    ]
    for name, path in pages:
        answer = secretariat.goto(base + path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        if name == "console-secretariat":
            expect(secretariat.locator("#agenda > table")).to_be_visible()
        if name in SHEET_WORDS:
            sheet_words(secretariat, *SHEET_WORDS[name])
        hall_pages.shots.take(secretariat, name)

    scrutineer = hall_pages.page("scrutineer", 1280, 800)
    hall_pages.login(scrutineer, "jianpiao", "/results/receipt")
    hall_pages.shots.take(scrutineer, "results-receipt-check")
    answer = scrutineer.goto(base + "/audit/")
    assert answer is not None and answer.status == 200
    hall_pages.shots.take(scrutineer, "audit-log")
    return secretariat
