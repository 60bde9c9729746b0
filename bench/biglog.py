"""A large signed audit log for timing the offline verifier (``verify_entries_per_s``).

A body of 3,000 members sits through vote after vote until the log holds at
least the requested number of entries (default 1,000,000): each vote is
configured and opened, almost every member presses (3 % never do, 10 % press
a second time), the vote is closed, secret votes release their ballots, the
result is logged and announced. Votes cycle through the demo's three kinds
(motion, a 12-for-10 selection, an evaluation of three departments), every
fourth one secret. Every entry is signed with real keys — the server's
Ed25519 key over each entry, each seat's own P-256 key over each press — by
``tests/support/logs.py``'s ``LogBuilder``, the helper whose logs the
verifier's tests accept; here its lines stream to ``log.jsonl`` instead of
staying in memory, and checkpoints take their Merkle root from a running
``MerkleStream`` instead of rehashing the whole log each time.

The bundle (``log.jsonl``, ``keys.json``, ``head.json``) is cached: a
directory whose ``meta.json`` matches the parameters is used as it is.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from audit.checkpoint import CHECKPOINT, checkpoint_due, signed_head
from audit.entry import GENESIS_PREV, canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.merkle import MerkleStream
from rules import VoteSpec, parse_vote_config
from tests.support.logs import TIME, LogBuilder
from voting_server.cli.simulate import random_ballot
from voting_server.demo import AGENDA

FORMAT = 1  # bump when the generated content changes, to invalidate caches
NO_PRESS = 0.03
CHANGE_OF_MIND = 0.10
SECRET_EVERY = 4


class StreamingLog(LogBuilder):
    """LogBuilder writing each line to ``out`` as it is made (O(1) memory)."""

    def __init__(self, out: BinaryIO, members: int) -> None:
        self._out = out
        self._tree = MerkleStream()
        self._last_hash = GENESIS_PREV
        self.size = 0
        super().__init__(members)

    def append(self, type_: str, data: dict[str, Any]) -> int:
        index = self._line(type_, data)
        while checkpoint_due(self.size - 1, type_):
            type_ = CHECKPOINT
            head = signed_head(self.size, self._tree.root().hex(), TIME, self.server.sign)
            self._line(type_, head)
        return index

    def _line(self, type_: str, data: dict[str, Any]) -> int:
        entry = unsigned_entry(self.size, self._last_hash, TIME, type_, data)
        line = canonical_bytes(sign_entry(entry, self.server.sign))
        self._out.write(line + b"\n")
        self._tree.add(line)
        self._last_hash = entry_hash(line)
        self.size += 1
        return self.size - 1

    def keys_json(self) -> dict[str, Any]:
        return {
            "server": {"algorithm": "Ed25519", "public_key": self.server.public_b64},
            "kiosks": {
                f"d{seat}": {"seat": seat, "algorithm": "ECDSA-P256-SHA256",
                             "public_key": key.public.spki_b64, "revoked": False}
                for seat, key in self.kiosks.items()
            },
        }  # fmt: skip


def demo_specs() -> list[VoteSpec]:
    return [parse_vote_config(item.vote.config) for item in AGENDA]


def _vote(log: StreamingLog, vote: int, spec: VoteSpec, rng: random.Random) -> None:
    members = log.members
    secret = vote % SECRET_EVERY == 0
    log.configure(vote, spec, secret=secret)
    log.open(vote, spec, members)
    presses: list[tuple[float, int, Any]] = []
    for member in range(1, members + 1):
        if rng.random() < NO_PRESS:
            continue
        presses.append((rng.random(), member, random_ballot(spec, rng)))
        if rng.random() < CHANGE_OF_MIND:
            presses.append((rng.uniform(presses[-1][0], 1.0), member, random_ballot(spec, rng)))
    presses.sort(key=lambda p: p[0])
    counted: dict[int, Any] = {}
    pressed: dict[int, int] = {}
    for _at, member, ballot in presses:
        pressed[member] = pressed.get(member, 0) + 1
        log.press(vote, member, ballot, secret=secret, press=pressed[member])
        counted[member] = ballot  # the key policy is last_press
    ballots = list(counted.values())
    if secret:
        rng.shuffle(ballots)
    log.close(vote, spec, members, ballots, secret=secret)
    log.append("vote_announced", {"vote": vote, "by": 1})


def ensure(
    directory: Path,
    entries: int,
    members: int = 3000,
    seed: int = 1,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The bundle in ``directory`` with at least ``entries`` entries; made if missing."""
    meta_file = directory / "meta.json"
    wanted = {"format": FORMAT, "target": entries, "members": members, "seed": seed}
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if {k: meta.get(k) for k in wanted} == wanted:
            progress(f"using the cached log of {meta['entries']:,} entries in {directory}")
            return meta
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    progress(f"generating a signed log of ≥{entries:,} entries, {members:,} members (cached after)")
    rng = random.Random(seed)
    specs = demo_specs()
    started = time.monotonic()
    reported = 0
    tmp = directory / "log.jsonl.tmp"
    with tmp.open("wb", buffering=1 << 20) as out:
        log = StreamingLog(out, members)
        log.sign_in(*range(1, members + 1))
        vote = 0
        while log.size < entries:
            vote += 1
            _vote(log, vote, specs[(vote - 1) % len(specs)], rng)
            if log.size - reported >= 100_000 or log.size >= entries:
                reported = log.size
                elapsed = time.monotonic() - started
                eta = elapsed / log.size * max(0, entries - log.size)
                progress(
                    f"  {log.size:,}/{entries:,} entries, {vote} votes, "
                    f"{log.size / elapsed:,.0f}/s, about {eta:,.0f} s to go"
                )
    tmp.rename(directory / "log.jsonl")
    (directory / "keys.json").write_text(json.dumps(log.keys_json(), indent=1))
    (directory / "head.json").write_text(json.dumps(log._tree.head()))
    meta = {
        **wanted,
        "entries": log.size,
        "votes": vote,
        "bytes": (directory / "log.jsonl").stat().st_size,
        "generated_in_s": round(time.monotonic() - started, 1),
    }
    meta_file.write_text(json.dumps(meta, indent=1))  # written last: marks a complete bundle
    progress(f"generated {log.size:,} entries in {meta['generated_in_s']} s")
    return meta
