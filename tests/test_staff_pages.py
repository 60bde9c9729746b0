"""The staff pages as the office uses them (issue 17, item 4), through the Flask test
client on the real app: enrollment codes for chosen seats or all on one sheet, one
seat's PIN reset (logged, never the PIN), a vote's rows edited and imported, the
sitting's status following what happens, the receipt checker taking what the tablet
shows, and the audit page in Chinese."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from audit.entry_types import LABELS, EntryType, label
from kiosk_client.client import ballot_payload, new_nonce
from tests.support.bodies import only_body_id
from tests.support.live import (
    LoggedIn,
    body_id,
    csrf_of,
    enroll_kiosk,
    kiosk_socket,
    logged_in,
    post_form,
    sign_in_by_staff,
)
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import (
    AuditEntry,
    EnrollmentCode,
    Member,
    Sitting,
    SittingStatus,
    StaffRole,
    Vote,
)
from voting_server.services import devices
from voting_server.services.audit_log import iter_lines
from voting_server.services.passwords import verify_secret
from voting_server.services.transactions import write_transaction


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _entries(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), sessions()() as s:
        return [json.loads(line) for line in iter_lines(s, only_body_id(s))]


def _codes(app: Flask) -> list[int]:
    """The seats with a code issued (used or not), in order of issue."""
    with app.app_context(), sessions()() as s:
        return list(s.scalars(select(EnrollmentCode.seat).order_by(EnrollmentCode.id)))


def _cards(page: str) -> list[tuple[str, str]]:
    """(seat, code) of each card of the printed sheet."""
    return re.findall(
        r'<p class="seat">第 (\d+) 座</p>.*?<p class="code">([0-9A-Z]{4}-[0-9A-Z]{4})</p>',
        page,
        re.S,
    )


# --- enrollment codes: chosen seats or all, one round trip, one sheet -----------------------


@pytest.mark.slow
def test_codes_for_ticked_and_typed_seats_print_on_one_sheet(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    page = _text(secretariat.client.get("/admin/devices"))
    assert 'name="seats" value="7"' in page and "为所选座位生成并打印" in page
    sheet = secretariat.client.post(
        "/admin/enrollment/sheet",
        data={"which": "selected", "seats": ["7", "3"], "seat_list": "10-12, 3",
              "csrf_token": csrf_of(secretariat.client)},
    )  # fmt: skip
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    cards = _cards(_text(sheet))
    assert [seat for seat, _code in cards] == ["3", "7", "10", "11", "12"]
    assert _text(sheet).count('<svg class="qr"') == 5  # a QR per card
    assert sorted(_codes(live_app)) == [3, 7, 10, 11, 12]
    # the codes printed are the ones that enroll
    with live_app.app_context(), sessions()() as s:
        hashes = set(s.scalars(select(EnrollmentCode.code_hash)))
    assert all(devices.code_hash(code) in hashes for _seat, code in cards)


@pytest.mark.slow
def test_codes_for_every_seat_in_one_request(live_app: Flask, secretariat: LoggedIn) -> None:
    sheet = post_form(secretariat.client, "/admin/enrollment/sheet", {"which": "all"})
    assert sheet.status_code == 200
    assert len(_cards(_text(sheet))) == 61 and len(_codes(live_app)) == 61


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seat_list": "1-3, x"}, "座位号填写有误"),
        ({"seat_list": "5-2"}, "座位号填写有误"),
        ({"seat_list": ""}, "请勾选或填写"),
        ({"seat_list": "60-62"}, "该座位没有在册组成人员"),  # seat 62 is nobody's: none issued
        ({"seats": "abc"}, "参数 seats"),
    ],
)
def test_a_bad_seat_list_issues_no_code(
    live_app: Flask, secretariat: LoggedIn, fields: dict[str, str], message: str
) -> None:
    answer = post_form(
        secretariat.client, "/admin/enrollment/sheet", {"which": "selected", **fields}
    )
    assert answer.status_code == 400 and message in _text(answer), _text(answer)
    assert _codes(live_app) == []


@pytest.mark.slow
def test_only_the_secretariat_issues_codes_and_resets_pins(live_app: Flask) -> None:
    for role in (StaffRole.PRESIDIUM, StaffRole.SCRUTINEER, StaffRole.DISPLAY):
        client = logged_in(live_app, role, f"{role.value}-codes").client
        for path, data in (("/admin/enrollment/sheet", {"which": "all"}), ("/admin/pins/5", {})):
            assert post_form(client, path, data).status_code == 403, (role, path)
    assert _codes(live_app) == []
    assert not [e for e in _entries(live_app) if e["type"] == "pins_reset"]


# --- one seat's PIN ---------------------------------------------------------------------------


@pytest.mark.slow
def test_one_seats_pin_reset_is_confirmed_shown_once_and_logged_without_it(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    client = secretariat.client
    with live_app.app_context(), write_transaction(sessions()) as s:
        member = devices.member_at_seat(s, body_id(live_app), 5)
        assert member is not None
        member.pin_failures = 5  # locked out
        others = {m.seat: m.pin_hash for m in s.scalars(select(Member)) if m.seat != 5}
    confirm = _text(client.get("/admin/pins/5"))
    assert "重设签到密码：第 5 座" in confirm and "其他座位的密码不变" in confirm
    assert "data-confirm=" in confirm  # and the page itself is the confirmation without script
    slip = post_form(client, "/admin/pins/5")
    assert slip.status_code == 200 and slip.headers["Cache-Control"] == "no-store"
    pins = re.findall(r'<p class="pin">(\d{6})</p>', _text(slip))
    assert len(pins) == 1
    with live_app.app_context(), sessions()() as s:
        after = {m.seat: m for m in s.scalars(select(Member))}
        assert verify_secret(after[5].pin_hash, pins[0]) and after[5].pin_failures == 0
        assert all(after[seat].pin_hash == old for seat, old in others.items())
    last = _entries(live_app)[-1]
    assert last["type"] == "pins_reset"
    assert last["data"] == {"seats": [5], "all": False, "by": secretariat.account.id}
    assert pins[0] not in json.dumps(last)
    assert post_form(client, "/admin/pins/99").status_code == 400  # nobody's seat


@pytest.mark.slow
def test_the_all_seats_reset_is_logged_too(live_app: Flask, secretariat: LoggedIn) -> None:
    post_form(secretariat.client, "/admin/pins")
    last = _entries(live_app)[-1]
    assert last["type"] == "pins_reset" and last["data"]["all"] is True
    assert last["data"]["seats"] == list(range(1, 62))


# --- a vote's rows: edited, reordered, imported ---------------------------------------------


def _vote_form(**fields: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "民生实事项目票决",
        "kind": "selection",
        "item_id": ["p1", "", "p3"],
        "item_title": ["新建中小学", "老旧小区改造", "公交线路优化"],
        "seats": "2",
        "rule": "custom",
        "threshold_base": "members", "threshold_num": "1", "threshold_den": "2",
        "threshold_strict": "strict",
        "quorum_base": "members", "quorum_num": "1", "quorum_den": "2", "quorum_strict": "strict",
        "eval_rule": "unsatisfied",
        "unsatisfied_base": "members", "unsatisfied_num": "1", "unsatisfied_den": "2",
        "unsatisfied_strict": "strict",
        "secret": "1", "key_policy": "last_press", "live_tally": "hidden",
    }  # fmt: skip
    form.update(fields)
    return form


def _post(client: FlaskClient, path: str, form: dict[str, Any], **files: Any) -> Any:
    data = {**form, **files, "csrf_token": csrf_of(client)}
    return client.post(path, data=data, content_type="multipart/form-data")


def _rows(page: str) -> list[tuple[str, str]]:
    ids = re.findall(r'<input name="item_id" value="([^"]*)"', page)
    titles = re.findall(r'<input name="item_title" value="([^"]*)"', page)
    return list(zip(ids, titles, strict=True))


def _vote_count(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.scalar(select(func.count()).select_from(Vote)) or 0


@pytest.mark.slow
def test_rows_are_added_moved_and_removed_without_saving(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    path, before = "/admin/sittings/items/1/votes", _vote_count(live_app)
    new = _text(secretariat.client.get("/admin/sittings/items/1/votes/new"))
    assert len(_rows(new)) == 3 and "添加一行" in new and 'value="up:1"' in new
    up = _post(secretariat.client, path, _vote_form(row_op="up:2"))
    assert up.status_code == 200
    assert _rows(_text(up)) == [("p1", "新建中小学"), ("p3", "公交线路优化"), ("", "老旧小区改造")]
    down = _post(secretariat.client, path, _vote_form(row_op="down:0"))
    assert [t for _i, t in _rows(_text(down))] == ["老旧小区改造", "新建中小学", "公交线路优化"]
    gone = _post(secretariat.client, path, _vote_form(row_op="remove:1"))
    assert _rows(_text(gone)) == [("p1", "新建中小学"), ("p3", "公交线路优化")]
    added = _post(secretariat.client, path, _vote_form(row_op="add"))
    assert _rows(_text(added))[-1] == ("", "")
    forged = _post(secretariat.client, path, _vote_form(row_op="remove:9"))
    assert forged.status_code == 400 and "无法执行该操作" in _text(forged)
    assert _vote_count(live_app) == before  # nothing saved by the row buttons
    saved = _post(secretariat.client, path, _vote_form(item_id=["p1", "", "p3", ""],
                                                      item_title=["甲", "乙", "丙", ""]))  # fmt: skip
    assert saved.status_code == 302, _text(saved)
    with live_app.app_context(), sessions()() as s:
        vote = s.scalars(select(Vote).order_by(Vote.id.desc())).first()
        assert vote is not None and vote.options() == [("p1", "甲"), ("c1", "乙"), ("p3", "丙")]
    page = _text(secretariat.client.get(f"/admin/sittings/votes/{vote.id}"))
    assert _rows(page) == [("p1", "甲"), ("c1", "乙"), ("p3", "丙")]
    untitled = _post(secretariat.client, path, _vote_form(item_id=["p9"], item_title=[""]))
    assert untitled.status_code == 400 and 'id="items-error"' in _text(untitled)


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "data", "rows"),
    [
        ("list.csv", "编号,名称\nd1,市教育局\nd2,市卫生健康委\n".encode(),
         [("d1", "市教育局"), ("d2", "市卫生健康委")]),
        ("list.csv", "市教育局\n市卫生健康委\n".encode("gb18030"),
         [("", "市教育局"), ("", "市卫生健康委")]),
        ("list.xlsx", _xlsx([["2027年测评对象"], ["序号", "测评对象"], [1, "市教育局"], [2, "市民政局"]]),
         [("1", "市教育局"), ("2", "市民政局")]),
    ],
)  # fmt: skip
def test_rows_are_imported_from_csv_and_xlsx(
    live_app: Flask, secretariat: LoggedIn, name: str, data: bytes, rows: list[tuple[str, str]]
) -> None:
    answer = _post(secretariat.client, "/admin/sittings/items/1/votes",
                   _vote_form(row_op="import"), items_file=(io.BytesIO(data), name))  # fmt: skip
    assert answer.status_code == 200, _text(answer)
    assert _rows(_text(answer)) == rows


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("list.xlsx", b"PK\x03\x04 not a zip", "不是有效的XLSX文件"),
        ("list.xls", b"\xd0\xcf\x11\xe0old", "不支持旧版.xls文件"),
        ("list.csv", "名称\n市教育局\n\n".encode() + b"\xff\xfe\xfa", "无法识别文件编码"),
        ("list.csv", "编号,名称\nd1,市教育局\nd1,市民政局\n".encode(), "与第 2 行重复"),
        ("list.csv", "编号,名称\nd1,\n".encode(), "第 2 行没有名称"),
        ("list.csv", b"", "文件中没有任何项目"),
    ],
)
def test_a_bad_import_file_is_refused_in_chinese_and_the_rows_stay(
    live_app: Flask, secretariat: LoggedIn, name: str, data: bytes, message: str
) -> None:
    vote = 1
    with live_app.app_context(), sessions()() as s:
        found = s.get(Vote, vote)
        assert found is not None
        before = (found.options(), found.config)
    answer = _post(secretariat.client, f"/admin/sittings/votes/{vote}",
                   _vote_form(row_op="import"), items_file=(io.BytesIO(data), name))  # fmt: skip
    page = _text(answer)
    assert answer.status_code == 400 and message in page, page
    assert _rows(page) == [("p1", "新建中小学"), ("", "老旧小区改造"), ("p3", "公交线路优化")]
    with live_app.app_context(), sessions()() as s:
        found = s.get(Vote, vote)
        assert found is not None and (found.options(), found.config) == before


# --- the sitting's status ---------------------------------------------------------------------


def _status(app: Flask, sitting_id: int) -> SittingStatus:
    with app.app_context(), sessions()() as s:
        sitting = s.get(Sitting, sitting_id)
        assert sitting is not None
        return sitting.status


def _current_sitting(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        found = s.scalar(select(Sitting.id).order_by(Sitting.id).limit(1))
        assert found is not None
        return found


@pytest.mark.slow
def test_the_sitting_is_held_from_the_first_sign_in_and_closed_by_the_chair(
    live_app: Flask, secretariat: LoggedIn, presidium: LoggedIn
) -> None:
    sitting = _current_sitting(live_app)
    assert _status(live_app, sitting) is SittingStatus.PLANNED
    page = _text(secretariat.client.get(f"/admin/sittings/{sitting}"))
    assert "会议状态：<strong>筹备中</strong>" in page and 'name="status"' not in page
    sign_in_by_staff(live_app, [1])
    assert _status(live_app, sitting) is SittingStatus.OPEN
    assert "会议状态：<strong>举行中</strong>" in _text(
        presidium.client.get(f"/admin/sittings/{sitting}")
    )
    # a vote open: 闭会 is refused, nothing changes
    sign_in_by_staff(live_app, range(2, 41))
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), 1, presidium.account.id, None)
    refused = post_form(presidium.client, f"/admin/sittings/{sitting}/close", {"confirm": "1"})
    assert refused.status_code == 409 and "有表决正在进行" in _text(refused)
    assert _status(live_app, sitting) is SittingStatus.OPEN
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().close_vote(s, audit_log(), 1, presidium.account.id, "presidium")
    unconfirmed = post_form(presidium.client, f"/admin/sittings/{sitting}/close")
    assert unconfirmed.status_code == 400 and _status(live_app, sitting) is SittingStatus.OPEN
    for role in (StaffRole.SCRUTINEER, StaffRole.DISPLAY):
        other = logged_in(live_app, role, f"{role.value}-close").client
        closing = post_form(other, f"/admin/sittings/{sitting}/close", {"confirm": "1"})
        assert closing.status_code == 403
    closed = post_form(presidium.client, f"/admin/sittings/{sitting}/close", {"confirm": "1"})
    assert closed.status_code == 302
    assert _status(live_app, sitting) is SittingStatus.CLOSED
    page = _text(secretariat.client.get(f"/admin/sittings/{sitting}"))
    assert "会议状态：<strong>已结束</strong>" in page and "结束会议（闭会）" not in page
    assert "已结束" in _text(secretariat.client.get("/admin/sittings/"))


@pytest.mark.slow
def test_the_first_vote_opens_a_planned_sitting(live_app: Flask) -> None:
    sitting = _current_sitting(live_app)
    sign_in_by_staff(live_app, range(1, 41))
    with live_app.app_context(), write_transaction(sessions()) as s:
        found = s.get(Sitting, sitting)
        assert found is not None
        found.status = SittingStatus.PLANNED  # as if the sign-ins came before this rule
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), 1, 1, None)
    assert _status(live_app, sitting) is SittingStatus.OPEN


# --- the receipt checker ---------------------------------------------------------------------


def _press(app: Flask, vote: int, seat: int, ballot: Any, secret: bool) -> dict[str, Any]:
    with app.app_context(), write_transaction(sessions()) as s:
        found = s.get(Vote, vote)
        assert found is not None
        found.secret = secret
    kiosk = enroll_kiosk(app, seat)
    sign_in_by_staff(app, range(1, 41), {seat: kiosk.device_id})
    with app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), vote, 1, None)
    sio, _ = kiosk_socket(app, kiosk)
    payload = ballot_payload(kiosk.key, vote, seat, new_nonce(), ballot)
    answer = sio.emit("ballot", payload, callback=True)
    assert answer["ok"], answer
    return answer["receipt"]  # type: ignore[no-any-return]


def _motion(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        found = s.scalar(select(Vote.id).where(Vote.kind == "motion").order_by(Vote.id))
        assert found is not None
        return found


@pytest.mark.slow
def test_the_receipt_checker_takes_the_record_number_and_check_code(live_app: Flask) -> None:
    vote = _motion(live_app)
    receipt = _press(live_app, vote, 5, {"regulation": "no"}, secret=False)
    code = receipt["entry_hash"][:12]  # what the tablet shows: 校验码 22bfbff976c2
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER).client
    form = _text(scrutineer.get("/results/receipt"))
    assert 'name="record"' in form and 'name="code"' in form
    found = post_form(scrutineer, "/results/receipt",
                      {"record": f"第 {receipt['entry']} 号记录", "code": code.upper()})  # fmt: skip
    page = _text(found)
    assert found.status_code == 200 and "一致：第" in page and "校验码相符" in page, page
    assert re.search(r"<li>[^<]*：反对</li>", page)  # the choice, named as the tablet named it
    assert "座位" not in page.split('id="receipt-answer"')[1].split("</div>")[0]  # no more
    wrong = post_form(scrutineer, "/results/receipt",
                      {"record": str(receipt["entry"]), "code": "0" * 12})  # fmt: skip
    assert "不一致" in _text(wrong) and "校验码不是 000000000000" in _text(wrong)
    missing = post_form(scrutineer, "/results/receipt", {"record": "999999", "code": code})
    assert "没有第 999999 号记录" in _text(missing)
    other = post_form(scrutineer, "/results/receipt", {"record": "0", "code": code})
    assert "不是按键提交的记录" in _text(other)


@pytest.mark.slow
def test_a_secret_votes_receipt_proves_taking_part_only(live_app: Flask) -> None:
    vote = _motion(live_app)
    receipt = _press(live_app, vote, 6, {"regulation": "yes"}, secret=True)
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER).client
    page = _text(post_form(scrutineer, "/results/receipt",
                           {"record": str(receipt["entry"]), "code": receipt["entry_hash"][:12]}))  # fmt: skip
    assert "一致：第" in page and "不含所作选择" in page and "赞成" not in page


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"record": "", "code": "22bfbff976c2"}, "record", "请填写平板上显示的记录号"),
        ({"record": "abc", "code": "22bfbff976c2"}, "record", "请填写平板上显示的记录号"),
        ({"record": "38", "code": "xyz"}, "code", "校验码是平板上显示的 12 位"),
        ({"record": "38", "code": "22bfbff976c"}, "code", "校验码是平板上显示的 12 位"),
        ({"receipt": "{not json"}, None, "凭条格式有误"),
        ({"receipt": "[]"}, None, "凭条与记录不符"),
    ],
)
def test_bad_receipt_input_gets_a_chinese_message(
    live_app: Flask, fields: dict[str, str], field: str | None, message: str
) -> None:
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER).client
    answer = post_form(scrutineer, "/results/receipt", fields)
    page = _text(answer)
    assert answer.status_code == 400 and message in page, page
    assert "Expecting" not in page and "line 1 column" not in page
    if field:
        assert f'id="{field}-error"' in page


# --- the audit page ---------------------------------------------------------------------------


def test_every_entry_type_has_a_chinese_and_an_english_name() -> None:
    assert set(LABELS) == set(EntryType)
    for zh, en in LABELS.values():
        assert re.search(r"[\u4e00-\u9fff]", zh) and en.isascii() and en.strip()
    assert label("ballot") == "记名选票" and label("ballot", "en") == "Named ballot"
    assert label("nonsense") == "nonsense"


@pytest.mark.slow
def test_the_audit_page_names_types_in_chinese_and_summarises_each_vote(
    live_app: Flask, presidium: LoggedIn
) -> None:
    vote = _motion(live_app)
    _press(live_app, vote, 5, {"regulation": "yes"}, secret=False)
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().close_vote(s, audit_log(), vote, 1, "presidium")
    post_form(presidium.client, f"/results/votes/{vote}/countersign", {"subject": "result"})
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER).client
    page = _text(scrutineer.get("/audit/"))
    assert '<span class="entry-type">日志开始</span>' in page
    assert re.search(r'<option value="signed_in"[^>]*>签到</option>', page)
    assert "<dt>座位</dt>" in page  # data as fields …
    assert "规范 JSON" in page  # … the canonical line one click away
    with live_app.app_context(), sessions()() as s:
        title = s.get(Vote, vote).title  # type: ignore[union-attr]
    summary = page.split('id="vote-summaries"')[1].split("</section>")[0]
    assert title in summary and "开始" in summary and "结束" in summary
    row = summary.split(f'id="vote-{vote}"')[1].split("</tr>")[0]
    assert "赞成 1，反对 0，弃权 0 — 未通过" in row  # the result line, in the glossary's words
    assert "表决结果：主持人" in row  # the countersignature, by role name
    english = _text(scrutineer.get("/audit/?lang=en"))
    assert '<span class="entry-type">Log started</span>' in english
    filtered = _text(scrutineer.get(f"/audit/?vote={vote}"))
    assert f'id="vote-{vote}"' in filtered
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) > 0


def test_an_imported_list_reads_the_same_in_the_parser_process() -> None:
    """Under gevent the file is read in a child process (services.uploads): same rows,
    same refusal."""
    from voting_server.services.uploads import read_table_upload

    files = {
        "list.csv": "编号,名称\nd1,市教育局\n".encode("gb18030"),
        "list.xlsx": _xlsx([["名称"], ["市民政局"]]),
        "bad.xlsx": b"PK\x03\x04 cut",
    }
    for name, data in files.items():
        inline = read_table_upload(data, name, off_loop=False)
        assert read_table_upload(data, name, off_loop=True) == inline, name
    assert read_table_upload(files["list.xlsx"], "list.xlsx", off_loop=True)[0] == [
        (1, ["名称"]),
        (2, ["市民政局"]),
    ]
