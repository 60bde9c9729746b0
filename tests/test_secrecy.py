"""The secrecy of a secret vote (无记名表决), checked the way an adversary would try
to break it (RULES.md, docs/secret-ballot.md).

A sitting of the demo committee votes in secret through the real server: the
tablets (the Python kiosk client over a real WebSocket) sign in and press;
the test knows every deputy's choice, including the ones they changed. The
server runs with every logger at DEBUG. Afterwards the test takes what an
operator, an administrator or an auditor holds — every row of every table of
the database, every file of the exported audit bundle, every log record —
and looks for anything that ties a deputy to a choice:

- no row, entry, file or log line holds both something that identifies a
  deputy (member id, seat, name, tablet, connection id, nonce, signature) and
  that deputy's ballot; a ballot the deputy replaced appears nowhere at all;
- the released ballots are not in the order of the presses (nor of the
  seats), so the order of the participation entries says nothing;
- the press rows keep neither a ballot nor a sealed one after close, and the
  vote key is gone from disk and appears nowhere;
- while the vote is open, the database holds no choice in clear and the
  sealed ballots all have one size (a size that varied with the choice would
  tell it to whoever reads the database).

And the positive side: the log proves who took part, nobody twice, and that
the published counts are the tally of the released ballots (it verifies).

Every ballot of the livelihood vote is distinct (a random set of candidates in
a random order), so any place that recorded one can be recognised.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from audit.bundle import verify_bundle
from audit.entry import canonical_bytes
from kiosk_client.client import KioskClient
from rules import VoteSpec, tally
from rules.kinds import KeyPolicy, VoteKind
from tests.support.live import serve
from tests.support.socket_hall import (
    MEMBERS,
    WAIT,
    Channel,
    Hall,
    prepare_hall,
    staff_channels,
)
from voting_server.extensions import sessions, socketio
from voting_server.models import Press, Vote
from voting_server.services.export import export_bundle
from voting_server.sockets.identity import KIOSK, connected

pytestmark = pytest.mark.slow  # make check leaves it out (README)

PIN_SEATS = range(1, 13)  # 签到 with the PIN at the tablet
MARKED_SEATS = range(13, 53)  # marked present by the secretariat; 53–61 absent
PRESENT = 52
VOTERS = range(1, 47)  # 46 ballots; seats 47–52 present and not voting
CHANGERS = range(1, 7)  # press twice: the first choice must vanish
# The tablets' own Python client logs, were they on, would be the tablets' logs, not
# the server's: they stay as the client library sets them.
CLIENT_LOGGERS = ("engineio.client", "socketio.client")


# --- what the adversary looks at ------------------------------------------------------------


@dataclass
class Unit:
    """One place that could link a deputy to a choice: a row, a line, a file, a record."""

    where: str
    text: str
    members: set[int] = field(default_factory=set)  # deputies it names by number


def _numbers(value: Any, keys: tuple[str, ...]) -> Iterator[tuple[str, int]]:
    """(key, integer) pairs anywhere inside a JSON value, for the given keys."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys and isinstance(v, int) and not isinstance(v, bool):
                yield k, v
            yield from _numbers(v, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v, keys)


def _as_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class Adversary:
    """Knows what the test knows about each deputy, and scans units for links."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self.by_seat = {d.seat: d.member_id for d in hall.deputies.values()}
        self.identifiers: dict[str, int] = {}  # distinctive strings → member
        self.choices: dict[str, set[int]] = {}  # renderings of a ballot → who chose it
        for d in hall.deputies.values():
            self.identify(d.member_id, d.name, d.kiosk.device_id)

    def identify(self, member: int, *strings: str) -> None:
        for s in strings:
            if s:
                self.identifiers[s] = member

    def ballot(self, member: int, ballot: Any) -> None:
        for rendering in renderings(ballot):
            self.choices.setdefault(rendering, set()).add(member)

    def _pattern(self, strings: Iterable[str]) -> re.Pattern[str]:
        ordered = sorted(set(strings), key=len, reverse=True)
        return re.compile("|".join(re.escape(s) for s in ordered))

    def compile(self, public: Iterable[Any] = ()) -> None:
        """Ready the search. A rendering that is part of a published result (e.g. a
        ballot that happens to be the list of selected projects) proves nothing."""
        published = [json.dumps(r, ensure_ascii=False) + canonical_bytes(r).decode()
                     for r in public]  # fmt: skip
        for rendering in [c for c in self.choices if any(c in p for p in published)]:
            del self.choices[rendering]
        self.id_pattern = self._pattern(self.identifiers)
        self.choice_pattern = self._pattern(self.choices)
        options = [o for v in self.hall.votes.values() for o in _options(self.hall.spec(v))]
        self.option_pattern = self._pattern(options)  # every rendering names an option

    def named(self, unit: Unit) -> set[int]:
        found = {self.identifiers[m] for m in self.id_pattern.findall(unit.text)}
        return found | unit.members

    def found(self, unit: Unit) -> list[str]:
        """The renderings of ballots in the unit (a quick look for an option id first)."""
        if not self.option_pattern.search(unit.text):
            return []
        return self.choice_pattern.findall(unit.text)

    def chosen(self, unit: Unit) -> set[int]:
        return {m for c in self.found(unit) for m in self.choices[c]}

    # -- units of each source --

    def row_unit(self, table: str, row: dict[str, Any]) -> Unit:
        members: set[int] = set()
        text_parts = []
        for column, value in row.items():
            if isinstance(value, bytes | memoryview):
                value = bytes(value)
                text_parts.append(f"{column}={value.hex()} {value.decode('latin-1')}")
                continue
            text_parts.append(f"{column}={value}")
            if column == "member_id" and isinstance(value, int):
                members.add(value)
            parsed = _as_json(value)
            if isinstance(parsed, dict | list):
                members |= self._json_members(parsed)
        if table == "members":
            members.add(row["id"])
        if table in {"devices", "enrollment_codes"}:
            members.add(self.by_seat.get(row["seat"], -1))
        return Unit(f"table {table}", "\n".join(text_parts), members - {-1})

    def _json_members(self, value: Any) -> set[int]:
        members = set()
        for key, number in _numbers(value, ("member", "member_id", "seat")):
            if key == "seat":
                members.add(self.by_seat.get(number, -1))
            else:
                members.add(number)
        return members - {-1}

    def json_unit(self, where: str, text: str) -> Unit:
        parsed = _as_json(text)
        members = self._json_members(parsed) if parsed is not None else set()
        return Unit(where, text, members)

    def log_unit(self, where: str, text: str) -> Unit:
        members = set()
        for match in re.finditer(r'\b(seat|member)(?:_id)?"?\s*[:= ]\s*(\d+)', text):
            number = int(match[2])
            members.add(self.by_seat.get(number, -1) if match[1] == "seat" else number)
        unit = self.json_unit(where, text)
        unit.members |= members - {-1}
        return unit


def _options(spec: VoteSpec) -> tuple[str, ...]:
    return spec.candidates if spec.kind == VoteKind.SELECTION else spec.subjects


def renderings(ballot: Any) -> set[str]:
    """The ways a program would likely write a ballot down: JSON (canonical or not),
    Python's repr, and for a selection the same again sorted, and joined with commas.
    (An empty ballot, ``{}`` or ``[]``, cannot be recognised anywhere: left out.)"""
    if not ballot:
        return set()
    out = {canonical_bytes(ballot).decode(), json.dumps(ballot), repr(ballot)}
    if isinstance(ballot, list):
        out |= {canonical_bytes(sorted(ballot)).decode(), json.dumps(sorted(ballot)),
                repr(sorted(ballot)), ",".join(ballot)}  # fmt: skip
    return out


def database_units(adversary: Adversary, engine: sa.Engine) -> list[Unit]:
    """Every row of every table, every column — read through an engine of the adversary's
    own whose loggers are quiet: at DEBUG SQLAlchemy logs every row it fetches, and the
    adversary's reads are not the server's log (they would only make the haystack, and
    the search, many times larger)."""
    quiet = sa.create_engine(engine.url, logging_name="adversary", pool_logging_name="adversary")
    for logger in (quiet.logger, quiet.pool.logger):  # loggers of their own, by those names
        assert isinstance(logger, logging.Logger) and logger.name.endswith(".adversary")
        logger.setLevel(logging.WARNING)
    units = []
    try:
        metadata = sa.MetaData()
        metadata.reflect(quiet)  # every table the database has
        assert {"presses", "audit_entries", "attendances", "members", "votes"} <= set(
            metadata.tables
        )
        with quiet.connect() as conn:
            for name, table in metadata.tables.items():
                for row in conn.execute(sa.select(table)).mappings():
                    units.append(adversary.row_unit(name, dict(row)))
    finally:
        quiet.dispose()
    return units


def rows(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    metadata = sa.MetaData()
    t = sa.Table(table, metadata, autoload_with=engine)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(t)).mappings()]


def kendall_tau(a: list[int], b: list[int]) -> float:
    """Rank correlation of two orders of the same items: 1 same order, −1 reversed."""
    pos = {item: i for i, item in enumerate(b)}
    ranks = [pos[item] for item in a]
    concordant = discordant = 0
    for i, j in itertools.combinations(range(len(ranks)), 2):
        if ranks[i] < ranks[j]:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / (concordant + discordant)


# --- the sitting ------------------------------------------------------------------------


def distinct_selections(rng: random.Random, spec: VoteSpec, n: int) -> list[list[str]]:
    """``n`` ballots no two alike (as sets), each in a random order that is not sorted."""
    seen: set[frozenset[str]] = set()
    ballots = []
    while len(ballots) < n:
        ballot = rng.sample(list(spec.candidates), rng.randint(3, spec.seats - 1))
        if frozenset(ballot) in seen or ballot == sorted(ballot):
            continue
        seen.add(frozenset(ballot))
        ballots.append(ballot)
    return ballots


def test_nobody_can_link_a_deputy_to_a_secret_choice(
    app_on_each_database: Flask, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    app = app_on_each_database
    for name in ["", *logging.root.manager.loggerDict]:  # every logger there is, at DEBUG
        if not name.startswith(CLIENT_LOGGERS):
            caplog.set_level(logging.DEBUG, logger=name)
    hall = prepare_hall(app, range(1, PRESENT + 1))  # every present deputy votes the motion
    selection, motion = hall.votes[VoteKind.SELECTION], hall.votes[VoteKind.MOTION]
    hall.configure(selection, secret=True, key_policy=KeyPolicy.LAST_PRESS)
    hall.configure(motion, secret=True)
    spec, motion_spec = hall.spec(selection), hall.spec(motion)
    regulation = motion_spec.subjects[0]
    adversary = Adversary(hall)
    engine: sa.Engine = app.extensions["voting.engine"]
    key_file = Path(app.config["INSTANCE_DIR"]) / "vote-keys" / f"vote-{selection}.key"

    server = serve(app)
    tablets: dict[int, KioskClient] = {}
    staff: dict[str, Channel] = {}
    payloads: list[tuple[int, dict[str, Any]]] = []  # every ballot as its tablet signed it
    try:
        staff = staff_channels(app, server.url)
        presidium = staff["presidium"]
        for seat, deputy in hall.deputies.items():
            tablets[seat] = client = KioskClient(
                server.url, deputy.kiosk.key, deputy.kiosk.device_id
            )
            record = client.outbox.add  # note what the tablet signs, as it goes out

            def add(payload: dict[str, Any], pressed_at: float, seat=seat, record=record):
                payloads.append((seat, payload))
                return record(payload, pressed_at)

            client.outbox.add = add  # type: ignore[method-assign]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda c: c.connect(WAIT), tablets.values()))
        # The connection ids the server logs, and which seat each one is.
        for client in connected():
            if client.role == KIOSK:
                member = hall.deputies[client.seat or 0].member_id
                eio_sid = socketio.server.manager.eio_sid_from_sid(client.sid, "/")
                adversary.identify(member, client.sid, eio_sid or "")

        for seat in PIN_SEATS:
            assert tablets[seat].sign_in(hall.deputies[seat].pin, timeout=WAIT)["signed_in"]
        for seat in MARKED_SEATS:
            answer = staff["secretariat"].call("mark_attendance",
                                               {"member": hall.deputies[seat].member_id})  # fmt: skip
            assert answer["ok"], answer
            # 代为签到 marks attendance only: the deputy's PIN lets the tablet vote
            assert tablets[seat].sign_in(hall.deputies[seat].pin, timeout=WAIT)["signed_in"]

        # The livelihood vote: everyone's ballot distinct; the changers' first ballots too.
        rng = random.Random()
        ballots = distinct_selections(rng, spec, len(VOTERS) + len(CHANGERS))
        final = {seat: ballots[i] for i, seat in enumerate(VOTERS)}
        replaced = {seat: ballots[len(VOTERS) + i] for i, seat in enumerate(CHANGERS)}
        for seat in VOTERS:
            adversary.ballot(hall.deputies[seat].member_id, final[seat])
        for seat in CHANGERS:
            adversary.ballot(hall.deputies[seat].member_id, replaced[seat])
        assert presidium.call("open_vote", {"vote": selection})["ok"]
        presses: list[int] = []  # seats, in the order the server acknowledged them
        for seat in CHANGERS:
            tablets[seat].vote(selection, replaced[seat])
            presses.append(seat)
        for seat in rng.sample(list(VOTERS), len(VOTERS)):  # the hall presses in any order
            receipt = tablets[seat].vote(selection, final[seat])
            assert receipt["secret"] is True
            presses.append(seat)
        counted_order = [s for i, s in enumerate(presses) if s not in presses[i + 1 :]]

        # While the vote is open: the database holds no choice in clear, and every sealed
        # ballot has the same size whatever it says.
        key = key_file.read_bytes()
        open_rows = [r for r in rows(engine, "presses") if r["vote_id"] == selection]
        assert len(open_rows) == len(VOTERS) + len(CHANGERS)
        assert all(r["ballot"] is None and r["sealed"] for r in open_rows)
        sizes = Counter(len(bytes(r["sealed"])) for r in open_rows)
        assert len(sizes) == 1, f"sealed ballots differ in size with the choice: {sizes}"
        adversary.compile()
        for unit in database_units(adversary, engine):
            assert not adversary.chosen(unit), f"a choice is readable during the vote: {unit.where}"

        answer = presidium.call("close_vote", {"vote": selection})
        assert answer["ok"], answer
        published = answer["vote"]["result"]
        assert presidium.call("announce", {"vote": selection})["ok"]

        # A secret motion too: every present deputy, yes / no / abstain / unmarked.
        motion_choices = {}
        assert presidium.call("open_vote", {"vote": motion})["ok"]
        for seat in range(1, PRESENT + 1):
            choice = rng.choice([{regulation: "yes"}, {regulation: "no"},
                                 {regulation: "abstain"}, {}])  # fmt: skip
            motion_choices[seat] = choice
            tablets[seat].vote(motion, choice)
            adversary.ballot(hall.deputies[seat].member_id, choice)
        motion_key = (key_file.parent / f"vote-{motion}.key").read_bytes()
        motion_rows = [r for r in rows(engine, "presses") if r["vote_id"] == motion]
        assert len({len(bytes(r["sealed"])) for r in motion_rows}) == 1
        motion_answer = presidium.call("close_vote", {"vote": motion})
        assert motion_answer["ok"], motion_answer
        for client in tablets.values():
            client.events.wait_for("result", lambda d: d["vote"] == motion, WAIT)
    finally:
        with ThreadPoolExecutor(max_workers=72) as pool:
            list(pool.map(lambda c: c.close(), [*staff.values(), *tablets.values()]))
        server.stop()

    # --- what is left, in the adversary's hands ---------------------------------------------
    for seat, payload in payloads:  # nonces and signatures are the deputy's, too
        member = hall.deputies[seat].member_id
        adversary.identify(member, payload["nonce"], payload["signature"],
                           payload["participation_signature"])  # fmt: skip
    adversary.compile(public=[published, motion_answer["vote"]["result"]])
    bundle = tmp_path / "bundle"
    export_bundle(app.config["VOTING_DATABASE_URL"], bundle)
    units = database_units(adversary, engine)
    for path in sorted(bundle.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            units += [adversary.json_unit(f"{path.name}:{i}", line)
                      for i, line in enumerate(text.splitlines())]  # fmt: skip
        else:
            units.append(adversary.json_unit(path.name, text))
    records = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    assert any(r.name.startswith("engineio.server") for r in records), "not every logger captured"
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)
    for i, record in enumerate(records):
        text = f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        units.append(adversary.log_unit(f"log record {i} ({record.name})", text))
    units += [adversary.log_unit(f"log line {i}", line)
              for i, line in enumerate(caplog.text.splitlines())]  # fmt: skip
    instance = Path(app.config["INSTANCE_DIR"])
    for path in sorted(p for p in instance.rglob("*") if p.is_file()):
        if path.suffix not in {".sqlite3", ".sqlite3-wal", ".sqlite3-journal"}:
            units.append(Unit(str(path), path.read_bytes().decode("latin-1")))

    # 1. No unit names a deputy and holds a choice; the replaced choices are nowhere.
    assert len(units) > 1000
    released_entries = []
    replaced_renderings = {r for b in replaced.values() for r in renderings(b)}
    for unit in units:
        found = adversary.found(unit)
        shown = unit.text[:400]
        assert not replaced_renderings & set(found), f"a replaced ballot is in {unit.where}"
        chosen = {m for c in found for m in adversary.choices[c]}
        named = adversary.named(unit) if chosen else set()
        assert not (named & chosen), f"{unit.where} links {named & chosen} to choices: {shown}"
        assert not (named and chosen), f"{unit.where} names {named} and holds choices: {shown}"
        if '"ballots_released"' in unit.text and unit.where.startswith("log.jsonl"):
            released_entries.append(json.loads(unit.text))

    # 2. The key is gone, and it was never written anywhere else.
    assert not key_file.exists() and not any((instance / "vote-keys").iterdir())
    key_texts = {
        text
        for k in (key, motion_key)
        for text in (k.hex(), base64.b64encode(k).decode(), base64.urlsafe_b64encode(k).decode())
    }
    for unit in units:
        assert not any(k in unit.text for k in key_texts), f"the vote key is in {unit.where}"

    # 3. The press rows keep who pressed, not what.
    for row in rows(engine, "presses"):
        assert row["ballot"] is None and row["sealed"] is None, row

    # 4. The participation rows carry one order only, the order of the presses: press row
    # ids, entry numbers and timestamps all agree with it. The released ballots are the
    # choices made, in an order unrelated to it.
    entries = [json.loads(u.text) for u in units if u.where.startswith("log.jsonl")]
    participation_entries = [e for e in entries if e["type"] == "participation"
                             and e["data"]["vote"] == selection]  # fmt: skip
    assert [e["data"]["seat"] for e in participation_entries] == presses
    assert [e["t"] for e in participation_entries] == sorted(e["t"] for e in participation_entries)
    press_rows = sorted((r for r in rows(engine, "presses") if r["vote_id"] == selection),
                        key=lambda r: r["id"])  # fmt: skip
    assert [r["entry_idx"] for r in press_rows] == [e["i"] for e in participation_entries]
    by_vote = {e["data"]["vote"]: e for e in released_entries}
    entry = by_vote[selection]
    assert set(entry["data"]) == {"vote", "ballots"}
    released = entry["data"]["ballots"]
    assert sorted(map(sorted, released)) == sorted(map(sorted, final.values()))
    owner = {tuple(b): seat for seat, b in final.items()}
    released_seats = [owner[tuple(b)] for b in released]
    assert released_seats != counted_order and released_seats != sorted(released_seats)
    assert released_seats != counted_order[::-1]
    # Not merely "not equal": no more alike than a random order (|τ| < 0.6 is about six
    # standard deviations for 46 ballots: a shuffled list fails it once in ~10⁸ runs).
    assert abs(kendall_tau(released_seats, counted_order)) < 0.6
    assert abs(kendall_tau(released_seats, sorted(released_seats))) < 0.6
    assert Counter(map(canonical_bytes, by_vote[motion]["data"]["ballots"])) == Counter(
        map(canonical_bytes, motion_choices.values())
    )

    # 5. The positive side: who took part, nobody twice, and counts that add up.
    participation = [e["data"] for e in participation_entries]
    by_member: dict[int, list[int]] = {}
    for p in participation:
        by_member.setdefault(p["member"], []).append(p["press"])
    assert set(by_member) == {hall.deputies[s].member_id for s in VOTERS}
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in by_member.values())
    assert len(released) == len(by_member)  # one counted ballot per participant
    closed = next(e["data"] for e in entries if e["type"] == "vote_closed"
                  and e["data"]["vote"] == selection)  # fmt: skip
    assert closed["cast"] == len(VOTERS) and closed["present"] == PRESENT
    assert published == tally(spec, MEMBERS, PRESENT, released)
    assert published == tally(spec, MEMBERS, PRESENT, list(final.values()))
    assert motion_answer["vote"]["result"] == tally(
        motion_spec, MEMBERS, PRESENT, list(motion_choices.values())
    )
    report = verify_bundle(bundle)
    assert report.ok, report.errors
    hall.verify()
    with app.app_context(), sessions()() as s:
        assert s.get(Vote, selection).result == published  # type: ignore[union-attr]
        assert s.scalar(sa.select(sa.func.count()).select_from(Press)) == len(payloads)
