"""The live screens' pages and their scripts are served by the server itself."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.db import migrate
from tests.support.live import logged_in
from voting_server.app import create_app
from voting_server.models import StaffRole
from voting_server.settings import TestingConfig


@pytest.fixture
def client(sqlite_url: str) -> FlaskClient:
    migrate(sqlite_url)
    return create_app(TestingConfig(sqlite_url)).test_client()


@pytest.mark.parametrize(
    "path",
    [
        "/kiosk-static/js/sio.js",
        "/kiosk-static/js/kiosk.js",
        "/kiosk-static/js/kiosk/statements.mjs",
        "/kiosk-static/js/kiosk/storage.mjs",
        "/kiosk-static/js/kiosk/ballots.mjs",
        "/static/js/screens.js",
        "/static/js/console.js",
        "/static/js/display.js",
        "/static/js/display_control.js",
    ],
)
def test_scripts_are_served_as_utf8_javascript(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.mimetype_params.get("charset") == "utf-8"  # the scripts carry Chinese text


def test_stylesheet_is_served(client: FlaskClient) -> None:
    response = client.get("/static/css/screens.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_kiosk_static_does_not_leave_its_folder(client: FlaskClient) -> None:
    assert client.get("/kiosk-static/../__init__.py").status_code == 404
    assert client.get("/kiosk-static/%2e%2e/__init__.py").status_code == 404


def test_kiosk_page_needs_no_login_and_loads_only_local_scripts(client: FlaskClient) -> None:
    response = client.get("/kiosk")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    for label in ("设备登记", "签到", "确认提交", "表决结果", "HTTPS"):
        assert label in html
    assert "/kiosk-static/js/sio.js" in html and "/kiosk-static/js/kiosk.js" in html
    assert "http://" not in html.replace("http://localhost", "")  # nothing from outside the hall
    assert "data-server-now=" in html


# --- who may open which page -----------------------------------------------------------------


@pytest.fixture
def hall_app(live_app: Flask) -> Flask:
    """The app with staff login, the demo committee loaded (tests/support/live.py)."""
    return live_app


PAGES = {
    # path: roles that get the page (the others get 403; anonymous users the login page)
    "/console": {"presidium", "secretariat"},
    "/display": {"display", "presidium"},
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_anonymous_users_are_sent_to_the_login_page(hall_app: Flask, path: str) -> None:
    response = hall_app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=" + path)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(PAGES))
@pytest.mark.parametrize("role", [r.value for r in StaffRole])
def test_each_page_opens_for_its_roles_only(hall_app: Flask, path: str, role: str) -> None:
    response = logged_in(hall_app, role).client.get(path)
    if role in PAGES[path]:
        assert response.status_code == 200
        assert '<html lang="zh-CN">' in response.get_data(as_text=True)
    else:
        assert response.status_code == 403
        assert "无权访问" in response.get_data(as_text=True)


def test_console_for_the_presidium_acts_and_knows_the_roster(hall_app: Flask) -> None:
    html = logged_in(hall_app, "presidium").client.get("/console").get_data(as_text=True)
    assert 'data-can-act="true"' in html
    for label in ("主席团控制台", "应到", "实到", "缺席", "结束表决", "座位图", "未签到", "代为签到",
                  "退出登录"):  # fmt: skip
        assert label in html
    roster = json.loads(
        html.split('<script type="application/json" id="roster">')[1].split("</script>")[0]
    )
    assert len(roster) == 61
    assert roster[0] == {
        "id": roster[0]["id"],
        "seat": 1,
        "name": "王建国",
        "group": "第一组",
        "attendee": False,
        "presidium": False,
    }  # group and 列席: 分团签到 by a delegation's name; presidium: a 主席团会议's 未按 list
    assert "/kiosk-static/js/sio.js" in html and "/static/js/console.js" in html


def test_console_for_the_secretariat_is_read_only(hall_app: Flask) -> None:
    html = logged_in(hall_app, "secretariat").client.get("/console").get_data(as_text=True)
    assert 'data-can-act="false"' in html
    assert "（只读）" in html


def test_display_page_loads_its_script(hall_app: Flask) -> None:
    html = logged_in(hall_app, "display").client.get("/display").get_data(as_text=True)
    assert "/static/js/display.js" in html
    assert "请等待表决" in html


# --- the console's warning of kiosks offline (终端离线) ------------------------------------------


def test_the_console_state_names_the_enrolled_kiosks_that_are_offline(live_app: Flask) -> None:
    from tests.support.live import enroll_kiosk, kiosk_socket, staff_socket

    console = staff_socket(live_app, logged_in(live_app, "presidium").client)

    def kiosks() -> dict[str, object]:
        answer = console.emit("state", {}, callback=True)
        assert answer["ok"], answer
        return answer["state"]["kiosks"]

    assert kiosks() == {"enrolled": 0, "online": 0, "offline": []}
    seat_3, seat_7 = enroll_kiosk(live_app, 3), enroll_kiosk(live_app, 7)
    assert kiosks() == {"enrolled": 2, "online": 0, "offline": [3, 7]}
    tablet, _ = kiosk_socket(live_app, seat_7)
    assert kiosks() == {"enrolled": 2, "online": 1, "offline": [3]}
    other, _ = kiosk_socket(live_app, seat_3)
    assert kiosks() == {"enrolled": 2, "online": 2, "offline": []}
    tablet.disconnect()
    assert kiosks() == {"enrolled": 2, "online": 1, "offline": [7]}
    other.disconnect()


def test_the_kiosk_manifest_opens_it_full_screen(client: FlaskClient) -> None:
    html = client.get("/kiosk").get_data(as_text=True)
    assert 'rel="manifest" href="/kiosk-static/kiosk.webmanifest"' in html
    response = client.get("/kiosk-static/kiosk.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert (manifest["start_url"], manifest["display"], manifest["lang"]) == (
        "/kiosk",
        "fullscreen",
        "zh-CN",
    )
