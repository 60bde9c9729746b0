"""The Python kiosk client without a server: what it signs, and how it resends.

A deputy's press must end in exactly one counted ballot: the signatures must
be the ones the offline verifier accepts, and every resend — after a lost
acknowledgement, a dropped connection or a transient refusal — must carry
the very same payload (same nonce), so the server can answer it with the
receipt it already gave. A fake Socket.IO client stands in for the network.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import socketio

from audit.entry import canonical_bytes
from audit.verify import verify_log
from crypto import KioskKey, b64decode
from kiosk_client.client import (
    EventLog,
    KioskClient,
    NotAcknowledged,
    Outbox,
    ProtocolError,
    Refused,
    auth_statement,
    ballot_payload,
    new_nonce,
)
from rules import VoteKind, VoteSpec
from tests.support.logs import LogBuilder

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
WAIT = 10.0  # seconds a test waits for the client to act; never reached when it works


# --- what is signed -----------------------------------------------------------------


def test_a_named_ballot_signed_by_the_client_verifies_offline() -> None:
    log = LogBuilder(members=3)
    log.sign_in(1, 2, 3)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=3)
    ballots = {1: {"budget": "yes"}, 2: {"budget": "no"}, 3: {"budget": "yes"}}
    for seat, ballot in ballots.items():
        payload = ballot_payload(log.kiosks[seat], 1, seat, new_nonce(), ballot)
        log.append(
            "ballot",
            {"vote": 1, "member": seat, "seat": seat, "device": f"d{seat}",
             "nonce": payload["nonce"], "press": 1, "ballot": payload["ballot"],
             "kiosk_sig": payload["signature"]},
        )  # fmt: skip
    log.close(1, MOTION, 3, list(ballots.values()), secret=False)
    report = verify_log(log.lines, log.server.public_bytes)
    assert report.ok, report.errors


def test_a_secret_participation_signed_by_the_client_verifies_and_is_not_the_ballot_sig() -> None:
    log = LogBuilder(members=3)
    log.sign_in(1, 2, 3)
    log.configure(1, MOTION, secret=True)
    log.open(1, MOTION, present=3)
    payload = ballot_payload(log.kiosks[1], 1, 1, new_nonce(), {"budget": "no"})

    before = list(log.lines)

    def participation(sig: str) -> list[bytes]:
        log.lines = list(before)
        log.append(
            "participation",
            {"vote": 1, "member": 1, "seat": 1, "device": "d1", "nonce": payload["nonce"],
             "press": 1, "kiosk_sig": sig},
        )  # fmt: skip
        return log.lines

    assert verify_log(participation(payload["participation_signature"]), log.server.public_bytes).ok
    wrong = verify_log(participation(payload["signature"]), log.server.public_bytes)
    assert wrong.errors and "kiosk signature" in wrong.errors[0]["reason"]


def test_the_payload_is_exactly_the_protocols() -> None:
    payload = ballot_payload(KioskKey.generate(), 7, 12, new_nonce(), {"m": "abstain"})
    assert set(payload) == {"vote", "nonce", "ballot", "signature", "participation_signature"}
    assert (payload["vote"], payload["ballot"]) == (7, {"m": "abstain"})
    nonce = payload["nonce"]
    assert 22 <= len(nonce) <= 64
    assert set(nonce) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(b64decode(payload["signature"])) == 64  # raw r‖s, as WebCrypto


# --- a fake network -----------------------------------------------------------------


class FakeSocket:
    """Stands in for socketio.Client: records emits; the test plays the server.

    ``connect_late``: as python-socketio's client, which handles each message on a
    thread of its own, the challenge is handled before the CONNECT that arrived ahead
    of it; emits are refused until the test sets ``connected`` (the CONNECT's thread
    caught up) — or never, if the test drops the connection first."""

    def __init__(self, connect_late: bool = False) -> None:
        self.connect_late = connect_late
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.emitted: queue.Queue[tuple[str, Any, Callable[..., None] | None]] = queue.Queue()
        self.connected = False
        self.auth: Any = None
        self.eio = SimpleNamespace(sid=None)  # the Engine.IO session: new on each connection
        self.sessions = 0

    def new_session(self) -> None:
        self.sessions += 1
        self.eio.sid = f"eio-{self.sessions}"

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        self.handlers[event] = handler

    def connect(self, url: str, **kwargs: Any) -> None:
        self.auth = kwargs.get("auth")
        self.new_session()
        self.connected = not self.connect_late
        challenge = threading.Thread(target=self.handlers["challenge"], args=({"challenge": "c1"},))
        challenge.start()

    def emit(self, event: str, data: Any = None, callback: Callable[..., None] | None = None):
        if not self.connected:
            raise socketio.exceptions.BadNamespaceError("/ is not a connected namespace.")
        self.emitted.put((event, data, callback))

    def disconnect(self) -> None:
        self.connected = False

    def shutdown(self) -> None:
        self.connected = False

    # the server's side

    def next(self, event: str) -> tuple[Any, Callable[..., None]]:
        name, data, callback = self.emitted.get(timeout=WAIT)
        assert name == event, (name, data)
        assert callback is not None
        return data, callback

    def nothing_emitted(self) -> bool:
        return self.emitted.empty()

    def drop(self) -> None:
        self.connected = False
        self.eio.sid = None
        self.handlers["disconnect"]("transport close")

    def reconnect(self, challenge: str) -> tuple[Any, Callable[..., None]]:
        self.new_session()
        self.connected = True
        self.handlers["challenge"]({"challenge": challenge})
        return self.next("authenticate")


def accept(callback: Callable[..., None], seat: int = 3) -> None:
    """The server's answer to ``authenticate`` while vote 1, a named motion, is open (the
    client builds a ballot for the vote it knows: it asks for the state otherwise)."""
    vote = {"id": 1, "kind": "motion", "secret": False, "trustees": None}
    callback({"ok": True, "seat": seat, "member": {"name": "代表三"}, "state": {"open_vote": vote}})


def receipt_for(payload: dict[str, Any], entry: int = 42) -> dict[str, Any]:
    return {"ok": True, "receipt": {"vote": payload["vote"], "nonce": payload["nonce"],
            "entry": entry, "entry_hash": "ab" * 32, "server_sig": "c2ln",
            "press": 1, "secret": False}}  # fmt: skip


@pytest.fixture
def kiosk() -> Iterator[tuple[KioskClient, FakeSocket]]:
    socket = FakeSocket()
    client = KioskClient(
        "http://hall", KioskKey.generate(), "dev-3", socket=socket, ack_timeout_s=0.05
    )
    connecting = threading.Thread(target=client.connect, kwargs={"timeout": WAIT})
    connecting.start()
    _, callback = socket.next("authenticate")
    accept(callback)
    connecting.join(WAIT)
    assert client.authenticated and client.seat == 3
    yield client, socket
    client.close()


class Voting(threading.Thread):
    """``client.vote`` on its own thread, as a kiosk's press handler would run it."""

    def __init__(self, client: KioskClient, ballot: Any, **kwargs: Any) -> None:
        super().__init__(daemon=True)
        self.client, self.ballot, self.kwargs = client, ballot, kwargs
        self.receipt: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.receipt = self.client.vote(1, self.ballot, **self.kwargs)
        except BaseException as exc:
            self.error = exc

    def outcome(self) -> dict[str, Any] | None:
        self.join(WAIT)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error
        return self.receipt


# --- authentication -----------------------------------------------------------------


def test_the_connection_proof_signs_this_connections_challenge(kiosk) -> None:
    client, socket = kiosk
    assert socket.auth == {"device": "dev-3"}
    socket.drop()
    data, callback = socket.reconnect("c2")
    statement = canonical_bytes(auth_statement("dev-3", "c2"))
    assert data["device"] == "dev-3"
    assert client.key.public.verify(b64decode(data["signature"]), statement)
    # A proof for another challenge does not carry over.
    assert not client.key.public.verify(
        b64decode(data["signature"]), canonical_bytes(auth_statement("dev-3", "c1"))
    )
    assert not client.authenticated
    accept(callback)
    assert client.authenticated


def test_a_refused_authentication_is_raised_by_connect() -> None:
    socket = FakeSocket()
    client = KioskClient("http://hall", KioskKey.generate(), "dev-9", socket=socket)
    errors: list[BaseException] = []

    def connect() -> None:
        try:
            client.connect(timeout=WAIT)
        except BaseException as exc:
            errors.append(exc)

    connecting = threading.Thread(target=connect)
    connecting.start()
    _, callback = socket.next("authenticate")
    callback(
        {"ok": False, "error": "unknown_device", "message": "设备未登记或已停用", "retry": False}
    )
    connecting.join(WAIT)
    assert isinstance(errors[0], Refused) and errors[0].code == "unknown_device"


def test_a_challenge_handled_before_its_connect_is_still_answered() -> None:
    socket = FakeSocket(connect_late=True)
    client = KioskClient("http://hall", KioskKey.generate(), "dev-3", socket=socket)
    connecting = threading.Thread(target=client.connect, kwargs={"timeout": WAIT})
    connecting.start()
    time.sleep(0.2)  # the challenge's thread tries, and is refused: not connected yet
    assert socket.nothing_emitted()
    socket.connected = True  # the CONNECT's thread catches up
    data, callback = socket.next("authenticate")
    statement = canonical_bytes(auth_statement("dev-3", "c1"))
    assert client.key.public.verify(b64decode(data["signature"]), statement)
    accept(callback)
    connecting.join(WAIT)
    assert client.authenticated
    client.close()


def test_a_challenge_whose_connection_dropped_is_never_answered_on_the_next() -> None:
    """The server allows one try per challenge: the first connection's answer, still
    waiting for its namespace, must not go out on the reconnection and spend the
    reconnection's challenge."""
    socket = FakeSocket(connect_late=True)
    client = KioskClient("http://hall", KioskKey.generate(), "dev-3", socket=socket)
    connecting = threading.Thread(target=client.connect, kwargs={"timeout": WAIT})
    connecting.start()
    time.sleep(0.2)  # c1's answer is waiting for the namespace
    socket.eio.sid = None  # the connection drops before its CONNECT was handled
    socket.new_session()  # the reconnection: connected, and its own challenge
    socket.connected = True
    time.sleep(0.2)  # long enough for c1's thread to try again
    assert socket.nothing_emitted()
    data, callback = socket.reconnect("c2")
    statement = canonical_bytes(auth_statement("dev-3", "c2"))
    assert client.key.public.verify(b64decode(data["signature"]), statement)
    accept(callback)
    connecting.join(WAIT)
    assert client.authenticated and socket.nothing_emitted()
    client.close()


# --- a ballot is sent until acknowledged, always the same ---------------------------


def test_an_acknowledged_ballot_returns_its_receipt_and_leaves_the_outbox(kiosk) -> None:
    client, socket = kiosk
    voting = Voting(client, {"budget": "yes"})
    payload, callback = socket.next("ballot")
    callback(receipt_for(payload))
    receipt = voting.outcome()
    assert receipt == receipt_for(payload)["receipt"]
    assert len(client.outbox) == 0
    assert len(client.ack_ms) == 1 and client.ack_ms[0] >= 0


def test_a_lost_acknowledgement_resends_the_same_payload(kiosk) -> None:
    client, socket = kiosk
    voting = Voting(client, {"budget": "yes"})
    first, _lost = socket.next("ballot")
    again, callback = socket.next("ballot")
    assert again == first  # same nonce, same signatures: the server counts it once
    callback(receipt_for(again))
    assert voting.outcome()["nonce"] == first["nonce"]


def test_a_dropped_connection_resends_the_same_payload_after_re_authenticating(kiosk) -> None:
    client, socket = kiosk
    voting = Voting(client, {"budget": "no"})
    first, _ = socket.next("ballot")
    socket.drop()
    while not socket.nothing_emitted():  # resent by the ack timer before the drop
        assert socket.next("ballot")[0] == first
    _, auth_callback = socket.reconnect("c2")
    # Nothing is sent on the new connection before it is authenticated.
    assert socket.nothing_emitted()
    accept(auth_callback)
    while True:  # the re-authentication resends; so may the ack timer — all identical
        again, callback = socket.next("ballot")
        assert again == first
        if socket.nothing_emitted():
            break
    callback(receipt_for(again))
    assert voting.outcome()["nonce"] == first["nonce"]


def test_a_transient_refusal_resends_the_same_payload(kiosk) -> None:
    client, socket = kiosk
    voting = Voting(client, {"budget": "abstain"})
    first, callback = socket.next("ballot")
    callback({"ok": False, "error": "database_unavailable", "message": "系统繁忙", "retry": True})
    again, callback = socket.next("ballot")
    assert again == first
    callback(receipt_for(again))
    assert voting.outcome()["nonce"] == first["nonce"]


def test_a_final_refusal_is_raised_and_not_resent(kiosk) -> None:
    client, socket = kiosk
    voting = Voting(client, {"budget": "yes"})
    _, callback = socket.next("ballot")
    callback({"ok": False, "error": "vote_not_open", "message": "表决尚未开始或已经结束",
              "message_en": "The vote is not open.", "retry": False})  # fmt: skip
    with pytest.raises(Refused) as refused:
        voting.outcome()
    assert refused.value.code == "vote_not_open"
    assert len(client.outbox) == 0


def test_past_the_deadline_the_ballot_stays_in_the_outbox_and_is_resent(kiosk) -> None:
    client, socket = kiosk
    socket.drop()
    with pytest.raises(NotAcknowledged) as late:
        client.vote(1, {"budget": "yes"}, deadline_s=0.2)
    assert [p.nonce for p in client.outbox.unacknowledged()] == [late.value.nonce]
    _, auth_callback = socket.reconnect("c2")
    accept(auth_callback)
    payload, callback = socket.next("ballot")
    assert payload["nonce"] == late.value.nonce
    callback(receipt_for(payload))
    # Asking again for the same press returns its receipt; nothing new is signed.
    receipt = client.vote(1, {"budget": "yes"}, nonce=late.value.nonce, deadline_s=WAIT)
    assert receipt["nonce"] == late.value.nonce
    assert len(client.outbox) == 0


def test_a_receipt_for_another_ballot_is_not_accepted(kiosk) -> None:
    client, socket = kiosk
    voting = Voting(client, {"budget": "yes"})
    payload, callback = socket.next("ballot")
    callback(receipt_for({**payload, "nonce": new_nonce()}))
    with pytest.raises(ProtocolError):
        voting.outcome()


def test_the_outbox_never_reuses_a_nonce_for_another_ballot() -> None:
    key = KioskKey.generate()
    outbox = Outbox()
    nonce = new_nonce()
    first = outbox.add(ballot_payload(key, 1, 3, nonce, {"b": "yes"}), 0.0)
    signed_first = dict(first.payload)
    # The same press asked for again keeps the signatures that were sent.
    assert outbox.add(ballot_payload(key, 1, 3, nonce, {"b": "yes"}), 1.0) is first
    assert first.payload == signed_first
    with pytest.raises(ValueError):
        outbox.add(ballot_payload(key, 1, 3, nonce, {"b": "no"}), 2.0)


# --- server events ------------------------------------------------------------------


def test_events_are_recorded_and_can_be_waited_for(kiosk) -> None:
    client, socket = kiosk
    socket.handlers["*"]("vote_opened", {"id": 1})
    mark = client.events.mark()
    assert client.events.wait_for("vote_opened", timeout=WAIT) == {"id": 1}  # already here
    later = threading.Thread(
        target=lambda: [socket.handlers["*"]("result", {"vote": v}) for v in (1, 2)]
    )
    later.start()
    assert client.events.wait_for("result", lambda d: d["vote"] == 2, WAIT, after=mark) == {
        "vote": 2
    }
    later.join(WAIT)
    assert client.events.all("result") == [{"vote": 1}, {"vote": 2}]
    with pytest.raises(TimeoutError):
        EventLog().wait_for("result", timeout=0.01)
