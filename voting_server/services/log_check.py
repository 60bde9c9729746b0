"""The auditor page's verification: export the current log and run the verifier on it.

The work runs in a child process — exactly ``voting-audit export`` then
``voting-audit verify --json`` — so a long check (a million entries takes
a while) never stalls the server's event loop during a vote, and what the
page shows is what the auditor's own command says. A thread waits for the
child and records progress (entries exported) and the report. One check at
a time per server process; the page polls while it runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_AUDIT_CLI = "from voting_server.audit_cli import main; main()"
_PROGRESS = re.compile(rb"exported (\d+) entries")


@dataclass
class Check:
    """One run: ``running`` → ``done`` (``report`` set) or ``error`` (``error`` set)."""

    total: int  # entries in the log when the check started
    body: int = 0  # whose log (one log per body, docs/bodies.md)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str = "running"
    phase: str = "export"  # export → verify
    exported: int = 0
    finished_at: datetime | None = None
    report: dict[str, Any] | None = None  # verify --json: ok, entries, head, errors
    error: str | None = None

    @property
    def percent(self) -> int:
        if self.phase == "verify" or not self.total:
            return 100
        return min(100, self.exported * 100 // self.total)


class LogCheck:
    def __init__(self, database_url: str, instance_dir: Path) -> None:
        self._database_url = database_url
        self._instance_dir = instance_dir
        self._lock = threading.Lock()
        self.current: Check | None = None
        self._thread: threading.Thread | None = None

    def start(self, total: int, body: int) -> bool:
        """Start a check of ``body``'s log as it is now; False if one is already running."""
        with self._lock:
            if self.current is not None and self.current.state == "running":
                return False
            check = self.current = Check(total=total, body=body)
            self._thread = threading.Thread(
                target=self._run, args=(check,), name="log-check", daemon=True
            )
            self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> Check | None:
        """Until the running check ends (tests; the page polls instead)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.current

    def _run(self, check: Check) -> None:
        # The URL goes through the environment, not argv: it may hold a password.
        env = {
            **os.environ,
            "VOTING_DATABASE_URL": self._database_url,
            "VOTING_INSTANCE_DIR": str(self._instance_dir),
        }
        out = Path(tempfile.mkdtemp(prefix="log-check-"))
        try:
            bundle = out / "bundle"
            export = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _AUDIT_CLI,
                    "export",
                    "--out",
                    str(bundle),
                    "--body",
                    str(check.body),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            assert export.stderr is not None
            messages = []
            for line in export.stderr:
                found = _PROGRESS.search(line)
                if found:
                    check.exported = int(found.group(1))
                else:
                    messages.append(line.decode("utf-8", "replace").strip())
            if export.wait() != 0:
                raise RuntimeError(" ".join(m for m in messages if m)[-500:] or "export failed")
            check.exported, check.phase = check.total, "verify"
            verify = subprocess.run(
                [sys.executable, "-c", _AUDIT_CLI, "verify", str(bundle), "--json"],
                env=env,
                capture_output=True,
                check=False,
            )
            if verify.returncode not in (0, 1):
                raise RuntimeError(verify.stderr.decode("utf-8", "replace").strip()[-500:])
            check.report = json.loads(verify.stdout)
            check.state = "done"
        except (OSError, RuntimeError, ValueError) as exc:
            check.error, check.state = str(exc) or exc.__class__.__name__, "error"
        finally:
            check.finished_at = datetime.now(UTC)
            shutil.rmtree(out, ignore_errors=True)
