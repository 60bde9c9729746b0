"""Votes: the presidium's lifecycle and the deputies' ballots.

open → (ballots) → close → announce, or cancel; a re-run is a new vote
linked to the old one. Every change is one transaction with its audit
entries (``write_transaction``); a ballot is acknowledged only after its
commit. Secret votes follow docs/secret-ballot.md: participation is logged,
the choice is sealed under the vote key until close, then released in
random order and the key destroyed.

``Voting`` keeps the open votes in memory (who has pressed, device keys) so
that the ballot path needs no query it can avoid; that state is rebuilt
from the database when the server starts (``resume``), and changed only
after a commit.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from audit.entry import canonical_bytes
from crypto import CryptoError, VoteKey, b64decode, destroy_key_file
from rules import VoteSpec, tally
from rules.kinds import KeyPolicy, LiveTally, kind_of, live_tally_allowed
from rules.schema import electronic_ballot_error
from voting_server.models import (
    AgendaItem,
    Attendance,
    Device,
    Member,
    Press,
    Sitting,
    Vote,
    VoteState,
)
from voting_server.services import attendance
from voting_server.services.audit_log import AuditLog
from voting_server.services.rosters import log_roster_if_changed
from voting_server.services.signatures import Check, SignatureChecker
from voting_server.services.transactions import after_commit
from voting_server.sockets.errors import Refusal
from voting_server.sockets.identity import Client

MAX_DURATION = timedelta(hours=2)
KEY_DIR = "vote-keys"  # in the instance dir, mode 0700


def key_dir_of(instance: Path) -> Path:
    """Where the secret votes' key files live (one per open vote)."""
    return instance / KEY_DIR


logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


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


@dataclass
class Pressed:
    """Who has pressed in an open vote (已按) and, in a named vote, whose ballot counts."""

    presses: dict[int, int] = field(default_factory=dict)  # member → presses so far
    seats: dict[int, int] = field(default_factory=dict)  # member → seat, of those who pressed
    counted: dict[int, Any] = field(default_factory=dict)  # named: member → counted ballot

    def record(self, member_id: int, seat: int, ballot: Any, policy: KeyPolicy) -> None:
        """Note one press; ``ballot`` None (a secret vote) counts nothing here."""
        first = member_id not in self.presses
        self.presses[member_id] = self.presses.get(member_id, 0) + 1
        self.seats[member_id] = seat
        if ballot is not None and (first or policy.may_press_again):
            self.counted[member_id] = ballot

    def copy(self) -> Pressed:
        return Pressed(dict(self.presses), dict(self.seats), dict(self.counted))


@dataclass
class OpenVote:
    """What the ballot path needs of an open vote, kept in memory."""

    id: int
    body_id: int
    sitting_id: int
    spec: VoteSpec
    secret: bool
    key_policy: KeyPolicy
    live_tally: LiveTally
    members: int
    closes_at: datetime | None
    key: VoteKey | None = None  # secret votes only
    pressed: Pressed = field(default_factory=Pressed)
    # What ``refresh_presses`` has read from the database so far (the presses up to
    # Press.id ``recounted_up_to``), kept so that the next recount reads only newer ones.
    recounted: Pressed | None = None
    recounted_up_to: int = 0

    def record_press(self, member_id: int, seat: int, ballot: Any) -> None:
        """Note a stored press (``ballot``: None for a secret vote)."""
        self.pressed.record(member_id, seat, ballot, self.key_policy)


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
    device's stored key is still ``key``."""

    key: str
    ballot_ok: bool
    participation_ok: bool


@dataclass(frozen=True)
class BallotRequest:
    """A ballot as the kiosk sent it (the socket handler has checked its shape)."""

    client: Client
    vote_id: int
    nonce: str
    ballot: Any
    signature: str
    participation_signature: str
    checked: Prechecked | None = None


@dataclass(frozen=True)
class _Accepted:
    """A request of a batch that passed every check: what to log and store."""

    index: int
    state: OpenVote
    member_id: int
    press_no: int
    entry_type: str
    entry_data: dict[str, Any]


def public_vote(vote: Vote) -> dict[str, Any]:
    """What every screen may know of a vote (never a ballot)."""
    spec = vote.spec()
    options = [{"id": i, "title": t} for i, t in vote.options()]
    out: dict[str, Any] = {
        "id": vote.id,
        "title": vote.title,
        "kind": vote.kind,
        "state": vote.state.value,
        "secret": vote.secret,
        "key_policy": vote.key_policy.value,
        "live_tally": vote.live_tally.value,
        "agenda_item": {
            "id": vote.agenda_item.id,
            "position": vote.agenda_item.position,
            "title": vote.agenda_item.title,
            "description": vote.agenda_item.description,
            # titles only: the tablet asks for a link to open one (document_link)
            "documents": [
                {"id": d.id, "title": d.title, "media_type": d.media_type}
                for d in vote.agenda_item.documents
            ],
        },
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "rerun_of": vote.rerun_of_id,
        "result": vote.result,
    }
    out.update(kind_of(spec.kind).public_items(spec, options))
    return out


class Voting:
    """The vote lifecycle and the ballot path. One instance per server process."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir
        self.open: dict[int, OpenVote] = {}
        self.resumed = False  # open votes reloaded from the database yet?
        self.signatures = SignatureChecker()

    def key_path(self, vote_id: int) -> Path:
        return self.key_dir / f"vote-{vote_id}.key"

    # --- start-up ----------------------------------------------------------------

    def sweep_keys(self, session: Session) -> list[int]:
        """Destroy the key files of votes that are over (closed, announced, cancelled)
        or unknown to the database; returns their vote ids. The key file goes after the
        close's commit: a crash in between leaves it, and a key must not outlive its
        vote (docs/secret-ballot.md). A draft's file stays: another process may be
        opening it (the file is written before that commit), and nothing is sealed
        under a draft's key."""
        found: dict[int, Path] = {}
        for path in self.key_dir.glob("vote-*.key"):
            number = path.name[len("vote-") : -len(".key")]
            if number.isascii() and number.isdigit() and len(number) <= 18:
                found[int(number)] = path
        if not found:
            return []
        rows = session.execute(select(Vote.id, Vote.state).where(Vote.id.in_(list(found))))
        states = {vote_id: state for vote_id, state in rows}
        live = {VoteState.DRAFT, VoteState.OPEN}
        swept = sorted(v for v in found if states.get(v) not in live)
        for vote_id in swept:
            destroy_key_file(found[vote_id])
            state = states.get(vote_id)
            logger.warning(
                "destroyed the key file of vote %s, left by an interrupted close (%s)",
                vote_id,
                state.value if state else "no such vote",
            )
        return swept

    def resume(self, session: Session, log: AuditLog) -> list[int]:
        """Reload every open vote after a (re)start; returns their ids.

        A secret vote whose key file is gone cannot be counted: it is
        cancelled, loudly, so that the presidium re-runs it. Key files of votes
        that are over are destroyed first (``sweep_keys``).
        """
        self.sweep_keys(session)
        resumed = []
        self.open.clear()
        for vote in session.scalars(select(Vote).where(Vote.state == VoteState.OPEN)):
            key = None
            if vote.secret:
                try:
                    key = VoteKey.load(self.key_path(vote.id))
                except (FileNotFoundError, CryptoError):
                    self._cancel(
                        session, log, vote, "表决密钥丢失，须重新表决 (vote key lost)", None
                    )
                    continue
            state = self._open_state(vote, key)
            self.refresh_presses(session, state)
            self.open[vote.id] = state
            resumed.append(vote.id)
        self.resumed = True
        return resumed

    # --- the presidium -------------------------------------------------------------

    def open_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int, duration_s: int | None
    ) -> Vote:
        vote = self._vote(session, vote_id)
        if vote.state is not VoteState.DRAFT:
            raise Refusal("vote_not_draft")
        sitting: Sitting = vote.agenda_item.sitting
        if session.scalar(  # in the database: another server process may have opened it
            select(Vote.id)
            .join(AgendaItem)
            .where(AgendaItem.sitting_id == sitting.id, Vote.state == VoteState.OPEN)
            .limit(1)
        ):
            raise Refusal("vote_already_open")
        if not live_tally_allowed(vote.secret, vote.live_tally):
            raise Refusal("bad_configuration", "secret votes cannot show a live breakdown")
        spec = vote.spec()
        members = sitting.body.member_count
        present = attendance.present_count(session, sitting.id)
        required = spec.quorum.required(members)
        if present < required:
            raise Refusal(
                "no_quorum", f"实到 {present}，需 {required} (present {present}, need {required})"
            )
        now = _now()
        closes_at = None
        if duration_s is not None:
            if not 10 <= duration_s <= MAX_DURATION.total_seconds():
                raise Refusal("invalid_payload", "duration_s: 10 to 7200 seconds")
            closes_at = now + timedelta(seconds=duration_s)
        log_roster_if_changed(session, log, sitting.body)
        log.append(session, "vote_configured", {"vote": self._configuration(vote, spec)})
        vote.state, vote.opened_at, vote.closes_at = VoteState.OPEN, now, closes_at
        vote.members_at_open = members
        log.append(session, "vote_opened", {
            "vote": vote.id, "members": members, "present": present, "quorum_required": required,
            "closes_at": closes_at.isoformat() if closes_at else None, "by": by,
        })  # fmt: skip
        key = None
        if vote.secret:
            key = VoteKey.generate()
            path = self.key_path(vote.id)
            destroy_key_file(path)  # a stale file from an aborted attempt
            key.save(path)
        session.flush()
        state = self._open_state(vote, key)
        # the commit expires ``vote``: the callback must not touch it
        after_commit(session, lambda: self.open.__setitem__(vote_id, state))
        return vote

    def close_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int | None, reason: str
    ) -> Vote:
        """Close, release (secret), count and log the result. ``by`` None: the deadline."""
        vote = self._vote(session, vote_id)
        if vote.state is not VoteState.OPEN:
            raise Refusal("vote_not_open")
        state = self.state_of(session, vote_id)
        if state is None:
            raise Refusal("vote_not_open", "vote key unreadable in this process")
        presses = session.execute(  # the columns, not 3,000 ORM objects: the hall waits
            select(Press.member_id, Press.ballot, Press.sealed)
            .where(Press.vote_id == vote.id)
            .order_by(Press.member_id, Press.press_no)
        ).all()
        ballots = self._counted_ballots(state, presses)
        present = attendance.present_count(session, state.sitting_id)
        log.append(session, "vote_closed", {
            "vote": vote.id, "members": state.members, "present": present, "cast": len(ballots),
            "reason": reason, "by": by,
        })  # fmt: skip
        if state.secret:
            secrets.SystemRandom().shuffle(ballots)
            log.append(session, "ballots_released", {"vote": vote.id, "ballots": ballots})
            session.execute(update(Press).where(Press.vote_id == vote.id).values(sealed=None))
        result = tally(state.spec, state.members, present, ballots)
        log.append(session, "result", {"vote": vote.id, "result": result})
        vote.state, vote.closed_at, vote.result = VoteState.CLOSED, _now(), result
        session.flush()
        after_commit(session, lambda: self._forget(vote_id))
        return vote

    def cancel_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int, reason: str
    ) -> Vote:
        vote = self._vote(session, vote_id)
        if vote.state not in {VoteState.DRAFT, VoteState.OPEN}:
            raise Refusal("vote_not_open")
        self._cancel(session, log, vote, reason, by)
        return vote

    def _cancel(
        self, session: Session, log: AuditLog, vote: Vote, reason: str, by: int | None
    ) -> None:
        if vote.state is VoteState.DRAFT:
            # never logged yet: log what is being cancelled, so the entry refers to something
            log.append(session, "vote_configured", {"vote": self._configuration(vote, vote.spec())})
        else:
            session.execute(update(Press).where(Press.vote_id == vote.id).values(sealed=None))
        log.append(session, "vote_cancelled", {"vote": vote.id, "reason": reason, "by": by})
        vote.state, vote.closed_at = VoteState.CANCELLED, _now()
        session.flush()
        vote_id = vote.id
        after_commit(session, lambda: self._forget(vote_id))

    def rerun_vote(self, session: Session, vote_id: int) -> Vote:
        """A new draft with the same configuration, linked to ``vote_id`` (再次表决)."""
        old = self._vote(session, vote_id)
        if old.state not in {VoteState.CLOSED, VoteState.ANNOUNCED, VoteState.CANCELLED}:
            raise Refusal("vote_not_closed")
        new = Vote(agenda_item_id=old.agenda_item_id, title=old.title, secret=old.secret,
                   key_policy=old.key_policy, live_tally=old.live_tally, rerun_of_id=old.id)  # fmt: skip
        new.configure(old.config, old.titles)
        session.add(new)
        session.flush()
        return new

    def announce(self, session: Session, log: AuditLog, vote_id: int, by: int) -> Vote:
        vote = self._vote(session, vote_id)
        if vote.state is not VoteState.CLOSED:
            raise Refusal("vote_not_closed")
        log.append(session, "vote_announced", {"vote": vote.id, "by": by})
        vote.state = VoteState.ANNOUNCED
        session.flush()
        return vote

    def due(self, now: datetime) -> list[int]:
        """Open votes whose deadline has passed."""
        return [v.id for v in self.open.values() if v.closes_at is not None and v.closes_at <= now]

    # --- the deputies ----------------------------------------------------------------

    def precheck(self, request: BallotRequest, key: str) -> BallotRequest:
        """``request`` with its signatures checked against ``key`` (base64 SPKI), as the
        ballot arrives and before it joins a batch: in the server the checks run in the
        checker process while the event loop goes on (services/signatures.py)."""
        try:
            checks = _signature_checks(request, key)
        except Refusal:
            return request  # undecodable: the batch refuses it, after the vote's own checks
        return replace(request, checked=Prechecked(key, *self.signatures.verify(checks)))

    def cast(
        self,
        session: Session,
        log: AuditLog,
        client: Client,
        vote_id: int,
        nonce: str,
        ballot: Any,
        signature: str,
        participation_signature: str,
    ) -> tuple[Receipt, OpenVote | None]:
        """One ballot through ``cast_batch``; raises its Refusal."""
        request = BallotRequest(client, vote_id, nonce, ballot, signature, participation_signature)
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
            if r.client.seat is None or r.client.device_id is None:
                outcomes[i] = Refusal("wrong_seat")
            else:
                by_vote.setdefault(r.vote_id, []).append(i)
        states = self._current_states(session, set(by_vote))
        writes: list[_Accepted] = []
        for vote_id, indexes in by_vote.items():
            self._check_vote_batch(
                session, vote_id, states.get(vote_id), requests, indexes, outcomes, writes
            )
        appended = log.append_many(session, [(w.entry_type, w.entry_data) for w in writes])
        press_rows = []
        for w, entry in zip(writes, appended, strict=True):
            state, r = w.state, requests[w.index]
            receipt = Receipt(r.vote_id, r.nonce, entry.index, entry.hash, entry.sig,
                              w.press_no, state.secret)  # fmt: skip
            sealed = None
            if state.secret:
                assert state.key is not None
                sealed = state.key.seal(pad_ballot(r.ballot, state.spec), vote_aad(r.vote_id))
            press_rows.append({
                "vote_id": r.vote_id, "member_id": w.member_id, "nonce": r.nonce,
                "press_no": w.press_no, "entry_idx": entry.index,
                "receipt": {**receipt.to_json(), "seat": r.client.seat},
                "ballot": None if state.secret else r.ballot, "sealed": sealed,
            })  # fmt: skip
            outcomes[w.index] = (receipt, state)
            stored = None if state.secret else r.ballot
            seat = r.client.seat or 0
            after_commit(session, partial(state.record_press, w.member_id, seat, stored))
        if press_rows:
            session.execute(insert(Press), press_rows)
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def _current_states(self, session: Session, vote_ids: set[int]) -> dict[int, OpenVote]:
        """The open votes among ``vote_ids`` as the database has them now: a vote opened
        by another server process is loaded, one closed by another is dropped."""
        if not vote_ids:
            return {}
        rows = session.execute(select(Vote.id, Vote.state).where(Vote.id.in_(vote_ids))).all()
        out: dict[int, OpenVote] = {}
        for row in rows:
            if row.state is VoteState.OPEN:
                state = self.open.get(row.id) or self._load_open(session, row.id)
                if state is not None:
                    out[row.id] = state
            else:
                self.open.pop(row.id, None)  # its key file is gone with the close
        return out

    def state_of(self, session: Session, vote_id: int) -> OpenVote | None:
        """The in-memory state of open vote ``vote_id`` (the caller has seen it open in
        the database), loaded if another server process opened it."""
        return self.open.get(vote_id) or self._load_open(session, vote_id)

    def refresh_presses(self, session: Session, state: OpenVote) -> None:
        """Recount who has pressed from the database: with several server processes,
        each stores only the presses that reached it (docs/deployment.md).

        Reads only the presses stored since the last recount (a full recount of 3,000
        presses was 34–55 ms, ten times a second per process during a burst). Sound
        because presses become visible in the order of their ids: every press is
        inserted after ``AuditLog.append_many`` took the log's write lock (on
        PostgreSQL an advisory lock held to the commit; SQLite has one writer), so a
        press with a smaller id never commits after one with a larger.
        """
        seen = state.recounted or Pressed()
        last = state.recounted_up_to
        for press_id, member_id, receipt, ballot in session.execute(
            select(Press.id, Press.member_id, Press.receipt, Press.ballot)
            .where(Press.vote_id == state.id, Press.id > last)
            .order_by(Press.id)
        ):
            seen.record(member_id, int(receipt.get("seat", 0)), ballot, state.key_policy)
            last = press_id
        state.recounted, state.recounted_up_to = seen, last
        # A copy: this process records its own presses into ``state`` after each commit.
        state.pressed = seen.copy()

    def _load_open(self, session: Session, vote_id: int) -> OpenVote | None:
        """The in-memory state of an open vote this process did not open (another
        process did, under the scale-out stack). None if its key file is unreadable:
        the process that opened it is the one to cancel it (``resume``)."""
        vote = session.get(Vote, vote_id)
        assert vote is not None
        key = None
        if vote.secret:
            try:
                key = VoteKey.load(self.key_path(vote.id))
            except (FileNotFoundError, CryptoError):
                return None
        state = self._open_state(vote, key)
        self.refresh_presses(session, state)
        self.open[vote.id] = state
        return state

    def _check_vote_batch(
        self,
        session: Session,
        vote_id: int,
        state: OpenVote | None,
        requests: Sequence[BallotRequest],
        indexes: list[int],
        outcomes: list[Any],
        writes: list[_Accepted],
    ) -> None:
        """Decide every request of one vote: a Refusal or a resend into ``outcomes``,
        the accepted ones into ``writes``. Four queries, whatever the batch size."""
        nonces = [requests[i].nonce for i in indexes]
        stored = {
            row.nonce: row.receipt
            for row in session.execute(
                select(Press.nonce, Press.receipt).where(
                    Press.vote_id == vote_id, Press.nonce.in_(nonces)
                )
            )
        }
        fresh = []
        for i in indexes:
            r = requests[i]
            if (receipt := stored.get(r.nonce)) is not None:  # a resend: the same answer
                if receipt.get("seat") != r.client.seat:
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
            elif r.client.body_id != state.body_id:
                outcomes[i] = Refusal("wrong_seat")
            else:
                fresh.append(i)
        if not fresh or state is None:
            return
        seats = [requests[i].client.seat for i in fresh]
        members = {
            row.seat: row
            for row in session.execute(
                select(
                    Member.id, Member.seat, Attendance.id.label("attendance"), Attendance.pin_device
                )
                .outerjoin(
                    Attendance,
                    (Attendance.member_id == Member.id)
                    & (Attendance.sitting_id == state.sitting_id),
                )
                .where(Member.body_id == state.body_id, Member.active, Member.seat.in_(seats))
            )
        }
        devices = {
            d.id: d
            for d in session.execute(
                select(
                    Device.id, Device.seat, Device.revoked_at, Device.pending, Device.public_key
                ).where(Device.id.in_({requests[i].client.device_id for i in fresh}))
            )
        }
        pressed = dict(
            session.execute(
                select(Press.member_id, func.max(Press.press_no))
                .where(Press.vote_id == vote_id, Press.member_id.in_(
                    [m.id for m in members.values()]))
                .group_by(Press.member_id)
            ).all()
        )  # fmt: skip
        signed: list[tuple[int, int]] = []  # request, member
        unchecked: list[Check] = []  # of requests not checked on arrival against the stored key
        verdicts: dict[int, tuple[bool, bool]] = {}
        for i in fresh:
            r = requests[i]
            try:
                member = members.get(r.client.seat or 0)
                if member is None:
                    raise Refusal("unknown_member", f"seat {r.client.seat} has no member")
                if member.attendance is None:
                    raise Refusal("not_signed_in")
                if (error := electronic_ballot_error(state.spec, r.ballot)) is not None:
                    raise Refusal("invalid_ballot", error)
                key = self._device_key(r, devices.get(r.client.device_id or ""))
                if member.pin_device != r.client.device_id:  # 代为签到 only, or PIN elsewhere
                    raise Refusal("pin_required")
                if r.checked is not None and r.checked.key == key:
                    verdicts[i] = (r.checked.ballot_ok, r.checked.participation_ok)
                else:
                    unchecked += _signature_checks(r, key)
            except Refusal as refused:
                outcomes[i] = refused
                continue
            signed.append((i, member.id))
        late = iter(self.signatures.verify(unchecked))
        for i, _ in signed:
            if i not in verdicts:
                verdicts[i] = (next(late), next(late))
        for i, member_id in signed:
            r = requests[i]
            press_no = pressed.get(member_id, 0) + 1
            ballot_ok, participation_ok = verdicts[i]
            if not ballot_ok:
                outcomes[i] = Refusal("bad_signature", "ballot signature")
            elif not participation_ok:
                outcomes[i] = Refusal("bad_signature", "participation signature")
            elif press_no > 1 and state.key_policy is KeyPolicy.FIRST_PRESS:
                outcomes[i] = Refusal("already_voted")
            else:
                data: dict[str, Any] = {"vote": vote_id, "seat": r.client.seat,
                                        "nonce": r.nonce, "member": member_id,
                                        "device": r.client.device_id, "press": press_no}  # fmt: skip
                if state.secret:
                    entry = ("participation", {**data, "kiosk_sig": r.participation_signature})
                else:
                    entry = ("ballot", {**data, "ballot": r.ballot, "kiosk_sig": r.signature})
                writes.append(_Accepted(i, state, member_id, press_no, *entry))

    @staticmethod
    def _device_key(r: BallotRequest, device: Any) -> str:
        """The device's stored key (base64 SPKI); refuses unless the device is enrolled,
        not revoked and at the kiosk's seat. Both statements must be signed with it."""
        if device is None or device.revoked_at is not None or device.pending:
            raise Refusal("unknown_device")
        if device.seat != r.client.seat:
            raise Refusal("wrong_seat")
        return str(device.public_key)

    # --- live counts -------------------------------------------------------------------

    @staticmethod
    def participation(state: OpenVote, present: int) -> dict[str, Any]:
        """已按 / 未按 for the presidium and the display."""
        voted = len(state.pressed.presses)
        return {"vote": state.id, "voted": voted, "not_voted": max(0, present - voted),
                "voted_seats": sorted(state.pressed.seats.values())}  # fmt: skip

    @staticmethod
    def live_counts(state: OpenVote, present: int) -> dict[str, Any] | None:
        """Running counts, only for named votes whose policy shows them."""
        if state.secret or state.live_tally is not LiveTally.BREAKDOWN:
            return None
        result = tally(state.spec, state.members, present, list(state.pressed.counted.values()))
        return {"vote": state.id, "counts": result[kind_of(state.spec.kind).result_key]}

    # --- internals ---------------------------------------------------------------------

    @staticmethod
    def _vote(session: Session, vote_id: int) -> Vote:
        vote = session.get(Vote, vote_id)
        if vote is None:
            raise Refusal("unknown_vote")
        return vote

    @staticmethod
    def _configuration(vote: Vote, spec: VoteSpec) -> dict[str, Any]:
        sitting = vote.agenda_item.sitting
        return {"id": vote.id, "body": sitting.body_id, "sitting": sitting.id,
                "agenda_item": vote.agenda_item_id, "title": vote.title, "config": spec.to_json(),
                "titles": vote.titles, "secret": vote.secret, "key_policy": vote.key_policy.value,
                "live_tally": vote.live_tally.value, "rerun_of": vote.rerun_of_id}  # fmt: skip

    @staticmethod
    def _open_state(vote: Vote, key: VoteKey | None) -> OpenVote:
        sitting = vote.agenda_item.sitting
        return OpenVote(
            id=vote.id, body_id=sitting.body_id, sitting_id=sitting.id, spec=vote.spec(),
            secret=vote.secret, key_policy=vote.key_policy, live_tally=vote.live_tally,
            members=vote.members_at_open or sitting.body.member_count, closes_at=vote.closes_at, key=key,
        )  # fmt: skip

    def _counted_ballots(self, state: OpenVote, presses: Sequence[Any]) -> list[Any]:
        """One ballot per member who pressed: the last or the first, by key policy.
        ``presses``: rows with ``member_id``, ``ballot``, ``sealed``."""
        chosen: dict[int, Any] = {}
        for press in presses:  # ordered by member, then press number
            if state.key_policy.may_press_again or press.member_id not in chosen:
                chosen[press.member_id] = press
        if not state.secret:
            return [p.ballot for p in chosen.values()]
        assert state.key is not None
        return [
            json.loads(state.key.open(p.sealed or b"", vote_aad(state.id))) for p in chosen.values()
        ]

    def _forget(self, vote_id: int) -> None:
        state = self.open.pop(vote_id, None)
        if state is not None and state.key is not None:
            state.key = None
        destroy_key_file(self.key_path(vote_id))


def _signature_checks(r: BallotRequest, key: str) -> tuple[Check, Check]:
    """The two statements the kiosk signed with ``key``: the ballot, and the participation
    a secret vote logs instead of it (docs/protocol.md). Raises Refusal('bad_signature')
    for a signature that is not base64."""
    statement = {"vote": r.vote_id, "seat": r.client.seat, "nonce": r.nonce}
    return (
        (key, _b64(r.signature), canonical_bytes({"type": "ballot", **statement, "ballot": r.ballot})),
        (key, _b64(r.participation_signature), canonical_bytes({"type": "participation", **statement})),
    )  # fmt: skip


def _b64(text: str) -> bytes:
    try:
        return b64decode(text, "signature")
    except CryptoError as exc:
        raise Refusal("bad_signature", str(exc)) from None
