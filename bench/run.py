"""``make bench``: the benchmark of CONTRACTS.md §5; writes bench/results/latest.json.

Phases, in one run (progress on stderr, the JSON on stdout and in the file):

1. **Ballots.** A fresh database (SQLite by default) is prepared like
   ``voting-server simulate`` prepares it, with ``--members`` seats; the
   production server is started with ``voting-server run`` on a free port.
   ``--client-procs`` processes apart from the server (bench/kiosks.py, one
   asyncio loop each) enroll, connect, authenticate and sign in one kiosk per
   seat; a presidium console and a hall display log in through the login
   form. The console opens the agenda's first vote of ``--kind`` (motion,
   selection or evaluation; ``--secret``: made secret); every kiosk presses
   once, at a random moment within ``--burst`` seconds; ack latency is press
   → receipt. The console closes the vote; ``result_to_all_ms`` runs from the
   moment the close request is sent to the ``result`` event's arrival on each
   screen (every kiosk, the display, the console). The exported audit log is
   then checked against the receipts: every acknowledged nonce exactly once.
2. **Echo.** The same client processes connect the same number of bare
   Socket.IO clients to bench/echo_app.py, served by the same gunicorn +
   gevent configuration, and send the same payloads in the same burst.
3. **Verify.** ``audit.bundle.verify_bundle`` over a signed log of at least
   ``--verify-entries`` entries (bench/biglog.py, generated once and cached
   under bench/tmp/), against the raw single-core Ed25519 verify rate of
   ``cryptography``.

``--profile`` samples the server worker with py-spy during each burst and
writes the top frames to bench/results/profile-*.txt.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import socketio

from bench import biglog, plot, pyspy
from bench.pg_stats import PgStats
from crypto import KioskKey
from kiosk_client.client import DEFAULT_ACK_TIMEOUT_S, DEFAULT_DEADLINE_S, ballot_payload, new_nonce
from rules import tally
from voting_server.cli.processes import free_port, served, serving
from voting_server.cli.simulate import Console, PlannedVote, percentiles, prepare, random_ballot
from voting_server.cli.simulate_trustees import decrypting, key_ceremonies
from voting_server.settings import CONFIG_DIR

if TYPE_CHECKING:
    from voting_server.cli.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TMP = ROOT / "bench" / "tmp"
LEAD_S = 1.0  # between arming the kiosks and the first moment of the burst
COUNTERS_AHEAD_S = 0.05  # the CPU counters are read this long before the burst starts
PROFILE_MAX_S = 600  # py-spy is stopped when the burst is over
# At most this long, for other processes to leave the CPU alone (a test sets it to 0).
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT_S", "300"))
QUIET_CORES = 0.15
RESULT_TIMEOUT_S = 60.0
SCALE_OUT_BURSTS = 5  # each scale-out run makes its burst this many times (scale_out_phase)
TARGETS = {"ack_p99_ms": 1000, "result_p99_ms": 500, "ratio_to_echo": 0.6, "verify_ratio": 0.8}
# Tighter, where the default run (named motion, SQLite) already met the targets above.
TIGHT_TARGETS = {"ack_p99_ms": 500, "result_p99_ms": 250}
KINDS = ("motion", "selection", "evaluation")  # the demo agenda's three votes, in its order


def progress(message: str) -> None:
    click.echo(f"[bench {time.strftime('%H:%M:%S')}] {message}", err=True)


# --- processes on this machine ----------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores{mem}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _proc_pids() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def gunicorn_worker(bind: str) -> int | None:
    """The worker of the gunicorn serving ``bind`` (its master and worker carry VOTING_BIND)."""
    marker = f"VOTING_BIND={bind}".encode()
    found: dict[int, int] = {}
    for pid in _proc_pids():
        with suppress(OSError, ValueError):
            if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found[pid] = _ppid(pid)
    # the master's child; the worker's own child (the signature checker) carries it too
    workers = [
        pid for pid, parent in found.items() if parent in found and found[parent] not in found
    ]
    return workers[0] if len(workers) == 1 else None


def children(pid: int) -> list[int]:
    """``pid``'s child processes (a worker's signature checker: services/signatures.py)."""
    found = []
    for other in _proc_pids():
        with suppress(OSError, ValueError):
            if _ppid(other) == pid:
                found.append(other)
    return found


# nginx URL of a running stack → where its processes are (filled in by stack_served).
STACKS: dict[str, StackProcesses] = {}


def server_workers(base: str) -> list[int]:
    """The gunicorn workers serving ``base``: a lone server's, or each of a stack's."""
    backends = STACKS[base].backends if base in STACKS else [base]
    binds = [b.removeprefix("http://") for b in backends]
    return [pid for bind in binds if (pid := gunicorn_worker(bind)) is not None]


def profiled_workers(name: str, workers: list[int]) -> list[tuple[str, int]]:
    """Each worker to profile, named ``name`` alone, ``name``-w1, -w2 … when several."""
    if len(workers) == 1:
        return [(name, workers[0])]
    return [(f"{name}-w{i}", pid) for i, pid in enumerate(workers, 1)]


def workers_cpu_s(pids: list[int]) -> float:
    """CPU seconds of the workers and their checker processes: all of it is the server's."""
    return sum(cpu_s(p) or 0.0 for pid in pids for p in [pid, *children(pid)])


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as {field: value}, e.g. ``VmRSS`` → ``"12345 kB"``; {} once
    ``pid`` is gone."""
    fields = {}
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def rss_mb(pid: int | None) -> float | None:
    rss = proc_status(pid).get("VmRSS", "") if pid is not None else ""  # "12345 kB"
    return round(int(rss.split()[0]) / 1024, 1) if rss else None


def cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of ``pid`` so far."""
    if pid is None:
        return None
    with suppress(OSError, ValueError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rfind(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(pids: list[int | None], limit_s: float | None = None) -> dict[str, Any]:
    """Wait (up to ``limit_s``, by default ``QUIET_WAIT_S``) until processes other than
    ours (``pids``: the server worker, the client processes) and this one use less than
    ``QUIET_CORES`` cores for 3 s in a row: the machine is shared, and a burst measured
    while something else runs is not comparable. Returns how long it waited and what it
    saw last."""
    limit_s = QUIET_WAIT_S if limit_s is None else limit_s
    started, quiet_for, seen = time.monotonic(), 0.0, 0.0
    while True:
        busy0, ours0 = machine_busy_s(), own_cpu_s() + sum(cpu_s(p) or 0 for p in pids)
        time.sleep(1.0)
        busy1, ours1 = machine_busy_s(), own_cpu_s() + sum(cpu_s(p) or 0 for p in pids)
        seen = max(0.0, (busy1 - busy0) - (ours1 - ours0))
        quiet_for = quiet_for + 1.0 if seen < QUIET_CORES else 0.0
        waited = time.monotonic() - started
        if quiet_for >= 3 or waited >= limit_s:
            if quiet_for < 3:
                progress(f"WARNING: other processes still use {seen:.2f} cores; measuring anyway")
            elif waited > 4:
                progress(f"waited {waited:.0f} s for other processes to quieten")
            return {"waited_s": round(waited, 1), "other_cores": round(seen, 2)}


def own_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def echo_served(log_path: Path) -> Iterator[str]:
    """bench/echo_app.py under gunicorn with the hall server's configuration."""
    port = free_port()
    env = dict(
        os.environ,
        VOTING_BIND=f"127.0.0.1:{port}",
        VOTING_LOG_LEVEL="warning",
        VOTING_ACCESS_LOG="/dev/null",
    )
    argv = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG_DIR / "gunicorn.conf.py"),
            "bench.echo_app:app"]  # fmt: skip
    with serving(argv, env, port, log_path, cwd=ROOT) as base:
        yield base


# --- the client processes ------------------------------------------------------------------


class Shard:
    """One bench/kiosks.py process, driven one JSON line at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.kiosks", name],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise click.ClickException(f"{self.name} exited ({self.proc.wait()})")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise click.ClickException(f"{self.name}: {answer.get('error')}")
        return answer

    def quit(self) -> None:
        with suppress(OSError, ValueError):
            self.send({"cmd": "quit"})
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def each(shards: list[Shard], cmds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send each shard its command, then collect the answers (the shards work at once)."""
    for shard, cmd in zip(shards, cmds, strict=True):
        shard.send(cmd)
    return [shard.receive() for shard in shards]


class TimedConsole(Console):
    """The simulator's staff console, remembering when each event arrived."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.arrivals: list[tuple[float, str, Any]] = []
        super().__init__(base, username, password)

    def _record(self, event: str, data: Any = None) -> None:
        self.arrivals.append((time.monotonic(), event, data))
        super()._record(event, data)

    def result_at(self, vote: int) -> float | None:
        """When the vote's result (not a close without one) arrived, if it did."""
        for at, event, data in list(self.arrivals):
            if (event == "result" and isinstance(data, dict) and data.get("vote") == vote
                    and data.get("result") is not None):  # fmt: skip
                return at
        return None

    def result_of(self, vote: int) -> Any:
        """The vote's result as the console received it (None: not yet)."""
        at = self.result_at(vote)
        for when, event, data in list(self.arrivals):
            if when == at and event == "result" and data.get("vote") == vote:
                return data["result"]
        return None


def member_ids(database_url: str) -> dict[int, int]:
    """seat → member id of the (one) benchmark body: the id a trustee-mode tablet hashes
    into its ballot (the kiosk learns it as its deputy signs in; the harness reads it)."""
    from sqlalchemy import select

    from voting_server.db import make_engine, make_session_factory
    from voting_server.models import Member

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return dict(session.execute(select(Member.seat, Member.id)).tuples().all())
    finally:
        engine.dispose()


def staff_request(console: Console, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """``console.request`` once the console is connected: its connection may have
    dropped while the server was too busy to ping it, and be coming back."""
    deadline = time.monotonic() + 60
    while "/" not in console.sio.namespaces and time.monotonic() < deadline:
        time.sleep(0.05)
    return console.request(event, data)


def add_display_user(database_url: str) -> tuple[str, str]:
    """A hall-display account (simulate's ``prepare`` makes only the presidium's)."""
    from voting_server.cli.staff import server_log  # the instance's key, as prepare set it
    from voting_server.db import make_engine, make_session_factory
    from voting_server.models import StaffRole
    from voting_server.services import staff

    password = secrets.token_urlsafe(18)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            staff.create_user(
                session, "bench-display", "基准测试大屏", StaffRole.DISPLAY, password,
                log=server_log(),
            )  # fmt: skip
    finally:
        engine.dispose()
    return "bench-display", password


# --- measuring a burst ----------------------------------------------------------------------


def burst_figures(presses: list[dict[str, Any]], start: float) -> dict[str, Any]:
    acked = [p for p in presses if p["acked_at"] is not None]
    ack_ms = [(p["acked_at"] - p["press_at"]) * 1000 for p in acked]
    lag_ms = [
        (p["press_at"] - start - p["scheduled_offset"]) * 1000
        for p in presses
        if p["press_at"] is not None
    ]
    first = min((p["press_at"] for p in presses if p["press_at"] is not None), default=start)
    last = max((p["acked_at"] for p in acked), default=first)
    return {
        "presses": len(presses),
        "acked": len(acked),
        "ack_ms": percentiles(ack_ms),
        "ack_samples_ms": ack_ms,
        "per_s": round(len(acked) / (last - first), 1) if last > first else 0.0,
        "span_s": round(last - first, 3),
        "resent": sum(1 for p in presses if p["sends"] > 1),
        "errors": dict(Counter(p["error"] for p in presses if p["error"])),
        "press_lag_ms": percentiles(lag_ms),  # how late the clients pressed vs. their schedule
    }


def log_checks(bundle: Path, vote: int, presses: list[dict[str, Any]], cast: int) -> dict[str, Any]:
    """Every acknowledged nonce exactly once in the log, at the entry its receipt names."""
    entries: dict[str, list[tuple[int, str]]] = {}
    with (bundle / "log.jsonl").open("rb") as f:
        for index, raw in enumerate(f):
            line = raw.rstrip(b"\n")
            if (
                b'"type":"ballot"' not in line
                and b'"type":"participation"' not in line
                and b'"type":"encrypted_ballot"' not in line
            ):
                continue
            data = json.loads(line)["data"]
            if data.get("vote") == vote:
                entries.setdefault(data["nonce"], []).append(
                    (index, hashlib.sha256(line).hexdigest())
                )
    pressed = {p["nonce"]: p for p in presses}
    acked = [p for p in presses if p["acked_at"] is not None]
    acked_seats = len({p["seat"] for p in acked})
    extra = sum(len(v) - 1 for v in entries.values())
    unknown = sum(len(v) for n, v in entries.items() if n not in pressed)
    missing = [p["nonce"] for p in acked if p["nonce"] not in entries]
    mismatched = [
        p["nonce"]
        for p in acked
        if p["nonce"] in entries and [(p["entry"], p["entry_hash"])] != entries[p["nonce"]]
    ]
    unacked = sum(1 for p in presses if p["acked_at"] is None)
    return {
        "log_press_entries": sum(len(v) for v in entries.values()),
        "log_extra_entries_per_nonce": extra,
        "log_entries_nobody_pressed": unknown,
        "acked_missing_from_log": len(missing),
        "receipts_not_matching_log": len(mismatched),
        "receipts_not_matching_log_examples": [
            {
                "nonce": n,
                "receipt": [pressed[n]["entry"], pressed[n]["entry_hash"]],
                "log": entries[n],
            }
            for n in mismatched[:5]
        ],
        "unacknowledged": unacked,
        "published_cast": cast,
        "acked_seats": acked_seats,
        "lost": unacked + max(len(missing), acked_seats - cast),
        "duplicated": max(extra + unknown, cast - acked_seats, 0),
    }


# --- the phases ---------------------------------------------------------------------------


def ballot_phase(
    *,
    members: int,
    burst_s: float,
    database_url: str | None,
    seed: int,
    shards: list[Shard],
    secret: bool,
    profile: bool,
    workdir: Path,
    sign_in: str,
    serve: Callable[[str, Path, Path], AbstractContextManager[str]] = served,
    source_addresses: int = 0,
    pg_stats: bool = False,
    kind: str = "motion",
    trustees: int = 0,
    profile_name: str = "ballot",
    bursts: int = 1,
) -> dict[str, Any]:
    """``serve(database_url, instance, log)``: the server to measure (default: one
    ``voting-server run``); ``source_addresses``: see bench/kiosks.py ``setup``;
    ``profile``: py-spy on each worker, written to bench/results/profile-``profile_name``
    (-w1, -w2 … with several workers); ``bursts`` > 1: the same burst again that many
    times in all, each seat pressing its planned ballot again (``repeat_bursts``);
    ``kind``: the vote measured, the agenda's first of that kind (``KINDS``);
    ``trustees`` N > 0 (secret): trustee mode, N trustee clients make the key before
    the kiosks connect and decrypt at close (in the measured close → result time)."""
    from audit.bundle import verify_bundle
    from voting_server.services.export import export_bundle

    instance = workdir / "instance"
    instance.mkdir(mode=0o700)
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    timings: dict[str, float] = {}
    t = time.monotonic()
    progress(f"preparing the database ({members:,} members; argon2 PIN hashes take a while)")
    staff_sign_in = sign_in == "staff"  # cheap PINs: a quick run, not the contract's
    hall = prepare(url, instance, members, secret, pins=not staff_sign_in,
                   operator_sign_in=staff_sign_in, trustees=trustees)  # fmt: skip
    seat_members = member_ids(url) if trustees else {}
    display_login = add_display_user(url)
    timings["prepare_s"] = round(time.monotonic() - t, 1)
    vote = planned_vote(hall.votes, kind)
    rng = random.Random(seed)
    plan = {seat: (rng.uniform(0, burst_s), random_ballot(vote.spec, rng)) for seat in hall.codes}
    share = [sorted(hall.codes)[i :: len(shards)] for i in range(len(shards))]
    out: dict[str, Any] = {"db": url.split(":", 1)[0], "vote": {
        "id": vote.id, "kind": vote.spec.kind, "secret": secret, "trustees": trustees,
        "payload_bytes": payload_bytes(vote.id, [ballot for _offset, ballot in plan.values()]),
    }}  # fmt: skip
    rss: dict[str, float | None] = {}
    with serve(url, instance, workdir / "server.log") as base:
        workers = server_workers(base)
        worker = workers[0] if len(workers) == 1 else None  # RSS and py-spy: one worker only
        progress(f"server on {base}, worker pid(s) {workers}; log {workdir / 'server.log'}")
        rss["idle"] = rss_mb(worker)
        keyholders = None
        if trustees:
            t = time.monotonic()
            keyholders = key_ceremonies(
                base, hall.presidium, hall.trustees, hall.sittings, progress
            )
            timings["key_ceremony_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        cpu0 = workers_cpu_s(workers)
        rows = [[[s, hall.codes[s], hall.pins.get(s, "")] for s in seats] for seats in share]
        answers = each(shards, [
            {"cmd": "setup", "base": base, "mode": "kiosk", "seats": r,
             "sign_in": "none" if staff_sign_in else sign_in,
             "source_addresses": source_addresses}
            for r in rows
        ])  # fmt: skip
        timings["kiosks_setup_s"] = round(time.monotonic() - t, 1)
        timings["kiosks_setup_server_cpu_s"] = round(workers_cpu_s(workers) - cpu0, 1)
        for phase in answers[0]["timings"]:
            timings[f"kiosks_{phase}"] = round(max(a["timings"].get(phase, 0) for a in answers), 1)
        out["sign_in"] = sign_in
        out["dropped_during_setup"] = sum(a["dropped_during_setup"] for a in answers)
        ready = sum(a["ready"] for a in answers)
        failures = [f for a in answers for f in a["failures"]]
        out["setup_failures"] = failures[:20]
        progress(f"{ready:,}/{members:,} kiosks signed in ({timings['kiosks_setup_s']} s)")
        rss["kiosks_connected"] = rss_mb(worker)
        console = TimedConsole(base, *hall.presidium)
        display = TimedConsole(base, *display_login)
        try:
            present = int(staff_request(console, "state", {})["state"]["attendance"]["present"])
            opened = staff_request(console, "open_vote", {"vote": vote.id})["vote"]
            arm_extra: dict[str, Any] = {}
            if trustees:  # what the tablets encrypt to, and each seat's marks and member
                if not opened.get("trustees"):
                    raise click.ClickException(f"vote {vote.id} did not open in trustee mode")
                arm_extra["trustee_vote"] = opened  # the vote object, as a tablet gets it
                for s in plan:
                    plan[s] = (*plan[s], seat_members[s])
            seen = each(
                shards, [{"cmd": "wait_open", "vote": vote.id, "timeout": 60}] * len(shards)
            )
            progress(
                f"vote {vote.id} open ({vote.spec.kind}); seen by {sum(a['seen'] for a in seen):,} kiosks"
            )
            arm = [
                {"cmd": "arm", "vote": vote.id, "plan": [[s, *plan[s]] for s in seats],
                 **arm_extra}
                for seats in share
            ]  # fmt: skip
            armed = each(shards, arm)
            out["client_presign_s"] = round(max(a["seconds"] for a in armed), 3)
            busy = [*workers, *(s.proc.pid for s in shards)]  # quiet before each burst
            out["quiet_before_burst"] = wait_for_quiet(busy)
            postgres = PgStats(url).start() if pg_stats else None
            start = time.monotonic() + LEAD_S
            # One py-spy per worker; against the scale-out stack its checker with it.
            spies = [
                (name, pyspy.start(pid, PROFILE_MAX_S, workdir / f"{name}.pyspy",
                                   subprocesses=base in STACKS))
                for name, pid in profiled_workers(profile_name, workers)
            ] if profile else []  # fmt: skip
            progress(f"burst: {ready:,} presses within {burst_s} s")
            fired, figures = measured_burst(shards, workers, base, start)
            presses = presses_of(fired)
            if postgres is not None:
                out["postgres_stats"] = postgres.stop()
            progress(
                f"burst: {figures['acked']:,}/{figures['presses']:,} acknowledged, ack p99 {figures['ack_ms']['p99']} ms, {figures['per_s']:,}/s"
            )
            rss["after_burst"] = rss_mb(worker)
            if worker is not None:  # the worker's signature checker process, apart
                rss["checker_after_burst"] = sum(rss_mb(c) or 0.0 for c in children(worker))
            profiles = {
                name: _finish_profile(spy, workdir / f"{name}.pyspy",
                                      time.monotonic() - start + LEAD_S, name)
                for name, spy in spies
                if spy is not None
            }  # fmt: skip
            if len(profiles) == 1:
                out["profile"] = next(iter(profiles.values()))
            elif profiles:
                out["profiles"] = profiles
            # The same plan again (new nonces: each a press again, 以最后一次按键为准), so
            # that a figure of the run rests on more than one 1-second sample.
            repeats: list[dict[str, Any]] = []
            for n in range(2, bursts + 1):
                each(shards, arm)  # the shards sign each ballot again, with a new nonce
                quiet = wait_for_quiet(busy)
                progress(f"burst {n}/{bursts}: the same {ready:,} presses again")
                again, more = measured_burst(shards, workers, base, time.monotonic() + LEAD_S)
                more["quiet_before_burst"] = quiet
                repeats.append(more)
                presses += presses_of(again)
                progress(
                    f"burst {n}/{bursts}: {more['acked']:,}/{more['presses']:,} acknowledged, ack p99 {more['ack_ms']['p99']} ms"
                )
            if repeats:
                out["repeat_bursts"] = repeats
            with decrypting(keyholders, hall.sittings) if keyholders is not None else nullcontext():
                t_close = time.monotonic()
                closed = staff_request(console, "close_vote", {"vote": vote.id})["vote"]
                t_closed = time.monotonic()
                results = each(
                    shards,
                    [{"cmd": "results", "vote": vote.id, "timeout": RESULT_TIMEOUT_S}]
                    * len(shards),
                )
                deadline = time.monotonic() + RESULT_TIMEOUT_S
                while time.monotonic() < deadline and None in (
                    console.result_at(vote.id),
                    display.result_at(vote.id),
                ):
                    time.sleep(0.02)
            arrivals = [at for a in results for at in a["result_at"].values()]
            arrivals += [console.result_at(vote.id), display.result_at(vote.id)]
            to_all = [(at - t_close) * 1000 for at in arrivals if at is not None]
            out["result_to_all_ms"] = {
                **percentiles(to_all),
                "screens": len(arrivals),
                "missing": sum(1 for at in arrivals if at is None),
                "close_answered_ms": round((t_closed - t_close) * 1000, 1),
            }
            progress(f"result on every screen: p99 {out['result_to_all_ms']['p99']} ms after close")
            with suppress(click.ClickException, socketio.exceptions.SocketIOError):
                staff_request(console, "announce", {"vote": vote.id})  # not measured
            result = closed["result"] or console.result_of(vote.id)
            # one ballot per seat that pressed: every burst pressed the seat's planned one
            ballots = [
                plan[s][1] for s in {p["seat"] for p in presses if p["acked_at"] is not None}
            ]
            out["result_match"] = result == tally(vote.spec, members, present, ballots)
        finally:
            console.close()
            display.close()
            if keyholders is not None:
                keyholders.close()
        rss["after_close"] = rss_mb(worker)
        each(shards, [{"cmd": "disconnect"}] * len(shards))
    out["server_rss_mb"] = rss
    out["burst"] = figures
    out["_offsets"] = {seat: row[0] for seat, row in plan.items()}
    out["_pressed"] = sorted({p["seat"] for p in presses})
    with (workdir / "presses.jsonl").open("w") as f:  # for a post-mortem
        f.writelines(json.dumps(p) + "\n" for p in presses)
    progress("exporting the audit bundle and checking it against the receipts")
    bundle = workdir / "bundle"
    export_bundle(url, bundle, server_key_file=instance / "server_ed25519.pem")
    out["checks"] = log_checks(bundle, vote.id, presses, int(result["cast"]))
    out["bundle_verified"] = verify_bundle(bundle).ok
    shutil.rmtree(instance, ignore_errors=True)  # the server's and the votes' private keys
    out["timings"] = timings
    return out


def tight_targets(report: dict[str, Any]) -> dict[str, bool]:
    """The default run's tighter targets (``TIGHT_TARGETS``), from a §5 report's
    ``ack_ms`` and ``result_to_all_ms``; reported for every run, aimed at the default one."""
    result = report["result_to_all_ms"]
    return {
        "ack_p99_le_500ms": report["ack_ms"]["p99"] <= TIGHT_TARGETS["ack_p99_ms"],
        "result_p99_le_250ms": result["p99"] <= TIGHT_TARGETS["result_p99_ms"]
        and result["missing"] == 0,
    }


def planned_vote(votes: list[PlannedVote], kind: str) -> PlannedVote:
    """The first of ``votes`` (the prepared agenda's) of ``kind``."""
    for vote in votes:
        if vote.spec.kind == kind:
            return vote
    raise click.ClickException(f"the demo agenda has no {kind} vote")


def payload_bytes(vote: int, ballots: list[Any]) -> dict[str, float]:
    """How large the ``ballot`` events of ``ballots`` are: each signed as a kiosk signs it
    (``ballot_payload``, a throwaway key: every signature is as long) and measured as
    Socket.IO sends it (compact JSON); min, p50, p99 and max bytes."""
    key = KioskKey.generate()
    sizes = [
        len(json.dumps(ballot_payload(key, vote, 1, new_nonce(), b), separators=(",", ":")))
        for b in ballots
    ]
    return {"min": min(sizes, default=0), **percentiles([float(n) for n in sizes])}


@contextmanager
def fresh_postgres(admin_url: str, name: str) -> Iterator[str]:
    """An empty PostgreSQL database ``name`` (dropped first if left over), dropped after."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def stack_served(
    url: str, instance: Path, _log: Path, *, processes: int, message_queue: str
) -> Iterator[str]:
    """``served``'s shape for the stack: its nginx URL; logs under the run's work dir."""
    from voting_server.cli.stack import running_stack

    with running_stack(
        url, instance=instance, workdir=instance.parent / "stack", processes=processes,
        message_queue=message_queue, progress=progress,
    ) as running:  # fmt: skip
        STACKS[running.url] = StackProcesses.of(running, url, message_queue)
        try:
            yield running.url
        finally:
            STACKS.pop(running.url, None)


# --- the whole stack's CPU (the scale-out run) -----------------------------------------------

STACK_PARTS = ("server", "checkers", "nginx", "postgres", "redis")


def process_parents() -> dict[int, int]:
    """Every live process of this machine and its parent, ``{pid: ppid}`` (one pass over /proc)."""
    parents = {}
    for pid in _proc_pids():
        with suppress(OSError, ValueError):
            parents[pid] = _ppid(pid)
    return parents


def process_tree(roots: list[int], parents: dict[int, int]) -> set[int]:
    """``roots`` (those alive) and all their live descendants, by ``parents``
    (``process_parents()``)."""
    offspring: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        offspring.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [pid for pid in roots if pid in parents]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(offspring.get(pid, []))
    return found


def cpu_with_reaped_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far, with those of its children that ended
    and were waited for (/proc/PID/stat's cutime and cstime): a PostgreSQL backend that
    ends within a window still counts there, in its postmaster. 0.0 once ``pid`` is gone."""
    with suppress(OSError, ValueError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rfind(")") + 2 :].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def postmaster_pid(database_url: str) -> int | None:
    """The postmaster of the PostgreSQL server holding ``database_url``: the parent of this
    connection's own backend (``pg_backend_pid()``). None when that backend is not a
    ``postgres`` process of this machine (a server elsewhere, or in another container)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            backend = int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            with suppress(OSError, ValueError):  # read while the backend is still there
                if Path(f"/proc/{backend}/comm").read_text().strip() == "postgres":
                    return _ppid(backend)
    finally:
        engine.dispose()
    return None


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` of this machine: the listening socket's inode
    from /proc/net/tcp (and tcp6), then the process holding it among /proc/*/fd — the
    eldest of those holding it (a forked child inherits the socket). None if none here."""
    sockets = set()
    for table in ("tcp", "tcp6"):
        with suppress(OSError):
            for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    sockets.add(f"socket:[{inode}]")
    holders: dict[int, int] = {}
    for pid in _proc_pids():
        with suppress(OSError, ValueError):
            if any(_fd_target(fd) in sockets for fd in Path(f"/proc/{pid}/fd").iterdir()):
                holders[pid] = _ppid(pid)
    eldest = [pid for pid, parent in holders.items() if parent not in holders]
    return min(eldest) if eldest else None


def _fd_target(fd: Path) -> str:
    """What a /proc/PID/fd entry points to ("" if it closed meanwhile)."""
    try:
        return os.readlink(fd)
    except OSError:
        return ""


@dataclass(frozen=True)
class StackProcesses:
    """Where a running stack's processes are: the root of each part's process tree. The
    trees are read again at each count (PostgreSQL's backends come and go)."""

    backends: list[str]  # each server process's own URL
    servers: list[int]  # the server processes the stack started (voting-server run)
    workers: list[int]  # their gunicorn workers, each the parent of a signature checker
    nginx: int  # nginx's master (daemon off: the stack's own child), its worker below it
    postgres: int | None  # the postmaster (not on this machine: None, counted as 0)
    redis: int | None  # the redis-server of the message queue (likewise)

    @classmethod
    def of(cls, stack: Stack, database_url: str, message_queue: str) -> StackProcesses:
        """``stack``'s processes, with its database's postmaster and its Redis (by the
        port of ``message_queue``'s URL)."""
        from urllib.parse import urlsplit

        binds = [b.removeprefix("http://") for b in stack.backends]
        return cls(
            backends=stack.backends,
            servers=[p.pid for p in stack.processes[: len(stack.backends)]],
            workers=[pid for bind in binds if (pid := gunicorn_worker(bind)) is not None],
            nginx=stack.processes[-1].pid,
            postgres=postmaster_pid(database_url),
            redis=listening_pid(urlsplit(message_queue).port or 6379),
        )

    def trees(self) -> dict[str, set[int]]:
        """Each part's processes now (``STACK_PARTS``). ``checkers``: the workers' children;
        ``server``: the rest of the servers' trees (the gunicorn masters and workers)."""
        parents = process_parents()
        checkers = process_tree([p for p, up in parents.items() if up in self.workers], parents)
        return {
            "server": process_tree(self.servers, parents) - checkers,
            "checkers": checkers,
            "nginx": process_tree([self.nginx], parents),
            "postgres": process_tree([self.postgres] if self.postgres else [], parents),
            "redis": process_tree([self.redis] if self.redis else [], parents),
        }


def parts_cpu_s(trees: dict[str, set[int]]) -> dict[str, float]:
    """Each part's CPU seconds so far (``StackProcesses.trees``), its ended children's too."""
    return {part: sum(cpu_with_reaped_s(pid) for pid in pids) for part, pids in trees.items()}


def press_batches(bundle: Path, vote: int) -> int:
    """How many group commits stored ``vote``'s presses, from the exported ``bundle``: the
    entries of one batch share one time (services/ballots.py), so one time, one batch."""
    times = set()
    with (bundle / "log.jsonl").open("rb") as f:
        for raw in f:
            if b'"type":"ballot"' in raw or b'"type":"participation"' in raw:
                entry = json.loads(raw)
                if entry["data"].get("vote") == vote:
                    times.add(entry["t"])
    return len(times)


def context_switches(pid: int) -> tuple[int, int] | None:
    """``pid``'s voluntary and involuntary (preempted) context switches so far, from
    /proc/PID/status; None once it is gone."""
    status = proc_status(pid)
    with suppress(KeyError, ValueError):
        return int(status["voluntary_ctxt_switches"]), int(status["nonvoluntary_ctxt_switches"])
    return None


@dataclass(frozen=True)
class StackSnapshot:
    """The stack's counters at one moment: each part's CPU seconds (``parts_cpu_s``)
    and each live process's context switches (``context_switches``), by part."""

    cpu: dict[str, float]
    switches: dict[str, dict[int, tuple[int, int]]]

    @classmethod
    def of(cls, trees: dict[str, set[int]]) -> StackSnapshot:
        switches = {
            part: {pid: found for pid in pids if (found := context_switches(pid)) is not None}
            for part, pids in trees.items()
        }
        return cls(cpu=parts_cpu_s(trees), switches=switches)


def stack_snapshot(base: str) -> StackSnapshot | None:
    """The counters of the stack served at ``base`` now; None for a lone server."""
    return StackSnapshot.of(STACKS[base].trees()) if base in STACKS else None


def stack_cpu_figures(base: str, before: StackSnapshot, burst: dict[str, Any]) -> dict[str, Any]:
    """The whole stack's CPU over a burst: from ``before`` (``stack_snapshot`` at its start)
    to now (its last receipt, just after ``_cpu_figures`` filled ``burst``). Returns the
    total, its parts, the total per 1,000 acknowledged ballots, and ``other_cpu_s``: the
    machine's busy CPU that neither the stack, the client processes nor the bench used;
    ``stack_processes``: how many processes each part had at the end;
    ``stack_context_switches``: each part's voluntary and involuntary switches over the
    burst, of the processes alive at both ends (a backend that ended meanwhile is not in
    them, as it is in the CPU)."""
    trees = STACKS[base].trees()
    after = StackSnapshot.of(trees)
    parts = {part: round(after.cpu[part] - before.cpu[part], 2) for part in STACK_PARTS}
    total = sum(after.cpu[part] - before.cpu[part] for part in STACK_PARTS)
    accounted = total + burst["client_cpu_s"] + burst["bench_cpu_s"]
    switches = {}
    for part in STACK_PARTS:
        then, now = before.switches.get(part, {}), after.switches[part]
        both = [pid for pid in now if pid in then]
        switches[part] = {
            "voluntary": sum(now[pid][0] - then[pid][0] for pid in both),
            "involuntary": sum(now[pid][1] - then[pid][1] for pid in both),
        }
    return {
        "stack_cpu_s": round(total, 2),
        "stack_cpu_parts_s": parts,
        "stack_processes": {part: len(pids) for part, pids in trees.items()},
        "stack_cpu_per_1000_s": round(total / burst["acked"] * 1000, 3) if burst["acked"] else None,
        "other_cpu_s": round(burst["machine_busy_cpu_s"] - accounted, 2),
        "stack_context_switches": switches,
    }


def _burst_summary(burst: dict[str, Any]) -> dict[str, Any]:
    """One burst of a scale-out run: its rate, latency and the stack's CPU."""
    stack = burst["stack"]
    return {
        "acked": burst["acked"], "per_s": burst["per_s"], "ack_p99_ms": burst["ack_ms"]["p99"],
        "stack_cpu_s": stack["stack_cpu_s"], "stack_cpu_parts_s": stack["stack_cpu_parts_s"],
        "stack_cpu_per_1000_s": stack["stack_cpu_per_1000_s"], "other_cpu_s": stack["other_cpu_s"],
        "lead_cpu_s": stack["lead_cpu_s"],
        "involuntary_switches": {
            part: n["involuntary"] for part, n in stack["stack_context_switches"].items()
        },
    }  # fmt: skip


def _bursts_summed(bursts: list[dict[str, Any]]) -> dict[str, Any]:
    """A scale-out run's figures over all its ``bursts`` (``ballot_phase``'s ``burst`` and
    ``repeat_bursts``): CPU and ballots summed, the rate over the bursts' spans; the
    first burst's ``ack_ms``."""

    def total(key: str) -> float:
        return round(sum(b[key] for b in bursts), 2)

    def stack_total(key: str) -> float:
        return round(sum(b["stack"][key] for b in bursts), 2)

    acked, span = sum(b["acked"] for b in bursts), sum(b["span_s"] for b in bursts)
    stack_s = sum(b["stack"]["stack_cpu_s"] for b in bursts)
    return {
        "per_s": round(acked / span, 1) if span else 0.0,
        "presses": sum(b["presses"] for b in bursts), "acked": acked,
        "errors": dict(sum((Counter(b["errors"]) for b in bursts), Counter())),
        "ack_ms": bursts[0]["ack_ms"],
        "server_cpu_s": total("server_cpu_s"), "client_cpu_s": total("client_cpu_s"),
        "other_processes_cpu_s": total("other_processes_cpu_s"),
        "machine_busy_cpu_s": total("machine_busy_cpu_s"), "span_s": round(span, 3),
        "bench_cpu_s": total("bench_cpu_s"),
        "stack_cpu_s": stack_total("stack_cpu_s"),
        "stack_cpu_parts_s": {
            part: round(sum(b["stack"]["stack_cpu_parts_s"][part] for b in bursts), 2)
            for part in STACK_PARTS
        },
        "stack_processes": bursts[-1]["stack"]["stack_processes"],
        "stack_context_switches": {
            part: {kind: sum(b["stack"]["stack_context_switches"][part][kind] for b in bursts)
                   for kind in ("voluntary", "involuntary")}
            for part in STACK_PARTS
        },
        "stack_cpu_per_1000_s": round(stack_s / acked * 1000, 3) if acked else None,
        "other_cpu_s": stack_total("other_cpu_s"),
        "lead_cpu_s": stack_total("lead_cpu_s"),  # the idle stack's, before the bursts: apart
    }  # fmt: skip


def scale_out_phase(
    *, members: int, burst_s: float, seed: int, shards: list[Shard], secret: bool,
    workdir: Path, sign_in: str, postgres_admin_url: str, message_queue: str,
    database_prefix: str = "voting_bench_scale_", profile: bool = False,
    bursts: int = SCALE_OUT_BURSTS,
) -> dict[str, Any]:  # fmt: skip
    """The ballot burst against the scale-out stack (voting-server stack: nginx, Redis,
    PostgreSQL) with one and with two server processes, each on a fresh database
    (``database_prefix`` + the number of processes, on ``postgres_admin_url``'s server).

    The kiosks leave from 64 loopback addresses, so that nginx's sticky hash of the
    client address spreads them over the processes as it spreads a hall LAN. Each run
    reports the whole stack's CPU over its burst (``stack_cpu_figures``), and the top
    level ``cpu_per_1000_ratio``: the stack's CPU per 1,000 ballots with two processes
    divided by that with one, at the same offered load (the same members, burst, seed).
    ``profile``: py-spy on each worker and its checker, bench/results/profile-scale-out-*.
    ``bursts``: how many times each run makes the burst (``ballot_phase``): one burst's
    CPU figures stray by ±10 %, which two runs' ratio doubles.
    """
    runs: dict[int, dict[str, Any]] = {}
    for processes in (1, 2):
        sub = workdir / f"scale-out-{processes}"
        sub.mkdir()

        progress(f"scale-out: the stack with {processes} process(es)")
        with fresh_postgres(postgres_admin_url, f"{database_prefix}{processes}") as url:
            out = ballot_phase(
                members=members, burst_s=burst_s, database_url=url, seed=seed, shards=shards,
                secret=secret, profile=profile, workdir=sub, sign_in=sign_in,
                serve=partial(stack_served, processes=processes, message_queue=message_queue),
                source_addresses=64, profile_name=f"scale-out-{processes}", bursts=bursts,
            )  # fmt: skip
        checks, each_burst = out["checks"], [out["burst"], *out.get("repeat_bursts", [])]
        runs[processes] = {
            **_bursts_summed(each_burst), "lost": checks["lost"],
            "duplicated": checks["duplicated"], "result_match": out.get("result_match"),
            "bundle_verified": out["bundle_verified"],
            "kiosks_setup_s": out["timings"]["kiosks_setup_s"],
            "batches": press_batches(sub / "bundle", out["vote"]["id"]),
            "bursts": [_burst_summary(b) for b in each_burst],
        }  # fmt: skip
        if profile:  # one worker's summary, or each worker's by name
            runs[processes]["profile"] = out.get("profile") or out.get("profiles")
    one, two = runs[1]["per_s"], runs[2]["per_s"]
    cost_one, cost_two = runs[1]["stack_cpu_per_1000_s"], runs[2]["stack_cpu_per_1000_s"]
    # A run that lost or refused ballots measured a different workload: no ratio then.
    complete = all(r["acked"] == r["presses"] and r["lost"] == 0 for r in runs.values())
    cost_ratio = round(cost_two / cost_one, 3) if cost_one and cost_two and complete else None
    per_burst = [
        round(b2["stack_cpu_per_1000_s"] / b1["stack_cpu_per_1000_s"], 3)
        for b1, b2 in zip(runs[1]["bursts"], runs[2]["bursts"], strict=True)
        if b1["stack_cpu_per_1000_s"] and b2["stack_cpu_per_1000_s"]
    ]
    return {
        "one_process_per_s": one,
        "two_processes_per_s": two,
        "ratio": round(two / one, 3) if one and complete else None,
        "cpu_per_1000_ratio": cost_ratio,
        "cpu_per_1000_ratio_by_burst": per_burst,
        "targets": {"cpu_per_1000_ratio_le_1.2": None if cost_ratio is None else cost_ratio <= 1.2},
        "complete": complete,
        "runs": {"1": runs[1], "2": runs[2]},
        "notes": [
            "stack_cpu_s: user + system CPU seconds, from the burst's first press to its last "
            "receipt, of every process of the stack, read from /proc: the server processes "
            "(voting-server run: its gunicorn master and worker), their signature checkers, "
            "nginx (master and worker), PostgreSQL (the postmaster and all its children: "
            "backends, walwriter, checkpointer …, with the children that ended meanwhile) and "
            "the redis-server listening on the message queue's port; not the client processes "
            "(client_cpu_s) nor the bench's own (bench_cpu_s).",
            "PostgreSQL and Redis are the machine's own, shared: whatever else used them "
            "during the burst counts in the stack. other_cpu_s: the machine's busy CPU "
            "(machine_busy_cpu_s) less the stack, the clients and the bench.",
            "batches: the group commits that stored the burst's presses (one time per batch "
            "in the log): each pays its transaction, the log's lock and tail, and a commit.",
            "cpu_per_1000_ratio: stack_cpu_per_1000_s with two processes / with one, at the "
            "same offered load (members, burst, seed); target <= 1.2; null unless both runs "
            "acknowledged every press.",
            "Each run makes the same burst several times (bursts: the first, then each seat "
            "pressing its planned ballot again with a new nonce, which the vote's last-press "
            "policy stores as one more press): a run's figures (stack_cpu_s, its parts, "
            "acked, per_s, stack_cpu_per_1000_s) are over all its bursts, ack_ms is the "
            "first burst's; cpu_per_1000_ratio_by_burst: the same ratio burst by burst, to "
            "show how far one burst alone strays.",
        ],
    }


def echo_like(
    ballots: dict[str, Any], *, shards: list[Shard], profile: bool, workdir: Path, burst_s: float
) -> dict[str, Any]:
    """The echo phase mirroring ``ballots`` (``ballot_phase``'s output): the seats that
    pressed, at the same moments of the burst, sending the payloads they signed (which
    the shards kept), so that ``ratio_to_echo`` compares like with like."""
    offsets: dict[int, float] = ballots["_offsets"]
    seats = sorted(ballots["_pressed"])
    share = [seats[i :: len(shards)] for i in range(len(shards))]
    return echo_phase(shards=shards, seats=share, offsets=offsets, profile=profile,
                      workdir=workdir, burst_s=burst_s)  # fmt: skip


def echo_phase(
    *, shards: list[Shard], seats: list[list[int]], offsets: dict[int, float], profile: bool,
    workdir: Path, burst_s: float,
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    with echo_served(workdir / "echo.log") as base:
        worker = gunicorn_worker(base.removeprefix("http://"))
        rss: dict[str, float | None] = {"idle": rss_mb(worker)}
        progress(f"echo server on {base}, worker pid {worker}")
        t = time.monotonic()
        each(shards, [{"cmd": "setup", "base": base, "mode": "echo", "seats": [[s] for s in mine]}
                      for mine in seats])  # fmt: skip
        out["setup_s"] = round(time.monotonic() - t, 1)
        rss["clients_connected"] = rss_mb(worker)
        each(shards, [{"cmd": "arm", "plan": [[s, offsets[s]] for s in mine]} for mine in seats])
        out["quiet_before_burst"] = wait_for_quiet([worker, *(s.proc.pid for s in shards)])
        start = time.monotonic() + LEAD_S
        spy = (
            pyspy.start(worker, PROFILE_MAX_S, workdir / "echo.pyspy")
            if profile and worker
            else None
        )
        cpu0, machine0, self0 = cpu_s(worker), machine_busy_s(), own_cpu_s()
        progress(f"echo burst: {sum(len(s) for s in seats):,} requests within {burst_s} s")
        fired = each(shards, [{"cmd": "fire", "start": start, "deadline_s": DEFAULT_DEADLINE_S,
                               "ack_timeout_s": DEFAULT_ACK_TIMEOUT_S}] * len(shards))  # fmt: skip
        server_cpu = (cpu_s(worker) or 0) - (cpu0 or 0)
        figures = burst_figures([p for a in fired for p in a["presses"]], start)
        _cpu_figures(figures, fired, server_cpu, machine0, self0)
        progress(
            f"echo: {figures['acked']:,} acknowledged, p99 {figures['ack_ms']['p99']} ms, {figures['per_s']:,}/s"
        )
        if spy is not None:
            out["profile"] = _finish_profile(
                spy, workdir / "echo.pyspy", time.monotonic() - start + LEAD_S, "echo"
            )
        rss["after_burst"] = rss_mb(worker)
        each(shards, [{"cmd": "disconnect"}] * len(shards))
    out["burst"] = figures
    out["server_rss_mb"] = rss
    return out


def presses_of(fired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every press of a burst, from the shards' answers to ``fire``."""
    return [p for answer in fired for p in answer["presses"]]


def measured_burst(
    shards: list[Shard], workers: list[int], base: str, start: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fire the armed presses at ``start`` (monotonic) and measure the burst: each shard's
    answer (its ``presses``: ``presses_of``), and the burst's figures (``burst_figures``,
    the CPU's, the whole stack's against a stack).

    The CPU is counted from ``start`` (the counters are read just before it; the client
    processes read theirs at it, bench/kiosks.py) to the last receipt: the lead, the
    shards waiting for ``start``, is the idle stack's time, not the burst's. Against a
    stack, what the lead cost is reported apart (``lead_cpu_s``)."""
    lead0 = stack_snapshot(base)
    for shard in shards:
        shard.send({"cmd": "fire", "start": start, "deadline_s": DEFAULT_DEADLINE_S,
                    "ack_timeout_s": DEFAULT_ACK_TIMEOUT_S})  # fmt: skip
    time.sleep(max(0.0, start - COUNTERS_AHEAD_S - time.monotonic()))
    cpu0, machine0, self0 = workers_cpu_s(workers), machine_busy_s(), own_cpu_s()
    stack0 = stack_snapshot(base)  # the whole stack's, against the scale-out stack
    counters_read_s = time.monotonic()
    fired = [shard.receive() for shard in shards]
    server_cpu = workers_cpu_s(workers) - cpu0
    figures = burst_figures(presses_of(fired), start)
    _cpu_figures(figures, fired, server_cpu, machine0, self0)
    # > 0: the counters were read before the first press could be
    figures["counters_read_ahead_ms"] = round((start - counters_read_s) * 1000, 1)
    if lead0 is not None and stack0 is not None:
        figures["stack"] = stack_cpu_figures(base, stack0, figures)
        figures["stack"]["lead_cpu_s"] = round(
            sum(stack0.cpu.values()) - sum(lead0.cpu.values()), 2
        )
    return fired, figures


def _cpu_figures(
    figures: dict[str, Any],
    fired: list[dict[str, Any]],
    server_cpu: float,
    machine0: float,
    self0: float,
) -> None:
    """CPU seconds from the start of the burst to its last receipt (or deadline): the
    server worker, the client processes, and everything else on the machine."""
    client = sum(a["cpu_s"] for a in fired)
    busy = machine_busy_s() - machine0
    figures["server_cpu_s"] = round(server_cpu, 2)
    figures["client_cpu_s"] = round(client, 2)
    figures["machine_busy_cpu_s"] = round(busy, 2)
    bench = own_cpu_s() - self0  # this process: the consoles' clients, the shards' pipes
    figures["bench_cpu_s"] = round(bench, 2)
    figures["other_processes_cpu_s"] = round(busy - server_cpu - client - bench, 2)
    figures["dropped_connections"] = sum(a["dropped"] for a in fired)
    logs: Counter[str] = Counter()
    for a in fired:
        logs.update(a["client_log"])
    figures["client_library_warnings"] = dict(logs)


def _finish_profile(
    spy: subprocess.Popen[bytes], raw: Path, seconds: float, name: str
) -> dict[str, Any]:
    """Stop py-spy (it writes its samples on SIGINT), summarize ``seconds`` of burst into
    bench/results/profile-``name``.txt, and return the summary's head for the JSON."""
    spy.send_signal(signal.SIGINT)
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not raw.exists():
        return {"error": err.decode(errors="replace")[-500:]}
    summary = pyspy.summarize(raw, seconds)
    (RESULTS / f"profile-{name}.txt").write_text(pyspy.text_report(summary))
    head = {"file": f"bench/results/profile-{name}.txt", **{
        k: summary[k] for k in ("samples", "busy_share", "self_by_package", "innermost_project_frame")
    }}  # fmt: skip
    for key in ("self_by_package", "innermost_project_frame"):
        head[key] = head[key][:12]
    return head


def ed25519_rate(message: bytes, seconds: float = 2.0) -> float:
    """Single-core Ed25519 verifications per second with ``cryptography``, in a tight loop."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public, signature = private.public_key(), private.sign(message)
    verify = public.verify
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            verify(signature, message)
        count += 100
    return count / elapsed


def verify_phase(entries: int) -> dict[str, Any]:
    import resource

    from audit.bundle import verify_bundle
    from audit.entry import signed_part

    directory = TMP / f"biglog-{entries}"
    meta = biglog.ensure(directory, entries, progress=progress)
    quiet = wait_for_quiet([])
    with (directory / "log.jsonl").open("rb") as f:  # a typical signed message: a press entry
        sample = next(line for line in f if b'"type":"ballot"' in line)
    message = signed_part(json.loads(sample))
    before = ed25519_rate(message)
    progress(
        f"Ed25519 verify, one core: {before:,.0f}/s; now verifying {meta['entries']:,} entries"
    )
    usage0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    report = verify_bundle(directory)
    seconds = time.perf_counter() - t
    usage1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)
        for a, b in zip(usage0, usage1, strict=True)
    )
    after = ed25519_rate(message)
    rate = report.entries / seconds
    progress(
        f"verified {report.entries:,} entries in {seconds:,.1f} s: {rate:,.0f}/s, ok={report.ok}"
    )
    return {
        "entries": report.entries,
        "ok": report.ok,
        "quiet_before": quiet,
        "errors": report.errors[:3],
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "cores_used": round(cpu / seconds, 2),
        "entries_per_s": round(rate, 1),
        "ed25519_verify_per_s": round(max(before, after), 1),
        "ed25519_verify_per_s_before_after": [round(before, 1), round(after, 1)],
        "log": {k: meta[k] for k in ("entries", "votes", "members", "bytes", "generated_in_s")},
    }


def section5(
    *,
    members: int,
    burst_s: float,
    ballots: dict[str, Any],
    echo: dict[str, Any] | None,
    verify: dict[str, Any] | None,
    client_procs: int,
    load_at_start: list[str],
    scale_out: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The §5 object of one run (CONTRACTS.md) from its phases' outputs: ``ballots``
    from ``ballot_phase`` (its ``_offsets`` and ``_pressed`` left out), ``echo`` from
    ``echo_phase`` and ``verify`` from ``verify_phase`` (None: the phase did not run).

    Returns the object (without ``total_s`` and ``notes``, which the caller knows) and
    the ack latencies in ms, ``ballot`` and ``echo`` (when it ran), for the plot: they
    are taken out of the bursts' figures, where they would only bloat the JSON.
    """
    b = ballots["burst"]
    e = echo["burst"] if echo else None
    checks = ballots["checks"]
    report: dict[str, Any] = {
        "machine": machine(),
        "members": members,
        "burst_s": burst_s,
        "ballots": b["presses"],
        "acked": b["acked"],
        "lost": checks["lost"],
        "duplicated": checks["duplicated"],
        "ack_ms": b["ack_ms"],
        "result_to_all_ms": ballots["result_to_all_ms"],
        "ballots_per_s": b["per_s"],
        "echo_per_s": e["per_s"] if e else None,
        "ratio_to_echo": round(b["per_s"] / e["per_s"], 3) if e and e["per_s"] else None,
        "verify_entries_per_s": verify["entries_per_s"] if verify else None,
        "ed25519_verify_per_s": verify["ed25519_verify_per_s"] if verify else None,
        "verify_ratio": (
            round(verify["entries_per_s"] / verify["ed25519_verify_per_s"], 3) if verify else None
        ),
    }
    samples = {"ballot": b.pop("ack_samples_ms")}
    if e:
        samples["echo"] = e.pop("ack_samples_ms")
    report["targets"] = {
        "lost_0": report["lost"] == 0,
        "duplicated_0": report["duplicated"] == 0,
        "ack_p99_le_1000ms": b["ack_ms"]["p99"] <= TARGETS["ack_p99_ms"],
        "result_p99_le_500ms": ballots["result_to_all_ms"]["p99"] <= TARGETS["result_p99_ms"]
        and ballots["result_to_all_ms"]["missing"] == 0,
        "ratio_to_echo_ge_0.6": None
        if report["ratio_to_echo"] is None
        else report["ratio_to_echo"] >= TARGETS["ratio_to_echo"],
        "verify_ratio_ge_0.8": None
        if report["verify_ratio"] is None
        else report["verify_ratio"] >= TARGETS["verify_ratio"],
        **tight_targets(report),
    }
    report["receipts_not_matching_log"] = checks["receipts_not_matching_log"]
    report["loadavg_at_start"] = load_at_start
    report["db"] = ballots["db"]
    report["kind"] = ballots["vote"]["kind"]
    report["secret"] = ballots["vote"]["secret"]
    if ballots["vote"].get("trustees"):
        report["trustees"] = ballots["vote"]["trustees"]
    report["client_procs"] = client_procs
    report["ballot"] = {
        k: v
        for k, v in ballots.items()
        if k not in {"db", "result_to_all_ms", "_offsets", "_pressed"}
    }
    report["echo"] = echo
    report["scale_out"] = scale_out
    report["verify"] = verify
    return report, samples


# What every report's figures mean (the ``notes`` of the JSON).
NOTES = [
    "Clients run in a separate process (bench/kiosks.py, asyncio, websocket transport) on the "
    "same 2-core machine as the server: they share its CPU.",
    "A ballot not acknowledged within 5 s is resent with the same payload, as the kiosk "
    "library does (`resent` counts them); the server answers a known nonce with the same "
    "receipt, so resends add load but never a second ballot.",
    "Each kiosk signs its ballot (ballot_payload, two P-256 signatures) when the vote opens, "
    "before the burst; press → receipt starts at the emit, as the kiosk library's own ack_ms "
    "does (it timestamps the press after signing).",
    "result_to_all_ms: from sending close_vote to the `result` event on every kiosk, the "
    "hall display and the presidium console.",
    "ballots_per_s and echo_per_s: acknowledged / (last ack − first press); with a burst the "
    "server keeps up with, both are bounded by the offered rate (clients / burst_s).",
    "server_cpu_s: the gunicorn workers and their signature checker processes "
    "(services/signatures.py); server_rss_mb: the worker alone, its checker apart "
    "(checker_after_burst).",
]
VERIFY_NOTE = (
    "verify: audit.bundle.verify_bundle over bench/biglog.py's log (cached in bench/tmp/); "
    "ed25519_verify_per_s: cryptography's Ed25519PublicKey.verify on one core, best of "
    "before and after the verify run."
)


# --- the command ----------------------------------------------------------------------------


@click.command()
@click.option("--members", default=3000, show_default=True, type=click.IntRange(1, 5000))
@click.option("--burst", default=1.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds within which every kiosk presses.")  # fmt: skip
@click.option("--database-url", help="An EMPTY database (default: a fresh SQLite file).")
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--client-procs", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Client processes the kiosks are spread over.")  # fmt: skip
@click.option("--sign-in", "sign_in", type=click.Choice(["apart", "connected", "staff"]),
              default="apart", show_default=True,
              help="apart: each kiosk signs in on a connection of its own, then all connect "
              "(fast); connected: all connect first, then sign in (every sign-in is broadcast "
              "to every connected kiosk); staff: every member marked present by staff, then each "
              "kiosk confirms with a PIN hashed at argon2's lowest cost (a quick run for "
              "development: a proxy sign-in alone lets no tablet vote).")  # fmt: skip
@click.option("--kind", type=click.Choice(KINDS), default="motion", show_default=True,
              help="The vote measured: the demo agenda's motion, selection (12 candidates for "
              "10 seats) or evaluation (3 departments); --scale-out measures the motion.")  # fmt: skip
@click.option("--secret", is_flag=True, help="Make the vote secret (default: named).")
@click.option("--trustees", type=click.IntRange(1, 9),
              help="With --secret: the vote in trustee mode (issue 20), ballots encrypted by the "
              "kiosk processes before the burst, N trustee clients making the key and "
              "decrypting at close.")  # fmt: skip
@click.option("--verify-entries", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--skip-verify", is_flag=True, help="Quick run: leave the verify figures out.")
@click.option("--skip-echo", is_flag=True, help="Quick run: leave the echo baseline out.")
@click.option("--profile", is_flag=True, help="Sample the server worker with py-spy in each burst.")
@click.option("--pg-stats", "pg_stats", is_flag=True,
              help="With a PostgreSQL --database-url: PostgreSQL's view of the ballot burst "
              "(wait events sampled from pg_stat_activity; pg_stat_statements if loaded), "
              "in the JSON's ballot.postgres_stats (bench/pg_stats.py).")  # fmt: skip
@click.option("--scale-out", is_flag=True,
              help="Also run the ballot burst against the scale-out stack (nginx, Redis, "
              "PostgreSQL) with 1 and with 2 server processes: the `scale_out` figures.")  # fmt: skip
@click.option("--scale-out-postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              show_default=True,
              help="PostgreSQL server for --scale-out (databases voting_bench_scale_1 and _2 are "
              "created and dropped).")  # fmt: skip
@click.option("--scale-out-bursts", default=SCALE_OUT_BURSTS, show_default=True,
              type=click.IntRange(1, 20),
              help="With --scale-out: the burst made this many times against each stack.")  # fmt: skip
@click.option("--scale-out-redis", default="redis://127.0.0.1:6379/0", show_default=True,
              help="Redis for --scale-out's message queue.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "latest.json", show_default=True)  # fmt: skip
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "ack_latency.svg", show_default=True)  # fmt: skip
def main(
    members: int, burst: float, database_url: str | None, seed: int, client_procs: int,
    sign_in: str, kind: str, secret: bool, trustees: int | None, verify_entries: int, skip_verify: bool, skip_echo: bool, profile: bool,
    pg_stats: bool, scale_out: bool, scale_out_postgres: str, scale_out_bursts: int, scale_out_redis: str,
    out: Path, plot_path: Path,
) -> None:  # fmt: skip
    """Run the benchmark of CONTRACTS.md §5 and write its JSON (and the latency plot)."""
    if trustees is not None and not secret:
        raise click.UsageError("--trustees needs --secret: trustee mode is for secret votes")
    if trustees is not None and scale_out:
        raise click.UsageError("--trustees does not take --scale-out")
    if pg_stats and not (database_url or "").startswith("postgresql"):
        raise click.UsageError("--pg-stats needs a PostgreSQL --database-url")
    if profile and pyspy.py_spy() is None:
        raise click.ClickException("--profile needs py-spy: .venv/bin/pip install py-spy")
    started = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = TMP / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    progress(f"machine: {machine()}")
    load_at_start = Path("/proc/loadavg").read_text().split()[:3]
    shards = [Shard(f"kiosks-{i}") for i in range(client_procs)]
    try:
        ballots = ballot_phase(
            members=members, burst_s=burst, database_url=database_url, seed=seed,
            shards=shards, secret=secret, profile=profile, workdir=workdir, sign_in=sign_in,
            kind=kind, trustees=trustees or 0, pg_stats=pg_stats,
        )  # fmt: skip
        echo = None
        if not skip_echo:
            echo = echo_like(ballots, shards=shards, profile=profile, workdir=workdir,
                             burst_s=burst)  # fmt: skip
        scaled = None
        if scale_out:
            scaled = scale_out_phase(
                members=members, burst_s=burst, seed=seed, shards=shards, secret=secret,
                workdir=workdir, sign_in=sign_in, postgres_admin_url=scale_out_postgres,
                message_queue=scale_out_redis, profile=profile, bursts=scale_out_bursts,
            )  # fmt: skip
    finally:
        for shard in shards:
            shard.quit()
    verify = None if skip_verify else verify_phase(verify_entries)

    report, samples = section5(
        members=members, burst_s=burst, ballots=ballots, echo=echo, verify=verify,
        client_procs=client_procs, load_at_start=load_at_start, scale_out=scaled,
    )  # fmt: skip
    report["total_s"] = round(time.monotonic() - started, 1)
    report["notes"] = [*NOTES, VERIFY_NOTE]
    text = json.dumps(report, ensure_ascii=False, indent=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    subtitle = (
        f"{members:,} kiosks, {burst:g} s burst, {report['db']}; "
        f"ballots {report['ballots_per_s']:,.0f}/s"
        + (f", echo {report['echo_per_s']:,.0f}/s" if echo else "")
        + f"; {machine().split(':')[0]}"
    )
    plot_path.write_text(plot.ack_latency_svg(samples, "Ack latency: press → receipt", subtitle))
    progress(f"wrote {out} and {plot_path} in {report['total_s']} s")
    click.echo(text)


if __name__ == "__main__":
    main()
