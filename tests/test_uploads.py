"""Uploads never freeze the server: a roster is parsed within bounds, off the event loop.

The production server (``voting-server run``: gunicorn, gevent, one OS thread) is
sent a roster that is over the row limit, large enough that parsing it takes a
while; while it is being parsed the presidium's console asks for ``state`` over
its WebSocket and is answered before the upload is. The upload is refused with
the limit named, and nothing changes. Through the test client: an XLSX bomb, a
malformed XLSX, a corrupt zip and an oversized body are refused in Chinese, and
the database stays as it was.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from crypto import ServerKey
from tests.support.live import PASSWORD, LoggedIn, ServerProcess, csrf_of
from voting_server.cli.simulate import Console, prepare
from voting_server.db import make_engine, make_session_factory
from voting_server.extensions import sessions
from voting_server.models import AuditEntry, Member, StaffRole
from voting_server.roster import MAX_BYTES, MAX_ROWS, MAX_XLSX_UNPACKED
from voting_server.services import staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.uploads import parse_roster_upload

MEMBERS = 30
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def roster_xlsx(members: int) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["座位号", "姓名", "代表团"])
    for seat in range(1, members + 1):
        sheet.append([seat, f"代表{seat}", "第一组"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def what_changed(url: str) -> tuple[int, int]:
    """(members of the body, roster entries in the log)."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            members = session.scalar(select(func.count()).select_from(Member))
            rosters = session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.type == "roster")
            )
    finally:
        engine.dispose()
    return members or 0, rosters or 0


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[ServerProcess, Console, requests.Session, str]]:
    """The production server on a demo hall; the presidium's console on its WebSocket;
    the secretariat logged in over HTTP (and its CSRF token)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{tmp_path / 'uploads.sqlite3'}"
    prepared = prepare(url, instance, MEMBERS, secret=False, pins=False)
    engine = make_engine(url)
    log = AuditLog(ServerKey.load_or_create(instance / "server_ed25519.pem"))
    with make_session_factory(engine).begin() as session:
        staff.create_user(
            session, "secretariat", "秘书处", StaffRole.SECRETARIAT, PASSWORD, log=log
        )
    engine.dispose()
    server = ServerProcess(url, instance, tmp_path / "server.log")
    server.start()
    console = Console(server.base, *prepared.presidium)
    http = requests.Session()
    try:
        login = http.get(f"{server.base}/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        answer = http.post(
            f"{server.base}/login",
            data={"username": "secretariat", "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302, answer.text
        page = http.get(f"{server.base}/admin/roster/", timeout=30)
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert form_token is not None
        yield server, console, http, form_token.group(1)
    finally:
        console.close()
        server.stop()


@pytest.mark.slow
def test_the_hall_is_answered_while_a_roster_is_parsed(
    hall: tuple[ServerProcess, Console, requests.Session, str],
) -> None:
    server, console, http, token = hall
    before = what_changed(server.url)
    data = roster_xlsx(4 * MAX_ROWS)  # over the limit, and a while to parse
    assert len(data) < MAX_BYTES
    upload = requests.Request(
        "POST",
        f"{server.base}/admin/roster/",
        files={"file": ("名单.xlsx", data, XLSX_TYPE)},
        data={"csrf_token": token},
        cookies=http.cookies,
    ).prepare()
    assert isinstance(upload.body, bytes)
    head = "".join(f"{k}: {v}\r\n" for k, v in upload.headers.items())
    raw = f"POST /admin/roster/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Connection: close\r\n\r\n"

    order: list[str] = []
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        sock.sendall(raw.encode("latin-1") + upload.body)

        def read_answer() -> None:
            first = sock.recv(65536)
            order.append("upload")
            answer.extend(first)
            while chunk := sock.recv(65536):
                answer.extend(chunk)

        reader = threading.Thread(target=read_answer, daemon=True)
        reader.start()
        time.sleep(0.3)  # the whole file is sent: let the server get to it (not an assertion)
        state: dict[str, Any] = console.request("state", {})
        order.append("state")
        reader.join(120)
    assert state["ok"] and "state" in state
    assert order == ["state", "upload"], "the console waited for the upload to be parsed"
    text = answer.decode("utf-8", "replace")
    assert text.startswith("HTTP/1.1 400"), text[:300]
    assert f"名册最多 {MAX_ROWS} 行" in text
    assert what_changed(server.url) == before


@pytest.mark.slow
def test_the_parser_process_answers_as_the_inline_parser() -> None:
    """What comes back from the child process is what the parser says in-process: rows,
    row errors with their lines, refusals."""
    files = {
        "good.xlsx": roster_xlsx(40),
        "bad.csv": "座位号,姓名,代表团\n1,王建国,一组\n1,,\nx,李红梅\n".encode("gb18030"),
        "rows.xlsx": roster_xlsx(MAX_ROWS + 1),
        "cut.xlsx": roster_xlsx(3)[:300],
        "big.csv": b"x" * (MAX_BYTES + 1),
    }
    for name, data in files.items():
        inline = parse_roster_upload(data, name, off_loop=False)
        assert parse_roster_upload(data, name, off_loop=True) == inline, name
    assert len(parse_roster_upload(files["good.xlsx"], "good.xlsx", off_loop=True).rows) == 40


# --- through the test client ---------------------------------------------------------------


def rezip(data: bytes, part: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == part else source.read(info))
    return out.getvalue()


def upload(staff_client: LoggedIn, name: str, data: bytes) -> Any:
    return staff_client.client.post(
        "/admin/roster/",
        data={"csrf_token": csrf_of(staff_client.client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_hostile_roster_files_are_refused_in_chinese_and_change_nothing(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    url = live_app.config["VOTING_DATABASE_URL"]
    before = what_changed(url)
    good = roster_xlsx(3)
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        xml = z.read(sheet)
    bomb = rezip(good, sheet, xml.replace(b"</sheetData>", b" " * (25 << 20) + b"</sheetData>"))
    cases = {
        "bomb": (bomb, f"XLSX文件解压后过大：最多 {MAX_XLSX_UNPACKED >> 20} MB"),
        "malformed-xml": (rezip(good, sheet, xml[: len(xml) // 2]), "不是有效的XLSX文件"),
        "corrupt-zip": (good[:200] + bytes(300) + good[500:], "不是有效的XLSX文件"),
        "rows": (
            "座位号,姓名\n".encode() + b"".join(b"%d,x\n" % i for i in range(1, MAX_ROWS + 1)),
            f"名册最多 {MAX_ROWS} 行",
        ),
        "bytes": (
            b"seat,name\n1,x\n" + b" " * MAX_BYTES,
            f"名册文件过大：最多 {MAX_BYTES >> 20} MB",
        ),
    }
    for case, (data, message) in cases.items():
        name = "名单.csv" if case in ("rows", "bytes") else "名单.xlsx"
        response = upload(secretariat, name, data)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, (case, page[:500])
        assert message in page, case
        assert "未导入任何数据" in page, case
    assert what_changed(url) == before
    with live_app.app_context(), sessions()() as session:
        assert session.scalar(select(func.count()).select_from(Member).where(Member.active)) == 61


def test_a_body_over_the_limit_is_refused_with_the_limit_named(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    limit = live_app.config["MAX_CONTENT_LENGTH"]
    response = upload(secretariat, "名单.csv", b"x" * (limit + 1))
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert f"上传的内容过大：最多 {limit >> 20} MB" in page
