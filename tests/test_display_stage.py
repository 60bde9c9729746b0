"""The presidium chooses what the hall display shows (docs/screens.md, "The display").

Validated (a bad stage or target is refused with its code and changes nothing),
authorized (the presidium only: rules/duties.py), kept on the body's row (a display
that connects later, or to another server process, is told the same), and given back
to the votes when one opens or closes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask_socketio import SocketIOTestClient
from sqlalchemy import select

from rules import duties
from tests.support.live import logged_in, sign_in_by_staff, staff_socket
from voting_server.demo.city import demo_roster
from voting_server.extensions import audit_log, sessions
from voting_server.models import AgendaItem, Body, Sitting, SittingStatus, StaffRole, Vote
from voting_server.roster import apply_roster
from voting_server.services import bodies
from voting_server.services.transactions import write_transaction

QUORUM_SEATS = range(1, 32)  # 31 of the demo committee's 61: the quorum


def ask(sio: SocketIOTestClient, event: str, data: Any = None) -> Any:
    return sio.emit(event, {} if data is None else data, callback=True)


def stored(app: Flask) -> tuple[str | None, int | None]:
    with app.app_context(), sessions()() as s:
        body = s.scalars(select(Body).order_by(Body.id)).first()
        assert body is not None
        return body.display_stage, body.display_target


def display_of(sio: SocketIOTestClient) -> dict[str, Any]:
    answer = ask(sio, "state")
    assert answer["ok"], answer
    return answer["state"]["display"]


def told(sio: SocketIOTestClient) -> list[dict[str, Any]]:
    return [e["args"][0] for e in sio.get_received() if e["name"] == "display_stage"]


def agenda(app: Flask) -> tuple[list[int], dict[str, int]]:
    """The demo sitting's agenda item ids and its votes by kind."""
    with app.app_context(), sessions()() as s:
        items = list(s.scalars(select(AgendaItem.id).order_by(AgendaItem.position)))
        votes = {v.kind: v.id for v in s.scalars(select(Vote).order_by(Vote.id))}
    return items, votes


@pytest.fixture
def screens(live_app: Flask) -> tuple[SocketIOTestClient, SocketIOTestClient]:
    """The presidium's console and the hall display, connected."""
    presidium = staff_socket(live_app, logged_in(live_app, StaffRole.PRESIDIUM).client)
    hall = staff_socket(live_app, logged_in(live_app, StaffRole.DISPLAY).client)
    return presidium, hall


def test_without_a_choice_the_display_follows_the_votes(live_app: Flask, screens: Any) -> None:
    presidium, hall = screens
    assert display_of(hall) == {"stage": "idle", "chosen": "auto"}
    sign_in_by_staff(live_app, QUORUM_SEATS)
    _, votes = agenda(live_app)
    assert ask(presidium, "open_vote", {"vote": votes["motion"]})["ok"]
    assert display_of(hall) == {"stage": "vote", "vote": votes["motion"], "chosen": "auto"}
    assert ask(presidium, "close_vote", {"vote": votes["motion"]})["ok"]
    assert display_of(hall) == {"stage": "result", "vote": votes["motion"], "chosen": "auto"}


def test_the_presidium_takes_the_last_result_off_the_screen(live_app: Flask, screens: Any) -> None:
    presidium, hall = screens
    sign_in_by_staff(live_app, QUORUM_SEATS)
    items, votes = agenda(live_app)
    assert ask(presidium, "open_vote", {"vote": votes["motion"]})["ok"]
    assert ask(presidium, "close_vote", {"vote": votes["motion"]})["ok"]
    hall.get_received()

    answer = ask(presidium, "display_stage", {"stage": "welcome"})
    assert answer == {"ok": True, "display": {"stage": "welcome", "chosen": "welcome"}}
    assert told(hall) == [answer["display"]]  # the display is told at once
    assert stored(live_app) == ("welcome", None)
    # A display that connects later (a reload, another process) is told the same.
    again = staff_socket(live_app, logged_in(live_app, StaffRole.DISPLAY, "dapingmu2").client)
    assert display_of(again)["stage"] == "welcome"

    for stage in ("sign_in", "blank"):
        assert ask(presidium, "display_stage", {"stage": stage})["display"]["stage"] == stage
    shown = ask(presidium, "display_stage", {"stage": "agenda", "target": items[1]})["display"]
    assert shown == {"stage": "agenda", "item": items[1], "chosen": "agenda"}
    shown = ask(presidium, "display_stage", {"stage": "result"})["display"]  # the last result
    assert shown == {"stage": "result", "vote": votes["motion"], "chosen": "result"}

    # The next vote takes the screen back; choosing "vote" while none is open is refused.
    assert ask(presidium, "display_stage", {"stage": "blank"})["ok"]
    assert ask(presidium, "open_vote", {"vote": votes["evaluation"]})["ok"]
    assert display_of(hall)["stage"] == "vote"
    assert ask(presidium, "display_stage", {"stage": "sign_in"})["ok"]  # mid-vote: allowed
    assert display_of(hall)["stage"] == "sign_in"
    assert ask(presidium, "display_stage", {"stage": "vote"})["display"] == {
        "stage": "vote", "vote": votes["evaluation"], "chosen": "vote",
    }  # fmt: skip
    assert ask(presidium, "close_vote", {"vote": votes["evaluation"]})["ok"]
    assert display_of(hall)["vote"] == votes["evaluation"]
    assert ask(presidium, "display_stage", {"stage": "auto"})["display"]["stage"] == "result"


# Each bad choice, one after another on one hall: each must leave the stage as it was.
BAD_CHOICES: list[tuple[dict[str, Any], str]] = [
    ({"stage": "disco"}, "invalid_payload"),
    ({"stage": ""}, "invalid_payload"),
    ({}, "invalid_payload"),
    ({"stage": "welcome", "target": 1}, "invalid_payload"),  # 会标 shows no item
    ({"stage": "agenda", "target": 0}, "invalid_payload"),
    ({"stage": "agenda", "target": "1"}, "invalid_payload"),
    ({"stage": "agenda", "target": 2**40}, "invalid_payload"),
    ({"stage": "agenda", "target": 99999}, "unknown_agenda_item"),
    ({"stage": "result", "target": 99999}, "unknown_vote"),
    ({"stage": "result"}, "vote_not_closed"),  # nothing counted yet
    ({"stage": "vote"}, "vote_not_open"),
    ({"stage": "welcome", "extra": 1}, "invalid_payload"),
]


def test_a_bad_choice_is_refused_and_changes_nothing(live_app: Flask, screens: Any) -> None:
    presidium, hall = screens
    assert ask(presidium, "display_stage", {"stage": "sign_in"})["ok"]
    for payload, code in BAD_CHOICES:
        hall.get_received()
        answer = ask(presidium, "display_stage", payload)
        assert answer["ok"] is False and answer["error"] == code, (payload, answer)
        assert answer["message"], payload  # the Chinese message the console shows
        assert stored(live_app) == ("sign_in", None), payload
        assert told(hall) == [], payload
        assert display_of(hall)["stage"] == "sign_in", payload


def test_a_result_of_a_vote_not_counted_is_refused(live_app: Flask, screens: Any) -> None:
    presidium, _ = screens
    _, votes = agenda(live_app)
    answer = ask(presidium, "display_stage", {"stage": "result", "target": votes["selection"]})
    assert answer["error"] == "vote_not_closed"
    assert stored(live_app) == (None, None)


@pytest.mark.parametrize("role", [StaffRole.SECRETARIAT, StaffRole.DISPLAY, StaffRole.SCRUTINEER])
def test_only_the_presidium_chooses(live_app: Flask, screens: Any, role: StaffRole) -> None:
    presidium, hall = screens
    assert ask(presidium, "display_stage", {"stage": "blank"})["ok"]
    other = staff_socket(live_app, logged_in(live_app, role, f"other-{role.value}").client)
    hall.get_received()
    answer = ask(other, "display_stage", {"stage": "welcome"})
    assert answer["ok"] is False and answer["error"] == "forbidden"
    assert stored(live_app) == ("blank", None)
    assert told(hall) == []


def test_the_rule_names_the_presidium_alone() -> None:
    assert duties.display_stage_error(duties.PRESIDIUM) is None
    for role in (duties.SECRETARIAT, duties.SCRUTINEER, duties.DISPLAY, None):
        assert duties.display_stage_error(role)


@pytest.mark.parametrize(
    ("role", "can_act"), [(StaffRole.PRESIDIUM, "true"), (StaffRole.SECRETARIAT, "false")]
)
def test_the_console_carries_the_display_control(
    live_app: Flask, role: StaffRole, can_act: str
) -> None:
    html = logged_in(live_app, role).client.get("/console").get_data(as_text=True)
    assert 'id="display-control"' in html and f'data-can-act="{can_act}"' in html
    for label in ("会标", "签到情况", "议程", "黑屏", "打开大屏"):
        assert label in html
    assert "/static/js/display_control.js" in html and "/static/css/display.css" in html


def test_a_console_chooses_for_its_own_body_only(live_app: Flask, screens: Any) -> None:
    """The town's agenda item or counted vote is none of the committee's console; the
    town's display hears nothing of the committee's choice (rooms ``b<ID>:…``)."""
    presidium, _ = screens
    with live_app.app_context(), write_transaction(sessions()) as s:
        town = bodies.create_body(s, audit_log(), "示例镇人民代表大会", "congress", "township")
        apply_roster(s, town, demo_roster(5))
        sitting = Sitting(body=town, title="第三次会议", starts_at=datetime.now(UTC),
                          status=SittingStatus.OPEN)  # fmt: skip
        item = AgendaItem(sitting=sitting, position=1, title="关于镇政府工作报告的决议")
        vote = Vote(agenda_item=item, title="关于镇政府工作报告的决议（草案）", secret=False)
        vote.configure({"kind": "motion", "subjects": ["report"]}, {"report": "政府工作报告"})
        vote.result = {"members": 5, "present": 0, "cast": 0, "not_voted": 0, "subjects": {}}
        s.add_all([sitting, item, vote])
        s.flush()
        town_id, town_item, town_vote = town.id, item.id, vote.id
    town_display = staff_socket(
        live_app, logged_in(live_app, StaffRole.DISPLAY, "town-display", bodies=[town_id]).client
    )
    town_display.get_received()
    agenda_answer = ask(presidium, "display_stage", {"stage": "agenda", "target": town_item})
    assert agenda_answer["error"] == "unknown_agenda_item"
    result_answer = ask(presidium, "display_stage", {"stage": "result", "target": town_vote})
    assert result_answer["error"] == "unknown_vote"
    assert ask(presidium, "display_stage", {"stage": "welcome"})["ok"]
    assert told(town_display) == []
    assert display_of(town_display) == {"stage": "idle", "chosen": "auto"}
