"""Kiosk signature checks (services/signatures.py): the same verdicts inline and in
the checker process, in order, a bad key, a wrong signer or a malformed signature
False; callers that arrive together share one frame; a checker that dies costs
nothing but time."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from crypto import KioskKey
from voting_server.services.signatures import Check, KeyCache, SignatureChecker, verify_inline


def _checks(n: int) -> tuple[list[Check], list[bool]]:
    key, other = KioskKey.generate(), KioskKey.generate()
    checks: list[Check] = []
    expected = []
    for i in range(n):
        data = f"statement {i}".encode()
        signer = other if i % 3 == 1 else key  # every third is signed by another key
        signature = signer.sign(data) if i % 5 != 4 else b"\0" * 10  # and some malformed
        spki = key.public.spki_b64 if i % 7 != 6 else "not a key"  # and some keys unparsable
        checks.append((spki, signature, data))
        expected.append(i % 3 != 1 and i % 5 != 4 and i % 7 != 6)
    return checks, expected


def test_inline_verdicts_are_in_order() -> None:
    checks, expected = _checks(40)
    assert True in expected and False in expected
    assert verify_inline(checks, KeyCache()) == expected
    assert SignatureChecker(out_of_process=False).verify(checks) == expected
    assert SignatureChecker(out_of_process=False).verify([]) == []


def test_the_checker_process_gives_the_same_verdicts() -> None:
    checks, expected = _checks(40)
    checker = SignatureChecker(out_of_process=True)
    try:
        assert checker.verify(checks) == expected
        assert checker.verify(checks[:3]) == expected[:3]
        assert (checker.frames, checker.sent) == (2, 43)  # it really went to the process
        assert checker._child is not None and checker._child.pid != os.getpid()
    finally:
        checker.close()


def test_a_checker_killed_mid_frame_is_replaced_and_the_frame_checked_inline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    checks, expected = _checks(6_000)  # ~0.4 s of checking: time to kill it mid-frame
    checker = SignatureChecker(out_of_process=True)

    def kill_the_child() -> None:
        while checker._child is None:
            threading.Event().wait(0.001)
        os.kill(checker._child.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_child)
    killer.start()
    try:
        with caplog.at_level(logging.WARNING):
            assert checker.verify(checks) == expected
        killer.join()
        assert checker.frames == 0, "the frame came back from a killed process"
        assert "checking inline" in caplog.text
        assert checker.verify(checks[:5]) == expected[:5]  # a new process
        assert checker.frames == 1
    finally:
        checker.close()


def test_under_gevent_callers_arriving_together_share_frames() -> None:
    script = textwrap.dedent(
        """
        from gevent import monkey
        monkey.patch_all()
        import gevent
        from tests.test_signatures import _checks
        from voting_server.services.signatures import SignatureChecker

        checker = SignatureChecker()
        assert checker.out_of_process, "under gevent the checks leave the event loop"
        checks, expected = _checks(400)
        jobs = [gevent.spawn(checker.verify, checks[i : i + 2]) for i in range(0, 400, 2)]
        gevent.joinall(jobs, raise_error=True)
        assert [v for job in jobs for v in job.value] == expected
        assert checker.sent == 400, checker.sent
        assert checker.frames < len(jobs) // 4, checker.frames
        checker.close()
        print("ok", checker.frames)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")
