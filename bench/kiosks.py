"""Many kiosks in one asyncio process: the benchmark's client side (a shard).

``python -m bench.kiosks`` is started by ``bench/run.py``, in a process apart
from the server, and driven over its stdin/stdout: one JSON command per line
in, one JSON answer per line out (progress goes to stderr). One thread per
kiosk, as ``voting-server simulate`` does with the threaded kiosk client,
does not scale to 3,000 seats on two cores; here every seat is a
``socketio.AsyncClient`` over the websocket transport on one event loop.

The wire protocol is the kiosk library's (kiosk_client/client.py): the same
pure functions build and sign what is sent — ``auth_statement`` /
``sign_statement`` (``crypto.statements``) for the ``challenge`` → ``authenticate`` handshake,
``ballot_payload`` for the ballot, ``new_nonce`` for its identity — and a
ballot is resent like the library resends it: the same payload after an
acknowledgement timeout, after a ``retry`` refusal (with backoff) or on
re-authentication after a dropped connection, until a deadline.

Commands (``cmd``):

- ``setup`` {base, mode: "kiosk" | "echo", seats: [[seat, code, pin], ...],
  concurrency, sign_in: "connected" | "apart" | "none", source_addresses}: kiosk
  mode enrolls every seat over HTTP, connects, authenticates and signs the
  member in with the PIN (``none``: the members were marked present by staff;
  the PIN, if the row has one, then confirms it on the tablet, as a tablet must
  before it may vote); echo mode only connects a plain Socket.IO client per seat. The
  seats are added to those already connected (``ready`` counts them all).
  ``source_addresses`` N > 0: the seats' Socket.IO connections leave from N
  loopback addresses (127.0.1.2, 127.0.1.3, …) instead of 127.0.0.1, as
  tablets of a hall LAN do, so that nginx's sticky hash spreads them over the
  stack's processes.
- ``wait_open`` {vote, timeout}: until every kiosk has seen ``vote_opened``.
- ``arm`` {vote, plan: [[seat, offset_s, ballot], ...]}: signs each seat's
  ballot now (both statements, as ``ballot_payload`` does), before the burst.
  Echo mode: {plan: [[seat, offset_s]]} reuses the payload the seat signed
  in the ballot phase, so the echo requests have the same size.
- ``fire`` {start, deadline_s, ack_timeout_s}: each seat presses at
  ``start + offset`` (``time.monotonic()``, one clock for every process on
  the machine) and waits for its receipt; answers every press's timings.
- ``press`` (same arguments as ``fire``): starts the burst and answers at once;
  ``collect`` then waits for it and answers what ``fire`` answers. Between the
  two, the caller may break the connections (the reconnection storm test).
- ``drop``: every seat's transport closes at once, client side; the library
  reconnects and re-authenticates by itself.
- ``authenticated`` {timeout}: until every seat is authenticated again; how
  many are, and how many times each seat's connection dropped.
- ``results`` {vote, timeout}: when each kiosk received the ``result`` event.
- ``heard``: every vote whose ``vote_opened`` and ``result`` reached the kiosks,
  with how many kiosks each (bench/bodies.py counts another body's as leaks).
- ``disconnect``, ``quit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
import uvloop

from crypto import KioskKey
from crypto.statements import auth_statement, sign_statement
from kiosk_client.client import (
    CONNECT_WAIT_S,
    RECONNECT_DELAY_S,
    RETRY_BACKOFF_S,
    TrusteeVote,
    ballot_payload,
    encrypted_ballot_payload,
    new_nonce,
)

CONNECT_ATTEMPTS = 5
SETUP_TIMEOUT_S = 900.0  # one sign-in waits behind every other (argon2 on one worker)
SIGN_IN_RETRY_S = 60.0  # ask again after this long without an answer
ENROLL_WAIT_S = 30.0  # give up on an enrollment throttled for longer (the server's limit)


class _Counted(logging.Handler):
    """Counts the client libraries' warnings instead of printing 3,000 of them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()[:80]
        self.counts[message] = self.counts.get(message, 0) + 1

    def since(self, before: dict[str, int]) -> dict[str, int]:
        return {k: n - before.get(k, 0) for k, n in self.counts.items() if n > before.get(k, 0)}


LIBRARY_LOG = _Counted()
for _name in ("engineio.client", "socketio.client"):
    logging.getLogger(_name).setLevel(logging.WARNING)  # set: the libraries add no printer
    logging.getLogger(_name).addHandler(LIBRARY_LOG)
    logging.getLogger(_name).propagate = False


def _now() -> float:
    return time.monotonic()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _cpu_s_at(when: float) -> float:
    """``_cpu_s()`` at ``when`` (``time.monotonic()``), or now if that has passed."""
    await asyncio.sleep(max(0.0, when - _now()))
    return _cpu_s()


class PatientAsyncSocket(socketio.AsyncClient):
    """As the kiosk library's ``PatientSocket``: reconnections wait ``CONNECT_WAIT_S``
    for the server to accept them, not python-socketio's 1 s."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures: Counter[str] = Counter()  # failed (re)connection attempts, by message

    async def connect(
        self, *args: Any, wait_timeout: float = CONNECT_WAIT_S, **kwargs: Any
    ) -> None:
        try:
            await super().connect(*args, wait_timeout=wait_timeout, **kwargs)
        except socketio.exceptions.ConnectionError as exc:
            self.failures[str(exc)[:80]] += 1
            raise


@dataclass
class Press:
    """One ballot (or echo request), signed before the burst, until acknowledged."""

    seat: int
    offset: float
    payload: dict[str, Any]
    event: str
    press_at: float | None = None
    acked_at: float | None = None
    sends: int = 0
    answer: Any = None
    error: str | None = None
    fresh: asyncio.Event = field(default_factory=asyncio.Event)

    def answered(self, answer: Any = None) -> None:
        if self.acked_at is not None:
            return  # a receipt, once there, is kept (a resend's answer is the same)
        now = _now()
        ok = (
            isinstance(answer, dict)
            and answer.get("ok")
            and isinstance(answer.get("receipt"), dict)
            and answer["receipt"].get("nonce") == self.payload["nonce"]
        ) or (self.event == "echo" and answer == self.payload)
        self.answer = answer
        if ok:
            self.acked_at = now
        self.fresh.set()

    def to_json(self) -> dict[str, Any]:
        receipt = (self.answer or {}).get("receipt") if isinstance(self.answer, dict) else None
        return {
            "seat": self.seat,
            "nonce": self.payload["nonce"],
            "scheduled_offset": self.offset,
            "press_at": self.press_at,
            "acked_at": self.acked_at,
            "sends": self.sends,
            "error": self.error,
            "entry": receipt.get("entry") if isinstance(receipt, dict) else None,
            "entry_hash": receipt.get("entry_hash") if isinstance(receipt, dict) else None,
        }


class Seat:
    """One seat's tablet (kiosk mode) or a bare Socket.IO client (echo mode)."""

    def __init__(self, seat: int, mode: str, http: aiohttp.ClientSession) -> None:
        self.seat = seat
        self.mode = mode
        self.key = KioskKey.generate() if mode == "kiosk" else None
        self.device: str | None = None
        self.authed = asyncio.Event()
        self.auth_error: Any = None
        self.connect_error: Any = None
        self.opened: dict[int, float] = {}
        self.results: dict[int, float] = {}
        self.press: Press | None = None
        self.dropped = 0  # connections lost other than by our own disconnect
        self.lost: Counter[str] = Counter()  # those, by the reason python-socketio gives
        self.leaving = False
        self.sio = PatientAsyncSocket(
            reconnection=True,
            reconnection_delay=RECONNECT_DELAY_S[0],
            reconnection_delay_max=RECONNECT_DELAY_S[1],
            handle_sigint=False,
            http_session=http,
            request_timeout=30,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("challenge", self._on_challenge)
        self.sio.on("vote_opened", self._on_vote_opened)
        self.sio.on("result", self._on_result)

    # -- handlers ----------------------------------------------------------------------

    def _on_connect(self) -> None:
        if self.mode == "echo":
            self.authed.set()

    def _on_disconnect(self, *reason: Any) -> None:
        self.authed.clear()
        if not self.leaving:
            self.dropped += 1
            self.lost[str(reason[0]) if reason else "?"] += 1

    def _on_connect_error(self, data: Any = None) -> None:
        self.connect_error = data

    async def _on_challenge(self, data: Any) -> None:
        challenge = data.get("challenge") if isinstance(data, dict) else None
        if not isinstance(challenge, str) or self.device is None or self.key is None:
            return
        signature = sign_statement(self.key, auth_statement(self.device, challenge))
        await self.sio.emit(
            "authenticate",
            {"device": self.device, "signature": signature},
            callback=self._on_authenticated,
        )

    def _on_authenticated(self, answer: Any = None) -> None:
        if isinstance(answer, dict) and answer.get("ok"):
            self.auth_error = None
            self.authed.set()
            press = self.press
            if press is not None and press.press_at is not None and press.acked_at is None:
                asyncio.get_running_loop().create_task(self.send(press))  # as the library does
        else:
            self.auth_error = answer

    def _on_vote_opened(self, data: Any = None) -> None:
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            self.opened.setdefault(data["id"], _now())

    def _on_result(self, data: Any = None) -> None:
        if isinstance(data, dict) and isinstance(data.get("vote"), int):
            self.results.setdefault(data["vote"], _now())

    # -- setup ---------------------------------------------------------------------------

    async def enroll(self, http: aiohttp.ClientSession, base: str, code: str) -> None:
        assert self.key is not None
        body = {"code": code, "public_key": self.key.public.spki_b64}
        waited = 0.0
        while True:
            async with http.post(f"{base}/api/kiosk/enroll", json=body) as response:
                status = response.status
                retry_after = float(response.headers.get("Retry-After", "1"))
                answer = await response.json(content_type=None)
            if status == 503 or (status == 429 and waited + retry_after <= ENROLL_WAIT_S):
                await asyncio.sleep(retry_after)  # database busy, or throttled for a while
                waited += retry_after
                continue
            if not isinstance(answer, dict) or not answer.get("ok"):
                raise RuntimeError(f"enrollment refused (HTTP {status}): {answer}")
            self.device = str(answer["device"])
            if int(answer["seat"]) != self.seat:
                raise RuntimeError(f"enrolled for seat {answer['seat']}, not {self.seat}")
            return

    async def leave(self) -> None:
        """Disconnect on purpose (not counted as dropped)."""
        self.leaving = True
        try:
            await self.sio.disconnect()
        finally:
            self.leaving = False

    async def connect(self, base: str, timeout: float) -> None:
        auth = {"device": self.device} if self.mode == "kiosk" else None
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                await self.sio.connect(
                    base, auth=auth, transports=["websocket"], wait_timeout=timeout
                )
                break
            except socketio.exceptions.ConnectionError:
                if attempt == CONNECT_ATTEMPTS - 1 or isinstance(self.connect_error, dict):
                    raise RuntimeError(f"connection refused: {self.connect_error}") from None
                await asyncio.sleep(0.5 + random.random())
        deadline = _now() + timeout
        while not self.authed.is_set():
            if self.auth_error is not None:
                raise RuntimeError(f"authentication refused: {self.auth_error}")
            if _now() > deadline:
                raise RuntimeError("not authenticated in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.authed.wait(), 0.2)

    async def sign_in(self, pin: str, timeout: float) -> None:
        """签到 with the PIN; a request lost with a dropped connection is asked again."""
        deadline = _now() + timeout
        while _now() < deadline:
            if not self.authed.is_set():  # reconnecting: wait for the new proof
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.authed.wait(), 1.0)
                continue
            try:
                answer = await self.sio.call("sign_in", {"pin": pin}, timeout=SIGN_IN_RETRY_S)
            except socketio.exceptions.SocketIOError:  # timed out, or disconnected
                continue
            answer = answer if isinstance(answer, dict) else {}
            if answer.get("ok") or answer.get("error") == "already_signed_in":
                return
            if answer.get("error") == "not_authenticated":
                continue
            if answer.get("retry"):
                await asyncio.sleep(0.5)
                continue
            raise RuntimeError(f"sign_in refused: {answer}")
        raise RuntimeError("not signed in in time")

    # -- pressing ------------------------------------------------------------------------

    async def send(self, press: Press) -> bool:
        if not self.authed.is_set():
            return False  # re-authentication resends it
        try:
            await self.sio.emit(press.event, press.payload, callback=press.answered)
        except socketio.exceptions.SocketIOError:
            return False
        press.sends += 1
        return True

    async def run_press(self, start: float, deadline_s: float, ack_timeout_s: float) -> None:
        press = self.press
        if press is None:
            return
        delay = start + press.offset - _now()
        if delay > 0:
            await asyncio.sleep(delay)
        press.press_at = _now()
        deadline = press.press_at + deadline_s
        backoff = RETRY_BACKOFF_S[0]
        await self.send(press)
        while press.acked_at is None:
            remaining = deadline - _now()
            if remaining <= 0:
                press.error = "no_receipt_by_deadline"
                return
            try:
                await asyncio.wait_for(press.fresh.wait(), min(ack_timeout_s, remaining))
            except TimeoutError:
                await self.send(press)  # lost, or the connection dropped: the same payload
                continue
            press.fresh.clear()
            if press.acked_at is not None:
                return
            answer = press.answer if isinstance(press.answer, dict) else {}
            if answer.get("error") == "not_authenticated":
                await self.send(press)
            elif answer.get("retry"):
                await asyncio.sleep(max(0.0, min(backoff, deadline - _now())))
                backoff = min(backoff * 2, RETRY_BACKOFF_S[1])
                await self.send(press)
            else:
                press.error = str(answer.get("error") or f"unexpected answer {press.answer!r}")
                return


class Shard:
    def __init__(self, name: str) -> None:
        self.name = name
        self.http: aiohttp.ClientSession | None = None
        self.by_source: dict[str, aiohttp.ClientSession] = {}  # one per source address
        self.seats: dict[int, Seat] = {}
        self.payloads: dict[int, dict[str, Any]] = {}  # seat → the ballot it signed
        self.pressing: asyncio.Task[dict[str, Any]] | None = None  # a ``press`` under way

    def progress(self, message: str) -> None:
        print(f"[{self.name}] {message}", file=sys.stderr, flush=True)

    async def _each(
        self, what: str, items: list[Any], work: Any, concurrency: int
    ) -> list[tuple[Any, str]]:
        """Run ``work(item)`` for every item, ``concurrency`` at a time; failures listed."""
        gate = asyncio.Semaphore(concurrency)
        done = 0
        failures: list[tuple[Any, str]] = []
        step = max(1, len(items) // 4)

        async def one(item: Any) -> None:
            nonlocal done
            async with gate:
                try:
                    await work(item)
                except Exception as exc:
                    failures.append((item, f"{exc.__class__.__name__}: {exc}"))
                    if len(failures) <= 5:  # the first ones at once: they may explain the rest
                        label = item[0] if isinstance(item, tuple) else getattr(item, "seat", "?")
                        self.progress(f"{what}: seat {label} failed: {failures[-1][1][:300]}")
            done += 1
            if done % step == 0 or done == len(items):
                self.progress(f"{what} {done}/{len(items)}")

        await asyncio.gather(*(one(item) for item in items))
        return failures

    async def setup(self, cmd: dict[str, Any]) -> dict[str, Any]:
        base, mode = cmd["base"].rstrip("/"), cmd["mode"]
        concurrency = int(cmd.get("concurrency", 50))
        if self.http is None or self.http.closed:
            self.http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT_S),
            )
        rows = [tuple(r) for r in cmd["seats"]]
        logged = dict(LIBRARY_LOG.counts)
        sources = int(cmd.get("source_addresses", 0))
        self.seats.update({
            int(seat): Seat(int(seat), mode, self._session(int(seat), sources)) for seat, *_ in rows
        })  # fmt: skip
        timings: dict[str, float] = {}
        failures: list[tuple[Any, str]] = []

        def remaining() -> list[tuple[Any, ...]]:
            failed = {f[0] for f in failures}
            return [r for r in rows if r not in failed]

        async def phase(name: str, work: Any, limit: int) -> None:
            t = _now()
            failures.extend(await self._each(name, remaining(), work, limit))
            timings[name.replace(" ", "_") + "_s"] = round(_now() - t, 2)

        async def sign_in_apart(row: tuple[Any, ...]) -> None:
            seat = self.seats[row[0]]
            await seat.connect(base, SETUP_TIMEOUT_S)
            await seat.sign_in(row[2], SETUP_TIMEOUT_S)
            await seat.leave()

        if mode == "kiosk":
            await phase("enrolled", lambda r: self.seats[r[0]].enroll(self.http, base, r[1]), 32)
            if cmd.get("sign_in") == "none":  # members marked present by staff
                await phase(
                    "connected",
                    lambda r: self.seats[r[0]].connect(base, SETUP_TIMEOUT_S),
                    concurrency,
                )
                if any(r[2] for r in remaining()):  # the PIN that lets the tablet vote
                    await phase(
                        "pin confirmed",
                        lambda r: self.seats[r[0]].sign_in(r[2], SETUP_TIMEOUT_S),
                        concurrency,
                    )
            elif cmd.get("sign_in") == "apart":
                await phase("signed in apart", sign_in_apart, concurrency)
                await phase(
                    "connected",
                    lambda r: self.seats[r[0]].connect(base, SETUP_TIMEOUT_S),
                    concurrency,
                )
            else:
                await phase(
                    "connected",
                    lambda r: self.seats[r[0]].connect(base, SETUP_TIMEOUT_S),
                    concurrency,
                )
                await phase(
                    "signed in",
                    lambda r: self.seats[r[0]].sign_in(r[2], SETUP_TIMEOUT_S),
                    concurrency,
                )
        else:
            await phase(
                "connected", lambda r: self.seats[r[0]].connect(base, SETUP_TIMEOUT_S), concurrency
            )
        dropped = sum(s.dropped for s in self.seats.values())
        for row, reason in failures:
            self.seats.pop(row[0], None)
            self.progress(f"seat {row[0]} failed: {reason}")
        return {
            "ready": len(self.seats),
            "failures": [[row[0], reason] for row, reason in failures],
            "timings": timings,
            "dropped_during_setup": dropped,
            "client_log": LIBRARY_LOG.since(logged),
            "cpu_s": _cpu_s(),
        }

    async def wait_open(self, cmd: dict[str, Any]) -> dict[str, Any]:
        vote, deadline = int(cmd["vote"]), _now() + float(cmd.get("timeout", 60))
        while _now() < deadline:
            missing = [s for s in self.seats.values() if vote not in s.opened]
            if not missing:
                break
            await asyncio.sleep(0.05)
        missing = [s.seat for s in self.seats.values() if vote not in s.opened]
        return {"seen": len(self.seats) - len(missing), "missing": missing}

    async def arm(self, cmd: dict[str, Any]) -> dict[str, Any]:
        t, cpu = _now(), _cpu_s()
        # a trustee-mode vote: the client's own TrusteeVote (H_C, H_V computed, never taken)
        trustee_vote = (
            TrusteeVote.from_vote(cmd["trustee_vote"]) if cmd.get("trustee_vote") else None
        )
        for row in cmd["plan"]:
            seat = self.seats.get(int(row[0]))
            if seat is None:
                continue
            if seat.mode == "kiosk":
                assert seat.key is not None
                ballot = row[2]
                if trustee_vote is not None:  # trustee mode: row = [seat, offset, ballot, member]
                    payload = encrypted_ballot_payload(
                        seat.key, trustee_vote, seat.seat, int(row[3]), new_nonce(), ballot
                    )
                else:
                    payload = ballot_payload(
                        seat.key, int(cmd["vote"]), seat.seat, new_nonce(), ballot
                    )
                self.payloads[seat.seat] = payload
                seat.press = Press(seat.seat, float(row[1]), payload, "ballot")
            else:
                payload = self.payloads.get(seat.seat) or _filler_payload()
                payload = {**payload, "nonce": new_nonce()}
                seat.press = Press(seat.seat, float(row[1]), payload, "echo")
        return {
            "armed": sum(1 for s in self.seats.values() if s.press is not None),
            "seconds": _now() - t,
            "sign_cpu_s": _cpu_s() - cpu,
        }

    async def fire(self, cmd: dict[str, Any]) -> dict[str, Any]:
        start = float(cmd["start"])
        # this process's CPU from the burst's start, as the server's (bench/run.py
        # measured_burst): the wait for it is not the burst's
        cpu_at_start = asyncio.ensure_future(_cpu_s_at(start))
        if start < _now():
            self.progress(f"WARNING: the burst started {(_now() - start) * 1000:.0f} ms ago")
        pressing = [s for s in self.seats.values() if s.press is not None]
        dropped = sum(s.dropped for s in self.seats.values())
        logged = dict(LIBRARY_LOG.counts)
        await asyncio.gather(
            *(
                s.run_press(start, float(cmd["deadline_s"]), float(cmd["ack_timeout_s"]))
                for s in pressing
            )
        )
        presses = [s.press.to_json() for s in pressing if s.press is not None]
        for s in pressing:
            s.press = None
        acked = sum(1 for p in presses if p["acked_at"] is not None)
        self.progress(f"burst done: {acked}/{len(presses)} acknowledged")
        dropped = sum(s.dropped for s in self.seats.values()) - dropped
        return {
            "presses": presses,
            "dropped": dropped,
            "client_log": LIBRARY_LOG.since(logged),
            "cpu_s": _cpu_s() - await cpu_at_start,
        }

    async def press(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """``fire`` without waiting: answers at once; ``collect`` waits for the presses."""
        if self.pressing is not None:
            raise RuntimeError("a burst is still running: collect it first")
        self.pressing = asyncio.get_running_loop().create_task(self.fire(cmd))
        return {"pressing": sum(1 for s in self.seats.values() if s.press is not None)}

    async def collect(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        if self.pressing is None:
            raise RuntimeError("no burst to collect")
        try:
            return await self.pressing
        finally:
            self.pressing = None

    async def drop(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        """Every seat's transport closes at once, as when the hall's network fails:
        not a ``disconnect`` (that would stop the library from reconnecting)."""
        sockets = [s.sio.eio.ws for s in self.seats.values() if s.sio.eio.ws is not None]
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        return {"dropped": len(sockets)}

    async def authenticated(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Until every seat is connected and authenticated again (or ``timeout``)."""
        deadline = _now() + float(cmd.get("timeout", 60))
        while _now() < deadline and not all(s.authed.is_set() for s in self.seats.values()):
            await asyncio.sleep(0.1)
        return {
            "seats": len(self.seats),
            "authenticated": sum(1 for s in self.seats.values() if s.authed.is_set()),
            "dropped": {str(s.seat): s.dropped for s in self.seats.values()},
            # why: the seats' lost connections by reason, and their failed attempts
            "lost": dict(sum((s.lost for s in self.seats.values()), Counter())),
            "failed_attempts": dict(sum((s.sio.failures for s in self.seats.values()), Counter())),
            "auth_errors": [[s.seat, s.auth_error] for s in self.seats.values() if s.auth_error],
        }

    async def results(self, cmd: dict[str, Any]) -> dict[str, Any]:
        vote, deadline = int(cmd["vote"]), _now() + float(cmd.get("timeout", 30))
        while _now() < deadline:
            if all(vote in s.results for s in self.seats.values()):
                break
            await asyncio.sleep(0.02)
        return {
            "result_at": {str(s.seat): s.results.get(vote) for s in self.seats.values()},
        }

    async def heard(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        """{event: {vote id: kiosks that received it}} for ``vote_opened`` and ``result``,
        of every vote, whichever body's it is."""
        seats = list(self.seats.values())
        return {
            event: dict(Counter(str(vote) for s in seats for vote in getattr(s, kept)))
            for event, kept in (("vote_opened", "opened"), ("result", "results"))
        }

    async def disconnect(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        seats = list(self.seats.values())
        await self._each("disconnected", seats, lambda s: s.leave(), 200)
        self.seats = {}
        for session in [self.http, *self.by_source.values()]:
            if session is not None:
                await session.close()
        self.http, self.by_source = None, {}
        return {"cpu_s": _cpu_s()}

    def _session(self, seat: int, sources: int) -> aiohttp.ClientSession:
        """The HTTP session of a seat's Socket.IO client: the shared one, or the one
        bound to its source address (seat mod ``sources``) on the loopback net."""
        assert self.http is not None
        if sources <= 0:
            return self.http
        address = f"127.0.1.{seat % sources + 2}"
        if address not in self.by_source:
            self.by_source[address] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, local_addr=(address, 0)),
                timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT_S),
            )
        return self.by_source[address]


def _filler_payload() -> dict[str, Any]:
    """An echo payload shaped like a signed ballot, when no ballot was signed."""
    return {"vote": 1, "nonce": new_nonce(), "ballot": {"regulation": "yes"},
            "signature": "A" * 88, "participation_signature": "A" * 88}  # fmt: skip


async def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "kiosks"
    shard = Shard(name)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    handlers = {
        "setup": shard.setup,
        "wait_open": shard.wait_open,
        "arm": shard.arm,
        "fire": shard.fire,
        "results": shard.results,
        "heard": shard.heard,
        "press": shard.press,
        "collect": shard.collect,
        "drop": shard.drop,
        "authenticated": shard.authenticated,
        "disconnect": shard.disconnect,
    }
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        try:
            answer = {"ok": True, **(await handlers[cmd["cmd"]](cmd))}
        except Exception as exc:  # reported to the orchestrator, which stops the run
            answer = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    if shard.seats:
        await shard.disconnect({})


if __name__ == "__main__":
    # uvloop: a quarter less CPU per press than asyncio's own loop (0.99 → 0.76 s for
    # 3,000 presses), CPU this machine's server would otherwise share with the load
    uvloop.run(main())
