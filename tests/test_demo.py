"""The demo committee: 61 members, one sitting, the three kinds of vote; idempotent."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import tests.support.db as support_db
from rules.kinds import MAJORITY_OF_MEMBERS, KeyPolicy, VoteKind
from voting_server.demo import BODY_NAME, load_demo
from voting_server.models import (
    AgendaItem,
    Body,
    BodyKind,
    BodyLevel,
    Member,
    Sitting,
    Vote,
    VoteState,
)

sessions = support_db.sessions  # the fixture: a migrated database, SQLite then PostgreSQL


def _counts(s: Session) -> dict[str, int]:
    return {
        model.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for model in (Body, Member, Sitting, AgendaItem, Vote)
    }


def test_demo_loads_the_committee_and_its_agenda(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        load_demo(s)
    with sessions() as s:
        body = s.scalars(sa.select(Body)).one()
        assert body.name == BODY_NAME
        assert (body.kind, body.level) == (BodyKind.STANDING_COMMITTEE, BodyLevel.CITY)
        assert body.member_count == 61  # 全体组成人员: the base of the thresholds
        assert [m.seat for m in body.members] == list(range(1, 62))
        assert all(m.active for m in body.members)
        names = [m.name for m in body.members]
        assert len(set(names)) == 61
        assert all(2 <= len(n) <= 4 for n in names)

        (sitting,) = body.sittings
        assert "次会议" in sitting.title
        votes = [v for item in sitting.agenda_items for v in item.votes]
        assert [item.position for item in sitting.agenda_items] == [1, 2, 3]
        assert [v.kind for v in votes] == [VoteKind.MOTION, VoteKind.SELECTION, VoteKind.EVALUATION]
        assert all(v.secret and v.state is VoteState.DRAFT for v in votes)
        assert all(v.key_policy is KeyPolicy.LAST_PRESS for v in votes)

        motion, selection, evaluation = (v.spec() for v in votes)
        assert len(motion.subjects) == 1 and motion.threshold == MAJORITY_OF_MEMBERS
        assert "条例（草案）" in votes[0].title
        assert (len(selection.candidates), selection.seats) == (12, 10)
        assert all(len(title) >= 6 for _, title in votes[1].options())  # real project titles
        assert [t for _, t in votes[2].options()][:2] == ["市民政局", "市体育局"]
        assert "国有资产监督管理委员会" in votes[2].options()[2][1]  # 市国资委
        assert len(evaluation.subjects) == 3


def test_demo_twice_duplicates_nothing_and_keeps_what_was_held(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        load_demo(s)
        first = _counts(s)
    assert first == {"bodies": 1, "members": 61, "sittings": 1, "agenda_items": 3, "votes": 3}
    with sessions.begin() as s:  # the motion has been held since
        motion = s.scalars(sa.select(Vote).order_by(Vote.id).limit(1)).one()
        motion.state = VoteState.ANNOUNCED
    with sessions.begin() as s:
        load_demo(s)
        assert _counts(s) == first
        states = s.scalars(sa.select(Vote.state).order_by(Vote.id)).all()
        assert states == [VoteState.ANNOUNCED, VoteState.DRAFT, VoteState.DRAFT]
