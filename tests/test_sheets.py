"""Result sheets (表决结果): rendered, read back, and followed from paper to the log.

The PDF's text is extracted and checked; its QR code is decoded from the
PDF's image and checked offline against an exported bundle with
``voting-audit check-sheet`` — for an electronic vote and for a paper count
countersigned by two scrutineers, which the sheet marks as such.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from audit.export import export_bundle
from audit.merkle import tree_root
from kiosk_client.client import ballot_payload, new_nonce
from tests.conftest import REPO, unavailable
from tests.fixtures_live import body_id, enroll_kiosk, kiosk_socket, logged_in, post_form
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import AttendanceMethod, StaffRole, Vote
from voting_server.rules import parse_scenario, tally
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction
from voting_server.sheets import (
    RESULT_COLUMNS,
    ResultSheet,
    SheetError,
    cjk_font,
    render_html,
    render_pdf,
    result_rows,
    to_csv,
    to_xlsx,
)

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module", autouse=True)
def _font() -> None:
    try:
        cjk_font()
    except SheetError as exc:
        unavailable("CJK font", str(exc))


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_qr_codes(data: bytes) -> list[str]:
    """Every QR code in the PDF's images, decoded."""
    import zxingcpp
    from pypdf import PdfReader

    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for image in page.images:
            found += [r.text for r in zxingcpp.read_barcodes(image.image)]
    return found


def sheet_of(scenario: dict[str, Any], **extra: Any) -> ResultSheet:
    parsed = parse_scenario(json.dumps(scenario))
    result = tally(parsed.spec, parsed.members, parsed.present, parsed.ballots)
    ids = parsed.spec.candidates or parsed.spec.subjects
    return ResultSheet(
        body="示例市人大常委会", sitting="第二十次会议", agenda_item="议程一", title="测试表决",
        kind=parsed.spec.kind.value, secret=True, manual=extra.pop("manual", False),
        opened_at=None, closed_at=datetime(2026, 11, 25, 2, 30, tzinfo=UTC),
        members=parsed.members, present=parsed.present, result=result,
        titles={i: f"项目{i}" for i in ids}, seats=parsed.spec.seats or None, **extra,
    )  # fmt: skip


MOTION = {"members": 61, "present": 55, "vote": {"kind": "motion", "subjects": ["a", "b"]},
          "ballots": [{"a": "yes", "b": "no"}] * 31 + [{"a": "no", "b": "yes"}] * 20}  # fmt: skip


def test_a_motion_sheet_reads_as_on_paper() -> None:
    sheet = sheet_of(MOTION, manual=True)
    text = pdf_text(render_pdf(sheet))
    for label in ("表决结果", "应到 61", "实到 55", "投票 51", "未按 4", "人工计票", "无记名表决"):
        assert label in text, label
    assert re.search(r"项目a\s*31\s*20\s*0\s*0\s*31\s*通过", text), text
    assert re.search(r"项目b\s*20\s*31\s*0\s*0\s*31\s*未通过", text), text
    assert "2026年11月25日 10:30" in text  # Beijing time
    html = render_html(sheet)
    assert "人工计票" in html and "<td>通过</td>" in html and "<td>未通过</td>" in html


def test_no_quorum_and_void_are_said_plainly() -> None:
    no_quorum = sheet_of({**MOTION, "present": 30, "ballots": [{"a": "yes"}] * 30})
    assert "未达法定人数" in pdf_text(render_pdf(no_quorum))
    void = sheet_of({**MOTION, "present": 2, "ballots": [{"a": "yes"}] * 3})
    assert "表决无效" in pdf_text(render_pdf(void))


def test_the_shared_scenarios_render(shared_dir: Path) -> None:
    for path in sorted((shared_dir / "scenarios").glob("*.json")):
        scenario = json.loads(path.read_text())
        sheet = sheet_of({k: v for k, v in scenario.items() if k != "expect"})
        text = pdf_text(render_pdf(sheet))
        _, rows = sheet.table()
        for row in rows:
            assert row[0] in text and row[1] in text, (path.name, row)
        if sheet.kind == "evaluation":
            for sid, counts in sheet.result["subjects"].items():
                if counts["satisfaction_rate"] is not None:
                    assert f"{counts['satisfaction_rate']}%" in text, sid
        (ARTIFACTS / f"sheet-{path.stem}.pdf").parent.mkdir(exist_ok=True)
        (ARTIFACTS / f"sheet-{path.stem}.pdf").write_bytes(render_pdf(sheet))


def test_a_selection_runoff_is_shown() -> None:
    scenario = {"members": 12, "present": 12,  # 8 votes each, 7 needed: a three-way tie for 2 seats
                "vote": {"kind": "selection", "candidates": ["p", "q", "r"], "seats": 2},
                "ballots": [["p", "q"]] * 4 + [["p", "r"]] * 4 + [["q", "r"]] * 4}  # fmt: skip
    sheet = sheet_of(scenario)
    assert sheet.result["selection"]["runoff"] is not None
    text = pdf_text(render_pdf(sheet))
    assert "须再次投票" in text and "再次投票" in text


def test_the_qr_code_decodes_to_the_sheet_code() -> None:
    code = {"v": 1, "vote": 3, "result_entry": 120, "result_hash": "ab" * 32,
            "head": {"size": 121, "root": "cd" * 32, "time": "2026-11-25T02:30:00Z", "sig": "x" * 88}}  # fmt: skip
    sheet = sheet_of(MOTION, code=code)
    assert [json.loads(t) for t in pdf_qr_codes(render_pdf(sheet))] == [code]
    assert f"121:{'cd' * 32}" in pdf_text(render_pdf(sheet))


def test_exports_round_trip() -> None:
    sheets = [sheet_of(MOTION), sheet_of(MOTION, manual=True)]
    rows = result_rows(sheets)
    data = to_csv(rows, RESULT_COLUMNS)
    assert data.startswith("\ufeff".encode())
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["subject"], r["yes"], r["passed"]) for r in read[:2]] == [
        ("a", "31", "True"),
        ("b", "20", "False"),
    ]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(to_xlsx(rows, RESULT_COLUMNS, "表决结果")))
    values = list(book.active.values)
    assert values[0] == RESULT_COLUMNS and len(values) == 5 and values[1][8] == 31


# --- from the server's sheet to the offline check --------------------------------------------


def run_vote(app: Flask, vote_id: int, ballots: dict[int, Any]) -> None:
    """Sign seats 1..40 in, open ``vote_id``, press ``ballots`` (seat → ballot) from kiosks, close."""
    with app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, body_id(app))
        for seat in range(1, 41):
            member = attendance.member_at_seat(s, body_id(app), seat)
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=None)
    with app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), vote_id, 1, None)
    for seat, ballot in ballots.items():
        kiosk = enroll_kiosk(app, seat)
        sio, _ = kiosk_socket(app, kiosk)
        answer = sio.emit(
            "ballot", ballot_payload(kiosk.key, vote_id, seat, new_nonce(), ballot), callback=True
        )
        assert answer["ok"], answer
        sio.disconnect()
    with app.app_context(), write_transaction(sessions()) as s:
        voting().close_vote(s, audit_log(), vote_id, 1, "presidium")


def check_sheet(bundle: Path, code: str, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "code.json"
    path.write_text(code)
    done = subprocess.run(
        [sys.executable, "-c", "from audit.cli import main; main()", "check-sheet", str(bundle), str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def vote_ids(app: Flask) -> dict[str, int]:
    with app.app_context(), sessions()() as s:
        return {v.kind.value: v.id for v in s.query(Vote).all()}


def test_from_the_printed_sheet_to_the_log(live_app: Flask, tmp_path: Path) -> None:
    votes = vote_ids(live_app)
    run_vote(live_app, votes["motion"], {s: {"regulation": "yes"} for s in range(1, 34)})
    presidium = logged_in(live_app, StaffRole.PRESIDIUM)
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER)
    assert post_form(presidium.client, f"/results/votes/{votes['motion']}/countersign",
                     {"subject": "result"}).status_code == 302  # fmt: skip
    pdf = scrutineer.client.get(f"/results/votes/{votes['motion']}/sheet.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "通过" in text and "赞成" in text and "主持人签名：测试presidium" in text
    (ARTIFACTS / "sheet-server-motion.pdf").write_bytes(pdf.data)
    [code] = pdf_qr_codes(pdf.data)

    bundle = tmp_path / "bundle"
    export_bundle(live_app.config["VOTING_DATABASE_URL"], bundle)
    checked = check_sheet(bundle, code, tmp_path)
    assert checked["manual"] is False and checked["head_logged"] is True
    assert checked["result"]["subjects"]["regulation"]["yes"] == 33
    assert checked["result"]["subjects"]["regulation"]["passed"] is True


def test_a_paper_count_runs_through_the_same_path(live_app: Flask, tmp_path: Path) -> None:
    votes = vote_ids(live_app)
    vote = votes["evaluation"]
    secretariat = logged_in(live_app, StaffRole.SECRETARIAT)
    first = logged_in(live_app, StaffRole.SCRUTINEER, "jianpiao-1")
    second = logged_in(live_app, StaffRole.SCRUTINEER, "jianpiao-2")
    counts = {"cast": 50, "subjects": {
        d: {"satisfied": 30, "basic": 10, "unsatisfied": 8, "invalid": 2}
        for d in ("civil-affairs", "sports", "sasac")}}  # fmt: skip
    bad = post_form(secretariat.client, f"/results/votes/{vote}/paper",
                    {"mode": "counts", "present": "52", "data": "{not json"})  # fmt: skip
    assert bad.status_code == 400 and "人工计票数据有误" in bad.get_data(as_text=True)
    entered = post_form(secretariat.client, f"/results/votes/{vote}/paper",
                        {"mode": "counts", "present": "52", "data": json.dumps(counts)})  # fmt: skip
    assert entered.status_code == 302
    assert secretariat.client.get(f"/results/votes/{vote}/sheet").status_code == 404  # not yet
    for scrutineer in (first, second):
        signed = post_form(scrutineer.client, f"/results/votes/{vote}/countersign",
                           {"subject": "paper_count"})  # fmt: skip
        assert signed.status_code == 302
    pdf = first.client.get(f"/results/votes/{vote}/sheet.pdf")
    text = pdf_text(pdf.data)
    assert "人工计票" in text and "83.33%" in text  # (30+10)/48
    (ARTIFACTS / "sheet-server-paper.pdf").write_bytes(pdf.data)
    [code] = pdf_qr_codes(pdf.data)
    bundle = tmp_path / "bundle"
    export_bundle(live_app.config["VOTING_DATABASE_URL"], bundle)
    checked = check_sheet(bundle, code, tmp_path)
    assert checked["manual"] is True
    assert checked["result"]["subjects"]["sports"]["satisfaction_rate"] == "83.33"
    minutes = first.client.get("/results/sittings/1/minutes.pdf")
    assert minutes.status_code == 200 and "表决结果汇总" in pdf_text(minutes.data)
    export = first.client.get("/results/sittings/1/results.csv")
    assert export.status_code == 200 and "civil-affairs" in export.data.decode("utf-8-sig")
    attendance_csv = first.client.get("/results/sittings/1/attendance.xlsx")
    assert attendance_csv.status_code == 200 and attendance_csv.data[:2] == b"PK"


def test_only_staff_see_sheets_and_only_scrutineers_sign_paper(live_app: Flask) -> None:
    anonymous = live_app.test_client()
    assert anonymous.get("/results/").status_code in (302, 401)
    display = logged_in(live_app, StaffRole.DISPLAY)
    vote = vote_ids(live_app)["motion"]
    assert post_form(display.client, f"/results/votes/{vote}/paper",
                     {"mode": "counts", "present": "1", "data": "{}"}).status_code in (302, 403)  # fmt: skip
    presidium = logged_in(live_app, StaffRole.PRESIDIUM)
    refused = post_form(
        presidium.client, f"/results/votes/{vote}/countersign", {"subject": "paper_count"}
    )
    assert refused.status_code == 400


def test_the_receipt_page_checks_a_kiosks_receipt(live_app: Flask) -> None:
    votes = vote_ids(live_app)
    with live_app.app_context(), write_transaction(sessions()) as s:
        vote = s.get(Vote, votes["motion"])
        vote.secret = False  # a named vote: the receipt shows the logged choice
    kiosk = enroll_kiosk(live_app, 5)
    with live_app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, body_id(live_app))
        for seat in range(1, 41):
            member = attendance.member_at_seat(s, body_id(live_app), seat)
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=None)
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), votes["motion"], 1, None)
    sio, _ = kiosk_socket(live_app, kiosk)
    payload = ballot_payload(kiosk.key, votes["motion"], 5, new_nonce(), {"regulation": "no"})
    receipt = sio.emit("ballot", payload, callback=True)["receipt"]
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER)
    page = post_form(scrutineer.client, "/results/receipt", {"receipt": json.dumps(receipt)})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "凭条与审计日志一致" in text, text
    assert '记名表决，记录的选择：<code>{"regulation": "no"}</code>' in text, text
    lines = [line.encode() for line in _log_lines(live_app)]
    head = f"{receipt['entry'] + 1}:{tree_root(lines[: receipt['entry'] + 1]).hex()}"
    under = post_form(
        scrutineer.client, "/results/receipt", {"receipt": json.dumps(receipt), "head": head}
    )
    assert "凭条与审计日志一致" in under.get_data(as_text=True)
    early = f"{receipt['entry']}:{tree_root(lines[: receipt['entry']]).hex()}"
    before = post_form(
        scrutineer.client, "/results/receipt", {"receipt": json.dumps(receipt), "head": early}
    )
    assert "not covered by the head" in before.get_data(as_text=True)
    forged = post_form(scrutineer.client, "/results/receipt",
                       {"receipt": json.dumps({**receipt, "entry_hash": "0" * 64})})  # fmt: skip
    assert "凭条与记录不符" in forged.get_data(as_text=True)


def _log_lines(app: Flask) -> list[str]:
    from voting_server.services.audit_log import iter_lines

    with app.app_context(), sessions()() as s:
        return [line.decode() for line in iter_lines(s)]
