"""What the hall display (会场大屏) shows: the presidium's choice, or the votes.

The presidium chooses a stage from the console — 会标 (``welcome``), 签到情况
(``sign_in``), 议程 (``agenda``, one item or the whole agenda), the vote in progress
(``vote``), a vote's result (``result``), or a blank screen (``blank``) — and the
choice is kept on the body's row, so a reloaded display, or one served by another
server process, shows the same. Without a choice the display follows the votes: an
open vote, else the last vote that ended (its result, or that it was cancelled), else
the waiting screen with the attendance (``idle``).

A vote opened or closed after the choice takes the screen back (the hall must see a
vote the moment it opens, and its result the moment it closes): the latest of the
choice and the votes' ``opened_at`` / ``closed_at`` wins. So the last result no longer
stays on the screen for ever, and no lifecycle action needs to know of the display.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rules import duties
from voting_server.models import AgendaItem, Body, Sitting, Vote, VoteState
from voting_server.services import attendance
from voting_server.services.refusals import Refusal

# Stages the presidium may choose, and ``auto``: follow the votes again.
CHOSEN = ("welcome", "sign_in", "agenda", "vote", "result", "blank")
AUTO = "auto"
STAGES = (AUTO, *CHOSEN)
# What the display may be told to show: a chosen stage, or one the votes make.
SHOWN = (*CHOSEN, "idle", "cancelled")
ENDED = (VoteState.CLOSED, VoteState.CANCELLED, VoteState.ANNOUNCED)


# A sitting's title reads as the 会标 over the rostrum in two lines: the body and term,
# then the sitting's number — "…人民代表大会常务委员会" / "第二十次会议". It breaks before
# the last 第 (第N次会议), never inside a word.
SITTING_NUMBER_MARK = "第"


def banner_lines(title: str) -> list[str]:
    """The sitting's title as the 会标's lines (one line if it has no sitting number)."""
    at = title.rfind(SITTING_NUMBER_MARK)
    if at <= 0:
        return [title]
    return [title[:at], title[at:]]


def _opened_votes(sitting: Sitting) -> list[Vote]:
    """The sitting's votes that were ever opened (a draft cancelled before it opened
    never reached the screen, so it never takes it back)."""
    return [v for item in sitting.agenda_items for v in item.votes if v.opened_at is not None]


def _last_event(votes: list[Vote]) -> datetime | None:
    times = [t for v in votes for t in (v.opened_at, v.closed_at) if t is not None]
    return max(times) if times else None


def _last_ended(votes: list[Vote], with_result: bool = False) -> Vote | None:
    ended = [
        v
        for v in votes
        if v.state in ENDED
        and v.closed_at is not None
        and (v.result is not None or not with_result)
    ]
    return max(ended, key=lambda v: (v.closed_at, v.id)) if ended else None


def _following(votes: list[Vote]) -> dict[str, Any]:
    """What the display shows without a choice: the open vote, the last ended one, idle."""
    open_votes = [v for v in votes if v.state is VoteState.OPEN]
    if open_votes:
        return {"stage": "vote", "vote": open_votes[0].id}
    last = _last_ended(votes)
    if last is None:
        return {"stage": "idle"}
    if last.state is VoteState.CANCELLED:
        return {"stage": "cancelled", "vote": last.id}
    return {"stage": "result", "vote": last.id}


def current(session: Session, body: Body, sitting: Sitting | None = None) -> dict[str, Any]:
    """The stage the display shows now: ``{stage, vote?, item?, chosen}``.

    ``stage`` is one of ``SHOWN``; ``vote`` / ``item`` name what it shows; ``chosen`` is
    the presidium's choice still in force (a stage name) or ``auto``.
    """
    sitting = sitting or attendance.current_sitting(session, body.id)
    if sitting is None:
        return {"stage": "idle", "chosen": AUTO}
    votes = _opened_votes(sitting)
    last_event = _last_event(votes)
    chosen = body.display_stage
    in_force = (
        chosen in CHOSEN
        and body.display_set_at is not None
        and (last_event is None or body.display_set_at > last_event)
    )
    if not in_force:
        return {**_following(votes), "chosen": AUTO}
    view: dict[str, Any] = {"stage": chosen, "chosen": chosen}
    if chosen == "agenda" and body.display_target is not None:
        view["item"] = body.display_target
    elif chosen == "result":
        view["vote"] = body.display_target
    elif chosen == "vote":
        following = _following(votes)
        if following["stage"] != "vote":  # the vote ended meanwhile (closed_at is later)
            return {**following, "chosen": AUTO}
        view["vote"] = following["vote"]
    return view


def choose(
    session: Session,
    body: Body,
    stage: str,
    target: int | None,
    actor_role: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The presidium chooses what the display shows; returns ``current`` after it.

    Refuses (nothing changes): ``forbidden`` for any role but the presidium
    (rules/duties.py), ``invalid_payload`` for an unknown stage or a target the stage
    takes none of, ``no_sitting``, ``unknown_agenda_item`` for an item not on the
    current sitting's agenda, ``unknown_vote`` for another sitting's vote,
    ``vote_not_closed`` for a result not yet counted (or none at all), ``vote_not_open``
    for the vote stage while no vote is open.
    """
    refused = duties.display_stage_error(actor_role)
    if refused:
        raise Refusal("forbidden", refused)
    if stage not in STAGES:
        raise Refusal("invalid_payload", f"stage: one of {', '.join(STAGES)}")
    if target is not None and stage not in ("agenda", "result"):
        raise Refusal("invalid_payload", f"target: the stage {stage} shows no agenda item or vote")
    sitting = attendance.current_sitting(session, body.id)
    if sitting is None:
        raise Refusal("no_sitting")
    votes = _opened_votes(sitting)
    if stage == "agenda" and target is not None:
        item = session.get(AgendaItem, target)
        if item is None or item.sitting_id != sitting.id:
            raise Refusal("unknown_agenda_item")
    if stage == "result":
        if target is None:
            last = _last_ended(votes, with_result=True)
            if last is None:
                raise Refusal("vote_not_closed", "no vote of this sitting has a result yet")
            target = last.id
        vote = session.get(Vote, target)
        if vote is None or vote.agenda_item.sitting_id != sitting.id:
            raise Refusal("unknown_vote")
        if vote.result is None:
            raise Refusal("vote_not_closed")
    if stage == "vote" and not any(v.state is VoteState.OPEN for v in votes):
        raise Refusal("vote_not_open")
    body.display_stage = None if stage == AUTO else stage
    body.display_target = target
    body.display_set_at = now
    session.flush()
    return current(session, body, sitting)
