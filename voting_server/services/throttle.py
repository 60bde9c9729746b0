"""Counting failures per key in memory, to slow down guessing (logins, enrollment codes).

The server runs one worker process (docs/architecture.md), so an in-memory
counter sees every attempt; a restart forgets them, which only resets the
wait. The clock is injected for tests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class Throttle:
    """At most ``limit`` failures per key within ``window_s`` seconds; then the
    key waits until its oldest failure leaves the window."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, key: Hashable) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        with self._lock:
            times = self._recent(key)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, times[0] + self.window_s - self._clock())

    def fail(self, key: Hashable) -> None:
        with self._lock:
            self._recent(key).append(self._clock())

    def reset(self, key: Hashable) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: Hashable) -> deque[float]:
        cutoff = self._clock() - self.window_s
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= cutoff:
            times.popleft()
        if len(self._failures) > 10_000:  # keep a flood of distinct keys from growing memory
            for stale in [k for k, v in self._failures.items() if not v and k != key]:
                del self._failures[stale]
        return times
