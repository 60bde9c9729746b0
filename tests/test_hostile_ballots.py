"""One bad ballot never stops the hall (issue 14, item 1).

A tablet that is enrolled and authenticated, but whose deputy has not even signed
in, sends a ``ballot`` whose vote id does not fit the database's integer (2**63).
It must be refused on its own, and the next ballot of another seat acknowledged:
before the fix the driver raised inside the group commit, the leader flag stayed
set, and no later ballot of any kiosk was answered until a restart.
"""

from __future__ import annotations

from typing import Any

import pytest
import socketio as socketio_client
from flask import Flask
from sqlalchemy import select

from kiosk_client.client import KioskClient, ballot_payload, new_nonce
from rules.kinds import VoteKind
from tests.support.live import (
    LiveServer,
    enroll_kiosk,
    logged_in,
    serve,
    sign_in_by_staff,
)
from tests.support.socket_hall import (
    WAIT,
    SocketChannel,
    real_kiosk_channel,
    real_staff_channel,
)
from voting_server.extensions import sessions
from voting_server.models import Vote

HOSTILE_IDS = [2**63, 2**64, 10**100, -(2**63) - 1]


def _motion(app: Flask) -> tuple[int, str]:
    with app.app_context(), sessions()() as s:
        vote = s.scalars(select(Vote).where(Vote.kind == VoteKind.MOTION)).first()
        assert vote is not None
        return vote.id, vote.spec().subjects[0]


def _call(channel: SocketChannel, event: str, data: Any) -> Any:
    """The acknowledgement, or None if there was none (the handler crashed)."""
    try:
        return channel.sio.call(event, data, timeout=5)
    except socketio_client.exceptions.TimeoutError:
        return None


@pytest.mark.slow
def test_a_hostile_ballot_is_refused_and_the_next_kiosk_is_acknowledged(
    app_on_each_database: Flask,
) -> None:
    app = app_on_each_database
    hostile_kiosk = enroll_kiosk(app, 61)  # seat 61: enrolled, never signed in
    good_kiosk = enroll_kiosk(app, 1)
    sign_in_by_staff(app, range(1, 41), {1: good_kiosk.device_id})
    motion, subject = _motion(app)
    presidium = logged_in(app, "presidium", "zhuchi-test")
    server: LiveServer = serve(app)
    channels: list[Any] = []
    voter = KioskClient(server.url, good_kiosk.key, good_kiosk.device_id, seat=1)
    try:
        console = real_staff_channel(server.url, presidium.account.username)
        channels.append(console)
        assert console.call("open_vote", {"vote": motion})["ok"]
        hostile = real_kiosk_channel(server.url, hostile_kiosk)
        channels.append(hostile)
        assert isinstance(hostile, SocketChannel)
        payload = ballot_payload(hostile_kiosk.key, motion, 61, new_nonce(), {subject: "yes"})
        answers = [_call(hostile, "ballot", payload | {"vote": 2**63})]
        # Then a deputy at another seat presses: acknowledged with a receipt.
        voter.connect(timeout=WAIT)
        receipt = voter.vote(motion, {subject: "no"}, deadline_s=WAIT)
        assert receipt["vote"] == motion and receipt["press"] == 1
        answers += [_call(hostile, "ballot", payload | {"vote": v}) for v in HOSTILE_IDS[1:]]
        for answer in answers:  # each answered: a refusal naming the field, no traceback
            assert isinstance(answer, dict) and answer["ok"] is False, answer
            assert answer["error"] == "invalid_payload" and "vote" in answer["detail"], answer
    finally:
        voter.close()
        for channel in channels:
            channel.close()
        server.stop()
