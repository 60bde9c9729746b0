"""Reusable pieces for tests of the live server: an app on a migrated database
with the demo loaded, staff accounts and logged-in clients, enrolled kiosks
with their keys, authenticated Socket.IO test clients, and the app served on
a real local port.

``tests/conftest.py`` loads this module as a plugin, so its fixtures
(``live_app``, ``presidium``, ``secretariat``, ``enrolled_kiosk``,
``live_server``) are available to every test by name; the plain functions
(``make_live_app``, ``create_staff``, ``login``, ``post_form``,
``enroll_kiosk``, ``kiosk_socket``, ``staff_socket``, ``serve``, and the
production server as a killable process, ``ServerProcess``) are imported
as usual. A test that wants an authenticated kiosk and a presidium socket::

    def test_something(live_app, presidium):
        kiosk_sio, answer = kiosk_socket(live_app, enroll_kiosk(live_app, seat=3))
        console = staff_socket(live_app, presidium.client)
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIOTestClient
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from audit.entry import canonical_bytes
from crypto import KioskKey
from tests.support.db import migrate
from voting_server.app import create_app
from voting_server.cli.processes import free_port
from voting_server.cli.simulate import Console
from voting_server.demo import load_demo
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.models import AttendanceMethod, Body, StaffRole
from voting_server.services import attendance, devices, staff
from voting_server.services.transactions import write_transaction
from voting_server.settings import TestingConfig
from voting_server.sockets import connection
from voting_server.sockets.identity import connected, forget
from voting_server.views.auth import SESSION_CSRF

PASSWORD = "correct horse battery"  # every test account's password unless given


# --- the app -----------------------------------------------------------------------------


def make_live_app(database_url: str, instance_dir: Path, *, demo: bool = True) -> Flask:
    """The real app (Socket.IO in threading mode) on a migrated database; the
    demo committee (61 seats) loaded unless ``demo=False``. The server key
    lives in ``instance_dir``."""
    migrate(database_url)
    config = TestingConfig(database_url)
    instance_dir.mkdir(parents=True, exist_ok=True)
    config.INSTANCE_DIR = str(instance_dir)
    app = create_app(config)
    if demo:
        with app.app_context(), write_transaction(sessions()) as session:
            load_demo(session)
    return app


def body_id(app: Flask) -> int:
    """The id of the (first) body: the demo committee."""
    with app.app_context(), sessions()() as session:
        found = session.scalar(select(Body.id).order_by(Body.id).limit(1))
    assert found is not None, "no body: was the demo loaded?"
    return found


def sign_in_by_staff(
    app: Flask, seats: Iterable[int], pin_on: Mapping[int, str] | None = None
) -> None:
    """代为签到 of ``seats`` in the current sitting of the (first) body. It marks attendance
    only: the deputies of ``pin_on`` (seat → tablet) then enter their own PIN on that
    tablet (``pin_confirmed``), without which no ballot of theirs counts."""
    body = body_id(app)
    with app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, body)
        assert sitting is not None, "no current sitting"
        for seat in seats:
            member = attendance.member_at_seat(s, body, seat)
            assert member is not None, f"no member at seat {seat}"
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=None)
            if pin_on and seat in pin_on:
                attendance.confirm_pin(s, audit_log(), sitting, member, pin_on[seat])


def forget_connections() -> None:
    """Forget every connection the process remembers (clients of earlier tests
    that were never disconnected), so each test starts with nobody online."""
    for client in connected():
        forget(client.sid)
    connection._pending.clear()


@pytest.fixture
def live_app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    forget_connections()
    yield make_live_app(sqlite_url, tmp_path / "instance")
    forget_connections()


# --- staff -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    password: str
    role: str


def create_staff(
    app: Flask,
    role: StaffRole | str,
    username: str | None = None,
    password: str = PASSWORD,
    bodies: list[int] | None = None,
) -> StaffAccount:
    """An account of ``role`` serving ``bodies`` (None: every body)."""
    role = StaffRole(role)
    username = username or f"{role.value}-user"
    with app.app_context(), write_transaction(sessions()) as session:
        user = staff.create_user(
            session, username, f"测试{role.value}", role, password, log=audit_log(), bodies=bodies
        )
        account = StaffAccount(user.id, user.username, password, role.value)
    return account


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session (fetching the login page makes one)."""
    with client.session_transaction() as data:
        token = data.get(SESSION_CSRF)
    if token is None:
        client.get("/login")
        with client.session_transaction() as data:
            token = data.get(SESSION_CSRF)
    assert isinstance(token, str)
    return token


def login(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    """A Flask test client logged in through the real login form."""
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None) -> Any:
    """POST a form with the session's CSRF token, as the pages' forms do."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client)})


@dataclass
class LoggedIn:
    client: FlaskClient
    account: StaffAccount


def logged_in(app: Flask, role: StaffRole | str, username: str | None = None) -> LoggedIn:
    account = create_staff(app, role, username)
    return LoggedIn(login(app, account.username, account.password), account)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_on_each_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """``live_app`` once on the embedded SQLite and once on PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    forget_connections()
    app = make_live_app(url, tmp_path / "instance")
    yield app
    with app.app_context():
        app.extensions["voting.engine"].dispose()  # PostgreSQL drops the database next
    forget_connections()


@pytest.fixture
def presidium(live_app: Flask) -> LoggedIn:
    return logged_in(live_app, StaffRole.PRESIDIUM)


@pytest.fixture
def secretariat(live_app: Flask) -> LoggedIn:
    return logged_in(live_app, StaffRole.SECRETARIAT)


def staff_socket(app: Flask, client: FlaskClient) -> SocketIOTestClient:
    """A Socket.IO test client on the logged-in session of ``client``."""
    sio = socketio.test_client(app, flask_test_client=client)
    assert sio.is_connected(), "staff connection refused"
    return sio


# --- kiosks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolledKiosk:
    device_id: str
    seat: int
    body_id: int
    key: KioskKey

    def sign(self, statement: dict[str, Any]) -> str:
        """Base64 of the raw r‖s signature over the statement's canonical bytes."""
        return base64.b64encode(self.key.sign(canonical_bytes(statement))).decode("ascii")

    def auth_signature(self, challenge: str) -> str:
        return self.sign({"type": "kiosk-auth", "device": self.device_id, "challenge": challenge})


def enroll_kiosk(app: Flask, seat: int, key: KioskKey | None = None) -> EnrolledKiosk:
    """A tablet enrolled for ``seat`` through the service (a code issued and used)."""
    key = key or KioskKey.generate()
    body = body_id(app)
    with app.app_context(), write_transaction(sessions()) as session:
        code = devices.issue_enrollment_code(session, body, seat, None)
        device = devices.enroll_device(session, audit_log(), code, key.public.spki_b64)
        enrolled = EnrolledKiosk(device.id, device.seat, device.body_id, key)
    return enrolled


def challenge_of(sio: SocketIOTestClient) -> str:
    """The ``challenge`` the server sent on this connection."""
    events = [e for e in sio.get_received() if e["name"] == "challenge"]
    assert len(events) == 1, events
    return events[0]["args"][0]["challenge"]


def kiosk_socket(app: Flask, kiosk: EnrolledKiosk) -> tuple[SocketIOTestClient, dict[str, Any]]:
    """An authenticated kiosk connection and the answer to ``authenticate``."""
    sio = socketio.test_client(app, auth={"device": kiosk.device_id})
    assert sio.is_connected(), "kiosk connection refused"
    challenge = challenge_of(sio)
    answer = sio.emit(
        "authenticate",
        {"device": kiosk.device_id, "signature": kiosk.auth_signature(challenge)},
        callback=True,
    )
    assert answer.get("ok"), answer
    return sio, answer


@pytest.fixture
def enrolled_kiosk(live_app: Flask) -> EnrolledKiosk:
    """Seat 1's tablet, enrolled."""
    return enroll_kiosk(live_app, 1)


# --- a real server ----------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def serve(app: Flask) -> LiveServer:
    """Serve ``app`` (HTTP, Socket.IO polling and WebSocket) on a free
    127.0.0.1 port in a thread; ``stop()`` it when done. The same WSGI app
    as production, served by Werkzeug's threaded server instead of gunicorn."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    return LiveServer(url, server, thread)


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = serve(live_app)
    yield server
    server.stop()


# --- the production server as a process ---------------------------------------------------


@dataclass
class ServerProcess:
    """The production server (``voting-server run``: gunicorn, gevent) as a process that
    can be killed with SIGKILL and started again on the same port and database."""

    url: str
    instance: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start it and wait until ``/healthz`` answers (``timeout``: longer when
        thousands of kiosks are knocking at the same moment)."""
        env = dict(os.environ, VOTING_INSTANCE_DIR=str(self.instance), VOTING_DATABASE_URL=self.url,
                   VOTING_LOG_LEVEL="warning", VOTING_ACCESS_LOG="/dev/null")  # fmt: skip
        env.pop("VOTING_ASYNC_MODE", None)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from voting_server.cli import main; main()", "run",
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()  # not left running behind a failed test
        raise AssertionError(f"the server did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (gunicorn's arbiter and its worker)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP: the server hangs; connections stay open, nothing is answered."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


def console_call(console: Console, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """A presidium request that survives the console's own reconnection after a restart."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return console.request(event, data)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
