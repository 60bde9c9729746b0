"""The console for the chair (主持人 / 主席团) in a real browser at 1280×800.

The real server (``voting-server run``) serves the demo committee (61 seats): 30
members signed in by staff before it starts, three tablets of the Python kiosk client
(seats 1–3) and one enrolled tablet that never connects (seat 40). Headless Chromium
drives the console as the chair does, and checks what the chair would check:

- the seat map drawn from the roster, coloured by 未签到 / 已签到 / 已按, the
  offline tablet marked, and the lists behind it (未签到, 未按) naming the right seats,
  updated as tablets sign in and press — in a secret vote, who pressed, never how;
- a draft offers 撤回, not 取消表决; 撤回 asks for its reason;
- the countdown from presets, and a bad typed time answered in Chinese by the page
  itself (no browser bubble);
- once the vote is open, 结束表决, 已按 and 未按 inside the window without scrolling,
  and still there after scrolling (the live panel stays at the top);
- after close, the read-aloud line (宣读稿) with the result's numbers, copied by its
  button; past results collapsed until asked for;
- links to the hall display and the staff pages; axe-core on every state.

Screenshots: test-artifacts/console/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto import KioskKey
from kiosk_client.client import KioskClient
from tests.support.browser import (
    ARTIFACTS,
    Shots,
    chromium,
    csp_violations,
    new_instance,
    preparing,
    running_server,
)
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Member, StaffRole
from voting_server.services import attendance, devices, staff

pytestmark = pytest.mark.slow

PASSWORD = "console-test-2026"
PINS = {1: "111111", 2: "222222", 3: "333333"}  # the Python tablets' seats
OFFLINE_SEAT = 40  # enrolled, never connected
PRESIGNED = range(4, 34)  # 30 members signed in by staff: with seats 1–3, 33 of 61
TIMEOUT_MS = 15_000
WAIT_S = 15.0
WIDTH, HEIGHT = 1280, 800
FOLDER = ARTIFACTS / "console"


@dataclass(frozen=True)
class Hall:
    base: str
    body: int
    motion: int
    selection: int
    evaluation: int
    tablets: dict[int, tuple[KioskKey, str]]  # seat → key, device


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        chair = staff.create_user(
            session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log
        )
        staff.create_user(session, "mishu", "秘书处", StaffRole.SECRETARIAT, PASSWORD, log=log)
        seats = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        tablets = {}
        for seat in (*PINS, OFFLINE_SEAT):
            key = KioskKey.generate()
            code = devices.issue_enrollment_code(session, body.id, seat, chair.id)
            device = devices.enroll_device(session, log, code, key.public.spki_b64)
            tablets[seat] = (key, device.id)
        for seat, pin in PINS.items():
            devices.set_pin(session, seats[seat].id, pin)
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        attendance.sign_in_many(
            session, log, sitting, [seats[s] for s in PRESIGNED], AttendanceMethod.OPERATOR
        )
        votes = [v for item in sitting.agenda_items for v in item.votes]
        assert [v.kind for v in votes] == ["motion", "selection", "evaluation"]
        assert votes[0].secret  # 无记名: the map shows who pressed, never how
        return {"body": body.id, "motion": votes[0].id, "selection": votes[1].id,
                "evaluation": votes[2].id, "tablets": tablets}  # fmt: skip


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield Hall(base, p["body"], p["motion"], p["selection"], p["evaluation"], p["tablets"])


def tablet(hall: Hall, seat: int) -> KioskClient:
    """Seat's tablet (the Python kiosk client), connected and signed in with its PIN."""
    key, device = hall.tablets[seat]
    client = KioskClient(hall.base, key, device)
    client.connect(WAIT_S)
    client.sign_in(PINS[seat], WAIT_S)
    return client


def seats_in(page: Any, list_id: str) -> list[int]:
    return [int(s) for s in page.locator(f"#{list_id} .who").evaluate_all(
        "nodes => nodes.map((n) => n.dataset.seat)")]  # fmt: skip


def inside_window(page: Any, selector: str) -> None:
    """``selector`` is wholly inside the 1280×800 window as it is (no scrolling)."""
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= WIDTH and box["y"] + box["height"] <= HEIGHT, (selector, box)


def test_the_chairs_console(hall: Hall) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    shots = Shots(FOLDER)
    sizes = ((WIDTH, HEIGHT), (1920, 1080))

    def take(page: Any, name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")  # the whole page, the live panel at its top
        shots.take(page, name, sizes)

    errors: list[str] = []
    tablets: list[KioskClient] = []
    with chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hall.base)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        csp_violations(page, "console", errors)
        try:
            page.goto(f"{hall.base}/console?body={hall.body}")
            page.fill("#username", "zhuchi")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/console\?body=\d+$"))
            expect(page.locator("#conn")).to_have_text("已连接")
            expect(page.locator("#present")).to_have_text("30")

            # The top bar leads to the hall display and the staff pages of this body.
            expect(page.locator("#link-display")).to_have_attribute(
                "href", f"/display?body={hall.body}"
            )
            for name, path in (("秘书处管理", "/admin/"), ("监票人与表决结果", "/results/"),
                               ("审计日志", "/audit/")):  # fmt: skip
                expect(page.locator(".topbar").get_by_role("link", name=name)).to_have_attribute(
                    "href", f"{path}?body={hall.body}"
                )

            # The seat map: every seat of the roster, by its state.
            seat = lambda n: page.locator(f"#seat-map .seat[data-seat='{n}']")  # noqa: E731
            expect(page.locator("#seat-map .seat")).to_have_count(61)
            expect(seat(4)).to_have_class(re.compile(r"\bpresent\b"))
            expect(seat(1)).to_have_class(re.compile(r"\babsent\b"))
            expect(seat(OFFLINE_SEAT)).to_have_class(re.compile(r"\boffline\b"))
            expect(seat(1)).to_have_class(re.compile(r"\boffline\b"))  # not connected yet
            expect(page.locator("#absent-count")).to_have_text("31 人")
            assert seats_in(page, "absent-list") == [1, 2, 3, *range(34, 62)]
            assert seats_in(page, "offline-list") == [1, 2, 3, OFFLINE_SEAT]
            expect(page.locator("#not-pressed-box")).to_be_hidden()  # no vote open

            # Drafts: 撤回, never 取消表决.
            motion_row = page.locator(f"tr[data-vote='{hall.motion}']")
            evaluation_row = page.locator(f"tr[data-vote='{hall.evaluation}']")
            for row in (motion_row, evaluation_row):
                expect(row.get_by_role("button", name="撤回")).to_be_visible()
                expect(row.get_by_role("button", name="取消表决")).to_have_count(0)
            take(page, "console-idle")

            # Three tablets connect and sign in: their seats turn 已签到, online.
            tablets.extend(tablet(hall, s) for s in PINS)
            expect(page.locator("#present")).to_have_text("33")
            for s in PINS:
                expect(seat(s)).to_have_class(re.compile(r"\bpresent\b"))
                expect(seat(s)).not_to_have_class(re.compile(r"\boffline\b"))
            expect(page.locator("#absent-count")).to_have_text("28 人")
            assert seats_in(page, "absent-list") == list(range(34, 62))
            assert seats_in(page, "offline-list") == [OFFLINE_SEAT]

            # Open the motion: a bad typed time is refused in Chinese by the page itself.
            motion_row.get_by_role("button", name="开始表决").click()
            expect(page.locator("#confirm-seconds-box")).to_be_visible()
            page.fill("#confirm-minutes", "abc")
            expect(page.locator("#countdown-custom")).to_be_checked()  # typing chose 自定义
            bad = "限时须在 10 秒至 120 分钟之间，分和秒请填写整数"
            for minutes, secs in (("abc", ""), ("0", "5"), ("121", "0"), ("", "")):
                page.fill("#confirm-minutes", minutes)
                page.fill("#confirm-seconds", secs)
                page.locator("#countdown-custom").check()
                page.click("#confirm-yes")
                expect(page.locator("#confirm-error")).to_have_text(bad)
                expect(page.locator("#confirm-dialog")).to_be_visible()
            take(page, "console-countdown-error")
            page.get_by_label("2 分钟").check()
            page.click("#confirm-yes")
            expect(page.locator("#live")).to_be_visible()
            expect(page.locator("#live-countdown")).to_have_text(
                re.compile(r"^剩余时间 0[12]:\d\d$")
            )
            expect(motion_row.get_by_role("button", name="撤回")).to_have_count(0)

            # What the chair needs while the vote is open, in the window without scrolling.
            assert page.evaluate("window.scrollY") == 0
            for selector in ("#live-close", "#live-cancel", "#live-voted", "#live-not-voted",
                             "#live-countdown", "#live-title"):  # fmt: skip
                inside_window(page, selector)
            expect(page.locator("#live-close")).to_have_text("结束表决")
            expect(page.locator("#live .figure-label")).to_have_text(["已按", "未按"])
            expect(page.locator("#live-not-voted")).to_have_text("33")

            # Seats 1 and 2 press (secret): green on the map, gone from the 未按 list.
            tablets[0].vote(hall.motion, {"regulation": "yes"})
            tablets[1].vote(hall.motion, {"regulation": "no"})
            expect(page.locator("#live-voted")).to_have_text("2")
            expect(page.locator("#live-not-voted")).to_have_text("31")
            expect(seat(1)).to_have_class(re.compile(r"\bpressed\b"))
            expect(seat(2)).to_have_class(re.compile(r"\bpressed\b"))
            expect(seat(3)).to_have_class(re.compile(r"\bpresent\b"))
            expect(page.locator("#not-pressed-count")).to_have_text("31 人")
            assert seats_in(page, "not-pressed-list") == [3, *PRESIGNED]
            assert "赞成" not in (seat(1).get_attribute("title") or "")  # never a choice
            page.screenshot(path=str(FOLDER / "console-open.png"))  # the window, as seen
            take(page, "console-open")

            # The secretariat's console, read-only: the map without presses, no vote buttons.
            office_context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            office = office_context.new_page()
            office.set_default_timeout(TIMEOUT_MS)
            office.on("pageerror", lambda exc: errors.append(f"secretariat: {exc}"))
            office.goto(f"{hall.base}/console?body={hall.body}")
            office.fill("#username", "mishu")
            office.fill("#password", PASSWORD)
            office.click("button[type=submit]")
            expect(office.locator("#live")).to_be_visible()
            expect(office.locator("#live-close")).to_have_count(0)
            expect(office.locator("#live-voted")).to_have_text("–")  # not told: not "0"
            expect(office.locator(f"tr[data-vote='{hall.motion}'] button")).to_have_count(0)
            expect(office.locator("#seat-map .seat[data-seat='1']")).to_have_class(
                re.compile(r"\bpresent\b")
            )
            expect(office.locator("#seat-map .seat.pressed")).to_have_count(0)
            expect(office.locator("#not-pressed-box")).to_be_hidden()
            take(office, "console-secretariat")
            office_context.close()

            # Scrolled to the seat lists, the live panel is still at the top.
            page.locator("#not-pressed-list").scroll_into_view_if_needed()
            page.mouse.wheel(0, 2000)
            page.wait_for_function("window.scrollY > 0")
            inside_window(page, "#live-close")
            inside_window(page, "#live-not-voted")

            # Close from the panel: the read-aloud line carries the result's numbers.
            page.click("#live-close")
            expect(page.locator("#confirm-text")).to_contain_text("结束表决")
            page.click("#confirm-yes")
            expect(page.locator("#after")).to_be_visible()
            expect(page.locator("#live")).to_be_hidden()
            line = "本次会议应到61人，实到33人，赞成1票，反对1票，弃权0票，未按31人，未通过。"
            expect(page.locator("#read-aloud")).to_have_text(line)
            expect(page.locator("#after-heading")).to_have_text(
                re.compile(r"^表决结果：关于《.+》的表决$")
            )
            page.click("#read-copy")
            expect(page.locator("#message")).to_have_text("已复制宣读稿")
            assert page.evaluate("navigator.clipboard.readText()") == line

            # Past results are collapsed: the summary names the outcome, the table waits.
            details = motion_row.locator("xpath=following-sibling::tr[1]").locator("details")
            expect(details.locator("summary")).to_contain_text("未通过")
            expect(details.locator("table.result")).to_be_hidden()
            take(page, "console-result")
            page.screenshot(path=str(FOLDER / "console-result.png"))
            details.locator("summary").click()
            expect(details.locator("table.result")).to_be_visible()
            expect(details.locator(".read-aloud")).to_have_text(line)

            page.click("#after-announce")
            page.click("#confirm-yes")
            expect(page.locator("#after-state")).to_have_text("已宣布")
            expect(page.locator("#after-announce")).to_be_hidden()
            expect(details.locator("table.result")).to_be_visible()  # redrawn, still open

            # In English, the same line in the glossary's English words.
            page.goto(f"{hall.base}/console?body={hall.body}&lang=en")
            expect(page.locator("#read-aloud")).to_have_text(
                "This sitting: Members: 61, Present: 33, For: 1, Against: 1, Abstain: 0, "
                "Did not vote: 31, Not passed."
            )
            expect(page.locator("#seat-map .seat")).to_have_count(61)
            take(page, "console-english")
            page.goto(f"{hall.base}/console?body={hall.body}&lang=zh_CN")
            expect(page.locator("#read-aloud")).to_have_text(line)
            # The livelihood ballot (票决): the line names the 入选 projects with their votes.
            selection_row = page.locator(f"tr[data-vote='{hall.selection}']")
            selection_row.get_by_role("button", name="开始表决").click()
            page.click("#confirm-yes")  # 不限时
            expect(page.locator("#live")).to_be_visible()
            expect(page.locator("#live-countdown")).to_be_hidden()
            tablets[0].vote(hall.selection, ["p01", "p02"])
            tablets[1].vote(hall.selection, ["p01"])
            tablets[2].vote(hall.selection, ["p01", "p03"])
            expect(page.locator("#live-voted")).to_have_text("3")
            page.click("#live-close")
            page.click("#confirm-yes")
            expect(page.locator("#after-heading")).to_have_text(
                "票决结果：2027年度民生实事项目票决"
            )
            # 入选 needs more than half of all 61 members' votes: with three ballots, none
            expect(page.locator("#read-aloud")).to_have_text(
                "本次会议应到61人，实到33人，已按3人，未按30人。入选0项：无。"
                "尚有 10 项空缺，可另行投票。"
            )
            take(page, "console-selection-result")

            # The evaluation (测评): per department, its counts, rate and outcome.
            evaluation_row.get_by_role("button", name="开始表决").click()
            page.click("#confirm-yes")
            expect(page.locator("#live")).to_be_visible()
            departments = ("civil-affairs", "sports", "sasac")
            for client, marks in zip(tablets, (("satisfied",) * 3,
                                               ("satisfied", "basic", "unsatisfied"),
                                               ("unsatisfied",) * 3), strict=True):  # fmt: skip
                client.vote(hall.evaluation, dict(zip(departments, marks, strict=True)))
            expect(page.locator("#live-voted")).to_have_text("3")
            page.click("#live-close")
            page.click("#confirm-yes")
            expect(page.locator("#after-heading")).to_have_text(re.compile(r"^测评结果："))
            # closed: the map shows who signed in, no longer who pressed
            expect(seat(1)).to_have_class(re.compile(r"\bpresent\b"))
            expect(page.locator("#not-pressed-box")).to_be_hidden()
            expect(page.locator("#read-aloud")).to_have_text(
                "本次会议应到61人，实到33人，已按3人。"
                "市民政局：满意2票，基本满意0票，不满意1票，满意率66.67%，测评结果为满意，第1名。"
                "市体育局：满意1票，基本满意1票，不满意1票，满意率66.67%，测评结果为满意，第1名。"
                "市人民政府国有资产监督管理委员会：满意1票，基本满意0票，不满意2票，满意率33.33%，"
                "测评结果为满意，第3名。"
                "总体满意率55.56%。"  # (2 + 0 + 1 + 1 + 1 + 0) of 9 valid marks
            )
            take(page, "console-evaluation-result")

            # 撤回 a draft (the motion's re-run): it asks for a reason, then it is withdrawn.
            motion_row.get_by_role("button", name="重新表决").click()
            page.click("#confirm-yes")
            rerun_row = page.locator("#agenda tbody tr[data-vote]", has_text="（重新表决）")
            expect(rerun_row).to_have_count(1)
            expect(rerun_row.get_by_role("button", name="取消表决")).to_have_count(0)
            rerun_row.get_by_role("button", name="撤回").click()
            expect(page.locator("#confirm-reason-label")).to_have_text("撤回原因（必填）")
            expect(page.locator("#confirm-seconds-box")).to_be_hidden()
            page.click("#confirm-yes")
            expect(page.locator("#confirm-error")).to_have_text("请填写撤回原因")
            page.fill("#confirm-reason", "议程调整，不再表决")
            take(page, "console-withdraw")
            page.click("#confirm-yes")
            expect(page.locator("#message")).to_have_text("已撤回")
            expect(rerun_row).to_contain_text("已取消")
            expect(rerun_row.get_by_role("button", name="撤回")).to_have_count(0)

        finally:
            for client in tablets:
                client.close()
            context.close()
    assert errors == []
    assert shots.violations == [], "\n".join(shots.violations)
