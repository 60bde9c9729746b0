"""Server processes started from the command line: the one home of spawning one,
waiting until it answers, and stopping it.

``simulate``, the benchmark, the tests and the scale-out stack (``stack``) all
start the production server the same way: ``voting-server run`` (gunicorn,
gevent) on a free local port, in its own session so that a Ctrl-C in the
terminal reaches only the parent, which then stops its children in order.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import requests

SERVER_START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    """``voting-server run`` with this interpreter (no dependence on PATH), plain HTTP:
    on localhost, or behind nginx (the stack)."""
    return [sys.executable, "-c", "from voting_server.cli import main; main()", "run",
            "--host", host, "--port", str(port), "--no-tls"]  # fmt: skip


def server_env(
    database_url: str, instance: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a ``voting-server run`` child: quiet logs unless ``extra`` says
    otherwise; gunicorn's gevent worker picks the async mode itself."""
    env = dict(
        os.environ,
        VOTING_INSTANCE_DIR=str(instance),
        VOTING_DATABASE_URL=database_url,
        VOTING_LOG_LEVEL="warning",
        VOTING_ACCESS_LOG="/dev/null",
    )
    env.pop("VOTING_ASYNC_MODE", None)
    env.update(extra or {})
    return env


@contextmanager
def served(
    database_url: str,
    instance: Path,
    log_path: Path,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """``voting-server run`` on ``port`` (default: a free one) until the block ends;
    yields its base URL. ``env`` adds to (or overrides) the inherited environment."""
    port = port or free_port()
    with serving(run_argv(port), server_env(database_url, instance, env), port, log_path) as base:
        yield base


@contextmanager
def serving(
    argv: list[str],
    env: dict[str, str],
    port: int,
    log_path: Path,
    cwd: Path | None = None,
    health_path: str = "/healthz",
) -> Iterator[str]:
    """Run the server ``argv`` (listening on ``port``, output to ``log_path``) until the
    block ends; yields its base URL once ``health_path`` answers."""
    with spawned(argv, env, log_path, cwd) as server:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base + health_path, server, log_path)
        yield base


@contextmanager
def spawned(
    argv: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process (its output appended to ``log_path``), stopped when the block ends."""
    process = start(argv, env, log_path, cwd)
    try:
        yield process
    finally:
        stop_all([process])


def start(
    argv: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own: a Ctrl-C in the terminal reaches only
    the parent, which stops its children in order."""
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to every process at once (each drains in parallel, gunicorn for up to its
    graceful timeout), then SIGKILL to any still running after ``STOP_TIMEOUT_S``."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise click.ClickException(f"the server exited with {server.returncode}:\n{tail}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"the server did not answer {url} in time")
