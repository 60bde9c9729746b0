"""``voting-server simulate``: a whole sitting over the real network path (CONTRACTS.md §3).

It prepares a database (the demo agenda with ``--members`` seats, one PIN
per member, one enrollment code per seat, a presidium account), starts the
production server (``voting-server run``: gunicorn, gevent) on a free local
port, and drives it from outside like a hall would: every seat enrolls its
own P-256 key with the Python kiosk client, connects, proves its key, signs
in with its PIN; the presidium logs in through the login form and opens,
closes and announces each vote over its own Socket.IO connection.

Each kiosk chooses at random (``--seed``): some press twice (the key policy
decides which press counts), a few never press (未按). Presses are spread
over ``--burst`` seconds. The expected result of each vote is the tally of
the choices the kiosks made, computed here on the client side; it must
equal what the server published. Finally the audit bundle is exported and
verified offline. Progress goes to stderr; stdout carries only the JSON.

``--server-url`` drives a server that is already running — e.g. the
scale-out stack (``voting-server stack``) — instead of starting one; the
database it serves (``--database-url``) must still be empty.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import requests
import socketio

from crypto import KioskKey
from kiosk_client.client import KioskClient
from rules import VoteSpec, tally
from rules.kinds import KeyPolicy, kind_of
from voting_server.cli.processes import free_port as free_port  # re-exported for callers
from voting_server.cli.processes import served
from voting_server.cli.processes import serving as serving  # re-exported for callers

REQUEST_TIMEOUT_S = 30.0
CHANGE_OF_MIND = 0.1  # share of kiosks that press a second time
NO_PRESS = 0.03  # share of kiosks that never press (未按)
SETUP_THREADS = 16  # kiosks enrolling and connecting at once
RESULT_WAIT_S = 60.0  # from close to a trustee-mode vote's result (the trustees decrypt)


def _progress(message: str) -> None:
    click.echo(f"[simulate] {message}", err=True)


# --- preparing the database ---------------------------------------------------------------


@dataclass(frozen=True)
class PlannedVote:
    id: int
    title: str
    spec: VoteSpec
    key_policy: KeyPolicy
    secret: bool


@dataclass
class Hall:
    """What the secretariat hands out before the sitting."""

    members: int
    presidium: tuple[str, str]  # username, password
    codes: dict[int, str]  # seat → enrollment code
    pins: dict[int, str]  # seat → PIN (none when issued without)
    votes: list[PlannedVote]
    trustees: list[tuple[str, str]] = field(default_factory=list)  # scrutineers' logins
    sittings: list[int] = field(default_factory=list)  # the sittings whose votes these are


def prepare(
    database_url: str,
    instance: Path,
    members: int,
    secret: bool,
    *,
    pins: bool = True,
    operator_sign_in: bool = False,
    server_key: Path | None = None,
    trustees: int = 0,
) -> Hall:
    """Migrate an empty database and load the demo sitting, sized to ``members``.

    What it logs (the staff accounts, the scrutineers' designation, sign-ins) is
    signed with ``server_key`` (default: ``instance``'s, which the server started
    on ``instance`` loads): the key of the server that writes the rest of the log.

    ``pins=False`` issues no PINs (an argon2 hash each: 3,000 take minutes);
    ``trustees`` > 0 designates that many scrutineers (with known passwords, for the
    trustee clients) instead of the usual two, and makes every secret vote a
    trustee-mode one (docs/trustee-votes.md). ``operator_sign_in`` has the presidium
    mark every member present (签到 by
    staff, logged like the hall's operator does it). Staff sign-in marks attendance
    only: each kiosk still enters its deputy's PIN before it may vote, so with
    ``operator_sign_in`` and no ``pins`` every member gets a PIN hashed at argon2's
    lowest cost (``quick_pins``: fit for a harness, never for a hall).

    Refuses a database that already holds an audit log: the simulation's
    expectations start from an empty hall.
    """
    import secrets as secrets_

    from sqlalchemy import func, select

    from crypto import ServerKey
    from voting_server.db import make_engine, make_session_factory, upgrade
    from voting_server.demo import load_demo
    from voting_server.models import AuditEntry, Body, StaffRole
    from voting_server.services import devices, results, staff
    from voting_server.services.audit_log import AuditLog

    os.environ["VOTING_INSTANCE_DIR"] = str(instance)
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            if session.scalar(select(func.count()).select_from(AuditEntry)):
                raise click.ClickException(
                    "数据库非空 the database already holds an audit log: simulate needs an empty one"
                )
            if session.scalar(select(func.count()).select_from(Body)):
                raise click.ClickException(
                    "数据库非空 the database already holds a body: simulate needs an empty one"
                )
            body = load_demo(session, members)
            password = secrets_.token_urlsafe(18)
            # The server's own key (it loads the same file when it starts).
            log = AuditLog(ServerKey.load_or_create(server_key or instance / "server_ed25519.pem"))
            user = staff.create_user(
                session, "simulate-presidium", "模拟主持人", StaffRole.PRESIDIUM, password, log=log
            )
            # Scrutineers, designated before voting starts, as in a real sitting: two, or
            # the trustees (each logs in with its password, as its own device).
            logins = [(f"simulate-jianpiao{i}", secrets_.token_urlsafe(18))
                      for i in range(1, max(2, trustees) + 1)]  # fmt: skip
            pair = [
                staff.create_user(session, name, f"模拟监票人{i}", StaffRole.SCRUTINEER,
                                  password_, log=log).id
                for i, (name, password_) in enumerate(logins, start=1)
            ]  # fmt: skip
            for sitting in body.sittings:
                results.designate_scrutineers(
                    session, log, sitting.id, user, pair, results.DEFAULT_BASIS[body.kind]
                )
            codes = devices.issue_enrollment_codes(session, body.id, user.id)
            issued = devices.issue_pins(session, body.id) if pins else {}
            if operator_sign_in and not pins:
                issued = quick_pins(session, body.id)
            if operator_sign_in:
                sign_in_by_staff(session, log, body.id, user.id)
            planned = []
            for sitting in body.sittings:
                for item in sitting.agenda_items:
                    for vote in item.votes:
                        vote.secret = secret
                        if trustees:
                            trustee_mode(vote)
                        planned.append(
                            PlannedVote(vote.id, vote.title, vote.spec(), vote.key_policy, secret)
                        )
            return Hall(members, (user.username, password), codes, issued, planned,
                        logins[:trustees], [sitting.id for sitting in body.sittings])  # fmt: skip
    finally:
        engine.dispose()


def trustee_mode(vote: Any) -> None:
    """Make a secret vote a trustee-mode one (docs/trustee-votes.md): its configuration
    gains ``"trustees": true``, as the secretariat's form sets it."""
    from voting_server.models import Vote

    if not hasattr(Vote, "trustees"):
        raise click.ClickException("this server has no trustee-mode votes (votes.trustees)")
    vote.trustees = True


def sign_in_by_staff(session: Any, log: Any, body_id: int, by: int) -> None:
    """Every active member of body ``body_id`` marked present at its current sitting by
    staff account ``by`` (签到 by the hall's operator, logged in ``log``)."""
    from sqlalchemy import select

    from voting_server.models import AttendanceMethod, Member
    from voting_server.services import attendance

    sitting = attendance.current_sitting(session, body_id)
    assert sitting is not None  # the harnesses' bodies have one
    roster = session.scalars(select(Member).where(Member.body_id == body_id, Member.active)).all()
    attendance.sign_in_many(session, log, sitting, list(roster), AttendanceMethod.OPERATOR, by=by)


def quick_pins(session: Any, body_id: int) -> dict[int, str]:
    """A PIN for every active member, hashed at argon2id's lowest cost (8 KiB, one pass):
    a harness of 3,000 kiosks signs in within seconds. Never for a real hall
    (``devices.issue_pins``); the server verifies either kind (a hash names its cost)."""
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from voting_server.models import Member
    from voting_server.services.passwords import new_pin

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    pins: dict[int, str] = {}
    for member in session.scalars(
        select(Member).where(Member.body_id == body_id, Member.active).order_by(Member.seat)
    ):
        pins[member.seat] = pin = new_pin()
        member.pin_hash = cheap.hash(pin)
    session.flush()
    return pins


# --- the presidium's console ------------------------------------------------------------------


def staff_login(base: str, username: str, password: str) -> requests.Session:
    """A browser's session of a staff account, logged in through the login form."""
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=REQUEST_TIMEOUT_S)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise click.ClickException("the login page carries no CSRF token")
    answer = http.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT_S,
    )
    if answer.status_code != 302:
        raise click.ClickException(f"login of {username} failed: HTTP {answer.status_code}")
    return http


class Console:
    """The presidium's console over a real Socket.IO connection, logged in by the form."""

    def __init__(self, base: str, username: str, password: str, body: int | None = None) -> None:
        """``body``: the body whose screen this is (docs/bodies.md), for an account serving
        several; None: the first body the account serves."""
        self.base = base
        self.http = staff_login(base, username, password)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        self.sio = socketio.Client(reconnection=True)
        self.sio.on("*", self._record)
        self.sio.connect(
            base,
            headers={"Cookie": cookie},
            transports=["websocket"],
            auth={"body": body} if body is not None else None,
        )

    def _record(self, event: str, data: Any = None) -> None:
        with self._changed:
            self.events.append((event, data))
            self._changed.notify_all()

    def wait_for(self, event: str, predicate: Callable[[Any], bool], timeout: float) -> Any:
        """The first ``event`` received (since connecting) whose data satisfies
        ``predicate``, waiting at most ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for name, data in self.events:
                    if name == event and predicate(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise click.ClickException(f"no matching {event} event within {timeout} s")
                self._changed.wait(left)

    def request(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = self.sio.call(event, data, timeout=REQUEST_TIMEOUT_S)
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise click.ClickException(f"{event} refused: {answer}")
        return answer

    def close(self) -> None:
        self.sio.shutdown()  # also stops a reconnection under way (disconnect would not)


# --- the kiosks -----------------------------------------------------------------------------


@dataclass
class Seat:
    seat: int
    client: KioskClient
    rng: random.Random
    pressed: list[Any] = field(default_factory=list)  # ballots acknowledged, in order
    receipts: list[dict[str, Any]] = field(default_factory=list)  # every receipt, kept


def connect_kiosks(
    base: str, hall: Hall, seed: int, kiosk_bases: list[str] | None = None
) -> list[Seat]:
    """Enroll, connect and sign in every seat (in parallel), each with its own key;
    seat n talks to ``kiosk_bases[n % len]`` when given (several server processes)."""
    bases = kiosk_bases or [base]

    def one(seat: int) -> Seat:
        client = KioskClient(bases[seat % len(bases)], KioskKey.generate())
        client.enroll(hall.codes[seat])
        client.connect(timeout=REQUEST_TIMEOUT_S)
        client.sign_in(hall.pins[seat], timeout=REQUEST_TIMEOUT_S)
        return Seat(seat, client, random.Random(f"{seed}:{seat}"))

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        seats = list(pool.map(one, sorted(hall.codes)))
    return seats


def random_ballot(spec: VoteSpec, rng: random.Random) -> Any:
    """A choice a deputy could make on the kiosk: subjects may be left unmarked."""
    return kind_of(spec.kind).random_ballot(spec, rng)


def press_plan(spec: VoteSpec, rng: random.Random, burst_s: float) -> list[tuple[float, Any]]:
    """When (seconds into the burst) and what this kiosk presses: 0, 1 or 2 presses."""
    if rng.random() < NO_PRESS:
        return []
    first = (rng.uniform(0, burst_s), random_ballot(spec, rng))
    if rng.random() < CHANGE_OF_MIND:
        return [first, (rng.uniform(first[0], burst_s), random_ballot(spec, rng))]
    return [first]


def counted_ballots(seats: list[Seat], policy: KeyPolicy) -> list[Any]:
    """One ballot per kiosk that pressed: its last or its first acknowledged press."""
    return [policy.counted(s.pressed) for s in seats if s.pressed]


Plan = Callable[[VoteSpec, random.Random, float], list[tuple[float, Any]]]


def run_burst(
    vote: PlannedVote, seats: list[Seat], burst_s: float, plan: Plan = press_plan
) -> None:
    """Every kiosk presses its plan within the burst; returns once all are acknowledged.
    ``plan``: what each kiosk presses and when (default: ``press_plan``, at random)."""
    plans = {s.seat: plan(vote.spec, s.rng, burst_s) for s in seats}
    start = time.monotonic() + 0.2
    errors: list[BaseException] = []

    def kiosk(seat: Seat) -> None:
        try:
            for at, ballot in plans[seat.seat]:
                time.sleep(max(0.0, start + at - time.monotonic()))
                receipt = seat.client.vote(vote.id, ballot)
                seat.pressed.append(ballot)
                seat.receipts.append(receipt)
        except BaseException as exc:  # reported below, with the seat
            errors.append(RuntimeError(f"seat {seat.seat}: {exc!r}"))

    threads = [threading.Thread(target=kiosk, args=(s,)) for s in seats]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise click.ClickException(f"{len(errors)} kiosk(s) failed: {errors[0]}")


# --- the sitting ------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1], 2)}


def run_sitting(
    base: str,
    hall: Hall,
    seed: int,
    burst_s: float,
    progress: Callable[[str], None],
    kiosk_bases: list[str] | None = None,
    result_wait_s: float = 0.0,
) -> tuple[list[dict[str, Any]], list[float], list[dict[str, Any]]]:
    """The agenda's votes, driven by the presidium's console at ``base``; the kiosks
    talk to ``base`` too, or are spread over ``kiosk_bases``. ``result_wait_s`` > 0:
    a vote closed without a result (trustee mode: counted once k trustees have
    decrypted) is waited for that long, and ``close_to_result_ms`` is reported."""
    progress(f"enrolling and signing in {hall.members} kiosks")
    seats = connect_kiosks(base, hall, seed, kiosk_bases)
    console = Console(base, *hall.presidium)
    outcomes = []
    try:
        present = int(console.request("state", {})["state"]["attendance"]["present"])
        for vote in hall.votes:
            for s in seats:
                s.pressed.clear()
            marks = [s.client.events.mark() for s in seats]
            console.request("open_vote", {"vote": vote.id})
            for s, mark in zip(seats, marks, strict=True):  # every kiosk saw it open
                s.client.events.wait_for(
                    "vote_opened", lambda d, v=vote.id: d.get("id") == v, REQUEST_TIMEOUT_S, mark
                )
            progress(f"vote {vote.id} open: {vote.title}")
            run_burst(vote, seats, burst_s)
            closed_at = time.monotonic()
            closed = console.request("close_vote", {"vote": vote.id})["vote"]
            result = closed["result"]
            extra: dict[str, Any] = {}
            if result is None and result_wait_s > 0:
                progress(f"vote {vote.id} closed: waiting for the trustees' decryption")
                result = console.wait_for(
                    "result",
                    lambda d, v=vote.id: d.get("vote") == v and d.get("result") is not None,
                    result_wait_s,
                )["result"]
                extra["close_to_result_ms"] = round((time.monotonic() - closed_at) * 1000, 1)
            console.request("announce", {"vote": vote.id})
            ballots = counted_ballots(seats, vote.key_policy)
            expected = tally(vote.spec, hall.members, present, ballots)
            outcomes.append({
                "vote": vote.id, "kind": vote.spec.kind, "secret": vote.secret,
                "result": result, "expected": expected, "match": result == expected, **extra,
            })  # fmt: skip
            progress(f"vote {vote.id} closed: {len(ballots)} ballots, match={result == expected}")
    finally:
        console.close()
        for s in seats:
            s.client.close()
    receipts = [{"seat": s.seat, **r} for s in seats for r in s.receipts]
    return outcomes, [ms for s in seats for ms in s.client.ack_ms], receipts


def simulate(
    members: int,
    seed: int,
    secret: bool,
    database_url: str | None,
    out: Path | None,
    burst_s: float,
    server_url: str | None = None,
    trustees: int = 0,
) -> dict[str, Any]:
    """``server_url``: drive that running server (or stack) instead of starting one;
    ``database_url`` must then be its database, still empty. ``trustees`` N > 0 (with
    ``secret``): every vote in trustee mode, N trustee clients making the sitting's key
    and decrypting each vote as it closes; each vote then reports the verifier's
    ``content``, and matches only when it is ``proven``."""
    from audit.bundle import verify_bundle
    from voting_server.services.export import export_bundle

    workdir = Path(tempfile.mkdtemp(prefix="voting-simulate-"))
    instance = workdir / "instance"
    instance.mkdir(mode=0o700)
    url = database_url or f"sqlite:///{workdir / 'simulate.sqlite3'}"
    out = out or workdir / "bundle"
    _progress(f"working in {workdir}; server log: {workdir / 'server.log'}")
    server_key = None
    if server_url is not None:
        if database_url is None:
            raise click.ClickException("--server-url needs --database-url: that server's database")
        # What this prepares is logged under that server's key, from its instance dir.
        from voting_server.db import instance_dir

        server_key = instance_dir() / "server_ed25519.pem"
        if not server_key.is_file():
            raise click.ClickException(
                f"--server-url: 服务器密钥不存在 no server key at {server_key}: set "
                "VOTING_INSTANCE_DIR to the running server's instance dir"
            )
    hall = prepare(url, instance, members, secret, server_key=server_key, trustees=trustees)
    ceremony: dict[str, Any] | None = None
    with (
        nullcontext(server_url.rstrip("/"))
        if server_url is not None
        else served(url, instance, workdir / "server.log")
    ) as base:
        _progress(f"server on {base}")
        if trustees:
            outcomes, ack_ms, receipts, ceremony = run_trustee_sitting(base, hall, seed, burst_s)
        else:
            outcomes, ack_ms, receipts = run_sitting(base, hall, seed, burst_s, _progress)
    receipts_file = workdir / "receipts.jsonl"  # what the kiosks kept: checkable against the bundle
    receipts_file.write_text("".join(json.dumps(r) + "\n" for r in receipts))
    _progress(f"exporting the audit bundle to {out}")
    # A running server's key is in its own instance dir: the bundle's key then comes
    # from the log alone (the offline verifier needs nothing else).
    key_file = None if server_url is not None else instance / "server_ed25519.pem"
    exported = export_bundle(url, out, server_key_file=key_file)
    report = verify_bundle(out)
    _progress(f"verify: {'ok' if report.ok else report.errors}")
    if trustees:  # what `voting-audit verify --json` says of each vote's content
        from voting_server.cli.simulate_trustees import contents

        content = contents(report.to_json())
        for outcome in outcomes:
            outcome["content"] = content.get(outcome["vote"])
            outcome["match"] = outcome["match"] and outcome["content"] == "proven"
    if database_url is None or server_url is not None:  # our own instance: not needed any more
        shutil.rmtree(instance, ignore_errors=True)
    return {
        "members": members,
        "seed": seed,
        "secret": secret,
        "votes": outcomes,
        "ack_ms": percentiles(ack_ms),
        "ballots": len(ack_ms),
        "bundle": str(out),
        "receipts": str(receipts_file),
        "head": exported.head,
        "verified": report.ok,
        "errors": report.errors,
        **({"trustees": ceremony} if ceremony is not None else {}),
    }


def run_trustee_sitting(
    base: str, hall: Hall, seed: int, burst_s: float
) -> tuple[list[dict[str, Any]], list[float], list[dict[str, Any]], dict[str, Any]]:
    """``run_sitting`` in trustee mode: first the key ceremony of every sitting (the
    presidium starts it, the trustee clients run it), then the votes, each decrypted by
    the trustees as it closes. Returns ``run_sitting``'s and the trustees' summary."""
    from voting_server.cli.simulate_trustees import decrypting, key_ceremonies

    _progress(f"key ceremony: {len(hall.trustees)} trustees")
    trustees = key_ceremonies(base, hall.presidium, hall.trustees, hall.sittings, _progress)
    try:
        with decrypting(trustees, hall.sittings):
            outcomes, ack_ms, receipts = run_sitting(
                base, hall, seed, burst_s, _progress, result_wait_s=RESULT_WAIT_S
            )
    finally:
        trustees.close()
    return outcomes, ack_ms, receipts, trustees.summary()


@click.command("simulate")
@click.option(
    "--members", type=click.IntRange(1, 5000), help="Seats of the demo committee (default 61)."
)
@click.option("--seed", type=int, help="Seed of the kiosks' random choices (default: random).")
@click.option("--secret", is_flag=True, help="Make every vote secret (default: named).")
@click.option("--database-url", help="An EMPTY database to use (default: a fresh SQLite file).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to export the audit bundle (default: in the work directory).",
)
@click.option(
    "--burst",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds within which every kiosk presses.",
)
@click.option(
    "--server-url",
    help="Drive this running server or stack (e.g. `voting-server stack`'s URL) instead of "
    "starting one; needs --database-url of its database, which must be empty, and "
    "VOTING_INSTANCE_DIR of its instance dir (the server's key signs what simulate logs).",
)
@click.option(
    "--trustees",
    type=click.IntRange(1, 9),
    help="With --secret: every vote in trustee mode (docs/trustee-votes.md), N scrutineers "
    "played by trustee clients making the joint key (any majority decrypts); the verifier "
    "must report each vote's content as proven.",
)
@click.option(
    "--congress",
    is_flag=True,
    help="The demo county's congress session and its standing committee's sitting at the "
    "same time (CONTRACTS.md §6); takes --secret, --seed, --out and --burst only.",
)
@click.option(
    "--year",
    "year",
    is_flag=True,
    help="The demo county's year of supervision: proposals, the shortlist, the congress's "
    "selection vote, progress reports, the special-inquiry evaluations, a rectification "
    "and its re-evaluation, the year-end 验单 (CONTRACTS.md §6); takes --seed, --out "
    "and --burst only.",
)
def simulate_command(
    members: int | None,
    seed: int | None,
    secret: bool,
    database_url: str | None,
    out: Path | None,
    burst: float,
    server_url: str | None,
    trustees: int | None,
    congress: bool,
    year: bool,
) -> None:
    """Run the demo sitting end to end with N simulated kiosks over a real socket.

    Exit 0 only if every published result equals the tally of the kiosks'
    own choices and the exported audit bundle verifies.
    """
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    if trustees is not None:
        if not secret:
            raise click.UsageError("--trustees needs --secret: trustee mode is for secret votes")
        for flag, given in (("--congress", congress), ("--year", year),
                            ("--server-url", server_url is not None)):  # fmt: skip
            if given:
                raise click.UsageError(f"--trustees does not take {flag}")
    if year:
        from voting_server.cli.simulate_year import simulate_year
        from voting_server.cli.simulate_year import succeeded as year_succeeded

        for flag, given in (
            ("--members", members is not None), ("--database-url", database_url is not None),
            ("--server-url", server_url is not None), ("--secret", secret),
            ("--congress", congress),
        ):  # fmt: skip
            if given:  # the county's rosters and its year are fixed; its database is its own
                raise click.UsageError(f"--year does not take {flag}")
        year_report = simulate_year(seed, out, burst)
        click.echo(json.dumps(year_report, ensure_ascii=False))
        if not year_succeeded(year_report):
            sys.exit(1)
        return
    if congress:
        from voting_server.cli.simulate_congress import simulate_congress, succeeded

        for flag, value in (
            ("--members", members), ("--database-url", database_url), ("--server-url", server_url)
        ):  # fmt: skip
            if value is not None:  # the county's rosters are fixed; its database is its own
                raise click.UsageError(f"--congress does not take {flag}")
        congress_report = simulate_congress(seed, secret, out, burst)
        click.echo(json.dumps(congress_report, ensure_ascii=False))
        if not succeeded(congress_report):
            sys.exit(1)
        return
    members = 61 if members is None else members
    report = simulate(members, seed, secret, database_url, out, burst, server_url, trustees or 0)
    click.echo(json.dumps(report, ensure_ascii=False))
    if not (report["verified"] and all(v["match"] for v in report["votes"])):
        sys.exit(1)
