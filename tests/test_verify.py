"""The offline verifier accepts an honest log and names the first bad entry
of every kind of tampering (docs/audit-log.md)."""

from __future__ import annotations

import gc

import pytest

from audit.merkle import tree_root
from audit.verify import verify_log
from rules.kinds import KeyPolicy
from tests.support.logs import MOTION, LogBuilder, resign, sitting


def first_error(log: LogBuilder, lines: list[bytes] | None = None, head=None) -> dict | None:
    report = verify_log(log.lines if lines is None else lines, log.server.public_bytes, head)
    return report.errors[0] if report.errors else None


def test_an_honest_log_verifies() -> None:
    log, _ = sitting()
    report = verify_log(log.lines, log.server.public_bytes)
    assert report.ok, report.errors
    assert report.entries == len(log.lines)
    assert report.head == {"size": len(log.lines), "root": tree_root(log.lines).hex()}


def test_every_changed_byte_is_caught_at_its_entry() -> None:
    log, _ = sitting()
    for index in range(len(log.lines)):
        line = bytearray(log.lines[index])
        line[len(line) // 2] ^= 0x01
        tampered = [*log.lines[:index], bytes(line), *log.lines[index + 1 :]]
        error = first_error(log, tampered)
        assert error is not None and error["index"] == index, (index, error)


def test_deleted_inserted_duplicated_and_moved_entries_are_caught() -> None:
    log, marks = sitting()
    k = marks["first_ballot"]
    assert first_error(log, log.lines[:k] + log.lines[k + 1 :])["index"] == k  # deleted
    assert (
        first_error(log, [*log.lines[: k + 1], log.lines[k], *log.lines[k + 1 :]])["index"] == k + 1
    )
    foreign = LogBuilder(members=5).lines[3]
    assert first_error(log, [*log.lines[:k], foreign, *log.lines[k:]])["index"] == k  # inserted
    moved = list(log.lines)
    moved[k], moved[k + 1] = moved[k + 1], moved[k]
    assert first_error(log, moved)["index"] == k


def test_truncation_is_caught_with_a_published_head() -> None:
    log, _ = sitting()
    head = (len(log.lines), tree_root(log.lines).hex())
    assert first_error(log, head=head) is None
    cut = log.lines[:-2]
    assert first_error(log, cut) is None  # a clean cut is still a valid shorter log …
    error = first_error(log, cut, head=head)  # … which the published head exposes
    assert error is not None and "head" in error["reason"]
    wrong_root = (len(log.lines), "00" * 32)
    assert first_error(log, head=wrong_root) is not None


def test_a_result_that_is_not_the_sum_of_the_ballots_fails_even_if_re_signed() -> None:
    log, marks = sitting()

    def inflate(data: dict) -> None:
        data["result"]["subjects"]["budget"]["yes"] += 1

    lines = resign(log, marks["motion_result"], inflate)
    error = first_error(log, lines)
    assert error["index"] == marks["motion_result"]
    assert "recount" in error["reason"]


def test_first_press_policy_counts_the_first_ballot() -> None:
    log = LogBuilder(members=3)
    log.sign_in(1, 2, 3)
    log.configure(1, MOTION, secret=False, policy=KeyPolicy.FIRST_PRESS)
    log.open(1, MOTION, present=3)
    log.press(1, 1, {"budget": "yes"}, secret=False)
    log.press(1, 2, {"budget": "yes"}, secret=False)
    # Logged as if last press counted: the verifier's recount under first_press is different.
    log.close(1, MOTION, 3, [{"budget": "yes"}] * 2, secret=False)
    assert first_error(log) is None
    log2 = LogBuilder(members=3)
    log2.sign_in(1, 2, 3)
    log2.configure(1, MOTION, secret=False, policy=KeyPolicy.FIRST_PRESS)
    log2.open(1, MOTION, present=3)
    log2.press(1, 1, {"budget": "yes"}, secret=False)
    log2.press(1, 1, {"budget": "no"}, secret=False, press=2)
    error = first_error(log2)
    assert error["index"] == len(log2.lines) - 1 and "first_press" in error["reason"]


def test_forged_kiosk_signature_fails_even_if_the_server_signs_it() -> None:
    log, marks = sitting()

    def swap_choice(data: dict) -> None:
        data["ballot"] = {"budget": "yes"}  # the kiosk signed "no"

    error = first_error(log, resign(log, marks["first_ballot"], swap_choice))
    assert error["index"] == marks["first_ballot"] and "kiosk signature" in error["reason"]


def test_released_ballots_must_match_the_participants() -> None:
    log, marks = sitting()

    def stuff(data: dict) -> None:
        data["ballots"].append({"civil": "satisfied", "sports": "satisfied"})

    error = first_error(log, resign(log, marks["released"], stuff))
    assert (
        error["index"] == marks["released"] and "5 ballots released for 4 voters" in error["reason"]
    )


def test_a_ballot_from_a_member_not_signed_in_fails() -> None:
    log = LogBuilder(members=3)
    log.sign_in(1, 2)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=2)
    log.press(1, 3, {"budget": "yes"}, secret=False)
    error = first_error(log)
    assert error["index"] == len(log.lines) - 1 and "not signed in" in error["reason"]


def test_opening_without_quorum_fails() -> None:
    log = LogBuilder(members=5)
    log.sign_in(1, 2)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=2)
    error = first_error(log)
    assert error["index"] == len(log.lines) - 1 and "quorum" in error["reason"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not json",
        b"[1,2]",
        b'{"i":0}',
        b'{"data":{},"i":4,"prev":"","sig":"","t":1.5,"type":"x"}',
    ],
)
def test_unparsable_or_misshapen_lines_fail_at_their_index(garbage: bytes) -> None:
    log, _ = sitting()
    lines = [*log.lines[:4], garbage, *log.lines[4:]]
    assert first_error(log, lines)["index"] == 4


def test_verifying_leaves_the_callers_garbage_collector_as_it_was() -> None:
    # verify_log switches full collections off while it runs (a library caller's
    # process must get its own settings back, also when the log fails)
    log, marks = sitting()
    before = gc.get_threshold()
    assert verify_log(log.lines, log.server.public_bytes).ok
    assert gc.get_threshold() == before
    k = marks["first_ballot"]
    assert not verify_log(log.lines[:k] + log.lines[k + 1 :], log.server.public_bytes).ok
    assert gc.get_threshold() == before
