"""``make bench-matrix``: the benchmark of every kind of vote, named and secret.

Runs the ballot phase of bench/run.py and its echo phase (the same seats send
the very payloads they signed, at the same moments: ``ratio_to_echo`` compares
like with like) for each combination of

- the demo agenda's three kinds of vote: the motion on a draft regulation, the
  selection of 10 livelihood projects out of 12 candidates, the evaluation of
  3 departments (voting_server/demo/city.py);
- named and secret;

on SQLite, and the secret selection on PostgreSQL (a fresh database on
``--postgres``, created and dropped): seven runs, on one set of client
processes (bench/kiosks.py). Writes ``bench/results/matrix.json``, a list of
CONTRACTS.md §5 objects, each with ``kind``, ``secret`` and ``db`` (rewritten
after each run: the runs done so far), and one plot of the ack latencies of
every combination (``bench/results/matrix.svg``). The verify phase is left out:
it reads a generated log, whatever the kind of the vote measured.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from bench import plot
from bench.run import (
    KINDS,
    NOTES,
    RESULTS,
    TMP,
    Shard,
    ballot_phase,
    echo_like,
    fresh_postgres,
    machine,
    progress,
    section5,
)

MODES = {"named": False, "secret": True}
DATABASES = ("sqlite", "postgresql")
# kind:mode:database, in the order they run.
COMBINATIONS = (
    *(f"{kind}:{mode}:sqlite" for kind in KINDS for mode in MODES),
    "selection:secret:postgresql",
)
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SIGN_IN_NOTE = (
    "--sign-in staff: every member was marked present by staff and each kiosk confirmed "
    "with a PIN hashed at argon2's lowest cost. The contract's argon2 PINs (--sign-in apart) "
    "take about 5 minutes per run to set up at 3,000 members, and the sign-in is over "
    "before the measured burst begins."
)
MATRIX_NOTE = (
    "bench/matrix.py: the verify phase is left out (verify_* null): it reads a generated "
    "log, whatever the kind of the vote measured; bench/results/latest.json has it. "
    "ballot.vote.payload_bytes: the size of the signed `ballot` events (compact JSON)."
)


def combination(name: str) -> tuple[str, bool, str]:
    """``kind:mode:database`` (e.g. ``selection:secret:sqlite``) → (kind, secret, database)."""
    parts = name.split(":")
    if (
        len(parts) != 3
        or parts[0] not in KINDS
        or parts[1] not in MODES
        or parts[2] not in DATABASES
    ):
        raise click.BadParameter(
            f"{name!r}: expected kind:mode:database, kind one of {', '.join(KINDS)}, "
            f"mode named or secret, database {' or '.join(DATABASES)}"
        )
    return parts[0], MODES[parts[1]], parts[2]


def measure(
    name: str, *, members: int, burst_s: float, seed: int, shards: list[Shard], sign_in: str,
    postgres: str, postgres_database: str, workdir: Path,
) -> tuple[dict[str, Any], list[float]]:  # fmt: skip
    """One combination ``name`` (``kind:mode:database``): its ballot phase on a fresh
    database, then its echo phase, in ``workdir``/``name``. Returns its §5 object (with
    ``total_s`` and ``notes``) and its ballots' ack latencies in ms."""
    kind, secret, database = combination(name)
    started = time.monotonic()
    sub = workdir / name.replace(":", "-")
    sub.mkdir()
    load_at_start = Path("/proc/loadavg").read_text().split()[:3]
    fresh = (
        fresh_postgres(postgres, postgres_database) if database == "postgresql" else nullcontext()
    )
    with fresh as url:  # None: a fresh SQLite file in the work dir
        ballots = ballot_phase(
            members=members, burst_s=burst_s, database_url=url, seed=seed, shards=shards,
            secret=secret, profile=False, workdir=sub, sign_in=sign_in, kind=kind,
        )  # fmt: skip
    echo = echo_like(ballots, shards=shards, profile=False, workdir=sub, burst_s=burst_s)
    report, samples = section5(
        members=members, burst_s=burst_s, ballots=ballots, echo=echo, verify=None,
        client_procs=len(shards), load_at_start=load_at_start,
    )  # fmt: skip
    report["total_s"] = round(time.monotonic() - started, 1)
    report["notes"] = [*NOTES, MATRIX_NOTE, *([SIGN_IN_NOTE] if sign_in == "staff" else [])]
    return report, samples["ballot"]


@click.command()
@click.option("--members", default=3000, show_default=True, type=click.IntRange(1, 5000))
@click.option("--burst", default=1.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds within which every kiosk presses.")  # fmt: skip
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--client-procs", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Client processes the kiosks are spread over (kept for every run).")  # fmt: skip
@click.option("--sign-in", "sign_in", type=click.Choice(["apart", "connected", "staff"]),
              default="staff", show_default=True,
              help="As bench/run.py's. staff (members marked present, PINs at argon2's lowest "
              "cost) saves ~5 minutes of setup per run; the sign-in is not measured.")  # fmt: skip
@click.option("--postgres", default=POSTGRES_ADMIN, show_default=True,
              help="PostgreSQL server of the postgresql runs (admin URL).")  # fmt: skip
@click.option("--postgres-database", default="voting_bench_matrix", show_default=True,
              help="The database created (dropped first if left over) and dropped.")  # fmt: skip
@click.option("--only", "only", multiple=True, metavar="KIND:MODE:DATABASE",
              help="Run this combination only (repeatable), e.g. selection:secret:sqlite; "
              "default: " + ", ".join(COMBINATIONS) + ".")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "matrix.json", show_default=True)  # fmt: skip
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "matrix.svg", show_default=True)  # fmt: skip
def main(
    members: int, burst: float, seed: int, client_procs: int, sign_in: str, postgres: str,
    postgres_database: str, only: tuple[str, ...], out: Path, plot_path: Path,
) -> None:  # fmt: skip
    """Run the ballot and echo phases for every kind of vote, named and secret, and write
    the list of §5 objects (``--out``) and the ack-latency plot of them all (``--plot``)."""
    names = list(only or COMBINATIONS)
    for name in names:
        combination(name)  # refuse a misspelt one before minutes of setup
    workdir = TMP / "matrix"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress(f"machine: {machine()}")
    reports: list[dict[str, Any]] = []
    series: dict[str, list[float]] = {}
    shards = [Shard(f"kiosks-{i}") for i in range(client_procs)]
    try:
        for number, name in enumerate(names, start=1):
            progress(f"=== {number}/{len(names)}: {name}, {members:,} kiosks ===")
            report, series[name] = measure(
                name, members=members, burst_s=burst, seed=seed, shards=shards, sign_in=sign_in,
                postgres=postgres, postgres_database=postgres_database, workdir=workdir,
            )  # fmt: skip
            reports.append(report)
            # After each run: a failure later leaves the runs done so far.
            out.write_text(json.dumps(reports, ensure_ascii=False, indent=1) + "\n")
            progress(
                f"{name}: {report['acked']:,}/{report['ballots']:,} acknowledged, lost "
                f"{report['lost']}, ack p99 {report['ack_ms']['p99']} ms, ratio to echo "
                f"{report['ratio_to_echo']}; wrote {out}"
            )
    finally:
        for shard in shards:
            shard.quit()
    subtitle = (
        f"{members:,} kiosks, {burst:g} s burst, sign-in {sign_in}; {machine().split(':')[0]}"
    )
    title = "Ack latency: press → receipt, every kind of vote, named and secret"
    plot_path.write_text(plot.ack_latency_svg(series, title, subtitle))
    progress(f"wrote {out} and {plot_path}")


if __name__ == "__main__":
    main()
