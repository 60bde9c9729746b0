"""The hall over Socket.IO: the demo committee (61 seats) in the live app, a tablet enrolled
at every seat and PINs issued (``prepare_hall``, the ``hall`` fixture), a snapshot of
everything a refused request must leave as it was, and one ``Channel`` interface over
Flask-SocketIO's test client and a real WebSocket (kiosks, staff screens, tablets).
Used by the socket tests: voting_sockets, seats, secrecy, hostile_ballots, fuzz_sockets."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import socketio as socketio_client
from flask import Flask
from flask_socketio import SocketIOTestClient
from sqlalchemy import func, select

from audit.verify import verify_log
from crypto import KioskKey
from kiosk_client.client import EventLog, KioskClient, Refused, ballot_payload, new_nonce
from rules import VoteSpec
from rules.kinds import VoteKind
from tests.support.bodies import only_body_id
from tests.support.live import (
    PASSWORD,
    EnrolledKiosk,
    challenge_of,
    create_staff,
    logged_in,
    staff_socket,
)
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.models import (
    Attendance,
    AuditEntry,
    Body,
    Member,
    Press,
    Vote,
)
from voting_server.services import devices
from voting_server.services.audit_log import iter_lines
from voting_server.services.passwords import new_pin
from voting_server.services.transactions import write_transaction

WAIT = 15.0  # seconds to wait for an event or an answer; never reached when all is well


MEMBERS = 61


STAFF_ROLES = ("presidium", "secretariat", "scrutineer", "display")


NOTHING: Any = object()  # "emit without a payload"


@dataclass(frozen=True)
class Deputy:
    seat: int
    member_id: int
    name: str
    kiosk: EnrolledKiosk
    pin: str


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused request must leave as it was."""

    entries: int
    head: str
    votes: tuple[tuple[int, str, str], ...]  # id, state, result
    presses: tuple[tuple[int, int, int, bool], ...]  # vote, member, press no, sealed?
    attendance: tuple[tuple[int, int], ...]


@dataclass
class Hall:
    """The demo committee with a tablet enrolled at every seat and PINs issued."""

    app: Flask
    deputies: dict[int, Deputy]  # by seat
    votes: dict[VoteKind, int]

    def configure(self, vote_id: int, **columns: Any) -> None:
        with self.app.app_context(), write_transaction(sessions()) as s:
            vote = s.get(Vote, vote_id)
            assert vote is not None
            for name, value in columns.items():
                setattr(vote, name, value)

    def spec(self, vote_id: int) -> VoteSpec:
        with self.app.app_context(), sessions()() as s:
            vote = s.get(Vote, vote_id)
            assert vote is not None
            return vote.spec()

    def vote_row(self, vote_id: int) -> dict[str, Any]:
        with self.app.app_context(), sessions()() as s:
            vote = s.get(Vote, vote_id)
            assert vote is not None
            return {"state": vote.state.value, "result": vote.result,
                    "opened_at": vote.opened_at, "closes_at": vote.closes_at}  # fmt: skip

    def snapshot(self) -> Snapshot:
        with self.app.app_context(), sessions()() as s:
            last = s.execute(
                select(AuditEntry.idx, AuditEntry.hash).order_by(AuditEntry.idx.desc()).limit(1)
            ).first()
            votes = tuple(
                (v.id, v.state.value, json.dumps(v.result, sort_keys=True))
                for v in s.scalars(select(Vote).order_by(Vote.id))
            )
            presses = tuple(
                (p.vote_id, p.member_id, p.press_no, p.sealed is not None)
                for p in s.scalars(select(Press).order_by(Press.id))
            )
            attendance = tuple(
                (a.sitting_id, a.member_id)
                for a in s.scalars(select(Attendance).order_by(Attendance.id))
            )
            entries = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
        return Snapshot(entries, last.hash if last else "", votes, presses, attendance)

    def lines(self) -> list[bytes]:
        with self.app.app_context(), sessions()() as s:
            return list(iter_lines(s, only_body_id(s)))

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def verify(self) -> None:
        report = verify_log(self.lines(), audit_log_key(self.app))
        assert report.ok, report.errors


def audit_log_key(app: Flask) -> bytes:
    with app.app_context():
        return audit_log().key.public_bytes


def prepare_hall(app: Flask, pin_seats: Iterable[int] = ()) -> Hall:
    """Enroll a tablet at each of the 61 seats, as the secretariat does before a sitting
    (``enrollment-codes``), and give the members at ``pin_seats`` a PIN (``issue-pins``
    gives everyone one; a PIN costs an argon2 hash, so only those the test types)."""
    with app.app_context(), write_transaction(sessions()) as s:
        body = s.scalars(select(Body).order_by(Body.id)).first()
        assert body is not None and body.member_count == MEMBERS
        kiosks = {}
        for seat in range(1, MEMBERS + 1):
            key = KioskKey.generate()
            code = devices.issue_enrollment_code(s, body.id, seat, None)
            device = devices.enroll_device(s, audit_log(), code, key.public.spki_b64)
            kiosks[seat] = EnrolledKiosk(device.id, seat, body.id, key)
        members = {m.seat: m for m in s.scalars(select(Member).where(Member.body_id == body.id))}
        pins = {seat: new_pin() for seat in pin_seats}
        for seat, pin in pins.items():
            devices.set_pin(s, members[seat].id, pin)
        deputies = {
            seat: Deputy(seat, members[seat].id, members[seat].name, kiosks[seat],
                         pins.get(seat, ""))
            for seat in kiosks
        }  # fmt: skip
        votes = {v.kind: v.id for item in body.sittings[0].agenda_items for v in item.votes}
    return Hall(app, deputies, votes)


@pytest.fixture
def hall(live_app: Flask) -> Hall:
    return prepare_hall(live_app)


class Channel:
    """One Socket.IO connection: emit an event and get its acknowledgement; see
    what the server sent to it."""

    def call(self, event: str, data: Any = NOTHING) -> Any:
        raise NotImplementedError

    def events(self, name: str) -> list[Any]:
        raise NotImplementedError

    def wait_for(
        self, name: str, predicate: Callable[[Any], bool] | None = None, timeout: float = WAIT
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            for data in self.events(name):
                if predicate is None or predicate(data):
                    return data
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name!r} event matching within {timeout} s")
            time.sleep(0.02)

    def close(self) -> None:
        raise NotImplementedError


class FlaskTestChannel(Channel):
    """Through Flask-SocketIO's test client (no network; broadcasts arrive at once)."""

    def __init__(self, sio: SocketIOTestClient) -> None:
        self.sio = sio
        self._seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def call(self, event: str, data: Any = NOTHING) -> Any:
        args = () if data is NOTHING else (data,)
        return self.sio.emit(event, *args, callback=True)

    def events(self, name: str) -> list[Any]:
        with self._lock:
            if self.sio.is_connected():
                self._seen.extend(self.sio.get_received())
            return [
                e["args"][0] if len(e["args"]) == 1 else e["args"]
                for e in self._seen
                if e["name"] == name
            ]

    def close(self) -> None:
        if self.sio.is_connected():
            self.sio.disconnect()


class SocketChannel(Channel):
    """Through a python-socketio client on a real WebSocket."""

    def __init__(self, sio: socketio_client.Client, log: EventLog) -> None:
        self.sio = sio
        self.log = log

    def call(self, event: str, data: Any = NOTHING) -> Any:
        return self.sio.call(event, None if data is NOTHING else data, timeout=WAIT)

    def events(self, name: str) -> list[Any]:
        return self.log.all(name)

    def wait_for(
        self, name: str, predicate: Callable[[Any], bool] | None = None, timeout: float = WAIT
    ) -> Any:
        try:
            return self.log.wait_for(name, predicate, timeout)
        except TimeoutError as exc:
            raise AssertionError(str(exc)) from None

    def close(self) -> None:
        self.sio.disconnect()


def _recording_client() -> tuple[socketio_client.Client, EventLog]:
    sio = socketio_client.Client(reconnection=False)
    log = EventLog()
    sio.on("*", lambda event, *args: log.record(event, args[0] if len(args) == 1 else list(args)))
    return sio, log


def real_kiosk_channel(url: str, kiosk: EnrolledKiosk, *, authenticate: bool = True) -> Channel:
    """A kiosk's raw connection over a real WebSocket, authenticated unless told not to."""
    sio, log = _recording_client()
    challenges: list[str] = []
    got = threading.Event()
    sio.on("challenge", lambda data: (challenges.append(data["challenge"]), got.set()))
    sio.connect(url, auth={"device": kiosk.device_id}, transports=["websocket"])
    assert got.wait(WAIT), "no challenge"
    if authenticate:
        signature = kiosk.auth_signature(challenges[0])
        answer = sio.call(
            "authenticate", {"device": kiosk.device_id, "signature": signature}, timeout=WAIT
        )
        assert answer["ok"], answer
    return SocketChannel(sio, log)


def real_staff_channel(
    url: str, username: str, password: str = PASSWORD, body: int | None = None
) -> Channel:
    """A staff screen: logs in over HTTP, then connects with the session cookie, for
    ``body`` if given (else the first body the account serves)."""
    http = requests.Session()
    page = http.get(f"{url}/login", timeout=WAIT).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = http.post(
        f"{url}/login",
        data={"username": username, "password": password, "csrf_token": token[1]},
        allow_redirects=False,
        timeout=WAIT,
    )
    assert response.status_code == 302
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    sio, log = _recording_client()
    auth = {"body": body} if body is not None else None
    sio.connect(url, headers={"Cookie": cookie}, auth=auth, transports=["websocket"])
    return SocketChannel(sio, log)


def kiosk_channel(app: Flask, kiosk: EnrolledKiosk, *, authenticate: bool = True) -> Channel:
    sio = socketio.test_client(app, auth={"device": kiosk.device_id})
    assert sio.is_connected()
    challenge = challenge_of(sio)
    if authenticate:
        answer = sio.emit(
            "authenticate",
            {"device": kiosk.device_id, "signature": kiosk.auth_signature(challenge)},
            callback=True,
        )
        assert answer["ok"], answer
    return FlaskTestChannel(sio)


def staff_channel(app: Flask, role: str) -> Channel:
    return FlaskTestChannel(staff_socket(app, logged_in(app, role).client))


def staff_channels(
    app: Flask, url: str | None, roles: Iterable[str] = STAFF_ROLES
) -> dict[str, Channel]:
    """A logged-in screen per role: on the real server at ``url``, or through the test
    client when ``url`` is None. (Logins run side by side: each costs an argon2 hash.)"""
    roles = list(roles)
    with ThreadPoolExecutor(max_workers=len(roles)) as pool:
        if url is None:
            logins = list(pool.map(lambda role: logged_in(app, role), roles))
            return {
                role: FlaskTestChannel(staff_socket(app, login.client))
                for role, login in zip(roles, logins, strict=True)
            }
        accounts = [create_staff(app, role) for role in roles]
        channels = pool.map(lambda account: real_staff_channel(url, account.username), accounts)
        return dict(zip(roles, channels, strict=True))


class Tablet:
    """A seat's tablet as the full sitting uses it: 签到 and ballots, plus what it saw."""

    def __init__(self, deputy: Deputy, channel: Channel | None, client: KioskClient | None):
        self.deputy = deputy
        self.channel = channel  # the test client's connection, or
        self.client = client  # the Python kiosk client on a real socket

    def sign_in(self, pin: str) -> dict[str, Any]:
        if self.client is None:
            assert self.channel is not None
            return self.channel.call("sign_in", {"pin": pin})
        try:
            return self.client.sign_in(pin, timeout=WAIT)
        except Refused as refused:
            return refused.answer

    def ballot(self, vote: int, ballot: Any, nonce: str | None = None) -> dict[str, Any]:
        """The answer to a ballot: ``{"ok": True, "receipt": …}`` or the refusal."""
        nonce = nonce or new_nonce()
        if self.client is None:
            assert self.channel is not None
            payload = ballot_payload(self.deputy.kiosk.key, vote, self.deputy.seat, nonce, ballot)
            return self.channel.call("ballot", payload)
        try:
            return {"ok": True, "receipt": self.client.vote(vote, ballot, nonce, deadline_s=WAIT)}
        except Refused as refused:
            return refused.answer

    def state(self) -> dict[str, Any]:
        if self.client is None:
            assert self.channel is not None
            answer = self.channel.call("state", {})
            assert answer["ok"], answer
            return answer["state"]
        return self.client.fetch_state(timeout=WAIT)

    def events(self, name: str) -> list[Any]:
        if self.client is None:
            assert self.channel is not None
            return self.channel.events(name)
        return self.client.events.all(name)

    def wait_for(self, name: str, predicate: Callable[[Any], bool]) -> Any:
        if self.client is None:
            assert self.channel is not None
            return self.channel.wait_for(name, predicate)
        try:
            return self.client.events.wait_for(name, predicate, WAIT)
        except TimeoutError as exc:
            raise AssertionError(str(exc)) from None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        elif self.channel is not None:
            self.channel.close()


def close_all(*connections: Channel | Tablet) -> None:
    """Disconnect everyone at once: a python-socketio client may wait seconds for
    Werkzeug to close its WebSocket, and 61 tablets one after another add up."""
    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(lambda c: c.close(), connections))
