"""The batch signature check (services/signatures.py): same verdicts inline and on
gevent's thread pool, in order, a bad or malformed signature False."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from crypto import KioskKey
from voting_server.services.signatures import OFFLOAD_MIN, verify_all


def _checks(n: int) -> tuple[list, list[bool]]:
    key, other = KioskKey.generate(), KioskKey.generate()
    checks, expected = [], []
    for i in range(n):
        data = f"statement {i}".encode()
        signer = other if i % 3 == 1 else key  # every third is signed by another key
        signature = signer.sign(data) if i % 5 != 4 else b"\0" * 10  # and some malformed
        checks.append((key.public, signature, data))
        expected.append(i % 3 != 1 and i % 5 != 4)
    return checks, expected


def test_inline_verdicts_are_in_order() -> None:
    checks, expected = _checks(OFFLOAD_MIN * 3)
    assert verify_all(checks) == expected
    assert verify_all([]) == []


def test_under_gevent_the_checks_run_on_a_pool_thread_with_the_same_verdicts() -> None:
    script = textwrap.dedent(
        """
        from gevent import monkey
        monkey.patch_all()
        import threading
        from gevent import get_hub
        from tests.test_signatures import _checks
        from voting_server.services import signatures

        seen = []
        real = signatures._verify_chunk
        def spy(checks):
            seen.append(threading.get_native_id())
            return real(checks)
        signatures._verify_chunk = spy
        checks, expected = _checks(40)
        assert signatures.verify_all(checks) == expected
        assert seen and seen[0] != threading.get_native_id(), "not on another OS thread"
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
