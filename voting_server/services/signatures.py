"""Kiosk signatures of a batch of ballots, checked beside the event loop.

Under gunicorn's gevent worker the whole server is one OS thread: every
socket, every ballot, every broadcast. Checking a P-256 signature is pure
CPU in OpenSSL, and ``cryptography`` releases the GIL while it runs; so the
signatures of a batch are checked on a real thread of gevent's thread pool,
on the machine's other core, while the loop goes on reading the next
ballots. Without gevent (the test client's threads, the tools) they are
checked inline: the answers are the same, only where the CPU is spent differs.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto import KioskPublicKey

Check = tuple[KioskPublicKey, bytes, bytes]  # key, raw r‖s signature, signed bytes

OFFLOAD_MIN = 8  # fewer checks than this are not worth a thread hop


def verify_all(checks: Sequence[Check]) -> list[bool]:
    """Whether each ``(key, signature, data)`` verifies, in order.

    Precondition: none (a malformed signature is simply False). Runs on gevent's
    thread pool when the process is gevent-patched and the batch is large enough.
    """
    if len(checks) >= OFFLOAD_MIN and _gevent_patched():
        from gevent import get_hub

        return list(get_hub().threadpool.apply(_verify_chunk, (list(checks),)))
    return _verify_chunk(checks)


def _verify_chunk(checks: Sequence[Check]) -> list[bool]:
    return [key.verify(signature, data) for key, signature, data in checks]


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency of the server
        return False
    return bool(monkey.is_module_patched("threading"))
