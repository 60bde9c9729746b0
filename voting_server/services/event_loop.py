"""Which event loop this process runs under."""

from __future__ import annotations


def gevent_patched() -> bool:
    """True in the production server (gunicorn's gevent worker has monkey-patched the
    standard library: every socket, lock and sleep is a greenlet switch on one OS
    thread); False under the test client's threads and in the command-line tools."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency of the server
        return False
    return bool(monkey.is_module_patched("threading"))
