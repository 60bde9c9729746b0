"""The verifier on worker processes reports exactly what it reports in one process.

``verify_log(jobs=1)`` is the plain loop: each line completely, in order.
With ``jobs=2`` the per-line checks run in two worker processes over chunks
of lines and this process replays their results in order. The two must
agree on everything — the verdict, the first failing entry and what failed,
the head — for honest and tampered logs alike, wherever the chunk
boundaries fall (chunks of 1 line put a boundary at every entry).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import audit.verify
from audit.entry import canonical_bytes, sign_entry, unsigned_entry
from audit.merkle import tree_root
from audit.verify import Replay, Report, VerificationError, check_line, verify_log
from crypto import KioskKey
from tests.support.bundles import TAMPERINGS, bundle_of, run, verify_json
from tests.support.logs import LogBuilder, resign, sitting

CHUNKS = (1, 5)  # lines per worker task


def both_ways(log: LogBuilder, lines: list[bytes], head: tuple[int, str] | None = None) -> Report:
    """The sequential report, after checking that two workers give the same one."""
    sequential = verify_log(lines, log.server.public_bytes, head, jobs=1)
    for chunk in CHUNKS:
        parallel = verify_log(lines, log.server.public_bytes, head, jobs=2, chunk=chunk)
        assert parallel == sequential, f"chunk={chunk}"
    return sequential


@pytest.fixture(scope="module")
def honest() -> tuple[LogBuilder, dict[str, int]]:
    return sitting()


@pytest.mark.slow
def test_an_honest_log_verifies_both_ways(honest) -> None:
    log, _ = honest
    report = both_ways(log, log.lines)
    assert report.ok and report.errors == []
    assert report.head == {"size": len(log.lines), "root": tree_root(log.lines).hex()}


def _positions(log: LogBuilder, marks: dict[str, int]) -> dict[str, int]:
    return {
        "entry 0": 0,
        "a ballot": marks["first_ballot"],
        "a checkpoint": marks["motion_result"] + 1,
        "the last entry": len(log.lines) - 2,  # -2: swapping needs an entry after it
    }


# Every tampering at every position runs in `make test`; the fast lane (`make check`)
# keeps one position per tampering (a ballot: the commonest target).
WHERE = [
    pytest.param("entry 0", marks=pytest.mark.slow),
    "a ballot",
    pytest.param("a checkpoint", marks=pytest.mark.slow),
    pytest.param("the last entry", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("name", TAMPERINGS)
def test_tampering_fails_at_the_same_entry_both_ways(honest, name: str, where: str) -> None:
    log, marks = honest
    change, offset = TAMPERINGS[name]
    k = _positions(log, marks)[where]
    report = both_ways(log, change(log.lines, k))
    assert not report.ok
    assert report.errors[0]["index"] == k + offset, report.errors


@pytest.mark.parametrize(
    ("mark", "change", "reason"),
    [
        ("motion_result", lambda d: d["result"]["subjects"]["budget"].update(yes=4), "recount"),
        ("first_ballot", lambda d: d.update(ballot={"budget": "abstain"}), "kiosk signature"),
        ("released", lambda d: d["ballots"].pop(), "ballots released"),
    ],
)
def test_a_dishonest_server_is_caught_at_the_same_entry_both_ways(
    honest, mark: str, change, reason: str
) -> None:
    """Entries rewritten and everything after re-signed and re-chained with the server's key."""
    log, marks = honest
    report = both_ways(log, resign(log, marks[mark], change))
    assert report.errors[0]["index"] == marks[mark]
    assert reason in report.errors[0]["reason"]


@pytest.mark.parametrize("where", WHERE)
def test_an_entry_re_signed_but_not_re_chained_breaks_the_next_link_both_ways(
    honest, where: str
) -> None:
    """Entry k is changed harmlessly (its time) and re-signed; k+1 still names its old hash."""
    log, marks = honest
    k = _positions(log, marks)[where]
    entry = json.loads(log.lines[k])
    unsigned = unsigned_entry(k, entry["prev"], "2026-11-22T09:00:01.000000Z", entry["type"],
                              entry["data"])  # fmt: skip
    lines = [*log.lines[:k], canonical_bytes(sign_entry(unsigned, log.server.sign)),
             *log.lines[k + 1 :]]  # fmt: skip
    report = both_ways(log, lines)
    assert report.errors[0] == {
        "index": k + 1,
        "reason": "prev does not match the hash of the previous entry",
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not json",
        b"[" * 100_000,  # nested deeper than the parser goes
        b'{"data":{},"i":4,"prev":"","sig":"","t":1.5,"type":"x"}',
        b'{"data":{},"i":4,"prev":"","sig":"","t":NaN,"type":"x"}',
    ],
)
def test_unparsable_lines_fail_at_their_index_both_ways(honest, garbage: bytes) -> None:
    log, _ = honest
    report = both_ways(log, [*log.lines[:4], garbage, *log.lines[4:]])
    assert report.errors[0]["index"] == 4


def test_a_float_in_a_signed_entry_fails_as_it_always_did(honest) -> None:
    """A float, even signed, has no canonical form: the same message with or without workers."""
    log, _ = honest
    entry = json.loads(log.lines[3])
    unsigned = unsigned_entry(3, entry["prev"], entry["t"], entry["type"], {"x": 1})
    line = canonical_bytes(sign_entry(unsigned, log.server.sign)).replace(b'"x":1', b'"x":1.0')
    report = both_ways(log, [*log.lines[:3], line, *log.lines[4:]])
    assert report.errors[0] == {
        "index": 3,
        "reason": "floats have no canonical form here; use integers or strings",
    }


def test_a_log_cut_after_a_result_lacks_its_checkpoint_both_ways(honest) -> None:
    log, marks = honest
    cut = marks["motion_result"] + 1
    report = both_ways(log, log.lines[:cut])
    assert report.errors[0] == {
        "index": cut,
        "reason": f"a checkpoint must follow entry {cut - 1}",
    }


def test_a_published_head_exposes_truncation_both_ways(honest) -> None:
    log, _ = honest
    head = (len(log.lines), tree_root(log.lines).hex())
    cut = len(log.lines) - 3
    report = both_ways(log, log.lines[:cut], head)
    assert report.errors[0]["index"] == cut
    assert report.head == {"size": cut, "root": tree_root(log.lines[:cut]).hex()}


def test_progress_is_reported_at_the_same_entries_both_ways(honest, monkeypatch) -> None:
    log, _ = honest
    monkeypatch.setattr(audit.verify, "PROGRESS_EVERY", 10)
    calls: dict[int, list[tuple[int, int]]] = {1: [], 2: []}
    for jobs in (1, 2):
        verify_log(
            log.lines,
            log.server.public_bytes,
            jobs=jobs,
            chunk=3,
            progress=lambda done, total, jobs=jobs: calls[jobs].append((done, total)),
        )
    n = len(log.lines)
    assert calls[1] == calls[2] == [(d, n) for d in range(10, n + 1, 10)]


def test_voting_audit_verify_jobs_gives_the_same_report(honest, tmp_path: Path) -> None:
    log, marks = honest
    change, _ = TAMPERINGS["one byte changed"]
    for name, lines in {
        "honest": log.lines,
        "tampered": change(log.lines, marks["first_ballot"]),
    }.items():
        bundle = bundle_of(tmp_path / name, log, lines)
        sequential = verify_json(bundle, "--jobs", "1")
        assert verify_json(bundle, "--jobs", "2") == sequential
        assert sequential[0] == (0 if name == "honest" else 1)


def test_jobs_must_be_positive(honest, tmp_path: Path) -> None:
    log, _ = honest
    done = run("verify", str(bundle_of(tmp_path, log)), "--jobs", "0")
    assert done.returncode == 2
    assert "--jobs" in done.stderr


def test_a_workers_kiosk_verdict_counts_only_for_the_key_the_log_enrolled(honest) -> None:
    """The replay takes a worker's kiosk-signature verdict only when the worker used the
    device key the log enrolled; with any other key it checks the signature itself."""
    log, marks = honest
    k = marks["first_ballot"]
    device = json.loads(log.lines[k])["data"]["device"]
    other = KioskKey.generate().public.spki_b64
    enrolled = {f"d{seat}": key.public.spki_b64 for seat, key in log.kiosks.items()}

    def replay_until_k(hints: dict[str, str], verdict: bool) -> str | None:
        replay = Replay(log.server.public_bytes, hints)
        try:
            for index, line in enumerate(log.lines[: k + 1]):
                replay.apply(check_line(index, line, log.server.public_bytes),
                             verdict if index == k else None)  # fmt: skip
        except VerificationError as exc:
            return exc.reason
        return None

    # Checked with the enrolled key: the worker's verdict is taken, even "does not verify".
    assert replay_until_k(enrolled, False) == "ballot: kiosk signature does not verify"
    # Checked with another key: the verdict is ignored, the honest signature verifies here.
    assert replay_until_k({**enrolled, device: other}, False) is None
