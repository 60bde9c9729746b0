"""The presidium's actions on a vote: open, close, cancel, re-run, announce.

open → (ballots) → close → announce, or cancel; a re-run is a new vote
linked to the old one (再次表决). Every action is one transaction with its
audit entries (``write_transaction``); the open votes in memory
(services/open_votes.py) change only after its commit. Closing a secret vote
releases its ballots in random order and destroys its key
(docs/secret-ballot.md). At start-up ``resume`` reloads the open votes, and
cancels, loudly, a secret vote whose key was lost.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from audit.trustee_content import ATTENDING, MEMBERS
from crypto import CryptoError, VoteKey, destroy_key_file
from rules import VoteSpec, tally
from rules.congress import (
    Electorate,
    MemberRole,
    adopted,
    attending_secrecy_error,
)
from rules.kinds import kind_of, live_tally_allowed
from rules.lifecycle import Action, LifecycleError, allowed, cancellable, transition
from voting_server.models import AgendaItem, Member, Press, Sitting, Vote, VoteState, utcnow
from voting_server.services import attendance, supervision, trustee_votes
from voting_server.services.audit_log import AuditLog
from voting_server.services.ballots import vote_aad
from voting_server.services.delegations import vote_breakdown
from voting_server.services.open_votes import OpenVote, OpenVotes, open_state
from voting_server.services.refusals import Refusal
from voting_server.services.rosters import log_roster_if_changed
from voting_server.services.transactions import after_commit

MAX_DURATION = timedelta(hours=2)
_now = utcnow  # the clock of every vote time (aware UTC), under the name the code reads


class VoteLifecycle:
    """The lifecycle actions of one server process, over its open votes."""

    def __init__(self, votes: OpenVotes) -> None:
        self.votes = votes

    def resume(self, session: Session, log: AuditLog) -> list[int]:
        """Reload every open vote after a (re)start; returns their ids.

        A secret vote whose key file is gone cannot be counted: it is
        cancelled, loudly, so that the presidium re-runs it. Key files of votes
        that are over are destroyed first (``sweep_keys``).
        """
        self.votes.sweep_keys(session)
        resumed = []
        self.votes.open.clear()
        for vote in session.scalars(select(Vote).where(Vote.state == VoteState.OPEN)):
            key = None
            trustee = trustee_votes.context_of(session, vote)  # trustee mode: no vote key
            if vote.secret and trustee is None:
                try:
                    key = VoteKey.load(self.votes.key_path(vote.id))
                except (FileNotFoundError, CryptoError):
                    self._cancel(
                        session, log, vote, "表决密钥丢失，须重新表决 (vote key lost)", None
                    )
                    continue
            state = open_state(vote, key, trustee)
            self.votes.refresh_presses(session, state)
            self.votes.open[vote.id] = state
            resumed.append(vote.id)
        self.votes.resumed = True
        return resumed

    def open_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int, duration_s: int | None
    ) -> Vote:
        vote = self._vote(session, vote_id)
        try:
            opened = transition(vote.state, Action.OPEN)
        except LifecycleError:
            raise Refusal("vote_not_draft") from None
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
        self._check_requirement(session, vote)
        members, present = attendance.electorate_counts(session, sitting, vote.electorate)
        if members < 1:
            raise Refusal("bad_configuration", "the presidium has no members (主席团无成员)")
        required = spec.quorum.required(members)
        if present < required:
            raise Refusal(
                "no_quorum", f"实到 {present}，需 {required} (present {present}, need {required})"
            )
        admits = kind_of(spec.kind).admits_attending(spec)
        if admits and vote.secret:  # 列席代表 too few to keep their group's ballots secret
            attendees = attendance.attendees_signed_in(session, sitting.id)
            if (error := attending_secrecy_error(True, admits, attendees)) is not None:
                raise Refusal("too_few_attending", error)
        now = _now()
        closes_at = None
        if duration_s is not None:
            if not 10 <= duration_s <= MAX_DURATION.total_seconds():
                raise Refusal("invalid_payload", "duration_s: 10 to 7200 seconds")
            closes_at = now + timedelta(seconds=duration_s)
        # trustee mode: the sitting's joint key, checked before anything is written
        trustees = trustee_votes.open_trustees(session, vote, spec) if vote.trustees else None
        log_roster_if_changed(session, log, sitting.body)
        configuration = self._configuration(vote, spec)
        if sources := supervision.check_sources(session, vote):  # generated from tracked items
            configuration["source_items"] = sources
        log.append(session, sitting.body_id, EntryType.VOTE_CONFIGURED,
                   {"vote": configuration})  # fmt: skip
        vote.state, vote.opened_at, vote.closes_at = opened, now, closes_at  # type: ignore[assignment]
        vote.members_at_open = members
        attendance.mark_held(sitting)  # 举行中 from its first vote, if nobody signed in
        opened_data: dict[str, Any] = {
            "vote": vote.id, "members": members, "present": present, "quorum_required": required,
            "closes_at": closes_at.isoformat() if closes_at else None, "by": by,
        }  # fmt: skip
        if trustees is not None:
            opened_data["trustees"] = trustees
        log.append(session, sitting.body_id, EntryType.VOTE_OPENED, opened_data)
        key = None
        if vote.secret and trustees is None:
            key = VoteKey.generate()
            path = self.votes.key_path(vote.id)
            destroy_key_file(path)  # a stale file from an aborted attempt
            key.save(path)
        session.flush()
        state = open_state(vote, key, trustee_votes.context_of(session, vote))
        # the commit expires ``vote``: the callback must not touch it
        after_commit(session, lambda: self.votes.open.__setitem__(vote_id, state))
        return vote

    def close_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int | None, reason: str
    ) -> Vote:
        """Close, release (secret), count and log the result. ``by`` None: the deadline."""
        vote = self._vote(session, vote_id)
        try:
            closed = transition(vote.state, Action.CLOSE)
        except LifecycleError:
            raise Refusal("vote_not_open") from None
        state = self.votes.state_of(session, vote_id)
        if state is None:
            raise Refusal("vote_not_open", "vote key unreadable in this process")
        presses = session.execute(  # the columns, not 3,000 ORM objects: the hall waits
            select(Press.member_id, Press.ballot, Press.sealed, Press.entry_idx)
            .where(Press.vote_id == vote.id)
            .order_by(Press.member_id, Press.press_no)
        ).all()
        chosen = self._chosen_presses(state, presses)
        # 列席代表参加测评: the attending deputies' ballots are counted apart, never in 已按
        admits = kind_of(state.spec.kind).admits_attending(state.spec)
        attendees = self._attendees(session, chosen) if admits else set()
        theirs = {m: p for m, p in chosen.items() if m in attendees}
        chosen = {m: p for m, p in chosen.items() if m not in attendees}
        present = attendance.present_count(session, state.sitting_id, state.electorate)
        body_id = state.body_id
        closed_data: dict[str, Any] = {
            "vote": vote.id, "members": state.members, "present": present, "cast": len(chosen),
            "reason": reason, "by": by,
        }  # fmt: skip
        if admits:
            closed_data["attending_cast"] = len(theirs)
        log.append(session, body_id, EntryType.VOTE_CLOSED, closed_data)
        if state.trustee is not None:
            # trustee mode: the aggregates now, the result once k scrutineers decrypt them
            groups = {MEMBERS: list(chosen.values()), ATTENDING: list(theirs.values())}
            trustee_votes.close_aggregates(log, session, vote, state.spec, groups, present)
            vote.state, vote.closed_at = closed, _now()  # type: ignore[assignment]
            session.flush()
            after_commit(session, lambda: self.votes.forget(vote_id))
            return vote
        ballots = self._counted_ballots(state, chosen)
        attending = self._counted_ballots(state, theirs)
        if state.secret:
            # each group shuffled and released on its own: the three-way report needs to
            # know whose ballot is whose group, and nothing more (docs/secret-ballot.md)
            secrets.SystemRandom().shuffle(ballots)
            released: dict[str, Any] = {"vote": vote.id, "ballots": ballots}
            if admits:
                secrets.SystemRandom().shuffle(attending)
                released["attending_ballots"] = attending
            log.append(session, body_id, EntryType.BALLOTS_RELEASED, released)
            session.execute(update(Press).where(Press.vote_id == vote.id).values(sealed=None))
        result = tally(state.spec, state.members, present, ballots, attending)
        published: dict[str, Any] = {"vote": vote.id, "result": result}
        # 分团: named votes of the whole body only; a secret vote never breaks down, and a
        # presidium's own vote (主席团会议) is not the delegations' business
        if not state.secret and state.electorate is Electorate.BODY:
            body = vote.agenda_item.sitting.body
            roster = log_roster_if_changed(session, log, body)  # what the verifier counts with
            breakdown = vote_breakdown(
                session, roster, state.sitting_id, state.spec,
                {member: press.ballot for member, press in chosen.items()},
            )  # fmt: skip
            if breakdown is not None:
                published["by_delegation"] = breakdown
        log.append(session, body_id, EntryType.RESULT, published)
        vote.state, vote.closed_at, vote.result = closed, _now(), result  # type: ignore[assignment]
        session.flush()
        after_commit(session, lambda: self.votes.forget(vote_id))
        return vote

    def cancel_vote(
        self, session: Session, log: AuditLog, vote_id: int, by: int, reason: str
    ) -> Vote:
        vote = self._vote(session, vote_id)
        if not cancellable(vote.state, awaiting_decryption(vote)):
            raise Refusal("vote_not_open")
        self._cancel(session, log, vote, reason, by)
        return vote

    def _cancel(
        self, session: Session, log: AuditLog, vote: Vote, reason: str, by: int | None
    ) -> None:
        if vote.state is VoteState.DRAFT:
            # never logged yet: log what is being cancelled, so the entry refers to something
            configuration = self._configuration(vote, vote.spec())
            if sources := supervision.source_items(session, vote):
                configuration["source_items"] = sources
            log.append(session, vote.owner_body_id(), EntryType.VOTE_CONFIGURED,
                       {"vote": configuration})  # fmt: skip
        else:
            session.execute(update(Press).where(Press.vote_id == vote.id).values(sealed=None))
        log.append(session, vote.owner_body_id(), EntryType.VOTE_CANCELLED,
                   {"vote": vote.id, "reason": reason, "by": by})  # fmt: skip
        vote.state, vote.closed_at = VoteState.CANCELLED, _now()  # cancellable() said so
        session.flush()
        vote_id = vote.id
        after_commit(session, lambda: self.votes.forget(vote_id))

    def rerun_vote(self, session: Session, vote_id: int) -> Vote:
        """A new draft with the same configuration, linked to ``vote_id`` (再次表决)."""
        old = self._vote(session, vote_id)
        if not allowed(old.state, Action.RERUN):
            raise Refusal("vote_not_closed")
        new = Vote(agenda_item_id=old.agenda_item_id, title=old.title, secret=old.secret,
                   key_policy=old.key_policy, live_tally=old.live_tally, rerun_of_id=old.id,
                   electorate=old.electorate, requires_vote_id=old.requires_vote_id,
                   trustees=old.trustees)  # fmt: skip
        new.configure(old.config, old.titles)
        session.add(new)
        session.flush()
        return new

    def announce(self, session: Session, log: AuditLog, vote_id: int, by: int) -> Vote:
        vote = self._vote(session, vote_id)
        try:
            announced = transition(vote.state, Action.ANNOUNCE)
        except LifecycleError:
            raise Refusal("vote_not_closed") from None
        if awaiting_decryption(vote):
            raise Refusal("awaiting_decryption", f"vote {vote.id} has no result yet")
        # a signed head right after it: the public results (docs/public.md) prove the
        # result and its announcement under one head as soon as it is announced
        log.append(session, vote.owner_body_id(), EntryType.VOTE_ANNOUNCED,
                   {"vote": vote.id, "by": by}, head_after=True)  # fmt: skip
        vote.state = announced  # type: ignore[assignment]
        session.flush()
        supervision.on_announced(session, log, vote)  # 督办: what the result decides for items
        return vote

    @staticmethod
    def _vote(session: Session, vote_id: int) -> Vote:
        vote = session.get(Vote, vote_id)
        if vote is None:
            raise Refusal("unknown_vote")
        return vote

    @staticmethod
    def _check_requirement(session: Session, vote: Vote) -> None:
        """A vote that depends on another (主席团原则通过…提交大会表决) opens only once
        that vote is counted and adopted — whatever order the agenda lists them in."""
        if vote.requires_vote_id is None:
            return
        required = session.get(Vote, vote.requires_vote_id)
        if required is None or required.state not in (VoteState.CLOSED, VoteState.ANNOUNCED):
            raise Refusal("requirement_not_met", f"vote {vote.requires_vote_id} is not counted")
        if not adopted(required.result):
            raise Refusal("requirement_not_met", f"vote {vote.requires_vote_id} was not adopted")

    @staticmethod
    def _configuration(vote: Vote, spec: VoteSpec) -> dict[str, Any]:
        sitting = vote.agenda_item.sitting
        config = {"id": vote.id, "body": sitting.body_id, "sitting": sitting.id,
                  "agenda_item": vote.agenda_item_id, "title": vote.title,
                  "config": spec.to_json(), "titles": vote.titles, "secret": vote.secret,
                  "key_policy": vote.key_policy.value, "live_tally": vote.live_tally.value,
                  "rerun_of": vote.rerun_of_id}  # fmt: skip
        if vote.trustees:  # trustee mode (docs/trustee-votes.md)
            config["trustees"] = True
        # Only when they differ from the defaults, so that a standing committee's log
        # reads as before (and old verifiers, which know neither field, still read it).
        if vote.electorate is not Electorate.BODY:
            config["electorate"] = vote.electorate.value
        if vote.requires_vote_id is not None:
            config["requires"] = vote.requires_vote_id
        return config

    @staticmethod
    def _chosen_presses(state: OpenVote, presses: Sequence[Any]) -> dict[int, Any]:
        """Member → the press that counts: the last or the first, by key policy.
        ``presses``: rows with ``member_id``, ``ballot``, ``sealed``."""
        chosen: dict[int, Any] = {}
        for press in presses:  # ordered by member, then press number
            if state.key_policy.may_press_again or press.member_id not in chosen:
                chosen[press.member_id] = press
        return chosen

    @staticmethod
    def _attendees(session: Session, chosen: dict[int, Any]) -> set[int]:
        """Of the members who pressed, the 列席 attendees (an evaluation admitting them)."""
        if not chosen:
            return set()
        return set(
            session.scalars(
                select(Member.id).where(
                    Member.id.in_(list(chosen)), Member.role == MemberRole.ATTENDEE
                )
            )
        )

    def _counted_ballots(self, state: OpenVote, chosen: dict[int, Any]) -> list[Any]:
        """One ballot per member who pressed (``_chosen_presses``), opened if secret."""
        if not state.secret:
            return [p.ballot for p in chosen.values()]
        assert state.key is not None
        return [
            json.loads(state.key.open(p.sealed or b"", vote_aad(state.id))) for p in chosen.values()
        ]


def awaiting_decryption(vote: Vote) -> bool:
    """A trustee-mode vote closed without a result: its scrutineers have not decrypted
    it (yet). It is not announced; it may be cancelled for a paper count (人工计票)."""
    return bool(vote.trustees) and vote.state is VoteState.CLOSED and vote.result is None
