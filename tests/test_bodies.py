"""Several bodies on one server (issue 16, docs/bodies.md): each its own log, rooms,
pages and staff.

The demo committee (a city standing committee, 61 seats) and a township congress
(5 seats) hold a sitting each at the same time, over real sockets: a vote is opened
and closed in each; the kiosks, consoles and displays of one never receive the
other's events; each body's export verifies alone and holds nothing of the other's;
a town account gets 403 on the committee's pages and its socket is refused there.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio as socketio_client
from flask import Flask
from sqlalchemy import select

from crypto import KioskKey
from kiosk_client.client import KioskClient
from tests.support.bundles import run, verify_json
from tests.support.live import PASSWORD, LiveServer, create_staff
from tests.support.socket_hall import WAIT, Channel, close_all, real_staff_channel
from voting_server.demo import demo_roster
from voting_server.extensions import audit_log, sessions
from voting_server.models import (
    AgendaItem,
    AttendanceMethod,
    Body,
    Member,
    Press,
    Sitting,
    SittingStatus,
    StaffRole,
    Vote,
)
from voting_server.roster import apply_roster
from voting_server.services import attendance, bodies, devices, staff
from voting_server.services.audit_log import iter_lines
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction

TOWN = "示例镇人民代表大会"
TOWN_MEMBERS = 5
VOTERS = (1, 2)  # the seats whose tablets vote in each body


def _first_body(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        found = s.scalar(select(Body.id).order_by(Body.id).limit(1))
    assert found is not None
    return found


def _add_town(app: Flask) -> tuple[int, int]:
    """The township congress, its roster, an open sitting with a named motion: (body, vote)."""
    with app.app_context(), write_transaction(sessions()) as s:
        body = bodies.create_body(s, audit_log(), TOWN, "congress", "township")
        apply_roster(s, body, demo_roster(TOWN_MEMBERS))
        sitting = Sitting(body=body, title="第三次会议", starts_at=datetime.now(UTC),
                          status=SittingStatus.OPEN)  # fmt: skip
        item = AgendaItem(sitting=sitting, position=1, title="关于镇政府工作报告的决议")
        vote = Vote(agenda_item=item, title="关于镇政府工作报告的决议（草案）", secret=False)
        vote.configure({"kind": "motion", "subjects": ["report"]}, {"report": "政府工作报告"})
        s.add_all([sitting, item, vote])
        s.flush()
        return body.id, vote.id


def _committee_vote(app: Flask, body_id: int) -> int:
    """The demo committee's motion (its first agenda item)."""
    with app.app_context(), sessions()() as s:
        sitting = attendance.current_sitting(s, body_id)
        assert sitting is not None
        return sitting.agenda_items[0].votes[0].id


def _present(app: Flask, body_id: int, count: int, tablets: dict[int, str]) -> None:
    """代为签到 of seats 1..count, and the voters' PIN confirmed on their own tablets."""
    with app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, body_id)
        assert sitting is not None
        for seat in range(1, count + 1):
            member = attendance.member_at_seat(s, body_id, seat)
            assert member is not None
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR)
            if seat in tablets:
                attendance.confirm_pin(s, audit_log(), sitting, member, tablets[seat])


def _tablets(app: Flask, url: str, body_id: int) -> dict[int, KioskClient]:
    """A tablet enrolled and connected (real socket) at each voter's seat of the body."""
    clients = {}
    for seat in VOTERS:
        key = KioskKey.generate()
        with app.app_context(), write_transaction(sessions()) as s:
            code = devices.issue_enrollment_code(s, body_id, seat, None)
            device = devices.enroll_device(s, audit_log(), code, key.public.spki_b64).id
        client = KioskClient(url, key, device)
        client.connect(WAIT)
        clients[seat] = client
    return clients


def _vote_ids_in(events: list[Any]) -> set[int]:
    return {e["vote"] if "vote" in e else e["id"] for e in events}


@pytest.fixture
def two_bodies(live_app: Flask, live_server: LiveServer) -> Iterator[dict[str, Any]]:
    app, url = live_app, live_server.url
    city = _first_body(app)
    town, town_vote = _add_town(app)
    platform = create_staff(app, StaffRole.PRESIDIUM, "zhu.chi")  # serves every body
    city_screen = create_staff(app, StaffRole.DISPLAY, "city.screen", bodies=[city])
    town_screen = create_staff(app, StaffRole.DISPLAY, "town.screen", bodies=[town])
    town_office = create_staff(app, StaffRole.SECRETARIAT, "town.office", bodies=[town])
    opened: list[Any] = []
    try:
        tablets = {city: _tablets(app, url, city), town: _tablets(app, url, town)}
        opened.extend(c for by_seat in tablets.values() for c in by_seat.values())
        devices_of = {b: {seat: c.device_id for seat, c in t.items()} for b, t in tablets.items()}
        _present(app, city, 31, devices_of[city])  # 过半数 of 61
        _present(app, town, 3, devices_of[town])
        consoles: dict[int, Channel] = {
            b: real_staff_channel(url, platform.username, body=b) for b in (city, town)
        }
        displays: dict[int, Channel] = {
            city: real_staff_channel(url, city_screen.username),  # default: its one body
            town: real_staff_channel(url, town_screen.username),
        }
        opened.extend([*consoles.values(), *displays.values()])
        yield {
            "app": app, "url": url, "city": city, "town": town,
            "votes": {city: _committee_vote(app, city), town: town_vote},
            "tablets": tablets, "consoles": consoles, "displays": displays,
            "town_office": town_office,
        }  # fmt: skip
    finally:
        close_all(*opened)  # at once: each close may wait seconds for Werkzeug


def test_two_bodies_vote_at_once_and_never_hear_each_other(
    two_bodies: dict[str, Any], tmp_path: Path
) -> None:
    h = two_bodies
    city, town = h["city"], h["town"]
    votes, consoles, displays, tablets = h["votes"], h["consoles"], h["displays"], h["tablets"]

    # Both votes open at the same time, each from its body's console.
    for body in (city, town):
        answer = consoles[body].call("open_vote", {"vote": votes[body]})
        assert answer["ok"], answer
    for body in (city, town):
        for seat, tablet in tablets[body].items():
            tablet.events.wait_for("vote_opened", lambda v, b=body: v["id"] == votes[b], WAIT)
            ballot = {s: "yes" for s in _subjects(h["app"], votes[body])}
            assert tablet.vote(votes[body], ballot, deadline_s=WAIT)["entry"] > 0, seat
    # A console cannot act on another body's vote, even one its account also serves.
    refused = consoles[town].call("close_vote", {"vote": votes[city]})
    assert refused["ok"] is False and refused["error"] == "unknown_vote"
    for body in (city, town):
        answer = consoles[body].call("close_vote", {"vote": votes[body]})
        assert answer["ok"], answer
        displays[body].wait_for("result", lambda r, b=body: r["vote"] == votes[b])

    # Every screen heard its own body's vote, and nothing of the other's.
    for body, other in ((city, town), (town, city)):
        screens = [consoles[body], displays[body]]
        for screen in screens:
            for name in ("vote_opened", "result", "vote_closed"):
                assert votes[other] not in _vote_ids_in(screen.events(name)), (body, name)
            assert votes[body] in _vote_ids_in(screen.events("vote_opened"))
        for tablet in tablets[body].values():
            for name in ("vote_opened", "result"):
                seen = _vote_ids_in(tablet.events.all(name))
                assert votes[body] in seen and votes[other] not in seen, (body, name)
            assert tablet.events.all("attendance") == [] or all(
                q["members"] == (61 if body == city else TOWN_MEMBERS)
                for q in tablet.events.all("attendance")
            )

    # Each body's export is its own log alone, and verifies alone.
    env = {"VOTING_INSTANCE_DIR": h["app"].config["INSTANCE_DIR"]}
    url = h["app"].config["VOTING_DATABASE_URL"]
    for body, other in ((city, town), (town, city)):
        out = tmp_path / f"body-{body}"
        done = run("export", "--out", str(out), "--database-url", url, "--body", str(body),
                   env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        code, report = verify_json(out)
        assert code == 0 and report["ok"], report
        lines = [json.loads(x) for x in (out / "log.jsonl").read_text("utf-8").splitlines()]
        assert lines[0]["type"] == "log_started" and lines[0]["data"]["body"]["id"] == body
        mentioned = {_vote_of(e["data"]) for e in lines if isinstance(e["data"], dict)}
        assert votes[body] in mentioned and votes[other] not in mentioned
        rosters = [e["data"]["body"]["id"] for e in lines if e["type"] == "roster"]
        assert rosters and set(rosters) == {body}
        with h["app"].app_context(), sessions()() as s:
            kiosks = json.loads((out / "keys.json").read_text("utf-8"))["kiosks"]
            assert set(kiosks) == {t.device_id for t in tablets[body].values()}
            assert len(lines) == len(list(iter_lines(s, body)))
    # With several bodies, the body must be named: exit 2, listing them.
    done = run("export", "--out", str(tmp_path / "which"), "--database-url", url, env=env)
    assert done.returncode == 2
    assert f"{city} " in done.stderr and f"{town} {TOWN}" in done.stderr


def test_the_same_seat_of_two_bodies_pressing_together_shares_one_batch(
    two_bodies: dict[str, Any],
) -> None:
    """A batch of the group commit holds one ballot per member at most (its press number
    counts from the previous commit), and a member is a seat OF A BODY: seat 1 of the
    city and seat 1 of the town, queued together, are committed together — not one
    batch each, which with ten bodies numbering their seats from 1 split every batch."""
    h = two_bodies
    city, town, votes, tablets = h["city"], h["town"], h["votes"], h["tablets"]
    commit = h["app"].extensions["voting.group_commit"]
    cast_batch = commit.batch
    batches: list[list[tuple[int, int]]] = []
    held, release = threading.Event(), threading.Event()

    def watched(session: Any, log: Any, requests_: list[Any]) -> list[Any]:
        """The server's own batch function; the first batch waits until the others queue."""
        batches.append(sorted((r.voter.body, r.voter.seat) for r in requests_))
        if len(batches) == 1:
            held.set()
            assert release.wait(WAIT)
        return cast_batch(session, log, requests_)

    def press(body: int, seat: int) -> dict[str, Any]:
        ballot = {s: "yes" for s in _subjects(h["app"], votes[body])}
        return tablets[body][seat].vote(votes[body], ballot, deadline_s=WAIT)

    for body in (city, town):
        assert h["consoles"][body].call("open_vote", {"vote": votes[body]})["ok"]
        for tablet in tablets[body].values():
            tablet.events.wait_for("vote_opened", lambda v, b=body: v["id"] == votes[b], WAIT)
    commit.batch = watched
    try:
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(press, city, 2)  # leads, and is held in its batch
            assert held.wait(WAIT)
            same_seat = [pool.submit(press, body, 1) for body in (city, town)]
            deadline = time.monotonic() + WAIT
            while len(commit._queue) < 2 and time.monotonic() < deadline:  # both queued
                time.sleep(0.01)
            release.set()
            receipts = [f.result(WAIT) for f in (first, *same_seat)]
    finally:
        commit.batch = cast_batch
        release.set()

    assert all(r["entry"] > 0 for r in receipts)
    assert batches == [[(city, 2)], sorted([(city, 1), (town, 1)])]
    # Each press is its own body's member at that seat, in its own body's log: the
    # batch's members are read for both bodies at once, keyed by body and seat.
    with h["app"].app_context(), sessions()() as s:
        stored = s.execute(
            select(Press.vote_id, Member.body_id, Member.seat, Press.entry_idx).join(
                Member, Member.id == Press.member_id
            )
        ).all()
    assert sorted((v, b, seat) for v, b, seat, _ in stored) == sorted(
        [(votes[city], city, 2), (votes[city], city, 1), (votes[town], town, 1)]
    )
    by_vote = {(v, seat): entry for v, _, seat, entry in stored}
    assert by_vote[(votes[town], 1)] == receipts[2]["entry"]
    assert by_vote[(votes[city], 1)] == receipts[1]["entry"]


def _vote_of(data: dict[str, Any]) -> Any:
    """The vote an entry is about: its id, or (vote_configured) the vote object's id."""
    vote = data.get("vote")
    return vote.get("id") if isinstance(vote, dict) else vote


def _subjects(app: Flask, vote_id: int) -> list[str]:
    with app.app_context(), sessions()() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        return [i for i, _ in vote.options()]


def _http_login(url: str, username: str) -> tuple[requests.Session, str]:
    """A browser's login over HTTP: the session and its cookie header."""
    http = requests.Session()
    page = http.get(f"{url}/login", timeout=WAIT).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = http.post(f"{url}/login", timeout=WAIT, allow_redirects=False,
                       data={"username": username, "password": PASSWORD, "csrf_token": token[1]})  # fmt: skip
    assert answer.status_code == 302
    return http, "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def test_a_town_account_sees_only_its_town(two_bodies: dict[str, Any]) -> None:
    h = two_bodies
    app, url, city, town = h["app"], h["url"], h["city"], h["town"]
    office, cookie = _http_login(url, h["town_office"].username)
    # Its own body by default and by name; the city's pages are refused with a reason.
    assert TOWN in office.get(f"{url}/admin/roster/", timeout=WAIT).text
    assert office.get(f"{url}/admin/roster/?body={town}", timeout=WAIT).status_code == 200
    with app.app_context(), sessions()() as s:
        city_sitting = attendance.current_sitting(s, city)
        assert city_sitting is not None
        city_sitting_id = city_sitting.id
    for path in (f"/admin/roster/?body={city}", f"/admin/devices?body={city}",
                 f"/results/?body={city}", f"/console?body={city}",
                 f"/admin/sittings/{city_sitting_id}",
                 f"/results/votes/{h['votes'][city]}/sheet"):  # fmt: skip
        page = office.get(url + path, timeout=WAIT)
        assert page.status_code == 403, path
        assert "不服务于该" in page.text, path

    # Its socket: refused for the city, accepted for its town.
    for body, accepted in ((city, False), (town, True)):
        sio = socketio_client.Client()
        try:
            if accepted:
                sio.connect(url, headers={"Cookie": cookie}, auth={"body": body},
                            transports=["websocket"], wait_timeout=WAIT)  # fmt: skip
                state = sio.call("state", {}, timeout=WAIT)
                assert state["ok"] and state["state"]["sitting"]["body"] == TOWN
            else:
                with pytest.raises(socketio_client.exceptions.ConnectionError):
                    sio.connect(url, headers={"Cookie": cookie}, auth={"body": body},
                                transports=["websocket"], wait_timeout=WAIT)  # fmt: skip
        finally:
            sio.disconnect()


def test_an_account_change_is_logged_in_every_body_it_serves(two_bodies: dict[str, Any]) -> None:
    h = two_bodies
    app, city, town = h["app"], h["city"], h["town"]
    town_only = create_staff(app, StaffRole.SCRUTINEER, "town.jp", bodies=[town])

    def staff_entries(body: int, user: int) -> list[str]:
        with app.app_context(), sessions()() as s:
            found = [json.loads(x) for x in iter_lines(s, body)]
        return [e["type"] for e in found if e["type"].startswith("staff_")
                and e["data"]["user"] == user]  # fmt: skip

    assert staff_entries(town, town_only.id) == ["staff_created"]
    assert staff_entries(city, town_only.id) == []
    with app.app_context(), write_transaction(sessions()) as s:
        staff.set_scope(s, town_only.id, [city, town], log=audit_log())
    assert staff_entries(city, town_only.id) == ["staff_scope_changed"]
    assert staff_entries(town, town_only.id) == ["staff_created", "staff_scope_changed"]
    # The town's secretariat may not give an account the city, nor make a platform one.
    for scope in ([city], None):  # the city; every body (a platform account)
        with (
            pytest.raises(Refusal) as refused,
            app.app_context(),
            write_transaction(sessions()) as s,
        ):
            staff.create_user(s, "city.jp", "某", "scrutineer", "a long password",
                              log=audit_log(), by=h["town_office"].id, bodies=scope)  # fmt: skip
        assert refused.value.code == "forbidden"
