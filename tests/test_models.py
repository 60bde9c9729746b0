"""Models round-trip through SQLite and PostgreSQL; a Vote yields its VoteSpec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

import tests.support.db as support_db
from rules.kinds import (
    DEFAULT_QUORUM,
    MAJORITY_OF_MEMBERS,
    TWO_THIRDS_OF_MEMBERS,
    KeyPolicy,
    LiveTally,
    VoteKind,
)
from rules.schema import SchemaError, parse_vote_config
from voting_server.models import (
    AgendaItem,
    Attendance,
    AttendanceMethod,
    Body,
    BodyKind,
    BodyLevel,
    Document,
    Member,
    Sitting,
    SittingStatus,
    Vote,
    VoteState,
)

BEIJING = timezone(timedelta(hours=8))


sessions = support_db.sessions  # the fixture: a migrated database, SQLite then PostgreSQL


def _body(session: Session, name: str = "测试县人大常委会") -> Body:
    body = Body(name=name, kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.COUNTY, member_count=3)
    session.add(body)
    session.flush()
    return body


@pytest.mark.slow
def test_round_trip_of_every_model(sessions: sessionmaker[Session]) -> None:
    starts = datetime(2027, 3, 1, 9, 0, tzinfo=BEIJING)
    signed = datetime(2027, 3, 1, 8, 45, 30, 123456, tzinfo=BEIJING)
    pdf = b"%PDF-1.7\n\x00\xff binary \x00"
    with sessions.begin() as s:
        body = _body(s)
        members = [
            Member(body=body, seat=1, name="王建国", group_name="第一组"),
            Member(body=body, seat=2, name="买买提·艾力"),
            Member(body=body, seat=3, name="李红梅", active=False, pin_hash="argon2$x"),
        ]
        sitting = Sitting(body=body, title="第二十次会议", starts_at=starts)
        item = AgendaItem(sitting=sitting, position=1, title="审议条例草案", description="说明")
        doc = Document(
            agenda_item=item,
            title="草案",
            filename="草案.pdf",
            media_type="application/pdf",
            content=pdf,
        )
        first = Vote(agenda_item=item, title="关于条例草案的表决")
        first.configure({"kind": "motion", "subjects": ["draft"]}, {"draft": "条例（草案）"})
        first.state = VoteState.CANCELLED
        rerun = Vote(
            agenda_item=item,
            title="关于条例草案的表决（重新表决）",
            rerun_of=first,
            secret=False,
            key_policy=KeyPolicy.FIRST_PRESS,
            live_tally=LiveTally.BREAKDOWN,
            state=VoteState.OPEN,
            opened_at=starts + timedelta(hours=1),
            closes_at=starts + timedelta(hours=1, minutes=2),
        )
        rerun.configure({"kind": "motion", "subjects": ["draft"]}, {"draft": "条例（草案）"})
        attendance = Attendance(
            sitting=sitting,
            member=members[0],
            signed_in_at=signed,
            method=AttendanceMethod.KIOSK_PIN,
        )
        s.add_all([*members, doc, first, rerun, attendance])
        s.flush()
        ids = {"body": body.id, "vote": rerun.id, "first": first.id, "doc": doc.id}

    with sessions() as s:
        body = s.get_one(Body, ids["body"])
        assert (body.name, body.kind, body.level, body.member_count) == (
            "测试县人大常委会",
            BodyKind.STANDING_COMMITTEE,
            BodyLevel.COUNTY,
            3,
        )
        assert [(m.seat, m.name, m.group_name, m.active, m.pin_hash) for m in body.members] == [
            (1, "王建国", "第一组", True, None),
            (2, "买买提·艾力", None, True, None),
            (3, "李红梅", None, False, "argon2$x"),
        ]
        (sitting,) = body.sittings
        assert sitting.status is SittingStatus.PLANNED
        assert sitting.starts_at == starts and sitting.starts_at.tzinfo is UTC
        (item,) = sitting.agenda_items
        assert (item.position, item.title, item.description) == (1, "审议条例草案", "说明")
        (doc,) = item.documents
        assert (doc.filename, doc.media_type, doc.content) == ("草案.pdf", "application/pdf", pdf)
        first, rerun = item.votes
        assert (first.secret, first.key_policy, first.live_tally, first.state) == (
            True,  # 无记名 by default
            KeyPolicy.LAST_PRESS,
            LiveTally.HIDDEN,
            VoteState.CANCELLED,
        )
        assert rerun.rerun_of is first and first.rerun_of is None
        assert (rerun.secret, rerun.key_policy, rerun.live_tally, rerun.state) == (
            False,
            KeyPolicy.FIRST_PRESS,
            LiveTally.BREAKDOWN,
            VoteState.OPEN,
        )
        assert rerun.opened_at == starts + timedelta(hours=1)
        assert rerun.closes_at is not None and rerun.closes_at.tzinfo is UTC
        assert rerun.closed_at is None
        (att,) = sitting.attendances
        assert att.member.name == "王建国"
        assert att.signed_in_at == signed  # microseconds survive on both backends
        assert att.method is AttendanceMethod.KIOSK_PIN

        # Enums are stored as their values, readable by anyone querying the database.
        row = s.execute(
            sa.text("SELECT kind, key_policy, live_tally, state FROM votes WHERE id = :id"),
            {"id": ids["vote"]},
        ).one()
        assert tuple(row) == ("motion", "first_press", "breakdown", "open")
        assert s.execute(sa.text("SELECT method FROM attendances")).scalar() == "kiosk_pin"
        assert s.execute(sa.text("SELECT kind, level FROM bodies")).one() == (
            "standing_committee",
            "county",
        )


@pytest.mark.slow
def test_constraints_hold(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        body = _body(s)
        sitting = Sitting(body=body, title="第一次会议", starts_at=datetime.now(UTC))
        s.add_all([Member(body=body, seat=7, name="甲"), sitting])
        s.add(AgendaItem(sitting=sitting, position=1, title="一"))
        body_id, sitting_id = body.id, sitting.id

    cases: list[tuple[str, object]] = [
        ("seat twice in a body", Member(body_id=body_id, seat=7, name="乙")),
        ("seat 0", Member(body_id=body_id, seat=0, name="丙")),
        ("unknown body", Member(body_id=999_999, seat=8, name="丁")),
        ("agenda position twice", AgendaItem(sitting_id=sitting_id, position=1, title="二")),
        (
            "township standing committee",
            Body(name="某乡", kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.TOWNSHIP),
        ),
    ]
    for label, obj in cases:
        with sessions() as s, pytest.raises(IntegrityError):
            s.add(obj)
            s.flush()
            pytest.fail(f"{label} was accepted")

    with sessions() as s:
        member = s.scalars(sa.select(Member)).one()
        s.add(Attendance(sitting_id=sitting_id, member=member, method=AttendanceMethod.OPERATOR))
        s.add(Attendance(sitting_id=sitting_id, member=member, method=AttendanceMethod.KIOSK_PIN))
        with pytest.raises(IntegrityError):  # 签到 once per sitting
            s.flush()


@pytest.mark.slow
def test_unknown_enum_value_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        body = _body(s)
        s.execute(sa.text("UPDATE bodies SET level = 'city' WHERE id = :id"), {"id": body.id})
        with pytest.raises(IntegrityError):  # the CHECK constraint, for raw SQL too
            s.execute(
                sa.text("UPDATE bodies SET level = 'province' WHERE id = :id"), {"id": body.id}
            )


@pytest.mark.slow
def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        body = _body(s)
        s.add(Sitting(body=body, title="x", starts_at=datetime(2027, 3, 1, 9, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            s.flush()


@pytest.mark.slow
def test_vote_spec_is_the_validated_canonical_config(sessions: sessionmaker[Session]) -> None:
    projects = {f"p{i:02}": f"项目{i}" for i in range(1, 13)}
    with sessions.begin() as s:
        body = _body(s)
        item = AgendaItem(
            sitting=Sitting(body=body, title="s", starts_at=datetime.now(UTC)),
            position=1,
            title="议",
        )
        motion = Vote(agenda_item=item, title="表决")
        motion.configure(
            {
                "kind": "motion",
                "subjects": ["a", "b"],
                "threshold": {"base": "members", "ratio": [2, 3], "strict": False},
            },
            {"a": "任命甲", "b": "任命乙"},
        )
        selection = Vote(agenda_item=item, title="票决")
        selection.configure(
            {"kind": "selection", "candidates": list(projects), "seats": 10}, projects
        )
        evaluation = Vote(agenda_item=item, title="测评")
        evaluation.configure(
            {"kind": "evaluation", "subjects": ["mz"], "satisfaction_below": [3, 5]},
            {"mz": "市民政局"},
        )
        s.add_all([motion, selection, evaluation])
        s.flush()
        ids = [motion.id, selection.id, evaluation.id]
        expected = [motion.spec(), selection.spec(), evaluation.spec()]

    with sessions() as s:
        motion, selection, evaluation = (s.get_one(Vote, i) for i in ids)
        assert [v.spec() for v in (motion, selection, evaluation)] == expected
        spec = motion.spec()
        assert (spec.kind, spec.subjects, spec.threshold, spec.quorum) == (
            VoteKind.MOTION,
            ("a", "b"),
            TWO_THIRDS_OF_MEMBERS,
            DEFAULT_QUORUM,
        )
        assert motion.options() == [("a", "任命甲"), ("b", "任命乙")]
        spec = selection.spec()
        assert (spec.kind, len(spec.candidates), spec.seats, spec.threshold) == (
            VoteKind.SELECTION,
            12,
            10,
            MAJORITY_OF_MEMBERS,
        )
        assert [i for i, _ in selection.options()] == list(projects)  # ballot order kept
        assert evaluation.spec().evaluation.satisfaction_below == (3, 5)
        # Stored with every default explicit: a later change of defaults cannot change it.
        assert selection.config["threshold"] == {"base": "members", "ratio": [1, 2], "strict": True}
        assert selection.config["quorum"] == {"base": "members", "ratio": [1, 2], "strict": True}
        assert parse_vote_config(selection.config) == selection.spec()


@pytest.mark.slow
def test_vote_configuration_is_validated(sessions: sessionmaker[Session]) -> None:
    vote = Vote(title="x")
    with pytest.raises(SchemaError) as bad_seats:
        vote.configure(
            {"kind": "selection", "candidates": ["a", "b"], "seats": 3}, {"a": "A", "b": "B"}
        )
    assert bad_seats.value.field == "seats"
    with pytest.raises(SchemaError) as missing:
        vote.configure({"kind": "motion", "subjects": ["a", "b"]}, {"a": "A"})
    assert missing.value.field == "titles"
    with pytest.raises(SchemaError) as blank:
        vote.configure({"kind": "motion", "subjects": ["a"]}, {"a": "  "})
    assert blank.value.field == "titles.a"

    # A configuration edited behind the program's back is refused when read.
    with sessions.begin() as s:
        body = _body(s)
        item = AgendaItem(
            sitting=Sitting(body=body, title="s", starts_at=datetime.now(UTC)),
            position=1,
            title="议",
        )
        vote = Vote(agenda_item=item, title="表决")
        vote.configure({"kind": "motion", "subjects": ["a"]}, {"a": "A"})
        s.add(vote)
        s.flush()
        vote_id = vote.id
    with sessions.begin() as s:
        s.execute(
            sa.update(Vote)
            .where(Vote.id == vote_id)
            .values(config={"kind": "motion", "subjects": ["a"], "threshold": {"base": "everyone"}})
        )
    with sessions() as s, pytest.raises(SchemaError) as tampered:
        s.get_one(Vote, vote_id).spec()
    assert tampered.value.field.startswith("threshold")
    with sessions.begin() as s:
        s.execute(
            sa.update(Vote)
            .where(Vote.id == vote_id)
            .values(config={"kind": "evaluation", "subjects": ["a"]})
        )
    with sessions() as s, pytest.raises(SchemaError) as mismatch:
        s.get_one(Vote, vote_id).spec()
    assert mismatch.value.field == "kind"
