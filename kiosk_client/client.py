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

A trustee-mode secret vote (docs/trustee-votes.md) carries ``trustees``: the
client turns the ballot into the kind's 0/1 marks, encrypts them to the joint
key with ``crypto.trustees`` under H_V it computes itself (from the vote's
ceremony id, n, k, manifest, joint key and id — never a hash from the server),
signs the ``encrypted-ballot`` statement and sends ``{"vote", "nonce",
"encrypted", "sig"}``. Only that wire form is kept: the encryption's
randomness (ξ, and the proofs' u) is dropped as soon as the ballot is built.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import socketio

from crypto import KioskKey

# auth_statement and sign_statement are part of this client's API (bench/kiosks.py, tests).
from crypto.statements import auth_statement as auth_statement
from crypto.statements import ballot_signatures, encrypted_ballot_statement
from crypto.statements import sign_statement as sign_statement
from crypto.trustees import ballot as tballot
from crypto.trustees.ceremony import ceremony_hash
from crypto.trustees.group import Element
from rules.kinds import VoteSpec, kind_of

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
# python-socketio's client handles each message on its own thread, so a challenge can be
# handled before the CONNECT that came ahead of it: its answer waits up to this for the
# namespace, trying every CHALLENGE_RETRY_S.
CHALLENGE_WAIT_S = 10.0
CHALLENGE_RETRY_S = 0.02


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


@dataclass(frozen=True)
class TrusteeVote:
    """What a tablet needs to encrypt ballots for one trustee-mode vote, computed by the
    client from the vote object alone (docs/trustee-votes.md): the spec, the layout,
    the joint key and H_V = H(H_C; vote id, manifest, K) with H_C from the ceremony's
    id, n and k. Build it once per vote (``from_vote``) and encrypt many ballots."""

    vote_id: int
    spec: VoteSpec
    layout: tballot.Layout
    joint_key: Element
    vote_hash: bytes

    @staticmethod
    def from_vote(vote: Mapping[str, Any]) -> TrusteeVote:
        """Precondition: ``vote`` is a vote object as the kiosk receives it (``vote_opened``,
        ``state.open_vote``) whose ``trustees`` is not null. ProtocolError if the object
        is malformed, or if its manifest is not the layout the vote's kind gives for its
        items (a server cannot make a tablet encrypt to another ballot than it shows)."""
        trustees = vote.get("trustees")
        if not isinstance(trustees, Mapping):
            raise ProtocolError(f"vote {vote.get('id')!r} is not in trustee mode")
        try:
            spec = spec_of_vote(vote)
            layout = tballot.Layout.from_json(trustees["manifest"])
            expected = tballot.Layout.from_json(kind_of(spec.kind).encrypted_layout(spec))
            h_c = ceremony_hash(str(trustees["ceremony_id"]), trustees["n"], trustees["k"])
            key = Element.from_hex(trustees["joint_key"], "trustees.joint_key")
        except (
            KeyError,
            TypeError,
            ValueError,
        ) as exc:  # ValueError: TrusteeCryptoError, SchemaError
            raise ProtocolError(f"vote {vote.get('id')!r}: trustees: {exc}") from None
        if layout != expected:
            raise ProtocolError(
                f"vote {vote['id']}: trustees.manifest is not the layout of the vote's items"
            )
        vote_id = int(vote["id"])
        return TrusteeVote(vote_id, spec, layout, key,
                           tballot.vote_hash(h_c, str(vote_id), layout, key))  # fmt: skip

    def encrypt(self, member_id: int, nonce: str, ballot: Any) -> dict[str, Any]:
        """The wire form of ``ballot`` (the kind's plaintext ballot) for ``member_id``:
        ciphertexts and proofs only. ValueError if the ballot is not one a kiosk may
        send (``electronic_error``); the randomness never leaves this call."""
        kind = kind_of(self.spec.kind)
        kind.check_ballot(self.spec, ballot, "ballot")
        if (error := kind.electronic_error(self.spec, ballot)) is not None:
            raise ValueError(error)
        marks = kind.option_marks(self.spec, ballot)
        return tballot.encrypt_ballot(
            self.vote_hash, self.joint_key, self.layout, str(member_id), nonce, marks
        )


def spec_of_vote(vote: Mapping[str, Any]) -> VoteSpec:
    """The items of a vote object as a ``VoteSpec`` (kind, subject or candidate ids,
    seats): what ``Kind.encrypted_layout`` and ``option_marks`` read."""

    def ids(name: str) -> tuple[str, ...]:
        return tuple(str(item["id"]) for item in vote.get(name) or ())

    return VoteSpec(kind=str(vote["kind"]), subjects=ids("subjects"),
                    candidates=ids("candidates"), seats=int(vote.get("seats") or 0))  # fmt: skip


def encrypted_ballot_payload(
    key: KioskKey, trustee_vote: TrusteeVote, seat: int, member_id: int, nonce: str, ballot: Any
) -> dict[str, Any]:
    """The ``ballot`` event of a trustee-mode vote: ``{"vote", "nonce", "encrypted",
    "sig"}``, ``sig`` over the ``encrypted-ballot`` statement. Signed once; resent as is.
    ``member_id`` is the seat's member (``state.member.id``), bound into the proofs."""
    encrypted = trustee_vote.encrypt(member_id, nonce, ballot)
    statement = encrypted_ballot_statement(trustee_vote.vote_id, seat, nonce, encrypted)
    return {"vote": trustee_vote.vote_id, "nonce": nonce, "encrypted": encrypted,
            "sig": sign_statement(key, statement)}  # fmt: skip


# --- the outbox ---------------------------------------------------------------------


def _content(payload: Mapping[str, Any]) -> tuple[Any, Any]:
    """A payload's vote and ballot: the plain ballot, or the encrypted wire form."""
    return payload["vote"], payload.get("ballot", payload.get("encrypted"))


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
            elif _content(pending.payload) != _content(payload):
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
        self._trustee_votes: dict[int, tuple[Any, TrusteeVote]] = {}  # vote id → (trustees, …)
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

    def known_vote(self, vote_id: int) -> dict[str, Any] | None:
        """The vote object last heard for ``vote_id`` (``vote_opened``, or the open vote
        of the ``state`` answered at authentication / ``fetch_state``), or None."""
        for name in ("vote_opened",):
            for data in reversed(self.events.all(name)):
                if isinstance(data, dict) and data.get("id") == vote_id:
                    return data
        open_vote = self.state.get("open_vote") if isinstance(self.state, dict) else None
        if isinstance(open_vote, dict) and open_vote.get("id") == vote_id:
            return open_vote
        return None

    def prepare(
        self, vote_id: int, ballot: Any, nonce: str | None = None, *, vote: Any = None
    ) -> dict[str, Any]:
        """The signed ``ballot`` payload for ``ballot``, built now and sent later
        (``vote(…, prepared=…)``): the benchmark builds its ballots before the burst.

        A trustee-mode vote (``vote``, or the vote object this client last heard, has
        ``trustees``) gets the encrypted payload; ``self.member`` must be known."""
        if self.seat is None:
            raise RuntimeError("the seat is not known: enroll or connect first")
        nonce = nonce or new_nonce()
        vote = vote if vote is not None else self.known_vote(vote_id)
        if vote is None:
            # not heard yet (it opened a moment ago): ask for it, as a tablet votes only on
            # the vote it shows — a plain ballot for a trustee-mode vote would be refused
            state = self.fetch_state()
            open_vote = state.get("open_vote") if isinstance(state, dict) else None
            if isinstance(open_vote, dict) and open_vote.get("id") == vote_id:
                vote = open_vote
        if isinstance(vote, dict) and vote.get("trustees"):
            if vote.get("id") != vote_id:
                raise ValueError(f"vote object {vote.get('id')!r} is not vote {vote_id}")
            member = self.member or (self.state or {}).get("member")
            if not isinstance(member, dict) or not isinstance(member.get("id"), int):
                raise RuntimeError("the seat's member is not known: connect first")
            trustee_vote = self._trustee_vote(vote)
            return encrypted_ballot_payload(
                self.key, trustee_vote, self.seat, member["id"], nonce, ballot
            )
        return ballot_payload(self.key, vote_id, self.seat, nonce, ballot)

    def _trustee_vote(self, vote: dict[str, Any]) -> TrusteeVote:
        cached = self._trustee_votes.get(vote["id"])
        if cached is None or cached[0] != vote["trustees"]:
            cached = (vote["trustees"], TrusteeVote.from_vote(vote))
            self._trustee_votes[vote["id"]] = cached
        return cached[1]

    def vote(
        self,
        vote_id: int,
        ballot: Any = None,
        nonce: str | None = None,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
        prepared: dict[str, Any] | None = None,
        vote: Any = None,
    ) -> dict[str, Any]:
        """Cast ``ballot`` (or send the ``prepared`` payload) and return the receipt;
        resends the same payload until acknowledged. Raises Refused (final refusal) or
        NotAcknowledged (deadline). A trustee-mode vote's ballot is encrypted (``prepare``)."""
        if prepared is None and nonce is not None:
            kept = self.outbox.get(nonce)
            if kept is not None and "encrypted" in kept.payload:
                prepared = kept.payload  # waiting again: the same ciphertexts, never re-encrypted
        payload = (
            prepared if prepared is not None else self.prepare(vote_id, ballot, nonce, vote=vote)
        )
        if payload.get("vote") != vote_id:
            raise ValueError(f"the prepared payload is for vote {payload.get('vote')!r}")
        nonce = str(payload["nonce"])
        pending = self.outbox.add(payload, time.perf_counter())
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
        connection = self._connection_id()  # the Engine.IO session this challenge came on
        signature = sign_statement(self.key, auth_statement(self.device_id, challenge))
        deadline = time.monotonic() + CHALLENGE_WAIT_S
        while True:
            try:
                with self._emit_lock:
                    # never on a later connection: it has its own challenge, and the server
                    # allows one try per challenge
                    if self._connection_id() != connection:
                        return
                    self._sio.emit(
                        "authenticate",
                        {"device": self.device_id, "signature": signature},
                        callback=self._on_authenticated,
                    )
                return
            except socketio.exceptions.BadNamespaceError:
                # Not connected: the CONNECT ahead of this challenge is still being handled
                # on another thread (wait for it), or the connection dropped (the
                # reconnection brings a new challenge).
                if time.monotonic() >= deadline:
                    return
                time.sleep(CHALLENGE_RETRY_S)

    def _connection_id(self) -> str | None:
        """The Engine.IO session id: a new one for every (re)connection."""
        return getattr(getattr(self._sio, "eio", None), "sid", None)

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
