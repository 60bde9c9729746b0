"""The Python kiosk client (docs/protocol.md): what a seat's tablet does, in Python.

Used by ``voting-server simulate``, the benchmark and the tests. It enrolls a
P-256 key, connects over Socket.IO and proves its identity on every
(re)connection, signs members in and casts ballots.

A ballot is never counted twice and never silently lost: it is signed once,
with one nonce, kept in an outbox until the server acknowledges it, and on
an acknowledgement timeout, a lost connection or a ``retry`` refusal the
*same* payload is resent — the server answers a known nonce with the receipt
it already gave.

Everything signed is a statement of ``crypto.statements``, the bytes the
server and the verifier check.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
import socketio

from crypto import KioskKey

# auth_statement and sign_statement are part of this client's API (bench/kiosks.py, tests).
from crypto.statements import auth_statement as auth_statement
from crypto.statements import ballot_signatures
from crypto.statements import sign_statement as sign_statement

DEFAULT_ACK_TIMEOUT_S = 5.0  # resend a ballot not acknowledged within this
DEFAULT_DEADLINE_S = 60.0  # give up waiting for a ballot's receipt after this
RETRY_BACKOFF_S = (0.1, 2.0)  # first and largest pause after a ``retry`` refusal
RECONNECT_DELAY_S = (0.5, 3.0)  # first and largest pause between reconnection attempts
# How long a (re)connection waits for the server to accept it. python-socketio's own
# default, 1 s, is what it uses when it reconnects by itself: when a whole hall
# reconnects at once (a server restart) the server needs longer than that to accept
# 3,000 connections, so every attempt not accepted within 1 s was dropped and retried,
# and the storm fed itself (tests/test_reconnect_storm.py).
CONNECT_WAIT_S = 30.0
CONFIRM_POLL_S = 2.0  # a replacement tablet asks again this often whether it was confirmed


class Refused(Exception):
    """The server refused a request for good (docs/protocol.md error codes)."""

    def __init__(
        self, code: str, message: str = "", *, answer: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.answer = answer or {}

    @classmethod
    def from_answer(cls, answer: Any) -> Refused:
        if not isinstance(answer, dict):
            return cls("invalid_answer", f"unexpected answer {answer!r}")
        message = answer.get("message_en") or answer.get("message") or ""
        return cls(str(answer.get("error", "unknown")), str(message), answer=answer)


class NotAcknowledged(TimeoutError):
    """No receipt by the deadline. The ballot stays in the outbox and is resent on
    reconnection; ``vote`` with the same nonce waits for it again."""

    def __init__(self, vote: int, nonce: str) -> None:
        super().__init__(f"ballot for vote {vote} (nonce {nonce}) not acknowledged yet")
        self.vote = vote
        self.nonce = nonce


class ProtocolError(RuntimeError):
    """The server answered something the protocol does not allow."""


# --- what a kiosk signs -------------------------------------------------------------


def new_nonce() -> str:
    """22 URL-safe characters (128 random bits): the ballot's identity for resends."""
    return secrets.token_urlsafe(16)


def ballot_payload(key: KioskKey, vote: int, seat: int, nonce: str, ballot: Any) -> dict[str, Any]:
    """The ``ballot`` event: both statements signed, so the server can log either
    (a named vote logs the ballot signature, a secret one the participation one)."""
    signature, participation = ballot_signatures(key, vote, seat, nonce, ballot)
    return {
        "vote": vote,
        "nonce": nonce,
        "ballot": ballot,
        "signature": signature,
        "participation_signature": participation,
    }


# --- the outbox ---------------------------------------------------------------------


@dataclass
class Pending:
    """One ballot, signed once, until the server acknowledges it."""

    payload: dict[str, Any]
    pressed_at: float  # time.perf_counter() when the member pressed
    sends: int = 0
    acked_at: float | None = None
    _answer: dict[str, Any] | None = field(default=None, repr=False)
    _fresh: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def nonce(self) -> str:
        return self.payload["nonce"]

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    @property
    def latency_ms(self) -> float | None:
        """Press → receipt, in milliseconds; None until acknowledged."""
        return None if self.acked_at is None else (self.acked_at - self.pressed_at) * 1000

    def answered(self, answer: Any) -> None:
        """An acknowledgement arrived (any send). A receipt, once there, is kept."""
        with self._lock:
            if self._answer is not None and self._answer.get("ok"):
                return
            self._answer = answer if isinstance(answer, dict) else {"ok": False, "error": "?"}
            if self._answer.get("ok"):
                self.acked_at = time.perf_counter()
            self._fresh.set()

    def wait(self, timeout: float) -> dict[str, Any] | None:
        """The newest answer not yet taken, or None after ``timeout`` seconds."""
        if not self._fresh.wait(timeout):
            return None
        with self._lock:
            if not (self._answer or {}).get("ok"):
                self._fresh.clear()  # a refusal is taken once; a receipt stays
            return self._answer


class Outbox:
    """Ballots not yet acknowledged, by nonce (thread-safe)."""

    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def add(self, payload: dict[str, Any], pressed_at: float) -> Pending:
        """Keep ``payload``. For a nonce already kept, the pending ballot as first
        signed (ECDSA signatures differ each time; the first is what was sent)."""
        with self._lock:
            pending = self._pending.get(payload["nonce"])
            if pending is None:
                pending = self._pending[payload["nonce"]] = Pending(payload, pressed_at)
            elif (pending.payload["vote"], pending.payload["ballot"]) != (
                payload["vote"],
                payload["ballot"],
            ):
                raise ValueError(f"nonce {payload['nonce']} is already used for another ballot")
            return pending

    def get(self, nonce: str) -> Pending | None:
        with self._lock:
            return self._pending.get(nonce)

    def remove(self, nonce: str) -> None:
        with self._lock:
            self._pending.pop(nonce, None)

    def unacknowledged(self) -> list[Pending]:
        with self._lock:
            return list(self._pending.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


# --- what the server broadcast ------------------------------------------------------


class EventLog:
    """Every server event received, in order of arrival (thread-safe)."""

    def __init__(self) -> None:
        self._events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()

    def record(self, name: str, data: Any) -> None:
        with self._changed:
            self._events.append((name, data))
            self._changed.notify_all()

    def mark(self) -> int:
        """How many events so far: pass as ``after`` to wait only for newer ones."""
        with self._changed:
            return len(self._events)

    def all(self, name: str | None = None) -> list[Any]:
        with self._changed:
            return [data for n, data in self._events if name is None or n == name]

    def wait_for(
        self,
        name: str,
        predicate: Callable[[Any], bool] | None = None,
        timeout: float = 10.0,
        after: int = 0,
    ) -> Any:
        """The data of the first ``name`` event (from index ``after``) that
        satisfies ``predicate``; waits up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            checked = after
            while True:
                for event, data in self._events[checked:]:
                    if event == name and (predicate is None or predicate(data)):
                        return data
                checked = max(checked, len(self._events))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {name!r} event within {timeout} s")
                self._changed.wait(remaining)


# --- the client ---------------------------------------------------------------------


class PatientSocket(socketio.Client):
    """python-socketio's client, waiting ``CONNECT_WAIT_S`` for a connection to be
    accepted, also on the reconnections it makes by itself (they pass no timeout)."""

    def connect(self, *args: Any, wait_timeout: float = CONNECT_WAIT_S, **kwargs: Any) -> None:
        super().connect(*args, wait_timeout=wait_timeout, **kwargs)


class KioskClient:
    """One seat's tablet.

    ``socket`` replaces the ``socketio.Client`` (tests drive the protocol with
    a fake); by default a client that reconnects by itself is made.
    """

    def __init__(
        self,
        base_url: str,
        key: KioskKey,
        device_id: str | None = None,
        *,
        seat: int | None = None,
        transports: Iterable[str] = ("websocket",),
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
        http_timeout_s: float = 10.0,
        socket: Any = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.device_id = device_id
        self.seat = seat
        self.member: dict[str, Any] | None = None
        self.server_key: str | None = None  # base64 raw Ed25519, from enrollment
        self.pending = False  # enrolled as a replacement the presidium has not confirmed
        self.state: Any = None  # as answered to ``authenticate``
        self.transports = list(transports)
        self.ack_timeout_s = ack_timeout_s
        self.http_timeout_s = http_timeout_s
        self.outbox = Outbox()
        self.events = EventLog()
        self.ack_ms: list[float] = []  # press → receipt of every acknowledged ballot
        self._authed = threading.Event()
        self._auth_changed = threading.Condition()
        self._auth_answer: dict[str, Any] = {}
        self._auth_error: Refused | None = None
        self._connect_error: Any = None
        self._emit_lock = threading.Lock()  # socketio.Client.emit is not thread-safe
        # Reconnects by itself, 0.5 s doubling to 3 s between attempts, each ± 0.5 s
        # at random (python-socketio's jitter), so that a hall does not knock at once.
        self._sio = socket or PatientSocket(
            reconnection=True,
            reconnection_delay=RECONNECT_DELAY_S[0],
            reconnection_delay_max=RECONNECT_DELAY_S[1],
        )
        self._sio.on("challenge", self._on_challenge)
        self._sio.on("disconnect", self._on_disconnect)
        self._sio.on("connect_error", self._on_connect_error)
        self._sio.on("*", self._on_event)

    # -- enrollment and connection ---------------------------------------------------

    def enroll(self, code: str) -> dict[str, Any]:
        """Register this key for the seat the one-time ``code`` was issued for."""
        response = requests.post(
            f"{self.base_url}/api/kiosk/enroll",
            json={"code": code, "public_key": self.key.public.spki_b64},
            timeout=self.http_timeout_s,
        )
        try:
            answer = response.json()
        except ValueError:
            raise ProtocolError(f"enrollment answered HTTP {response.status_code}") from None
        if not response.ok or not isinstance(answer, dict) or not answer.get("ok"):
            raise Refused.from_answer(answer)
        self.device_id = str(answer["device"])
        self.seat = int(answer["seat"])
        self.server_key = answer.get("server_key")
        # A replacement tablet: it may connect once the presidium confirmed it.
        self.pending = bool(answer.get("pending"))
        return answer

    @property
    def authenticated(self) -> bool:
        return self._authed.is_set()

    def connect(self, timeout: float = 10.0) -> dict[str, Any]:
        """Connect and authenticate; returns the ``authenticate`` answer
        (``seat``, ``member``, ``state``). Reconnections re-authenticate by themselves."""
        if self.device_id is None:
            raise RuntimeError("enroll first, or give the device id")
        self._auth_error = self._connect_error = None
        try:
            self._sio.connect(
                self.base_url,
                auth={"device": self.device_id},
                transports=self.transports,
                wait_timeout=timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            if isinstance(self._connect_error, dict) and "error" in self._connect_error:
                raise Refused.from_answer(self._connect_error) from exc
            raise
        return self.wait_authenticated(timeout)

    def connect_when_confirmed(
        self, timeout: float = 600.0, poll_s: float = CONFIRM_POLL_S
    ) -> dict[str, Any]:
        """``connect`` for a replacement tablet: while the server answers
        ``device_pending`` (等待主持人确认), try again every ``poll_s`` until ``timeout``.
        A rejected tablet is refused ``unknown_device``: raised, like any other refusal."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self.connect(max(1.0, min(10.0, deadline - time.monotonic())))
            except Refused as refused:
                if refused.code != "device_pending" or time.monotonic() + poll_s > deadline:
                    raise
                time.sleep(poll_s)
                continue
            self.pending = False
            return answer

    def wait_authenticated(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._auth_changed:
            while not self._authed.is_set():
                if self._auth_error is not None:
                    raise self._auth_error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"not authenticated within {timeout} s")
                self._auth_changed.wait(remaining)
            return self._auth_answer

    def close(self) -> None:
        """Disconnect for good (no reconnection). Unacknowledged ballots stay in the outbox."""
        # shutdown, not disconnect: disconnect does nothing while the client is between
        # reconnection attempts, which would go on knocking for ever.
        self._sio.shutdown()
        self._authed.clear()

    # -- requests ----------------------------------------------------------------------

    def sign_in(self, pin: str, timeout: float = 10.0) -> dict[str, Any]:
        """签到 with the member's PIN; returns ``present`` and ``members``."""
        return self._request("sign_in", {"pin": pin}, timeout)

    def fetch_state(self, timeout: float = 10.0) -> Any:
        return self._request("state", {}, timeout)["state"]

    def vote(
        self,
        vote_id: int,
        ballot: Any,
        nonce: str | None = None,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> dict[str, Any]:
        """Cast ``ballot`` and return the receipt; resends the same payload until
        acknowledged. Raises Refused (final refusal) or NotAcknowledged (deadline)."""
        if self.seat is None:
            raise RuntimeError("the seat is not known: enroll or connect first")
        nonce = nonce or new_nonce()
        pending = self.outbox.add(
            ballot_payload(self.key, vote_id, self.seat, nonce, ballot), time.perf_counter()
        )
        deadline = time.monotonic() + deadline_s
        backoff = RETRY_BACKOFF_S[0]
        self._send(pending)  # when not authenticated, re-authentication sends it
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotAcknowledged(vote_id, nonce)
            answer = pending.wait(min(self.ack_timeout_s, remaining))
            if answer is None or answer.get("error") == "not_authenticated":
                # Lost, the connection dropped, or it arrived on a new connection
                # before its proof: nothing was recorded; the same payload again.
                if self._auth_error is not None:
                    raise self._auth_error
                self._send(pending)
            elif answer.get("ok"):
                return self._settled(pending, answer)
            elif answer.get("retry"):
                time.sleep(max(0.0, min(backoff, deadline - time.monotonic())))
                backoff = min(backoff * 2, RETRY_BACKOFF_S[1])
                self._send(pending)
            else:
                self.outbox.remove(nonce)
                raise Refused.from_answer(answer)

    def _settled(self, pending: Pending, answer: dict[str, Any]) -> dict[str, Any]:
        receipt = answer.get("receipt")
        payload = pending.payload
        if not isinstance(receipt, dict) or (receipt.get("vote"), receipt.get("nonce")) != (
            payload["vote"],
            payload["nonce"],
        ):
            raise ProtocolError(f"receipt {receipt!r} is not for this ballot")
        if self.outbox.get(pending.nonce) is not None:
            self.outbox.remove(pending.nonce)
            self.ack_ms.append(pending.latency_ms or 0.0)
        return receipt

    def _send(self, pending: Pending) -> bool:
        """Emit the pending ballot if authenticated; its answer goes to the Pending."""
        if not self._authed.is_set():
            return False
        try:
            with self._emit_lock:
                self._sio.emit("ballot", pending.payload, callback=pending.answered)
        except socketio.exceptions.SocketIOError:
            return False  # disconnected meanwhile; re-authentication resends
        pending.sends += 1
        return True

    def _request(self, event: str, data: dict[str, Any], timeout: float) -> dict[str, Any]:
        done = threading.Event()
        answers: list[Any] = []

        def acknowledged(answer: Any = None) -> None:
            answers.append(answer)
            done.set()

        with self._emit_lock:
            self._sio.emit(event, data, callback=acknowledged)
        if not done.wait(timeout):
            raise TimeoutError(f"no answer to {event!r} within {timeout} s")
        answer = answers[0]
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise Refused.from_answer(answer)
        return answer

    # -- socket handlers (run on python-socketio's threads) ----------------------------

    def _on_challenge(self, data: Any) -> None:
        challenge = data.get("challenge") if isinstance(data, dict) else None
        if not isinstance(challenge, str) or self.device_id is None:
            return
        signature = sign_statement(self.key, auth_statement(self.device_id, challenge))
        try:
            with self._emit_lock:
                self._sio.emit(
                    "authenticate",
                    {"device": self.device_id, "signature": signature},
                    callback=self._on_authenticated,
                )
        except socketio.exceptions.BadNamespaceError:
            pass  # the connection dropped meanwhile: the reconnection brings a new challenge

    def _on_authenticated(self, answer: Any = None) -> None:
        with self._auth_changed:
            if isinstance(answer, dict) and answer.get("ok"):
                self._auth_answer = answer
                if "seat" in answer:
                    self.seat = int(answer["seat"])
                self.member = answer.get("member")
                self.state = answer.get("state")
                self._auth_error = None
                self._authed.set()
            else:
                self._auth_error = Refused.from_answer(answer)
            self._auth_changed.notify_all()
        if self._authed.is_set():
            for pending in self.outbox.unacknowledged():  # sent before the connection dropped
                if not pending.acknowledged:
                    self._send(pending)

    def _on_disconnect(self, *_reason: Any) -> None:
        self._authed.clear()

    def _on_connect_error(self, data: Any = None) -> None:
        self._connect_error = data

    def _on_event(self, event: str, *args: Any) -> None:
        self.events.record(event, args[0] if len(args) == 1 else list(args))
