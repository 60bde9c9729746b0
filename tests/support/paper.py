"""Paper counts (人工计票) at the service level: the staff of a sitting (secretariat,
presidium, scrutineers designated or not), a vote that fails and is cancelled, the hand
count entered and countersigned, and the check that a refused step changed nothing.
Shared by tests/test_results_service.py and tests/test_duties.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.service_hall import Hall
from voting_server.models import Countersignature, PaperCount, StaffRole, StaffUser
from voting_server.services import results, staff
from voting_server.sockets.errors import Refusal

PASSWORD = "correct horse battery"
COUNTS = {"cast": 50, "subjects": {"regulation": {"yes": 40, "no": 6, "abstain": 3, "invalid": 1}}}
SITTING = 1  # the demo's one sitting
FAILURE = "表决器网络故障，改为纸质表决"


def users(hall: Hall, *, designate: bool = True) -> dict[str, StaffUser]:
    """The staff of a paper count; jp1 and jp2 designated for the sitting, jp3 not."""
    made = {}
    with hall.tx() as s:
        for name, role in (("sec", StaffRole.SECRETARIAT), ("zhu", StaffRole.PRESIDIUM),
                           ("jp1", StaffRole.SCRUTINEER), ("jp2", StaffRole.SCRUTINEER),
                           ("jp3", StaffRole.SCRUTINEER)):  # fmt: skip
            made[name] = staff.create_user(
                s, f"{name}-user", f"用户{name}", role, PASSWORD, log=hall.log
            ).id
    with hall.sessions() as s:
        found = {name: s.get(StaffUser, i) for name, i in made.items()}
        for user in found.values():
            s.expunge(user)  # type: ignore[arg-type]
    if designate:
        act(hall, lambda s: results.designate_scrutineers(
            s, hall.log, SITTING, found["zhu"], [made["jp1"], made["jp2"]], "经主任会议确定"
        ))  # fmt: skip
    return found  # type: ignore[return-value]


def act(hall: Hall, work: Any) -> Any:
    with hall.tx() as s:
        return work(s)


def fail(hall: Hall, vote: int, presidium: StaffUser, present: int = 55) -> None:
    """The vote is held and fails: opened with ``present`` signed in, then cancelled
    by the presidium with a reason."""
    hall.sign_in(*range(1, present + 1))
    hall.open(vote)
    act(hall, lambda s: hall.voting.cancel_vote(s, hall.log, vote, presidium.id, FAILURE))


def enter(hall: Hall, vote: int, user: StaffUser, mode: str = "counts", **entry: Any) -> None:
    entry = {"present": 55, "counts": COUNTS, **entry}
    act(hall, lambda s: results.enter_paper_count(s, hall.log, vote, user, mode, entry))


def sign(hall: Hall, vote: int, user: StaffUser, subject: str = "paper_count") -> None:
    act(hall, lambda s: results.countersign(s, hall.log, vote, user, subject))


def refused(hall: Hall, code: str, action: Any) -> None:
    before = hall.entries()
    with hall.sessions() as s:
        counts = (
            s.scalar(select(func.count()).select_from(Countersignature)),
            s.scalar(select(func.count()).select_from(PaperCount)),
        )
    with pytest.raises(Refusal) as err:
        action()
    assert err.value.code == code, err.value
    with hall.sessions() as s:
        assert (s.scalar(select(func.count()).select_from(Countersignature)), s.scalar(
            select(func.count()).select_from(PaperCount))) == counts  # fmt: skip
    assert hall.entries() == before
