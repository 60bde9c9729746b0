"""Log entry types have one home (audit/entry_types.py): every type the server
writes in a real sitting is listed there, the verifier has a handler for each
and rejects any other by name, and the auditor's page filters by the same list."""

from __future__ import annotations

import json

from audit.entry_types import DESCRIPTIONS, NAMES, EntryType, entry_type
from audit.verify import Replay, verify_log
from crypto import KioskKey
from rules import VoteKind
from tests.support import paper, service_hall, trustees
from tests.support.bodies import only_body_id
from tests.support.logs import LogBuilder
from tests.support.service_hall import Hall
from tests.test_trustee_votes_hall import _cast, _decrypt, _encrypted
from voting_server.models import AttendanceMethod, StaffRole, Vote
from voting_server.services import attendance, devices, records, staff, supervision, trustee_votes
from voting_server.views.audit import ENTRY_TYPES

hall = service_hall.hall  # the fixture: the demo committee with 61 enrolled kiosks


def test_the_registry_describes_every_type_once() -> None:
    assert set(DESCRIPTIONS) == set(EntryType) and len(NAMES) == len(EntryType)
    assert all(text.strip() for text in DESCRIPTIONS.values())
    assert entry_type("ballot") is EntryType.BALLOT
    assert set(ENTRY_TYPES) == NAMES  # the audit page's filter
    replay = Replay(b"\0" * 32)  # a handler for each type (its constructor looks them up)
    assert all(callable(getattr(replay, f"on_{t.value}")) for t in EntryType)


def _sitting(hall: Hall) -> None:
    """A sitting that writes every kind of entry the services write: staff and
    scrutineers, a replacement tablet, sign-ins by tablet and by staff, a named
    vote announced and countersigned, a secret one, and one counted on paper."""
    u = paper.users(hall)  # staff_created, scrutineers_designated
    # a key ceremony that fails on a complaint, then one that makes the key: trustee_*
    key = trustees.ceremonies(hall, u["zhu"], [u["jp1"], u["jp2"]], paper.SITTING)
    with hall.tx() as s:
        staff.change_role(s, u["jp3"].id, StaffRole.DISPLAY, log=hall.log, by=u["sec"].id)
        body = only_body_id(s)  # scoped to the one body it already served: logged all the same
        staff.set_scope(s, u["jp3"].id, [body], log=hall.log, by=u["sec"].id)
        staff.deactivate_user(s, u["jp3"].id, log=hall.log, by=u["sec"].id)
        # seat 61's tablet is replaced: requested, confirmed by the presidium, old one revoked
        code = devices.issue_enrollment_code(s, 1, 61, None)
        new = devices.enroll_device(s, hall.log, code, KioskKey.generate().public.spki_b64)
        devices.decide_replacement(s, hall.log, new.id, True, u["zhu"].id, "presidium")
        code = devices.issue_enrollment_code(s, 1, 60, None)
        other = devices.enroll_device(s, hall.log, code, KioskKey.generate().public.spki_b64)
        devices.decide_replacement(s, hall.log, other.id, False, u["zhu"].id, "presidium")
        devices.reset_pin(s, hall.log, 1, 58, u["sec"].id)  # one seat's new PIN: pins_reset
    hall.sign_in(*range(1, 56))
    with hall.tx() as s:
        sitting = attendance.current_sitting(s, 1)
        member = attendance.member_at_seat(s, 1, 59)
        assert sitting is not None and member is not None
        attendance.sign_in(s, hall.log, sitting, member, AttendanceMethod.OPERATOR, by=u["sec"].id)
        attendance.confirm_pin(s, hall.log, sitting, member, hall.voters[59].device)
        on_leave = attendance.member_at_seat(s, 1, 57)  # 请假: leave_recorded
        assert on_leave is not None
        records.record_leave(s, hall.log, sitting, on_leave, "病假", by=u["sec"].id,
                             by_role="secretariat")  # fmt: skip
    named = hall.configure(VoteKind.MOTION, secret=False)
    hall.open(named)
    hall.press(1, named, {"regulation": "yes"})
    hall.close(named)
    with hall.tx() as s:
        hall.voting.announce(s, hall.log, named, u["zhu"].id)
    paper.sign(hall, named, u["zhu"], "result")
    # a trustee-mode secret vote (a re-run of the motion): encrypted_ballot, aggregates,
    # decryption_share, and its result
    with hall.tx() as s:
        encrypted = hall.voting.rerun_vote(s, named).id
        s.get(Vote, encrypted).secret = True  # type: ignore[union-attr]
        trustee_votes.set_trustee_mode(s, encrypted, True)
    hall.open(encrypted)
    _cast(hall, encrypted, 3, *_encrypted(hall, encrypted, 3, {"regulation": "no"}))
    hall.close(encrypted)
    for index, user in ((1, u["jp1"]), (2, u["jp2"])):
        _decrypt(hall, encrypted, user, index, key["secret_shares"][index])
    with hall.tx() as s:  # a tracked item (督办事项): item_changed
        proposal = supervision.Proposal("project", "新建城南小学", 2026, "public")
        supervision.propose(s, hall.log, only_body_id(s), u["sec"].id, proposal)
    secret = hall.configure(VoteKind.EVALUATION, secret=True)
    hall.open(secret)
    with hall.sessions() as s:
        subjects = s.get(Vote, secret).spec().subjects  # type: ignore[union-attr]
    hall.press(2, secret, dict.fromkeys(subjects, "satisfied"))
    hall.close(secret)
    failed = hall.votes[VoteKind.SELECTION]
    hall.open(failed)
    with hall.tx() as s:
        hall.voting.cancel_vote(s, hall.log, failed, u["zhu"].id, paper.FAILURE)
    ballots = [["p01", "p02"], ["p01"]]
    paper.enter(hall, failed, u["sec"], "ballots", present=56, ballots=ballots, counts=None)
    paper.sign(hall, failed, u["jp1"])
    paper.sign(hall, failed, u["jp2"])


def test_every_type_the_server_writes_is_in_the_registry(hall: Hall) -> None:
    _sitting(hall)
    written = {json.loads(line)["type"] for line in hall.lines()}
    assert written <= NAMES, written - NAMES
    # the sitting above writes every type; a new one must be added to it and to the registry
    assert written == NAMES, NAMES - written
    hall.verify()


def test_the_verifier_rejects_an_unknown_type_by_name() -> None:
    log = LogBuilder()
    k = log.append("vote_reopened", {"vote": 1})
    report = verify_log(log.lines, log.server.public_bytes)
    assert report.errors == [{"index": k, "reason": "unknown entry type 'vote_reopened'"}]
