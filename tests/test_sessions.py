"""Staff sessions as an attacker with a copied cookie would try them: logout ends the
session on the server (HTTP and Socket.IO alike), idle and absolute limits hold, cookies
are Secure whenever TLS serves, and every answer carries the framing and content
policy headers."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio as socketio_client
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.support.live import (
    PASSWORD,
    LiveServer,
    create_staff,
    logged_in,
    login,
    make_live_app,
    post_form,
    staff_socket,
)
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.models import StaffSession, utcnow
from voting_server.services import staff, staff_sessions
from voting_server.services.transactions import write_transaction
from voting_server.settings import TestingConfig
from voting_server.sockets.connection import check_staff_sessions
from voting_server.sockets.identity import connected
from voting_server.views.auth import SESSION_TOKEN

TEMPLATES = Path(__file__).resolve().parents[1] / "voting_server" / "templates"


def _session_id(client: FlaskClient) -> str:
    with client.session_transaction() as data:
        return staff_sessions.session_id(data[SESSION_TOKEN])


def _record(app: Flask, session_id: str) -> StaffSession:
    with app.app_context(), sessions()() as s:
        record = s.get(StaffSession, session_id)
        assert record is not None
        s.expunge(record)
    return record


def _set_times(app: Flask, session_id: str, *, created_ago: timedelta, seen_ago: timedelta) -> None:
    """Age the session as the clock would have: created and last seen that long ago."""
    now = utcnow()
    with app.app_context(), write_transaction(sessions()) as s:
        s.execute(
            update(StaffSession)
            .where(StaffSession.id == session_id)
            .values(created_at=now - created_ago, last_seen_at=now - seen_ago)
        )


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _lets_in(client: FlaskClient, path: str = "/console") -> bool:
    response = client.get(path)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


# --- logout ends the session on the server ----------------------------------------------------


def test_a_cookie_copied_before_logout_is_refused_after_it(live_app: Flask) -> None:
    presidium = logged_in(live_app, "presidium")
    thief = _copy(live_app, presidium.client)
    assert _lets_in(thief)
    assert socketio.test_client(live_app, flask_test_client=thief).is_connected()

    assert post_form(presidium.client, "/logout").status_code == 302

    assert not _lets_in(thief)
    assert thief.get("/console").headers["Location"].startswith("/login")
    assert not socketio.test_client(live_app, flask_test_client=thief).is_connected()
    record = _record(live_app, _session_id(thief))
    assert record.ended_at is not None and record.end_reason == "logout"


def test_logging_out_one_browser_leaves_the_accounts_other_sessions(live_app: Flask) -> None:
    laptop = logged_in(live_app, "presidium", "zhu.chi")
    staff_room = login(live_app, "zhu.chi")
    copied = _copy(live_app, staff_room)
    post_form(staff_room, "/logout")
    assert not _lets_in(copied)
    assert _lets_in(laptop.client)  # the presidium's laptop is another session


@pytest.mark.slow
def test_a_password_change_or_deactivation_ends_every_session_of_the_account(
    live_app: Flask,
) -> None:
    account = create_staff(live_app, "presidium", "zhu.chi")
    first, second = login(live_app, "zhu.chi"), login(live_app, "zhu.chi")
    old_first = _copy(live_app, first)
    response = post_form(
        first,
        "/account/password",
        {
            "old_password": PASSWORD,
            "new_password": "a new password",
            "new_password2": "a new password",
        },
    )
    assert response.status_code == 200
    assert _lets_in(first)  # this browser goes on, in a new session
    assert not _lets_in(old_first) and not _lets_in(second)

    with live_app.app_context(), write_transaction(sessions()) as s:
        staff.deactivate_user(s, account.id, log=audit_log())
        ended = s.scalars(select(StaffSession).where(StaffSession.user_id == account.id))
        assert all(r.ended_at is not None for r in ended)
    assert not _lets_in(first)


# --- a real socket with a copied cookie ---------------------------------------------------------


def _http_login(base: str, username: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = http.post(
        f"{base}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token[1]},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    return http


def _logout(base: str, http: requests.Session) -> None:
    page = http.get(f"{base}/login", timeout=10).text  # the form carries this session's token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = http.post(
        f"{base}/logout", data={"csrf_token": token[1]}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302


def _socket(base: str, cookie: str) -> Any:
    sio = socketio_client.Client(reconnection=False)
    sio.connect(base, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    return sio


@pytest.mark.slow
def test_a_copied_cookie_neither_connects_nor_stays_connected_after_logout(
    live_app: Flask, live_server: LiveServer
) -> None:
    create_staff(live_app, "presidium", "zhu.chi")
    base = live_server.url
    http = _http_login(base, "zhu.chi")
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    copied = requests.Session()
    copied.headers["Cookie"] = cookie
    assert copied.get(f"{base}/console", allow_redirects=False, timeout=10).status_code == 200
    open_socket = _socket(base, cookie)  # a console left open with the copied cookie
    assert open_socket.call("state", {}, timeout=10).get("state") is not None

    _logout(base, http)

    assert copied.get(f"{base}/console", allow_redirects=False, timeout=10).status_code == 302
    deadline = time.monotonic() + 10  # the server drops it; wait for the news to arrive
    while open_socket.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not open_socket.connected
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        _socket(base, cookie)


def test_a_socket_whose_session_ended_elsewhere_is_refused_at_its_next_event(
    live_app: Flask,
) -> None:
    """Another server process served the logout: this one learns it from the database."""
    presidium = logged_in(live_app, "presidium")
    sio = staff_socket(live_app, presidium.client)
    assert "state" in sio.emit("state", {}, callback=True)
    with presidium.client.session_transaction() as data:
        token = data[SESSION_TOKEN]
    with live_app.app_context(), write_transaction(sessions()) as s:
        staff_sessions.end(s, token, "logout", utcnow())
    answer = sio.emit("state", {}, callback=True)
    assert answer["ok"] is False and answer["error"] == "not_authenticated"
    with live_app.app_context():
        check_staff_sessions()  # the once-a-minute watch drops it
    assert not sio.is_connected()
    assert not any(c.user_id == presidium.account.id for c in connected())


# --- idle and absolute limits -------------------------------------------------------------------


def test_an_idle_session_ends_on_http_and_socket(live_app: Flask) -> None:
    presidium = logged_in(live_app, "presidium")
    sid = _session_id(presidium.client)
    _set_times(live_app, sid, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=29))
    assert _lets_in(presidium.client)  # 29 minutes idle: still in, and the clock restarts
    assert utcnow() - _record(live_app, sid).last_seen_at < timedelta(minutes=1)

    _set_times(live_app, sid, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=31))
    assert not socketio.test_client(live_app, flask_test_client=presidium.client).is_connected()
    assert not _lets_in(presidium.client)


def test_a_session_ends_after_the_absolute_limit_however_busy(live_app: Flask) -> None:
    presidium = logged_in(live_app, "presidium")
    sid = _session_id(presidium.client)
    _set_times(live_app, sid, created_ago=timedelta(hours=11, minutes=59), seen_ago=timedelta(0))
    assert _lets_in(presidium.client)
    assert socketio.test_client(live_app, flask_test_client=presidium.client).is_connected()
    _set_times(live_app, sid, created_ago=timedelta(hours=12, minutes=1), seen_ago=timedelta(0))
    assert not socketio.test_client(live_app, flask_test_client=presidium.client).is_connected()
    assert not _lets_in(presidium.client)


def test_the_limits_come_from_the_settings(
    live_app: Flask, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("VOTING_SESSION_IDLE_S", "300")
    monkeypatch.setenv("VOTING_SESSION_MAX_S", "7200")
    config = TestingConfig(sqlite_url)
    assert (config.VOTING_SESSION_IDLE_S, config.VOTING_SESSION_MAX_S) == (300, 7200)
    live_app.config.update(VOTING_SESSION_IDLE_S=300)
    presidium = logged_in(live_app, "presidium")
    sid = _session_id(presidium.client)
    _set_times(live_app, sid, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=6))
    assert not _lets_in(presidium.client)


def test_activity_is_written_at_most_once_a_minute(live_app: Flask) -> None:
    presidium = logged_in(live_app, "presidium")
    sid = _session_id(presidium.client)
    _set_times(live_app, sid, created_ago=timedelta(hours=1), seen_ago=timedelta(seconds=30))
    before = _record(live_app, sid).last_seen_at
    for _ in range(3):
        assert _lets_in(presidium.client)
    assert _record(live_app, sid).last_seen_at == before
    _set_times(live_app, sid, created_ago=timedelta(hours=1), seen_ago=timedelta(seconds=90))
    before = _record(live_app, sid).last_seen_at
    assert _lets_in(presidium.client)
    assert _record(live_app, sid).last_seen_at > before


def test_an_open_live_page_keeps_its_session_from_idling(live_app: Flask) -> None:
    """The console watched through a long debate is in use: the watch notes it."""
    presidium = logged_in(live_app, "presidium")
    sio = staff_socket(live_app, presidium.client)
    sid = _session_id(presidium.client)
    _set_times(live_app, sid, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=29))
    with live_app.app_context():
        assert check_staff_sessions()
    assert sio.is_connected()
    assert utcnow() - _record(live_app, sid).last_seen_at < timedelta(minutes=1)


# --- cookies ------------------------------------------------------------------------------------


def _set_cookies(response: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_cookies_are_secure_when_the_server_serves_tls(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTING_TLS_CERT", str(tmp_path / "server.pem"))  # as `run --tls` sets
    app = make_live_app(sqlite_url, tmp_path / "instance")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    create_staff(app, "presidium", "zhu.chi")
    client = app.test_client()
    cookies = _set_cookies(client.get("/login?lang=en"))
    for name in ("session", "lang"):
        assert "; Secure" in cookies[name] and "; HttpOnly" in cookies[name], cookies
    assert "SameSite=Strict" in cookies["session"] and "SameSite=Lax" in cookies["lang"]


def test_cookies_are_secure_on_https_requests_and_not_on_plain_localhost(
    live_app: Flask,
) -> None:
    assert live_app.config["SESSION_COOKIE_SECURE"] is False
    https = live_app.test_client()
    cookies = _set_cookies(https.get("/login?lang=en", base_url="https://localhost"))
    assert "; Secure" in cookies["session"] and "; Secure" in cookies["lang"]
    plain = live_app.test_client()  # http://localhost is how the server is tried on itself
    cookies = _set_cookies(plain.get("/login?lang=en"))
    assert "Secure" not in cookies["session"] and "; HttpOnly" in cookies["session"]


# --- headers on every page ----------------------------------------------------------------------


def _example_url(app: Flask, rule: Any) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__
        values[name] = 1 if "Integer" in converter else "x.js"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _check_headers(path: str, response: Any, framing: str = "'none'") -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert f"frame-ancestors {framing}" in csp, (path, csp)
    if framing == "'none'":
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, (path, csp)
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers.get("X-Frame-Options") == "DENY", path
    else:
        assert response.headers.get("X-Frame-Options") == "SAMEORIGIN", path
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert response.headers.get("Referrer-Policy") == "same-origin", path


def test_every_page_forbids_framing_and_foreign_content(live_app: Flask) -> None:
    secretariat = logged_in(live_app, "secretariat")
    anonymous = live_app.test_client()
    rules = [r for r in live_app.url_map.iter_rules() if "GET" in (r.methods or set())]
    assert len(rules) > 20
    for rule in rules:
        path = _example_url(live_app, rule)
        framing = "'self'" if rule.endpoint == "screens.kiosk_document" else "'none'"
        for client in (secretariat.client, anonymous):
            _check_headers(path, client.get(path), framing)
    _check_headers("/no/such/page", anonymous.get("/no/such/page"))


def test_no_template_has_inline_script_or_event_handlers() -> None:
    """Under the policy an inline script or an on…="" attribute would not run."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template, tag)
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", text), template
        for tag in re.findall(r"<style\b[^>]*>", text):
            assert "nonce" in tag, (template, tag)
