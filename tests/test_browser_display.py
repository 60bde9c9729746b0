"""The hall display as the back row reads it: every stage at 1920×1080 and 3840×2160.

The real server (``voting-server run``) serves the demo committee (61 seats) with a
fourth agenda item, a motion on three subjects (分项表决). 36 members press through
the Python kiosk client; the presidium opens and closes the votes over its own Socket.IO
connection (the simulator's ``Console``) and chooses what the hall sees with the
console's buttons (``_display_control.html``) in Chromium. The display is driven through
every stage — idle, 会标, 签到情况, 议程, a vote in progress, the result of each kind, a
cancelled vote, 黑屏 — and at both sizes each stage is measured:

- the four figures (应到 / 实到 / 已按 / 未按, on the idle screen 应到 / 实到 / 缺席) and
  the outcome (通过 / 未通过, 表决已取消) are at least 10 % of the screen's height, as
  boxes and as the ink of their glyphs (canvas ``measureText``);
- no numeral, label, table heading or verdict breaks onto a second line;
- nothing runs off the bottom of the screen;

then saved under ``test-artifacts/display/`` and checked with axe-core. The ballot's
candidates are in ballot order with their ballot number as 序号; the figures are the
ones the server stored; a reloaded display shows the presidium's choice again.
"""

from __future__ import annotations

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
from voting_server.cli.simulate import Console
from voting_server.db import make_engine, make_session_factory
from voting_server.demo import load_demo
from voting_server.demo.city import DEPARTMENTS, LIVELIHOOD_PROJECTS, ensure_agenda_item
from voting_server.models import AttendanceMethod, Member, StaffRole, Vote
from voting_server.services import attendance, devices, staff

pytestmark = pytest.mark.slow

PASSWORD = "hall-display-test-2026"
KIOSK_SEATS = range(1, 37)  # 36 members press through the Python kiosk client
BY_STAFF = range(37, 45)  # 8 more signed in by staff: 实到 44 of 61, 缺席 17
TIMEOUT_MS = 15_000
WAIT_S = 15.0
HALL_SIZES: tuple[tuple[int, int], ...] = ((1920, 1080), (3840, 2160))
BUDGET_SUBJECTS = {
    "final-accounts": "2025年市级决算",
    "budget-adjustment": "2026年市级预算调整方案",
    "debt-limit": "2026年新增地方政府债务限额",
}
BUDGET_TITLE = "关于批准2025年市级决算和2026年市级预算调整方案等事项的表决"


def _pin(seat: int) -> str:
    return f"{(seat * 104729) % 900000 + 100000}"


@dataclass(frozen=True)
class Hall:
    base: str
    url: str
    votes: dict[str, int]  # motion, selection, evaluation, budget
    items: list[int]  # agenda item ids in order
    kiosks: dict[int, tuple[KioskKey, str]]  # seat → key, device id


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"kiosks": {}}
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        staff.create_user(session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log)
        staff.create_user(session, "dapin", "会场大屏", StaffRole.DISPLAY, PASSWORD, log=log)
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        item, _ = ensure_agenda_item(
            session, sitting, 4, "审议2025年市级决算和2026年市级预算调整方案", ""
        )
        budget = Vote(agenda_item=item, title=BUDGET_TITLE)
        budget.configure({"kind": "motion", "subjects": list(BUDGET_SUBJECTS)}, BUDGET_SUBJECTS)
        session.add(budget)
        session.flush()
        members = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        for seat in KIOSK_SEATS:
            devices.set_pin(session, members[seat].id, _pin(seat))
            key = KioskKey.generate()
            code = devices.issue_enrollment_code(session, body.id, seat, None)
            out["kiosks"][seat] = (
                key,
                devices.enroll_device(session, log, code, key.public.spki_b64).id,
            )
        attendance.sign_in_many(
            session, log, sitting, [members[s] for s in BY_STAFF], AttendanceMethod.OPERATOR
        )
        out["items"] = [i.id for i in sitting.agenda_items]
        out["votes"] = {v.kind: v.id for i in sitting.agenda_items[:3] for v in i.votes}
        out["votes"]["budget"] = budget.id
    return out


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield Hall(base=base, url=url, votes=p["votes"], items=p["items"], kiosks=p["kiosks"])


def stored_result(hall: Hall, vote_id: int) -> dict[str, Any]:
    with make_session_factory(make_engine(hall.url))() as session:
        vote = session.get(Vote, vote_id)
        assert vote is not None and vote.result is not None
        return vote.result


# What the page measures on the visible stage: every large figure and outcome (box and
# glyph ink against the screen's height), every element that must stay on one line, and
# the lowest and rightmost edges of the stage's content.
MEASURE = """([big, oneLine]) => {
  const H = window.innerHeight;
  const stage = [...document.querySelectorAll("section.hall-stage")].find((s) => !s.hidden);
  if (!stage) return null;
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const canvas = document.createElement("canvas").getContext("2d");
  const ink = (e) => {
    const cs = getComputedStyle(e);
    canvas.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const m = canvas.measureText(e.textContent.trim());
    return m.actualBoundingBoxAscent + m.actualBoundingBoxDescent;
  };
  const lines = (e) => {
    const range = document.createRange();
    range.selectNodeContents(e);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    return tops.size;
  };
  const out = { H: H, big: [], oneLine: [], bottom: 0, right: 0, stage: stage.id };
  stage.querySelectorAll(big).forEach((e) => {
    if (!shown(e)) return;
    out.big.push({ text: e.textContent.trim(), box: e.getBoundingClientRect().height, ink: ink(e) });
  });
  stage.querySelectorAll(oneLine).forEach((e) => {
    if (!shown(e) || !e.textContent.trim()) return;
    out.oneLine.push({ text: e.textContent.trim(), lines: lines(e) });
  });
  stage.querySelectorAll("*").forEach((e) => {
    if (!shown(e)) return;
    out.bottom = Math.max(out.bottom, e.getBoundingClientRect().bottom);
    out.right = Math.max(out.right, e.getBoundingClientRect().right);
  });
  return out;
}"""

FIGURES_AND_OUTCOME = (
    ".hall-four .hall-num, .hall-row .hall-num, .hall-outcome, .hall-cancelled-word"
)
ONE_LINE = (
    ".hall-num, .hall-outcome, .hall-label, .hall-cancelled-word, th, td.n, .hall-cell-verdict, "
    ".hall-heading, .hall-required"
)


class Wall:
    """The display page, measured and saved at both hall sizes in each stage."""

    def __init__(self, page: Any, shots: Shots) -> None:
        self.page = page
        self.shots = shots
        self.faults: list[str] = []

    def take(
        self,
        name: str,
        big: str = FIGURES_AND_OUTCOME,
        expect_big: int = 0,
        one_line: str = ONE_LINE,
    ) -> None:
        for width, height in HALL_SIZES:
            self.page.set_viewport_size({"width": width, "height": height})
            found = self.page.evaluate(MEASURE, [big, one_line])
            where = f"{name} at {width}×{height}"
            assert found is not None, f"{where}: no stage shown"
            if len(found["big"]) < expect_big:
                self.faults.append(
                    f"{where}: {len(found['big'])} large figures, {expect_big} expected"
                )
            for b in found["big"]:
                if b["box"] < 0.10 * height or b["ink"] < 0.10 * height:
                    self.faults.append(
                        f"{where}: {b['text']!r} is {b['box']:.0f} px high, its glyphs "
                        f"{b['ink']:.0f} px; the rule is 10 % of {height} px"
                    )
            for e in found["oneLine"]:
                if e["lines"] > 1:
                    self.faults.append(f"{where}: {e['text']!r} wraps onto {e['lines']} lines")
            if found["right"] > width + 1:
                self.faults.append(
                    f"{where}: the stage runs {found['right'] - width:.0f} px off the right edge"
                )
            if found["bottom"] > height + 1:
                self.faults.append(
                    f"{where}: the stage runs {found['bottom'] - height:.0f} px below the screen"
                )
        self.shots.take(self.page, name, HALL_SIZES)
        self.page.set_viewport_size({"width": 1920, "height": 1080})


def figure(scope: Any, label: str) -> Any:
    return scope.locator(
        ".figure", has=scope.page.locator(f".figure-label:text-is('{label}')")
    ).locator(".figure-value")


def test_every_stage_of_the_hall_display_reads_from_the_back_row(hall: Hall) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[str] = []
    shots = Shots(ARTIFACTS / "display")
    kiosks: dict[int, KioskClient] = {}
    chair = Console(hall.base, "zhuchi", PASSWORD)
    try:
        with chromium() as browser:

            def open_page(name: str, user: str, path: str, width: int, height: int) -> Any:
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
                csp_violations(page, name, errors)
                page.goto(hall.base + path)
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(hall.base + path)
                return page

            display = open_page("display", "dapin", "/display", 1920, 1080)
            console = open_page("console", "zhuchi", "/console", 1400, 1000)
            wall = Wall(display, shots)
            control = console.locator("#display-control")

            def choose(button: str) -> None:
                control.get_by_role("button", name=button, exact=True).click()
                expect(control.get_by_role("button", name=button, exact=True)).to_have_attribute(
                    "aria-pressed", "true"
                )

            # --- idle: 应到 / 实到 / 缺席 and the quorum; no connection badge -----------------
            stage = display.locator("#stage-idle")
            expect(stage).to_be_visible()
            expect(display.locator("#idle-present")).to_have_text("8")
            for seat in KIOSK_SEATS:
                key, device = hall.kiosks[seat]
                kiosks[seat] = KioskClient(hall.base, key, device)
                kiosks[seat].connect(WAIT_S)
                kiosks[seat].sign_in(_pin(seat), WAIT_S)
            expect(display.locator("#idle-present")).to_have_text("44")
            expect(display.locator("#idle-members")).to_have_text("61")
            expect(display.locator("#idle-absent")).to_have_text("17")
            expect(display.locator("#idle-quorum")).to_contain_text("法定人数 31 人")
            expect(display.locator("#idle-quorum")).to_contain_text("已达到法定人数")
            expect(display.locator("#conn")).to_be_hidden()  # connected: nothing in the hall
            expect(display.get_by_text("已连接")).to_have_count(0)
            wall.take("idle", expect_big=3)
            control.screenshot(path=str(shots.folder / "console-display-control.png"))

            # --- the presidium's choices: 会标, 签到情况, 议程 --------------------------------
            choose("会标")
            expect(display.locator("#stage-welcome")).to_be_visible()
            expect(display.locator("#welcome-title")).to_have_text(
                "示例市第十六届人民代表大会常务委员会第二十次会议"
            )
            wall.take("welcome", expect_big=0)
            choose("签到情况")
            expect(display.locator("#idle-title")).to_have_text("签到情况")
            expect(display.locator("#idle-progress")).to_be_visible()
            wall.take("sign-in", expect_big=3)
            choose("议程")  # the whole agenda
            expect(display.locator(".hall-agenda-list li")).to_have_count(4)
            wall.take("agenda", big="none")
            control.locator("#display-agenda-item").select_option(str(hall.items[1]))
            choose("议程")
            expect(display.locator("#agenda-heading")).to_have_text("议程第 2 项")
            expect(display.locator(".hall-agenda-title")).to_have_text(
                "票决2027年度市政府民生实事项目"
            )
            wall.take("agenda-item", big="none")

            # --- a motion: open, presses, result -----------------------------------------
            motion = hall.votes["motion"]
            chair.request("open_vote", {"vote": motion, "duration_s": 300})
            expect(display.locator("#stage-open")).to_be_visible()  # the vote takes the screen
            marks = ["yes"] * 32 + ["no"] * 2 + ["abstain"]  # seat 36 does not press
            for seat, mark in zip(KIOSK_SEATS, marks, strict=False):
                kiosks[seat].vote(motion, {"regulation": mark})
            expect(display.locator("#open-voted")).to_have_text("35")
            expect(display.locator("#open-not-voted")).to_have_text("9")
            expect(display.locator("#open-countdown")).to_contain_text("剩余时间")
            wall.take("open", expect_big=2)
            chair.request("close_vote", {"vote": motion})
            result = display.locator("#stage-result")
            expect(result).to_be_visible()
            stored = stored_result(hall, motion)
            expect_four(result, stored)
            s = stored["subjects"]["regulation"]
            expect(figure(result, "赞成")).to_have_text(str(s["yes"]))
            expect(figure(result, "反对")).to_have_text(str(s["no"]))
            expect(figure(result, "弃权")).to_have_text(str(s["abstain"]))
            expect(result.locator(".hall-outcome")).to_have_text(
                "通过" if s["passed"] else "未通过"
            )
            expect(result.locator(".hall-required")).to_contain_text(f"不少于 {s['required']} 票")
            wall.take("result-motion", expect_big=5)

            # The last result leaves the screen when the presidium says so, and stays away
            # on a reload (kept on the server, not in the projector PC's browser).
            choose("黑屏")
            expect(display.locator("#stage-blank")).to_be_attached()
            expect(result).to_be_hidden()
            display.reload()
            expect(display.locator("body")).to_have_attribute("data-stage", "blank")
            expect(result).to_be_hidden()
            wall.take("blank", big="none")

            # --- the livelihood ballot: candidates in ballot order, 序号 the ballot number
            selection = hall.votes["selection"]
            chair.request("open_vote", {"vote": selection})
            expect(display.locator("#stage-open")).to_be_visible()
            ids = [pid for pid, _ in LIVELIHOOD_PROJECTS]
            for i, seat in enumerate(KIOSK_SEATS):  # p04-p08 on every ballot, p11 on none
                kiosks[seat].vote(selection, ids[i % 3 : i % 3 + 8] + ([ids[11]] if i < 2 else []))
            expect(display.locator("#open-voted")).to_have_text("36")
            chair.request("close_vote", {"vote": selection})
            expect(result).to_be_visible()
            stored = stored_result(hall, selection)
            expect_four(result, stored)
            rows = result.locator("tbody tr")
            expect(rows.locator("td:nth-child(1)")).to_have_text([str(n) for n in range(1, 13)])
            expect(rows.locator("td:nth-child(2)")).to_have_text(
                [t for _, t in LIVELIHOOD_PROJECTS]
            )
            votes = stored["selection"]["votes"]
            expect(rows.locator("td:nth-child(3)")).to_have_text([str(votes[p]) for p in ids])
            selected = stored["selection"]["selected"]
            expect(rows.locator("td:nth-child(4)")).to_have_text(
                [
                    (
                        "入选"
                        if p in selected
                        else "须再次投票"
                        if p in ((stored["selection"].get("runoff") or {}).get("candidates") or [])
                        else "未入选"
                    )
                    for p in ids
                ]
            )
            expect(display.locator("#result-heading")).to_have_text("票决结果")
            wall.take("result-selection", expect_big=4)

            # --- the evaluation: rate, outcome and rank per department -------------------
            evaluation = hall.votes["evaluation"]
            chair.request("open_vote", {"vote": evaluation})
            expect(display.locator("#stage-open")).to_be_visible()
            departments = [d for d, _ in DEPARTMENTS]
            for i, seat in enumerate(KIOSK_SEATS):
                kiosks[seat].vote(evaluation, {
                    departments[0]: "satisfied",
                    departments[1]: "basic" if i % 2 else "satisfied",
                    departments[2]: "unsatisfied" if i < 20 else "satisfied",
                })  # fmt: skip
            chair.request("close_vote", {"vote": evaluation})
            expect(display.locator("#result-heading")).to_have_text("测评结果")
            stored = stored_result(hall, evaluation)
            expect_four(result, stored)
            rows = result.locator("tbody tr")
            expect(rows.locator("td:nth-child(1)")).to_have_text([t for _, t in DEPARTMENTS])
            subjects = [stored["subjects"][d] for d in departments]
            expect(rows.locator("td:nth-child(5)")).to_have_text(
                [f"{s['satisfaction_rate']}%" for s in subjects]
            )
            expect(rows.locator("td:nth-child(6)")).to_have_text(
                ["满意" if s["outcome"] == "satisfactory" else "不满意" for s in subjects]
            )
            expect(rows.locator("td:nth-child(7)")).to_have_text([str(s["rank"]) for s in subjects])
            wall.take("result-evaluation", expect_big=4)

            # --- a motion on three subjects (分项表决) ---------------------------------------
            budget = hall.votes["budget"]
            chair.request("open_vote", {"vote": budget})
            expect(display.locator("#stage-open")).to_be_visible()
            for i, seat in enumerate(KIOSK_SEATS):
                kiosks[seat].vote(budget, {
                    "final-accounts": "yes", "budget-adjustment": "yes" if i < 20 else "no",
                    "debt-limit": "abstain" if i < 3 else "yes",
                })  # fmt: skip
            chair.request("close_vote", {"vote": budget})
            expect(display.locator("#result-title")).to_have_text(BUDGET_TITLE)
            stored = stored_result(hall, budget)
            expect_four(result, stored)
            rows = result.locator("tbody tr")
            expect(rows.locator("td:nth-child(1)")).to_have_text(list(BUDGET_SUBJECTS.values()))
            expect(rows.locator("td:nth-child(2)")).to_have_text(
                [str(stored["subjects"][k]["yes"]) for k in BUDGET_SUBJECTS]
            )
            expect(rows.locator("td:last-child")).to_have_text(
                ["通过" if stored["subjects"][k]["passed"] else "未通过" for k in BUDGET_SUBJECTS]
            )
            # three subjects: each verdict is held to the outcome's rule too
            wall.take(
                "result-motion-subjects",
                big=f"{FIGURES_AND_OUTCOME}, .hall-motion .hall-cell-verdict",
                expect_big=4 + len(BUDGET_SUBJECTS),
            )

            # --- an earlier result, chosen again; then a cancelled vote --------------------
            control.locator("#display-result-vote").select_option(str(selection))
            choose("表决结果")
            expect(display.locator("#result-heading")).to_have_text("票决结果")
            rerun = chair.request("rerun_vote", {"vote": motion})["vote"]["id"]
            chair.request("open_vote", {"vote": rerun})
            expect(display.locator("#stage-open")).to_be_visible()
            chair.request("cancel_vote", {"vote": rerun, "reason": "表决器故障，改用举手表决"})
            cancelled = display.locator("#stage-cancelled")
            expect(cancelled).to_be_visible()
            expect(display.locator("#cancelled-word")).to_have_text("表决已取消")
            expect(display.locator("#cancelled-reason")).to_have_text(
                "原因：表决器故障，改用举手表决"
            )
            wall.take("cancelled", expect_big=1)

            # --- in English (?lang=en): the same stage fits; labels may take two lines ------
            chair.request("display_stage", {"stage": "result", "target": selection})
            display.goto(hall.base + "/display?lang=en")
            expect(display.locator("#result-heading")).to_have_text("Ballot result")
            expect(figure(result.locator(".hall-four"), "Did not vote")).to_have_text(
                str(stored_result(hall, selection)["not_voted"])
            )
            wall.take(
                "result-selection-en", expect_big=4, one_line=ONE_LINE.replace(".hall-label, ", "")
            )

            # --- disconnected: a small dot, no words on the wall -------------------------
            display.context.set_offline(True)
            display.evaluate("() => window.dispatchEvent(new Event('offline'))")
            expect(display.locator("#conn")).to_be_visible(timeout=40_000)
            box = display.locator("#conn").bounding_box()
            assert box is not None and box["height"] < 0.03 * 1080
            display.context.set_offline(False)
            expect(display.locator("#conn")).to_be_hidden(timeout=40_000)

            assert wall.faults == [], "\n".join(wall.faults)
            assert shots.violations == [], "\n".join(shots.violations)
            assert errors == [], "\n".join(errors)
    finally:
        for client in kiosks.values():
            client.close()
        chair.close()


def expect_four(result: Any, stored: dict[str, Any]) -> None:
    """应到 / 实到 / 已按 / 未按 on the display are the server's stored figures."""
    from playwright.sync_api import expect

    for label, key in (
        ("应到", "members"),
        ("实到", "present"),
        ("已按", "cast"),
        ("未按", "not_voted"),
    ):
        expect(figure(result.locator(".hall-four"), label)).to_have_text(str(stored[key]))
