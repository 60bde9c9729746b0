"""The tablet page of a 列席 attendee: it signs in with its PIN and, while a vote is open,
shows the 列席 notice instead of the vote keys. Real server (``voting-server run``),
headless Chromium; skips without them (fails under REQUIRE_SERVICES=1). Screenshot in
``test-artifacts/congress/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from rules.congress import MemberRole
from rules.kinds import VoteKind
from tests.support.browser import ARTIFACTS, chromium, new_instance, preparing, running_server
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Body, Member, Vote
from voting_server.services import attendance, devices
from voting_server.services.voting import Voting

SEAT = 60  # 列席
PIN = "246813"
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.slow


def _prepare(instance: Path, url: str) -> str:
    """The demo with seat 60 列席 (PIN issued), 40 deputies present and a named motion
    open; returns the enrollment code of seat 60's tablet."""
    with preparing(instance, url) as (session, log):
        body = load_demo(session)
        session.execute(update(Member).where(Member.seat == SEAT).values(role=MemberRole.ATTENDEE))
        session.execute(update(Body).values(member_count=60))
        member = session.scalar(select(Member).where(Member.seat == SEAT))
        assert member is not None
        devices.set_pin(session, member.id, PIN)
        sitting = attendance.current_sitting(session, body.id)
        assert sitting is not None
        deputies = session.scalars(select(Member).where(Member.seat <= 40)).all()
        attendance.sign_in_many(session, log, sitting, list(deputies), AttendanceMethod.OPERATOR)
        motion = next(
            v for item in sitting.agenda_items for v in item.votes if v.kind == VoteKind.MOTION
        )
        session.get(Vote, motion.id).secret = False  # type: ignore[union-attr]
        Voting(instance / "vote-keys").open_vote(session, log, motion.id, 1, None)
        return devices.issue_enrollment_code(session, body.id, SEAT, None)


def test_an_attendee_tablet_shows_the_notice_instead_of_keys(tmp_path: Path) -> None:
    instance, url = new_instance(tmp_path)
    code = _prepare(instance, url)
    shots = ARTIFACTS / "congress"
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with chromium() as browser, running_server(instance, url, tmp_path) as (base, _):
        tablet = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        tablet.set_default_timeout(TIMEOUT_MS)
        tablet.on("pageerror", lambda exc: errors.append(str(exc)))
        tablet.goto(f"{base}/kiosk")
        tablet.fill("#enroll-code", code)
        tablet.click("#enroll-button")
        tablet.wait_for_selector("#screen-signin:not([hidden])")
        tablet.fill("#pin", PIN)
        tablet.click("#signin-button")
        tablet.wait_for_selector("#screen-waiting:not([hidden])")
        assert tablet.inner_text("#waiting-heading") == "列席"
        assert "不参加表决" in tablet.inner_text("#waiting-text")
        assert tablet.is_hidden("#screen-vote")
        tablet.screenshot(path=str(shots / "kiosk-attendee.png"))
    assert errors == []
