"""列席代表参加测评 and 现场打分 at the service level, and the verifier over the log.

An evaluation that admits attending deputies lets signed-in 列席 attendees vote;
their ballots are counted as a group of their own (never in 已按, 未按 or a void
vote), the result carries the three-way report, and the verifier recomputes it
from the logged ballots and the roster. A secret one releases each group's
ballots shuffled apart, and opens only with enough attendees signed in to keep
theirs secret. Scores travel the same signed path as marks.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

import tests.support.service_hall as service_hall
from rules.congress import MIN_SECRET_ATTENDING, MemberRole
from rules.kinds import VoteKind
from tests.support.service_hall import Hall, refused
from tests.test_congress import _first, _resign, fails_at
from voting_server.models import Body, Member, Vote
from voting_server.services import attendance
from voting_server.services.vote_presentation import participation, public_vote

hall = service_hall.hall  # the demo body (61 seats), a tablet enrolled at every seat

ATTENDING = (58, 59, 60, 61)  # 列席代表
SUBJECTS = {"edu": "县教育局", "civil": "县民政局"}


def _evaluation(hall: Hall, secret: bool, **rules: Any) -> int:
    """The demo's evaluation, made over to evaluate SUBJECTS under ``rules``; seats
    58–61 become 列席 (应到 57)."""
    with hall.tx() as s:
        s.execute(update(Member).where(Member.seat.in_(ATTENDING)).values(role=MemberRole.ATTENDEE))
        s.execute(update(Body).values(member_count=61 - len(ATTENDING)))
        vote = s.get(Vote, hall.votes[VoteKind.EVALUATION])
        assert vote is not None
        vote.configure({"kind": "evaluation", "subjects": list(SUBJECTS), **rules}, SUBJECTS)
        vote.secret = secret
        return vote.id


def _entries(hall: Hall, type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in map(json.loads, hall.lines()) if e["type"] == type_]


def _held(hall: Hall, secret: bool, **rules: Any) -> tuple[int, dict[str, Any]]:
    """30 members and the 4 列席代表 vote: members 22 满意 / 8 基本满意 on edu, attending
    all 不满意; civil the other way round."""
    vote = _evaluation(hall, secret, grades="three", admit_attending=True, **rules)
    hall.sign_in(*range(1, 31), *ATTENDING)
    hall.open(vote)
    for seat in range(1, 31):
        mark = "satisfied" if seat <= 22 else "basic"
        hall.press(seat, vote, {"edu": mark, "civil": "unsatisfied"})
    for seat in ATTENDING:
        hall.press(seat, vote, {"edu": "unsatisfied", "civil": "satisfied"})
    with hall.sessions() as s:
        state = hall.voting.votes.open[vote]
        figures = participation(state, attendance.present_count(s, state.sitting_id))
    assert (figures["voted"], figures["not_voted"]) == (30, 0)  # 列席代表 are not 已按
    return vote, hall.close(vote)


def test_attending_deputies_vote_and_are_reported_apart(hall: Hall) -> None:
    _, result = _held(hall, secret=False)
    assert (result["members"], result["present"], result["cast"], result["void"]) == (
        57,
        30,
        30,
        False,
    )
    edu = result["subjects"]["edu"]
    assert (edu["satisfied"], edu["basic"], edu["unsatisfied"]) == (22, 8, 0)  # members decide
    assert edu["outcome"] == "satisfied"
    assert edu["attending"] == {"satisfied": 0, "basic": 0, "unsatisfied": 4, "invalid": 0,
                                "satisfaction_rate": "0.00"}  # fmt: skip
    assert edu["all"]["unsatisfied"] == 4 and edu["all"]["satisfaction_rate"] == "88.24"
    assert result["subjects"]["civil"]["outcome"] == "unsatisfied"
    assert result["outcome_on"] == "members"
    closed = _entries(hall, "vote_closed")[-1]
    assert (closed["cast"], closed["attending_cast"]) == (30, 4)
    hall.verify()


def test_outcome_on_all_counts_the_attending_deputies_marks(hall: Hall) -> None:
    _, result = _held(hall, secret=False, outcome_on="all")
    civil = result["subjects"]["civil"]
    assert (civil["satisfied"], civil["unsatisfied"]) == (4, 30)
    assert result["cast"] == 30
    hall.verify()


def test_a_secret_evaluation_releases_each_group_apart(hall: Hall) -> None:
    _, result = _held(hall, secret=True)
    released = _entries(hall, "ballots_released")[-1]
    assert len(released["ballots"]) == 30 and len(released["attending_ballots"]) == 4
    assert all(b == {"edu": "unsatisfied", "civil": "satisfied"}
               for b in released["attending_ballots"])  # fmt: skip
    assert result["subjects"]["edu"]["attending"]["unsatisfied"] == 4
    hall.verify()
    # a server that slipped an attending deputy's ballot in among the members' is caught
    lines = hall.lines()
    at = _first(lines, "ballots_released")

    def mixed(data: dict[str, Any]) -> None:
        data["ballots"][0] = data["attending_ballots"][0]

    fails_at(hall, _resign(hall, lines, at, mixed), at + 1, "recount")


def test_a_secret_evaluation_needs_enough_attending_deputies_signed_in(hall: Hall) -> None:
    vote = _evaluation(hall, True, grades="three", admit_attending=True)
    hall.sign_in(*range(1, 31), *ATTENDING[: MIN_SECRET_ATTENDING - 1])
    refused("too_few_attending", hall, lambda: hall.open(vote))
    hall.sign_in(ATTENDING[MIN_SECRET_ATTENDING - 1])
    hall.open(vote)


def test_attending_deputies_see_the_vote_only_where_admitted(hall: Hall) -> None:
    vote = _evaluation(hall, False, admit_attending=True)
    with hall.sessions() as s:
        assert public_vote(s.get(Vote, vote))["admit_attending"] is True  # type: ignore[arg-type]
    other = _evaluation(hall, False)
    with hall.sessions() as s:
        assert public_vote(s.get(Vote, other))["admit_attending"] is False  # type: ignore[arg-type]
    hall.sign_in(*range(1, 31), ATTENDING[0])
    hall.open(other)
    refused("not_a_voter", hall, lambda: hall.press(ATTENDING[0], other, {"edu": "basic"}))


def test_scores_are_signed_counted_and_verified(hall: Hall) -> None:
    vote = _evaluation(hall, True, scores={"min": 0, "max": 100, "trim": 1, "pass_mark": 60})
    hall.sign_in(*range(1, 31))
    hall.open(vote)
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, {"edu": 101}))
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, {"edu": "90"}))
    refused("invalid_ballot", hall, lambda: hall.press(1, vote, {"edu": True}))
    for seat in range(1, 31):
        hall.press(seat, vote, {"edu": 50 + seat, "civil": 100 - seat})
    result = hall.close(vote)
    edu = result["subjects"]["edu"]
    # 51…80, the 51 and the 80 dropped: (52 + … + 79) / 28 = 65.50
    assert (edu["valid"], edu["mean"], edu["trimmed"], edu["outcome"]) == (
        30,
        "65.50",
        True,
        "satisfactory",
    )
    assert (
        result["subjects"]["civil"]["mean"] == "84.50" and result["subjects"]["civil"]["rank"] == 1
    )
    hall.verify()


def test_the_verifier_counts_the_attending_deputies_apart(hall: Hall) -> None:
    _held(hall, secret=False)
    lines = hall.lines()
    closed = _first(lines, "vote_closed")

    def one_more_member(data: dict[str, Any]) -> None:  # an attending deputy made a member
        data["cast"] += 1
        data["attending_cast"] -= 1

    fails_at(hall, _resign(hall, lines, closed, one_more_member), closed, "cast 31")

    def unreported(data: dict[str, Any]) -> None:
        del data["attending_cast"]

    fails_at(hall, _resign(hall, lines, closed, unreported), closed, "attending_cast")
