"""The open votes in memory: what the ballot path needs, kept true across processes.

``OpenVotes`` holds each open vote's configuration, key (secret votes) and who
has pressed (已按), so that a ballot needs no query it can avoid. It is rebuilt
from the database when the server starts (``VoteLifecycle.resume``) and
changed only after a commit. With several server processes on one database
(docs/deployment.md), each process holds the open votes it has seen: a vote
opened by another is loaded when first met (``state_of``, ``current_states``),
one closed by another is dropped, and who has pressed is recounted from the
database (``refresh_presses``) — the 已按 figures and live counts are computed
from it (services/vote_presentation.py). The secret votes' key files live
here too (``key_path``, ``sweep_keys``, ``forget``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, VoteKey, destroy_key_file
from rules import VoteSpec
from rules.congress import Electorate
from rules.kinds import KeyPolicy, LiveTally, kind_of
from voting_server.models import Press, Vote, VoteState

if TYPE_CHECKING:
    from voting_server.services.trustee_votes import TrusteeContext

KEY_DIR = "vote-keys"  # in the instance dir, mode 0700


def key_dir_of(instance: Path) -> Path:
    """Where the secret votes' key files live (one per open vote)."""
    return instance / KEY_DIR


logger = logging.getLogger(__name__)


@dataclass
class Pressed:
    """Who has pressed in an open vote (已按) and, in a named vote, whose ballot counts."""

    presses: dict[int, int] = field(default_factory=dict)  # member → presses so far
    seats: dict[int, int] = field(default_factory=dict)  # member → seat, of those who pressed
    counted: dict[int, Any] = field(default_factory=dict)  # named: member → counted ballot
    # members who pressed as 列席代表 (an evaluation admitting them): not in 已按 / 未按
    attending: set[int] = field(default_factory=set)

    def record(
        self, member_id: int, seat: int, ballot: Any, policy: KeyPolicy, attending: bool = False
    ) -> None:
        """Note one press; ``ballot`` None (a secret vote) counts nothing here."""
        if attending:
            self.attending.add(member_id)
        first = member_id not in self.presses
        self.presses[member_id] = self.presses.get(member_id, 0) + 1
        self.seats[member_id] = seat
        if ballot is not None and (first or policy.may_press_again):
            self.counted[member_id] = ballot

    @property
    def voted(self) -> int:
        """已按: the members of the electorate who pressed (列席代表 apart)."""
        return len(self.presses) - len(self.attending)

    def counted_groups(self) -> tuple[list[Any], list[Any]]:
        """The counted ballots of a named vote: the members', then the 列席代表's."""
        members = [b for m, b in self.counted.items() if m not in self.attending]
        return members, [b for m, b in self.counted.items() if m in self.attending]

    def copy(self) -> Pressed:
        return Pressed(
            dict(self.presses), dict(self.seats), dict(self.counted), set(self.attending)
        )


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
    key: VoteKey | None = None  # secret votes in vote-key mode only
    # a trustee-mode secret vote's context (services/trustee_votes.py): no vote key
    trustee: TrusteeContext | None = None
    electorate: Electorate = Electorate.BODY  # who votes: the deputies, or the presidium
    admits_attending: bool = False  # 列席代表 vote too (an evaluation admitting them)
    pressed: Pressed = field(default_factory=Pressed)
    # What ``refresh_presses`` has read from the database so far (the presses up to
    # Press.id ``recounted_up_to``), kept so that the next recount reads only newer ones.
    recounted: Pressed | None = None
    recounted_up_to: int = 0

    def record_press(self, member_id: int, seat: int, ballot: Any, attending: bool = False) -> None:
        """Note a stored press (``ballot``: None for a secret vote; ``attending``: a 列席代表's)."""
        self.pressed.record(member_id, seat, ballot, self.key_policy, attending)


def open_state(vote: Vote, key: VoteKey | None, trustee: TrusteeContext | None = None) -> OpenVote:
    """What the ballot path keeps of open ``vote`` (``key``: a vote-key secret vote's;
    ``trustee``: a trustee-mode vote's context)."""
    sitting = vote.agenda_item.sitting
    spec = vote.spec()
    return OpenVote(
        id=vote.id, body_id=sitting.body_id, sitting_id=sitting.id, spec=spec,
        secret=vote.secret, key_policy=vote.key_policy, live_tally=vote.live_tally,
        members=vote.members_at_open or sitting.body.member_count, closes_at=vote.closes_at, key=key,
        electorate=vote.electorate, admits_attending=kind_of(spec.kind).admits_attending(spec),
        trustee=trustee,
    )  # fmt: skip


class OpenVotes:
    """The open votes of this server process, by id, with their keys' files."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir
        self.open: dict[int, OpenVote] = {}
        self.resumed = False  # open votes reloaded from the database yet?

    def key_path(self, vote_id: int) -> Path:
        return self.key_dir / f"vote-{vote_id}.key"

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

    def due(self, now: datetime) -> list[int]:
        """Open votes whose deadline has passed."""
        return [v.id for v in self.open.values() if v.closes_at is not None and v.closes_at <= now]

    def state_of(self, session: Session, vote_id: int) -> OpenVote | None:
        """The in-memory state of open vote ``vote_id`` (the caller has seen it open in
        the database), loaded if another server process opened it."""
        return self.open.get(vote_id) or self._load_open(session, vote_id)

    def current_states(self, session: Session, vote_ids: set[int]) -> dict[int, OpenVote]:
        """The open votes among ``vote_ids`` as the database has them now: a vote opened
        by another server process is loaded, one closed by another is dropped."""
        if not vote_ids:
            return {}
        rows = session.execute(select(Vote.id, Vote.state).where(Vote.id.in_(vote_ids))).all()
        out: dict[int, OpenVote] = {}
        for row in rows:
            if row.state is VoteState.OPEN:
                state = self.open.get(row.id) or self.load_open(session, row.id)
                if state is not None:
                    out[row.id] = state
            else:
                self.open.pop(row.id, None)  # its key file is gone with the close
        return out

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
            # a trustee-mode vote stores the encrypted ballot: counted at close, not here
            seen.record(member_id, int(receipt.get("seat", 0)), None if state.secret else ballot,
                        state.key_policy, bool(receipt.get("attending")))  # fmt: skip
            last = press_id
        state.recounted, state.recounted_up_to = seen, last
        # A copy: this process records its own presses into ``state`` after each commit.
        state.pressed = seen.copy()

    def load_open(self, session: Session, vote_id: int) -> OpenVote | None:
        """The in-memory state of an open vote this process did not open (another
        process did, under the scale-out stack). None if its key file is unreadable:
        the process that opened it is the one to cancel it (``resume``)."""
        vote = session.get(Vote, vote_id)
        assert vote is not None
        from voting_server.services.trustee_votes import context_of  # imports the services

        key = None
        trustee = context_of(session, vote)
        if vote.secret and trustee is None:
            try:
                key = VoteKey.load(self.key_path(vote.id))
            except (FileNotFoundError, CryptoError):
                return None
        state = open_state(vote, key, trustee)
        self.refresh_presses(session, state)
        self.open[vote.id] = state
        return state

    def forget(self, vote_id: int) -> None:
        """Drop a vote that is over, and destroy its key file (after the commit)."""
        state = self.open.pop(vote_id, None)
        if state is not None and state.key is not None:
            state.key = None
        destroy_key_file(self.key_path(vote_id))
