"""Separation of duties at the seat (分权): proxy sign-in and tablet replacement.

- 代为签到 by the presidium or the secretariat counts the deputy present, nothing
  more: the seat's tablet votes only after the deputy's own PIN was entered on it,
  and that PIN confirms the attendance without counting the deputy twice.
- A new tablet for a seat that has one (更换表决器) waits for the presidium's
  confirmation on the console; the secretariat, who issues the codes, cannot swap
  it alone; every step is logged; and the console warns of each replacement until
  the sitting ends.

Over real sockets: the app served on a local port, the Python kiosk client, the
staff screens logged in over HTTP.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from audit.entry import canonical_bytes
from audit.verify import verify_log
from crypto import KioskKey, b64encode
from kiosk_client.client import KioskClient, Refused
from rules import VoteSpec
from rules.kinds import VoteKind
from tests.support.live import LiveServer, body_id
from tests.support.logs import LogBuilder
from tests.support.socket_hall import (
    WAIT,
    Channel,
    Hall,
    close_all,
    prepare_hall,
    staff_channels,
)
from voting_server.extensions import sessions
from voting_server.models import (
    Attendance,
    Sitting,
    SittingStatus,
    StaffUser,
)
from voting_server.services import devices
from voting_server.services.transactions import write_transaction

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("m",))

PIN_SEAT = 5
QUORUM = 31  # of the demo's 61 members


@pytest.fixture
def hall(live_app: Flask) -> Hall:
    return prepare_hall(live_app, [PIN_SEAT])


@pytest.fixture
def staff(live_app: Flask, live_server: LiveServer) -> Iterator[dict[str, Channel]]:
    channels = staff_channels(live_app, live_server.url, ("presidium", "secretariat"))
    yield channels
    close_all(*channels.values())


def kiosk(url: str, hall: Hall, seat: int) -> KioskClient:
    deputy = hall.deputies[seat]
    return KioskClient(url, deputy.kiosk.key, deputy.kiosk.device_id)


def log_of(hall: Hall, type_: str) -> list[dict[str, Any]]:
    return [e for e in hall.entries() if e["type"] == type_]


def user_id(app: Flask, username: str) -> int:
    with app.app_context(), sessions()() as s:
        found = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert found is not None
        return found


# --- 代为签到 ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_proxy_marked_deputy_votes_only_after_their_own_pin_on_the_seats_tablet(
    hall: Hall, staff: dict[str, Channel], live_server: LiveServer
) -> None:
    deputy = hall.deputies[PIN_SEAT]
    for seat in range(1, QUORUM + 1):  # the secretariat marks a quorum present, seat 5 too
        answer = staff["secretariat"].call("mark_attendance",
                                           {"member": hall.deputies[seat].member_id})  # fmt: skip
        assert answer["ok"], answer
    tablet = kiosk(live_server.url, hall, PIN_SEAT)
    try:
        state = tablet.connect(WAIT)["state"]
        motion = hall.votes[VoteKind.MOTION]
        hall.configure(motion, secret=False)
        assert staff["presidium"].call("open_vote", {"vote": motion})["ok"]
        subject = hall.spec(motion).subjects[0]

        before = hall.snapshot()
        with pytest.raises(Refused) as refused:
            tablet.vote(motion, {subject: "yes"}, deadline_s=WAIT)
        assert refused.value.code == "pin_required"
        assert refused.value.answer["message"] == "请在本席位平板上输入本人密码"
        assert hall.snapshot() == before  # no press, no entry
        # Counted present, yet this tablet still asks for the PIN.
        assert (state["present"], state["signed_in"]) == (True, False)

        answer = tablet.sign_in(deputy.pin, timeout=WAIT)
        assert answer["ok"] and answer["signed_in"], answer
        assert answer["present"] == QUORUM  # confirmed, not counted again
        assert tablet.fetch_state(timeout=WAIT)["signed_in"] is True
        with pytest.raises(Refused) as again:
            tablet.sign_in(deputy.pin, timeout=WAIT)
        assert again.value.code == "already_signed_in"

        receipt = tablet.vote(motion, {subject: "yes"}, deadline_s=WAIT)
        assert receipt["press"] == 1
        closed = staff["presidium"].call("close_vote", {"vote": motion})
        result = closed["vote"]["result"]
        assert (result["present"], result["cast"]) == (QUORUM, 1)
    finally:
        tablet.close()

    with hall.app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Attendance)) == QUORUM
    signed = [e["data"] for e in log_of(hall, "signed_in") if e["data"]["seat"] == PIN_SEAT]
    assert [d["method"] for d in signed] == ["operator"]  # one sign-in: attendance counts once
    (confirmed,) = log_of(hall, "pin_confirmed")
    assert confirmed["data"] == {"sitting": signed[0]["sitting"], "member": deputy.member_id,
                                 "seat": PIN_SEAT, "device": deputy.kiosk.device_id}  # fmt: skip
    hall.verify()


@pytest.mark.slow
def test_a_pin_entered_on_another_tablet_does_not_let_this_one_vote(
    hall: Hall, staff: dict[str, Channel], live_server: LiveServer
) -> None:
    """The PIN belongs to the tablet it was typed on: after a replacement, the new tablet
    asks for it again."""
    for seat in range(1, QUORUM + 1):
        if seat != PIN_SEAT:
            assert staff["presidium"].call("mark_attendance",
                                           {"member": hall.deputies[seat].member_id})["ok"]  # fmt: skip
    old = kiosk(live_server.url, hall, PIN_SEAT)
    new = KioskClient(live_server.url, KioskKey.generate())
    try:
        old.connect(WAIT)
        assert old.sign_in(hall.deputies[PIN_SEAT].pin, timeout=WAIT)["present"] == QUORUM
        new.enroll(_code(hall.app, PIN_SEAT))
        staff["presidium"].call("confirm_device", {"device": new.device_id})
        state = new.connect_when_confirmed(timeout=WAIT)["state"]
        assert (state["present"], state["signed_in"]) == (True, False)
        motion = hall.votes[VoteKind.MOTION]
        hall.configure(motion, secret=False)
        assert staff["presidium"].call("open_vote", {"vote": motion})["ok"]
        subject = hall.spec(motion).subjects[0]
        with pytest.raises(Refused) as refused:
            new.vote(motion, {subject: "no"}, deadline_s=WAIT)
        assert refused.value.code == "pin_required"
        assert new.sign_in(hall.deputies[PIN_SEAT].pin, timeout=WAIT)["present"] == QUORUM
        assert new.vote(motion, {subject: "no"}, deadline_s=WAIT)["press"] == 1
    finally:
        old.close()
        new.close()
    hall.verify()


# --- 更换表决器 -------------------------------------------------------------------------


def _code(app: Flask, seat: int) -> str:
    """The secretariat issues a code for the seat (its devices page does the same)."""
    with app.app_context(), write_transaction(sessions()) as s:
        return devices.issue_enrollment_code(s, body_id(app), seat, None)


SEAT = 7


@pytest.mark.slow
def test_a_replacement_tablet_waits_for_the_presidium_who_confirms_it_on_the_console(
    hall: Hall, staff: dict[str, Channel], live_server: LiveServer
) -> None:
    presidium, secretariat = staff["presidium"], staff["secretariat"]
    old = kiosk(live_server.url, hall, SEAT)
    new = KioskClient(live_server.url, KioskKey.generate())
    try:
        old.connect(WAIT)
        answer = new.enroll(_code(hall.app, SEAT))  # over HTTP, as the tablet does
        assert (answer["seat"], answer["pending"]) == (SEAT, True)
        with pytest.raises(Refused) as refused:  # 等待主持人确认
            new.connect(WAIT)
        assert refused.value.code == "device_pending"
        assert refused.value.answer["message"] == "等待主持人确认"

        # The console lists the request: seat, member, time.
        presidium.wait_for("devices_changed", lambda d: d["seat"] == SEAT)
        state = presidium.call("state", {})["state"]
        (request,) = state["devices"]["requests"]
        assert (request["seat"], request["member"], request["device"]) == (
            SEAT, hall.deputies[SEAT].name, new.device_id)  # fmt: skip
        assert request["requested_at"]
        assert state["devices"]["replaced"] == []

        # The secretariat cannot swap it.
        before = hall.snapshot()
        for event in ("confirm_device", "reject_device"):
            answer = secretariat.call(event, {"device": new.device_id})
            assert answer["ok"] is False and answer["error"] == "forbidden", answer
        assert hall.snapshot() == before
        with pytest.raises(Refused):
            new.connect(WAIT)

        answer = presidium.call("confirm_device", {"device": new.device_id})
        assert answer == {"ok": True, "seat": SEAT, "confirmed": True}
        assert presidium.call("confirm_device", {"device": new.device_id})["error"] == (
            "unknown_request"
        )
        assert new.connect_when_confirmed(timeout=WAIT)["seat"] == SEAT
        with pytest.raises(Refused) as gone:  # the old tablet speaks for the seat no more
            kiosk(live_server.url, hall, SEAT).connect(WAIT)
        assert gone.value.code == "unknown_device"

        state = presidium.call("state", {})["state"]
        assert state["devices"]["requests"] == []
        (replaced,) = state["devices"]["replaced"]  # the console's warning
        assert (replaced["seat"], replaced["member"], replaced["replaces"]) == (
            SEAT, hall.deputies[SEAT].name, hall.deputies[SEAT].kiosk.device_id)  # fmt: skip
        assert secretariat.call("state", {})["state"]["devices"]["replaced"] == [replaced]
    finally:
        old.close()
        new.close()

    presidium_id = user_id(hall.app, "presidium-user")
    types = [e["type"] for e in hall.entries()]
    requested = types.index("device_enrollment_requested")
    assert types[requested:] == [
        "device_enrollment_requested", "device_enrollment_confirmed", "device_revoked"
    ]  # fmt: skip
    requested_entry, confirmed, revoked = hall.entries()[requested:]
    assert requested_entry["data"]["replaces"] == hall.deputies[SEAT].kiosk.device_id
    assert {k: confirmed["data"][k] for k in ("device", "seat", "by", "role")} == {
        "device": new.device_id, "seat": SEAT, "by": presidium_id, "role": "presidium"}  # fmt: skip
    assert revoked["data"] == {"device": hall.deputies[SEAT].kiosk.device_id, "reason": "replaced"}
    hall.verify()

    # The warning stays until the sitting ends: closed, the next sitting starts clean.
    with hall.app.app_context(), write_transaction(sessions()) as s:
        sitting = s.scalars(select(Sitting).order_by(Sitting.id)).first()
        assert sitting is not None
        sitting.status = SittingStatus.CLOSED
        s.add(Sitting(body_id=sitting.body_id, title="第二次会议", starts_at=sitting.starts_at,
                      status=SittingStatus.OPEN))  # fmt: skip
    state = presidium.call("state", {})["state"]
    assert state["sitting"]["title"] == "第二次会议"
    assert state["devices"] == {"requests": [], "replaced": []}


@pytest.mark.slow
def test_the_presidium_may_reject_a_replacement_tablet(
    hall: Hall, staff: dict[str, Channel], live_server: LiveServer
) -> None:
    new = KioskClient(live_server.url, KioskKey.generate())
    new.enroll(_code(hall.app, SEAT))
    answer = staff["presidium"].call("reject_device", {"device": new.device_id})
    assert answer == {"ok": True, "seat": SEAT, "confirmed": False}
    with pytest.raises(Refused) as refused:
        new.connect_when_confirmed(timeout=WAIT)
    assert refused.value.code == "unknown_device"
    old = kiosk(live_server.url, hall, SEAT)
    try:
        assert old.connect(WAIT)["seat"] == SEAT  # the seat's tablet is still the old one
    finally:
        old.close()
    rejected = hall.entries()[-1]
    assert rejected["type"] == "device_enrollment_rejected"
    assert rejected["data"]["device"] == new.device_id
    state = staff["presidium"].call("state", {})["state"]
    assert state["devices"] == {"requests": [], "replaced": []}
    hall.verify()


@pytest.mark.slow
def test_the_enrollment_api_says_pending_and_tells_the_consoles(
    hall: Hall, staff: dict[str, Channel], live_server: LiveServer
) -> None:
    key = KioskKey.generate()
    response = requests.post(f"{live_server.url}/api/kiosk/enroll",
                             json={"code": _code(hall.app, SEAT), "public_key": key.public.spki_b64},
                             timeout=WAIT)  # fmt: skip
    assert response.status_code == 200 and response.json()["pending"] is True
    for role in ("presidium", "secretariat"):
        staff[role].wait_for("devices_changed", lambda d: d["seat"] == SEAT)


# --- the verifier ------------------------------------------------------------------------


def _press_from(log: LogBuilder, key: KioskKey, device: str, vote: int, member: int) -> None:
    nonce = secrets.token_urlsafe(16)
    base = {"vote": vote, "seat": member, "nonce": nonce}
    ballot = {"m": "yes"}
    sig = key.sign(canonical_bytes({"type": "ballot", **base, "ballot": ballot}))
    log.append("ballot", {**base, "member": member, "device": device, "press": 1,
                          "ballot": ballot, "kiosk_sig": b64encode(sig)})  # fmt: skip


def _replacement_log(*, confirm_role: str | None) -> tuple[LogBuilder, KioskKey]:
    """Seat 1's tablet replaced by ``d1b`` (confirmed by ``confirm_role``, or never), the
    deputy's PIN entered on it, then a named vote it presses in."""
    log = LogBuilder(members=5)
    spec = MOTION
    key = KioskKey.generate()
    log.append("device_enrollment_requested", {"device": "d1b", "seat": 1, "replaces": "d1",
                                               "public_key": key.public.spki_b64})  # fmt: skip
    if confirm_role is not None:
        log.append(
            "device_enrollment_confirmed",
            {"device": "d1b", "seat": 1, "by": 1, "role": confirm_role, "sitting": 1},
        )
        log.append("device_revoked", {"device": "d1", "reason": "replaced"})
    log.sign_in(2, 3, 4)
    log.append("signed_in", {"sitting": 1, "member": 1, "seat": 1, "method": "kiosk_pin",
                             "device": "d1b"})  # fmt: skip
    log.configure(1, spec, secret=False)
    log.open(1, spec, present=4)
    _press_from(log, key, "d1b", 1, 1)
    return log, key


def test_the_verifier_rejects_a_ballot_of_a_tablet_never_confirmed() -> None:
    log, _ = _replacement_log(confirm_role="presidium")
    assert verify_log(log.lines, log.server.public_bytes).ok

    log, _ = _replacement_log(confirm_role=None)
    report = verify_log(log.lines, log.server.public_bytes)
    assert not report.ok
    assert report.errors[0]["index"] == len(log.lines) - 1
    assert "never confirmed" in report.errors[0]["reason"]

    log, _ = _replacement_log(confirm_role="secretariat")
    report = verify_log(log.lines, log.server.public_bytes)
    assert not report.ok and "cannot decide a replacement" in report.errors[0]["reason"]


def _proxy_log(*, pin: bool) -> LogBuilder:
    """Member 1 marked present by staff (代为签到), the PIN entered on d1 or not; a press."""
    log = LogBuilder(members=5)
    log.sign_in(2, 3, 4)
    log.append("signed_in", {"sitting": 1, "member": 1, "seat": 1, "method": "operator", "by": 1})
    if pin:
        log.append("pin_confirmed", {"sitting": 1, "member": 1, "seat": 1, "device": "d1"})
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    _press_from(log, log.kiosks[1], "d1", 1, 1)
    return log


def test_the_verifier_rejects_a_ballot_without_the_pin_on_that_tablet() -> None:
    """A proxy sign-in alone does not make the seat's presses count."""
    log = _proxy_log(pin=False)
    report = verify_log(log.lines, log.server.public_bytes)
    assert not report.ok and "entered no PIN on device d1" in report.errors[0]["reason"]
    log = _proxy_log(pin=True)
    assert verify_log(log.lines, log.server.public_bytes).ok
