"""A paper count (人工计票) on the public results (docs/public.md): absent until the
presidium announces it, then public with its sheet and a proof of its ``manual_result``
entry — and no roll call, named or not: there is no electronic record per deputy."""

from __future__ import annotations

import json

import tests.support.service_hall as service_hall
from rules import VoteKind
from tests.support.paper import FAILURE, act, enter, sign, users
from tests.support.service_hall import Hall
from voting_server.services import public

hall = service_hall.hall  # the fixture: the demo committee with 61 enrolled kiosks


def test_a_paper_count_is_public_once_announced_without_a_roll_call(hall: Hall) -> None:
    u = users(hall)
    vote = hall.configure(VoteKind.MOTION, secret=False)
    hall.sign_in(*range(1, 56))
    hall.open(vote)
    hall.press(1, vote, {"regulation": "no"})  # pressed before the system failed: void
    act(hall, lambda s: hall.voting.cancel_vote(s, hall.log, vote, u["zhu"].id, FAILURE))
    enter(hall, vote, u["sec"])
    sign(hall, vote, u["jp1"])
    sign(hall, vote, u["jp2"])
    with hall.sessions() as s:  # published to the hall, not yet announced
        assert public.public_vote(s, vote) is None
        assert public.body_results(s, 1)["sittings"] == []  # type: ignore[index]
    with hall.tx() as s:
        hall.voting.announce(s, hall.log, vote, u["zhu"].id)
    hall.verify()
    with hall.sessions() as s:
        found = public.public_vote(s, vote)
        assert found is not None and found["manual"] is True
        assert found["roll_call"] is None
        evidence = found["evidence"]
        assert evidence is not None and evidence.problems() == [] and not evidence.pending
        assert json.loads(evidence.proofs["result"]["line"])["type"] == "manual_result"
        listed = public.body_results(s, 1)
    assert [v["id"] for v in listed["sittings"][0]["votes"]] == [vote]  # type: ignore[index]
