"""The presidium's console with a trustee-mode secret vote (issue 20, Deliver 3), in real
Chromium at the console's size (1280×800).

The real server (``voting-server run``) serves the demo committee with three designated
scrutineers (k = 2) whose key ceremony the Python trustee client runs over HTTP
(kiosk_client/trustee.py), three Python tablets that encrypt their ballots, and the
console in the browser. What the chair sees and does:

- the motion closed: 等待监票人解密（已有 0 / 需要 2 名）, large, with what the scrutineers
  do; one scrutineer decrypts → 1 / 2 without reloading; the second → the result in its
  place, with its read-aloud line, and the agenda offers 宣布结果 again;
- the selection closed, only one scrutineer decrypts: 改为人工计票 asks first and says
  the electronic ballots stay sealed, offers a reason written in advance, and cancels
  the vote; the secretariat's paper-count page then offers the form with that reason.

Screenshot of the waiting panel: docs/screens/console-awaiting-decryption.png (a copy of
test-artifacts/console-trustees/console-awaiting-decryption.png at 1280×800).
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto import KioskKey
from kiosk_client.client import KioskClient
from kiosk_client.trustee import TrusteeClient
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
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Member, StaffRole, Vote, VoteState
from voting_server.services import attendance, devices, results, staff, trustee_votes
from voting_server.services import trustee_ceremony as ceremonies

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

PASSWORD = "console-trustees-2026"
TRUSTEES = ("jp1", "jp2", "jp3")
K = 2
PINS = {1: "111111", 2: "222222", 3: "333333"}
PRESIGNED = range(4, 34)  # with the three tablets: 33 of 61 present
TIMEOUT_MS = 20_000
WAIT_S = 20.0
WIDTH, HEIGHT = 1280, 800
FOLDER = ARTIFACTS / "console-trustees"
DOCS_SHOT = Path(__file__).resolve().parent.parent / "docs" / "screens"


@dataclass(frozen=True)
class Hall:
    base: str
    sitting: int
    motion: int
    selection: int
    tablets: dict[int, tuple[KioskKey, str]]
    url: str


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    """The demo; the presidium, the secretariat and three scrutineers designated for the
    sitting with a key ceremony started (k = 2); the motion and the selection secret and
    in trustee mode; tablets at seats 1–3, seats 4–33 signed in by staff."""
    with preparing(instance, url) as (s, log):
        body = load_demo(s)
        users = {
            name: staff.create_user(s, name, name, role, PASSWORD, log=log)
            for name, role in (("zhuchi", StaffRole.PRESIDIUM), ("mishu", StaffRole.SECRETARIAT),
                               *((t, StaffRole.SCRUTINEER) for t in TRUSTEES))
        }  # fmt: skip
        s.flush()
        seats = {m.seat: m for m in s.scalars(select(Member).where(Member.body_id == body.id))}
        tablets = {}
        for seat, pin in PINS.items():
            key = KioskKey.generate()
            code = devices.issue_enrollment_code(s, body.id, seat, users["zhuchi"].id)
            tablets[seat] = (key, devices.enroll_device(s, log, code, key.public.spki_b64).id)
            devices.set_pin(s, seats[seat].id, pin)
        sitting = attendance.current_sitting(s, body.id)
        assert sitting is not None
        attendance.sign_in_many(
            s, log, sitting, [seats[n] for n in PRESIGNED], AttendanceMethod.OPERATOR
        )
        votes = {v.kind: v for item in sitting.agenda_items for v in item.votes}
        for kind in (VoteKind.MOTION, VoteKind.SELECTION):
            votes[kind].secret = True
            s.flush()
            trustee_votes.set_trustee_mode(s, votes[kind].id, True)
        results.designate_scrutineers(
            s, log, sitting.id, users["zhuchi"], [users[t].id for t in TRUSTEES], "经主任会议确定"
        )
        ceremonies.start_ceremony(s, log, sitting.id, users["zhuchi"], K)
        return {"sitting": sitting.id, "motion": votes[VoteKind.MOTION].id,
                "selection": votes[VoteKind.SELECTION].id, "tablets": tablets}  # fmt: skip


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    instance, url = new_instance(tmp_path)
    p = _prepare(instance, url)
    with running_server(instance, url, tmp_path) as (base, _banner):
        yield Hall(base, p["sitting"], p["motion"], p["selection"], p["tablets"], url)


def _key_ceremony(hall: Hall) -> list[TrusteeClient]:
    """The three scrutineers' devices, played in Python over HTTP, make the joint key."""
    clients = [TrusteeClient(hall.base, name, PASSWORD) for name in TRUSTEES]
    failures: list[BaseException] = []

    def run(client: TrusteeClient) -> None:
        try:
            client.run_ceremony(hall.sitting)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(150)
    assert not failures, failures
    return clients


def _tablet(hall: Hall, seat: int) -> KioskClient:
    key, device = hall.tablets[seat]
    client = KioskClient(hall.base, key, device)
    client.connect(WAIT_S)
    client.sign_in(PINS[seat], WAIT_S)
    return client


def _stored(url: str, vote_id: int) -> Vote:
    with make_session_factory(make_engine(url))() as session:
        vote = session.get(Vote, vote_id)
        assert vote is not None
        session.expunge(vote)
        return vote


def _login(page: Any, base: str, path: str, user: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")


def test_the_console_waits_for_the_scrutineers_and_offers_the_paper_count(hall: Hall) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    shots = Shots(FOLDER)
    trustees = _key_ceremony(hall)
    tablets: list[KioskClient] = []
    errors: list[str] = []
    with chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        csp_violations(page, "console", errors)
        try:
            _login(page, hall.base, "/console", "zhuchi")
            page.wait_for_url(re.compile(r".*/console$"))
            expect(page.locator("#conn")).to_have_text("已连接")
            tablets.extend(_tablet(hall, seat) for seat in PINS)
            expect(page.locator("#present")).to_have_text("33")
            panel = page.locator("#awaiting")
            count = page.locator("#awaiting-count")

            # The motion: three encrypted ballots, closed from the console.
            motion_row = page.locator(f"tr[data-vote='{hall.motion}']")
            motion_row.get_by_role("button", name="开始表决").click()
            page.click("#confirm-yes")
            expect(page.locator("#live")).to_be_visible()
            for client, mark in zip(tablets, ("yes", "no", "yes"), strict=True):
                client.vote(hall.motion, {"regulation": mark})
            expect(page.locator("#live-voted")).to_have_text("3")
            page.click("#live-close")
            page.click("#confirm-yes")

            # No result yet: the panel waits for the scrutineers, 0 of the 2 needed.
            expect(panel).to_be_visible()
            expect(page.locator("#live")).to_be_hidden()
            expect(page.locator("#after")).to_be_hidden()
            expect(count).to_have_text("等待监票人解密（已有 0 / 需要 2 名）")
            expect(page.locator("#awaiting-help")).to_contain_text("3 名监票人中的 2 名")
            expect(page.locator("#awaiting-help")).to_contain_text("页面自动解密")
            expect(page.locator("#awaiting-title")).to_have_text(
                _stored(hall.url, hall.motion).title
            )
            expect(page.locator("#awaiting-paper")).to_have_text("改为人工计票")
            expect(panel).to_contain_text("监票人无法到齐？")
            expect(panel.locator(".state-badge")).to_have_text("已结束，尚无结果")  # not 待宣布
            expect(motion_row.locator("td.state")).to_have_text(
                "已结束，尚无结果等待监票人解密（0 / 2）"
            )
            expect(motion_row.get_by_role("button", name="宣布结果")).to_have_count(0)
            expect(motion_row.get_by_role("button", name="改为人工计票")).to_be_visible()
            for selector in ("#awaiting-count", "#awaiting-paper", "#awaiting-help"):
                box = page.locator(selector).bounding_box()
                assert box is not None and box["y"] + box["height"] <= HEIGHT, (selector, box)
            font = page.locator("#awaiting-count").evaluate(
                "n => parseFloat(getComputedStyle(n).fontSize)"
            )
            assert font >= 28, font  # large: read from the chair's seat

            # One scrutineer's page decrypts: 1 / 2, live (no reload), still no result.
            assert trustees[0].decrypt_vote(hall.motion)
            expect(count).to_have_text("等待监票人解密（已有 1 / 需要 2 名）")
            expect(motion_row).to_contain_text("等待监票人解密（1 / 2）")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(FOLDER / "console-awaiting-decryption.png"))
            DOCS_SHOT.mkdir(parents=True, exist_ok=True)
            shutil.copy(FOLDER / "console-awaiting-decryption.png",
                        DOCS_SHOT / "console-awaiting-decryption.png")  # fmt: skip
            shots.take(page, "console-awaiting", ((WIDTH, HEIGHT),))

            # The second: the result takes the waiting panel's place, as for every vote.
            assert trustees[1].decrypt_vote(hall.motion)
            expect(page.locator("#after")).to_be_visible()
            expect(panel).to_be_hidden()
            expect(page.locator("#read-aloud")).to_have_text(
                "本次会议应到61人，实到33人，赞成2票，反对1票，弃权0票，未按30人，未通过。"
            )
            expect(motion_row).not_to_contain_text("等待监票人解密")
            expect(motion_row.get_by_role("button", name="宣布结果")).to_be_visible()
            assert _stored(hall.url, hall.motion).result is not None

            # The selection: only one scrutineer can come.
            selection_row = page.locator(f"tr[data-vote='{hall.selection}']")
            selection_row.get_by_role("button", name="开始表决").click()
            page.click("#confirm-yes")
            expect(page.locator("#live")).to_be_visible()
            tablets[0].vote(hall.selection, ["p01", "p02"])
            tablets[1].vote(hall.selection, ["p01"])
            expect(page.locator("#live-voted")).to_have_text("2")
            page.click("#live-close")
            page.click("#confirm-yes")
            expect(count).to_have_text("等待监票人解密（已有 0 / 需要 2 名）")
            assert trustees[2].decrypt_vote(hall.selection)
            expect(count).to_have_text("等待监票人解密（已有 1 / 需要 2 名）")

            # 改为人工计票: asked first; declining leaves the vote waiting.
            page.click("#awaiting-paper")
            dialog = page.locator("#confirm-dialog")
            expect(dialog).to_be_visible()
            expect(page.locator("#confirm-text")).to_contain_text("已投的电子选票永久密封")
            expect(page.locator("#confirm-text")).to_contain_text("纸质选票重新投票")
            expect(page.locator("#confirm-reason-label")).to_have_text(
                "取消原因（必填，记入审计日志）"
            )
            reason = "监票人不足 2 名，无法解密电子表决结果，改为人工计票"
            expect(page.locator("#confirm-reason")).to_have_value(reason)
            shots.take(page, "console-paper-fallback-confirm", ((WIDTH, HEIGHT),))
            page.click("#confirm-no")
            expect(dialog).to_be_hidden()
            expect(count).to_have_text("等待监票人解密（已有 1 / 需要 2 名）")
            assert _stored(hall.url, hall.selection).state is VoteState.CLOSED

            # Confirmed, with an empty reason refused, then the chair's own words.
            page.click("#awaiting-paper")
            page.fill("#confirm-reason", "")
            page.click("#confirm-yes")
            expect(page.locator("#confirm-error")).to_have_text("请填写取消原因")
            page.fill("#confirm-reason", reason + "（主席团决定）")
            page.click("#confirm-yes")
            expect(page.locator("#message")).to_have_text(
                "电子表决已取消。请组织纸质投票，由秘书处录入人工计票结果。"
            )
            expect(panel).to_be_hidden()
            expect(selection_row).to_contain_text("已取消")
            expect(selection_row.get_by_role("button", name="改为人工计票")).to_have_count(0)
            assert _stored(hall.url, hall.selection).state is VoteState.CANCELLED
            # the result panel is back to the last result (the motion's)
            expect(page.locator("#after")).to_be_visible()

            # The secretariat's paper-count page now offers the form, with the reason.
            office = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}).new_page()
            office.set_default_timeout(TIMEOUT_MS)
            _login(office, hall.base, f"/results/votes/{hall.selection}/paper", "mishu")
            expect(office.locator("main")).to_contain_text(
                "主席团取消理由：" + reason + "（主席团决定）"
            )
            expect(office.get_by_role("button", name="提交计票结果")).to_be_visible()
            office.context.close()
        finally:
            for client in tablets:
                client.close()
            for trustee in trustees:
                trustee.close()
            context.close()
    assert errors == []
    assert shots.violations == [], "\n".join(shots.violations)
