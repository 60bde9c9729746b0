"""What the browser tests share: Debian's Chromium under Playwright, the real server
on a free port, screenshots at the hall's screen sizes, and the axe-core check.

Chromium is the system's (``/usr/bin/chromium`` or ``$VOTING_TEST_CHROMIUM``),
never Playwright's own download. axe-core comes from the ``axe-playwright-python``
package of the dev extras, which ships ``axe.min.js``: the check runs offline.
Without Chromium or Playwright the tests skip; with REQUIRE_SERVICES=1 they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from crypto import ServerKey
from tests.support.db import migrate
from tests.support.services import REPO, unavailable
from voting_server.cli.processes import free_port
from voting_server.db import make_engine, make_session_factory
from voting_server.services.audit_log import AuditLog

CHROMIUM = Path(os.environ.get("VOTING_TEST_CHROMIUM", "/usr/bin/chromium"))
# What Chromium needs on this machine: no sandbox (root in a container), no GPU,
# and nothing that reaches for the internet (the hall has none).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"

# The hall's screens: a tablet held landscape and portrait, and the 16:9 projector.
SIZES: tuple[tuple[int, int], ...] = ((1280, 800), (800, 1280), (1920, 1080))

# axe-core impacts that fail the check (minor and moderate are reported, not failed).
BLOCKING_IMPACTS = ("serious", "critical")


def new_instance(tmp_path: Path) -> tuple[Path, str]:
    """An empty instance folder under ``tmp_path`` and the URL of its SQLite database."""
    instance = tmp_path / "instance"
    instance.mkdir()
    return instance, f"sqlite:///{instance / 'voting.sqlite3'}"


@contextmanager
def preparing(instance: Path, url: str) -> Iterator[tuple[Session, AuditLog]]:
    """The migrated database in one transaction (committed on exit), and the audit log
    under the server key that ``voting-server run`` will load from ``instance``."""
    migrate(url)
    log = AuditLog(ServerKey.load_or_create(instance / "server_ed25519.pem"))
    with make_session_factory(make_engine(url)).begin() as session:
        yield session, log


@contextmanager
def running_server(instance: Path, url: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """``voting-server run`` (gunicorn + gevent, as in the hall) on a free port until healthy.

    Yields (base URL, what the command printed before gunicorn took over)."""
    port = free_port()
    env = dict(
        os.environ,
        VOTING_INSTANCE_DIR=str(instance),
        VOTING_SECRET_KEY="browser-test-secret-key-not-for-production",
        VOTING_LOG_LEVEL="warning",
        VOTING_ACCESS_LOG=str(workdir / "access.log"),
    )
    out = (workdir / "server.out").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-c", "from voting_server.cli import main; main()", "run",
         "--host", "127.0.0.1", "--port", str(port), "--database-url", url],
        env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                out.seek(0)
                pytest.fail(f"the server did not start:\n{out.read()[-3000:]}")
            time.sleep(0.2)
        out.seek(0)
        yield base, out.read()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        out.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright Browser on the system's Chromium (skip, or fail under REQUIRE_SERVICES=1)."""
    if not CHROMIUM.exists():
        unavailable("Chromium", f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Chromium", "the playwright package is missing (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def csp_violations(page: Any, name: str, found: list[str]) -> None:
    """Collect into ``found`` what Chromium reports blocked by the page's
    Content-Security-Policy (an inline script, style or handler that would not run)."""

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{name}: {message.text}")

    page.on("console", on_console)


def axe_source() -> str:
    """axe-core's browser bundle, from the installed axe-playwright-python package."""
    try:
        import axe_playwright_python
    except ImportError:
        unavailable("Chromium", "axe-playwright-python is missing (pip install -e '.[dev]')")
    path = Path(axe_playwright_python.__file__).resolve().parent / "axe.min.js"
    if not path.exists():
        unavailable("Chromium", f"axe-core bundle not found at {path}")
    return path.read_text(encoding="utf-8")


class Shots:
    """Screenshots of every state of every page at the three hall sizes, and axe-core
    run on each state. Violations are collected, not raised, so that one run shows
    them all; the test asserts the list is empty at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.count = 0
        self.axe = axe_source()
        self.violations: list[str] = []
        self.checked: list[str] = []

    def take(self, page: Any, name: str, sizes: tuple[tuple[int, int], ...] = SIZES) -> None:
        """Full-page screenshots at each size (the viewport is put back afterwards),
        then the accessibility check of this state."""
        self.count += 1
        original = page.viewport_size
        for width, height in sizes:
            page.set_viewport_size({"width": width, "height": height})
            path = self.folder / f"{self.count:02d}-{name}-{width}x{height}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
        if original:
            page.set_viewport_size(original)
        self.check(page, name)

    def check(self, page: Any, name: str) -> None:
        """axe-core on the page as it is now (WCAG 2.x A and AA rules and best practices)."""
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol: the pages' Content-Security-Policy
            # refuses an inline <script> (add_script_tag), and must keep refusing it.
            page.evaluate(self.axe)
        found = page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ["violations"]});
                return r.violations.map((v) => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " — " + n.failureSummary),
                }));
            }"""
        )
        self.checked.append(name)
        for v in found:
            if v["impact"] in BLOCKING_IMPACTS:
                nodes = "\n      ".join(v["nodes"])
                self.violations.append(
                    f"{name}: [{v['impact']}] {v['id']}: {v['help']}\n      {nodes}"
                )
