"""The console's seat map (座位图, docs/screens.md "The console"): the ``seat_map``
event and the ``seat_signed_in`` broadcast, through Flask-SocketIO's test client on
the demo committee (61 seats).

What the chair's console is told: which seats are signed in, which have a tablet and
which of those are offline, and — for the presidium, who sees 已按 — which seats have
pressed in the open vote, in a secret vote too (participation, never a choice). Who
may ask (the presidium and the secretariat, of their own body), and that a malformed
request is refused with its code and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from kiosk_client.client import ballot_payload, new_nonce
from tests.support.live import (
    LoggedIn,
    body_id,
    enroll_kiosk,
    kiosk_socket,
    logged_in,
    sign_in_by_staff,
    staff_socket,
)
from voting_server.extensions import audit_log, sessions
from voting_server.models import AuditEntry, StaffRole
from voting_server.services import attendance, devices
from voting_server.services.transactions import write_transaction

PIN = "135790"


def seat_map(sio: Any, payload: Any = None) -> dict[str, Any]:
    answer = sio.emit("seat_map", {} if payload is None else payload, callback=True)
    assert answer["ok"], answer
    return answer["seat_map"]


def received(sio: Any, name: str) -> list[Any]:
    return [e["args"][0] for e in sio.get_received() if e["name"] == name]


def motion_id(app: Flask) -> int:
    """The demo sitting's first vote: the motion (secret, 无记名, by default)."""
    with app.app_context(), sessions()() as s:
        sitting = attendance.current_sitting(s, body_id(app))
        assert sitting is not None
        return sitting.agenda_items[0].votes[0].id


def log_length(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_the_seat_map_lists_signed_in_tablets_offline_and_pressed_seats(
    live_app: Flask, presidium: LoggedIn
) -> None:
    sign_in_by_staff(live_app, range(2, 33))  # 31 of 61: the quorum
    seat_1 = enroll_kiosk(live_app, 1)  # connects below
    enroll_kiosk(live_app, 40)  # enrolled, never connected: offline
    with live_app.app_context(), write_transaction(sessions()) as s:
        member = attendance.member_at_seat(s, body_id(live_app), 1)
        assert member is not None
        devices.set_pin(s, member.id, PIN)

    console = staff_socket(live_app, presidium.client)
    before = seat_map(console)
    assert before["present"] == list(range(2, 33))
    assert before["tablets"] == [1, 40]
    assert before["offline"] == [1, 40]
    assert before["vote"] is None and before["pressed"] == []

    # Seat 1's tablet connects and the deputy signs in with the PIN: the console hears
    # the seat (seat_signed_in), the tablets do not.
    kiosk, _ = kiosk_socket(live_app, seat_1)
    console.get_received()
    assert kiosk.emit("sign_in", {"pin": PIN}, callback=True)["ok"]
    assert received(console, "seat_signed_in") == [{"seats": [1]}]
    assert received(kiosk, "seat_signed_in") == []
    now = seat_map(console)
    assert now["present"] == [1, *range(2, 33)]
    assert now["offline"] == [40]

    # A secret vote opens; seat 1 presses. The map names the seat, never the choice.
    vote = motion_id(live_app)
    assert console.emit("open_vote", {"vote": vote}, callback=True)["ok"]
    regulation = "regulation"
    ballot = ballot_payload(seat_1.key, vote, 1, new_nonce(), {regulation: "no"})
    assert kiosk.emit("ballot", ballot, callback=True)["ok"]
    pressed = seat_map(console)
    assert pressed["vote"] == vote
    assert pressed["pressed"] == [1]
    assert '"no"' not in json.dumps(pressed)


def test_the_secretariat_sees_the_map_without_presses(
    live_app: Flask, presidium: LoggedIn, secretariat: LoggedIn
) -> None:
    sign_in_by_staff(live_app, range(1, 32))
    seat_1 = enroll_kiosk(live_app, 1)
    kiosk, _ = kiosk_socket(live_app, seat_1)
    console = staff_socket(live_app, presidium.client)
    vote = motion_id(live_app)
    assert console.emit("open_vote", {"vote": vote}, callback=True)["ok"]
    with live_app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, body_id(live_app))
        assert sitting is not None
        member = attendance.member_at_seat(s, body_id(live_app), 1)
        assert member is not None
        attendance.confirm_pin(s, audit_log(), sitting, member, seat_1.device_id)
    ballot = ballot_payload(seat_1.key, vote, 1, new_nonce(), {"regulation": "yes"})
    assert kiosk.emit("ballot", ballot, callback=True)["ok"]

    office = staff_socket(live_app, secretariat.client)
    seen = seat_map(office)
    assert seen["present"] == list(range(1, 32))
    # 已按 goes to those who see the participation figures (the presidium), as before
    assert seen["vote"] is None and seen["pressed"] == []
    assert seat_map(console)["pressed"] == [1]

    # 代为签到 by the secretariat: both consoles hear the seat.
    console.get_received()
    office.get_received()
    with live_app.app_context(), sessions()() as s:
        member = attendance.member_at_seat(s, body_id(live_app), 50)
        assert member is not None
        member_50 = member.id
    assert office.emit("mark_attendance", {"member": member_50}, callback=True)["ok"]
    assert received(console, "seat_signed_in") == [{"seats": [50]}]
    assert received(office, "seat_signed_in") == [{"seats": [50]}]


def test_a_malformed_request_is_refused_and_changes_nothing(
    live_app: Flask, presidium: LoggedIn
) -> None:
    sign_in_by_staff(live_app, [3, 4])
    console = staff_socket(live_app, presidium.client)
    entries = log_length(live_app)
    for payload in ([], "", 5, {"seats": [1]}, {"vote": 1}):
        answer = console.emit("seat_map", payload, callback=True)
        assert answer["ok"] is False, payload
        assert answer["error"] == "invalid_payload", (payload, answer)
        assert answer["message"], answer  # the Chinese message the console shows
    assert console.emit("seat_map", callback=True)["ok"]  # no payload: fine
    assert log_length(live_app) == entries
    assert seat_map(console)["present"] == [3, 4]


def test_only_the_presidium_and_the_secretariat_may_ask(live_app: Flask) -> None:
    for role in (StaffRole.DISPLAY, StaffRole.SCRUTINEER):
        sio = staff_socket(live_app, logged_in(live_app, role).client)
        answer = sio.emit("seat_map", {}, callback=True)
        assert answer["ok"] is False and answer["error"] == "forbidden", (role, answer)
    kiosk, _ = kiosk_socket(live_app, enroll_kiosk(live_app, 7))
    answer = kiosk.emit("seat_map", {}, callback=True)
    assert answer["ok"] is False and answer["error"] == "forbidden", answer
