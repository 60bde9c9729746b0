"""The vote lifecycle and the ballot path, at the service level, on a real database.

Each test runs a piece of a sitting of the demo committee (61 members), then
checks what a scrutineer would: the published result, the audit log
verified offline, and that refusals changed nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select

import tests.support.service_hall as service_hall
from crypto import KioskKey, b64encode
from rules import tally
from rules.kinds import KeyPolicy, LiveTally, VoteKind
from tests.support.service_hall import Hall, refused
from voting_server.models import AttendanceMethod, Press, Vote, VoteState
from voting_server.services import attendance
from voting_server.services.refusals import Refusal
from voting_server.services.voter import Voter
from voting_server.services.voting import Prechecked, Voting

hall = service_hall.hall  # the fixture: the demo committee with 61 enrolled kiosks


def test_named_motion_counts_the_last_press_and_verifies(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.sign_in(*range(1, 41))  # 40 of 61 present
    hall.open(vote)
    subject = json.loads(hall.lines()[-2])["data"]["vote"]["config"]["subjects"][0]
    for seat in range(1, 35):
        hall.press(seat, vote, {subject: "yes" if seat <= 30 else "no"})
    hall.press(1, vote, {subject: "no"})  # changes the mind: last press counts
    first = hall.press(2, vote, {subject: "abstain"})
    assert first.press == 2
    result = hall.close(vote)
    assert result["cast"] == 34 and result["present"] == 40 and result["not_voted"] == 6
    counts = result["subjects"][subject]
    assert (counts["yes"], counts["no"], counts["abstain"]) == (28, 5, 1)
    assert counts["required"] == 31 and counts["passed"] is False  # 28 < 31 of 61 members
    hall.verify()


def test_secret_evaluation_keeps_no_link_and_verifies(hall: Hall) -> None:
    vote = hall.configure(VoteKind.EVALUATION, secret=True)
    hall.sign_in(*range(1, 51))
    hall.open(vote)
    assert (hall.key_dir / f"vote-{vote}.key").exists()
    with hall.sessions() as s:
        subjects = s.get(Vote, vote).spec().subjects  # type: ignore[union-attr]
    marks = ["satisfied", "basic", "unsatisfied"]
    cast = {}
    for seat in range(1, 46):
        ballot = {subj: marks[(seat + i) % 3] for i, subj in enumerate(subjects)}
        cast[seat] = ballot
        hall.press(seat, vote, ballot)
    with hall.sessions() as s:  # while open: sealed, and no plaintext anywhere
        rows = s.scalars(select(Press).where(Press.vote_id == vote)).all()
        assert all(r.sealed and r.ballot is None for r in rows)
    for line in hall.lines():
        entry = json.loads(line)
        assert entry["type"] != "ballot" and "ballot" not in entry["data"]
    result = hall.close(vote)
    assert not (hall.key_dir / f"vote-{vote}.key").exists()
    with hall.sessions() as s:
        assert (
            s.scalar(select(func.count()).where(Press.vote_id == vote, Press.sealed.is_not(None)))
            == 0
        )
    assert result == tally(_spec(hall, vote), 61, 50, list(cast.values()))
    released = [json.loads(line) for line in hall.lines() if b'"ballots_released"' in line]
    assert len(released) == 1 and len(released[0]["data"]["ballots"]) == 45
    hall.verify()


def _spec(hall: Hall, vote: int):
    with hall.sessions() as s:
        return s.get(Vote, vote).spec()  # type: ignore[union-attr]


def test_first_press_refuses_a_change(hall: Hall) -> None:
    vote = hall.configure(VoteKind.SELECTION, secret=False, key_policy=KeyPolicy.FIRST_PRESS)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    candidates = list(_spec(hall, vote).candidates)
    hall.press(1, vote, candidates[:10])
    refused("already_voted", hall, lambda: hall.press(1, vote, candidates[2:12]))
    result = hall.close(vote)
    assert result["selection"]["votes"][candidates[0]] == 1
    hall.verify()


def test_resending_the_same_nonce_returns_the_same_receipt(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=True)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    subject = _spec(hall, vote).subjects[0]
    first = hall.press(5, vote, {subject: "yes"}, nonce="n" * 22)
    entries = hall.entries()
    again = hall.press(5, vote, {subject: "yes"}, nonce="n" * 22)
    assert again == first and hall.entries() == entries
    refused("nonce_reused", hall, lambda: hall.press(6, vote, {subject: "no"}, nonce="n" * 22))
    result = hall.close(vote)
    assert result["cast"] == 1 and result["subjects"][subject]["yes"] == 1
    hall.verify()


def test_every_bad_ballot_is_refused_and_changes_nothing(hall: Hall) -> None:
    vote = hall.configure(VoteKind.SELECTION, secret=True)
    hall.sign_in(*range(1, 40))
    refused("vote_not_open", hall, lambda: hall.press(1, vote, []))
    hall.open(vote)
    candidates = list(_spec(hall, vote).candidates)
    refused("unknown_vote", hall, lambda: hall.press(1, 999, []))
    refused("not_signed_in", hall, lambda: hall.press(50, vote, candidates[:1]))
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, candidates[:11]))  # 11 > 10 seats
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, ["p01", "p01"]))
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, ["nonexistent"]))
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, {"a": "yes"}))
    other = b64encode(hall.keys[2].sign(b"something else"))
    refused("bad_signature", hall, lambda: hall.press(1, vote, candidates[:3], signature=other))
    refused(
        "bad_signature",
        hall,
        lambda: hall.press(1, vote, candidates[:3], participation_signature=other),
    )
    refused(
        "bad_signature", hall, lambda: hall.press(1, vote, candidates[:3], signature="not base64!")
    )
    # a kiosk claiming another seat than the one its key is bound to
    stolen = Voter(seat=2, device=hall.voters[1].device, body=1)
    refused("wrong_seat", hall, lambda: hall.press(2, vote, candidates[:3], voter=stolen))
    hall.press(1, vote, candidates[:3])
    hall.close(vote)
    hall.verify()


def test_a_signature_checked_on_arrival_counts_only_against_the_stored_key(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    subject = _spec(hall, vote).subjects[0]
    # signed with another key and checked on arrival against that key: both verdicts
    # True, but it is not the device's key, so the batch checks again and refuses
    intruder = KioskKey.generate()
    forged = hall.request(1, vote, {subject: "no"}, key=intruder)
    forged = hall.voting.precheck(forged, intruder.public.spki_b64)
    assert forged.checked == Prechecked(intruder.public.spki_b64, True, True)
    # a verdict False against the stored key is the batch's verdict
    marked_bad = replace(
        hall.request(2, vote, {subject: "yes"}),
        checked=Prechecked(hall.keys[2].public.spki_b64, True, False),
    )
    good = hall.voting.precheck(
        hall.request(3, vote, {subject: "yes"}), hall.keys[3].public.spki_b64
    )
    assert good.checked is not None and good.checked.ballot_ok and good.checked.participation_ok
    before = hall.entries()
    outcomes = hall.cast_batch([forged, marked_bad, good])
    assert [o.code if isinstance(o, Refusal) else "ok" for o in outcomes] == [
        "bad_signature", "bad_signature", "ok"]  # fmt: skip
    assert outcomes[1].detail == "participation signature"
    assert hall.entries() == before + 1 and hall.presses() == 1
    result = hall.close(vote)
    assert result["cast"] == 1 and result["subjects"][subject]["yes"] == 1
    hall.verify()


def test_no_quorum_refuses_to_open(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION)
    hall.sign_in(*range(1, 31))  # 30 of 61: not more than half
    refused("no_quorum", hall, lambda: hall.open(vote))
    hall.sign_in(31)
    hall.open(vote)


def test_secret_votes_refuse_a_live_breakdown(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=True, live_tally=LiveTally.BREAKDOWN)
    hall.sign_in(*range(1, 40))
    refused("bad_configuration", hall, lambda: hall.open(vote))


def test_a_restart_mid_vote_resumes_with_every_acknowledged_ballot(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=True)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    subject = _spec(hall, vote).subjects[0]
    for seat in range(1, 11):
        hall.press(seat, vote, {subject: "yes"})
    hall.press(3, vote, {subject: "no"})
    hall.voting = Voting(hall.key_dir)  # the process died; a new one starts
    with hall.tx() as s:
        assert hall.voting.resume(s, hall.log) == [vote]
    for seat in range(11, 21):
        hall.press(seat, vote, {subject: "no"})
    hall.press(4, vote, {subject: "abstain"})
    refused(
        "nonce_reused",
        hall,
        lambda: hall.press(30, vote, {subject: "yes"}, nonce=_first_nonce(hall, vote)),
    )
    result = hall.close(vote)["subjects"][subject]
    assert (result["yes"], result["no"], result["abstain"]) == (8, 11, 1)
    hall.verify()


def _first_nonce(hall: Hall, vote: int) -> str:
    with hall.sessions() as s:
        return (
            s.scalars(select(Press.nonce).where(Press.vote_id == vote).order_by(Press.id)).first()
            or ""
        )


def test_a_lost_vote_key_cancels_the_vote_loudly(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=True)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    (hall.key_dir / f"vote-{vote}.key").unlink()
    restarted = Voting(hall.key_dir)
    with hall.tx() as s:
        assert restarted.resume(s, hall.log) == []
    with hall.sessions() as s:
        assert s.get(Vote, vote).state is VoteState.CANCELLED  # type: ignore[union-attr]
    hall.verify()


def test_cancel_rerun_and_announce(hall: Hall) -> None:
    vote = hall.configure(VoteKind.MOTION, secret=True)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    subject = _spec(hall, vote).subjects[0]
    hall.press(1, vote, {subject: "yes"})
    with hall.tx() as s:
        hall.voting.cancel_vote(s, hall.log, vote, 1, "设备故障")
    assert not (hall.key_dir / f"vote-{vote}.key").exists()
    refused("vote_not_open", hall, lambda: hall.press(2, vote, {subject: "yes"}))
    with hall.tx() as s:
        rerun = hall.voting.rerun_vote(s, vote).id
    with hall.sessions() as s:
        again = s.get(Vote, rerun)
        assert again.rerun_of_id == vote and again.state is VoteState.DRAFT  # type: ignore[union-attr]
    hall.open(rerun)
    hall.press(1, rerun, {subject: "yes"})
    hall.close(rerun)
    refused("vote_not_draft", hall, lambda: hall.open(rerun))
    with hall.tx() as s:
        hall.voting.announce(s, hall.log, rerun, 1)
    refused("vote_not_closed", hall, lambda: _announce(hall, rerun))
    hall.verify()


def _announce(hall: Hall, vote: int) -> None:
    with hall.tx() as s:
        hall.voting.announce(s, hall.log, vote, 1)


def test_deadline_makes_a_vote_due(hall: Hall) -> None:
    from datetime import UTC, datetime, timedelta

    vote = hall.configure(VoteKind.MOTION)
    hall.sign_in(*range(1, 40))
    hall.open(vote, duration_s=60)
    now = datetime.now(UTC)
    assert hall.voting.due(now) == []
    assert hall.voting.due(now + timedelta(seconds=61)) == [vote]


def test_staff_sign_in_of_many_members_at_once_logs_each_and_refuses_the_lot_on_any_error(
    hall: Hall,
) -> None:
    """``sign_in_many`` (a whole hall marked present by staff): one signed_in entry per
    member, the roster logged once at most; one member already present refuses them all."""
    hall.sign_in(5)
    with hall.sessions() as s:
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        sitting_id = sitting.id

    def many(seats: range | list[int]) -> Any:
        with hall.tx() as s:
            sitting = attendance.current_sitting(s, 1)
            assert sitting is not None
            members = [attendance.member_at_seat(s, 1, seat) for seat in seats]
            return attendance.sign_in_many(
                s, hall.log, sitting, members, AttendanceMethod.OPERATOR, by=1
            )

    refused("already_signed_in", hall, lambda: many(range(1, 11)))  # seat 5 is present
    refused("already_signed_in", hall, lambda: many([6, 7, 6]))
    with hall.sessions() as s:
        assert attendance.present_count(s, sitting_id) == 1
    before = len(hall.lines())
    quorum = many([*range(1, 5), *range(6, 41)])
    assert quorum.present == 40 and quorum.quorate
    added = [json.loads(line) for line in hall.lines()[before:]]
    assert [e["type"] for e in added if e["type"] != "checkpoint"] == ["signed_in"] * 39
    assert sorted(e["data"]["seat"] for e in added if e["type"] == "signed_in") == [
        *range(1, 5), *range(6, 41)
    ]  # fmt: skip
    assert all(e["data"]["method"] == "operator" for e in added if e["type"] == "signed_in")
    hall.verify()


def test_the_recount_of_several_processes_counts_each_press_once(hall: Hall) -> None:
    # Under the scale-out stack each process stores only the presses that reached it
    # and recounts the others' from the database (refresh_presses, read incrementally).
    vote = hall.configure(VoteKind.MOTION, secret=False, live_tally=LiveTally.BREAKDOWN)
    hall.sign_in(*range(1, 40))
    hall.open(vote)
    subject = _spec(hall, vote).subjects[0]
    other = Voting(hall.key_dir)  # a second server process on the same database
    with hall.tx() as s:
        assert other.resume(s, hall.log) == [vote]

    def press_at(voting: Voting, seat: int, mark: str) -> None:
        hall.press(seat, vote, {subject: mark}, by=voting)

    def counts(voting: Voting) -> tuple[int, int, dict[str, int]]:
        state = voting.open[vote]
        with hall.sessions() as s:
            voting.refresh_presses(s, state)
        live = Voting.live_counts(state, 39)
        assert live is not None
        presses = sum(state.pressed.presses.values())  # each press once, changes of mind included
        return Voting.participation(state, 39)["voted"], presses, live["counts"][subject]

    for seat in range(1, 6):
        press_at(hall.voting, seat, "yes")
    for seat in range(6, 9):
        press_at(other, seat, "no")
    assert counts(hall.voting)[:2] == (8, 8)
    assert counts(hall.voting)[:2] == (8, 8)  # a second recount adds nothing
    press_at(hall.voting, 9, "abstain")  # recorded in memory after its commit …
    press_at(other, 1, "no")  # … a change of mind, stored by the other process
    voted, presses, marks = counts(hall.voting)  # … then both read once, not twice
    assert (voted, presses) == (9, 10)
    assert (marks["yes"], marks["no"], marks["abstain"]) == (4, 4, 1)
    assert counts(other) == (voted, presses, marks)
    result = hall.close(vote)["subjects"][subject]
    assert (result["yes"], result["no"], result["abstain"]) == (4, 4, 1)
    hall.verify()
