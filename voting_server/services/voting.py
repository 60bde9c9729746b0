"""Votes: the presidium's lifecycle and the deputies' ballots, one object per process.

``Voting`` only composes the parts, each its own module with one job:

- services/open_votes.py — the open votes in memory (who has pressed, keys),
  kept true across server processes;
- services/vote_lifecycle.py — open, close, cancel, re-run, announce, and the
  reload of open votes at start-up;
- services/ballots.py — the ballot path: checks, batches committed together,
  receipts, sealing in secret votes;
- services/vote_presentation.py — what the screens are told of a vote.

The callers (sockets/voting.py, extensions.py, cli/serve.py, the bench and
tests) use the names below; new code may import a part directly.
"""

from __future__ import annotations

from pathlib import Path

from voting_server.services.ballots import BallotRequest, Ballots, Prechecked, Receipt
from voting_server.services.open_votes import OpenVote, OpenVotes, key_dir_of
from voting_server.services.vote_lifecycle import VoteLifecycle
from voting_server.services.vote_presentation import live_counts, participation, public_vote

__all__ = [
    "BallotRequest",
    "OpenVote",
    "Prechecked",
    "Receipt",
    "Voting",
    "key_dir_of",
    "public_vote",
]


class Voting:
    """The open votes of this server process, their lifecycle and their ballots."""

    participation = staticmethod(participation)
    live_counts = staticmethod(live_counts)

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir
        self.votes = OpenVotes(key_dir)
        self.lifecycle = VoteLifecycle(self.votes)
        self.ballots = Ballots(self.votes)
        # Each part's methods under the one name the callers know.
        self.open = self.votes.open  # one dict, never replaced (``resume`` clears it)
        self.key_path = self.votes.key_path
        self.sweep_keys = self.votes.sweep_keys
        self.state_of = self.votes.state_of
        self.refresh_presses = self.votes.refresh_presses
        self.due = self.votes.due
        self.resume = self.lifecycle.resume
        self.open_vote = self.lifecycle.open_vote
        self.close_vote = self.lifecycle.close_vote
        self.cancel_vote = self.lifecycle.cancel_vote
        self.rerun_vote = self.lifecycle.rerun_vote
        self.announce = self.lifecycle.announce
        self.signatures = self.ballots.signatures
        self.precheck = self.ballots.precheck
        self.cast = self.ballots.cast
        self.cast_batch = self.ballots.cast_batch

    @property
    def resumed(self) -> bool:
        """Open votes reloaded from the database yet?"""
        return self.votes.resumed
