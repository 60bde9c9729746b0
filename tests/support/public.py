"""A sitting whose votes are in every state, for the public results' tests
(tests/test_public.py, tests/test_publish_cli.py, tests/test_browser_public.py).

On the demo committee (61 seats) of an app (``make_live_app``): seats 1–40 have a
tablet and sign in on it, seat 41 is signed in by staff and never presses, the rest
are absent. Then, through the services the socket handlers call:

- ``named``: the motion, named (记名), pressed by seats 1–40, closed and announced;
- ``secret``: the evaluation, secret (无记名), pressed by 1–40, closed and announced;
- ``closed``: the selection, named, pressed, closed — not announced;
- ``cancelled``: a re-run of the motion, opened then cancelled;
- ``draft``: another re-run, never opened;
- ``open``: a re-run of the selection, opened and left open.

Each seat's ballot is the kind's random ballot (``Kind.random_ballot``) from a fixed
seed, so the tests know what each deputy chose without naming a kind.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select

from crypto import KioskKey, b64encode
from crypto.statements import ballot_bytes, participation_bytes
from rules.kinds import kind_of
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import AttendanceMethod, Vote
from voting_server.services import attendance, devices
from voting_server.services.transactions import write_transaction
from voting_server.services.voter import Voter
from voting_server.services.voting import Voting

PRESSING = range(1, 41)  # seats that sign in on their tablet and press
SILENT = 41  # signed in by staff, never presses (未按)
PRESIDIUM = 1  # the ``by`` of the presidium's steps


@dataclass
class PublicHall:
    votes: dict[str, int]  # state name → vote id (see the module's docstring)
    ballots: dict[int, dict[int, Any]] = field(default_factory=dict)  # vote → seat → ballot
    body: int = 0


def _press_all(s: Any, hall: Voting, vote: Vote, voters: dict[int, Voter],
               keys: dict[int, KioskKey], rng: random.Random) -> dict[int, Any]:  # fmt: skip
    spec = vote.spec()
    pressed = {}
    for seat in PRESSING:
        ballot = kind_of(spec.kind).random_ballot(spec, rng)
        nonce = secrets.token_urlsafe(16)
        signature = b64encode(keys[seat].sign(ballot_bytes(vote.id, seat, nonce, ballot)))
        participation = b64encode(keys[seat].sign(participation_bytes(vote.id, seat, nonce)))
        hall.cast(s, audit_log(), voters[seat], vote.id, nonce, ballot, signature, participation)
        pressed[seat] = ballot
    return pressed


def public_hall(app: Flask, seed: int = 7) -> PublicHall:
    rng = random.Random(seed)
    hall = PublicHall(votes={})
    with app.app_context():
        service = voting()
        keys = {seat: KioskKey.generate() for seat in PRESSING}
        voters: dict[int, Voter] = {}
        with write_transaction(sessions()) as s:
            votes = {v.kind: v for v in s.scalars(select(Vote).order_by(Vote.id))}
            body_id = next(iter(votes.values())).owner_body_id()
            hall.body = body_id
            sitting = attendance.current_sitting(s, body_id)
            assert sitting is not None
            for seat in PRESSING:
                code = devices.issue_enrollment_code(s, body_id, seat, None)
                device = devices.enroll_device(s, audit_log(), code, keys[seat].public.spki_b64)
                voters[seat] = Voter(seat=seat, device=device.id, body=body_id)
                member = attendance.member_at_seat(s, body_id, seat)
                assert member is not None
                attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.KIOSK_PIN,
                                   device=device.id)  # fmt: skip
            silent = attendance.member_at_seat(s, body_id, SILENT)
            assert silent is not None
            attendance.sign_in(s, audit_log(), sitting, silent, AttendanceMethod.OPERATOR, by=None)
            votes["motion"].secret = False
            votes["selection"].secret = False
            votes["evaluation"].secret = True
            hall.votes = {"named": votes["motion"].id, "secret": votes["evaluation"].id,
                          "closed": votes["selection"].id}  # fmt: skip
        for name in ("named", "secret", "closed"):
            with write_transaction(sessions()) as s:
                service.open_vote(s, audit_log(), hall.votes[name], PRESIDIUM, None)
            with write_transaction(sessions()) as s:
                vote = s.get(Vote, hall.votes[name])
                assert vote is not None
                hall.ballots[vote.id] = _press_all(s, service, vote, voters, keys, rng)
            with write_transaction(sessions()) as s:
                service.close_vote(s, audit_log(), hall.votes[name], PRESIDIUM, "presidium")
            if name != "closed":
                with write_transaction(sessions()) as s:
                    service.announce(s, audit_log(), hall.votes[name], PRESIDIUM)
        with write_transaction(sessions()) as s:
            hall.votes["cancelled"] = service.rerun_vote(s, hall.votes["named"]).id
            hall.votes["draft"] = service.rerun_vote(s, hall.votes["named"]).id
            hall.votes["open"] = service.rerun_vote(s, hall.votes["closed"]).id
        with write_transaction(sessions()) as s:
            service.open_vote(s, audit_log(), hall.votes["cancelled"], PRESIDIUM, None)
        with write_transaction(sessions()) as s:
            service.cancel_vote(s, audit_log(), hall.votes["cancelled"], PRESIDIUM, "测试取消")
        with write_transaction(sessions()) as s:
            service.open_vote(s, audit_log(), hall.votes["open"], PRESIDIUM, None)
    return hall
