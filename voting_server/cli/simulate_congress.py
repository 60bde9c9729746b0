"""``voting-server simulate --congress``: the county's congress session and its standing
committee's sitting at the same time, over the real network path (CONTRACTS.md §6).

The demo county's two bodies (``demo/county.py``) are loaded into an empty database;
the production server is started once. Then, in two threads at once, each body's
presidium console (logged in by the form, connected to its own body) drives its
agenda, its hall display listens, and every seat's kiosk — the congress's 列席
attendees too — enrolls its own key and signs in with its PIN:

- the congress: the presidium's own vote to submit the livelihood-project list
  (主席团会议: only the presidium's kiosks press, nearly all 赞成, so that it is
  adopted), then the livelihood-project ballot (which requires that vote), then the
  motion; attendees never press;
- the standing committee: the special-inquiry evaluation.

Everything the single-sitting ``simulate`` does is reused (its console, kiosks,
bursts and tallies); what is added is the electorate of each vote, the expected
breakdown by delegation (分团, computed here from the kiosks' own choices and compared
with the ``by_delegation`` the server logged in the vote's result entry), each
body's own bundle verified alone, and a check that each display heard only its own
body's votes.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from rules import VoteSpec, tally
from rules.breakdown import by_delegation
from rules.congress import Electorate, MemberRole, PresidiumSeat
from rules.kinds import VoteKind
from voting_server.cli.processes import served
from voting_server.cli.simulate import (
    REQUEST_TIMEOUT_S,
    Console,
    Hall,
    Plan,
    PlannedVote,
    Seat,
    connect_kiosks,
    counted_ballots,
    percentiles,
    press_plan,
    quick_pins,
    run_burst,
    sign_in_by_staff,
)

# In the presidium's vote nearly everyone presses 赞成, so that the list is submitted
# and the congress's ballot, which requires it, may open.
PRESIDIUM_DISSENT = 0.1


def _progress(message: str) -> None:
    click.echo(f"[simulate --congress] {message}", err=True)


@dataclass(frozen=True)
class CongressVote:
    planned: PlannedVote
    electorate: Electorate


@dataclass
class BodyHall:
    """One body's hall: its roster as the kiosks know it, its accounts and agenda."""

    body_id: int
    name: str
    kind: str  # congress | standing_committee
    hall: Hall
    display: tuple[str, str]  # the display account: username, password
    votes: list[CongressVote]
    deputies: list[int]  # seats, in order
    presidium: set[int]  # seats on the presidium
    groups: dict[int, str | None]  # seat → delegation (deputies)
    office: tuple[str, str] | None = None  # the secretariat's account, if made (``prepare``)
    scrutineers: tuple[int, ...] = ()  # the two scrutineers' account ids


def prepare(
    database_url: str,
    instance: Path,
    secret: bool,
    load: Callable[[Any], list[Any]] | None = None,
    office: bool = False,
    operator_sign_in: bool = False,
) -> list[BodyHall]:
    """Migrate an empty database and load the county's congress and standing committee,
    with a presidium and a display account, two designated scrutineers, an enrollment
    code and a PIN (argon2 at the harness's cost, ``quick_pins``) per seat, per body.

    ``load``: what loads the bodies (a session → the bodies; default: the county demo's
    congress and standing committee with their sittings); ``office``: a secretariat
    account per body too; ``operator_sign_in``: every member marked present by the
    body's presidium account (each tablet still confirms with its PIN before voting)."""
    from sqlalchemy import func, select

    from crypto import ServerKey
    from voting_server.db import make_engine, make_session_factory, upgrade
    from voting_server.demo.county import BODIES, COUNTY_COMMITTEE, COUNTY_CONGRESS, load_body
    from voting_server.models import AuditEntry, Body, Member, StaffRole
    from voting_server.services import devices, results
    from voting_server.services.audit_log import AuditLog

    os.environ["VOTING_INSTANCE_DIR"] = str(instance)
    upgrade(database_url)
    engine = make_engine(database_url)
    halls: list[BodyHall] = []
    try:
        with make_session_factory(engine).begin() as session:
            if session.scalar(select(func.count()).select_from(AuditEntry)) or session.scalar(
                select(func.count()).select_from(Body)
            ):
                raise click.ClickException(
                    "数据库非空 the database already holds data: simulate needs an empty one"
                )
            log = AuditLog(ServerKey.load_or_create(instance / "server_ed25519.pem"))
            if load is None:
                wanted = [d for d in BODIES if d.name in (COUNTY_CONGRESS, COUNTY_COMMITTEE)]
                loaded = [load_body(session, demo) for demo in wanted]
            else:
                loaded = load(session)
            for body in loaded:
                presidium, password = _account(
                    session, log, body.id, "presidium", "主持人", StaffRole.PRESIDIUM
                )
                display, display_password = _account(
                    session, log, body.id, "display", "大屏", StaffRole.DISPLAY
                )
                pair = [
                    _account(
                        session, log, body.id, f"jianpiao{i}", f"监票人{i}", StaffRole.SCRUTINEER
                    )[0].id
                    for i in (1, 2)
                ]
                for sitting in body.sittings:
                    results.designate_scrutineers(
                        session, log, sitting.id, presidium, pair, results.DEFAULT_BASIS[body.kind]
                    )
                secretariat = (
                    _account(session, log, body.id, "office", "秘书处", StaffRole.SECRETARIAT)
                    if office
                    else None
                )
                codes = devices.issue_enrollment_codes(session, body.id, presidium.id)
                pins = quick_pins(session, body.id)
                if operator_sign_in:
                    sign_in_by_staff(session, log, body.id, presidium.id)
                members = list(
                    session.scalars(
                        select(Member)
                        .where(Member.body_id == body.id, Member.active)
                        .order_by(Member.seat)
                    )
                )
                deputies = [m.seat for m in members if m.role is MemberRole.DEPUTY]
                votes = []
                for sitting in body.sittings:
                    for item in sitting.agenda_items:
                        for vote in item.votes:
                            vote.secret = secret
                            planned = PlannedVote(
                                vote.id, vote.title, vote.spec(), vote.key_policy, secret
                            )
                            votes.append(CongressVote(planned, vote.electorate))
                halls.append(
                    BodyHall(
                        body_id=body.id,
                        name=body.name,
                        kind=body.kind.value,
                        hall=Hall(
                            len(deputies),
                            (presidium.username, password),
                            codes,
                            pins,
                            [v.planned for v in votes],
                        ),
                        display=(display.username, display_password),
                        votes=votes,
                        deputies=deputies,
                        presidium={
                            m.seat for m in members if m.presidium is not PresidiumSeat.NONE
                        },
                        groups={m.seat: m.group_name for m in members},
                        office=(secretariat[0].username, secretariat[1]) if secretariat else None,
                        scrutineers=tuple(pair),
                    )
                )
    finally:
        engine.dispose()
    return halls


def _account(
    session: Any, log: Any, body_id: int, name: str, label: str, role: Any
) -> tuple[Any, str]:
    """A staff account serving the one body, with a fresh password."""
    from voting_server.services import staff

    password = secrets.token_urlsafe(18)
    user = staff.create_user(
        session, f"simulate-{name}-b{body_id}", f"模拟{label}（{body_id}）", role, password,
        log=log, bodies=[body_id],
    )  # fmt: skip
    return user, password


def yes_plan(spec: VoteSpec, rng: random.Random, burst_s: float) -> list[tuple[float, Any]]:
    """A presidium member's press in the presidium's vote: 赞成 on every subject,
    but for a few who choose at random (``press_plan``)."""
    if spec.kind != VoteKind.MOTION.value or rng.random() < PRESIDIUM_DISSENT:
        return press_plan(spec, rng, burst_s)
    return [(rng.uniform(0, burst_s), {subject: "yes" for subject in spec.subjects})]


def run_body(
    base: str, bh: BodyHall, seed: int, burst_s: float
) -> tuple[list[dict[str, Any]], list[float], Console]:
    """The body's agenda, from its console; returns the outcomes (``by_delegation``
    filled in later, from the bundle), the kiosks' ack times and the display."""
    say: Callable[[str], None] = lambda m: _progress(f"{bh.name}: {m}")  # noqa: E731
    say(f"enrolling and signing in {len(bh.hall.codes)} kiosks")
    seats = connect_kiosks(base, bh.hall, seed)
    console = Console(base, *bh.hall.presidium, body=bh.body_id)
    display = Console(base, *bh.display, body=bh.body_id)
    try:
        outcomes = [drive_vote(console, seats, bh, cv, burst_s, say) for cv in bh.votes]
    finally:
        console.close()
        for s in seats:
            s.client.close()
    return outcomes, [ms for s in seats for ms in s.client.ack_ms], display


def drive_vote(
    console: Console,
    seats: list[Seat],
    bh: BodyHall,
    cv: CongressVote,
    burst_s: float,
    say: Callable[[str], None],
    plan: Plan | None = None,
) -> dict[str, Any]:
    """One vote of the body: opened from its console, pressed by its electorate's kiosks
    (``plan``, default: ``yes_plan`` in the presidium's own vote, else ``press_plan``),
    closed and announced; the outcome compares the published result with the tally of
    what the kiosks pressed (``by_delegation``'s expectation included, for a named
    congress vote)."""
    vote = cv.planned
    in_presidium = cv.electorate is Electorate.PRESIDIUM
    deputies = set(bh.deputies)
    # who may press: the presidium, or every deputy; 列席 attendees never
    voters = [s for s in seats if s.seat in (bh.presidium if in_presidium else deputies)]
    for s in seats:
        s.pressed.clear()
    marks = [s.client.events.mark() for s in seats]
    console.request("open_vote", {"vote": vote.id})
    for s, mark in zip(seats, marks, strict=True):  # attendees' tablets see it too
        s.client.events.wait_for(
            "vote_opened", lambda d, v=vote.id: d.get("id") == v, REQUEST_TIMEOUT_S, mark
        )
    say(f"vote {vote.id} open: {vote.title}")
    run_burst(vote, voters, burst_s, plan or (yes_plan if in_presidium else press_plan))
    closed = console.request("close_vote", {"vote": vote.id})["vote"]
    console.request("announce", {"vote": vote.id})
    ballots = counted_ballots(voters, vote.key_policy)
    # Everyone signed in: 实到 is the electorate (the presidium, or the deputies).
    electorate = len(bh.presidium) if in_presidium else len(bh.deputies)
    expected = tally(vote.spec, electorate, electorate, ballots)
    result = closed["result"]
    outcome: dict[str, Any] = {
        "body": bh.name, "body_kind": bh.kind, "vote": vote.id, "kind": vote.spec.kind,
        "secret": vote.secret, "electorate": cv.electorate.value,
        "result": result, "expected": expected, "match": result == expected,
    }  # fmt: skip
    if bh.kind == "congress" and not vote.secret:
        outcome["by_delegation"] = {
            "expected": None
            if in_presidium  # the presidium's own vote is not the delegations'
            else by_delegation(
                vote.spec,
                [(seat, bh.groups[seat]) for seat in bh.deputies],
                deputies,
                {s.seat: vote.key_policy.counted(s.pressed) for s in voters if s.pressed},
            )
        }
    say(f"vote {vote.id} closed: {len(ballots)} ballots, match={result == expected}")
    return outcome


def logged_breakdowns(bundle: Path) -> dict[int, Any]:
    """vote → the ``by_delegation`` its result entry in the bundle's log carries (or None)."""
    found: dict[int, Any] = {}
    for line in (bundle / "log.jsonl").read_bytes().splitlines():
        entry = json.loads(line)
        if entry["type"] == "result":
            found[int(entry["data"]["vote"])] = entry["data"].get("by_delegation")
    return found


def fill_breakdowns(outcomes: list[dict[str, Any]], bundle: Path) -> None:
    """Each outcome's ``by_delegation`` gets the breakdown the server logged (``result``)
    and whether it equals the kiosks' (``match``)."""
    published = logged_breakdowns(bundle)
    for outcome in outcomes:
        if "by_delegation" in outcome:
            breakdown = outcome["by_delegation"]
            breakdown["result"] = published.get(outcome["vote"])
            breakdown["match"] = breakdown["result"] == breakdown["expected"]


def heard_votes(display: Console) -> set[int]:
    """The votes a screen heard of (any event naming a vote id)."""
    ids: set[int] = set()
    for _event, data in display.events:
        if isinstance(data, dict):
            for key in ("id", "vote"):
                value = data.get(key)
                if isinstance(value, int):
                    ids.add(value)
                elif isinstance(value, dict) and isinstance(value.get("id"), int):
                    ids.add(value["id"])
    return ids


def export_verified(
    url: str, instance: Path, out: Path, bh: BodyHall, say: Callable[[str], None]
) -> tuple[Path, Any, Any]:
    """Export ``bh``'s own bundle to ``out/body-<id>`` and verify it alone, as
    ``voting-audit verify DIR`` does: (the bundle, its export, the verification)."""
    from audit.bundle import verify_bundle
    from voting_server.services.export import export_bundle

    bundle = out / f"body-{bh.body_id}"
    say(f"exporting {bh.name}'s bundle to {bundle}")
    exported = export_bundle(
        url, bundle, server_key_file=instance / "server_ed25519.pem", body=str(bh.body_id)
    )
    report = verify_bundle(bundle)
    say(f"{bh.name}: verify {'ok' if report.ok else report.errors}")
    return bundle, exported, report


def simulate_congress(seed: int, secret: bool, out: Path | None, burst_s: float) -> dict[str, Any]:

    workdir = Path(tempfile.mkdtemp(prefix="voting-simulate-congress-"))
    instance = workdir / "instance"
    instance.mkdir(mode=0o700)
    url = f"sqlite:///{workdir / 'simulate.sqlite3'}"
    out = out or workdir / "bundles"
    _progress(f"working in {workdir}; server log: {workdir / 'server.log'}")
    halls = prepare(url, instance, secret)
    with served(url, instance, workdir / "server.log") as base:
        _progress(f"server on {base}")
        with ThreadPoolExecutor(len(halls)) as pool:  # both sittings at the same time
            runs = list(pool.map(lambda bh: run_body(base, bh, seed, burst_s), halls))
        for _, _, display in runs:
            display.close()

    votes: list[dict[str, Any]] = []
    bodies: dict[str, Any] = {}
    ack_ms: list[float] = []
    errors: list[str] = []
    for bh, (outcomes, acks, display) in zip(halls, runs, strict=True):
        bundle, exported, report = export_verified(url, instance, out, bh, _progress)
        errors += [f"{bh.name}: {e}" for e in report.errors]
        fill_breakdowns(outcomes, bundle)
        own = {o["vote"] for o in outcomes}
        strangers = heard_votes(display) - own
        if strangers:  # cross-talk: this body's display heard another body's vote
            errors.append(f"{bh.name}: its display heard votes {sorted(strangers)}")
        if not own <= heard_votes(display):
            errors.append(
                f"{bh.name}: its display missed votes {sorted(own - heard_votes(display))}"
            )
        bodies[bh.name] = {
            "id": bh.body_id, "kind": bh.kind, "members": len(bh.deputies),
            "bundle": str(bundle), "head": exported.head, "verified": report.ok,
        }  # fmt: skip
        votes += outcomes
        ack_ms += acks
    shutil.rmtree(instance, ignore_errors=True)
    first = bodies[halls[0].name]
    return {
        "members": sum(len(bh.deputies) for bh in halls),
        "attendees": sum(len(bh.groups) - len(bh.deputies) for bh in halls),
        "seed": seed,
        "secret": secret,
        "votes": votes,
        "ack_ms": percentiles(ack_ms),
        "ballots": len(ack_ms),
        "bundle": first["bundle"],  # §3's one bundle: the congress's
        "head": first["head"],
        "bodies": bodies,
        "verified": all(b["verified"] for b in bodies.values()) and not errors,
        "errors": errors,
    }


def succeeded(report: dict[str, Any]) -> bool:
    """Every vote and every breakdown matches, every bundle verifies, no cross-talk."""
    return bool(report["verified"]) and all(
        v["match"] and v.get("by_delegation", {"match": True})["match"] for v in report["votes"]
    )
