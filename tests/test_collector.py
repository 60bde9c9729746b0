"""When the server runs full garbage collections (services/collector.py): never while
a vote is being decided, when the hall is quiet, and at least every AT_MOST_S."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from voting_server.services.collector import (
    AT_MOST_S,
    EVERY_S,
    NEVER,
    QUIET_S,
    Collector,
    full_collection_due,
)


@pytest.mark.parametrize(
    ("now", "last_full", "last_busy", "due"),
    [
        (1000.0, 1000.0 - EVERY_S, 1000.0 - QUIET_S, True),  # quiet, and long enough ago
        (1000.0, 1000.0 - EVERY_S, 1000.0 - QUIET_S + 1, False),  # a ballot a moment ago
        (1000.0, 1000.0 - EVERY_S + 1, 0.0, False),  # quiet, but the last one was recent
        (1000.0, 1000.0 - AT_MOST_S, 1000.0, True),  # busy, but none for too long
        (1000.0, 1000.0 - AT_MOST_S + 1, 1000.0, False),
    ],
)
def test_when_a_full_collection_is_due(
    now: float, last_full: float, last_busy: float, due: bool
) -> None:
    assert full_collection_due(now, last_full, last_busy) is due


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """The test's garbage stays until the collector under test collects it."""
    thresholds = gc.get_threshold()
    gc.disable()
    yield
    gc.enable()
    gc.set_threshold(*thresholds)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


def test_no_full_collection_while_a_vote_is_open_then_one_when_quiet(
    no_automatic_collection: None,
) -> None:
    clock, voting = Clock(), {"open": True}
    collector = Collector(lambda: voting["open"], clock)
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    before = full_collections()
    for second in range(1, int(EVERY_S) * 3):  # a long vote
        clock.now = float(second)
        assert not collector.tick()
    assert full_collections() == before and gone() is not None
    voting["open"] = False  # the vote closes
    clock.now += QUIET_S - 1
    assert not collector.tick(), "right after the vote: the result is still going out"
    clock.now += 1
    assert collector.tick()
    assert full_collections() == before + 1 and gone() is None
    clock.now += 1
    assert not collector.tick(), "not again so soon"


def test_a_vote_open_for_too_long_still_gets_a_collection(no_automatic_collection: None) -> None:
    clock = Clock()
    collector = Collector(lambda: True, clock)
    clock.now = AT_MOST_S
    assert collector.tick() and collector.collections == 1


def test_taking_over_switches_off_only_the_automatic_full_collections() -> None:
    thresholds = gc.get_threshold()
    try:
        Collector(lambda: False).take_over()
        assert gc.get_threshold() == (thresholds[0], thresholds[1], NEVER)
    finally:
        gc.set_threshold(*thresholds)
