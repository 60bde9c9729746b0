"""The console's seat map (座位图): which seats are signed in, which have a tablet,
which have pressed in the open vote — as compact lists of seat numbers.

The console draws the hall from its roster (rendered into the page) and colours it
from these lists: 3,000 seats are three short arrays, not 3,000 events. Pressed
(已按) is participation, never a choice, so it is the same for named and secret
votes (docs/secret-ballot.md: who took part is public, how is not).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voting_server.models import AgendaItem, Attendance, Device, Member, Vote, VoteState
from voting_server.services.open_votes import OpenVote


def present_seats(session: Session, sitting_id: int) -> list[int]:
    """The seats of everyone signed in to the sitting (签到), 列席 attendees included, in
    seat order: the console tells deputies and attendees apart by its roster."""
    return list(
        session.scalars(
            select(Member.seat)
            .join(Attendance, Attendance.member_id == Member.id)
            .where(Attendance.sitting_id == sitting_id)
            .order_by(Member.seat)
        )
    )


def tablet_seats(session: Session, body_id: int) -> list[int]:
    """Seats with an enrolled tablet in use (not revoked, not awaiting confirmation)."""
    return list(
        session.scalars(
            select(Device.seat)
            .where(Device.body_id == body_id, Device.revoked_at.is_(None),
                   Device.pending.is_(False))
            .distinct()
            .order_by(Device.seat)
        )
    )  # fmt: skip


def open_vote_id(session: Session, sitting_id: int) -> int | None:
    """The sitting's open vote, as the database has it (another process may have opened
    it)."""
    return session.scalar(
        select(Vote.id)
        .join(AgendaItem, AgendaItem.id == Vote.agenda_item_id)
        .where(AgendaItem.sitting_id == sitting_id, Vote.state == VoteState.OPEN)
        .limit(1)
    )


def seat_map(
    session: Session,
    sitting_id: int,
    body_id: int,
    online: set[int],
    open_vote: OpenVote | None,
) -> dict[str, Any]:
    """The lists behind the console's seat map. ``online``: the seats whose tablet is
    connected now (the shell knows the connections); ``open_vote``: the open vote whose
    presses the caller may see, or None (no vote open, or a role that sees no presses)."""
    tablets = tablet_seats(session, body_id)
    return {
        "sitting": sitting_id,
        "present": present_seats(session, sitting_id),
        "tablets": tablets,
        "offline": [seat for seat in tablets if seat not in online],
        "vote": open_vote.id if open_vote is not None else None,
        "pressed": sorted(open_vote.pressed.seats.values()) if open_vote is not None else [],
    }
