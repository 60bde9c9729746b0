"""Who may connect over Socket.IO: kiosks by challenge–response, staff by
their login session; through Flask-SocketIO's test client and through a
real socket on a local port."""

from __future__ import annotations

import base64
import queue
import re
from typing import Any

import pytest
import requests
import socketio as socketio_client
from flask import Flask

from crypto import KioskKey
from kiosk_client.client import KioskClient
from tests.support.bodies import only_body_id
from tests.support.live import (
    EnrolledKiosk,
    LiveServer,
    LoggedIn,
    body_id,
    challenge_of,
    create_staff,
    enroll_kiosk,
    kiosk_socket,
    logged_in,
    login,
    post_form,
    staff_socket,
)
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.models import StaffRole
from voting_server.services import devices, staff
from voting_server.services.transactions import write_transaction
from voting_server.sockets.connection import online_seats
from voting_server.sockets.identity import KIOSK, Client, connected, requires

STAFF_ROLES = tuple(r.value for r in StaffRole)


# A guarded event for these tests: what every event behind ``requires`` sees.
@socketio.on("test_whoami")
@requires(KIOSK, *STAFF_ROLES)
def _whoami(client: Client, data: Any = None) -> dict[str, Any]:
    return {"ok": True, "role": client.role, "seat": client.seat, "user": client.user_id}


def _connect(app: Flask, kiosk: EnrolledKiosk) -> tuple[Any, str]:
    sio = socketio.test_client(app, auth={"device": kiosk.device_id})
    assert sio.is_connected()
    return sio, challenge_of(sio)


def _authenticate(sio: Any, kiosk: EnrolledKiosk, signature: str) -> dict[str, Any]:
    return sio.emit(
        "authenticate", {"device": kiosk.device_id, "signature": signature}, callback=True
    )


def _revoke(app: Flask, device_id: str) -> None:
    with app.app_context(), write_transaction(sessions()) as s:
        devices.revoke_device(s, audit_log(), device_id, "test")


# --- kiosks, through the test client ----------------------------------------------------------


def test_a_kiosk_gets_a_challenge_and_a_good_signature_authenticates_it(
    live_app: Flask, enrolled_kiosk: EnrolledKiosk
) -> None:
    sio, challenge = _connect(live_app, enrolled_kiosk)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge)
    assert len(base64.urlsafe_b64decode(challenge + "=")) == 32
    # Before the proof, guarded events are refused.
    assert sio.emit("test_whoami", {}, callback=True)["error"] == "not_authenticated"
    assert 1 not in online_seats()
    answer = _authenticate(sio, enrolled_kiosk, enrolled_kiosk.auth_signature(challenge))
    assert answer["ok"] and answer["seat"] == 1
    assert answer["member"] == {"id": answer["member"]["id"], "name": "王建国"}
    assert answer["state"]["member"]["seat"] == 1  # the screen's state comes with the proof
    assert sio.emit("test_whoami", {}, callback=True) == {
        "ok": True,
        "role": "kiosk",
        "seat": 1,
        "user": None,
    }
    assert 1 in online_seats() and 1 in online_seats(enrolled_kiosk.body_id)
    assert online_seats(enrolled_kiosk.body_id + 1) == set()
    # It is in the room of its body's kiosks, not of another body's.
    b = enrolled_kiosk.body_id
    socketio.emit("ping_kiosks", {}, to=f"b{b}:kiosks")
    socketio.emit("ping_kiosks", {"other": True}, to=f"b{b + 1}:kiosks")
    assert [(e["name"], e["args"]) for e in sio.get_received()] == [("ping_kiosks", [{}])]
    sio.disconnect()
    assert 1 not in online_seats()


def test_other_challenges_signatures_and_keys_are_refused_and_consume_the_challenge(
    live_app: Flask, enrolled_kiosk: EnrolledKiosk
) -> None:
    impostor = EnrolledKiosk(
        enrolled_kiosk.device_id, 1, enrolled_kiosk.body_id, KioskKey.generate()
    )
    sio, challenge = _connect(live_app, enrolled_kiosk)
    refused = _authenticate(sio, enrolled_kiosk, impostor.auth_signature(challenge))
    assert refused["error"] == "bad_signature" and refused["message"] == "签名验证失败"
    # One attempt per challenge: now even the right signature fails on this connection.
    again = _authenticate(sio, enrolled_kiosk, enrolled_kiosk.auth_signature(challenge))
    assert again["error"] == "bad_signature"
    assert sio.emit("test_whoami", {}, callback=True)["error"] == "not_authenticated"
    assert 1 not in online_seats()

    sio2, challenge2 = _connect(live_app, enrolled_kiosk)
    wrong_challenge = enrolled_kiosk.auth_signature(challenge2 + "x")
    assert _authenticate(sio2, enrolled_kiosk, wrong_challenge)["error"] == "bad_signature"


def test_a_signature_cannot_be_used_twice_nor_replayed_on_another_connection(
    live_app: Flask, enrolled_kiosk: EnrolledKiosk
) -> None:
    sio, challenge = _connect(live_app, enrolled_kiosk)
    signature = enrolled_kiosk.auth_signature(challenge)
    assert _authenticate(sio, enrolled_kiosk, signature)["ok"]
    assert _authenticate(sio, enrolled_kiosk, signature)["error"] == "bad_signature"
    assert sio.emit("test_whoami", {}, callback=True)["ok"]  # still authenticated

    other, _ = _connect(live_app, enrolled_kiosk)
    assert _authenticate(other, enrolled_kiosk, signature)["error"] == "bad_signature"
    assert other.emit("test_whoami", {}, callback=True)["error"] == "not_authenticated"


def test_a_malformed_authenticate_is_refused_and_leaves_the_challenge(
    live_app: Flask, enrolled_kiosk: EnrolledKiosk
) -> None:
    sio, challenge = _connect(live_app, enrolled_kiosk)
    for payload in [
        None,
        "text",
        {"device": enrolled_kiosk.device_id},
        {"device": enrolled_kiosk.device_id, "signature": "not base64!"},
        {"device": enrolled_kiosk.device_id, "signature": base64.b64encode(b"x" * 63).decode()},
        {"device": enrolled_kiosk.device_id, "signature": "AAAA", "seat": 5},
    ]:
        answer = sio.emit("authenticate", payload, callback=True)
        assert answer["error"] == "invalid_payload", payload
    # A proof for another device on this connection is no proof.
    other = enroll_kiosk(live_app, 2)
    assert _authenticate(sio, other, other.auth_signature(challenge))["error"] == "bad_signature"
    sio2, challenge2 = _connect(live_app, enrolled_kiosk)
    sio2.emit("authenticate", {"device": enrolled_kiosk.device_id}, callback=True)
    assert _authenticate(sio2, enrolled_kiosk, enrolled_kiosk.auth_signature(challenge2))["ok"]


def test_unknown_and_revoked_devices_and_bad_auth_cannot_connect(
    live_app: Flask, enrolled_kiosk: EnrolledKiosk
) -> None:
    for auth in ({"device": "kd_nonexistent00000"}, {"device": 5}, {"device": ""}, {"x": 1}):
        sio = socketio.test_client(live_app, auth=auth)
        assert not sio.is_connected(), auth
    _revoke(live_app, enrolled_kiosk.device_id)
    assert not socketio.test_client(
        live_app, auth={"device": enrolled_kiosk.device_id}
    ).is_connected()


def test_a_kiosk_revoked_while_connected_is_dropped(live_app: Flask) -> None:
    kiosk = enroll_kiosk(live_app, 5)
    sio, _ = kiosk_socket(live_app, kiosk)
    assert 5 in online_seats()
    _revoke(live_app, kiosk.device_id)
    assert not sio.is_connected()
    assert 5 not in online_seats()


def test_a_confirmed_replacement_drops_the_old_tablets_connection(live_app: Flask) -> None:
    kiosk = enroll_kiosk(live_app, 6)
    sio, _ = kiosk_socket(live_app, kiosk)
    new = enroll_kiosk(live_app, 6)  # the seat enrolls a new tablet: pending
    assert sio.is_connected()
    refused = socketio.test_client(live_app, auth={"device": new.device_id})
    assert not refused.is_connected()  # 等待主持人确认
    presidium = create_staff(live_app, "presidium")
    with live_app.app_context(), write_transaction(sessions()) as s:
        devices.decide_replacement(s, audit_log(), new.device_id, True, presidium.id, "presidium")
    assert not sio.is_connected()


def test_a_device_revoked_before_it_answers_the_challenge_is_refused(live_app: Flask) -> None:
    kiosk = enroll_kiosk(live_app, 8)
    sio, challenge = _connect(live_app, kiosk)
    _revoke(live_app, kiosk.device_id)
    if sio.is_connected():  # dropped at once; if not, the proof is refused
        answer = _authenticate(sio, kiosk, kiosk.auth_signature(challenge))
        assert answer["error"] == "unknown_device"
    assert 8 not in online_seats()


def test_the_answer_names_no_member_for_an_empty_seat(live_app: Flask) -> None:
    kiosk = enroll_kiosk(live_app, 7)
    with live_app.app_context(), write_transaction(sessions()) as s:
        from voting_server.models import Member

        member = s.get(Member, devices.member_at_seat(s, kiosk.body_id, 7).id)  # type: ignore[union-attr]
        assert member is not None
        member.active = False
    _, answer = kiosk_socket(live_app, kiosk)
    assert (answer["ok"], answer["seat"], answer["member"]) == (True, 7, None)
    assert answer["state"]["member"] is None


# --- staff, through the test client --------------------------------------------------------------


def test_a_staff_connection_takes_its_role_from_the_login_session(
    live_app: Flask,
    presidium: LoggedIn,
) -> None:
    sio = staff_socket(live_app, presidium.client)
    assert sio.emit("test_whoami", {}, callback=True) == {
        "ok": True,
        "role": "presidium",
        "seat": None,
        "user": presidium.account.id,
    }
    with live_app.app_context(), sessions()() as s:
        body = only_body_id(s)
    socketio.emit("to_presidium", {}, to=f"b{body}:presidium")
    socketio.emit("to_display", {}, to=f"b{body}:display")
    socketio.emit("to_presidium", {"other": True}, to=f"b{body + 1}:presidium")
    assert [e["name"] for e in sio.get_received()] == ["to_presidium"]
    assert online_seats() == set()  # staff are not kiosks


def test_anonymous_and_stale_sessions_cannot_connect(live_app: Flask) -> None:
    assert not socketio.test_client(live_app).is_connected()
    anonymous = live_app.test_client()
    anonymous.get("/login")
    assert not socketio.test_client(live_app, flask_test_client=anonymous).is_connected()

    account = create_staff(live_app, "display", "da.ping")
    client = login(live_app, account.username)
    assert socketio.test_client(live_app, flask_test_client=client).is_connected()
    with live_app.app_context(), write_transaction(sessions()) as s:
        staff.deactivate_user(s, account.id, log=audit_log())
    assert not socketio.test_client(live_app, flask_test_client=client).is_connected()


@pytest.mark.slow
def test_deactivating_an_account_drops_its_open_connections(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    console = logged_in(live_app, "presidium", "zhu.chi")
    sio = staff_socket(live_app, console.client)
    assert any(c.user_id == console.account.id for c in connected())
    response = post_form(secretariat.client, f"/admin/staff/{console.account.id}/deactivate")
    assert response.status_code == 302
    assert not sio.is_connected()
    assert not any(c.user_id == console.account.id for c in connected())


# --- through a real socket ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_challenge_response_over_a_real_socket(
    live_app: Flask, live_server: LiveServer, transport: str
) -> None:
    kiosk = enroll_kiosk(live_app, 3)
    challenges: queue.Queue[str] = queue.Queue()
    sio = socketio_client.Client(reconnection=False)
    sio.on("challenge", lambda data: challenges.put(data["challenge"]))
    sio.connect(live_server.url, auth={"device": kiosk.device_id}, transports=[transport])
    try:
        challenge = challenges.get(timeout=10)
        assert sio.call("test_whoami", {}, timeout=10)["error"] == "not_authenticated"
        answer = sio.call(
            "authenticate",
            {"device": kiosk.device_id, "signature": kiosk.auth_signature(challenge)},
            timeout=10,
        )
        assert answer["ok"] and answer["seat"] == 3 and answer["member"]["name"]
        assert sio.call("test_whoami", {}, timeout=10)["role"] == "kiosk"
        assert 3 in online_seats()
    finally:
        sio.disconnect()


@pytest.mark.slow
def test_a_real_socket_of_an_unknown_device_gets_the_refusal(live_server: LiveServer) -> None:
    errors: list[Any] = []
    sio = socketio_client.Client(reconnection=False)
    sio.on("connect_error", errors.append)
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        sio.connect(live_server.url, auth={"device": "kd_unknown"}, transports=["websocket"])
    assert errors and errors[0]["error"] == "unknown_device"
    assert errors[0]["message"] == "设备未登记或已停用" and errors[0]["ok"] is False


@pytest.mark.slow
def test_the_kiosk_client_enrolls_over_http_and_authenticates(
    live_app: Flask, live_server: LiveServer
) -> None:
    with live_app.app_context(), write_transaction(sessions()) as s:
        code = devices.issue_enrollment_code(s, body_id(live_app), 9, None)
    client = KioskClient(live_server.url, KioskKey.generate())
    enrolled = client.enroll(code)
    assert enrolled["seat"] == 9 and client.device_id and client.device_id.startswith("kd_")
    try:
        answer = client.connect(timeout=10)
        assert answer["ok"] and answer["seat"] == 9 and client.authenticated
    finally:
        client.close()


@pytest.mark.slow
def test_a_presidium_session_connects_over_a_real_socket(
    live_app: Flask, live_server: LiveServer
) -> None:
    create_staff(live_app, "presidium", "zhu.chi")
    http = requests.Session()
    page = http.get(f"{live_server.url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = http.post(
        f"{live_server.url}/login",
        data={"username": "zhu.chi", "password": "correct horse battery", "csrf_token": token[1]},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    sio = socketio_client.Client(reconnection=False)
    sio.connect(live_server.url, headers={"Cookie": cookie}, transports=["websocket"])
    try:
        assert sio.call("test_whoami", {}, timeout=10)["role"] == "presidium"
    finally:
        sio.disconnect()
    anonymous = socketio_client.Client(reconnection=False)
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        anonymous.connect(live_server.url, transports=["websocket"])


def test_connected_clients_are_forgotten_on_disconnect(live_app: Flask) -> None:
    kiosk = enroll_kiosk(live_app, 4)
    sio, _ = kiosk_socket(live_app, kiosk)
    assert any(c.device_id == kiosk.device_id for c in connected())
    sio.disconnect()
    assert not any(c.device_id == kiosk.device_id for c in connected())


def test_answers_follow_the_connections_language_on_every_kind_of_event(live_app: Flask) -> None:
    """``ballot`` runs in the app's context only (sockets/voting.py), the other events in
    a request's: both answer in the language the tablet chose when it connected."""
    kiosk = enroll_kiosk(live_app, 1)
    chinese, _ = kiosk_socket(live_app, kiosk)
    english = socketio.test_client(live_app, auth={"device": kiosk.device_id},
                                   query_string="lang=en")  # fmt: skip
    answer = english.emit(
        "authenticate",
        {"device": kiosk.device_id, "signature": kiosk.auth_signature(challenge_of(english))},
        callback=True,
    )
    assert answer.get("ok"), answer
    for event in ("ballot", "document_link"):
        zh = chinese.emit(event, [], callback=True)
        en = english.emit(event, [], callback=True)
        assert zh["error"] == en["error"] == "invalid_payload", (zh, en)
        assert zh["message"] != en["message"] == en["message_en"], (event, zh, en)
        assert re.search(r"[\u4e00-\u9fff]", zh["message"]), zh
    stranger = socketio.test_client(live_app, auth={"device": kiosk.device_id})
    assert stranger.is_connected()  # challenged, never answered: not authenticated
    assert stranger.emit("ballot", {}, callback=True)["error"] == "not_authenticated"
    for sio in (chinese, english, stranger):
        sio.disconnect()
