"""Where the offline verifier's CPU goes: this process (the ordered replay) and its workers.

``python -m bench.verify_cpu --entries 1000000 --jobs 2`` verifies the first
``--lines`` lines (all by default) of bench/biglog.py's cached log of
``--entries`` entries with ``audit.verify.verify_log`` and prints the rate and
the CPU per entry of this process and of its worker processes (``getrusage``).
A cut log ends without its checkpoint, so its report names that entry: only the
figures matter here. ``make bench``'s verify phase gives the ratio to Ed25519;
this splits the cost, to compare two versions of the verifier run after another.

``--replay-only`` checks the chunks first, in this process and untimed, then
times only the ordered replay over them (``replay_checked_chunks``, what the
main process does while the workers check), ``--repeat`` times.
"""

from __future__ import annotations

import resource
import time

import click

from audit.bundle import load_keys, read_lines
from audit.parallel import MAX_CHUNK, check_chunk
from audit.verify import (
    Replay,
    enrolled_keys,
    replay_checked_chunks,
    verify_log,
    without_full_collections,
)
from bench import biglog
from bench.run import TMP
from crypto import KioskPublicKey


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@click.command()
@click.option("--entries", default=1_000_000, show_default=True, help="The cached log's size.")
@click.option("--lines", type=int, default=None, help="Verify only the first LINES lines.")
@click.option("--jobs", default=2, show_default=True, help="verify_log's worker processes.")
@click.option("--replay-only", is_flag=True, help="Time only the ordered replay.")
@click.option("--repeat", default=3, show_default=True, help="Replays timed (--replay-only).")
def main(entries: int, lines: int | None, jobs: int, replay_only: bool, repeat: int) -> None:
    directory = TMP / f"biglog-{entries}"
    biglog.ensure(directory, entries)
    log = read_lines(directory / "log.jsonl")
    if lines is not None:
        log = log[:lines]
    keys = load_keys(directory / "keys.json")
    if replay_only:
        _time_replay(log, keys.server, repeat)
        return
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    started = time.monotonic()
    report = verify_log(log, keys.server, jobs=jobs)
    wall = time.monotonic() - started
    own_s = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(own)
    children_s = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(children)
    n = len(log)
    click.echo(
        f"{n:,} entries, jobs={jobs}: {wall:.1f} s, {n / wall:,.0f} entries/s; CPU per entry: "
        f"this process {1e6 * own_s / n:.1f} µs, workers {1e6 * children_s / n:.1f} µs"
        f"; report ok={report.ok} {report.errors[:1]}"
    )


def _time_replay(log: list[bytes], server_key: bytes, repeat: int) -> None:
    hints = enrolled_keys(log)
    cache: dict[str, KioskPublicKey | None] = {}
    click.echo(f"checking {len(log):,} lines in this process first (untimed) …")
    chunks = [
        check_chunk(start, log[start : start + MAX_CHUNK], server_key, hints, cache)
        for start in range(0, len(log), MAX_CHUNK)
    ]
    figures = []
    for _ in range(repeat):
        replay = Replay(server_key, hints)
        started = time.process_time()
        with without_full_collections():
            try:
                replay_checked_chunks(log, chunks, replay)
            except Exception as exc:  # a cut log may fail at its end: only the time counts
                click.echo(f"(replay stopped: {exc})")
        figures.append(1e6 * (time.process_time() - started) / len(log))
    click.echo(
        f"ordered replay of {len(log):,} checked lines, CPU per entry: "
        + ", ".join(f"{f:.2f} µs" for f in figures)
    )


if __name__ == "__main__":
    main()
