"""Sampling the server worker with py-spy during the burst, and summarizing the samples.

py-spy is not a dependency: ``--profile`` uses it when it is installed
(``.venv/bin/pip install py-spy``; it needs ptrace rights on the worker).
Samples are taken with ``--nonblocking`` (the worker is not paused) in
py-spy's raw format, one collapsed stack per line: ``f1;f2;...;fN count``,
each frame ``function (file)``. Idle samples (the gevent hub waiting in
epoll) are left out by py-spy, so the sample count measures busy time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 200  # samples per second


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start(
    pid: int, seconds: float, out: Path, subprocesses: bool = False
) -> subprocess.Popen[bytes] | None:
    """py-spy recording ``pid`` (and its children, ``subprocesses``) into ``out``."""
    exe = py_spy()
    if exe is None:
        return None
    argv = [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "--rate", str(RATE), "--format", "raw", "--nolineno", "--nonblocking",
            "--output", str(out), *(["--subprocesses"] if subprocesses else [])]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _package(frame: str) -> str:
    """``fn (sqlalchemy/orm/session.py)`` → ``sqlalchemy``; stdlib modules by file name."""
    inside = frame[frame.rfind("(") + 1 : frame.rfind(")")] if "(" in frame else frame
    top = inside.split("/")[0]
    return top.removesuffix(".py") if top else inside


def summarize(raw: Path, seconds: float, top: int = 25) -> dict[str, Any]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    ours: Counter[str] = Counter()  # innermost frame of the project's own code
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        packages[_package(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
        project = [f for f in frames if _package(f) in {"voting_server", "audit", "crypto"}]
        ours[project[-1] if project else "(outside the project's code)"] += n

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, n, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "rate_hz": RATE,
        "seconds": round(seconds, 1),
        "busy_share": round(total / (RATE * seconds), 3) if seconds else None,
        "self_by_package": share(packages),
        "self": share(own),
        "inclusive": share(inclusive),
        "innermost_project_frame": share(ours),
    }


def text_report(summary: dict[str, Any]) -> str:
    lines = [
        f"py-spy: {summary['samples']} busy samples at {summary['rate_hz']} Hz over "
        f"{summary['seconds']} s (busy share of one core ≈ {summary['busy_share']})",
    ]
    for key, title in (
        ("self_by_package", "self time by package of the innermost frame"),
        ("innermost_project_frame", "innermost frame of the project's own code"),
        ("inclusive", "inclusive (frame anywhere on the stack)"),
        ("self", "self time (innermost frame)"),
    ):
        lines += ["", title + ":"]
        lines += [f"  {pct:5.1f}%  {n:6d}  {name}" for name, n, pct in summary[key]]
    return "\n".join(lines) + "\n"
