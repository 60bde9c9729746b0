"""Full garbage collections only while no vote is being decided.

CPython's cycle collector, left to itself, runs a full (generation-2)
collection whenever the heap has grown by a quarter since the last one. A
full collection visits every live object and serves no socket meanwhile; with
3,000 kiosks connected that took 0.4–0.7 s each on the benchmark machine, and
three of them fell inside one burst of ballots (docs/performance.md). The
ballot path itself makes almost no cyclic garbage — the server's memory after
a burst of 3,000 ballots is the same with the collector off — so postponing
the full collections while votes are open loses nothing.

In the server (the gevent worker) the automatic full collections are therefore
switched off (the young generations are collected as usual), and a background
task runs one when this process has seen no open vote and no ballot for
``QUIET_S``, at most every ``EVERY_S`` — and, to bound memory whatever happens,
at least every ``AT_MOST_S``.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

QUIET_S = 5.0  # no open vote and no ballot for this long: a pause hurts nobody
EVERY_S = 30.0
AT_MOST_S = 300.0
TICK_S = 1.0
NEVER = 1 << 30  # a generation-2 threshold the collector's counter never reaches


def full_collection_due(now: float, last_full: float, last_busy: float) -> bool:
    """Whether to run a full collection at ``now`` (seconds, any monotonic clock),
    given when the last one ran and when the process was last busy (a vote open or
    a ballot arriving)."""
    since_full = now - last_full
    if since_full >= AT_MOST_S:
        return True
    return since_full >= EVERY_S and now - last_busy >= QUIET_S


class Collector:
    """Runs the full collections for one server process.

    ``busy``: whether a vote is being decided in this process right now.
    """

    def __init__(self, busy: Callable[[], bool], clock: Callable[[], float] = time.monotonic):
        self.busy = busy
        self.clock = clock
        self.last_full = self.last_busy = clock()
        self.collections = 0

    def take_over(self) -> None:
        """Switch off the automatic full collections (young ones stay automatic)."""
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)

    def tick(self) -> bool:
        """Note whether the process is busy; run a full collection if one is due.
        Returns whether it ran one."""
        now = self.clock()
        if self.busy():
            self.last_busy = now
        if not full_collection_due(now, self.last_full, self.last_busy):
            return False
        started = time.perf_counter()
        found = gc.collect()
        self.last_full = self.clock()
        self.collections += 1
        log.info(
            "full garbage collection: %d objects freed in %.0f ms",
            found,
            (time.perf_counter() - started) * 1000,
        )
        return True

    def run(self, sleep: Callable[[float], object]) -> None:
        """The background task: a tick every ``TICK_S``."""
        self.take_over()
        while True:
            sleep(TICK_S)
            self.tick()
