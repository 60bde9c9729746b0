"""Staff accounts and login over HTTP: uniform failures, CSRF, throttling,
sessions that end with deactivation or a password change, and the
secretariat-only administration pages."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.live import (
    PASSWORD,
    LoggedIn,
    create_staff,
    csrf_of,
    logged_in,
    login,
    post_form,
)
from voting_server.extensions import audit_log, sessions
from voting_server.models import StaffRole, StaffUser
from voting_server.services import staff
from voting_server.services.transactions import write_transaction
from voting_server.sockets.errors import Refusal
from voting_server.views.auth import SESSION_ROLE, SESSION_USER


def _users(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.scalar(select(func.count(StaffUser.id))) or 0


# --- the service ------------------------------------------------------------------------


def test_create_user_enforces_the_username_and_password_policy(live_app: Flask) -> None:
    with live_app.app_context(), write_transaction(sessions()) as s:
        user = staff.create_user(
            s, "  Zhang.Wei ", "张伟", "presidium", "0123456789", log=audit_log()
        )
        assert (user.username, user.role, user.active) == ("zhang.wei", StaffRole.PRESIDIUM, True)
        assert user.password_hash.startswith("$argon2id$")
        cases = [
            ("li", "李", "presidium", "0123456789", "invalid_username"),
            ("li na", "李", "presidium", "0123456789", "invalid_username"),
            ("li.na", "李", "presidium", "012345678", "weak_password"),  # 9 characters
            ("li.na.na.na", "李", "presidium", "LI.NA.NA.NA", "weak_password"),  # the username
            ("ZHANG.WEI", "张", "presidium", "0123456789", "username_taken"),
            ("li.na", "李", "chairman", "0123456789", "invalid_payload"),
            ("li.na", "", "presidium", "0123456789", "invalid_payload"),
        ]
        for username, name, role, password, code in cases:
            with pytest.raises(Refusal) as refused:
                staff.create_user(s, username, name, role, password, log=audit_log())
            assert refused.value.code == code, (username, password)
    assert _users(live_app) == 1


def test_authenticate_fails_alike_for_unknown_inactive_and_wrong(live_app: Flask) -> None:
    account = create_staff(live_app, "secretariat", "jian.piao")
    other = create_staff(live_app, "display", "da.ping")
    with live_app.app_context(), write_transaction(sessions()) as s:
        assert staff.authenticate(s, "JIAN.PIAO", PASSWORD).id == account.id  # type: ignore[union-attr]
        assert staff.authenticate(s, "jian.piao", PASSWORD + "x") is None
        assert staff.authenticate(s, "nobody", PASSWORD) is None
        staff.deactivate_user(s, other.id, log=audit_log(), by=account.id)
        with pytest.raises(Refusal) as refused:
            staff.deactivate_user(s, account.id, log=audit_log(), by=account.id)
        assert refused.value.code == "forbidden"
    with live_app.app_context(), sessions()() as s:
        assert staff.authenticate(s, "da.ping", PASSWORD) is None
        assert [u.username for u in staff.list_users(s)] == ["jian.piao", "da.ping"]


@pytest.mark.slow
def test_change_password_checks_the_old_one_and_the_policy(live_app: Flask) -> None:
    account = create_staff(live_app, "presidium")
    with live_app.app_context(), write_transaction(sessions()) as s:
        for old, new, code in [
            ("wrong password", "a new password", "login_failed"),
            (PASSWORD, "short", "weak_password"),
        ]:
            with pytest.raises(Refusal) as refused:
                staff.change_password(s, account.id, old, new)
            assert refused.value.code == code
        staff.change_password(s, account.id, PASSWORD, "a new password")
    with live_app.app_context(), sessions()() as s:
        assert staff.authenticate(s, account.username, PASSWORD) is None
        assert staff.authenticate(s, account.username, "a new password") is not None


# --- login over HTTP ---------------------------------------------------------------------


def test_the_login_page_is_chinese_and_carries_a_csrf_token(live_app: Flask) -> None:
    client = live_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    assert "工作人员登录" in html and "用户名" in html and "密码" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token and token.group(1) == csrf_of(client)


def test_login_sets_the_role_in_the_session_and_lands_on_the_roles_page(live_app: Flask) -> None:
    create_staff(live_app, "secretariat", "mi.shu")
    client = live_app.test_client()
    response = client.post(
        "/login",
        data={"username": "Mi.Shu", "password": PASSWORD, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    with client.session_transaction() as data:
        assert data[SESSION_ROLE] == "secretariat" and isinstance(data[SESSION_USER], int)
    assert client.get("/admin/").status_code == 200


@pytest.mark.slow
def test_wrong_password_unknown_user_and_inactive_user_get_the_same_answer(
    live_app: Flask,
) -> None:
    create_staff(live_app, "presidium", "zhu.chi")
    gone = create_staff(live_app, "presidium", "gone.user")
    with live_app.app_context(), write_transaction(sessions()) as s:
        staff.deactivate_user(s, gone.id, log=audit_log())
    answers = []
    for username, password in [
        ("zhu.chi", "wrong password"),
        ("no.such.user", PASSWORD),
        ("gone.user", PASSWORD),
    ]:
        client = live_app.test_client()
        response = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(client)},
        )
        html = response.get_data(as_text=True)
        assert "用户名或密码错误" in html
        page = html.replace(username, "USER").replace(csrf_of(client), "TOKEN")
        page = re.sub(r'nonce="[^"]+"', "NONCE", page)  # each page's own CSP nonce
        answers.append((response.status_code, page))
        with client.session_transaction() as data:
            assert SESSION_USER not in data
    assert len(set(answers)) == 1 and answers[0][0] == 401


def test_a_login_without_the_csrf_token_is_refused(live_app: Flask) -> None:
    create_staff(live_app, "presidium", "zhu.chi")
    client = live_app.test_client()
    csrf_of(client)
    for data in (
        {"username": "zhu.chi", "password": PASSWORD},
        {"username": "zhu.chi", "password": PASSWORD, "csrf_token": "forged"},
    ):
        response = client.post("/login", data=data)
        assert response.status_code == 400
        assert "页面已过期" in response.get_data(as_text=True)
        with client.session_transaction() as session:
            assert SESSION_USER not in session
    # A token from another session does not do either.
    other = live_app.test_client()
    response = client.post(
        "/login", data={"username": "zhu.chi", "password": PASSWORD, "csrf_token": csrf_of(other)}
    )
    assert response.status_code == 400


@pytest.mark.slow
def test_repeated_bad_logins_are_throttled_even_with_the_right_password(live_app: Flask) -> None:
    create_staff(live_app, "presidium", "zhu.chi")
    client = live_app.test_client()
    token = csrf_of(client)
    for _ in range(5):
        response = client.post(
            "/login", data={"username": "zhu.chi", "password": "guess guess", "csrf_token": token}
        )
        assert response.status_code == 401
    response = client.post(
        "/login", data={"username": "zhu.chi", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    # Another account from the same address is not locked out by these.
    create_staff(live_app, "display", "da.ping")
    login(live_app, "da.ping")


@pytest.mark.slow
def test_login_redirects_only_to_local_paths(live_app: Flask) -> None:
    create_staff(live_app, "secretariat", "mi.shu")
    for target, expected in [
        ("/admin/devices", "/admin/devices"),
        ("//evil.example/x", "/admin/"),
        ("https://evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
    ]:
        client = live_app.test_client()
        response = client.post(
            "/login",
            data={
                "username": "mi.shu",
                "password": PASSWORD,
                "next": target,
                "csrf_token": csrf_of(client),
            },
        )
        assert response.headers["Location"] == expected, target


def test_logout_needs_the_token_and_ends_the_session(live_app: Flask) -> None:
    account = create_staff(live_app, "secretariat", "mi.shu")
    client = login(live_app, account.username)
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200
    assert post_form(client, "/logout").status_code == 302
    assert client.get("/admin/").status_code == 302


@pytest.mark.slow
def test_deactivation_and_password_change_end_other_sessions(live_app: Flask) -> None:
    account = create_staff(live_app, "secretariat", "mi.shu")
    first, second = login(live_app, account.username), login(live_app, account.username)
    response = post_form(
        first,
        "/account/password",
        {
            "old_password": PASSWORD,
            "new_password": "another long password",
            "new_password2": "another long password",
        },
    )
    assert response.status_code == 200 and "密码已修改" in response.get_data(as_text=True)
    assert first.get("/admin/").status_code == 200  # the session that changed it stays
    assert second.get("/admin/").status_code == 302  # every other one ends
    with live_app.app_context(), write_transaction(sessions()) as s:
        staff.deactivate_user(s, account.id, log=audit_log())
    assert first.get("/admin/").status_code == 302


# --- the secretariat's pages ---------------------------------------------------------------


def _admin_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, path) of the admin blueprint, with sample path arguments."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = rule.rule.replace("<int:user_id>", "1").replace("<device_id>", "kd_x")
        path = path.replace("<int:seat>", "5")
        routes.extend((m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


@pytest.mark.slow
def test_every_admin_page_is_refused_to_anonymous_users_and_other_roles(live_app: Flask) -> None:
    routes = _admin_routes(live_app)
    assert len(routes) >= 10, routes
    anonymous = live_app.test_client()
    for method, path in routes:
        if method == "GET":
            response = anonymous.get(path)
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login?next="), path
        else:
            assert post_form(anonymous, path).status_code == 401, path
    for role in ("presidium", "scrutineer", "display"):
        client = logged_in(live_app, role).client
        for method, path in routes:
            response = client.get(path) if method == "GET" else post_form(client, path)
            assert response.status_code == 403, (role, method, path)
            assert "无权访问" in response.get_data(as_text=True)


@pytest.mark.slow
def test_the_secretariat_manages_staff_accounts(live_app: Flask, secretariat: LoggedIn) -> None:
    client = secretariat.client
    assert "工作人员账号" in client.get("/admin/staff").get_data(as_text=True)
    form = {
        "username": "zhu.chi",
        "display_name": "王主任",
        "role": "scrutineer",  # the presidium role is granted from the command line only
        "password": "long enough pw",
        "password2": "long enough pw",
    }
    # Without the token nothing is created.
    assert client.post("/admin/staff", data=form).status_code == 400
    assert _users(live_app) == 1
    mismatch = post_form(client, "/admin/staff", {**form, "password2": "different pw"})
    assert mismatch.status_code == 400 and "不一致" in mismatch.get_data(as_text=True)
    short = post_form(client, "/admin/staff", {**form, "password": "short", "password2": "short"})
    assert short.status_code == 400 and "至少10个字符" in short.get_data(as_text=True)
    assert post_form(client, "/admin/staff", form).status_code == 302
    html = client.get("/admin/staff").get_data(as_text=True)
    assert "王主任" in html and "监票人" in html
    taken = post_form(client, "/admin/staff", form)
    assert "已被使用" in taken.get_data(as_text=True)
    login(live_app, "zhu.chi", "long enough pw")

    with live_app.app_context(), sessions()() as s:
        new_id = s.scalar(select(StaffUser.id).where(StaffUser.username == "zhu.chi"))
    assert post_form(client, f"/admin/staff/{new_id}/deactivate").status_code == 302
    with live_app.app_context(), sessions()() as s:
        assert staff.authenticate(s, "zhu.chi", "long enough pw") is None
    mine = post_form(client, f"/admin/staff/{secretariat.account.id}/deactivate")
    assert mine.status_code == 400 and "不能停用自己的账号" in mine.get_data(as_text=True)
