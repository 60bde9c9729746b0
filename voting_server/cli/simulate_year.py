"""``voting-server simulate --year``: a county's year of supervision (督办) over the real
network path (CONTRACTS.md §6, issue 18).

The demo county's congress and standing committee (``demo/year.py``) are loaded into an
empty database and the production server is started once, as ``simulate --congress``
does (whose preparation, consoles, kiosks, bursts and tallies are reused). Then the year
runs, stage by stage, everything over the server's socket:

1. 征集: the secretariat types the deputies' proposals into the staff form and imports
   the public's and departments' proposals and the 12345 complaint statistics (CSV
   files); the ranking "两高一低" proposes departments for the special reports;
2. 初审: the presidium keeps a shortlist; the shortlist becomes the congress's selection
   vote (票决) — generated, never retyped;
3. the congress's session: the presidium's own vote to submit the list, then the
   selection vote; announcing it moves the projects to selected / not selected;
4. the selected projects get their department and the mid-year progress reports;
5. the standing committee's mid-year sitting: special-inquiry evaluation of the proposed
   departments, where more than half of all members press 不满意 for one department
   (``demo.year.UNSATISFACTORY``, deliberately) and the others are found satisfactory;
   announcing it opens that department's rectification (整改);
6. 主任会议 sets the deadline and the issues, the department's report is filed, and the
   re-evaluation (回头看) is scheduled in a later sitting, which the secretariat creates;
   there it is found satisfactory and the rectification closes;
7. the year-end progress reports, and the year-end evaluation of the selected projects
   (验单) in the congress's next session, generated from the list; all are accepted.

Staff actions go through the staff pages as a browser would (logged in through the login
form, the session's CSRF token in every form) wherever a page exists; see ``Office`` for
the one place that says which action uses which page.

Every sitting's kiosks sign in with their PINs; each vote's published result is compared
with the tally of the kiosks' own presses (and its breakdown by delegation, for a named
congress vote). At the end each body's bundle is exported and verified alone, and every
tracked item's final state (read back from the database) is compared with the state the
year should have left it in. The instance directory is kept for ``voting-server publish``.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import click
import requests
import socketio

from rules import VoteSpec, tally
from rules.congress import Electorate
from rules.kinds.vocabulary import EvaluationMark
from voting_server.cli.processes import served
from voting_server.cli.simulate import (
    REQUEST_TIMEOUT_S,
    Console,
    PlannedVote,
    Seat,
    connect_kiosks,
    percentiles,
    staff_login,
)
from voting_server.cli.simulate_congress import (
    BodyHall,
    CongressVote,
    drive_vote,
    export_verified,
    fill_breakdowns,
    prepare,
)
from voting_server.demo import year as demo

# Of the satisfied departments' and projects' marks, the share of each (the rest: 基本满意);
# 不满意 stays far below half of all members, so that each is found satisfactory.
SATISFIED_SHARE = 0.6
UNSATISFIED_SHARE = 0.08
REDRAWS = 50  # planned presses that would leave a tie are drawn again, at most this often


def _progress(message: str) -> None:
    click.echo(f"[simulate --year] {message}", err=True)


class Missing(click.ClickException):
    """A step of the year that the server cannot take yet (a page or service not there):
    the run stops there and the report names it; no item state is ever made up."""

    def __init__(self, step: str, what: str) -> None:
        super().__init__(f"{step}: {what}")
        self.step, self.what = step, what


@contextmanager
def reading(url: str) -> Iterator[Any]:
    """A read-only look at the year's database (what a vote is, which items there are):
    never a write — every change goes through the server."""
    from voting_server.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


# --- the staff pages ------------------------------------------------------------------------


class Staff:
    """A staff account's browser session on the staff pages of one body (``?body=``),
    logged in through the login form; every form carries the session's CSRF token."""

    def __init__(
        self, base: str, account: tuple[str, str], body_id: int, http: requests.Session | None
    ) -> None:
        self.base, self.body_id = base, body_id
        self.http = http or staff_login(base, *account)
        page = self.get("/admin/sittings/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise click.ClickException("the staff pages carry no CSRF token")
        self.token = token.group(1)

    def get(self, path: str) -> requests.Response:
        answer = self.http.get(
            self.base + path, params={"body": self.body_id}, timeout=REQUEST_TIMEOUT_S
        )
        if answer.status_code != 200:
            raise click.ClickException(f"GET {path}: HTTP {answer.status_code}")
        return answer

    def exists(self, path: str) -> bool:
        """Whether the server has this page (a GET that is not 404)."""
        answer = self.http.get(
            self.base + path, params={"body": self.body_id}, timeout=REQUEST_TIMEOUT_S
        )
        return answer.status_code != 404

    def _submit(self, path: str, data: dict[str, Any], files: dict[str, Any] | None) -> Any:
        """POST a form of this body's pages with the session's CSRF token, unredirected."""
        return self.http.post(
            self.base + path,
            params={"body": self.body_id},
            data={**data, "csrf_token": self.token},
            files=files,
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT_S,
        )

    def post(self, path: str, data: dict[str, Any], files: dict[str, Any] | None = None) -> str:
        """Submit a form; returns where the server redirected to (its answer to a form it
        accepted). A page shown again (4xx) is a refusal: its text says why."""
        answer = self._submit(path, data, files)
        if answer.status_code not in (302, 303):
            why = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text))
            raise click.ClickException(f"POST {path}: HTTP {answer.status_code}: {why[:400]}")
        return answer.headers.get("Location", "")

    def post_page(
        self, path: str, data: dict[str, Any], files: dict[str, Any] | None = None
    ) -> str:
        """Submit a form that answers with a page (a preview to confirm): its HTML."""
        answer = self._submit(path, data, files)
        if answer.status_code != 200:
            raise click.ClickException(f"POST {path}: HTTP {answer.status_code}")
        return answer.text


class _Inputs(HTMLParser):
    """The inputs of a page's forms, as a browser would submit them: hidden and text
    fields with their values, checkboxes only when checked."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        a = dict(attrs)
        name, kind = a.get("name"), (a.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "file"):
            return
        if kind in ("checkbox", "radio") and "checked" not in a:
            return
        self.fields.append((name, a.get("value") or ""))


def submitted_fields(page: str) -> dict[str, list[str]]:
    """What the forms of ``page`` submit as they stand (name → values)."""
    parser = _Inputs()
    parser.feed(page)
    out: dict[str, list[str]] = {}
    for name, value in parser.fields:
        out.setdefault(name, []).append(value)
    return out


def id_in(location: str, after: str) -> int:
    found = re.search(rf"{re.escape(after)}(\d+)", location)
    if found is None:
        raise click.ClickException(f"no id after {after!r} in {location!r}")
    return int(found.group(1))


def create_sitting(office: Staff, sitting: demo.YearSitting) -> int:
    """The secretariat creates a sitting (会议) on the agenda pages."""
    location = office.post(
        "/admin/sittings/",
        {"title": sitting.title, "starts_at": sitting.starts_at.strftime("%Y-%m-%dT%H:%M")},
    )
    return id_in(location, "/admin/sittings/")


def add_agenda_item(office: Staff, sitting_id: int, position: int, title: str, text: str) -> int:
    location = office.post(
        f"/admin/sittings/{sitting_id}/items",
        {"position": str(position), "title": title, "description": text},
    )
    return id_in(location, "/admin/sittings/items/")


def designate(presidium: Staff, sitting_id: int, scrutineers: tuple[int, ...]) -> None:
    """The presidium designates the sitting's two scrutineers (监票人)."""
    presidium.post(
        f"/results/sittings/{sitting_id}/scrutineers",
        {"scrutineer": [str(i) for i in scrutineers], "basis": "主任会议决定"},
    )


def close_sitting(office: Staff, sitting_id: int) -> None:
    office.post(f"/admin/sittings/{sitting_id}/close", {"confirm": "1"})


# --- the kiosks' presses -----------------------------------------------------------------------


Ballots = dict[int, Any]  # seat → the one ballot it presses


def planned(ballots: Ballots, seats: list[Seat]) -> Callable[..., list[tuple[float, Any]]]:
    """A press plan (``run_burst``'s ``plan``) pressing each seat's ballot once, at a
    random moment of the burst; a seat is known by its own random generator."""
    by_rng = {id(s.rng): s.seat for s in seats}

    def plan(spec: VoteSpec, rng: random.Random, burst_s: float) -> list[tuple[float, Any]]:
        ballot = ballots.get(by_rng[id(rng)])
        return [] if ballot is None else [(rng.uniform(0, burst_s), ballot)]

    return plan


def selection_ballots(spec: VoteSpec, voters: list[int], rng: random.Random) -> Ballots:
    """Each deputy marks as many projects as there are seats, preferring some projects to
    others, so that the seats fill without a tie at the last one (再次投票 is another
    story, not this year's)."""
    candidates = list(spec.candidates)
    for _ in range(REDRAWS):
        weights = {
            c: len(candidates) - n for n, c in enumerate(rng.sample(candidates, k=len(candidates)))
        }
        ballots: Ballots = {}
        for seat in voters:
            pool, marked = list(candidates), []
            for _ in range(spec.seats):
                pick = rng.choices(pool, weights=[weights[c] for c in pool])[0]
                pool.remove(pick)
                marked.append(pick)
            ballots[seat] = marked
        counted = tally(spec, len(voters), len(voters), list(ballots.values()))["selection"]
        if len(counted["selected"]) == spec.seats and not counted["runoff"]:
            return ballots
    raise click.ClickException("no press plan fills the seats without a tie")


def evaluation_ballots(
    spec: VoteSpec, voters: list[int], rng: random.Random, unsatisfactory: str | None
) -> Ballots:
    """Every member marks every subject: for ``unsatisfactory``, more than half of all
    members press 不满意 (deliberately); for the others, 满意 / 基本满意 at random with a
    few 不满意, far from half. Drawn again until the outcome is exactly that."""
    satisfied, basic, unsatisfied = (
        EvaluationMark.SATISFIED.value, EvaluationMark.BASIC.value, EvaluationMark.UNSATISFIED.value
    )  # fmt: skip
    for _ in range(REDRAWS):
        against = set(rng.sample(voters, k=len(voters) // 2 + 1 + len(voters) // 10))
        ballots: Ballots = {}
        for seat in voters:
            marks = {}
            for subject in spec.subjects:
                if subject == unsatisfactory:
                    marks[subject] = (
                        unsatisfied if seat in against else rng.choice((satisfied, basic))
                    )
                    continue
                draw = rng.random()
                marks[subject] = (
                    unsatisfied if draw < UNSATISFIED_SHARE
                    else satisfied if draw < UNSATISFIED_SHARE + SATISFIED_SHARE
                    else basic
                )  # fmt: skip
            ballots[seat] = marks
        result = tally(spec, len(voters), len(voters), list(ballots.values()))
        outcomes = {s: r.get("outcome") for s, r in result["subjects"].items()}
        wanted = {
            s: "unsatisfactory" if s == unsatisfactory else "satisfactory" for s in spec.subjects
        }
        if outcomes == wanted:
            return ballots
    raise click.ClickException("no press plan gives the intended evaluation outcome")


# --- the year ---------------------------------------------------------------------------------


@dataclass
class Body:
    """One body's hall during the year: its accounts' sessions and its kiosks."""

    hall: BodyHall
    base: str  # the server's URL
    console: Console
    presidium: Staff
    office: Staff
    seats: list[Seat]
    sitting: int = 0  # the sitting in progress

    def say(self, message: str) -> None:
        _progress(f"{self.hall.name}: {message}")


@dataclass
class Year:
    base: str
    url: str
    instance: Path
    seed: int
    burst_s: float
    bodies: dict[str, Body]
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # the stages completed
    # gaps worked around (a step the server has no way for yet, done another way): the
    # run goes on, but cannot succeed
    gaps: list[dict[str, str]] = field(default_factory=list)
    # the items as the year goes (ids of tracked items)
    shortlist: list[int] = field(default_factory=list)
    selected: list[int] = field(default_factory=list)
    topics: list[int] = field(default_factory=list)
    rectification: int | None = None

    def planned_vote(self, vote_id: int) -> CongressVote:
        """What the kiosks need to know of a vote (read from the database)."""
        from voting_server.models import Vote

        with reading(self.url) as session:
            vote = session.get(Vote, vote_id)
            if vote is None:
                raise click.ClickException(f"no vote {vote_id}")
            return CongressVote(
                PlannedVote(vote.id, vote.title, vote.spec(), vote.key_policy, vote.secret),
                vote.electorate,
            )

    def vote(
        self, body: Body, vote_id: int, ballots: Callable[[VoteSpec, list[int]], Ballots] | None
    ) -> dict[str, Any]:
        """Drive one vote of ``body``; ``ballots``: what each voter presses (default: the
        kiosks' random plan, or the presidium's 赞成)."""
        cv = self.planned_vote(vote_id)
        body.hall.votes.append(cv)
        voters = (
            sorted(body.hall.presidium)
            if cv.electorate is Electorate.PRESIDIUM
            else list(body.hall.deputies)
        )
        plan = None
        if ballots is not None:
            plan = planned(ballots(cv.planned.spec, voters), body.seats)
        settle(body)
        outcome = drive_vote(body.console, body.seats, body.hall, cv, self.burst_s, body.say, plan)
        self.outcomes.append(outcome)
        return outcome

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")


SETTLE_S = 45.0  # how long a kiosk may take to reconnect by itself (a loaded machine)


def settle(body: Body) -> None:
    """Wait until every kiosk of the body is connected and authenticated: between the
    year's sittings a tablet's connection may drop (a missed ping on a loaded machine)
    and come back by itself; a vote opened meanwhile would not reach it. A tablet not
    back by then is switched off and on again (a new connection, the same key)."""
    for s in body.seats:
        ready(s, body.base)
    deadline = time.monotonic() + SETTLE_S
    while not body.console.sio.connected and time.monotonic() < deadline:
        time.sleep(0.5)  # the console reconnects by itself too (its login cookie)


def ready(seat: Seat, base: str) -> None:
    """``seat``'s kiosk connected and authenticated, reconnected from scratch if need be."""
    from kiosk_client.client import KioskClient

    try:
        seat.client.wait_authenticated(SETTLE_S)
        return
    except TimeoutError:
        pass
    old = seat.client
    _progress(f"seat {seat.seat}: not back by itself; connecting it again")
    old.close()
    fresh = KioskClient(base, old.key, device_id=old.device_id)
    fresh.ack_ms = old.ack_ms  # the seat's acknowledgement times, kept
    fresh.connect(timeout=REQUEST_TIMEOUT_S)
    seat.client = fresh


def sign_in_all(body: Body) -> None:
    """Every kiosk of the body signs in to the sitting in progress with its PIN; a kiosk
    whose connection dropped on the way signs in again once it is back."""
    from kiosk_client.client import Refused

    pins = body.hall.hall.pins

    def one(seat: Seat) -> None:
        for _ in range(3):
            ready(seat, body.base)
            try:
                seat.client.sign_in(pins[seat.seat], timeout=REQUEST_TIMEOUT_S)
                return
            except Refused as refused:
                if refused.code == "already_signed_in":  # the first answer was lost
                    return
                raise
            except (TimeoutError, socketio.exceptions.SocketIOError):
                continue  # dropped: reconnects and re-authenticates by itself
        raise click.ClickException(f"seat {seat.seat} could not sign in")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, body.seats))


def open_sitting(body: Body, sitting: demo.YearSitting) -> int:
    """The secretariat creates the body's next sitting, the presidium designates its
    scrutineers; the previous sitting must be closed already."""
    sitting_id = create_sitting(body.office, sitting)
    designate(body.presidium, sitting_id, body.hall.scrutineers)
    body.sitting = sitting_id
    body.say(f"sitting {sitting_id} created: {sitting.title}")
    return sitting_id


def first_sitting_id(year: Year, body: Body) -> int:
    from sqlalchemy import select

    from voting_server.models import Sitting

    with reading(year.url) as session:
        found = session.scalars(
            select(Sitting.id).where(Sitting.body_id == body.hall.body_id).order_by(Sitting.id)
        ).first()
    if found is None:
        raise click.ClickException(f"{body.hall.name} has no sitting")
    return int(found)


def presidium_vote_id(year: Year, body: Body) -> int:
    """The congress session's own presidium vote (loaded with the sitting)."""
    from sqlalchemy import select

    from voting_server.models import AgendaItem, Vote

    with reading(year.url) as session:
        found = session.scalar(
            select(Vote.id)
            .join(AgendaItem)
            .where(AgendaItem.sitting_id == body.sitting, Vote.electorate == Electorate.PRESIDIUM)
        )
    if found is None:
        raise click.ClickException("the congress session has no presidium vote")
    return int(found)


# --- the report -------------------------------------------------------------------------------


def simulate_year(seed: int, out: Path | None, burst_s: float) -> dict[str, Any]:

    workdir = Path(tempfile.mkdtemp(prefix="voting-simulate-year-"))
    instance = workdir / "instance"
    instance.mkdir(mode=0o700)
    # the instance's own database file: `voting-server publish --instance DIR` finds it
    url = f"sqlite:///{instance / 'voting.sqlite3'}"
    out = out or workdir / "bundles"
    _progress(f"working in {workdir}; server log: {workdir / 'server.log'}")
    halls = prepare(url, instance, False, load=demo.load_year, office=True)
    from voting_server.cli import simulate_year_stages as stages

    missing: list[dict[str, str]] = []
    errors: list[str] = []
    bodies: dict[str, Body] = {}
    with served(url, instance, workdir / "server.log") as base:
        _progress(f"server on {base}")
        year = Year(base, url, instance, seed, burst_s, bodies)
        try:
            for bh in halls:
                _progress(f"{bh.name}: enrolling and signing in {len(bh.hall.codes)} kiosks")
                seats = connect_kiosks(base, bh.hall, seed)
                console = Console(base, *bh.hall.presidium, body=bh.body_id)
                assert bh.office is not None
                presidium = Staff(base, bh.hall.presidium, bh.body_id, console.http)
                office = Staff(base, bh.office, bh.body_id, None)
                bodies[bh.name] = Body(bh, base, console, presidium, office, seats)
                bodies[bh.name].sitting = first_sitting_id(year, bodies[bh.name])
            office_steps = stages.Office(year)
            try:
                stages.run(year, office_steps)
            except Missing as gap:
                _progress(f"stopped: {gap.message}")
                missing.append({"step": gap.step, "missing": gap.what})
        finally:
            for body in bodies.values():
                body.console.close()
                for s in body.seats:
                    s.client.close()
    items = stages.final_items(year, office_steps)
    votes = year.outcomes
    report_bodies: dict[str, Any] = {}
    for bh in halls:
        bundle, exported, report = export_verified(url, instance, out, bh, _progress)
        errors += [f"{bh.name}: {e}" for e in report.errors]
        fill_breakdowns([v for v in votes if v["body"] == bh.name], bundle)
        report_bodies[bh.name] = {
            "id": bh.body_id, "kind": bh.kind, "members": len(bh.deputies),
            "bundle": str(bundle), "head": exported.head, "verified": report.ok,
        }  # fmt: skip
    acks = [ms for b in bodies.values() for s in b.seats for ms in s.client.ack_ms]
    first = report_bodies[halls[0].name]
    return {
        "members": sum(len(bh.deputies) for bh in halls),
        "seed": seed,
        "votes": votes,
        "ack_ms": percentiles(acks),
        "ballots": len(acks),
        "bundle": first["bundle"],  # §3's one bundle: the congress's
        "head": first["head"],
        "bodies": report_bodies,
        "items": items,
        "stages": year.done,
        "steps": office_steps.via,  # how each staff step on items reached the server
        "missing": missing + year.gaps,
        "instance": str(instance),  # kept: `voting-server publish --instance` reads it
        "database_url": url,
        "verified": all(b["verified"] for b in report_bodies.values()) and not errors,
        "errors": errors,
    }


def succeeded(report: dict[str, Any]) -> bool:
    """Every vote and breakdown matches, every bundle verifies, every stage ran and every
    item reached the state the year should have left it in."""
    return (
        bool(report["verified"])
        and not report["missing"]
        and bool(report["items"])
        and all(i["match"] for i in report["items"])
        and all(
            v["match"] and v.get("by_delegation", {"match": True})["match"] for v in report["votes"]
        )
    )
