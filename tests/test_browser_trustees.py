"""The scrutineers' trustee page (监票人密钥页) in real Chromium (issue 20): three
designated scrutineers, each in a browser of their own, run the sitting's key ceremony
to the joint key — every page shows the same fingerprint, the one of the key the server
logged —; one downloads the encrypted backup file (a passphrase typed twice) and restores
it in a fresh browser, where a wrong passphrase is refused in Chinese.

Real server (``voting-server run``), headless Chromium at a scrutineer's laptop size
(1280×800) and a tablet held upright (800×1280), axe-core on every state. Screenshots go to
``test-artifacts/trustees/``; docs/screens/trustee-*.png are copies (docs/staff-pages.md).
Skips without Chromium (fails under REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

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
from voting_server.models import StaffRole
from voting_server.services import attendance, results, staff
from voting_server.services import trustee_ceremony as ceremonies

PASSWORD = "hall-staff-test-2026"
PASSPHRASE = "监票人备份口令 2026"
TIMEOUT_MS = 30_000
SIZES = ((1280, 800), (800, 1280))  # a scrutineer's laptop, a tablet held upright
TRUSTEES = ("jp1", "jp2", "jp3")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


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


def test_three_scrutineers_make_the_joint_key_and_one_restores_its_backup(
    tmp_path: Path,
) -> None:
    instance, url = new_instance(tmp_path)
    ready = _prepare(instance, url)
    shots = Shots(ARTIFACTS / "trustees")
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        pages = []
        for name in TRUSTEES:
            context = browser.new_context(viewport={"width": 1280, "height": 800},
                                          accept_downloads=True)  # fmt: skip
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            csp_violations(page, name, errors)
            _login(page, base, name)
            pages.append(page)

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
