"""The service-level hall: the demo committee (61 members) on a migrated SQLite database,
a tablet enrolled at every seat, and the ``Voting`` service with the audit log — driven
through the services as the socket handlers drive them, without a server. The ``hall``
fixture yields it; tests/test_voting_service.py, tests/test_results_service.py and
tests/test_duties.py use it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from audit.verify import verify_log
from crypto import KioskKey, ServerKey, b64encode
from crypto.statements import ballot_bytes, participation_bytes
from rules.kinds import VoteKind
from tests.support.bodies import only_body_id
from tests.support.db import migrate
from voting_server.db import make_engine, make_session_factory
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, AuditEntry, Press, Vote
from voting_server.services import attendance, devices
from voting_server.services.audit_log import AuditLog, iter_lines
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.services.voter import Voter
from voting_server.services.voting import BallotRequest, Voting


@dataclass
class Hall:
    sessions: sessionmaker[Session]
    log: AuditLog
    voting: Voting
    keys: dict[int, KioskKey]  # seat → kiosk key
    voters: dict[int, Voter]  # seat → authenticated kiosk
    votes: dict[VoteKind, int]  # the demo's votes by kind
    key_dir: Path

    def tx(self) -> Any:
        return write_transaction(self.sessions)

    def entries(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(AuditEntry)) or 0

    def presses(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Press)) or 0

    def sign_in(self, *seats: int) -> None:
        with self.tx() as s:
            for seat in seats:
                member = attendance.member_at_seat(s, 1, seat)
                assert member is not None
                sitting = attendance.current_sitting(s, 1)
                assert sitting is not None
                attendance.sign_in(s, self.log, sitting, member, AttendanceMethod.KIOSK_PIN,
                                   device=self.voters[seat].device)  # fmt: skip

    def configure(self, kind: VoteKind, **columns: Any) -> int:
        with self.tx() as s:
            vote = s.get(Vote, self.votes[kind])
            assert vote is not None
            for name, value in columns.items():
                setattr(vote, name, value)
            return vote.id

    def open(self, vote_id: int, duration_s: int | None = None) -> None:
        with self.tx() as s:
            self.voting.open_vote(s, self.log, vote_id, 1, duration_s)

    def request(
        self, seat: int, vote_id: int, ballot: Any, nonce: str | None = None, **tamper: Any
    ) -> BallotRequest:
        """The ballot as seat's kiosk signs and sends it; ``tamper`` replaces a field
        (``voter``, ``signature``, ``participation_signature``) or signs with ``key``."""
        nonce = nonce or secrets.token_urlsafe(16)
        key = tamper.pop("key", None) or self.keys[seat]
        signature = b64encode(key.sign(ballot_bytes(vote_id, seat, nonce, ballot)))
        participation = b64encode(key.sign(participation_bytes(vote_id, seat, nonce)))
        fields = {"voter": self.voters[seat], "signature": signature,
                  "participation_signature": participation, **tamper}  # fmt: skip
        return BallotRequest(vote_id=vote_id, nonce=nonce, ballot=ballot, **fields)

    def press(
        self, seat: int, vote_id: int, ballot: Any, nonce: str | None = None,
        by: Voting | None = None, **tamper: Any,
    ):  # fmt: skip
        """``by``: the server process that takes the ballot (default ``self.voting``)."""
        r = self.request(seat, vote_id, ballot, nonce, **tamper)
        with self.tx() as s:
            receipt, _ = (by or self.voting).cast(s, self.log, r.voter, vote_id, r.nonce,
                                                  ballot, r.signature,
                                                  r.participation_signature)  # fmt: skip
        return receipt

    def cast_batch(self, requests: list[BallotRequest]) -> list[Any]:
        with self.tx() as s:
            return self.voting.cast_batch(s, self.log, requests)

    def close(self, vote_id: int) -> dict[str, Any]:
        with self.tx() as s:
            return self.voting.close_vote(s, self.log, vote_id, 1, "presidium").result or {}

    def lines(self) -> list[bytes]:
        with self.sessions() as s:
            return list(iter_lines(s, only_body_id(s)))

    def verify(self) -> None:
        report = verify_log(self.lines(), self.log.key.public_bytes)
        assert report.ok, report.errors


@pytest.fixture
def hall(sqlite_url: str, tmp_path: Path) -> Iterator[Hall]:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    log = AuditLog(ServerKey.generate())
    keys: dict[int, KioskKey] = {}
    voters: dict[int, Voter] = {}
    with write_transaction(sessions) as s:
        body = load_demo(s)
        votes = {v.kind: v.id for item in body.sittings[0].agenda_items for v in item.votes}
        for seat in range(1, 62):
            keys[seat] = KioskKey.generate()
            code = devices.issue_enrollment_code(s, body.id, seat, None)
            device = devices.enroll_device(s, log, code, keys[seat].public.spki_b64)
            voters[seat] = Voter(seat=seat, device=device.id, body=body.id)
    yield Hall(sessions, log, Voting(tmp_path / "keys"), keys, voters, votes, tmp_path / "keys")
    engine.dispose()


def refused(code: str, hall: Hall, action: Any) -> None:
    """``action`` is refused with ``code`` and changes neither the log nor the presses."""
    before = (hall.entries(), hall.presses())
    with pytest.raises(Refusal) as err:
        action()
    assert err.value.code == code, err.value
    assert (hall.entries(), hall.presses()) == before
