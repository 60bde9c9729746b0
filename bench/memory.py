"""Memory of the hall server per connected kiosk (issue #5: limits), into docs/performance.md.

``python -m bench.memory`` prepares a hall (the demo agenda, ``--members``
seats, every member marked present by staff: no PINs to hash), starts the
production server (``voting-server run``: gunicorn, one gevent worker) and
measures the resident memory (VmRSS) of its worker:

- idle, nobody connected;
- with each number of ``--steps`` kiosks connected and authenticated (the
  kiosks of bench/kiosks.py, in ``--client-procs`` processes apart: their own
  P-256 key each, enrolled over HTTP, challenge → signature over the socket);
- after a burst in which every kiosk presses once on a named vote (within
  ``--burst`` seconds), and after the vote is closed.

Before each reading it waits until the worker's RSS has not moved for a few
seconds (the kiosks' pings and the last acknowledgements settle). It prints
JSON and writes ``bench/results/memory.json``. kB per kiosk is the growth
between two steps divided by the kiosks added.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import click

from bench.run import (
    RESULTS,
    TMP,
    Shard,
    each,
    gunicorn_worker,
    machine,
    progress,
    rss_mb,
    staff_request,
)
from kiosk_client.client import DEFAULT_ACK_TIMEOUT_S, DEFAULT_DEADLINE_S
from voting_server.cli.simulate import Console, prepare, random_ballot, served

SETTLE_S = 3.0  # RSS unchanged (to 0.1 MB) this long counts as settled
SETTLE_MAX_S = 60.0


def settled_rss_mb(pid: int | None) -> float | None:
    """The worker's RSS once it stops moving (or after SETTLE_MAX_S)."""
    last, still_since, deadline = rss_mb(pid), time.monotonic(), time.monotonic() + SETTLE_MAX_S
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rss_mb(pid)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= SETTLE_S:
            break
    return last


def per_kiosk_kb(readings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Growth of the worker's RSS per kiosk added, between consecutive readings."""
    out = []
    for before, after in itertools.pairwise(readings):
        added = after["kiosks"] - before["kiosks"]
        if added > 0 and before["rss_mb"] is not None and after["rss_mb"] is not None:
            kb = (after["rss_mb"] - before["rss_mb"]) * 1024 / added
            out.append(
                {"from": before["kiosks"], "to": after["kiosks"], "kb_per_kiosk": round(kb, 1)}
            )
    return out


@click.command()
@click.option("--steps", default="1000,3000", show_default=True,
              help="Kiosks connected at each reading (increasing).")  # fmt: skip
@click.option("--client-procs", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--burst", default=2.0, show_default=True, type=click.FloatRange(0, 60))
@click.option("--database-url", help="An EMPTY database (default: a fresh SQLite file).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "memory.json", show_default=True)  # fmt: skip
def main(steps: str, client_procs: int, burst: float, database_url: str | None, out: Path) -> None:
    """Measure the server's memory idle, per connected kiosk and after a burst."""
    counts = sorted({int(n) for n in steps.split(",") if n.strip()})
    members = counts[-1]
    workdir = TMP / "memory"
    shutil.rmtree(workdir, ignore_errors=True)
    instance = workdir / "instance"
    instance.mkdir(parents=True, mode=0o700)
    url = database_url or f"sqlite:///{workdir / 'memory.sqlite3'}"
    progress(f"preparing a hall of {members:,} members, all marked present by staff")
    hall = prepare(url, instance, members, secret=False, pins=False, operator_sign_in=True)
    vote = hall.votes[0]
    rng = random.Random(2026)
    seats = sorted(hall.codes)
    readings: list[dict[str, Any]] = []
    report: dict[str, Any] = {"machine": machine(), "db": url.split(":", 1)[0]}
    shards = [Shard(f"kiosks-{i}") for i in range(client_procs)]
    try:
        with served(url, instance, workdir / "server.log") as base:
            worker = gunicorn_worker(base.removeprefix("http://"))
            progress(f"server on {base}, worker pid {worker}")
            readings.append({"kiosks": 0, "rss_mb": settled_rss_mb(worker)})
            connected = 0
            for count in counts:
                new = seats[connected:count]
                each(shards, [
                    {"cmd": "setup", "base": base, "mode": "kiosk", "sign_in": "none",
                     "concurrency": 50,
                     "seats": [[s, hall.codes[s], hall.pins[s]] for s in new[i::client_procs]]}
                    for i in range(client_procs)
                ])  # fmt: skip
                answers = each(shards, [{"cmd": "authenticated", "timeout": 300}] * client_procs)
                connected = sum(a["authenticated"] for a in answers)
                readings.append({"kiosks": connected, "rss_mb": settled_rss_mb(worker)})
                progress(
                    f"{connected:,} kiosks authenticated: worker RSS {readings[-1]['rss_mb']} MB"
                )
            console = Console(base, *hall.presidium)
            try:
                staff_request(console, "open_vote", {"vote": vote.id})
                each(shards, [{"cmd": "wait_open", "vote": vote.id, "timeout": 120}] * client_procs)
                plan = [[s, rng.uniform(0, burst), random_ballot(vote.spec, rng)] for s in seats]
                each(shards, [{"cmd": "arm", "vote": vote.id, "plan": plan}] * client_procs)
                fire = {"cmd": "fire", "start": time.monotonic() + 1.0,
                        "deadline_s": DEFAULT_DEADLINE_S, "ack_timeout_s": DEFAULT_ACK_TIMEOUT_S}  # fmt: skip
                fired = each(shards, [fire] * client_procs)
                acked = sum(1 for a in fired for p in a["presses"] if p["acked_at"] is not None)
                report["after_burst"] = {"acked": acked, "rss_mb": settled_rss_mb(worker)}
                progress(f"burst: {acked:,} acknowledged; RSS {report['after_burst']['rss_mb']} MB")
                staff_request(console, "close_vote", {"vote": vote.id})
                report["after_close_mb"] = settled_rss_mb(worker)
            finally:
                console.close()
            each(shards, [{"cmd": "disconnect"}] * client_procs)
            report["all_disconnected_mb"] = settled_rss_mb(worker)
    finally:
        for shard in shards:
            shard.quit()
        shutil.rmtree(instance, ignore_errors=True)  # the server's private key
    report["worker_rss"] = readings
    report["per_kiosk"] = per_kiosk_kb(readings)
    text = json.dumps(report, ensure_ascii=False, indent=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    click.echo(text)


if __name__ == "__main__":
    main()
