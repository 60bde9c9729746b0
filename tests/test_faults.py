"""Crashes lose nothing: kill -9 the server at random moments of a burst, restart, check.

The production server (``voting-server run``: gunicorn, gevent) runs on a
local port; 61 kiosks (the Python kiosk client, reconnecting and resending
by themselves) press during a burst while the server is killed with
SIGKILL at a random moment and started again on the same database. After
every restart, every ballot a kiosk got a receipt for is in the database
and the log exactly once, the open vote resumed, and nothing a kiosk was
not told about is lost: each kiosk keeps resending its unacknowledged
ballot until it gets a receipt. At the end the vote is closed, its result
is the tally of the last acknowledged press of each kiosk, and the
exported log verifies.

``VOTING_FAULT_MOMENTS`` sets the number of kills (default 50; ``make
soak`` runs thousands).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import socketio
from sqlalchemy import select

from audit.bundle import verify_bundle
from crypto import KioskKey
from kiosk_client.client import KioskClient, auth_statement, sign_statement
from rules import tally
from tests.support.live import ServerProcess, console_call
from voting_server.cli.simulate import Console, prepare, random_ballot
from voting_server.db import make_engine, make_session_factory
from voting_server.models import AuditEntry, Press
from voting_server.services.export import export_bundle

pytestmark = pytest.mark.slow  # make check leaves it out (README)

MOMENTS = int(os.environ.get("VOTING_FAULT_MOMENTS", "50"))
MEMBERS = 61
PRESSERS = 12  # kiosks pressing in each burst
BURST_S = 0.6


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[ServerProcess, Any, list[KioskClient], Console]]:
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{tmp_path / 'faults.sqlite3'}"
    prepared = prepare(url, instance, MEMBERS, secret=False)
    server = ServerProcess(url, instance, tmp_path / "server.log")
    server.start()

    def kiosk(seat: int) -> KioskClient:
        client = KioskClient(server.base, KioskKey.generate(), ack_timeout_s=2.0)
        client.enroll(prepared.codes[seat])
        client.connect(timeout=30)
        client.sign_in(prepared.pins[seat], timeout=30)
        return client

    with ThreadPoolExecutor(16) as pool:
        kiosks = list(pool.map(kiosk, range(1, MEMBERS + 1)))
    console = Console(server.base, *prepared.presidium)
    try:
        yield server, prepared, kiosks, console
    finally:
        console.close()
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda k: k.close(), kiosks))
        server.stop()


def logged_nonces(url: str, vote: int) -> Counter[str]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            lines = s.scalars(select(AuditEntry.line).where(AuditEntry.type == "ballot")).all()
            stored = s.scalars(select(Press.nonce).where(Press.vote_id == vote)).all()
    finally:
        engine.dispose()
    nonces = Counter(json.loads(line)["data"]["nonce"] for line in lines)
    assert Counter(stored) == nonces  # the press rows and the log agree
    return nonces


@pytest.mark.slow
@pytest.mark.timeout(60 + 12 * MOMENTS)  # about 4 s a moment: kill, restart, reconnect
def test_kill_9_mid_burst_loses_and_duplicates_nothing(hall) -> None:
    server, prepared, kiosks, console = hall
    vote = prepared.votes[0]
    rng = random.Random(20261125)
    console_call(console, "open_vote", {"vote": vote.id})
    acked: dict[str, tuple[int, Any]] = {}  # nonce → (seat, ballot), in order of receipt
    last: dict[int, Any] = {}  # seat → last acknowledged ballot (last_press counts)
    lock = threading.Lock()

    def press(seat: int, delay: float, ballot: Any) -> None:
        time.sleep(delay)
        receipt = kiosks[seat - 1].vote(vote.id, ballot, deadline_s=120)
        with lock:
            assert receipt["nonce"] not in acked
            acked[receipt["nonce"]] = (seat, ballot)
            last[seat] = ballot

    for moment in range(MOMENTS):
        seats = rng.sample(range(1, MEMBERS + 1), PRESSERS)
        threads = [
            threading.Thread(target=press, args=(s, rng.uniform(0, BURST_S), random_ballot(vote.spec, rng)))
            for s in seats
        ]  # fmt: skip
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0, BURST_S))  # the crash, somewhere in the burst
        server.kill()
        server.start()
        for t in threads:
            t.join(timeout=180)
            assert not t.is_alive(), f"moment {moment}: a kiosk never got its receipt"
        nonces = logged_nonces(server.url, vote.id)
        assert set(nonces) == set(acked), f"moment {moment}: acknowledged ≠ logged"
        assert max(nonces.values()) == 1, f"moment {moment}: a ballot logged twice"

    assert server.starts == MOMENTS + 1
    closed = console_call(console, "close_vote", {"vote": vote.id})["vote"]
    present = closed["result"]["present"]
    assert closed["result"] == tally(vote.spec, MEMBERS, present, list(last.values()))
    bundle = server.log_path.parent / "bundle"
    export_bundle(server.url, bundle, server_key_file=server.instance / "server_ed25519.pem")
    report = verify_bundle(bundle)
    assert report.ok, report.errors


def wait_until(condition: Any, timeout_s: float) -> None:
    """Poll ``condition`` until true; fail after ``timeout_s`` (a bound, not a speed check)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.postgres
def test_the_database_away_for_a_moment_refuses_retryably_and_loses_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL stops taking connections mid-vote: presses are refused with a retryable
    error and change nothing; the kiosks resend, and once it is back every ballot lands once."""
    import sqlalchemy as sa

    from kiosk_client.client import ballot_payload, new_nonce

    instance = tmp_path / "instance"
    instance.mkdir()
    prepared = prepare(postgres_url, instance, 5, secret=False)
    server = ServerProcess(postgres_url, instance, tmp_path / "server.log")
    server.start()
    admin = sa.create_engine(
        sa.make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    name = sa.make_url(postgres_url).database

    def database_away(away: bool) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {not away}'))
            if away:  # and drop the server's pooled connections
                conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name})  # fmt: skip

    kiosks: list[KioskClient] = []
    console = None
    try:
        for seat in range(1, 6):
            client = KioskClient(server.base, KioskKey.generate(), ack_timeout_s=2.0)
            client.enroll(prepared.codes[seat])
            client.connect(timeout=30)
            client.sign_in(prepared.pins[seat], timeout=30)
            kiosks.append(client)
        console = Console(server.base, *prepared.presidium)
        vote = prepared.votes[0]
        console.request("open_vote", {"vote": vote.id})
        kiosks[0].vote(vote.id, {"regulation": "yes"})

        database_away(True)
        payload = ballot_payload(kiosks[1].key, vote.id, 2, new_nonce(), {"regulation": "no"})
        answer = kiosks[1]._sio.call("ballot", payload, timeout=30)
        assert answer["ok"] is False and answer["error"] == "database_unavailable"
        assert answer["retry"] is True and answer["message"] == "系统繁忙，请稍候重试"
        receipts: dict[int, dict[str, Any]] = {}

        def press(i: int) -> None:  # the client library retries a retryable refusal by itself
            receipts[i] = kiosks[i].vote(vote.id, {"regulation": "no"}, deadline_s=60)

        threads = [threading.Thread(target=press, args=(i,)) for i in (2, 3)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        database_away(False)
        for t in threads:
            t.join(timeout=90)
        assert set(receipts) == {2, 3}
        # the refused press was never stored: resending its nonce now stores it once
        again = kiosks[1]._sio.call("ballot", payload, timeout=30)
        assert again["ok"] is True and again["receipt"]["press"] == 1
        nonces = logged_nonces(postgres_url, vote.id)
        assert len(nonces) == 4 and max(nonces.values()) == 1
        closed = console.request("close_vote", {"vote": vote.id})["vote"]
        assert closed["result"]["subjects"]["regulation"]["yes"] == 1
        assert closed["result"]["subjects"]["regulation"]["no"] == 3

        # A kiosk whose proof reaches the server while the database is away is refused
        # retryably — and then challenged again, so it does not stay unauthenticated.
        late = kiosks[4]  # seat 5's tablet, on a second connection of its own
        challenges: list[str] = []
        raw = socketio.Client(reconnection=False)
        raw.on("challenge", lambda data: challenges.append(data["challenge"]))
        raw.connect(server.base, auth={"device": late.device_id}, transports=["websocket"])
        try:
            wait_until(lambda: len(challenges) == 1, 10)

            def prove(challenge: str) -> dict[str, Any]:
                signature = sign_statement(late.key, auth_statement(late.device_id, challenge))
                answer = raw.call("authenticate", {"device": late.device_id,
                                                    "signature": signature}, timeout=30)  # fmt: skip
                return answer

            database_away(True)
            refused = prove(challenges[0])
            assert refused["error"] == "database_unavailable" and refused["retry"] is True
            database_away(False)
            wait_until(lambda: len(challenges) == 2, 15)
            assert prove(challenges[1])["ok"] is True
        finally:
            raw.disconnect()
    finally:
        database_away(False)
        if console is not None:
            console.close()
        for client in kiosks:
            client.close()
        server.stop()
        admin.dispose()
    bundle = tmp_path / "bundle"
    export_bundle(postgres_url, bundle, server_key_file=instance / "server_ed25519.pem")
    assert verify_bundle(bundle).ok


class CuttableLink:
    """The hall network between kiosks and the server: a TCP relay on a local port
    whose answers (server → kiosk) can be lost and whose connections can be cut."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.losing_answers = threading.Event()
        self.connections: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                kiosk_side, _ = self.listener.accept()
            except OSError:
                return  # closed
            server_side = socket.create_connection(("127.0.0.1", self.server_port))
            with self._lock:
                self.connections.append((kiosk_side, server_side))
            threading.Thread(target=self._relay, args=(kiosk_side, server_side, False),
                             daemon=True).start()  # fmt: skip
            threading.Thread(target=self._relay, args=(server_side, kiosk_side, True),
                             daemon=True).start()  # fmt: skip

    def _relay(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (answers and self.losing_answers.is_set()):
                    target.sendall(data)
        except OSError:
            pass  # cut
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Every connection through the link breaks at once."""
        with self._lock:
            connections, self.connections = self.connections, []
        for pair in connections:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        self.cut()


def test_a_kiosk_cut_off_mid_send_resends_and_gets_the_same_receipt(tmp_path: Path) -> None:
    """A kiosk's ballot reaches the server and is stored, but the receipt is lost on
    the way back and the connection breaks. The kiosk library reconnects, proves its
    key again and resends the same payload: still one press, and the receipt it gets
    is the one stored for that press."""
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{tmp_path / 'cut.sqlite3'}"
    prepared = prepare(url, instance, 3, secret=False, pins=False, operator_sign_in=True)
    server = ServerProcess(url, instance, tmp_path / "server.log")
    link: CuttableLink | None = None
    kiosk: KioskClient | None = None
    console = None
    try:
        server.start()
        link = CuttableLink(server.port)
        kiosk = KioskClient(link.base, KioskKey.generate(), ack_timeout_s=10.0)
        kiosk.enroll(prepared.codes[2])
        kiosk.connect(timeout=30)
        kiosk.sign_in(prepared.pins[2], timeout=30)  # staff marked the hall; the PIN is its own
        console = Console(server.base, *prepared.presidium)
        vote = prepared.votes[0]
        console.request("open_vote", {"vote": vote.id})
        # the tablet must show the vote before answers are lost: a kiosk that has not yet
        # heard vote_opened asks for the state first, and that answer would be the one lost
        kiosk.events.wait_for("vote_opened", lambda v: v.get("id") == vote.id, timeout=30)

        link.losing_answers.set()
        receipts: list[dict[str, Any]] = []
        sending = threading.Thread(
            target=lambda: receipts.append(kiosk.vote(vote.id, {"regulation": "no"}))
        )
        sending.start()
        deadline = time.monotonic() + 30
        while not logged_nonces(url, vote.id):  # stored; its receipt is being lost
            assert time.monotonic() < deadline, "the ballot never reached the server"
            time.sleep(0.01)
        (pending,) = kiosk.outbox.unacknowledged()
        assert pending.sends == 1 and not pending.acknowledged
        link.cut()
        link.losing_answers.clear()
        sending.join(timeout=60)
        assert receipts, "the ballot was never acknowledged"
        assert pending.sends >= 2  # the same payload, resent on the new connection

        assert logged_nonces(url, vote.id) == Counter({pending.nonce: 1})
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as s:
                press = s.scalars(select(Press).where(Press.vote_id == vote.id)).one()
        finally:
            engine.dispose()
        assert {**receipts[0], "seat": 2} == press.receipt  # the one stored (it keeps the seat)
        assert receipts[0]["entry"] == press.entry_idx
        assert receipts[0]["nonce"] == pending.nonce and receipts[0]["press"] == 1
        closed = console.request("close_vote", {"vote": vote.id})["vote"]
        assert closed["result"]["cast"] == 1
        assert closed["result"]["subjects"]["regulation"]["no"] == 1
    finally:
        if console is not None:
            console.close()
        if kiosk is not None:
            kiosk.close()
        if link is not None:
            link.close()
        server.stop()


def test_a_kiosk_closed_while_the_server_is_away_stops_reconnecting(tmp_path: Path) -> None:
    """A tablet put away (``close``) during an outage knocks no more: python-socketio's
    ``disconnect`` alone does nothing between reconnection attempts, which then go on
    for ever."""
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{tmp_path / 'closed.sqlite3'}"
    prepared = prepare(url, instance, 2, secret=False)
    server = ServerProcess(url, instance, tmp_path / "server.log")
    server.start()
    kiosk = KioskClient(server.base, KioskKey.generate())
    try:
        kiosk.enroll(prepared.codes[1])
        kiosk.connect(timeout=30)
        server.kill()

        def reconnecting() -> bool:
            task = kiosk._sio._reconnect_task  # python-socketio's reconnection thread
            return task is not None and task.is_alive()

        deadline = time.monotonic() + 30
        while not reconnecting():  # the drop is noticed at once: the socket is closed
            assert time.monotonic() < deadline, "the kiosk never started to reconnect"
            time.sleep(0.05)
        kiosk.close()
        assert not reconnecting() and not kiosk.authenticated
    finally:
        kiosk.close()
        server.stop()
