"""Simulated sittings, run once per test session and shared by the tests that read them.

``named`` and ``secret`` run ``voting-server simulate --members 61`` (the
production server on a local port, 61 kiosks over real sockets) and yield
(report, bundle directory).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = "from voting_server.cli import main; main()"


def simulate(*args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "simulate", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def verify(bundle: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", "from audit.cli import main; main()", "verify", str(bundle),
         "--json", *extra],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="session")
def named(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("named") / "bundle"
    code, report, stderr = simulate("--members", "61", "--seed", "7", "--out", str(out))
    assert code == 0, stderr[-3000:]
    return report, out


@pytest.fixture(scope="session")
def secret(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("secret") / "bundle"
    code, report, stderr = simulate("--members", "61", "--seed", "8", "--secret", "--out", str(out))
    assert code == 0, stderr[-3000:]
    return report, out


def lines_of(bundle: Path) -> list[bytes]:
    return (bundle / "log.jsonl").read_bytes().splitlines()
