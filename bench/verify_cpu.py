"""Where the offline verifier's CPU goes: this process (the ordered replay) and its workers.

``python -m bench.verify_cpu --entries 1000000 --jobs 2`` verifies the first
``--lines`` lines (all by default) of bench/biglog.py's cached log of
``--entries`` entries with ``audit.verify.verify_log`` and prints the rate and
the CPU per entry of this process and of its worker processes (``getrusage``).
A cut log ends without its checkpoint, so its report names that entry: only the
figures matter here. ``make bench``'s verify phase gives the ratio to Ed25519;
this splits the cost, to compare two versions of the verifier run after another.
"""

from __future__ import annotations

import resource
import time

import click

from audit.bundle import load_keys, read_lines
from audit.verify import verify_log
from bench import biglog
from bench.run import TMP


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@click.command()
@click.option("--entries", default=1_000_000, show_default=True, help="The cached log's size.")
@click.option("--lines", type=int, default=None, help="Verify only the first LINES lines.")
@click.option("--jobs", default=2, show_default=True, help="verify_log's worker processes.")
def main(entries: int, lines: int | None, jobs: int) -> None:
    directory = TMP / f"biglog-{entries}"
    biglog.ensure(directory, entries)
    log = read_lines(directory / "log.jsonl")
    if lines is not None:
        log = log[:lines]
    keys = load_keys(directory / "keys.json")
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


if __name__ == "__main__":
    main()
