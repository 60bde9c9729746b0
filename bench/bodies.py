"""``make bench-bodies``: many bodies voting in the same second on one server.

A city platform serves its districts' standing committees from one server
(docs/bodies.md). This run prepares ``--bodies`` of them, ``--members`` seats
each, in one fresh database (SQLite by default), each with its own presidium,
display and scrutineer accounts, enrollment codes and PINs, and one vote
(``--kind``); starts ONE production server (``voting-server run``); and then,
as bench/run.py does for one body:

- every seat of every body enrolls, connects, authenticates and confirms its
  PIN, from bench/kiosks.py client processes — one per body, since a shard
  keys its kiosks by seat and every body numbers its seats from 1;
- every body's presidium console opens its vote within the same second (one
  console per body, their requests sent together), and each body's display
  and console listen;
- one burst: every kiosk of every body presses once within ``--burst`` s;
- every vote is closed at once; ``result_to_all_ms`` of a body runs from its
  own close request to the ``result`` on each of ITS screens (its kiosks, its
  console, its display);
- leaks: an event naming another body's vote on a body's screen — a kiosk's
  ``result`` or ``vote_opened`` (bench/kiosks.py ``heard``), any event of the
  console or display (``result``, ``vote_opened``, ``participation``, …);
- each body's own audit bundle is exported and checked against its kiosks'
  receipts (bench/run.py ``log_checks``) and verified alone
  (``audit.bundle.verify_bundle``); each published result must equal the tally
  of the body's acknowledged ballots.

Writes bench/results/bodies.json (``--out``); progress on stderr.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import click

from bench import pyspy
from bench.run import (
    LEAD_S,
    PROFILE_MAX_S,
    QUIET_WAIT_S,
    RESULT_TIMEOUT_S,
    RESULTS,
    TARGETS,
    TMP,
    Shard,
    TimedConsole,
    _finish_profile,
    each,
    log_checks,
    machine,
    measured_burst,
    progress,
    server_workers,
    staff_request,
    wait_for_quiet,
    workers_cpu_s,
)
from rules import tally
from voting_server.cli.processes import served
from voting_server.cli.simulate import PlannedVote, percentiles, random_ballot
from voting_server.cli.simulate_congress import BodyHall, export_verified, prepare

# The districts of the demo city; beyond them, numbered ones.
DISTRICTS = ("东城区", "西城区", "南湖区", "北山区", "高新区", "江北区", "江南区", "滨湖区",
             "临港区", "新城区")  # fmt: skip
KINDS = ("motion", "selection", "evaluation")  # the city demo's agenda has one vote of each
SETTLE_S = 1.0  # after the last announcement, for a stray event to arrive before the count
T = TypeVar("T")


def district_name(index: int) -> str:
    """The ``index``-th (0-based) district's standing committee."""
    district = DISTRICTS[index] if index < len(DISTRICTS) else f"第{index + 1}区"
    return f"示例市{district}人民代表大会常务委员会"


def load_districts(session: Any, bodies: int, members: int, kind: str) -> list[Any]:
    """``bodies`` district standing committees of ``members`` seats (1..members each),
    each with a sitting whose one agenda item is the city demo's vote of ``kind``;
    returns the bodies (``simulate_congress.prepare``'s ``load``)."""
    from voting_server.demo import AGENDA, demo_roster
    from voting_server.demo.county import CountyItem, CountyVote, DemoBody, load_body
    from voting_server.models import BodyKind, BodyLevel

    item = next(i for i in AGENDA if i.vote.config["kind"] == kind)
    agenda = (
        CountyItem(
            item.title,
            item.description,
            CountyVote(item.vote.title, item.vote.config, item.vote.titles),
        ),
    )
    roster = demo_roster(members)
    loaded = []
    for name in map(district_name, range(bodies)):
        sitting = f"{name.removesuffix('人民代表大会常务委员会')}人大常委会第十次会议"
        body_kind, level = BodyKind.STANDING_COMMITTEE, BodyLevel.COUNTY  # a district: county level
        loaded.append(load_body(session, DemoBody(name, body_kind, level, roster, sitting, agenda)))
    return loaded


@dataclass
class District:
    """One body of the run: its hall, its client process, its kiosks' plan and its
    screens, and what was measured of it."""

    hall: BodyHall
    shard: Shard
    plan: dict[int, tuple[float, Any]]  # seat → (moment in the burst, ballot)
    console: TimedConsole | None = None
    display: TimedConsole | None = None
    present: int = 0
    ready: int = 0
    setup_failures: list[Any] = field(default_factory=list)
    open_sent_at: float = 0.0  # time.monotonic() when its open_vote request left
    open_answered_ms: float | None = None
    presses: list[dict[str, Any]] = field(default_factory=list)
    closed: dict[str, Any] = field(default_factory=dict)  # the closed vote, with its result
    to_all_ms: list[float] = field(default_factory=list)
    result_missing: int = 0
    heard: dict[str, dict[str, int]] = field(default_factory=dict)  # the kiosks' (``heard``)

    @property
    def vote(self) -> PlannedVote:
        return self.hall.votes[0].planned

    @property
    def name(self) -> str:
        return self.hall.name

    @property
    def screens(self) -> list[TimedConsole]:
        return [s for s in (self.console, self.display) if s is not None]


def leaks(
    heard: dict[str, dict[str, int]],
    arrivals: list[list[tuple[float, str, Any]]],
    foreign: set[int],
) -> Counter[str]:
    """Events naming a vote of ``foreign`` (the other bodies' votes) that reached one
    body's screens, by event: ``heard``, its kiosks' ({event: {vote id: kiosks}}, as
    bench/kiosks.py ``heard`` answers), and every event of its staff screens
    (``arrivals``: each screen's (time, event, data), as ``TimedConsole`` keeps them)."""
    found: Counter[str] = Counter()
    for event, counts in heard.items():
        found[event] += sum(n for vote, n in counts.items() if int(vote) in foreign)
    for _at, event, data in (arrival for screen in arrivals for arrival in screen):
        if not isinstance(data, dict):
            continue
        vote = data.get("id") if event == "vote_opened" else data.get("vote")
        if isinstance(vote, int) and vote in foreign:
            found[event] += 1
    return +found


def at_once(districts: list[District], action: Callable[[District], T]) -> list[T]:
    """``action`` for every body at the same time (one thread each): the consoles' requests
    leave together, as the districts' presidiums act in the same second."""
    with ThreadPoolExecutor(len(districts)) as pool:
        return list(pool.map(action, districts))


def ask(district: District, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """The body's presidium console's request (``staff_request``): its answer."""
    assert district.console is not None, "the consoles log in before the votes"
    return staff_request(district.console, event, data)


def read_state(district: District) -> dict[str, Any]:
    return ask(district, "state", {})["state"]


def open_vote(district: District) -> None:
    district.open_sent_at = time.monotonic()
    ask(district, "open_vote", {"vote": district.vote.id})
    district.open_answered_ms = round((time.monotonic() - district.open_sent_at) * 1000, 1)


def close_vote(district: District) -> float:
    """Close the body's vote (its result kept in ``closed``); returns when the request left."""
    sent = time.monotonic()
    district.closed = ask(district, "close_vote", {"vote": district.vote.id})["vote"]
    return sent


def announce(district: District) -> None:
    ask(district, "announce", {"vote": district.vote.id})


def set_up_kiosks(
    base: str, districts: list[District], sign_in: str, workers: list[int]
) -> dict[str, float]:
    """Every seat of every body enrolled, connected, authenticated and signed in (each
    body's in its own client process); returns how long it took, and the server's CPU."""
    t, cpu0 = time.monotonic(), workers_cpu_s(workers)
    answers = each([d.shard for d in districts], [
        {"cmd": "setup", "base": base, "mode": "kiosk",
         "sign_in": "none" if sign_in == "staff" else sign_in,
         "seats": [[s, d.hall.hall.codes[s], d.hall.hall.pins.get(s, "")] for s in sorted(d.plan)]}
        for d in districts
    ])  # fmt: skip
    timings = {
        "kiosks_setup_s": round(time.monotonic() - t, 1),
        "kiosks_setup_server_cpu_s": round(workers_cpu_s(workers) - cpu0, 1),
    }
    for d, answer in zip(districts, answers, strict=True):
        d.ready, d.setup_failures = answer["ready"], answer["failures"][:20]
    progress(
        f"{sum(d.ready for d in districts):,} kiosks ready in {len(districts)} bodies "
        f"({timings['kiosks_setup_s']} s)"
    )
    return timings


def vote_together(
    base: str, districts: list[District], *, burst_s: float, sign_in: str, quiet_wait_s: float,
    profile_to: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Every body's kiosks set up, every vote opened, one burst, every vote closed and
    announced, on the server at ``base``; fills in each district and returns the
    burst's figures over every press. ``profile_to``: py-spy's samples of the worker
    during the burst go there (summary: bench/results/profile-bodies.txt)."""
    shards = [d.shard for d in districts]
    workers = server_workers(base)
    progress(f"server on {base}, worker pid(s) {workers}")
    timings = set_up_kiosks(base, districts, sign_in, workers)
    try:
        for d in districts:
            d.console = TimedConsole(base, *d.hall.hall.presidium)  # each serves its body only
            d.display = TimedConsole(base, *d.hall.display)
        for d, state in zip(districts, at_once(districts, read_state), strict=True):
            d.present = int(state["attendance"]["present"])
        at_once(districts, open_vote)
        sent = [d.open_sent_at for d in districts]
        seen = each(shards, [{"cmd": "wait_open", "vote": d.vote.id, "timeout": 60}
                             for d in districts])  # fmt: skip
        progress(
            f"{len(districts)} votes open within {(max(sent) - min(sent)) * 1000:.0f} ms; "
            f"seen by {sum(a['seen'] for a in seen):,} kiosks"
        )
        armed = each(shards, [{"cmd": "arm", "vote": d.vote.id,
                               "plan": [[s, *d.plan[s]] for s in sorted(d.plan)]}
                              for d in districts])  # fmt: skip
        quiet = wait_for_quiet([*workers, *(s.proc.pid for s in shards)], quiet_wait_s)
        start = time.monotonic() + LEAD_S
        spy = (
            pyspy.start(workers[0], PROFILE_MAX_S, profile_to)
            if profile_to is not None and len(workers) == 1
            else None
        )
        progress(f"burst: {sum(d.ready for d in districts):,} presses within {burst_s} s")
        fired, figures = measured_burst(shards, workers, base, start)
        for d, answer in zip(districts, fired, strict=True):
            d.presses = answer["presses"]
        figures["client_presign_s"] = round(max(a["seconds"] for a in armed), 3)
        figures["quiet_before_burst"] = quiet
        if spy is not None and profile_to is not None:
            seconds = time.monotonic() - start + LEAD_S
            figures["profile"] = _finish_profile(spy, profile_to, seconds, "bodies")
        progress(
            f"burst: {figures['acked']:,}/{figures['presses']:,} acknowledged, ack p99 "
            f"{figures['ack_ms']['p99']} ms, {figures['per_s']:,}/s"
        )
        closes = at_once(districts, close_vote)
        results = each(shards, [{"cmd": "results", "vote": d.vote.id, "timeout": RESULT_TIMEOUT_S}
                                for d in districts])  # fmt: skip
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while time.monotonic() < deadline and any(
            s.result_at(d.vote.id) is None for d in districts for s in d.screens
        ):
            time.sleep(0.02)
        for d, t_close, answer in zip(districts, closes, results, strict=True):
            arrivals = [*answer["result_at"].values(), *(s.result_at(d.vote.id) for s in d.screens)]
            d.to_all_ms = [(at - t_close) * 1000 for at in arrivals if at is not None]
            d.result_missing = sum(1 for at in arrivals if at is None)
        figures["close_spread_ms"] = round((max(closes) - min(closes)) * 1000, 1)
        at_once(districts, announce)  # not measured; its broadcast is looked for as a leak
        time.sleep(SETTLE_S)
        for d, answer in zip(
            districts, each(shards, [{"cmd": "heard"}] * len(shards)), strict=True
        ):
            d.heard = {event: answer[event] for event in ("vote_opened", "result")}
    finally:
        for d in districts:
            for screen in d.screens:
                screen.close()
    each(shards, [{"cmd": "disconnect"}] * len(shards))
    figures["timings"] = timings
    return figures


def body_report(
    district: District, foreign: set[int], checks: dict[str, Any], verified: bool
) -> dict[str, Any]:
    """One body's entry of ``per_body``."""
    vote, hall = district.vote, district.hall.hall
    acked = [p for p in district.presses if p["acked_at"] is not None]
    acks = [(p["acked_at"] - p["press_at"]) * 1000 for p in acked]
    ballots = [district.plan[p["seat"]][1] for p in acked]
    result = district.closed.get("result")
    leaked = leaks(district.heard, [list(s.arrivals) for s in district.screens], foreign)
    return {
        "name": district.name,
        "body_id": district.hall.body_id,
        "vote": vote.id,
        "members": hall.members,
        "present": district.present,
        "ready": district.ready,
        "ballots": len(district.presses),
        "acked": len(ballots),
        "lost": checks["lost"],
        "duplicated": checks["duplicated"],
        "ack_ms": percentiles(acks),
        "result_to_all_ms": {
            **percentiles(district.to_all_ms),
            "screens": len(district.to_all_ms) + district.result_missing,
            "missing": district.result_missing,
        },
        "open_answered_ms": district.open_answered_ms,
        "result_match": result == tally(vote.spec, hall.members, district.present, ballots),
        "bundle_verified": verified,
        "leaks": sum(leaked.values()),
        "leaks_by_event": dict(leaked),
        "receipts_not_matching_log": checks["receipts_not_matching_log"],
        "errors": dict(Counter(p["error"] for p in district.presses if p["error"])),
        "setup_failures": district.setup_failures,
    }


def targets(per_body: list[dict[str, Any]], overall: dict[str, Any]) -> dict[str, Any]:
    """Each target, for every body and for all presses together; ``bodies_missing`` names
    the bodies that miss it."""
    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        "lost_0": lambda r: r["lost"] == 0,
        "duplicated_0": lambda r: r["duplicated"] == 0,
        "ack_p99_le_1000ms": lambda r: r["ack_ms"]["p99"] <= TARGETS["ack_p99_ms"],
        "result_p99_le_500ms": lambda r: (
            r["result_to_all_ms"]["p99"] <= TARGETS["result_p99_ms"]
            and r["result_to_all_ms"]["missing"] == 0
        ),
        "every_press_acked": lambda r: r["acked"] == r["ballots"] == r["members"],
        "result_match": lambda r: bool(r["result_match"]),
        "bundle_verified": lambda r: bool(r["bundle_verified"]),
        "leaks_0": lambda r: r["leaks"] == 0,
    }
    out: dict[str, Any] = {}
    for name, check in checks.items():
        missing = [r["name"] for r in per_body if not check(r)]
        out[name] = {"every_body": not missing, "all_bodies": check(overall),
                     "bodies_missing": missing}  # fmt: skip
    out["met"] = all(t["every_body"] and t["all_bodies"] for t in out.values())
    return out


def run_bodies(
    *, bodies: int, members: int, kind: str, secret: bool, burst_s: float,
    database_url: str | None, seed: int, sign_in: str, workdir: Path, quiet_wait_s: float,
    profile: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The whole run in ``workdir`` (emptied first); returns bodies.json's object."""
    started = time.monotonic()
    shutil.rmtree(workdir, ignore_errors=True)
    instance = workdir / "instance"
    instance.mkdir(parents=True, mode=0o700)
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    progress(f"machine: {machine()}")
    progress(f"preparing {bodies} bodies of {members:,} members ({kind}, sign-in {sign_in})")
    t = time.monotonic()
    halls = prepare(
        url, instance, secret, load=partial(load_districts, bodies=bodies, members=members,
                                            kind=kind),
        operator_sign_in=sign_in == "staff",
    )  # fmt: skip
    prepare_s = round(time.monotonic() - t, 1)
    rng = random.Random(seed)
    districts: list[District] = []
    try:
        for bh in halls:
            spec = bh.votes[0].planned.spec
            plan = {s: (rng.uniform(0, burst_s), random_ballot(spec, rng)) for s in bh.hall.codes}
            districts.append(District(bh, Shard(f"kiosks-b{bh.body_id}"), plan))
        with served(url, instance, workdir / "server.log") as base:
            figures = vote_together(base, districts, burst_s=burst_s, sign_in=sign_in,
                                    quiet_wait_s=quiet_wait_s,
                                    profile_to=workdir / "bodies.pyspy" if profile else None)  # fmt: skip
    finally:
        for d in districts:
            d.shard.quit()
    with (workdir / "presses.jsonl").open("w") as f:  # for a post-mortem
        f.writelines(json.dumps({"body": d.hall.body_id, **p}) + "\n"
                     for d in districts for p in d.presses)  # fmt: skip
    progress("exporting each body's audit bundle and checking it against its receipts")
    votes = {d.vote.id for d in districts}
    per_body, all_checks = [], Counter[str]()
    for d in districts:
        bundle, _exported, report = export_verified(url, instance, workdir / "bundles", d.hall,
                                                    progress)  # fmt: skip
        cast = int(d.closed["result"]["cast"]) if d.closed else 0
        checks = log_checks(bundle, d.vote.id, d.presses, cast)
        all_checks.update({k: v for k, v in checks.items() if isinstance(v, int)})
        per_body.append(body_report(d, votes - {d.vote.id}, checks, report.ok))
    shutil.rmtree(instance, ignore_errors=True)  # the server's and the votes' private keys
    to_all = [ms for d in districts for ms in d.to_all_ms]
    ack_samples = figures.pop("ack_samples_ms")
    timings = {"prepare_s": prepare_s, **figures.pop("timings")}
    overall: dict[str, Any] = {
        "members": bodies * members,
        "burst_s": burst_s,
        "ballots": figures["presses"],
        "acked": figures["acked"],
        "lost": all_checks["lost"],
        "duplicated": all_checks["duplicated"],
        "ack_ms": percentiles(ack_samples),
        "result_to_all_ms": {
            **percentiles(to_all),
            "screens": len(to_all) + sum(d.result_missing for d in districts),
            "missing": sum(d.result_missing for d in districts),
        },
        "ballots_per_s": figures["per_s"],
        "receipts_not_matching_log": all_checks["receipts_not_matching_log"],
        "result_match": all(r["result_match"] for r in per_body),
        "bundle_verified": all(r["bundle_verified"] for r in per_body),
        "leaks": sum(r["leaks"] for r in per_body),
        "burst": figures,
    }
    return {
        "machine": machine(),
        "bodies": bodies,
        "members_per_body": members,
        "kind": kind,
        "secret": secret,
        "db": url.split(":", 1)[0],
        "sign_in": sign_in,
        "per_body": per_body,
        "overall": overall,
        "targets": targets(per_body, overall),
        "timings": {**timings, "total_s": round(time.monotonic() - started, 1)},
        "notes": NOTES,
    }


NOTES = [
    "One server (voting-server run: gunicorn, one gevent worker) serves every body; each body "
    "has its own accounts, roster (seats 1..members), devices, PINs and audit log.",
    "The kiosks run in one bench/kiosks.py process per body (a shard keys its kiosks by seat, "
    "and every body numbers its seats from 1), on the same 2-core machine as the server.",
    "The consoles' open_vote and close_vote requests leave together, one thread per body; "
    "overall.burst.close_spread_ms is how far apart the close requests left.",
    "result_to_all_ms of a body: from its own close_vote request to the `result` event on its "
    "kiosks, its display and its console; overall: every body's samples together.",
    "leaks: events naming another body's vote that reached a body's screens: its kiosks' "
    "`result` and `vote_opened` (one per kiosk), every event of its console and display; "
    "counted after every vote was announced.",
    "lost / duplicated / receipts_not_matching_log: bench/run.py's log_checks on each body's "
    "own bundle (voting-audit export --body), verified alone with audit.bundle.verify_bundle.",
    "sign-in staff (the default): every member marked present by the body's presidium and each "
    "tablet's PIN hashed at argon2's lowest cost (a harness's, never a hall's) — preparing "
    "3,000 PINs at the production cost and signing in 3,000 kiosks takes 10 minutes and "
    "measures the sign-in, not the vote; sign-in apart: each kiosk signs in itself.",
]


@click.command()
@click.option("--bodies", default=10, show_default=True, type=click.IntRange(1, 50))
@click.option("--members", default=300, show_default=True, type=click.IntRange(1, 3000),
              help="Seats of each body.")  # fmt: skip
@click.option("--kind", type=click.Choice(KINDS), default="motion", show_default=True,
              help="Each body's vote: the city demo's motion, selection or evaluation.")  # fmt: skip
@click.option("--secret", is_flag=True, help="Make the votes secret (default: named).")
@click.option("--burst", default=1.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds within which every kiosk of every body presses.")  # fmt: skip
@click.option("--database-url", help="An EMPTY database (default: a fresh SQLite file).")
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--sign-in", "sign_in", type=click.Choice(["staff", "apart"]), default="staff",
              show_default=True,
              help="staff: members marked present by staff, PINs at argon2's lowest cost, each "
              "tablet confirms its PIN; apart: each kiosk signs in with its PIN on a connection "
              "of its own first (the PINs still at the lowest cost).")  # fmt: skip
@click.option("--quiet-wait", default=QUIET_WAIT_S, show_default=True,
              type=click.FloatRange(0), help="Seconds at most to wait, before the burst, for "
              "other processes to leave the CPU alone.")  # fmt: skip
@click.option("--profile", is_flag=True,
              help="Sample the server worker with py-spy during the burst: "
              "bench/results/profile-bodies.txt and overall.burst.profile.")  # fmt: skip
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=TMP / "bodies", show_default=True,
              help="Emptied first; keeps the server log, the bundles and every press.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "bodies.json", show_default=True)  # fmt: skip
def main(
    bodies: int, members: int, kind: str, secret: bool, burst: float, database_url: str | None,
    seed: int, sign_in: str, quiet_wait: float, profile: bool, workdir: Path, out: Path,
) -> None:  # fmt: skip
    """Many bodies voting in the same second on one server; writes bodies.json."""
    if profile and pyspy.py_spy() is None:
        raise click.ClickException("--profile needs py-spy: .venv/bin/pip install py-spy")
    report = run_bodies(
        bodies=bodies, members=members, kind=kind, secret=secret, burst_s=burst,
        database_url=database_url, seed=seed, sign_in=sign_in, workdir=workdir,
        quiet_wait_s=quiet_wait, profile=profile,
    )  # fmt: skip
    text = json.dumps(report, ensure_ascii=False, indent=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    progress(f"wrote {out} in {report['timings']['total_s']} s; targets met: "
             f"{report['targets']['met']}")  # fmt: skip
    click.echo(text)


if __name__ == "__main__":
    main()
