"""Every Socket.IO event, as every role, with hostile payloads (issue 14, item 6).

The events come from the registry — ``sockets.voting.HANDLERS`` and the kiosk's
``authenticate`` — so an event added later is fuzzed too. The roles: each staff role
logged in through the login form (its session cookie), a kiosk authenticated but
whose deputy has not signed in, a kiosk whose deputy has, and a connection that
never authenticated. The payloads: junk types, huge integers (2**63, -1, 10**100),
non-ASCII digits ('²', '١٢', '１２'), very long strings, deeply nested JSON, lists
where objects are expected, None, extra keys, several arguments, and correctly
signed ballots with junk inside.

What is checked is what a tablet or a console would notice: every event is
acknowledged with ``{ok: true|false, …}`` (no handler raises, no event is left
unanswered), and a refusal changes nothing — the audit log (its length and head),
the votes, the presses and the attendance are as they were.

Most of the volume goes through Flask-SocketIO's test client (packets are still
encoded and decoded as JSON, by the server's own decoder); one run goes through
python-socketio on a real WebSocket against the live server.
"""

from __future__ import annotations

import json
import logging
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kiosk_client.client import ballot_payload, new_nonce
from rules.kinds import VoteKind
from tests.support.live import enroll_kiosk, forget_connections, make_live_app, serve
from tests.support.socket_hall import (
    Channel,
    Deputy,
    Hall,
    SocketChannel,
    close_all,
    kiosk_channel,
    real_kiosk_channel,
    staff_channels,
)
from voting_server.bounds import MAX_ID
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.models import (
    Attendance,
    AttendanceMethod,
    AuditEntry,
    Body,
    Press,
    StaffRole,
    Vote,
)
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction
from voting_server.sockets.wire import UNREADABLE_EVENT as UNREADABLE
from voting_server.sockets.wire import WirePacket

pytestmark = pytest.mark.slow  # make check leaves it out (README)

STAFF_ROLES = tuple(role.value for role in StaffRole)
ROLES = (*STAFF_ROLES, "kiosk", "signed_in_kiosk", "unauthenticated")
SIGNED_IN_SEAT, KIOSK_SEAT, STRANGER_SEAT = 1, 60, 61  # seats 1–40 are present

HUGE_INTS = [2**31, 2**63 - 1, 2**63, 2**64, -1, 0, -(2**63) - 1, 10**100, -(10**100)]
ODD_TEXT = ["", " ", "²", "١٢", "１２３４５６", "12\u00b3456", "１２", "\x00", "\u202e123",
            "0" * 13, "9" * 4096, "x" * 100_000, "表决" * 1000, "𝟙𝟚𝟛𝟜"]  # fmt: skip


def events() -> tuple[str, ...]:
    """Every event a client may emit: the registry, the kiosk's proof, and one no handler
    knows. (Read once an app exists: sockets/voting.py binds its handlers on import.)"""
    from voting_server.sockets.voting import HANDLERS

    return (*sorted(HANDLERS), "authenticate", "no_such_event")


def nested(depth: int, leaf: Any = 1, as_object: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


@dataclass(frozen=True)
class Raw:
    """JSON text sent as it is: nesting deeper than a Python client can encode."""

    text: str


def deep(depth: int, as_object: bool = False) -> Raw:
    opening, closing = ('{"a":', "}") if as_object else ("[", "]")
    return Raw(opening * depth + "1" + closing * depth)


def encode_event(ack_id: int, event: str, args: tuple[Any, ...]) -> str:
    """The Socket.IO EVENT packet's text, ``2<id>["event", …args]``, with Raw parts."""
    raws: list[str] = []

    def placeholder(value: Any) -> str:
        if not isinstance(value, Raw):
            raise TypeError(type(value))
        raws.append(value.text)
        return f"\x00raw{len(raws) - 1}\x00"

    text = json.dumps([event, *args], separators=(",", ":"), default=placeholder)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), raw)
    return f"2{ack_id}{text}"


JUNK: list[Any] = [
    None, True, False, 0, 1, 1.0, -0.5, float("inf"), *HUGE_INTS, *ODD_TEXT, [], {}, [{}],
    [None], {"": None}, nested(50), nested(50, as_object=True), deep(5000),
    deep(5000, as_object=True), list(range(10_000)), {str(i): i for i in range(2000)},
]  # fmt: skip


@dataclass
class Sweep:
    """The hall, a connection per role, and a well-formed payload per event to mutate."""

    hall: Hall
    channels: dict[str, Channel]
    payloads: dict[str, dict[str, Any]]
    last: tuple[Any, ...] | None = None

    def call(self, role: str, event: str, *args: Any) -> Any:
        """Emit ``event`` with ``args`` and return the acknowledgement (a string saying
        so if there was none). The packet is encoded here, so that Raw parts go as they are."""
        channel = self.channels[role]
        if isinstance(channel, SocketChannel):
            answered = threading.Event()
            answers: list[Any] = []

            def acknowledged(*answer: Any) -> None:
                answers.append(answer[0] if len(answer) == 1 else list(answer))
                answered.set()

            sio = channel.sio
            sio.eio.send(encode_event(sio._generate_ack_id("/", acknowledged), event, args))
            return answers[0] if answered.wait(10) else "no acknowledgement within 10 s"
        test_client = channel.sio  # type: ignore[attr-defined]
        test_client.callback_counter += 1
        text = encode_event(test_client.callback_counter, event, args)
        test_client.socketio.server._handle_eio_message(test_client.eio_sid, text)
        ack, test_client.acks = test_client.acks, None
        if ack is None:
            return "no acknowledgement"
        return ack["args"][0] if len(ack["args"]) == 1 else ack["args"]

    def state(self) -> tuple[Any, ...]:
        """What a refusal must leave as it was: the log's length and head, each vote's
        state and result, the presses and the attendance (aggregates: this runs after
        every event)."""
        with self.hall.app.app_context(), sessions()() as s:
            counts = s.execute(select(
                select(func.count()).select_from(AuditEntry).scalar_subquery(),
                select(AuditEntry.hash).order_by(AuditEntry.idx.desc()).limit(1).scalar_subquery(),
                select(func.count()).select_from(Press).scalar_subquery(),
                select(func.max(Press.id)).scalar_subquery(),
                select(func.count()).select_from(Attendance).scalar_subquery(),
                select(func.max(Attendance.id)).scalar_subquery(),
            )).one()  # fmt: skip
            votes = s.execute(select(Vote.id, Vote.state, Vote.result).order_by(Vote.id)).all()
        return (tuple(counts), [tuple(v) for v in votes])

    def check(self, role: str, event: str, *args: Any) -> Any:
        """Emit; the answer must be an acknowledgement, and a refusal must change nothing."""
        if self.last is None:
            self.last = self.state()
        answer = self.call(role, event, *args)
        shown = repr(args)[:300]
        assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), (
            role, event, shown, answer)  # fmt: skip
        now = self.state()
        if answer["ok"] is False:
            assert isinstance(answer.get("error"), str) and answer.get("message"), answer
            # A refusal names the field; it never echoes a megabyte of payload back.
            assert len(json.dumps(answer)) < 2000, (event, shown, repr(answer)[:300])
            assert now == self.last, f"a refused {event} as {role} changed state: {shown}"
        self.last = now
        return answer


def _connect(hall: Hall, url: str | None) -> dict[str, Channel]:
    deputies = hall.deputies
    if url is None:
        channels = staff_channels(hall.app, None, STAFF_ROLES)
        channels["kiosk"] = kiosk_channel(hall.app, deputies[KIOSK_SEAT].kiosk)
        channels["signed_in_kiosk"] = kiosk_channel(hall.app, deputies[SIGNED_IN_SEAT].kiosk)
        channels["unauthenticated"] = kiosk_channel(
            hall.app, deputies[STRANGER_SEAT].kiosk, authenticate=False
        )
        return channels
    channels = staff_channels(hall.app, url, STAFF_ROLES)
    channels["kiosk"] = real_kiosk_channel(url, deputies[KIOSK_SEAT].kiosk)
    channels["signed_in_kiosk"] = real_kiosk_channel(url, deputies[SIGNED_IN_SEAT].kiosk)
    channels["unauthenticated"] = real_kiosk_channel(
        url, deputies[STRANGER_SEAT].kiosk, authenticate=False
    )
    return channels


def small_hall(app: Flask) -> tuple[Hall, dict[int, int]]:
    """The demo committee with tablets at three seats only (enrolling all 61 was most of
    the setup), seats 1–40 present; and the member id of every seat."""
    kiosks = {seat: enroll_kiosk(app, seat) for seat in (SIGNED_IN_SEAT, KIOSK_SEAT, STRANGER_SEAT)}
    with app.app_context(), write_transaction(sessions()) as s:
        body = s.scalars(select(Body).order_by(Body.id)).first()
        assert body is not None
        members = {m.seat: m for m in body.members}
        sitting = attendance.current_sitting(s, body.id)
        assert sitting is not None
        for seat in range(1, 41):
            attendance.sign_in(
                s, audit_log(), sitting, members[seat], AttendanceMethod.OPERATOR, by=None
            )
        deputies = {seat: Deputy(seat, members[seat].id, members[seat].name, kiosk, "")
                    for seat, kiosk in kiosks.items()}  # fmt: skip
        votes = {v.kind: v.id for item in sitting.agenda_items for v in item.votes}
        member_ids = {seat: m.id for seat, m in members.items()}
    return Hall(app, deputies, votes), member_ids


@contextmanager
def _sweep(app: Flask, url: str | None = None) -> Iterator[Sweep]:
    hall, member_ids = small_hall(app)
    channels = _connect(hall, url)
    motion = hall.votes[VoteKind.MOTION]
    assert channels["presidium"].call("open_vote", {"vote": motion})["ok"]
    subject = hall.spec(motion).subjects[0]
    kiosk = hall.deputies[SIGNED_IN_SEAT].kiosk
    payloads = {
        "sign_in": {"pin": "123456"},
        "ballot": ballot_payload(kiosk.key, motion, SIGNED_IN_SEAT, new_nonce(), {subject: "no"}),
        "state": {},
        "document_link": {"document": 1},
        "my_record": {},
        "open_vote": {"vote": hall.votes[VoteKind.SELECTION], "duration_s": 60},
        "close_vote": {"vote": motion},
        "cancel_vote": {"vote": motion, "reason": "设备故障"},
        "rerun_vote": {"vote": motion},
        "announce": {"vote": motion},
        "mark_attendance": {"member": member_ids[50]},
        "authenticate": {"device": hall.deputies[STRANGER_SEAT].kiosk.device_id,
                         "signature": "A" * 88},
    }  # fmt: skip
    try:
        yield Sweep(hall, channels, payloads)
    finally:
        close_all(*channels.values())


@pytest.fixture
def sweep(live_app: Flask) -> Iterator[Sweep]:
    with _sweep(live_app) as sweep:
        yield sweep


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sweep_on_each_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sweep]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    forget_connections()
    app = make_live_app(url, tmp_path / "instance")
    try:
        with _sweep(app) as sweep:
            yield sweep
    finally:
        with app.app_context():
            app.extensions["voting.engine"].dispose()  # PostgreSQL drops the database next
        forget_connections()


def basic_variants(good: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A few of each kind, for every role."""
    first = sorted(good)[:1]
    return [(), (None,), ([good],), (good, good), ("١٢",), (10**100,), (deep(5000),),
            *[({**good, k: v},) for k in first for v in (2**63, "²", "x" * 100_000)]]  # fmt: skip


def hostile_variants(good: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Every argument list tried for an event by a role that may use it: none, junk
    instead of the payload, each field dropped or replaced by each kind of junk, an
    extra key, several arguments."""
    yield ()
    for junk in JUNK:
        yield (junk,)
    yield ([good],)
    yield (good, good)
    yield ({**good, "extra": 1},)
    yield ({**good, "__proto__": {"ok": True}},)
    for key in good:
        yield ({k: v for k, v in good.items() if k != key},)
        for junk in (None, "1", "²", "١٢", 1.0, True, [1], {"a": 1}, *HUGE_INTS, "x" * 100_000,
                     deep(5000)):  # fmt: skip
            yield ({**good, key: junk},)


ROLE_REFUSALS = {"forbidden", "not_authenticated"}


def test_every_event_as_every_role_answers_hostile_payloads_and_refusals_change_nothing(
    sweep_on_each_database: Sweep,
) -> None:
    """The fixed sweep: every (role, event) pair gets the basic variants, and every
    event gets every hostile variant as the first role that may use it."""
    tried = 0
    for event in events():
        good = sweep_on_each_database.payloads.get(event, {})
        swept = False
        for role in ROLES:
            may_use = (
                sweep_on_each_database.check(role, event, {**good, "x": 1}).get("error")
                not in ROLE_REFUSALS
            )
            thorough = may_use and not swept
            for args in hostile_variants(good) if thorough else basic_variants(good):
                sweep_on_each_database.check(role, event, *args)
                tried += 1
            swept = swept or thorough
    assert tried > len(ROLES) * len(events()) * 10
    sweep_on_each_database.hall.verify()


# --- generated payloads (hypothesis) --------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(ODD_TEXT),
    st.text(alphabet=string.digits + "²³¹١٢٣۴５６", min_size=1, max_size=14),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=5),
    max_leaves=20,
)  # fmt: skip
deep_json = st.one_of(
    st.builds(nested, st.integers(1, 200), json_leaf, st.booleans()),
    st.builds(deep, st.integers(200, 20_000), st.booleans()),
)


@st.composite
def arguments(draw: st.DrawFn, sweep: Sweep, event: str, role: str) -> tuple[Any, ...]:
    good = sweep.payloads.get(event, {})
    shape = draw(st.sampled_from(["junk", "deep", "field", "extra", "drop", "several", "none",
                                  "signed_ballot"]))  # fmt: skip
    if shape == "junk":
        return (draw(json_value),)
    if shape == "deep":
        return (draw(deep_json),)
    if shape == "several":
        return tuple(draw(st.lists(json_value, min_size=2, max_size=4)))
    if shape == "none":
        return ()
    if shape == "signed_ballot" and event == "ballot":
        # A correctly signed ballot of junk, for a vote id that may or may not exist: it
        # passes the signature, reaching the vote's own checks and the group commit.
        hall = sweep.hall
        seat = SIGNED_IN_SEAT if role == "signed_in_kiosk" else KIOSK_SEAT
        vote = draw(st.sampled_from([*hall.votes.values(), MAX_ID, *HUGE_INTS[:2], 1, 999]))
        ballot = draw(json_value.filter(lambda v: not _has_float(v)))
        key = hall.deputies[seat].kiosk.key
        return (ballot_payload(key, vote, seat, new_nonce(), ballot),)
    if not good:
        return (draw(st.dictionaries(st.text(max_size=10), json_value, max_size=4)),)
    key = draw(st.sampled_from(sorted(good)))
    if shape == "drop":
        return ({k: v for k, v in good.items() if k != key},)
    if shape == "extra":
        extra = draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in good))
        return ({**good, extra: draw(json_value)},)
    return ({**good, key: draw(json_value | deep_json)},)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def test_generated_payloads_for_every_event_and_role(sweep: Sweep) -> None:
    every_event = events()

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        role = data.draw(st.sampled_from(ROLES), label="role")
        event = data.draw(st.sampled_from(every_event), label="event")
        args = data.draw(arguments(sweep, event, role), label="arguments")
        sweep.check(role, event, *args)

    fuzz()
    sweep.hall.verify()


# --- through a real socket ------------------------------------------------------------------


def test_every_event_as_every_role_over_a_real_socket(
    live_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """python-socketio against the live server: the same answers over the wire, and no
    handler error in the server's log."""
    server = serve(live_app)
    try:
        with _sweep(live_app, server.url) as sweep:
            with caplog.at_level(logging.ERROR):
                for role in ROLES:
                    for event in events():
                        for args in basic_variants(sweep.payloads.get(event, {})):
                            sweep.check(role, event, *args)
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert not errors, [r.getMessage() for r in errors]
            sweep.hall.verify()
    finally:
        server.stop()


# --- the connection itself --------------------------------------------------------------------


def test_a_connection_with_hostile_auth_is_refused_and_logs_no_error(
    live_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """``auth`` is the one payload of the connection: junk there refuses the connection
    (``connect_error``), without a handler error."""
    with caplog.at_level(logging.ERROR):
        for auth in [*HUGE_INTS, *ODD_TEXT[:8], [1], [{}], {"device": 10**100},
                     {"device": "x" * 100_000}, {"device": ["a"]}, {"device": None},
                     {"device": nested(50)}, {"device": "²", "extra": 1}]:  # fmt: skip
            client = socketio.test_client(live_app, auth=auth)
            assert not client.is_connected(), auth
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Too deep for any client to encode: the server's decoder still reads it as an auth
    # that names no device (and the event the same way: an unreadable one).
    assert WirePacket(encoded_packet="0" + deep(5000).text).data == {UNREADABLE: True}
    assert WirePacket(encoded_packet="21" + deep(5000).text).data == [UNREADABLE]
