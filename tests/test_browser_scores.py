"""现场打分 with 列席代表 in a real browser: the tablet's number pad, and the hall display.

The real server serves the demo committee; its evaluation is made a score evaluation
(0–100 分, the highest and the lowest dropped, 60 分 to be 满意) that admits attending
deputies. Seat 1's tablet (a deputy) and seat 61's (列席) run in Chromium at 800×1280;
six deputies score through the Python kiosk client. Checked, as a deputy would:

- the pad shows the range ("0–100 分"); a digit that would go above 100 is not entered
  and the tablet says so; 清除 empties the score; 下一步 waits for every department;
- the confirmation screen lists each department's score, and so does 您的选择;
- the 列席 tablet shows the vote (admitted) and its score counts as the attending group;
- the hall display's result at 1920×1080 shows each department's 平均分 as stored,
  满意 / 不满意 on the pass mark, and the 组成人员 / 列席代表 / 全体 lines.

Screenshots: test-artifacts/scores/ (docs/screens/tablet-scores.png and
display-scores.png are copies).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from crypto import KioskKey
from kiosk_client.client import KioskClient
from rules.congress import MemberRole
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
from voting_server.db import make_engine, make_session_factory
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Body, Member, StaffRole, Vote
from voting_server.services import attendance, devices, staff

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PASSWORD = "scores-test-password-2026"
TABLET, ATTENDING = 1, 61
PYTHON_SEATS = range(2, 8)
PRESIGNED = range(8, 41)
TIMEOUT_MS = 15_000
WAIT_S = 15.0
SIZE = {"width": 800, "height": 1280}
SCORES = {"min": 0, "max": 100, "trim": 1, "pass_mark": 60}


def pin_of(seat: int) -> str:
    return f"{(seat * 7919) % 1_000_000:06d}"


@dataclass
class Hall:
    base: str
    url: str
    codes: dict[int, str]
    python: dict[int, tuple[KioskKey, str]]
    vote: int
    titles: dict[str, str]


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"codes": {}, "python": {}}
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        presidium = staff.create_user(
            session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log
        )
        staff.create_user(session, "dapin", "大屏", StaffRole.DISPLAY, PASSWORD, log=log)
        session.execute(update(Member).where(Member.seat == ATTENDING)
                        .values(role=MemberRole.ATTENDEE))  # fmt: skip
        session.execute(update(Body).values(member_count=60))
        seats = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        for seat in (TABLET, ATTENDING, *PYTHON_SEATS):
            devices.set_pin(session, seats[seat].id, pin_of(seat))
        for seat in (TABLET, ATTENDING):
            out["codes"][seat] = devices.issue_enrollment_code(session, body.id, seat, None)
        for seat in PYTHON_SEATS:
            code = devices.issue_enrollment_code(session, body.id, seat, None)
            key = KioskKey.generate()
            device = devices.enroll_device(session, log, code, key.public.spki_b64)
            out["python"][seat] = (key, device.id)
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        attendance.sign_in_many(session, log, sitting, [seats[s] for s in PRESIGNED],
                                AttendanceMethod.OPERATOR, by=presidium.id)  # fmt: skip
        for item in sitting.agenda_items:
            for vote in item.votes:
                if vote.kind == VoteKind.EVALUATION:
                    subjects = list(vote.titles)
                    vote.configure({"kind": "evaluation", "subjects": subjects, "scores": SCORES,
                                    "admit_attending": True}, vote.titles)  # fmt: skip
                    vote.secret = False
                    out["vote"], out["titles"] = vote.id, dict(vote.titles)
    return out


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield Hall(base, url, p["codes"], p["python"], p["vote"], p["titles"])


def stored_result(hall: Hall) -> dict[str, Any]:
    with make_session_factory(make_engine(hall.url))() as session:
        vote = session.get(Vote, hall.vote)
        assert vote is not None and vote.result is not None
        return vote.result


def test_scores_on_the_tablet_and_the_hall_display(hall: Hall) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    shots = Shots(ARTIFACTS / "scores")
    errors: list[str] = []
    kiosks: list[KioskClient] = []
    with chromium() as browser:

        def page(name: str, size: dict[str, int]) -> Any:
            p = browser.new_context(viewport=size, timezone_id="Asia/Shanghai").new_page()
            p.set_default_timeout(TIMEOUT_MS)
            p.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
            csp_violations(p, name, errors)
            return p

        def tablet(seat: int) -> Any:
            p = page(f"kiosk-{seat}", SIZE)
            p.goto(f"{hall.base}/kiosk")
            p.fill("#enroll-code", hall.codes[seat])
            p.click("#enroll-button")
            expect(p.locator("#screen-signin")).to_be_visible()
            for digit in pin_of(seat):
                p.click(f"#keypad button:text-is('{digit}')")
            p.click("#signin-button")
            expect(p.locator("#screen-waiting")).to_be_visible()
            return p

        deputy, attendee = tablet(TABLET), tablet(ATTENDING)
        expect(attendee.locator("#waiting-heading")).to_have_text("列席")
        display = page("display", {"width": 1920, "height": 1080})
        display.goto(hall.base + "/display")
        display.fill("#username", "dapin")
        display.fill("#password", PASSWORD)
        display.click("button[type=submit]")
        display.wait_for_url(hall.base + "/display")
        for seat, (key, device) in hall.python.items():
            client = KioskClient(hall.base, key, device)
            client.connect(WAIT_S)
            client.sign_in(pin_of(seat), WAIT_S)
            kiosks.append(client)
        presidium = real_staff_channel(hall.base, "zhuchi", PASSWORD)
        departments = list(hall.titles)
        try:
            assert presidium.call("open_vote", {"vote": hall.vote})["ok"]
            expect(deputy.locator("#screen-vote")).to_be_visible()
            expect(attendee.locator("#screen-vote")).to_be_visible()  # 列席代表, admitted
            for i, client in enumerate(kiosks):
                client.vote(hall.vote, {d: 55 + 7 * i + k for k, d in enumerate(departments)})

            panels = deputy.locator("#vote-body .score-subject")
            expect(panels).to_have_count(len(departments))
            first = panels.nth(0)
            expect(first.locator(".score-range")).to_have_text("0–100 分")
            expect(first.locator(".score-value")).to_have_text("—")

            def key(panel: Any, text: str) -> None:
                panel.locator(f"button.score-key:text-is('{text}')").click()

            for digit in "101":  # the third digit would make 101: not entered, and said
                key(first, digit)
            expect(first.locator(".score-value")).to_have_text("10")
            expect(deputy.locator("#message")).to_contain_text("最高 100 分")
            key(first, "清除")
            expect(first.locator(".score-value")).to_have_text("—")
            expect(deputy.locator("#vote-next")).to_be_disabled()
            given = [100, 85, 58, 72, 90, 66][: len(departments)]
            for k, score in enumerate(given):
                for digit in str(score):
                    key(panels.nth(k), digit)
                expect(panels.nth(k).locator(".score-value")).to_have_text(str(score))
            expect(deputy.locator("#vote-next")).to_be_enabled()
            shots.take(deputy, "tablet-scores", ((800, 1280),))
            deputy.click("#vote-next")
            lines = deputy.locator("#confirm-summary li")
            expect(lines).to_have_count(len(departments))
            for k, d in enumerate(departments):
                expect(lines.nth(k)).to_have_text(f"{hall.titles[d]}：{given[k]} 分")
            shots.take(deputy, "tablet-scores-confirm", ((800, 1280),))
            deputy.click("#confirm-send")
            expect(deputy.locator("#sent-heading")).to_have_text("已提交")
            chosen = deputy.locator("#sent-choice li .k-choice-mark")
            expect(chosen).to_have_text([f"{s} 分" for s in given])

            for k in range(len(departments)):
                key(attendee.locator("#vote-body .score-subject").nth(k), "4")
                key(attendee.locator("#vote-body .score-subject").nth(k), "0")
            attendee.click("#vote-next")
            attendee.click("#confirm-send")
            expect(attendee.locator("#sent-heading")).to_have_text("已提交")

            assert presidium.call("close_vote", {"vote": hall.vote})["ok"]
            stage = display.locator("#stage-result")
            expect(stage).to_be_visible()
            stored = stored_result(hall)
            assert stored["cast"] == 7  # the six and the tablet: the 列席代表 is not 已按
            heads = stage.locator(".hall-table th")
            expect(heads).to_contain_text(["测评对象", "有效", "平均分", "去掉最高分最低分",
                                           "结果", "名次"])  # fmt: skip
            rows = stage.locator(".hall-table tbody tr:not(.group-row)")
            expect(rows).to_have_count(len(departments))
            for k, d in enumerate(departments):
                s = stored["subjects"][d]
                assert s["attending"]["valid"] == 1 and s["attending"]["mean"] == "40.00"
                expect(rows.nth(k).locator("td.hall-rate")).to_have_text(s["mean"])
                word = "满意" if s["outcome"] == "satisfactory" else "不满意"
                expect(rows.nth(k).locator("td.hall-cell-verdict")).to_have_text(word)
            groups = stage.locator(".hall-table tr.group-row td.group")
            expect(groups).to_have_text(["组成人员", "列席代表", "全体"] * len(departments))
            expect(stage).to_contain_text("测评结果按组成人员的票确定")
            shots.take(display, "display-scores", ((1920, 1080),))
            expect(deputy.locator("#screen-result")).to_be_visible()
            expect(deputy.locator("#screen-result")).to_contain_text("平均分")
            shots.take(deputy, "tablet-scores-result", ((800, 1280),))
        finally:
            presidium.close()
            for client in kiosks:
                client.close()
    assert errors == []
    assert shots.violations == [], shots.violations
