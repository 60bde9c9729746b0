"""The scrutineers' trustee page (监票人密钥页) in real Chromium (issue 20): three
designated scrutineers, each in a browser of their own, run the sitting's key ceremony
to the joint key — every page shows the same fingerprint, the one of the key the server
logged —; one downloads the encrypted backup file (a passphrase typed twice) and restores
it in a fresh browser, where a wrong passphrase is refused in Chinese. Then a secret
motion in trustee mode: three tablets encrypt their ballots to the joint key (the
fingerprint under the ballot is the pages'), the presidium closes the vote, the
scrutineers' pages decrypt the sums by themselves, and the result reaches the tablets
and the console: the counts the deputies pressed, proven (``content`` trustees).

Real server (``voting-server run``), headless Chromium at a scrutineer's laptop size
(1280×800) and a tablet held upright (800×1280), axe-core on every state. Screenshots go to
``test-artifacts/trustees/``; docs/screens/trustee-*.png are copies (docs/staff-pages.md).
Skips without Chromium (fails under REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import pytest

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
from voting_server.models import AttendanceMethod, Member, StaffRole, Vote
from voting_server.services import attendance, devices, results, staff, trustee_votes
from voting_server.services import trustee_ceremony as ceremonies

PASSWORD = "hall-staff-test-2026"
PASSPHRASE = "监票人备份口令 2026"
TIMEOUT_MS = 30_000
SIZES = ((1280, 800), (800, 1280))  # a scrutineer's laptop, a tablet held upright
TRUSTEES = ("jp1", "jp2", "jp3")

KIOSK_SEATS = (1, 2, 3)
PINS = {1: "135790", 2: "246802", 3: "975310"}
PRESIGNED = range(4, 34)  # with the three tablets: 33 of 61 present, a quorum

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def _prepare(instance: Path, url: str) -> dict[str, Any]:
    """The demo, the presidium and three scrutineers designated for the sitting in
    progress, and a key ceremony started with k = 2."""
    with preparing(instance, url) as (s, log):
        body = load_demo(s)
        users = {
            name: staff.create_user(s, name, name, role, PASSWORD, log=log)
            for name, role in (("zhuchi", StaffRole.PRESIDIUM),
                               *((t, StaffRole.SCRUTINEER) for t in TRUSTEES))
        }  # fmt: skip
        sitting = attendance.current_sitting(s, body.id)
        assert sitting is not None
        s.flush()
        results.designate_scrutineers(
            s, log, sitting.id, users["zhuchi"], [users[t].id for t in TRUSTEES], "经主任会议确定"
        )
        row = ceremonies.start_ceremony(s, log, sitting.id, users["zhuchi"], 2)
        return {"sitting": sitting.id, "ceremony": row.ceremony_id}


def _login(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/login?next=/trustees/")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/trustees/"))


def _fingerprint(joint_key: str) -> str:
    digits = hashlib.sha256(bytes.fromhex(joint_key)).hexdigest()[:8].upper()
    return f"{digits[:4]} {digits[4:]}"


def _heading(page: Any) -> str:
    return str(page.inner_text("#trustee-heading"))


def _wait_heading(page: Any, text: str) -> None:
    page.wait_for_function(
        "(text) => document.getElementById('trustee-heading').textContent.includes(text)", arg=text
    )


def _trustee_pages(browser: Any, base: str, errors: list[str]) -> list[Any]:
    pages = []
    for name in TRUSTEES:
        context = browser.new_context(viewport={"width": 1280, "height": 800},
                                      accept_downloads=True)  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc, name=name: errors.append(f"{name}: {exc}"))
        csp_violations(page, name, errors)
        _login(page, base, name)
        pages.append(page)
    return pages


def test_three_scrutineers_make_the_joint_key_and_one_restores_its_backup(
    tmp_path: Path,
) -> None:
    instance, url = new_instance(tmp_path)
    ready = _prepare(instance, url)
    shots = Shots(ARTIFACTS / "trustees")
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        pages = _trustee_pages(browser, base, errors)

        # The scrutineer's landing page (the audit log) offers the trustee page.
        first = pages[0]
        first.goto(f"{base}/audit/")
        first.click("#trustee-page-link")
        first.wait_for_url(re.compile(r"/trustees/"))

        # Step 1: one button; the first trustee's key is made and it waits for the others.
        for page in pages:
            page.wait_for_selector("#trustee-generate")
            assert _heading(page) == "第一步：生成您的密钥"
        shots.take(first, "generate", SIZES)
        first.click("#trustee-generate")
        _wait_heading(first, "等待其他监票人生成密钥")
        assert "已完成 1 / 3 人" in first.inner_text("#trustee-progress")
        shots.take(first, "wait", SIZES)

        # The others press theirs; shares and verdicts need no press: every page reaches
        # the key, with the same fingerprint, the one of the key the server logged.
        for page in pages[1:]:
            page.click("#trustee-generate")
        for page in pages:
            page.wait_for_selector("#trustee-key:not([hidden])")
        state = first.evaluate(
            "async (s) => (await fetch(`/api/trustees/sittings/${s}`)).json()", ready["sitting"]
        )
        assert state["phase"] == "done" and state["ceremony_id"] == ready["ceremony"]
        expected = _fingerprint(state["key"]["joint_key"])
        shown = [page.inner_text("#trustee-fingerprint").strip() for page in pages]
        assert shown == [expected] * 3, (shown, expected)
        assert _heading(first) == "密钥已生成：请下载加密备份文件"
        shots.take(first, "backup", SIZES)

        # The backup: passphrases that differ are refused in Chinese; then the download.
        first.fill("#backup-pass", PASSPHRASE)
        first.fill("#backup-pass2", PASSPHRASE + "x")
        first.click("#backup-download")
        assert first.inner_text("#backup-problem") == "两次输入的备份口令不一致，请重新输入"
        first.fill("#backup-pass2", PASSPHRASE)
        with first.expect_download() as download_info:
            first.click("#backup-download")
        backup = tmp_path / "backup.json"
        download_info.value.save_as(backup)
        text = backup.read_text(encoding="utf-8")
        assert '"congress-evote trustee backup v1"' in text
        assert "coefficients" not in text  # the secrets are inside the ciphertext only
        _wait_heading(first, "准备就绪：等待表决结束")
        first.wait_for_selector("#trustee-votes:not([hidden])")
        first.wait_for_selector("#trustee-vote-list li.none")
        assert first.inner_text("#trustee-vote-list") == "目前没有需要解密的无记名表决。"
        shots.take(first, "ready", SIZES)

        # A fresh browser (another computer): no key here; a wrong passphrase is refused,
        # the right one restores the key and the page carries on with the same fingerprint.
        fresh = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        fresh.set_default_timeout(TIMEOUT_MS)
        fresh.on("pageerror", lambda exc: errors.append(str(exc)))
        _login(fresh, base, TRUSTEES[0])
        _wait_heading(fresh, "这台电脑上没有您的密钥")
        assert fresh.is_visible("#trustee-restore") and fresh.is_hidden("#trustee-key")
        fresh.set_input_files("#restore-file", str(backup))
        fresh.fill("#restore-pass", "not the passphrase")
        fresh.click("#restore-go")
        fresh.wait_for_selector("#restore-problem:not([hidden])", timeout=60_000)
        assert fresh.inner_text("#restore-problem") == "无法恢复：备份口令不对，或文件已被改动"
        shots.take(fresh, "restore-refused", SIZES)
        fresh.fill("#restore-pass", PASSPHRASE)
        fresh.click("#restore-go")
        _wait_heading(fresh, "准备就绪：等待表决结束")
        assert fresh.inner_text("#trustee-fingerprint").strip() == expected

        # Another trustee's backup file is not this trustee's.
        other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        other.set_default_timeout(TIMEOUT_MS)
        _login(other, base, TRUSTEES[1])
        _wait_heading(other, "这台电脑上没有您的密钥")
        other.set_input_files("#restore-file", str(backup))
        other.fill("#restore-pass", PASSPHRASE)
        other.click("#restore-go")
        other.wait_for_selector("#restore-problem:not([hidden])", timeout=60_000)
        assert "属于另一次密钥仪式或另一位监票人" in other.inner_text("#restore-problem")

    assert errors == []
    assert shots.violations == [], "\n".join(shots.violations)


# --- a trustee-mode secret vote, from the tablets to the result -------------------------------


def _prepare_vote(instance: Path, url: str) -> dict[str, Any]:
    """As _prepare, and: the motion secret and in trustee mode, seats 1–3 with enrollment
    codes and PINs, seats 4–33 signed in by staff; no ceremony yet (the pages run it)."""
    with preparing(instance, url) as (s, log):
        body = load_demo(s)
        users = {
            name: staff.create_user(s, name, name, role, PASSWORD, log=log)
            for name, role in (("zhuchi", StaffRole.PRESIDIUM),
                               *((t, StaffRole.SCRUTINEER) for t in TRUSTEES))
        }  # fmt: skip
        s.flush()
        seats = {m.seat: m for m in s.query(Member).filter(Member.body_id == body.id)}
        codes = {}
        for seat in KIOSK_SEATS:
            devices.set_pin(s, seats[seat].id, PINS[seat])
            codes[seat] = devices.issue_enrollment_code(s, body.id, seat, users["zhuchi"].id)
        sitting = attendance.current_sitting(s, body.id)
        assert sitting is not None
        for seat in PRESIGNED:
            attendance.sign_in(s, log, sitting, seats[seat], AttendanceMethod.OPERATOR,
                               by=users["zhuchi"].id)  # fmt: skip
        motion = next(v for item in sitting.agenda_items for v in item.votes
                      if v.kind == VoteKind.MOTION)  # fmt: skip
        motion.secret = True
        s.flush()
        trustee_votes.set_trustee_mode(s, motion.id, True)
        results.designate_scrutineers(
            s, log, sitting.id, users["zhuchi"], [users[t].id for t in TRUSTEES], "经主任会议确定"
        )
        row = ceremonies.start_ceremony(s, log, sitting.id, users["zhuchi"], 2)
        return {"sitting": sitting.id, "ceremony": row.ceremony_id, "motion": motion.id,
                "codes": codes, "subject": motion.spec().subjects[0]}  # fmt: skip


def _kiosk(browser: Any, base: str, seat: int, code: str, errors: list[str]) -> Any:
    """A tablet enrolled for ``seat`` and signed in with its PIN (as test_browser_e2e)."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 800, "height": 1280}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(f"kiosk {seat}: {exc}"))
    csp_violations(page, f"kiosk {seat}", errors)
    page.goto(f"{base}/kiosk")
    expect(page.locator("#screen-enroll")).to_be_visible()
    page.fill("#enroll-code", code)
    page.click("#enroll-button")
    expect(page.locator("#screen-signin")).to_be_visible()
    for digit in PINS[seat]:
        page.click(f"#keypad button:text-is('{digit}')")
    page.click("#signin-button")
    expect(page.locator("#screen-waiting")).to_be_visible()
    return page


def _stored(url: str, vote_id: int) -> Any:
    with make_session_factory(make_engine(url))() as session:
        vote = session.get(Vote, vote_id)
        assert vote is not None
        return vote.result


def test_a_trustee_mode_secret_vote_from_the_tablets_to_the_decrypted_result(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    instance, url = new_instance(tmp_path)
    ready = _prepare_vote(instance, url)
    shots = Shots(ARTIFACTS / "trustees-vote")
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        pages = _trustee_pages(browser, base, errors)
        for page in pages:
            page.click("#trustee-generate")
        for page in pages:
            page.wait_for_selector("#trustee-backup:not([hidden])")
            page.fill("#backup-pass", PASSPHRASE)
            page.fill("#backup-pass2", PASSPHRASE)
            with page.expect_download():
                page.click("#backup-download")
            _wait_heading(page, "准备就绪：等待表决结束")
        fingerprint = pages[0].inner_text("#trustee-fingerprint").strip()

        kiosks = {seat: _kiosk(browser, base, seat, ready["codes"][seat], errors)
                  for seat in KIOSK_SEATS}  # fmt: skip
        console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        console.set_default_timeout(TIMEOUT_MS)
        console.on("pageerror", lambda exc: errors.append(f"console: {exc}"))
        console.goto(f"{base}/console")
        console.fill("#username", "zhuchi")
        console.fill("#password", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_url(f"{base}/console")
        expect(console.locator("#conn")).to_have_text("已连接")
        row = console.locator(f"tr[data-vote='{ready['motion']}']")
        row.get_by_role("button", name="开始表决").click()
        console.click("#confirm-yes")
        expect(console.locator("#live")).to_be_visible()

        # Each tablet shows the pages' fingerprint under the ballot, and encrypts.
        marks = {1: "赞成", 2: "反对", 3: "赞成"}
        for seat, page in kiosks.items():
            expect(page.locator("#screen-vote")).to_be_visible()
            expect(page.locator("#vote-fingerprint")).to_have_text(f"联合公钥指纹：{fingerprint}")
            page.locator(
                "#vote-body button.mark", has_text=re.compile(f"^✔? ?{marks[seat]}$")
            ).click()
            if seat == 1:
                shots.take(page, "tablet-ballot", ((800, 1280),))
            page.click("#vote-next")
            expect(page.locator("#screen-confirm")).to_be_visible()
            page.click("#confirm-send")
            expect(page.locator("#sent-heading")).to_have_text("已提交")
        shots.take(kiosks[1], "tablet-sent", ((800, 1280),))

        # The close: the pages decrypt the sums by themselves; the result reaches the
        # tablets and the console.
        row.get_by_role("button", name="结束表决").click()
        console.click("#confirm-yes")
        closed = time.monotonic()
        for page in kiosks.values():
            expect(page.locator("#screen-result")).to_be_visible()
        print(f"\nclose → result on the three tablets: {time.monotonic() - closed:.2f} s")

        # k = 2 pages suffice: the ones that decrypted show the vote counted (x of k), a
        # page that came too late finds the result in and says nothing is waiting; none
        # shows a problem.
        def says(page: Any) -> str:
            page.wait_for_function(
                "() => /解密完成|目前没有/.test(document.getElementById('trustee-vote-list')"
                ".textContent)"
            )
            return str(page.inner_text("#trustee-vote-list"))

        lists = [says(page) for page in pages]
        counted = [text for text in lists if "解密完成，表决结果已生成" in text]
        assert len(counted) >= 2, lists
        assert all("已有 2 / 2 名监票人提交解密" in text for text in counted), lists
        # the pages that decrypted recomputed the sums from the 3 tablets' signed ballots first
        assert sum("已核对 3 张签名选票" in text for text in counted) >= 2, lists
        assert all(page.is_hidden("#trustee-problem") for page in pages)
        decrypted = pages[lists.index(counted[0])]
        # its panel no longer says it is decrypting: it waits for the next vote
        assert decrypted.inner_text("#trustee-heading") == "准备就绪：等待表决结束"
        shots.take(decrypted, "decrypted", SIZES)
        shots.take(kiosks[1], "tablet-result", ((800, 1280),))

    result = _stored(url, ready["motion"])
    assert result is not None
    figures = result["subjects"][ready["subject"]]
    assert (figures["yes"], figures["no"]) == (2, 1), figures
    assert errors == []
    assert shots.violations == [], "\n".join(shots.violations)
