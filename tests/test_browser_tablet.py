"""The deputy's tablet after pressing, in a real browser at 800×1280 (issue 17, item 3).

The real server serves the demo committee; one tablet (seat 1) runs a named motion, a
secret livelihood ballot (票决) and a named evaluation (测评), while six deputies press
through the Python kiosk client so that the results have figures worth reading. The
presidium opens and closes the votes over its own Socket.IO connection. Checked, as
a deputy would check them:

- the waiting screen names the body, the sitting and the agenda item;
- after pressing in a named vote, "您的选择：赞成" — larger than the receipt, which is
  still there; per department in the evaluation;
- in a secret vote, 已提交 and nothing of the choice until the reveal button is held;
  held, the chosen projects show; let go, they are gone from the page;
- each result is headed by its kind (表决结果 / 票决结果 / 测评结果), is figures and not a
  table, and no word or number of it wraps onto a second line (element height against
  its line height);
- a wrong PIN says how many tries are left, the fifth says until when the seat is
  locked (HH:MM, 北京时间);
- a used, an expired and a mistyped enrollment code give three different messages;
- axe-core on every stage. Screenshots: test-artifacts/tablet/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto import KioskKey
from kiosk_client.client import KioskClient
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
from voting_server.models import AttendanceMethod, Member, StaffRole
from voting_server.services import attendance, devices, staff
from voting_server.services.attendance import PIN_ATTEMPTS, PIN_LOCK
from voting_server.timefmt import BEIJING

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PASSWORD = "tablet-test-password-2026"
TABLET = 1  # the browser tablet that votes
LOCKED = 40  # a browser tablet enrolled here, then locked by wrong PINs
PYTHON_SEATS = range(2, 8)  # Python kiosks, so that results have several ballots
PRESIGNED = range(8, 34)  # staff sign-ins (代为签到): 26 + 6 + 1 present, quorum 31
SIZE = {"width": 800, "height": 1280}
TIMEOUT_MS = 15_000
WAIT_S = 15.0
BY_CAST = {"base": "cast", "ratio": [1, 2], "strict": True}
SHOTS = ARTIFACTS / "tablet"


def pin_of(seat: int) -> str:
    return f"{(seat * 7919) % 1_000_000:06d}"


@dataclass
class Hall:
    base: str
    codes: dict[str, str]  # tablet: seat 1's; locked: seat 40's; used / expired: spoiled codes
    python: dict[int, tuple[KioskKey, str]]
    votes: dict[str, int]  # kind → vote id
    titles: dict[str, dict[str, str]]  # kind → subject/candidate id → title
    body: str
    sitting: str
    first_item: str


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"codes": {}, "python": {}, "votes": {}, "titles": {}}
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        presidium = staff.create_user(
            session, "zhuchi", "主持人", StaffRole.PRESIDIUM, PASSWORD, log=log
        )
        seats = {
            m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))
        }
        for seat in (TABLET, LOCKED, *PYTHON_SEATS):
            devices.set_pin(session, seats[seat].id, pin_of(seat))
        out["codes"]["tablet"] = devices.issue_enrollment_code(session, body.id, TABLET, None)
        out["codes"]["locked"] = devices.issue_enrollment_code(session, body.id, LOCKED, None)
        used = devices.issue_enrollment_code(session, body.id, 50, None)
        devices.enroll_device(session, log, used, KioskKey.generate().public.spki_b64)
        out["codes"]["used"] = used
        out["codes"]["expired"] = devices.issue_enrollment_code(
            session, body.id, 51, None, now=datetime.now(UTC) - timedelta(days=2)
        )
        for seat in PYTHON_SEATS:
            code = devices.issue_enrollment_code(session, body.id, seat, None)
            key = KioskKey.generate()
            out["python"][seat] = (
                key,
                devices.enroll_device(session, log, code, key.public.spki_b64).id,
            )
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        attendance.sign_in_many(session, log, sitting, [seats[s] for s in PRESIGNED],
                                AttendanceMethod.OPERATOR, by=presidium.id)  # fmt: skip
        for item in sitting.agenda_items:
            for vote in item.votes:
                config = dict(vote.config)
                key = "unsatisfied_threshold" if vote.kind == VoteKind.EVALUATION else "threshold"
                config[key] = BY_CAST
                vote.configure(config, vote.titles)
                # the livelihood ballot stays secret (the demo's default); the others named
                vote.secret = vote.kind == VoteKind.SELECTION
                out["votes"][vote.kind] = vote.id
                out["titles"][vote.kind] = dict(vote.titles)
        first = min(sitting.agenda_items, key=lambda i: i.position)
        out.update(body=body.name, sitting=sitting.title, first_item=first.title)
    return out


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield Hall(base=base, codes=p["codes"], python=p["python"], votes=p["votes"],
                   titles=p["titles"], body=p["body"], sitting=p["sitting"],
                   first_item=p["first_item"])  # fmt: skip


# Each element's own text must stay on one line: its content height (without padding)
# is under one and a half of its line height; and whole: not wider than its box (a
# number kept on one line could still run out of its tile).
WRAPPED = """(selector) => Array.from(document.querySelectorAll(selector)).filter((e) => {
    const style = getComputedStyle(e);
    let line = parseFloat(style.lineHeight);
    if (Number.isNaN(line)) line = parseFloat(style.fontSize) * 1.3;
    const height = e.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const box = e.parentElement.getBoundingClientRect();
    const own = e.getBoundingClientRect();
    const outside = e.scrollWidth > e.clientWidth + 1 || own.left < box.left - 1 || own.right > box.right + 1;
    return e.offsetParent !== null && (height > 1.5 * line || outside);
}).map((e) => e.className + ": " + e.textContent)"""
ONE_LINE = ".k-tile-label, .k-tile-value, .k-verdict, .k-row-votes, .k-row-verdict, .k-row-number"


def test_the_tablet_after_pressing(hall: Hall, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    shots = Shots(SHOTS)
    errors: list[str] = []
    tablets: list[KioskClient] = []
    with chromium() as browser:

        def page(name: str) -> Any:
            # 北京时间 on the tablet too, as in the hall
            context = browser.new_context(viewport=SIZE, timezone_id="Asia/Shanghai")
            p = context.new_page()
            p.set_default_timeout(TIMEOUT_MS)
            p.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
            csp_violations(p, name, errors)
            return p

        # --- enrollment: three faults of a code, three messages; then a PIN lock ---------
        other = page("kiosk-locked")
        other.goto(f"{hall.base}/kiosk")
        expect(other.locator("#screen-enroll")).to_be_visible()
        mistyped = hall.codes["locked"][:-1] + ("2" if hall.codes["locked"][-1] != "2" else "3")
        messages = {}
        for fault, code in [("used", hall.codes["used"]), ("expired", hall.codes["expired"]),
                            ("unknown", mistyped)]:  # fmt: skip
            other.fill("#enroll-code", code)
            other.click("#enroll-button")
            expect(other.locator("#message")).not_to_have_text("")
            expect(other.locator("#message")).not_to_contain_text("正在登记")
            messages[fault] = other.locator("#message").text_content()
            expect(other.locator("#screen-enroll")).to_be_visible()  # nothing enrolled
            expect(other.locator("#enroll-code")).to_have_value(code)  # to correct, not retype
            if fault == "unknown":
                shots.take(other, "tablet-enroll-mistyped", ((800, 1280),))
        assert messages == {
            "used": "该登记码已使用过，请为本座位重新生成登记码",
            "expired": "该登记码已过期或已作废，请为本座位重新生成登记码",
            "unknown": "登记码有误：没有这个登记码，请核对后重新输入",
        }
        other.fill("#enroll-code", hall.codes["locked"])
        other.click("#enroll-button")
        expect(other.locator("#screen-signin")).to_be_visible()
        wrong = f"{(int(pin_of(LOCKED)) + 1) % 1_000_000:06d}"
        for left in range(PIN_ATTEMPTS - 1, 0, -1):
            other.fill("#pin", wrong)
            other.click("#signin-button")
            expect(other.locator("#message")).to_have_text(
                f"密码错误。还可以再试 {left} 次，之后本座位将暂时锁定。"
            )
        before = datetime.now(BEIJING)
        other.fill("#pin", wrong)
        other.click("#signin-button")
        expect(other.locator("#message")).to_contain_text("本座位已锁定至")
        until = {f"{(t + PIN_LOCK):%H:%M}" for t in (before, datetime.now(BEIJING))}
        text = other.locator("#message").text_content() or ""
        assert any(f"已锁定至 {hhmm}。" in text for hhmm in until), (text, until)
        shots.take(other, "tablet-pin-locked", ((800, 1280),))
        other.fill("#pin", pin_of(LOCKED))  # the right PIN waits for the lock to end too
        other.click("#signin-button")
        expect(other.locator("#message")).to_contain_text("本座位已锁定至")
        expect(other.locator("#screen-signin")).to_be_visible()

        # --- the tablet: enroll, sign in, wait -------------------------------------------
        kiosk = page("kiosk")
        sent: list[str] = []  # every Socket.IO frame the tablet sends
        kiosk.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))))
        kiosk.goto(f"{hall.base}/kiosk")
        kiosk.fill("#enroll-code", hall.codes["tablet"])
        kiosk.click("#enroll-button")
        expect(kiosk.locator("#screen-signin")).to_be_visible()
        for digit in pin_of(TABLET):
            kiosk.click(f"#keypad button:text-is('{digit}')")
        kiosk.click("#signin-button")
        expect(kiosk.locator("#screen-waiting")).to_be_visible()
        expect(kiosk.locator("#waiting-body")).to_have_text(hall.body)
        expect(kiosk.locator("#waiting-sitting")).to_have_text(hall.sitting)
        expect(kiosk.locator("#waiting-item")).to_have_text(f"议程第 1 项：{hall.first_item}")
        shots.take(kiosk, "tablet-waiting", ((800, 1280),))

        for seat, (key, device) in hall.python.items():
            tablet = KioskClient(hall.base, key, device)
            tablet.connect(WAIT_S)
            tablet.sign_in(pin_of(seat), WAIT_S)
            tablets.append(tablet)
        presidium = real_staff_channel(hall.base, "zhuchi", PASSWORD)
        try:
            # --- a named motion: 您的选择：赞成 --------------------------------------------
            motion = hall.votes[VoteKind.MOTION]
            assert presidium.call("open_vote", {"vote": motion})["ok"]
            expect(kiosk.locator("#screen-vote")).to_be_visible()
            (subject,) = hall.titles[VoteKind.MOTION]
            for i, tablet in enumerate(tablets):
                tablet.vote(motion, {subject: ["yes", "yes", "yes", "no", "abstain", "yes"][i]})
            kiosk.locator("button.mark.yes").click()
            kiosk.click("#vote-next")
            kiosk.click("#confirm-send")
            expect(kiosk.locator("#sent-heading")).to_have_text("已提交")
            expect(kiosk.locator("#sent-choice")).to_have_text("您的选择：赞成")
            expect(kiosk.locator("#sent-receipt")).to_contain_text("回执：第")
            sizes = kiosk.evaluate(
                """() => [".k-choice-mark", "#sent-receipt"].map((s) =>
                    parseFloat(getComputedStyle(document.querySelector(s)).fontSize))"""
            )
            assert sizes[0] >= 3 * sizes[1], sizes  # the choice large, the receipt small
            shots.take(kiosk, "tablet-choice", ((800, 1280),))
            assert presidium.call("close_vote", {"vote": motion})["ok"]
            check_result(kiosk, shots, "表决结果", "motion", ["赞成", "5", "反对", "1", "通过"])

            # --- a secret ballot: hidden until held ------------------------------------
            selection = hall.votes[VoteKind.SELECTION]
            assert presidium.call("open_vote", {"vote": selection})["ok"]
            expect(kiosk.locator("#screen-vote")).to_be_visible()
            ids = list(hall.titles[VoteKind.SELECTION])
            for i, tablet in enumerate(tablets):
                # projects 1–3 on every ballot, two more that vary: some 入选, some not
                tablet.vote(selection, ids[:3] + ids[3 + i % 4 : 5 + i % 4])
            chosen = [hall.titles[VoteKind.SELECTION][ids[k]] for k in (1, 4)]
            for title in chosen:
                kiosk.locator("button.candidate", has_text=title).click()
            kiosk.click("#vote-next")
            kiosk.click("#confirm-send")
            expect(kiosk.locator("#sent-heading")).to_have_text("已提交")
            expect(kiosk.locator("#sent-receipt")).to_contain_text("回执：第")
            secret = kiosk.locator("#sent-secret-choice")
            expect(kiosk.locator("#sent-secret")).to_be_visible()
            expect(kiosk.locator("#sent-choice")).to_be_hidden()
            expect(secret).to_be_hidden()
            for title in chosen:
                expect(kiosk.locator("#screen-sent")).not_to_contain_text(title)
            shots.take(kiosk, "tablet-secret", ((800, 1280),))
            kiosk.locator("#sent-reveal").hover()
            kiosk.mouse.down()
            expect(secret).to_be_visible()
            for title in chosen:
                expect(secret).to_contain_text(title)
            shots.take(kiosk, "tablet-secret-held", ((800, 1280),))
            kiosk.mouse.up()
            expect(secret).to_be_hidden()
            for title in chosen:
                expect(kiosk.locator("#screen-sent")).not_to_contain_text(title)
            assert presidium.call("close_vote", {"vote": selection})["ok"]
            check_result(kiosk, shots, "票决结果", "selection", ["入选", "不少于"])
            # Holding the button showed the choice on the tablet only: the one frame that
            # names the chosen projects is the signed ballot itself.
            picked = [ids[k] for k in (1, 4)]
            naming = [f for f in sent if any(f'"{p}"' in f for p in picked)]
            assert len(naming) == 1 and '["ballot",' in naming[0], naming
            expect(kiosk.locator("#screen-result")).not_to_contain_text("您的选择")

            # --- a named evaluation: one choice per department -------------------------
            evaluation = hall.votes[VoteKind.EVALUATION]
            assert presidium.call("open_vote", {"vote": evaluation})["ok"]
            expect(kiosk.locator("#screen-vote")).to_be_visible()
            departments = list(hall.titles[VoteKind.EVALUATION])
            marks = ["satisfied", "basic", "unsatisfied"]
            for i, tablet in enumerate(tablets):
                tablet.vote(evaluation, {d: marks[(i + k) % 3 if i > 2 else 0]
                                         for k, d in enumerate(departments)})  # fmt: skip
            words = ["满意", "基本满意", "不满意"]
            pressed = [words[k % 3] for k in range(len(departments))]
            subjects = kiosk.locator("#vote-body .subject")
            for k, word in enumerate(pressed):
                subjects.nth(k).locator("button.mark", has_text=word).first.click()
            kiosk.click("#vote-next")
            kiosk.click("#confirm-send")
            expect(kiosk.locator("#sent-heading")).to_have_text("已提交")
            lines = kiosk.locator("#sent-choice li")
            expect(lines).to_have_count(len(departments))
            for k, d in enumerate(departments):
                expect(lines.nth(k).locator(".k-choice-title")).to_have_text(
                    hall.titles[VoteKind.EVALUATION][d]
                )
                expect(lines.nth(k).locator(".k-choice-mark")).to_have_text(pressed[k])
            shots.take(kiosk, "tablet-choice-evaluation", ((800, 1280),))
            assert presidium.call("close_vote", {"vote": evaluation})["ok"]
            check_result(kiosk, shots, "测评结果", "evaluation", ["满意率", "名次"])
        finally:
            presidium.close()
            for tablet in tablets:
                tablet.close()

    assert errors == []
    assert shots.violations == [], "\n".join(shots.violations)


def check_result(kiosk: Any, shots: Shots, heading: str, kind: str, words: list[str]) -> None:
    """The result of ``kind``: headed by its word, figures not tables, nothing wrapped."""
    from playwright.sync_api import expect

    expect(kiosk.locator("#screen-result")).to_be_visible()
    expect(kiosk.locator("#result-heading")).to_have_text(heading)
    body = kiosk.locator("#result-body")
    expect(body.locator(".k-result")).to_be_visible()
    for word in ("应到", "实到", "已按", "未按", *words):
        expect(body).to_contain_text(word)
    assert body.locator("table").count() == 0
    assert kiosk.locator(ONE_LINE).count() > 4
    assert kiosk.evaluate(WRAPPED, ONE_LINE) == []
    # the page fits the tablet's width: nothing pushed off to the right
    assert kiosk.evaluate("() => document.documentElement.scrollWidth") <= SIZE["width"]
    shots.take(kiosk, f"tablet-result-{kind}", ((800, 1280),))
