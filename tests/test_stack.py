"""The scale-out stack (docs/deployment.md): two server processes behind nginx,
Socket.IO's Redis message queue, PostgreSQL — started by ``running_stack``,
the code of ``voting-server stack`` / ``make stack``.

Every client here is a real one over real sockets: the presidium's console of
``simulate`` (logged in through the form) and the Python kiosk client. A
client is pinned to one process by connecting to that process's own port;
through nginx, every client of this machine (127.0.0.1) lands on the same
process, by design of the sticky hash.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from crypto import KioskKey
from kiosk_client.client import KioskClient
from tests.support.services import unavailable
from voting_server.cli.processes import free_port
from voting_server.cli.simulate import Console, Hall, prepare, run_sitting
from voting_server.cli.stack import Stack, running_stack
from voting_server.settings import message_queue_channel

pytestmark = pytest.mark.slow  # make check leaves it out (README)

TIMEOUT_S = 30.0
CLI = "from voting_server.cli import main; main()"
AUDIT_CLI = "from audit.cli import main; main()"


@contextmanager
def hall_stack(
    database_url: str, tmp_path: Path, message_queue: str, members: int
) -> Iterator[tuple[Hall, Stack]]:
    """The demo sitting with ``members`` seats in a fresh database, served by two processes."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    hall = prepare(database_url, instance, members, secret=False)
    with running_stack(
        database_url,
        instance=instance,
        workdir=tmp_path / "stack",
        processes=2,
        message_queue=message_queue,
    ) as stack:
        yield hall, stack


def kiosk(base: str, hall: Hall, seat: int, **options: Any) -> KioskClient:
    """Seat ``seat``'s tablet, enrolled, connected to ``base`` and signed in."""
    client = KioskClient(base, KioskKey.generate(), **options)
    client.enroll(hall.codes[seat])
    client.connect(timeout=TIMEOUT_S)
    client.sign_in(hall.pins[seat], timeout=TIMEOUT_S)
    return client


def console_event(console: Console, event: str, match: Callable[[Any], bool]) -> Any:
    """The first ``event`` the console received that ``match``es, waiting for it."""
    deadline = time.monotonic() + TIMEOUT_S
    with console._changed:
        while True:
            for name, data in console.events:
                if name == event and match(data):
                    return data
            if time.monotonic() > deadline:
                raise TimeoutError(f"the console received no matching {event!r}")
            console._changed.wait(0.5)


def log_entries_per_nonce(bundle: Path, vote: int) -> Counter[str]:
    """How many press entries (ballot or participation) the log holds per nonce."""
    counts: Counter[str] = Counter()
    for line in (bundle / "log.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["type"] in {"ballot", "participation"} and entry["data"].get("vote") == vote:
            counts[entry["data"]["nonce"]] += 1
    return counts


def export_and_verify(
    database_url: str, instance: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    from voting_server.services.export import export_bundle

    export_bundle(database_url, out, server_key_file=instance / "server_ed25519.pem")
    return subprocess.run(
        [sys.executable, "-c", AUDIT_CLI, "verify", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


# --- (a) the message queue carries broadcasts between the processes ---------------------


def test_broadcasts_reach_clients_of_the_other_process(
    postgres_url: str, redis_url: str, nginx_path: str, tmp_path: Path
) -> None:
    with hall_stack(postgres_url, tmp_path, redis_url, members=3) as (hall, stack):
        a, b = stack.backends
        console = Console(a, *hall.presidium)  # the presidium on process A
        clients: list[KioskClient] = []
        try:
            # A kiosk on process B signs in: process B broadcasts the attendance, and the
            # presidium's console on process A receives it.
            on_b = kiosk(b, hall, 1)
            clients.append(on_b)
            attendance = console_event(console, "attendance", lambda d: d.get("present") == 1)
            assert attendance["members"] == 3
            # A kiosk through nginx, starting with long-polling and upgrading to a
            # WebSocket: every request of its session must reach the same process.
            via_nginx = kiosk(stack.url, hall, 2, transports=("polling", "websocket"))
            clients.append(via_nginx)
            marks = [c.events.mark() for c in clients]
            vote = hall.votes[0].id
            console.request("open_vote", {"vote": vote})  # quorate: 2 of 3; emitted by A
            for client, mark in zip(clients, marks, strict=True):
                opened = client.events.wait_for(
                    "vote_opened", lambda d: d.get("id") == vote, TIMEOUT_S, mark
                )
                assert opened["title"] == hall.votes[0].title
        finally:
            console.close()
            for client in clients:
                client.close()


# --- (b) a sitting through nginx ----------------------------------------------------------


def test_simulate_drives_a_sitting_through_nginx(
    postgres_url: str, redis_url: str, nginx_path: str, tmp_path: Path
) -> None:
    """``voting-server simulate --server-url``: the public interface, against the stack."""
    instance = tmp_path / "instance"
    with running_stack(
        postgres_url, instance=instance, workdir=tmp_path / "stack", message_queue=redis_url
    ) as stack:
        bundle = tmp_path / "bundle"
        done = subprocess.run(
            [sys.executable, "-c", CLI, "simulate", "--members", "12", "--seed", "5",
             "--burst", "1", "--server-url", stack.url, "--database-url", postgres_url,
             "--out", str(bundle)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "VOTING_INSTANCE_DIR": str(instance)},  # the stack's key
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [v["match"] for v in report["votes"]] == [True, True, True]
    assert report["verified"] is True
    verify = subprocess.run(
        [sys.executable, "-c", AUDIT_CLI, "verify", str(bundle)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_sitting_with_kiosks_on_both_processes(
    postgres_url: str, redis_url: str, nginx_path: str, tmp_path: Path
) -> None:
    """The presidium through nginx, the kiosks spread over nginx and both processes:
    every published result equals the kiosks' own tally, and the log verifies."""
    with hall_stack(postgres_url, tmp_path, redis_url, members=12) as (hall, stack):
        outcomes, ack_ms, _receipts = run_sitting(
            stack.url, hall, seed=7, burst_s=1.0, progress=lambda _m: None,
            kiosk_bases=[stack.url, *stack.backends],
        )  # fmt: skip
    assert [o["match"] for o in outcomes] == [True] * len(hall.votes), outcomes
    assert ack_ms
    verify = export_and_verify(postgres_url, tmp_path / "instance", tmp_path / "bundle")
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- (c) Redis restarted under the stack -------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own on a free port: killed and restarted at will
    (the machine's shared Redis is never touched)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory = binary, directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    unavailable("redis-server", f"did not start on port {self.port}")
                time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def subscribers(self, channel: str) -> int:
        answer = redis.Redis.from_url(self.url, socket_timeout=1).pubsub_numsub(channel)
        return int(answer[0][1])


@pytest.fixture
def private_redis(redis_server_path: str, tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(redis_server_path, tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()


def test_redis_restarted_mid_vote(
    postgres_url: str, private_redis: PrivateRedis, nginx_path: str, tmp_path: Path
) -> None:
    """Redis dies during a vote: ballots are still acknowledged and stored exactly once
    (the queue carries broadcasts, never ballots); once Redis is back on its port, both
    processes subscribe again and broadcasts reach the other process's clients."""
    members = 6
    channel = message_queue_channel(postgres_url)
    with hall_stack(postgres_url, tmp_path, private_redis.url, members) as (hall, stack):
        a, b = stack.backends
        console = Console(a, *hall.presidium)
        voters = [kiosk(a, hall, seat) for seat in range(1, members)]
        watcher = kiosk(b, hall, members)  # on the other process; never presses
        try:
            vote = hall.votes[0]
            mark = watcher.events.mark()
            console.request("open_vote", {"vote": vote.id})
            watcher.events.wait_for(
                "vote_opened", lambda d: d.get("id") == vote.id, TIMEOUT_S, mark
            )

            private_redis.kill()
            receipts: dict[int, dict[str, Any]] = {}
            errors: list[BaseException] = []

            def press(client: KioskClient) -> None:
                try:
                    subject = vote.spec.subjects[0]
                    receipts[client.seat or 0] = client.vote(vote.id, {subject: "yes"})
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=press, args=(v,)) for v in voters]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert sorted(receipts) == list(range(1, members))
            # Still without Redis: a broadcast reaches the clients of its own process
            # (the manager delivers locally first, then publishes).
            console_event(
                console,
                "participation",
                lambda d: d["vote"] == vote.id and d["voted"] == members - 1,
            )

            private_redis.start()  # same port
            deadline = time.monotonic() + 90  # the queue's listeners retry with backoff
            while private_redis.subscribers(channel) < 2:
                assert time.monotonic() < deadline, "the processes did not subscribe again"
                time.sleep(0.5)
            mark = watcher.events.mark()
            closed = console.request("close_vote", {"vote": vote.id})["vote"]
            assert closed["result"]["cast"] == members - 1
            result = watcher.events.wait_for(
                "result", lambda d: d.get("vote") == vote.id, TIMEOUT_S, mark
            )
            assert result["result"] == closed["result"]
        finally:
            console.close()
            for client in [*voters, watcher]:
                client.close()
    bundle = tmp_path / "bundle"
    verify = export_and_verify(postgres_url, tmp_path / "instance", bundle)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    per_nonce = log_entries_per_nonce(bundle, vote.id)
    assert sorted(per_nonce) == sorted(r["nonce"] for r in receipts.values())
    assert set(per_nonce.values()) == {1}


# --- the command ------------------------------------------------------------------------


def test_nginx_config_from_the_template_is_valid(nginx_path: str, tmp_path: Path) -> None:
    from voting_server.cli.stack import NGINX_TEMPLATE, nginx_config

    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    text = nginx_config(NGINX_TEMPLATE.read_text(), tmp_path, "127.0.0.1:1", [5001, 5002, 5003])
    conf.write_text(text)
    assert re.search(r"@[A-Z]+@", text) is None  # every field filled in
    assert text.count("server 127.0.0.1:500") == 3
    checked = subprocess.run(
        [nginx_path, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr


def test_stack_command_refuses_sqlite(nginx_path: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLI, "stack", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "PostgreSQL" in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_stack_command_starts_serves_and_stops(
    postgres_url: str, redis_url: str, nginx_path: str, tmp_path: Path
) -> None:
    """One command starts the stack; it answers through nginx; SIGTERM stops all of it."""
    port = free_port()
    command = subprocess.Popen(
        [sys.executable, "-c", CLI, "stack", "--processes", "2", "--port", str(port),
         "--database-url", postgres_url, "--message-queue", redis_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "VOTING_INSTANCE_DIR": str(tmp_path / "instance")},
    )  # fmt: skip
    try:
        assert command.stdout is not None
        first = command.stdout.readline()  # printed once nginx answers
        assert f"scale-out stack on http://127.0.0.1:{port}" in first, first + (
            command.stderr.read() if command.poll() is not None and command.stderr else ""
        )
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json() == {"ok": True}
        logs = tmp_path / "instance" / "stack"
        assert sorted(p.name for p in logs.glob("server-*.log")) == ["server-1.log", "server-2.log"]
    finally:
        command.send_signal(signal.SIGTERM)
        _, err = command.communicate(timeout=60)
    assert command.returncode == 0, err
    assert "stopped" in err
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)


def test_behind_nginx_the_tablets_address_is_throttled_not_nginxs(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VOTING_PROXY_HOPS=1 (set by the stack): the address is the last X-Forwarded-For
    value, the one nginx appends — one tablet's failures never lock out the hall."""
    from tests.support.live import make_live_app

    monkeypatch.setenv("VOTING_PROXY_HOPS", "1")
    client = make_live_app(sqlite_url, tmp_path / "instance", demo=False).test_client()

    def enroll(forwarded_for: str) -> int:
        answer = client.post(
            "/api/kiosk/enroll",
            json={"code": "WRONG-CODE", "public_key": "not a key"},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return answer.status_code

    statuses = [enroll("10.0.0.5") for _ in range(12)]
    assert statuses[0] == 400 and statuses[-1] == 429
    assert enroll("10.0.0.6") == 400  # another tablet, through the same nginx
    assert enroll("10.0.0.6, 10.0.0.5") == 429  # a forged first value changes nothing
