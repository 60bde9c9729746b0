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


def test_the_county_demo_holds_three_bodies_and_the_congress_procedure(
    sessions: sessionmaker[Session],
) -> None:
    from rules.congress import Electorate, MemberRole, PresidiumSeat
    from voting_server.demo.county import (
        COUNTY_COMMITTEE,
        COUNTY_CONGRESS,
        TOWN_CONGRESS,
        load_county,
    )

    with sessions.begin() as s:
        load_county(s)
        first = _counts(s)
    with sessions.begin() as s:
        load_county(s)  # idempotent
        assert _counts(s) == first
    with sessions() as s:
        bodies = {b.name: b for b in s.scalars(sa.select(Body))}
        assert list(bodies) == [COUNTY_CONGRESS, COUNTY_COMMITTEE, TOWN_CONGRESS]
        congress = bodies[COUNTY_CONGRESS]
        assert (congress.kind, congress.level) == (BodyKind.CONGRESS, BodyLevel.COUNTY)
        assert congress.member_count == 250  # 应到: deputies only
        deputies = [m for m in congress.members if m.role is MemberRole.DEPUTY]
        attendees = [m for m in congress.members if m.role is MemberRole.ATTENDEE]
        assert (len(deputies), len(attendees)) == (250, 8)
        assert len({m.group_name for m in deputies}) == 12
        assert all(m.group_name.endswith("代表团") for m in deputies if m.group_name)
        assert all(m.group_name is None for m in attendees)
        chairs = [m for m in deputies if m.presidium is PresidiumSeat.EXECUTIVE_CHAIR]
        assert len(chairs) == 1
        assert sum(1 for m in deputies if m.presidium is not PresidiumSeat.NONE) == 25

        (sitting,) = congress.sittings
        items = sitting.agenda_items
        assert [len(i.votes) for i in items] == [0, 0, 1, 1, 1]
        assert items[0].documents and "分团审议" in items[1].title
        presidium_vote, ballot, motion = (i.votes[0] for i in items[2:])
        assert presidium_vote.electorate is Electorate.PRESIDIUM
        assert presidium_vote.kind == VoteKind.MOTION
        assert ballot.kind == VoteKind.SELECTION and ballot.requires_vote_id == presidium_vote.id
        assert ballot.electorate is Electorate.BODY and motion.kind == VoteKind.MOTION

        committee = bodies[COUNTY_COMMITTEE]
        assert (committee.kind, committee.level, committee.member_count) == (
            BodyKind.STANDING_COMMITTEE, BodyLevel.COUNTY, 35,
        )  # fmt: skip
        (evaluation,) = [v for i in committee.sittings[0].agenda_items for v in i.votes]
        assert evaluation.kind == VoteKind.EVALUATION

        town = bodies[TOWN_CONGRESS]
        assert (town.kind, town.level, town.member_count) == (
            BodyKind.CONGRESS, BodyLevel.TOWNSHIP, 50,
        )  # fmt: skip
        assert all(m.group_name is None for m in town.members)  # no delegations
        assert [v.kind for i in town.sittings[0].agenda_items for v in i.votes] == ["motion"]
