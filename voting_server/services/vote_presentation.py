"""What the screens are told of a vote: its public description and its live figures.

Everything here is broadcast or answered to kiosks, consoles and the hall
display (sockets/voting.py), so it is what every screen may know: never a
ballot, and in a secret vote never a count before the close.
"""

from __future__ import annotations

from typing import Any

from rules import tally
from rules.kinds import LiveTally, kind_of
from rules.lifecycle import VoteState
from voting_server.models import Sitting, Vote
from voting_server.services import trustee_votes
from voting_server.services.open_votes import OpenVote


def public_vote(vote: Vote) -> dict[str, Any]:
    """What every screen may know of a vote (never a ballot)."""
    spec = vote.spec()
    options = [{"id": i, "title": t} for i, t in vote.options()]
    out: dict[str, Any] = {
        "id": vote.id,
        "title": vote.title,
        "kind": vote.kind,
        "state": vote.state.value,
        "secret": vote.secret,
        "key_policy": vote.key_policy.value,
        "live_tally": vote.live_tally.value,
        "electorate": vote.electorate.value,  # body, or presidium (主席团会议)
        # 列席代表参加测评: attending deputies' tablets show the vote too
        "admit_attending": kind_of(spec.kind).admits_attending(spec),
        "agenda_item": {
            "id": vote.agenda_item.id,
            "position": vote.agenda_item.position,
            "title": vote.agenda_item.title,
            "description": vote.agenda_item.description,
            # titles only: the tablet asks for a link to open one (document_link)
            "documents": [
                {"id": d.id, "title": d.title, "media_type": d.media_type}
                for d in vote.agenda_item.documents
            ],
        },
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "rerun_of": vote.rerun_of_id,
        "result": vote.result,
    }
    out.update(kind_of(spec.kind).public_items(spec, options))
    # trustee mode (docs/trustee-votes.md): the key the tablet encrypts to, and on the
    # console 等待监票人解密 (x/k) while a closed vote awaits its scrutineers
    out["trustees"] = trustee_votes.kiosk_view(vote)
    out["decryption"] = trustee_votes.decryption_view(vote)
    return out


PARTICIPATION_EVERY_S = 0.1  # 已按 counts reach the screens about this often during a burst
PARTICIPATION_EVERY_MAX_S = 0.5  # one process's interval, however many processes there are


def participation_interval(processes: int) -> float:
    """How long one process waits between its 已按 broadcasts of a vote during a burst.

    With several processes each broadcasts the same figures, recounted from the
    database, to the same screens (through the message queue, to every process): n
    processes each every 0.1 s sent the screens n updates per 0.1 s and cost n
    recounts and n² deliveries. Each every n × 0.1 s keeps about ten updates a
    second; the cap keeps the last count from lagging long behind the last press
    (beyond five processes the screens then get more than ten a second)."""
    return min(PARTICIPATION_EVERY_S * max(1, processes), PARTICIPATION_EVERY_MAX_S)


def participation(state: OpenVote, present: int) -> dict[str, Any]:
    """已按 / 未按 for the presidium and the display."""
    voted = state.pressed.voted  # the electorate's presses: 列席代表 are not 已按
    return {"vote": state.id, "voted": voted, "not_voted": max(0, present - voted),
            "voted_seats": sorted(state.pressed.seats.values())}  # fmt: skip


def live_counts(state: OpenVote, present: int) -> dict[str, Any] | None:
    """Running counts, only for named votes whose policy shows them."""
    if state.secret or state.live_tally is not LiveTally.BREAKDOWN:
        return None
    members, attending = state.pressed.counted_groups()
    result = tally(state.spec, state.members, present, members, attending)
    return {"vote": state.id, "counts": result[kind_of(state.spec.kind).result_key]}


def current_agenda_item(sitting: Sitting) -> dict[str, Any] | None:
    """The agenda item (议程) a tablet's waiting screen names: the open vote's; between
    votes, that of the vote opened last; before any vote, the first item of the agenda.
    The server does not follow the chair's words, so this is the nearest it knows."""
    items = sorted(sitting.agenda_items, key=lambda i: i.position)
    if not items:
        return None
    opened = [v for item in items for v in item.votes if v.opened_at is not None]
    item = items[0]
    if opened:
        latest = max(opened, key=lambda v: (v.state is VoteState.OPEN, v.opened_at, v.id))
        item = latest.agenda_item
    return {"id": item.id, "position": item.position, "title": item.title}
