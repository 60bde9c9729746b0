"""Kiosk signatures, checked in a process apart from the event loop.

Under gunicorn's gevent worker the whole server is one OS thread: every
socket, every ballot, every broadcast. A ballot carries two P-256 signatures
(the ballot and the participation statement), and checking them was a third
of the worker's busy time in a burst. A thread does not help: ``cryptography``
releases the GIL inside OpenSSL, but the checking thread must take the GIL
back after every signature, and a thread running Python gives it up only
once the other has waited a switch interval (5 ms) — 3,000 checks took 1.5–2.2 s
on a thread beside a busy loop instead of 0.3 s (``python -m bench.gil_convoy``,
docs/performance.md).

So in the server the checks go to a **checker process** (``python -m
voting_server.services.signatures``, one per server process, started with the
worker): the ballots waiting for a check are sent together in one frame down a
pipe, and the event loop goes on reading sockets until the verdicts come back.
Each ballot is checked as it arrives, before it joins a group commit
(``Voting.precheck``), so the checks of the next batch overlap the commit of
this one. Without gevent (the test client's threads, the tools) the checks
run inline: the verdicts are the same, only where the CPU is spent differs.

A trustee-mode ballot (docs/trustee-votes.md) carries, instead of the participation
signature, zero-knowledge proofs that each mark is 0 or 1 and each contest within its
limit: a ``ProofCheck`` goes down the same pipe and is answered the same way (its
group operations cost more than a signature: all the more reason to keep them off the
event loop).

The checker process is trusted like the worker (same user, same code); it is
given public keys and signed bytes only, never a secret. If it dies, the frame
it held is checked inline and the next one starts a new process.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from crypto import CryptoError, KioskPublicKey
from voting_server.services.event_loop import gevent_patched

log = logging.getLogger(__name__)

Check = tuple[str, bytes, bytes]  # the device's key (base64 SPKI, as stored), raw r‖s, signed bytes
# A trustee-mode ballot's proofs: ("trustee-proof", H_V, joint key hex, manifest JSON,
# member id text, nonce, the encrypted ballot) — crypto.trustees.ballot.verify_ballot's inputs.
ProofCheck = tuple[str, bytes, str, str, str, str, Any]
PROOF = "trustee-proof"
AnyCheck = Check | ProofCheck

_LENGTH = struct.Struct(">I")
KEYS_KEPT = 20_000  # parsed keys remembered per process (a hall has one per seat)


class KeyCache:
    """Parsed kiosk keys by their stored text: parsing one costs more than a check.
    Also the trustee-mode votes' parsed layouts and joint keys, by their text."""

    def __init__(self, limit: int = KEYS_KEPT) -> None:
        self.limit = limit
        self._keys: dict[str, KioskPublicKey | None] = {}
        self._contexts: dict[tuple[str, str], Any] = {}

    def context(self, joint_key: str, manifest: str) -> Any:
        """(Element, Layout) of a vote, parsed once; raises TrusteeCryptoError."""
        found = self._contexts.get((joint_key, manifest))
        if found is None:
            from crypto.trustees.ballot import Layout  # only where trustee mode is used
            from crypto.trustees.group import Element

            if len(self._contexts) >= 64:
                self._contexts.clear()
            found = (
                Element.from_hex(joint_key, "joint_key"),
                Layout.from_json(json.loads(manifest)),
            )
            self._contexts[(joint_key, manifest)] = found
        return found

    def get(self, spki_b64: str) -> KioskPublicKey | None:
        """The parsed key; None if the text is not a P-256 SubjectPublicKeyInfo."""
        try:
            return self._keys[spki_b64]
        except KeyError:
            pass
        if len(self._keys) >= self.limit:
            self._keys.clear()  # a new hall's keys; rare enough not to need an LRU
        try:
            key: KioskPublicKey | None = KioskPublicKey.from_spki_b64(spki_b64)
        except CryptoError:
            key = None
        self._keys[spki_b64] = key
        return key


def verify_inline(checks: Sequence[AnyCheck], keys: KeyCache) -> list[bool]:
    """Whether each ``(key, signature, data)`` verifies — or each ``ProofCheck``'s
    proofs — in order, in this thread.

    Precondition: none (a malformed key, signature or ballot is simply False).
    """
    verdicts = []
    for check in checks:
        if len(check) == 7 and check[0] == PROOF:
            verdicts.append(proof_verifies(check, keys))  # type: ignore[arg-type]
            continue
        spki, signature, data = check  # type: ignore[misc]
        key = keys.get(spki)
        verdicts.append(key is not None and key.verify(signature, data))
    return verdicts


def proof_verifies(check: ProofCheck, keys: KeyCache) -> bool:
    """Whether a trustee-mode ballot's proofs verify (crypto.trustees.ballot.verify_ballot)."""
    from crypto.trustees.ballot import verify_ballot
    from crypto.trustees.group import TrusteeCryptoError

    _, h_v, joint_key, manifest, member, nonce, ballot = check
    try:
        key, layout = keys.context(joint_key, manifest)
        verify_ballot(h_v, key, layout, member, nonce, ballot)
    except (TrusteeCryptoError, ValueError, TypeError, KeyError):
        return False
    return True


@dataclass
class _Waiting:
    checks: Sequence[AnyCheck]
    done: threading.Event = field(default_factory=threading.Event)
    verdicts: list[bool] | None = None


class SignatureChecker:
    """One per server process; ``verify`` from any handler.

    ``out_of_process``: check in the checker process (default: when the process is
    gevent-patched, i.e. under the production server). Callers arriving while a frame
    is with the checker wait together and go in the next frame.
    """

    def __init__(self, out_of_process: bool | None = None) -> None:
        self.out_of_process = gevent_patched() if out_of_process is None else out_of_process
        self.keys = KeyCache()
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._carrying = False
        self._child: Any = None  # a (gevent) subprocess.Popen
        self._child_of = 0  # the pid that started it: a forked worker starts its own
        self.frames = 0  # frames the checker answered, and checks in them
        self.sent = 0

    def verify(self, checks: Sequence[AnyCheck]) -> list[bool]:
        """Whether each ``(key, signature, data)`` verifies, in order.

        Precondition: none (a malformed key or signature is simply False).
        """
        if not checks:
            return []
        if not self.out_of_process:
            return verify_inline(checks, self.keys)
        waiting = _Waiting(checks)
        with self._lock:
            self._queue.append(waiting)
            carry = not self._carrying
            self._carrying = True
        if carry:
            self._carry()
        waiting.done.wait()
        assert waiting.verdicts is not None
        return waiting.verdicts

    def start(self) -> None:
        """Start the checker process now rather than at the first ballot (starting it
        takes a fork and an interpreter's start-up: not in the middle of a burst)."""
        if self.out_of_process:
            try:
                self._running_child()
            except OSError as exc:  # the first frame tries again, or checks inline
                log.warning("signature checker process did not start (%s)", exc)

    def close(self) -> None:
        """Stop the checker process (it also stops by itself when this process ends)."""
        child, self._child = self._child, None
        if child is not None and self._child_of == os.getpid():
            _stop(child)

    def _carry(self) -> None:
        """Send what is queued, one frame at a time, until nothing is."""
        while True:
            with self._lock:
                frame, self._queue = self._queue, []
                if not frame:
                    self._carrying = False
                    return
            try:
                checks = [check for waiting in frame for check in waiting.checks]
                verdicts = self._ask_child(checks)
                start = 0
                for waiting in frame:
                    waiting.verdicts = verdicts[start : start + len(waiting.checks)]
                    start += len(waiting.checks)
            finally:
                for waiting in frame:  # never leave a caller hanging
                    if waiting.verdicts is None:
                        waiting.verdicts = verify_inline(waiting.checks, self.keys)
                    waiting.done.set()

    def _ask_child(self, checks: list[AnyCheck]) -> list[bool]:
        try:
            child = self._running_child()
            body = pickle.dumps(checks, protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.write(_LENGTH.pack(len(body)) + body)
            child.stdin.flush()
            answer = _read_exactly(child.stdout, len(checks))
        except (OSError, EOFError, ValueError) as exc:
            log.warning("signature checker process failed (%s); checking inline", exc)
            self.close()
            return verify_inline(checks, self.keys)
        self.frames += 1
        self.sent += len(checks)
        return [b == 1 for b in answer]

    def _running_child(self) -> Any:
        child = self._child
        if child is not None and self._child_of == os.getpid() and child.poll() is None:
            return child
        # subprocess.Popen is gevent's once patched: the pipes then wait cooperatively
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._child_of = os.getpid()
        log.info("signature checker process %s started", self._child.pid)
        return self._child


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError("the checker process closed its pipe")
        data += chunk
    return data


def _stop(child: Any) -> None:
    try:
        child.stdin.close()
        child.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):  # stopping is best effort: kill what did not stop
        child.kill()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The checker process: read frames (a length, then a pickled list of checks)
    until the pipe closes; answer each with one byte per check, 1 = verifies."""
    keys = KeyCache()
    while True:
        header = requests.read(_LENGTH.size)
        if len(header) < _LENGTH.size:
            return  # the server process is gone
        (size,) = _LENGTH.unpack(header)
        # pickle is safe here: the only writer is the worker process that started us
        checks = pickle.loads(_read_exactly(requests, size))
        answers.write(bytes(verify_inline(checks, keys)))
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
