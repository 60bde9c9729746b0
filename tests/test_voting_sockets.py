"""The live-voting events (docs/protocol.md) end to end: through Flask-SocketIO's
test client and through a real server on a local port.

A whole sitting of the demo committee (61 seats) is held the way the hall
holds it: tablets sign in with their PINs or the secretariat marks members
present, the presidium opens each vote, the tablets vote, the presidium
closes and announces. What is checked is what the presidium, the hall
display, a deputy and a scrutineer would check: the published result is the
count of the choices made, every screen saw what it should (and no more),
and the audit log verifies offline. Then every role tries what it may not do,
and malformed or hostile payloads are sent: each is refused with its code
and message, and nothing changes — not the log, not a vote, not a press.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import tests.support.socket_hall as socket_hall
from crypto import b64encode
from kiosk_client.client import KioskClient, ballot_payload, new_nonce
from rules import VoteSpec, tally
from rules.kinds import KeyPolicy, LiveTally, VoteKind
from tests.support.live import (
    LiveServer,
    challenge_of,
    serve,
)
from tests.support.socket_hall import (
    MEMBERS,
    NOTHING,
    STAFF_ROLES,
    WAIT,
    Channel,
    Deputy,
    Hall,
    Tablet,
    close_all,
    kiosk_channel,
    prepare_hall,
    real_kiosk_channel,
    staff_channel,
    staff_channels,
)
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.i18n import translate_to
from voting_server.models import (
    AttendanceMethod,
    AuditEntry,
    Member,
)
from voting_server.services import attendance
from voting_server.services.attendance import PIN_LOCK
from voting_server.services.transactions import WRITE_LOCK, write_transaction
from voting_server.sockets.errors import MESSAGES
from voting_server.timefmt import BEIJING

VOTING_AUDIT = Path(sys.executable).with_name("voting-audit")

# The sitting held in the full-sitting tests.
PIN_SEATS = range(1, 21)  # sign in at the tablet with their PIN
PINS_ISSUED = range(1, 51)  # the voters: the marked ones confirm with their PIN too
MARKED_SEATS = range(21, 56)  # marked present by the staff (代为签到)
PRESENT = 55  # seats 56–61 are absent
VOTERS = range(1, 51)  # seats 51–55 are present and do not press (未按)
CHANGERS = range(1, 6)  # press a second time


hall = socket_hall.hall  # the fixture: the demo committee, a tablet enrolled at every seat


# --- refusals --------------------------------------------------------------------------


def check_refusal(answer: Any, code: str, detail: str | None = None) -> None:
    """The refusal of docs/protocol.md: the code, its Chinese and English message."""
    assert isinstance(answer, dict) and answer.get("ok") is False, answer
    assert answer["error"] == code, answer
    message, retry = MESSAGES[code]  # Chinese: the test clients choose no language
    assert (answer["message"], answer["message_en"], answer["retry"]) == (
        message,
        translate_to("en", message),
        retry,
    )
    if detail is not None:
        assert detail in answer.get("detail", ""), answer


def refused(hall: Hall, code: str, action: Callable[[], Any], detail: str | None = None) -> Any:
    """``action`` is refused with ``code`` and changes nothing."""
    before = hall.snapshot()
    answer = action()
    check_refusal(answer, code, detail)
    assert hall.snapshot() == before, f"a refused {code} changed something"
    return answer


# --- what the deputies choose ---------------------------------------------------------


def motion_ballot(rng: random.Random, spec: VoteSpec) -> Any:
    # Mostly yes, so the regulation passes; {} leaves it unmarked (counted as abstain).
    return rng.choice(
        [{s: "yes" for s in spec.subjects}] * 12
        + [{s: "no" for s in spec.subjects}, {s: "abstain" for s in spec.subjects}, {}]
    )


def selection_ballot(rng: random.Random, spec: VoteSpec) -> Any:
    return rng.sample(list(spec.candidates), rng.randint(0, spec.seats))


def evaluation_ballot(rng: random.Random, spec: VoteSpec) -> Any:
    marks = ["satisfied", "satisfied", "basic", "unsatisfied"]
    return {s: rng.choice(marks) for s in spec.subjects}


# --- a whole sitting ----------------------------------------------------------------------


def hold_sitting(hall: Hall, tablets: dict[int, Tablet], staff: dict[str, Channel]) -> None:
    """签到, then the demo's three votes, each opened, voted, closed, announced."""
    presidium, secretariat = staff["presidium"], staff["secretariat"]
    watchers = [presidium, staff["display"], staff["scrutineer"]]  # they see 已按 / 未按

    # 签到: at the tablet with the PIN, or marked by the staff.
    for seat in PIN_SEATS:
        answer = tablets[seat].sign_in(hall.deputies[seat].pin)
        assert answer["ok"] and answer["signed_in"], answer
        assert (answer["present"], answer["members"]) == (seat, MEMBERS)
    assert tablets[1].state()["signed_in"] is True
    assert tablets[56].state()["signed_in"] is False
    for seat in MARKED_SEATS:
        who = secretariat if seat % 2 else presidium  # both may mark attendance
        answer = who.call("mark_attendance", {"member": hall.deputies[seat].member_id})
        assert answer["ok"] and answer["present"] == seat, answer
    # 代为签到 marks attendance only: the marked deputies who vote enter their own PIN at
    # their tablets, which confirms the attendance without counting them twice.
    for seat in MARKED_SEATS:
        if seat in VOTERS:
            answer = tablets[seat].sign_in(hall.deputies[seat].pin)
            assert answer["ok"] and answer["present"] == PRESENT, answer
    final = {"present": PRESENT, "members": MEMBERS, "quorum_required": 31, "quorate": True}
    for screen in [*staff.values(), tablets[1], tablets[61]]:
        seen = screen.wait_for("attendance", lambda a: a["present"] == PRESENT)
        assert {k: seen[k] for k in final} == final

    plans: list[tuple[VoteKind, dict[str, Any], Callable[[random.Random, VoteSpec], Any]]] = [
        # a named roll-call motion whose running counts the presidium sees
        (VoteKind.MOTION, {"secret": False, "live_tally": LiveTally.BREAKDOWN}, motion_ballot),
        # the livelihood ballot, secret, the first press final
        (VoteKind.SELECTION, {"secret": True, "key_policy": KeyPolicy.FIRST_PRESS},
         selection_ballot),
        # the evaluation with the defaults: secret, the last press counts
        (VoteKind.EVALUATION, {}, evaluation_ballot),
    ]  # fmt: skip
    rng = random.Random(20270301)
    receipts: list[tuple[int, dict[str, Any]]] = []
    for kind, columns, choose in plans:
        vote = hall.votes[kind]
        hall.configure(vote, **columns)
        spec = hall.spec(vote)
        secret = columns.get("secret", True)
        first_press = columns.get("key_policy") is KeyPolicy.FIRST_PRESS

        answer = presidium.call("open_vote", {"vote": vote})
        assert answer["ok"] and answer["vote"]["state"] == "open", answer
        for tablet in tablets.values():  # every tablet, signed in or not, shows the ballot
            opened = tablet.wait_for("vote_opened", lambda d, v=vote: d["id"] == v)
            assert opened["secret"] is secret and opened["result"] is None
            options = opened["candidates"] if kind == VoteKind.SELECTION else opened["subjects"]
            assert [o["id"] for o in options] == list(spec.candidates or spec.subjects)

        counted: dict[int, Any] = {}
        for seat in VOTERS:
            ballot = choose(rng, spec)
            answer = tablets[seat].ballot(vote, ballot)
            assert answer["ok"], (seat, answer)
            receipt = answer["receipt"]
            assert (receipt["vote"], receipt["press"], receipt["secret"]) == (vote, 1, secret)
            receipts.append((seat, receipt))
            counted[seat] = ballot
        for seat in CHANGERS:  # a change of mind
            ballot = choose(rng, spec)
            answer = tablets[seat].ballot(vote, ballot)
            if first_press:
                check_refusal(answer, "already_voted")
            else:
                assert answer["ok"] and answer["receipt"]["press"] == 2, answer
                receipts.append((seat, answer["receipt"]))
                counted[seat] = ballot
        expected = tally(spec, MEMBERS, PRESENT, list(counted.values()))

        # 已按 / 未按 for the presidium, the display and the scrutineers; nobody else.
        for screen in watchers:
            seen = screen.wait_for(
                "participation", lambda p, v=vote: p["vote"] == v and p["voted"] == len(VOTERS)
            )
            assert seen["not_voted"] == PRESENT - len(VOTERS)
            assert seen["voted_seats"] == list(VOTERS)
        assert not [p for p in secretariat.events("participation") if p["vote"] == vote]
        assert not [p for p in tablets[1].events("participation") if p["vote"] == vote]
        # Running counts only for the named motion, only to the presidium and the display.
        key = "selection" if kind == VoteKind.SELECTION else "subjects"
        if not secret:
            for screen in (presidium, staff["display"]):
                screen.wait_for(
                    "live_tally",
                    lambda t, v=vote, c=expected[key]: t["vote"] == v and t["counts"] == c,
                )
        for screen in [*staff.values(), tablets[1]]:
            if secret or screen not in (presidium, staff["display"]):
                assert not [t for t in screen.events("live_tally") if t["vote"] == vote]

        answer = presidium.call("close_vote", {"vote": vote})
        assert answer["ok"] and answer["vote"]["state"] == "closed", answer
        assert answer["vote"]["result"] == expected
        for screen in [*staff.values(), *tablets.values()]:
            published = screen.wait_for("result", lambda d, v=vote: d["vote"] == v)
            assert published["result"] == expected
        for screen in staff.values():
            screen.wait_for("vote_closed", lambda d, v=vote: d["vote"] == v)
        # Tablets learn of the close from the result alone (one frame each, not two).
        assert not [e for t in tablets.values() for e in t.events("vote_closed")]
        assert tablets[1].ballot(vote, choose(rng, spec))["error"] == "vote_not_open"

        answer = presidium.call("announce", {"vote": vote})
        assert answer["ok"] and answer["vote"]["state"] == "announced", answer
        assert hall.vote_row(vote) == {**hall.vote_row(vote), "state": "announced",
                                       "result": expected}  # fmt: skip
        staff["display"].wait_for("announced", lambda d, v=vote: d["vote"] == v)

    # The selection's result is what the livelihood ballot is for: checked above against
    # the engine; here, that the motion passed as the hall saw it.
    motion = hall.vote_row(hall.votes[VoteKind.MOTION])["result"]
    assert motion["subjects"]["regulation"]["passed"] is True

    # Each receipt names the audit entry that recorded the press: a roll-call ballot
    # entry for the named motion, a participation entry (no choice) for the secret votes.
    entries = hall.entries()
    with hall.app.app_context(), sessions()() as s:
        hashes = {idx: digest for idx, digest in s.execute(select(AuditEntry.idx, AuditEntry.hash))}
    for seat, receipt in receipts:
        entry = entries[receipt["entry"]]
        assert hashes[receipt["entry"]] == receipt["entry_hash"]
        assert entry["type"] == ("participation" if receipt["secret"] else "ballot")
        assert (entry["data"]["nonce"], entry["data"]["seat"]) == (receipt["nonce"], seat)
        assert entry["sig"] == receipt["server_sig"]
    hall.verify()


@pytest.mark.slow
def test_a_whole_sitting_through_the_test_client(live_app: Flask) -> None:
    hall = prepare_hall(live_app, PINS_ISSUED)
    app = hall.app
    staff = staff_channels(app, None)
    tablets = {
        seat: Tablet(d, kiosk_channel(app, d.kiosk), None) for seat, d in hall.deputies.items()
    }
    try:
        hold_sitting(hall, tablets, staff)
    finally:
        close_all(*tablets.values(), *staff.values())


@pytest.mark.slow
def test_a_whole_sitting_over_real_sockets_and_the_audit_bundle_verifies(
    live_app: Flask, live_server: LiveServer, tmp_path: Path
) -> None:
    hall = prepare_hall(live_app, PINS_ISSUED)
    app = hall.app
    staff: dict[str, Channel] = {}
    tablets: dict[int, Tablet] = {}
    try:
        staff = staff_channels(app, live_server.url)
        for seat, deputy in hall.deputies.items():
            client = KioskClient(live_server.url, deputy.kiosk.key, deputy.kiosk.device_id)
            tablets[seat] = Tablet(deputy, None, client)
        with ThreadPoolExecutor(max_workers=16) as pool:  # the hall's tablets come up together
            answers = dict(zip(tablets, pool.map(lambda t: t.client.connect(WAIT),
                                                 tablets.values()), strict=True))  # fmt: skip
        for seat, answer in answers.items():
            assert answer["seat"] == seat and answer["member"]["name"] == hall.deputies[seat].name
            assert answer["state"]["signed_in"] is False
        hold_sitting(hall, tablets, staff)
    finally:
        close_all(*tablets.values(), *staff.values())

    # As an auditor: export the bundle from the database and verify it, with the CLI.
    env = {**os.environ, "VOTING_INSTANCE_DIR": app.config["INSTANCE_DIR"]}
    bundle = tmp_path / "bundle"
    database_url = app.config["VOTING_DATABASE_URL"]
    exported = subprocess.run(
        [str(VOTING_AUDIT), "export", "--out", str(bundle), "--database-url", database_url],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    verified = subprocess.run(
        [str(VOTING_AUDIT), "verify", str(bundle), "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["ok"], report
    assert report["head"] == json.loads(exported.stdout)["head"]


# --- who may do what ----------------------------------------------------------------------

# What each role may emit; everything else it is refused with ``forbidden``.
ALLOWED = {
    "kiosk": {"sign_in", "ballot", "state"},
    "presidium": {"state", "open_vote", "close_vote", "cancel_vote", "rerun_vote", "announce",
                  "mark_attendance"},
    "secretariat": {"state", "mark_attendance"},
    "scrutineer": {"state"},
    "display": {"state"},
}  # fmt: skip
EVENTS = ("sign_in", "ballot", "state", "open_vote", "close_vote", "cancel_vote", "rerun_vote",
          "announce", "mark_attendance")  # fmt: skip


def _sign_in_by_staff(hall: Hall, seats: range, pins: Iterable[int] = ()) -> None:
    """代为签到 of ``seats``; the deputies of ``pins`` then enter their PIN on their own
    tablet (recorded as the ``sign_in`` event does: without it no ballot counts)."""
    with hall.app.app_context(), write_transaction(sessions()) as s:
        for seat in seats:
            member = s.get(Member, hall.deputies[seat].member_id)
            sitting = attendance.current_sitting(s, member.body_id)  # type: ignore[union-attr]
            assert member is not None and sitting is not None
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=None)
            if seat in pins:
                device = hall.deputies[seat].kiosk.device_id
                attendance.confirm_pin(s, audit_log(), sitting, member, device)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["test_client", "websocket"])
def test_every_role_is_refused_every_event_it_may_not_use(hall: Hall, transport: str) -> None:
    app = hall.app
    server = serve(app) if transport == "websocket" else None
    channels: dict[str, Channel] = {}
    try:
        channels.update(staff_channels(app, server.url if server else None))
        kiosk, stranger = hall.deputies[60], hall.deputies[61]
        if server is None:
            channels["kiosk"] = kiosk_channel(app, kiosk.kiosk)
            channels["unauthenticated"] = kiosk_channel(app, stranger.kiosk, authenticate=False)
        else:
            channels["kiosk"] = real_kiosk_channel(server.url, kiosk.kiosk)
            channels["unauthenticated"] = real_kiosk_channel(
                server.url, stranger.kiosk, authenticate=False
            )
        # A sitting in progress, so that each request would do something if it were allowed:
        # seats 1–40 present (not 60, 61), the motion open, the selection still a draft.
        _sign_in_by_staff(hall, range(1, 41))
        motion, selection = hall.votes[VoteKind.MOTION], hall.votes[VoteKind.SELECTION]
        assert channels["presidium"].call("open_vote", {"vote": motion})["ok"]
        regulation = hall.spec(motion).subjects[0]
        payloads = {
            "sign_in": {"pin": "123456"},
            "ballot": ballot_payload(kiosk.kiosk.key, motion, 60, new_nonce(), {regulation: "no"}),
            "state": {},
            "open_vote": {"vote": selection},
            "close_vote": {"vote": motion},
            "cancel_vote": {"vote": motion, "reason": "试图取消"},
            "rerun_vote": {"vote": motion},
            "announce": {"vote": motion},
            "mark_attendance": {"member": hall.deputies[50].member_id},
        }
        tried = 0
        for role, channel in channels.items():
            for event in EVENTS:
                if event in ALLOWED.get(role, set()):
                    continue
                code = "not_authenticated" if role == "unauthenticated" else "forbidden"
                answer = refused(hall, code, lambda c=channel, e=event: c.call(e, payloads[e]))
                if code == "forbidden":
                    assert answer["detail"] == f"{role} may not do this"
                tried += 1
        assert tried == 9 + 6 + 2 + 7 + 8 + 8  # unauthenticated, kiosk, presidium, secretariat, …
        # Nothing happened meanwhile: the motion is still open, nobody pressed.
        assert hall.vote_row(motion)["state"] == "open"
        assert hall.vote_row(selection)["state"] == "draft"
        # …and what each role may do, it can: every staff screen reads the state.
        for role in STAFF_ROLES:
            state = channels[role].call("state", {})
            assert state["ok"] and state["state"]["open_vote"]["id"] == motion, (role, state)
        assert channels["kiosk"].call("state")["state"]["signed_in"] is False
    finally:
        close_all(*channels.values())
        if server is not None:
            server.stop()


# --- malformed and hostile payloads -----------------------------------------------------------

MEGABYTE = "9" * (1 << 20)


def test_malformed_ballots_are_refused_with_a_clear_error_and_change_nothing(hall: Hall) -> None:
    app = hall.app
    presidium = staff_channel(app, "presidium")
    alice, bob = hall.deputies[1], hall.deputies[2]
    a = kiosk_channel(app, alice.kiosk)
    b = kiosk_channel(app, bob.kiosk)
    late = kiosk_channel(app, hall.deputies[50].kiosk)  # present? no: not signed in
    _sign_in_by_staff(hall, range(1, 41), pins=(1, 2))
    motion, selection = hall.votes[VoteKind.MOTION], hall.votes[VoteKind.SELECTION]
    hall.configure(selection, secret=True)
    reg = hall.spec(motion).subjects[0]
    candidates = list(hall.spec(selection).candidates)

    def signed(kiosk: Deputy, vote: int, ballot: Any, **changes: Any) -> dict[str, Any]:
        return {**ballot_payload(kiosk.kiosk.key, vote, kiosk.seat, new_nonce(), ballot),
                **changes}  # fmt: skip

    # Before the vote opens.
    refused(hall, "vote_not_open", lambda: a.call("ballot", signed(alice, motion, {reg: "yes"})))
    assert presidium.call("open_vote", {"vote": motion})["ok"]
    good = signed(alice, motion, {reg: "yes"})

    # Not a ballot at all, or the wrong shape.
    cases: list[tuple[Any, str]] = [
        (NOTHING, "payload must be an object"),
        (None, "payload must be an object"),
        ([good], "payload must be an object"),
        ("ballot", "payload must be an object"),
        (MEGABYTE, "payload must be an object"),
        ({k: v for k, v in good.items() if k != "nonce"}, "nonce"),
        ({k: v for k, v in good.items() if k != "participation_signature"},
         "participation_signature"),
        ({**good, "seat": 2}, "seat"),  # extra fields: the seat is the device's, not the payload's
        ({**good, "vote": str(motion)}, "vote"),
        ({**good, "vote": float(motion)}, "vote"),
        ({**good, "vote": True}, "vote"),
        ({**good, "vote": 0}, "vote"),
        ({**good, "nonce": 12345678901234567890}, "nonce"),
        ({**good, "nonce": "short"}, "nonce"),
        ({**good, "nonce": "not a nonce!" * 3}, "nonce"),
        ({**good, "nonce": "n" * (1 << 20)}, "nonce"),
        ({**good, "ballot": "yes"}, "ballot"),
        ({**good, "ballot": {reg: 1.5}}, "ballot"),
        ({**good, "ballot": {reg: -1}}, "ballot"),  # a score (现场打分) is 0 to 1000
        ({**good, "ballot": {reg: 1001}}, "ballot"),
        ({**good, "ballot": {reg: True}}, "ballot"),
        ({**good, "ballot": {reg: MEGABYTE}}, "ballot"),
        ({**good, "ballot": {MEGABYTE: "yes"}}, "ballot"),
        ({**good, "ballot": ["p01"] * 501}, "ballot"),
        ({**good, "signature": 7}, "signature"),
        ({**good, "signature": MEGABYTE}, "signature"),
        ({**good, "participation_signature": ""}, "participation_signature"),
    ]  # fmt: skip
    for payload, field in cases:
        refused(hall, "invalid_payload", lambda p=payload: a.call("ballot", p), detail=field)

    # Well-formed, but not a valid ballot of this vote.
    # (a number is a score, 现场打分: well-formed, but a motion takes marks)
    for ballot in ({reg: "maybe"}, {reg: "YES"}, {"budget": "yes"}, ["p01"], {reg: ""}, {reg: 1}):
        refused(hall, "invalid_ballot", lambda x=ballot: a.call("ballot", signed(alice, motion, x)))
    refused(hall, "unknown_vote", lambda: a.call("ballot", signed(alice, 999, {reg: "yes"})))
    refused(hall, "not_signed_in", lambda: late.call("ballot", signed(hall.deputies[50], motion,
                                                                      {reg: "yes"})))  # fmt: skip

    # Signatures: garbage, someone else's, over another choice, for another seat.
    nonce = new_nonce()
    mine = ballot_payload(alice.kiosk.key, motion, 1, nonce, {reg: "yes"})
    theirs = ballot_payload(bob.kiosk.key, motion, 1, nonce, {reg: "yes"})
    for payload in (
        {**mine, "signature": "not base64!"},
        {**mine, "signature": b64encode(b"\0" * 64)},
        {**mine, "signature": theirs["signature"]},  # bob's key, alice's statement
        {**mine, "participation_signature": theirs["participation_signature"]},
        {**mine, "ballot": {reg: "no"}},  # signed yes, sent no
        {**mine, "participation_signature": mine["signature"]},  # the wrong statement
        # Alice's tablet signing a statement for Bob's seat: the server puts the seat of
        # the device's enrollment in the statement, so it does not verify.
        ballot_payload(alice.kiosk.key, motion, 2, new_nonce(), {reg: "no"}),
    ):
        refused(hall, "bad_signature", lambda p=payload: a.call("ballot", p))

    # The livelihood ballot: too many candidates, twice the same, unknown ones.
    assert presidium.call("close_vote", {"vote": motion})["ok"]
    assert presidium.call("open_vote", {"vote": selection})["ok"]
    for ballot in (candidates[:11], candidates, ["p01", "p01"], ["p13"], [reg], {reg: "yes"}):
        refused(
            hall, "invalid_ballot", lambda x=ballot: a.call("ballot", signed(alice, selection, x))
        )

    # A resend of the same nonce is answered with the same receipt; another seat's nonce is not
    # Bob's to use, however well he signs it.
    nonce = new_nonce()
    first = a.call("ballot", ballot_payload(alice.kiosk.key, selection, 1, nonce, candidates[:3]))
    assert first["ok"], first
    again = ballot_payload(alice.kiosk.key, selection, 1, nonce, candidates[:3])  # signed anew
    assert refused(hall, "nonce_reused", lambda: b.call(
        "ballot", ballot_payload(bob.kiosk.key, selection, 2, nonce, candidates[:3])))  # fmt: skip
    before = hall.snapshot()
    assert a.call("ballot", again) == first
    assert hall.snapshot() == before
    assert presidium.call("close_vote", {"vote": selection})["ok"]
    closed = hall.snapshot()
    assert a.call("ballot", again) == first  # also after close: a tablet that lost the answer
    assert hall.snapshot() == closed
    refused(hall, "vote_not_open",
            lambda: a.call("ballot", signed(alice, selection, candidates[:2])))  # fmt: skip
    refused(hall, "nonce_reused", lambda: b.call(
        "ballot", ballot_payload(bob.kiosk.key, selection, 2, nonce, candidates[:3])))  # fmt: skip
    hall.verify()
    for channel in (presidium, a, b, late):
        channel.close()


@pytest.mark.slow
def test_malformed_staff_requests_are_refused_and_change_nothing(hall: Hall) -> None:
    app = hall.app
    presidium = staff_channel(app, "presidium")
    secretariat = staff_channel(app, "secretariat")
    _sign_in_by_staff(hall, range(1, 41))
    motion, selection = hall.votes[VoteKind.MOTION], hall.votes[VoteKind.SELECTION]
    evaluation = hall.votes[VoteKind.EVALUATION]
    member = hall.deputies[45].member_id
    P = presidium.call

    for event, payload, field in [
        ("open_vote", NOTHING, "payload must be an object"),
        ("open_vote", {}, "vote"),
        ("open_vote", {"vote": str(motion)}, "vote"),
        ("open_vote", {"vote": motion, "duration_s": 5}, "duration_s"),
        ("open_vote", {"vote": motion, "duration_s": 7201}, "duration_s"),
        ("open_vote", {"vote": motion, "duration_s": 60.0}, "duration_s"),
        ("open_vote", {"vote": motion, "duration_s": MEGABYTE}, "duration_s"),
        ("open_vote", {"vote": motion, "secret": False}, "secret"),
        ("close_vote", {"vote": [motion]}, "vote"),
        ("cancel_vote", {"vote": motion}, "reason"),
        ("cancel_vote", {"vote": motion, "reason": ""}, "reason"),
        ("cancel_vote", {"vote": motion, "reason": MEGABYTE}, "reason"),
        ("rerun_vote", {"vote": -1}, "vote"),
        ("announce", {"vote": None}, "vote"),
        ("state", {"anything": 1}, "anything"),
        ("state", [], "payload must be an object"),
        ("state", "", "payload must be an object"),
    ]:
        refused(hall, "invalid_payload", lambda e=event, p=payload: P(e, p), detail=field)
    for payload, field in [({"member": str(member)}, "member"), ({"member": 0}, "member"),
                           ({"seat": 45}, "member"), ({"member": member, "seat": 45}, "seat")]:  # fmt: skip
        refused(hall, "invalid_payload", lambda p=payload: secretariat.call("mark_attendance", p),
                detail=field)  # fmt: skip
    refused(hall, "unknown_member", lambda: secretariat.call("mark_attendance", {"member": 99999}))
    refused(hall, "already_signed_in",
            lambda: secretariat.call("mark_attendance", {"member": hall.deputies[1].member_id}))  # fmt: skip

    # Unknown votes, and votes in the wrong state.
    for event, payload in [("open_vote", {"vote": 999}), ("close_vote", {"vote": 999}),
                           ("cancel_vote", {"vote": 999, "reason": "x"}),
                           ("rerun_vote", {"vote": 999}), ("announce", {"vote": 999})]:  # fmt: skip
        refused(hall, "unknown_vote", lambda e=event, p=payload: P(e, p))
    refused(hall, "vote_not_open", lambda: P("close_vote", {"vote": motion}))
    refused(hall, "vote_not_closed", lambda: P("announce", {"vote": motion}))
    refused(hall, "vote_not_closed", lambda: P("rerun_vote", {"vote": motion}))
    assert P("open_vote", {"vote": motion})["ok"]
    refused(hall, "vote_not_draft", lambda: P("open_vote", {"vote": motion}))
    refused(hall, "vote_already_open", lambda: P("open_vote", {"vote": selection}))
    refused(hall, "vote_not_closed", lambda: P("announce", {"vote": motion}))
    assert P("close_vote", {"vote": motion})["ok"]
    refused(hall, "vote_not_open", lambda: P("close_vote", {"vote": motion}))
    refused(hall, "vote_not_open", lambda: P("cancel_vote", {"vote": motion, "reason": "晚了"}))
    refused(hall, "vote_not_draft", lambda: P("open_vote", {"vote": motion}))
    # A secret vote may not show a running breakdown.
    hall.configure(evaluation, secret=True, live_tally=LiveTally.BREAKDOWN)
    refused(hall, "bad_configuration", lambda: P("open_vote", {"vote": evaluation}))

    # Cancel and re-run are what a failed vote needs; the re-run is a new draft.
    answer = P("cancel_vote", {"vote": selection, "reason": "设备故障"})
    assert answer["ok"] and answer["vote"]["state"] == "cancelled"
    assert (
        secretariat.wait_for("vote_cancelled", lambda d: d["vote"] == selection)["reason"]
        == "设备故障"
    )
    rerun = P("rerun_vote", {"vote": selection})
    assert rerun["ok"] and rerun["vote"]["rerun_of"] == selection
    assert rerun["vote"]["state"] == "draft" and rerun["vote"]["id"] not in hall.votes.values()
    assert P("open_vote", {"vote": rerun["vote"]["id"]})["ok"]
    hall.verify()
    presidium.close()
    secretariat.close()


def test_sign_in_refusals(live_app: Flask) -> None:
    hall = prepare_hall(live_app, [1, 2])
    app = hall.app
    alice = hall.deputies[1]
    tablet = kiosk_channel(app, alice.kiosk)
    wrong = f"{(int(alice.pin) + 1) % 1_000_000:06d}"
    for payload, field in [(NOTHING, "payload"), ({}, "pin"), ({"pin": 123456}, "pin"),
                           ({"pin": "12ab56"}, "pin"), ({"pin": "1" * (1 << 20)}, "pin"),
                           ({"pin": alice.pin, "seat": 2}, "seat")]:  # fmt: skip
        refused(hall, "invalid_payload", lambda p=payload: tablet.call("sign_in", p), detail=field)
    # A wrong PIN changes no record a scrutineer reads; it does count towards the lock,
    # and the answer says how many tries are left (the tablet shows it).
    answer = refused(hall, "pin_invalid", lambda: tablet.call("sign_in", {"pin": wrong}))
    assert answer["data"] == {"tries_left": 4}
    answer = tablet.call("sign_in", {"pin": alice.pin})
    assert answer["ok"] and answer["present"] == 1
    refused(hall, "already_signed_in", lambda: tablet.call("sign_in", {"pin": alice.pin}))

    bob = hall.deputies[2]
    locked = kiosk_channel(app, bob.kiosk)
    for left in (4, 3, 2, 1):
        answer = refused(hall, "pin_invalid", lambda: locked.call("sign_in", {"pin": wrong}))
        assert answer["data"] == {"tries_left": left}
    # The fifth wrong PIN locks the seat, and says until when (北京时间, as the hall reads
    # clocks); the right PIN is refused alike until then.
    before = datetime.now(UTC)
    locking = refused(hall, "pin_locked", lambda: locked.call("sign_in", {"pin": wrong}))
    after = refused(hall, "pin_locked", lambda: locked.call("sign_in", {"pin": bob.pin}))
    assert locking["data"] == after["data"]
    until = datetime.fromisoformat(locking["data"]["locked_until"])
    assert before + PIN_LOCK <= until <= datetime.now(UTC) + PIN_LOCK
    assert locking["data"]["tries_left"] == 0
    assert locking["data"]["locked_until_time"] == f"{until.astimezone(BEIJING):%H:%M}"
    tablet.close()
    locked.close()


def test_the_kiosk_state_names_the_current_agenda_item(hall: Hall) -> None:
    """The waiting screen names the agenda item: the first before any vote, the open
    vote's while it is open, and still that one after it closed, until the next opens."""
    tablet = kiosk_channel(hall.app, hall.deputies[1].kiosk)
    presidium = staff_channel(hall.app, "presidium")
    _sign_in_by_staff(hall, range(1, 32))

    def item() -> tuple[int, str]:
        state = tablet.call("state", {})["state"]
        assert state["sitting"]["body"] == "示例市人民代表大会常务委员会"
        return state["agenda_item"]["position"], state["agenda_item"]["title"]

    assert item() == (1, "审议《示例市文明行为促进条例（草案）》")
    selection = hall.votes[VoteKind.SELECTION]
    assert presidium.call("open_vote", {"vote": selection})["ok"]
    assert item() == (2, "票决2027年度市政府民生实事项目")
    assert presidium.call("close_vote", {"vote": selection})["ok"]
    assert item() == (2, "票决2027年度市政府民生实事项目")
    tablet.close()
    presidium.close()


def test_a_replayed_challenge_does_not_authenticate(hall: Hall) -> None:
    app = hall.app
    kiosk = hall.deputies[1].kiosk
    sio = socketio.test_client(app, auth={"device": kiosk.device_id})
    signature = kiosk.auth_signature(challenge_of(sio))
    proof = {"device": kiosk.device_id, "signature": signature}
    assert sio.emit("authenticate", proof, callback=True)["ok"]
    refused(hall, "bad_signature", lambda: sio.emit("authenticate", proof, callback=True))
    other = socketio.test_client(app, auth={"device": kiosk.device_id})
    challenge_of(other)
    refused(hall, "bad_signature", lambda: other.emit("authenticate", proof, callback=True))
    refused(hall, "not_authenticated", lambda: other.emit("sign_in", {"pin": hall.deputies[1].pin},
                                                          callback=True))  # fmt: skip
    sio.disconnect()
    other.disconnect()


# --- quorum and the countdown -------------------------------------------------------------


def test_a_vote_cannot_open_without_quorum(hall: Hall) -> None:
    presidium = staff_channel(hall.app, "presidium")
    secretariat = staff_channel(hall.app, "secretariat")
    motion = hall.votes[VoteKind.MOTION]
    _sign_in_by_staff(hall, range(1, 31))  # 30 of 61: not more than half
    answer = refused(hall, "no_quorum", lambda: presidium.call("open_vote", {"vote": motion}))
    assert answer["detail"] == "实到 30，需 31 (present 30, need 31)"
    assert presidium.call("state", {})["state"]["attendance"]["quorate"] is False
    answer = secretariat.call("mark_attendance", {"member": hall.deputies[31].member_id})
    assert answer["ok"] and answer["quorate"] is True and answer["present"] == 31
    assert presidium.call("open_vote", {"vote": motion})["ok"]
    presidium.close()
    secretariat.close()


@pytest.mark.slow
def test_a_countdown_closes_the_vote_at_its_deadline(hall: Hall) -> None:
    """Opened with the shortest countdown (10 s); the server closes it by itself and
    publishes the result. No timing is asserted: only that it happens, and how."""
    app = hall.app
    presidium = staff_channel(app, "presidium")
    display = staff_channel(app, "display")
    tablet = kiosk_channel(app, hall.deputies[1].kiosk)
    _sign_in_by_staff(hall, range(1, 41), pins=(1,))
    motion = hall.votes[VoteKind.MOTION]
    answer = presidium.call("open_vote", {"vote": motion, "duration_s": 10})
    assert answer["ok"] and answer["vote"]["closes_at"]
    row = hall.vote_row(motion)
    assert (row["closes_at"] - row["opened_at"]).total_seconds() == 10
    regulation = hall.spec(motion).subjects[0]
    sent = ballot_payload(hall.deputies[1].kiosk.key, motion, 1, new_nonce(), {regulation: "yes"})
    receipt = tablet.call("ballot", sent)
    assert receipt["ok"]

    # A press after the deadline is late, even before the server has closed the vote:
    # the deadline watcher is held back (it waits for the write lock this thread takes;
    # the handler below runs on this thread and re-enters it).
    late = ballot_payload(hall.deputies[1].kiosk.key, motion, 1, new_nonce(), {regulation: "no"})
    with WRITE_LOCK:
        while datetime.now(UTC) <= row["closes_at"]:
            time.sleep(0.1)
        refused(hall, "vote_not_open", lambda: tablet.call("ballot", late), "countdown is over")
        assert hall.vote_row(motion)["state"] == "open"  # not closed yet: the deadline refused it

    published = display.wait_for("result", lambda d: d["vote"] == motion, timeout=60)
    tablet.wait_for("result", lambda d: d["vote"] == motion)
    expected = tally(hall.spec(motion), MEMBERS, 40, [{regulation: "yes"}])
    assert published["result"] == expected
    closed = [e["data"] for e in hall.entries() if e["type"] == "vote_closed"]
    assert closed == [{"vote": motion, "members": MEMBERS, "present": 40, "cast": 1,
                       "reason": "deadline", "by": None}]  # fmt: skip
    assert hall.vote_row(motion)["state"] == "closed"
    refused(hall, "vote_not_open", lambda: tablet.call("ballot", late))
    assert tablet.call("ballot", sent) == receipt  # the receipt is still recoverable
    hall.verify()
    for channel in (presidium, display, tablet):
        channel.close()
