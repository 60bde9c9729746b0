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
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit.entry import canonical_bytes
from crypto import CryptoError, KioskPublicKey, VoteKey, b64decode, destroy_key_file
from voting_server.models import Device, Press, Sitting, Vote, VoteState
from voting_server.rules import VoteSpec, tally
from voting_server.rules.kinds import (
    EVALUATION_MARKS,
    MOTION_MARKS,
    KeyPolicy,
    LiveTally,
    VoteKind,
)
from voting_server.rules.schema import electronic_ballot_error
from voting_server.services import attendance
from voting_server.services.audit_log import AuditLog
from voting_server.services.rosters import log_roster_if_changed
from voting_server.services.transactions import after_commit
from voting_server.sockets.errors import Refusal
from voting_server.sockets.identity import Client

MAX_DURATION = timedelta(hours=2)


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
    if spec.kind is VoteKind.SELECTION:
        longest = sorted(spec.candidates, key=lambda c: len(canonical_bytes(c)), reverse=True)
        return len(canonical_bytes(longest[: spec.seats]))
    marks = MOTION_MARKS if spec.kind is VoteKind.MOTION else EVALUATION_MARKS
    mark = max(marks, key=lambda m: len(canonical_bytes(m)))
    return len(canonical_bytes(dict.fromkeys(spec.subjects, mark)))


def pad_ballot(ballot: Any, spec: VoteSpec) -> bytes:
    """The ballot's canonical JSON padded with spaces to ``sealed_size`` (JSON allows
    trailing whitespace: ``json.loads`` reads the ballot back unchanged). A valid
    ballot is never longer; an invalid one never reaches the sealing."""
    plain = canonical_bytes(ballot)
    return plain + b" " * max(0, sealed_size(spec) - len(plain))


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
    presses: dict[int, int] = field(default_factory=dict)  # member → presses so far
    seats: dict[int, int] = field(default_factory=dict)  # member → seat, of those who pressed
    counted: dict[int, Any] = field(default_factory=dict)  # named: member → counted ballot


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


def public_vote(vote: Vote) -> dict[str, Any]:
    """What every screen may know of a vote (never a ballot)."""
    spec = vote.spec()
    options = [{"id": i, "title": t} for i, t in vote.options()]
    out: dict[str, Any] = {
        "id": vote.id,
        "title": vote.title,
        "kind": vote.kind.value,
        "state": vote.state.value,
        "secret": vote.secret,
        "key_policy": vote.key_policy.value,
        "live_tally": vote.live_tally.value,
        "agenda_item": {
            "id": vote.agenda_item.id,
            "position": vote.agenda_item.position,
            "title": vote.agenda_item.title,
            "description": vote.agenda_item.description,
        },
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "rerun_of": vote.rerun_of_id,
        "result": vote.result,
    }
    if spec.kind.value == "selection":
        out["candidates"] = options
        out["seats"] = spec.seats
    else:
        out["subjects"] = options
    return out


class Voting:
    """The vote lifecycle and the ballot path. One instance per server process."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir
        self.open: dict[int, OpenVote] = {}
        self.resumed = False  # open votes reloaded from the database yet?
        self._device_keys: dict[str, KioskPublicKey] = {}

    def key_path(self, vote_id: int) -> Path:
        return self.key_dir / f"vote-{vote_id}.key"

    # --- start-up ----------------------------------------------------------------

    def resume(self, session: Session, log: AuditLog) -> list[int]:
        """Reload every open vote after a (re)start; returns their ids.

        A secret vote whose key file is gone cannot be counted: it is
        cancelled, loudly, so that the presidium re-runs it.
        """
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
            for press in session.scalars(
                select(Press).where(Press.vote_id == vote.id).order_by(Press.id)
            ):
                self._record_press(state, press.member_id, self._seat_of(press), press.ballot)
            self.open[vote.id] = state
            resumed.append(vote.id)
        self.resumed = True
        return resumed

    @staticmethod
    def _seat_of(press: Press) -> int:
        return int(press.receipt.get("seat", 0))

    # --- the presidium -------------------------------------------------------------

    def open_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int, duration_s: int | None
    ) -> Vote:
        vote = self._vote(session, vote_id)
        if vote.state is not VoteState.DRAFT:
            raise Refusal("vote_not_draft")
        sitting: Sitting = vote.agenda_item.sitting
        if any(v.sitting_id == sitting.id for v in self.open.values()):
            raise Refusal("vote_already_open")
        if vote.secret and vote.live_tally is LiveTally.BREAKDOWN:
            # a breakdown that moves as a deputy presses would reveal the choice
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
        state = self.open.get(vote_id)
        if vote.state is not VoteState.OPEN or state is None:
            raise Refusal("vote_not_open")
        presses = session.scalars(
            select(Press).where(Press.vote_id == vote.id).order_by(Press.member_id, Press.press_no)
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
        """The ballot path (docs/protocol.md): validate, log, store; the receipt on commit.

        Returns the receipt and the open vote it changed, or ``None`` for a
        resend of a ballot already stored (answered with the same receipt,
        even after the vote closed, so a kiosk that lost the answer recovers it).
        """
        if client.seat is None or client.device_id is None:
            raise Refusal("wrong_seat")
        existing = session.scalars(
            select(Press).where(Press.vote_id == vote_id, Press.nonce == nonce)
        ).first()
        if existing is not None:  # a resend: the same answer, nothing new
            if existing.receipt.get("seat") != client.seat:
                raise Refusal("nonce_reused")
            return Receipt(**{k: existing.receipt[k] for k in Receipt.__dataclass_fields__}), None
        state = self.open.get(vote_id)
        if state is None:
            raise Refusal("vote_not_open" if session.get(Vote, vote_id) else "unknown_vote")
        if state.closes_at is not None and _now() >= state.closes_at:
            # The countdown is over; the deadline watcher closes the vote within moments
            # (or when the database answers again). A press after the deadline is late.
            raise Refusal("vote_not_open", "the countdown is over")
        if client.body_id != state.body_id:
            raise Refusal("wrong_seat")
        member = attendance.member_at_seat(session, state.body_id, client.seat)
        if member is None:
            raise Refusal("unknown_member", f"seat {client.seat} has no member")
        if not attendance.is_signed_in(session, state.sitting_id, member.id):
            raise Refusal("not_signed_in")
        if (error := electronic_ballot_error(state.spec, ballot)) is not None:
            raise Refusal("invalid_ballot", error)
        statement = {"vote": vote_id, "seat": client.seat, "nonce": nonce}
        key = self._device_key(session, client.device_id, client.seat)
        ballot_sig = _b64(signature)
        participation_sig = _b64(participation_signature)
        if not key.verify(
            ballot_sig, canonical_bytes({"type": "ballot", **statement, "ballot": ballot})
        ):
            raise Refusal("bad_signature", "ballot signature")
        if not key.verify(
            participation_sig, canonical_bytes({"type": "participation", **statement})
        ):
            raise Refusal("bad_signature", "participation signature")
        press_no = state.presses.get(member.id, 0) + 1
        if press_no > 1 and state.key_policy is KeyPolicy.FIRST_PRESS:
            raise Refusal("already_voted")
        data: dict[str, Any] = {**statement, "member": member.id, "device": client.device_id,
                                "press": press_no}  # fmt: skip
        if state.secret:
            appended = log.append(
                session, "participation", {**data, "kiosk_sig": participation_signature}
            )
        else:
            appended = log.append(
                session, "ballot", {**data, "ballot": ballot, "kiosk_sig": signature}
            )
        receipt = Receipt(
            vote_id, nonce, appended.index, appended.hash, appended.sig, press_no, state.secret
        )
        sealed = None
        if state.secret:
            assert state.key is not None
            sealed = state.key.seal(pad_ballot(ballot, state.spec), vote_aad(vote_id))
        session.add(Press(
            vote_id=vote_id, member_id=member.id, nonce=nonce, press_no=press_no,
            entry_idx=appended.index, receipt={**receipt.to_json(), "seat": client.seat},
            ballot=None if state.secret else ballot, sealed=sealed,
        ))  # fmt: skip
        session.flush()
        stored_ballot = None if state.secret else ballot
        member_id, seat = member.id, client.seat
        after_commit(session, lambda: self._record_press(state, member_id, seat, stored_ballot))
        return receipt, state

    # --- live counts -------------------------------------------------------------------

    @staticmethod
    def participation(state: OpenVote, present: int) -> dict[str, Any]:
        """已按 / 未按 for the presidium and the display."""
        voted = len(state.presses)
        return {"vote": state.id, "voted": voted, "not_voted": max(0, present - voted),
                "voted_seats": sorted(state.seats.values())}  # fmt: skip

    @staticmethod
    def live_counts(state: OpenVote, present: int) -> dict[str, Any] | None:
        """Running counts, only for named votes whose policy shows them."""
        if state.secret or state.live_tally is not LiveTally.BREAKDOWN:
            return None
        result = tally(state.spec, state.members, present, list(state.counted.values()))
        return {"vote": state.id, "counts": result.get("subjects") or result.get("selection")}

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

    @staticmethod
    def _record_press(state: OpenVote, member_id: int, seat: int, ballot: Any) -> None:
        first = member_id not in state.presses
        state.presses[member_id] = state.presses.get(member_id, 0) + 1
        state.seats[member_id] = seat
        if not state.secret and (first or state.key_policy is KeyPolicy.LAST_PRESS):
            state.counted[member_id] = ballot

    def _counted_ballots(self, state: OpenVote, presses: Sequence[Press]) -> list[Any]:
        """One ballot per member who pressed: the last or the first, by key policy."""
        chosen: dict[int, Press] = {}
        for press in presses:  # ordered by member, then press number
            if state.key_policy is KeyPolicy.LAST_PRESS or press.member_id not in chosen:
                chosen[press.member_id] = press
        if not state.secret:
            return [p.ballot for p in chosen.values()]
        assert state.key is not None
        return [
            json.loads(state.key.open(p.sealed or b"", vote_aad(state.id))) for p in chosen.values()
        ]

    def _device_key(self, session: Session, device_id: str, seat: int) -> KioskPublicKey:
        """The device's key, after checking it is enrolled, not revoked, and at ``seat``."""
        device = session.get(Device, device_id)
        if device is None or device.revoked_at is not None:
            raise Refusal("unknown_device")
        if device.seat != seat:
            raise Refusal("wrong_seat")
        key = self._device_keys.get(device_id)
        if key is None:  # parsing a key is slower than the lookup; keep the parsed one
            key = self._device_keys[device_id] = KioskPublicKey.from_spki_b64(device.public_key)
        return key

    def _forget(self, vote_id: int) -> None:
        state = self.open.pop(vote_id, None)
        if state is not None and state.key is not None:
            state.key = None
        destroy_key_file(self.key_path(vote_id))


def _b64(text: str) -> bytes:
    try:
        return b64decode(text, "signature")
    except CryptoError as exc:
        raise Refusal("bad_signature", str(exc)) from None
