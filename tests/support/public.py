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


@dataclass
class PublicItems:
    """Tracked items (督办事项) added to a ``PublicHall`` by ``public_items``."""

    project: int  # proposed by a member of the public, shortlisted, in a draft ballot
    department_project: int  # proposed by a department, likewise
    draft_vote: int  # the selection vote generated from them: never opened
    topic: int  # a special report, evaluated in an announced vote (no presses)
    evaluation: int  # that announced vote
    public_name: str = "城南居民张某某"  # who proposed ``project``: never shown
    staff_names: tuple[str, ...] = ("秘书处甲某", "主持人乙某")  # never shown


def public_items(app: Flask, hall: PublicHall) -> PublicItems:
    """Through the services the staff pages call: two projects shortlisted into a draft
    selection vote, and a topic whose evaluation is opened, closed (nobody presses) and
    announced — so one item's vote may be linked and the other's may not. The hall's
    ``open`` vote is closed meanwhile and re-run, so ``hall.votes["open"]`` is open again."""
    from voting_server.models import StaffRole
    from voting_server.services import staff, supervision

    with app.app_context():
        service = voting()
        with write_transaction(sessions()) as s:
            log = audit_log()
            sec = staff.create_user(s, "items-sec", "秘书处甲某", StaffRole.SECRETARIAT,
                                    secrets.token_urlsafe(16), log=log, bodies=[hall.body])  # fmt: skip
            zhu = staff.create_user(s, "items-zhu", "主持人乙某", StaffRole.PRESIDIUM,
                                    secrets.token_urlsafe(16), log=log, bodies=[hall.body])  # fmt: skip
            propose = lambda title, **kw: supervision.propose(  # noqa: E731
                s, log, hall.body, sec.id,
                supervision.Proposal(title=title, year=2027, **kw)).id  # fmt: skip
            road = propose("农村公路提档升级", kind="project", source="public",
                           proposer_name="城南居民张某某")  # fmt: skip
            school = propose("新建城南小学", kind="project", source="department",
                             proposer_name="县教育局")  # fmt: skip
            topic = propose("农村公路养护专项工作报告", kind="topic", source="complaints",
                            department="县交通运输局")  # fmt: skip
            for item in (road, school):
                supervision.change(s, log, item, "shortlist", zhu.id)
            sitting = attendance.current_sitting(s, hall.body)
            assert sitting is not None
            draft = supervision.generate_selection_vote(s, log, sitting.id, [road, school], 1,
                                                        zhu.id).id  # fmt: skip
            evaluation = supervision.generate_evaluation_vote(s, log, sitting.id, [topic],
                                                              zhu.id).id  # fmt: skip
            chair = zhu.id
        # one vote open at a time: the hall's open vote is closed, and re-run afterwards
        with write_transaction(sessions()) as s:
            service.close_vote(s, audit_log(), hall.votes["open"], chair, "presidium")
        with write_transaction(sessions()) as s:
            service.open_vote(s, audit_log(), evaluation, chair, None)
        with write_transaction(sessions()) as s:
            service.close_vote(s, audit_log(), evaluation, chair, "presidium")
        with write_transaction(sessions()) as s:
            service.announce(s, audit_log(), evaluation, chair)
        with write_transaction(sessions()) as s:
            hall.votes["open"] = service.rerun_vote(s, hall.votes["open"]).id
        with write_transaction(sessions()) as s:
            service.open_vote(s, audit_log(), hall.votes["open"], chair, None)
    return PublicItems(road, school, draft, topic, evaluation)
