"""Every HTTP route answers junk with a 4xx and a message, never a 500, and a refusal changes nothing.

The routes come from the app's own URL map, so a route added later is fuzzed
too. Each request is sent as every staff role and as an anonymous visitor,
with the session's CSRF token, so the payload reaches the view itself: huge
ids (2**63, 10**30), other scripts' digits ('²', '١٢', '１２'), negative
numbers, long strings, JSON nested thousands deep, and bodies of the wrong
content type. After each refusal the database — every row of every table,
and so the audit log's head — is what it was before.

The app is built once per module on a three-member demo body (issuing PINs
or enrollment codes for 61 seats would make each example slow), with its
own instance directory.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing import Rule

from tests.support.db import migrate
from tests.support.live import PASSWORD, create_staff, csrf_of, login
from voting_server import views
from voting_server.app import create_app
from voting_server.demo import load_demo
from voting_server.extensions import sessions
from voting_server.models import Base, StaffRole
from voting_server.services import agenda
from voting_server.services.transactions import write_transaction
from voting_server.settings import TestingConfig

pytestmark = pytest.mark.slow  # make check leaves it out (README)

ANONYMOUS = "anonymous"
ROLES = [role.value for role in StaffRole] + [ANONYMOUS]
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Field names the pages' forms use: every name the views and the form parsers read
# (so a field added later is fuzzed too), and a few more.
SOURCES = [*Path(views.__file__).parent.glob("*.py"), Path(agenda.__file__)]
READ_FIELD = re.compile(
    r"""(?:form|args|values|files)\.(?:get|getlist)\(\s*f?["']([a-z_0-9{}]+)["']"""
    r"""|int_fields?\(\s*request\.\w+,\s*["']([a-z_0-9]+)["']"""
)
FIELDS = tuple(
    sorted(
        {name for source in SOURCES for match in READ_FIELD.findall(source.read_text())
         for name in match if name and "{" not in name}
        | {"title", "position", "seats", "below_num", "below_den", "threshold_num",
           "threshold_den", "quorum_num", "quorum_den", "vote", "from", "to", "after",
           "since", "until", "code", "public_key", "x"}
    )
)  # fmt: skip
HUGE = (str(2**31), str(2**63), str(2**63 - 1), str(10**30), str(-(2**63) - 1))
NON_ASCII_DIGITS = ("²", "١٢", "１２", "߃", "𝟗", "٣٠٠")
EDGE = ("-1", "0", "1", "2", " 7 ", "+5", "1_000", "1e3", "0x10", "", "null", "[]", "{}", "NaN")


def deep(n: int) -> str:
    return "[" * n + "]" * n


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
JUNK = st.one_of(
    st.sampled_from(HUGE + NON_ASCII_DIGITS + EDGE),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=40),
    st.text(min_size=1, max_size=3).map(lambda s: s * 3000),  # long strings
    st.integers(1, 3000).map(deep),
    JSON_VALUES.map(json.dumps),
)
PATH_INT = st.one_of(
    st.integers(0, 6).map(str),
    st.sampled_from(HUGE + NON_ASCII_DIGITS + ("-1",)),
    st.integers(0, 2**70).map(str),
)


# --- the app, its routes, and who asks --------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    directory = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTING_INSTANCE_DIR", str(directory / "instance"))
        url = f"sqlite:///{directory / 'voting.sqlite3'}"
        migrate(url)
        config = TestingConfig(url)
        config.INSTANCE_DIR = str(directory / "instance")
        flask_app = create_app(config)
        with flask_app.app_context(), write_transaction(sessions()) as session:
            load_demo(session, members=3)
        yield flask_app
        check = flask_app.extensions.get("voting.log_check")
        if check is not None:  # POST /audit/verify started a check: let it finish
            check.wait(120)


def routes(app: Flask) -> list[tuple[str, Rule]]:
    """(method, rule) of every route but static files, from the app's URL map."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        found.extend((method, rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


@dataclass
class Visitor:
    """A role's session cookie, given to a fresh client for each request. A fuzzed
    logout, deactivation or role change may end the session: it is checked before
    each request, and the visitor signs in again (with a new account if need be)."""

    role: str
    cookie: str | None = None
    username: str | None = None
    accounts: int = 0

    def client(self, app: Flask) -> FlaskClient:
        client = app.test_client()
        if self.cookie is None or not self._still_valid(app, client):
            self._sign_in(app)
        assert self.cookie is not None
        client.set_cookie("session", self.cookie)
        return client

    def _still_valid(self, app: Flask, client: FlaskClient) -> bool:
        """Still logged in (a fuzzed request may have deactivated the account)."""
        if self.role == ANONYMOUS:
            return True
        client.set_cookie("session", self.cookie or "")
        return client.get("/account/password").status_code == 200

    def _sign_in(self, app: Flask) -> None:
        if self.role == ANONYMOUS:
            client = app.test_client()
        else:  # a new account when a fuzzed request deactivated the last one
            self.accounts += 1
            self.username = f"fuzz-{self.role}-{self.accounts}"
            create_staff(app, self.role, self.username, PASSWORD)
            client = login(app, self.username)
        csrf_of(client)
        cookie = client.get_cookie("session")
        assert cookie is not None
        self.cookie = cookie.value


@pytest.fixture(scope="module")
def visitors() -> dict[str, Visitor]:
    return {role: Visitor(role) for role in ROLES}


def csrf(client: FlaskClient) -> str:
    return csrf_of(client)


# A staff session's last activity is noted once a minute on any request, a refused one
# too (services/staff_sessions.py): bookkeeping of the session, not what was refused.
NOT_STATE = {("staff_sessions", "last_seen_at")}


def state(app: Flask) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (the audit log, with its head, among them)."""
    with app.app_context(), sessions()() as session:
        snapshot = {}
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in NOT_STATE]
            rows = session.execute(select(*columns))
            snapshot[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        return snapshot


# --- one request ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    fields: dict[str, str]
    body: str  # "form", "multipart", "json", "raw"
    raw: bytes = b""
    content_type: str = ""


def int_arguments(rule: Rule) -> set[str]:
    return set(re.findall(r"<int(?:\([^)]*\))?:(\w+)>", rule.rule))


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with its arguments replaced by ``values`` (URL-quoted)."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", quote(values[name], safe=""), path)
    return path


ADDRESSES = itertools.count(1)


def send(client: FlaskClient, request: Request) -> Any:
    """Each request from its own address: the login and enrollment throttles count
    failures per address, and the fuzz must not lock out the next example."""
    number = next(ADDRESSES)
    client.environ_base["REMOTE_ADDR"] = (
        f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    )
    token = csrf(client)
    headers = {"X-CSRF-Token": token}
    if request.method == "GET":
        query = urlencode(request.fields)
        return client.get(request.path + ("?" + query if query else ""))
    if request.body == "json":
        return client.post(request.path, data=request.raw, headers=headers,
                           content_type="application/json")  # fmt: skip
    if request.body == "raw":
        return client.post(request.path, data=request.raw, headers=headers,
                           content_type=request.content_type)  # fmt: skip
    data: dict[str, Any] = {**request.fields, "csrf_token": token}
    if request.body == "multipart":
        data["file"] = (io.BytesIO(request.raw), request.fields.get("filename", "f.csv"))
        return client.post(request.path, data=data, content_type="multipart/form-data")
    return client.post(request.path, data=data)


def check(app: Flask, visitor: Visitor, request: Request) -> Any:
    """No 500; a refusal (or any GET) changes nothing; an error page says what in Chinese."""
    client = visitor.client(app)  # (a sign-in may write: before the snapshot)
    before = state(app)
    response = send(client, request)
    status = response.status_code
    text = response.get_data().decode("utf-8", "replace")  # downloads are binary
    assert status < 500 or status == 503, (visitor.role, request, status, text[:500])
    assert "Traceback" not in text
    if status >= 400 or request.method == "GET":
        assert state(app) == before, (visitor.role, request, status)
    if status >= 400 and status != 503:
        if request.path.startswith("/api/"):
            assert response.get_json()["ok"] is False
        else:
            assert CHINESE.search(text), (request, status, text[:300])
    return response


# --- property-based: every route, every role, generated payloads ---------------------------


@st.composite
def requests_for(draw: st.DrawFn, app: Flask) -> Request:
    method, rule = draw(st.sampled_from(routes(app)))
    ints = int_arguments(rule)
    arguments = {name: draw(PATH_INT if name in ints else JUNK) for name in rule.arguments}
    arguments = {k: (v if v else "x") for k, v in arguments.items()}  # an empty part: no route
    path = fill(rule, arguments)
    names = draw(st.lists(st.sampled_from(FIELDS) | st.text(min_size=1, max_size=8), max_size=8))
    fields = {name: draw(JUNK) for name in names}
    if draw(st.booleans()):
        path += "?" + urlencode({"body": draw(JUNK)})
    body = (
        "form" if method == "GET" else draw(st.sampled_from(["form", "multipart", "json", "raw"]))
    )
    raw = b""
    content_type = ""
    if body == "json":
        raw = draw(st.one_of(JSON_VALUES.map(json.dumps), st.integers(1, 20000).map(deep))).encode()
    elif body in {"raw", "multipart"}:
        raw = draw(st.binary(max_size=200))
        content_type = draw(
            st.sampled_from(["text/plain", "application/xml", "application/octet-stream",
                             "application/x-www-form-urlencoded", "multipart/form-data"])
        )  # fmt: skip
    return Request(method, path, fields, body, raw, content_type)


@pytest.mark.parametrize("role", ROLES)
def test_generated_requests_never_fail_and_refusals_change_nothing(
    app: Flask, visitors: dict[str, Visitor], role: str
) -> None:
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        check(app, visitors[role], data.draw(requests_for(app)))

    run()


# --- a fixed table of junk, so every route meets each kind at least once --------------------


def table(rule: Rule, method: str) -> list[Request]:  # fmt: skip
    """Huge and non-ASCII numbers in every field, deep JSON, a body of the wrong type."""
    plain = fill(rule, {name: "1" for name in rule.arguments})
    if method == "GET":  # query arguments only (some pages render a PDF: few requests)
        return [
            Request(method, plain, {name: j for name in FIELDS if name != "body"}, "form")
            for j in (str(2**63), "١٢")
        ] + [Request(method, plain + "?body=²", {}, "form")]
    requests = [
        Request(method, plain, {name: j for name in FIELDS if name != "body"}, "form")
        for j in (str(2**63), str(10**30), "١٢", "²", "-5", "x" * 5000, deep(5000))
    ]
    requests += [
        Request(method, plain + "?body=" + quote(j), {}, "form") for j in (str(2**63), "١٢", "-1")
    ]
    if method == "POST":
        requests += [
            Request(method, plain, {}, "json", deep(100_000).encode()),
            Request(method, plain, {}, "json", b'{"a":' * 5000 + b"1" + b"}" * 5000),
            Request(method, plain, {}, "json", b"\xff\xfe not json"),
            Request(method, plain, {}, "raw", b"\x00\xff" * 50, "application/xml"),
            Request(method, plain, {}, "raw", b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        ]
    return requests


def refused_outright(response: Any) -> bool:
    """Not for this role (or not logged in): the view never ran."""
    if response.status_code == 302:
        return "/login" in response.headers.get("Location", "")
    text = response.get_data().decode("utf-8", "replace")
    return response.status_code in (401, 403) and ("请先登录" in text or "无权访问" in text)


def test_every_route_answers_a_table_of_junk(app: Flask, visitors: dict[str, Visitor]) -> None:
    found = routes(app)
    posts = {rule.endpoint for method, rule in found if method == "POST"}
    assert {"admin.enrollment_code", "results.paper_enter", "kiosk_api.enroll"} <= posts
    for method, rule in found:
        first, *rest = table(rule, method)
        # The first role the view lets in gets the whole table (the property test
        # above sends every role); the others are turned away by the login check.
        admitted = None
        for role in ROLES:
            if not refused_outright(check(app, visitors[role], first)):
                admitted = role
                break
        for request in rest:  # a route that turns everyone away (a bad token): as anyone
            check(app, visitors[admitted or ANONYMOUS], request)


@pytest.mark.parametrize("junk", [str(2**31), str(2**63), str(10**30), *NON_ASCII_DIGITS, "-1"])
def test_ids_in_urls_are_ascii_digits_within_64_bits(
    app: Flask, visitors: dict[str, Visitor], junk: str
) -> None:
    """A URL id beyond the ids' bound (bounds.MAX_ID) or in other digits matches no route."""
    client = visitors[StaffRole.SECRETARIAT.value].client(app)
    for method, rule in routes(app):
        ints = int_arguments(rule)
        if not ints:
            continue
        path = fill(rule, {n: (junk if n in ints else "csv") for n in rule.arguments})
        before = state(app)
        response = client.open(path, method=method, data={"csrf_token": csrf(client)})
        # 404, or 405 when Werkzeug saw the digits match before the bound refused them
        assert response.status_code in (404, 405), (method, path)
        if path.startswith("/api/"):  # the JSON API answers with the protocol's refusal
            answer = response.get_json()
            assert answer["ok"] is False and answer["error"] == "invalid_payload", path
        else:
            assert re.search("没有该页面|不支持该操作", response.get_data(as_text=True))
        assert state(app) == before


def test_a_form_number_in_other_digits_is_refused_by_name(
    app: Flask, visitors: dict[str, Visitor]
) -> None:
    """'١٢' is 12 to Python's int(); to the secretariat's pages it is not a seat number."""
    client = visitors[StaffRole.SECRETARIAT.value].client(app)
    before = state(app)
    for junk in ("١٢", "²", str(2**63)):
        response = client.post("/admin/enrollment", data={"seat": junk, "csrf_token": csrf(client)})
        assert response.status_code == 400
        assert "参数 seat 应为 1 至 99999 的整数" in response.get_data(as_text=True)
    assert state(app) == before


def test_an_uncaught_exception_is_a_chinese_page_without_a_traceback(tmp_path: Path) -> None:
    """The 500 answer says the request failed — the exception stays in the server's log."""
    url = f"sqlite:///{tmp_path / 'voting.sqlite3'}"
    migrate(url)
    config = TestingConfig(url)
    config.INSTANCE_DIR = str(tmp_path / "instance")
    config.PROPAGATE_EXCEPTIONS = False  # as in production: the handler answers
    failing = create_app(config)

    @failing.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail of the failure")

    @failing.post("/api/boom")
    def api_boom() -> str:
        raise RuntimeError("secret detail of the failure")

    failing.view_functions["api_boom"].csrf_exempt = True  # type: ignore[attr-defined]
    client = failing.test_client()
    page = client.get("/boom")
    text = page.get_data(as_text=True)
    assert page.status_code == 500
    assert "服务器内部错误" in text
    assert "Traceback" not in text and "secret detail" not in text and "RuntimeError" not in text
    answer = client.post("/api/boom", json={})
    assert answer.status_code == 500
    assert answer.get_json()["error"] == "internal_error"
    assert "secret detail" not in answer.get_data(as_text=True)
