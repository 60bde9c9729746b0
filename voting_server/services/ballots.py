"""The deputies' ballots: checked, logged and stored in batches committed together.

A ballot arrives from a kiosk (sockets/voting.py), has its two signatures
checked beside the event loop (``precheck``, services/signatures.py), and joins
the batch of ballots committed together (services/group_commit.py, which calls
``cast_batch``). A batch is decided with a few queries whatever its size; each
ballot is acknowledged with its receipt only after the commit. In a secret vote
the choice is padded and sealed under the vote key (docs/secret-ballot.md) and
the log holds only the participation. In a trustee-mode secret vote
(docs/trustee-votes.md) the kiosk sends the ballot encrypted, with its proofs:
the signature and the proofs are checked in the checker process, and the log
holds the encrypted ballot (``encrypted_ballot``); nothing is sealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from audit.entry import canonical_bytes
from audit.entry_types import EntryType
from crypto import CryptoError, b64decode
from crypto.statements import ballot_bytes, encrypted_ballot_bytes, participation_bytes
from rules import VoteSpec
from rules.congress import MemberRole, may_cast
from rules.kinds import KeyPolicy, kind_of
from rules.schema import electronic_ballot_error
from voting_server.db import insert_rows
from voting_server.models import Attendance, Device, Member, Press, Vote, utcnow
from voting_server.services.audit_log import Appended, AuditLog
from voting_server.services.open_votes import OpenVote, OpenVotes
from voting_server.services.refusals import Refusal
from voting_server.services.signatures import PROOF, Check, ProofCheck, SignatureChecker
from voting_server.services.transactions import after_commit
from voting_server.services.trustee_votes import TrusteeContext, shape_error
from voting_server.services.voter import Voter

_now = utcnow  # the clock of every vote time (aware UTC), under the name the code reads


def vote_aad(vote_id: int) -> bytes:
    """Associated data binding a sealed ballot to its vote."""
    return f"vote:{vote_id}".encode()


def sealed_size(spec: VoteSpec) -> int:
    """The size every ballot of a vote is padded to before sealing: that of its longest
    valid ballot (every subject marked with the longest mark; as many of the longest
    candidate ids as there are seats).

    AES-GCM hides the bytes, not their number. Unpadded, ``{"m":"no"}`` and
    ``{"m":"abstain"}`` seal to different sizes, and so does a selection of 3 projects
    and one of 9: whoever could read the press rows — during the vote, or later in a
    backup, the WAL or a dead tuple, next to the member id — read each deputy's choice
    off the size, without the key.
    """
    return len(canonical_bytes(kind_of(spec.kind).longest_ballot(spec)))


def pad_ballot(ballot: Any, spec: VoteSpec) -> bytes:
    """The ballot's canonical JSON padded with spaces to ``sealed_size`` (JSON allows
    trailing whitespace: ``json.loads`` reads the ballot back unchanged). A valid
    ballot is never longer; an invalid one never reaches the sealing."""
    plain = canonical_bytes(ballot)
    return plain + b" " * max(0, sealed_size(spec) - len(plain))


@dataclass(frozen=True)
class Receipt:
    vote: int
    nonce: str
    entry: int
    entry_hash: str
    server_sig: str
    press: int
    secret: bool

    def to_json(self) -> dict[str, Any]:
        return {"vote": self.vote, "nonce": self.nonce, "entry": self.entry,
                "entry_hash": self.entry_hash, "server_sig": self.server_sig,
                "press": self.press, "secret": self.secret}  # fmt: skip


@dataclass(frozen=True)
class Prechecked:
    """The ballot's two signatures, checked on arrival against ``key`` (the device's
    key when the kiosk authenticated). The batch uses these verdicts only if the
    device's stored key is still ``key``. An encrypted ballot: its signature, and its
    proofs (``participation_ok``) checked for ``member``, whose id they are bound to."""

    key: str
    ballot_ok: bool
    participation_ok: bool
    member: int | None = None


@dataclass(frozen=True)
class BallotRequest:
    """A ballot as the kiosk sent it (the socket handler has checked its shape)."""

    voter: Voter
    vote_id: int
    nonce: str
    ballot: Any
    signature: str
    participation_signature: str
    checked: Prechecked | None = None
    encrypted: bool = False  # a trustee-mode ballot: ``ballot`` is the encrypted wire form


@dataclass(frozen=True)
class _Accepted:
    """A request of a batch that passed every check: what to log and store."""

    index: int
    state: OpenVote
    member_id: int
    press_no: int
    entry_type: str
    entry_data: dict[str, Any]
    attending: bool = False  # a 列席代表's press, counted apart from the members'


class Ballots:
    """The ballot path of one server process, over its open votes."""

    def __init__(self, votes: OpenVotes) -> None:
        self.votes = votes
        self.signatures = SignatureChecker()

    def precheck(self, request: BallotRequest, key: str) -> BallotRequest:
        """``request`` with its signatures checked against ``key`` (base64 SPKI), as the
        ballot arrives and before it joins a batch: in the server the checks run in the
        checker process while the event loop goes on (services/signatures.py)."""
        member = None
        try:
            if request.encrypted:
                state = self.votes.open.get(request.vote_id)
                trustee = state.trustee if state is not None else None
                member = trustee.seat_members.get(request.voter.seat or 0) if trustee else None
                if trustee is None or member is None:
                    return request  # the batch decides, with the vote as the database has it
                if shape_error(trustee.manifest, request.ballot) is not None:
                    return request  # the batch refuses it, naming the place
                checks = _encrypted_checks(request, key, trustee, member)
            else:
                checks = _signature_checks(request, key)
        except Refusal:
            return request  # undecodable: the batch refuses it, after the vote's own checks
        verdicts = self.signatures.verify(checks)
        return replace(request, checked=Prechecked(key, *verdicts, member=member))

    def cast(
        self,
        session: Session,
        log: AuditLog,
        voter: Voter,
        vote_id: int,
        nonce: str,
        ballot: Any,
        signature: str,
        participation_signature: str,
        encrypted: bool = False,
    ) -> tuple[Receipt, OpenVote | None]:
        """One ballot through ``cast_batch``; raises its Refusal."""
        request = BallotRequest(voter, vote_id, nonce, ballot, signature, participation_signature,
                                encrypted=encrypted)  # fmt: skip
        outcome = self.cast_batch(session, log, [request])[0]
        if isinstance(outcome, Refusal):
            raise outcome
        return outcome

    def cast_batch(
        self, session: Session, log: AuditLog, requests: Sequence[BallotRequest]
    ) -> list[tuple[Receipt, OpenVote | None] | Refusal]:
        """The ballot path (docs/protocol.md, docs/performance.md) for ballots committed
        together: validate each, log and store the valid ones; receipts on commit.

        Each outcome is the receipt and the open vote it changed — ``None`` for a resend
        of a ballot already stored (the same receipt, even after close, so a kiosk that
        lost the answer recovers it) — or the ballot's Refusal. A refused ballot writes
        nothing, so it never needs a rollback.

        Precondition: at most one request per seat (a member's press number is counted
        from the database, which holds the presses of every earlier commit), and the
        caller holds the write transaction. Everything a ballot is checked against is
        read here from the database, a few queries for the whole batch: with several
        server processes, a vote opened, a press stored or a device revoked by another
        process is seen (docs/deployment.md).
        """
        outcomes: list[tuple[Receipt, OpenVote | None] | Refusal | None] = [None] * len(requests)
        by_vote: dict[int, list[int]] = {}
        for i, r in enumerate(requests):
            if r.voter.seat is None or r.voter.device is None:
                outcomes[i] = Refusal("wrong_seat")
            else:
                by_vote.setdefault(r.vote_id, []).append(i)
        states = self.votes.current_states(session, set(by_vote))
        facts = _read_batch(session, states, requests, by_vote)
        writes: list[_Accepted] = []
        for vote_id, indexes in by_vote.items():
            self._check_vote_batch(
                session, vote_id, states.get(vote_id), requests, indexes, facts, outcomes, writes
            )
        # A batch may hold several bodies' ballots: each goes to its body's log, the
        # logs taken in the order of their ids (AuditLog.lock_all), entries in batch order.
        log.lock_all(session, (w.state.body_id for w in writes))
        by_body: dict[int, list[_Accepted]] = {}
        for w in writes:
            by_body.setdefault(w.state.body_id, []).append(w)
        where: dict[int, Appended] = {}
        for body_id in sorted(by_body):
            group = by_body[body_id]
            done = log.append_many(session, body_id, [(w.entry_type, w.entry_data) for w in group])
            where.update((w.index, entry) for w, entry in zip(group, done, strict=True))
        appended = [where[w.index] for w in writes]
        press_rows = []
        for w, entry in zip(writes, appended, strict=True):
            state, r = w.state, requests[w.index]
            receipt = Receipt(r.vote_id, r.nonce, entry.index, entry.hash, entry.sig,
                              w.press_no, state.secret)  # fmt: skip
            sealed = None
            if state.secret and state.trustee is None:
                assert state.key is not None
                sealed = state.key.seal(pad_ballot(r.ballot, state.spec), vote_aad(r.vote_id))
            press_rows.append({
                "vote_id": r.vote_id, "member_id": w.member_id, "nonce": r.nonce,
                "press_no": w.press_no, "entry_idx": entry.index,
                "receipt": {**receipt.to_json(), "seat": r.voter.seat,
                            **({"attending": True} if w.attending else {})},
                # trustee mode: the encrypted ballot (as logged), aggregated at close
                "ballot": r.ballot if state.trustee or not state.secret else None,
                "sealed": sealed,
            })  # fmt: skip
            outcomes[w.index] = (receipt, state)
            stored = None if state.secret else r.ballot
            seat = r.voter.seat or 0
            after_commit(
                session, partial(state.record_press, w.member_id, seat, stored, w.attending)
            )
        insert_rows(session, Press.__table__, press_rows)
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def _check_vote_batch(
        self,
        session: Session,
        vote_id: int,
        state: OpenVote | None,
        requests: Sequence[BallotRequest],
        indexes: list[int],
        facts: _BatchFacts,
        outcomes: list[Any],
        writes: list[_Accepted],
    ) -> None:
        """Decide every request of one vote from the batch's ``facts``: a Refusal or a
        resend into ``outcomes``, the accepted ones into ``writes``. No query, but the
        rare one telling an unknown vote from a closed one."""
        fresh = []
        for i in indexes:
            r = requests[i]
            if (receipt := facts.stored.get((vote_id, r.nonce))) is not None:
                if receipt.get("seat") != r.voter.seat:  # a resend: the same answer
                    outcomes[i] = Refusal("nonce_reused")
                else:
                    fields = Receipt.__dataclass_fields__
                    outcomes[i] = (Receipt(**{k: receipt[k] for k in fields}), None)
            elif state is None:
                exists = session.get(Vote, vote_id) is not None
                outcomes[i] = Refusal("vote_not_open" if exists else "unknown_vote")
            elif state.closes_at is not None and _now() >= state.closes_at:
                # The countdown is over; the deadline watcher closes the vote within
                # moments (or when the database answers again). A press now is late.
                outcomes[i] = Refusal("vote_not_open", "the countdown is over")
            elif r.voter.body != state.body_id:
                outcomes[i] = Refusal("wrong_seat")
            else:
                fresh.append(i)
        if not fresh or state is None:
            return
        signed: list[tuple[int, int]] = []  # request, member
        attending: set[int] = set()  # members pressing as 列席代表 (counted apart)
        unchecked: list[
            Check | ProofCheck
        ] = []  # of requests not checked on arrival against the stored key
        verdicts: dict[int, tuple[bool, bool]] = {}
        for i in fresh:
            r = requests[i]
            try:
                member = facts.members.get((state.body_id, r.voter.seat or 0))
                if member is None:
                    raise Refusal("unknown_member", f"seat {r.voter.seat} has no member")
                if not may_cast(
                    state.electorate, member.role, member.presidium, state.admits_attending
                ):
                    # 列席 (unless the evaluation admits them), or a deputy outside the
                    # presidium in a 主席团 vote: no ballot
                    raise Refusal("not_a_voter", f"seat {r.voter.seat} ({member.role.value})")
                signed_in = facts.attendance.get((member.id, state.sitting_id))
                if signed_in is None:
                    raise Refusal("not_signed_in")
                _check_form(state, r)
                key = self._device_key(r, facts.devices.get(r.voter.device or ""))
                if signed_in.pin_device != r.voter.device:  # 代为签到 only, or PIN elsewhere
                    raise Refusal("pin_required")
                checked = r.checked
                if (checked is not None and checked.key == key
                        and (not r.encrypted or checked.member == member.id)):  # fmt: skip
                    verdicts[i] = (checked.ballot_ok, checked.participation_ok)
                elif state.trustee is not None:
                    unchecked += _encrypted_checks(r, key, state.trustee, member.id)
                else:
                    unchecked += _signature_checks(r, key)
            except Refusal as refused:
                outcomes[i] = refused
                continue
            signed.append((i, member.id))
            if member.role is MemberRole.ATTENDEE:
                attending.add(member.id)
        late = iter(self.signatures.verify(unchecked))
        for i, _ in signed:
            if i not in verdicts:
                verdicts[i] = (next(late), next(late))
        for i, member_id in signed:
            r = requests[i]
            press_no = facts.pressed.get((vote_id, member_id), 0) + 1
            ballot_ok, participation_ok = verdicts[i]
            if not ballot_ok:
                outcomes[i] = Refusal("bad_signature", "ballot signature")
            elif not participation_ok and r.encrypted:
                outcomes[i] = Refusal("bad_proof", "the encrypted ballot's proofs do not verify")
            elif not participation_ok:
                outcomes[i] = Refusal("bad_signature", "participation signature")
            elif press_no > 1 and state.key_policy is KeyPolicy.FIRST_PRESS:
                outcomes[i] = Refusal("already_voted")
            else:
                data: dict[str, Any] = {"vote": vote_id, "seat": r.voter.seat,
                                        "nonce": r.nonce, "member": member_id,
                                        "device": r.voter.device, "press": press_no}  # fmt: skip
                if state.trustee is not None:
                    entry = (
                        EntryType.ENCRYPTED_BALLOT,
                        {**data, "ballot": r.ballot, "kiosk_sig": r.signature},
                    )
                elif state.secret:
                    entry = (
                        EntryType.PARTICIPATION,
                        {**data, "kiosk_sig": r.participation_signature},
                    )
                else:
                    entry = (
                        EntryType.BALLOT,
                        {**data, "ballot": r.ballot, "kiosk_sig": r.signature},
                    )
                writes.append(_Accepted(i, state, member_id, press_no, *entry,
                                        attending=member_id in attending))  # fmt: skip

    @staticmethod
    def _device_key(r: BallotRequest, device: Any) -> str:
        """The device's stored key (base64 SPKI); refuses unless the device is enrolled,
        not revoked and at the kiosk's seat. Both statements must be signed with it."""
        if device is None or device.revoked_at is not None or device.pending:
            raise Refusal("unknown_device")
        if device.seat != r.voter.seat:
            raise Refusal("wrong_seat")
        return str(device.public_key)


@dataclass(frozen=True)
class _BatchFacts:
    """What a batch's ballots are checked against, read for all its votes at once."""

    stored: dict[tuple[int, str], dict[str, Any]]  # (vote, nonce) → receipt already given
    members: dict[tuple[int, int], Any]  # (body, seat) → the active member sitting there
    attendance: dict[tuple[int, int], Any]  # (member, sitting) → the sign-in (签到)
    devices: dict[str, Any]  # device id → its enrollment
    pressed: dict[tuple[int, int], int]  # (vote, member) → presses stored so far


def _read_batch(
    session: Session,
    states: dict[int, OpenVote],
    requests: Sequence[BallotRequest],
    by_vote: dict[int, list[int]],
) -> _BatchFacts:
    """Four queries whatever the batch holds: with ten bodies voting at once, a batch
    spans ten votes, and reading per vote made forty.

    Precondition: every request in ``by_vote`` has a seat and a device. A request of a
    vote not open (no state) needs only its stored receipt, so nothing else is read
    for it. Reads a little more than needed (any of the batch's nonces in any of its
    votes, any of its members in any of its sittings), never less; the caller looks
    up exact keys."""
    nonces = {requests[i].nonce for indexes in by_vote.values() for i in indexes}
    stored = {
        (row.vote_id, row.nonce): row.receipt
        for row in session.execute(
            select(Press.vote_id, Press.nonce, Press.receipt).where(
                Press.vote_id.in_(list(by_vote)), Press.nonce.in_(nonces)
            )
        )
    }
    seats: dict[int, set[int]] = {}  # body → seats pressing in one of its open votes
    sittings: set[int] = set()
    device_ids: set[str] = set()
    for vote_id, indexes in by_vote.items():
        state = states.get(vote_id)
        if state is None:
            continue
        sittings.add(state.sitting_id)
        for i in indexes:
            seats.setdefault(state.body_id, set()).add(requests[i].voter.seat or 0)
            device_ids.add(requests[i].voter.device or "")
    if not seats:
        return _BatchFacts(stored, {}, {}, {}, {})
    members: dict[tuple[int, int], Any] = {}
    attendance: dict[tuple[int, int], Any] = {}
    rows = session.execute(
        select(
            Member.id,
            Member.body_id,
            Member.seat,
            Member.role,
            Member.presidium,
            Attendance.sitting_id,
            Attendance.pin_device,
        )
        .outerjoin(
            Attendance,
            (Attendance.member_id == Member.id) & Attendance.sitting_id.in_(sittings),
        )
        .where(
            Member.active,
            or_(*(
                (Member.body_id == body) & Member.seat.in_(body_seats)
                for body, body_seats in seats.items()
            )),
        )
    )  # fmt: skip
    for row in rows:
        members[(row.body_id, row.seat)] = row
        if row.sitting_id is not None:
            attendance[(row.id, row.sitting_id)] = row
    devices = {
        d.id: d
        for d in session.execute(
            select(
                Device.id, Device.seat, Device.revoked_at, Device.pending, Device.public_key
            ).where(Device.id.in_(device_ids))
        )
    }
    pressed: dict[tuple[int, int], int] = {
        (row.vote_id, row.member_id): row.presses
        for row in session.execute(
            select(Press.vote_id, Press.member_id, func.max(Press.press_no).label("presses"))
            .where(
                Press.vote_id.in_([v for v in by_vote if v in states]),
                Press.member_id.in_({m.id for m in members.values()}),
            )
            .group_by(Press.vote_id, Press.member_id)
        )
    }
    return _BatchFacts(stored, members, attendance, devices, pressed)


def _check_form(state: OpenVote, r: BallotRequest) -> None:
    """The ballot has the vote's form: plain and valid, or in trustee mode encrypted with
    the layout's shape (its proofs are checked with the signatures). Raises Refusal."""
    if state.trustee is not None:
        if not r.encrypted:
            raise Refusal("invalid_ballot", "this vote takes encrypted ballots (trustee mode)")
        if (error := shape_error(state.trustee.manifest, r.ballot)) is not None:
            raise Refusal("invalid_ballot", error)
    elif r.encrypted:
        raise Refusal("invalid_ballot", "this vote takes no encrypted ballot")
    elif (error := electronic_ballot_error(state.spec, r.ballot)) is not None:
        raise Refusal("invalid_ballot", error)


def _encrypted_checks(
    r: BallotRequest, key: str, trustee: TrusteeContext, member: int
) -> tuple[Check, ProofCheck]:
    """An encrypted ballot's signature over the ``encrypted-ballot`` statement, and its
    proofs, bound to ``member`` (docs/trustee-crypto.md). Refusal('bad_signature') for a
    signature that is not base64."""
    signed = encrypted_ballot_bytes(r.vote_id, r.voter.seat or 0, r.nonce, r.ballot)
    proofs = (PROOF, trustee.vote_hash, trustee.joint_key, trustee.manifest_text,
              str(member), r.nonce, r.ballot)  # fmt: skip
    return (key, _b64(r.signature), signed), proofs


def _signature_checks(r: BallotRequest, key: str) -> tuple[Check, Check]:
    """The two statements the kiosk signed with ``key``: the ballot, and the participation
    a secret vote logs instead of it (docs/protocol.md). Raises Refusal('bad_signature')
    for a signature that is not base64."""
    vote, seat, nonce = r.vote_id, r.voter.seat, r.nonce
    return (
        (key, _b64(r.signature), ballot_bytes(vote, seat, nonce, r.ballot)),
        (key, _b64(r.participation_signature), participation_bytes(vote, seat, nonce)),
    )


def _b64(text: str) -> bytes:
    try:
        return b64decode(text, "signature")
    except CryptoError as exc:
        raise Refusal("bad_signature", str(exc)) from None
