"""Result sheets (表决结果): rendered, read back, and followed from paper to the log.

The sheets are built from real engine results (the shared scenarios and
edge cases: no quorum, void, runoff, paper count). The PDF's text is
extracted with pypdf and its QR code decoded from the PDF's image with
zxing-cpp; the HTML is parsed; the exports are read back with csv and
openpyxl. The server tests at the end follow a printed sheet's QR code to
``voting-audit check-sheet`` — for an electronic vote and for a paper count.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from audit.checkpoint import head_error, signed_head
from audit.evidence import sheet_code
from audit.merkle import tree_root
from kiosk_client.client import ballot_payload, new_nonce
from rules import parse_scenario, tally
from tests.support.bodies import only_body_id
from tests.support.live import (
    body_id,
    enroll_kiosk,
    kiosk_socket,
    logged_in,
    post_form,
    sign_in_by_staff,
    staff_socket,
)
from tests.support.services import REPO, unavailable
from voting_server import sheets
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import StaffRole, Vote
from voting_server.services.export import export_bundle
from voting_server.services.transactions import write_transaction
from voting_server.sheets import (
    AttendanceRow,
    ResultSheet,
    SheetError,
    attendance_csv,
    attendance_xlsx,
    minutes_html,
    minutes_pdf,
    qr_image,
    render_html,
    render_pdf,
    results_csv,
    results_xlsx,
)

ARTIFACTS = REPO / "test-artifacts"
BODY, SITTING = "示例市人大常委会", "第十六届人大常委会第二十次会议"
OPENED = datetime(2026, 11, 25, 2, 29, 30, tzinfo=UTC)  # 10:29:30 in Beijing
CLOSED = datetime(2026, 11, 25, 2, 30, 45, tzinfo=UTC)  # 10:30:45 in Beijing


# --- reading back what was rendered ----------------------------------------------------


@pytest.fixture
def font() -> None:
    """Tests that render a PDF need a CJK font on the machine."""
    try:
        sheets.cjk_font()
    except SheetError as exc:
        unavailable("CJK font", str(exc))


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return "\n".join(pdf_pages(data))


def decode_qr(image: Any) -> list[str]:
    import zxingcpp

    # QR codes only: a search for every format once read a stray 1D code ("D-$C") in a PDF
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def pdf_qr_codes(data: bytes) -> list[str]:
    """Every QR code in the PDF's images, decoded."""
    from pypdf import PdfReader

    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for image in page.images:
            found += decode_qr(image.image)
    return found


class _Page(HTMLParser):
    """The visible text of an HTML page, its tables' rows by class, and its images."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str | None]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in {"style", "script", "title"}:
            self._skip += 1
        elif tag == "table":
            self._table = a.get("class") or ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr":
            self._row = []
        elif tag in {"td", "th"}:
            self._cell = []
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "title"}:
            self._skip -= 1
        elif tag in {"td", "th"} and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_html(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def html_text(html: str) -> str:
    return re.sub(r"\s+", " ", " ".join(parse_html(html).text))


def html_qr_codes(html: str) -> list[str]:
    from PIL import Image

    found = []
    for img in parse_html(html).images:
        src = img.get("src") or ""
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:40]
        found += decode_qr(Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :]))))
    return found


def save_artifact(name: str, pdf: bytes) -> None:
    """For a human to look at: the PDF, and a PNG of its first page when pdftoppm is there."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    if (pdftoppm := shutil.which("pdftoppm")) is not None:
        subprocess.run(
            [pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(path),
             str(ARTIFACTS / name)],
            check=False, timeout=60,
        )  # fmt: skip


# --- building sheets from real results -------------------------------------------------


def result_of(scenario: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    parsed = parse_scenario(json.dumps({k: v for k, v in scenario.items() if k != "expect"}))
    return parsed, tally(parsed.spec, parsed.members, parsed.present, list(parsed.ballots))


def sheet_of(scenario: dict[str, Any], **extra: Any) -> ResultSheet:
    parsed, result = result_of(scenario)
    ids = parsed.spec.candidates or parsed.spec.subjects
    fields: dict[str, Any] = {
        "body": BODY,
        "sitting": SITTING,
        "agenda_item": "审议有关事项",
        "title": "测试表决",
        "kind": parsed.spec.kind,
        "secret": True,
        "manual": False,
        "opened_at": OPENED,
        "closed_at": CLOSED,
        "members": parsed.members,
        "present": parsed.present,
        "result": result,
        "titles": {i: f"事项{i}" for i in ids},
        "seats": parsed.spec.seats if parsed.spec.kind == "selection" else None,
    }
    return ResultSheet(**(fields | extra))


def shared(shared_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((shared_dir / "scenarios" / f"{name}.json").read_text())


def a_code(vote: int = 3, size: int = 121) -> dict[str, Any]:
    """A real sheet code: a log of ``size`` lines and a head signed with a fresh server key."""
    key = Ed25519PrivateKey.generate()
    lines = [json.dumps({"i": i, "type": "x"}).encode() for i in range(size)]
    head = signed_head(size, tree_root(lines).hex(), "2026-11-25T02:31:00Z", key.sign)
    public = key.public_key().public_bytes_raw()
    assert head_error(head, public) is None
    return sheet_code(vote, size - 1, lines[size - 1], head)


MOTION = {"members": 61, "present": 55, "vote": {"kind": "motion", "subjects": ["a", "b"]},
          "ballots": [{"a": "yes", "b": "no"}] * 31 + [{"a": "no", "b": "yes"}] * 19
                     + [{"a": "abstain"}] * 2 + [{"a": "maybe", "b": "yes"}]}  # fmt: skip
RUNOFF = {"members": 12, "present": 12,  # p 9 votes; q, r, s 8 each for the last 2 seats
          "vote": {"kind": "selection", "candidates": ["p", "q", "r", "s"], "seats": 3},
          "ballots": [["p", "q", "r"]] * 3 + [["p", "r", "s"]] * 3 + [["p", "q", "s"]] * 3
                     + [["q", "r", "s"]] * 2 + [["p", "p"]]}  # fmt: skip
EVALUATION = {"members": 20, "present": 18,
              "vote": {"kind": "evaluation", "subjects": ["good", "bad", "none"]},
              "ballots": [{"good": "satisfied", "bad": "unsatisfied"}] * 11
                         + [{"good": "basic", "bad": "basic"}] * 3 + [{"good": "unsatisfied"}]}  # fmt: skip


# --- motions ---------------------------------------------------------------------------


def test_a_passed_motion_from_the_shared_scenario(font: None, shared_dir: Path) -> None:
    sheet = sheet_of(shared(shared_dir, "motion-regulation"), titles={"regulation": "物业管理条例"})
    pdf = render_pdf(sheet)
    text = pdf_text(pdf)
    for label in ("示例市人大常委会", SITTING, "审议有关事项", "测试表决", "表决结果",
                  "无记名表决", "电子表决"):  # fmt: skip
        assert label in text, label
    assert "应到 实到 已按 未按\n61 55 53 2" in text
    # an electronic motion has no 无效 column: a kiosk's ballot cannot be invalid
    assert "赞成 反对 弃权 通过所需 结果" in text and "无效" not in text
    assert "物业管理条例 40 10 3 不少于 31 票 通过" in text
    assert "表决结果：通过" in text and "未通过" not in text
    assert "人工计票" not in text and "未达法定人数" not in text and "表决无效" not in text
    assert "2026年11月25日 10:29:30 至 10:30:45（北京时间）" in text
    save_artifact("sheet-motion-regulation", pdf)


def test_a_failed_two_thirds_motion_says_how_many_were_needed(font: None, shared_dir: Path) -> None:
    sheet = sheet_of(shared(shared_dir, "motion-two-thirds"), titles={"charter": "章程修正案"})
    text = pdf_text(render_pdf(sheet))
    assert "应到 实到 已按 未按\n30 28 28 0" in text
    assert "章程修正案 19 5 4 不少于 20 票 未通过" in text
    assert "表决结果：未通过" in text
    page = parse_html(render_html(sheet))
    assert page.tables["result"][1] == ["章程修正案", "19", "5", "4", "不少于 20 票", "未通过"]
    assert page.tables["turnout"] == [["应到", "实到", "已按", "未按"], ["30", "28", "28", "0"]]


def test_several_subjects_each_with_its_own_outcome(font: None) -> None:
    sheet = sheet_of(MOTION, manual=True, secret=False)
    text = pdf_text(render_pdf(sheet))
    # a: 31 yes, 19 no, 2 abstain + 1 unmarked (a maybe is invalid) → passes with 31 of 61
    assert "赞成 反对 弃权 无效 通过所需 结果" in text  # a paper count can have invalid votes
    assert "事项a 31 19 2 1 不少于 31 票 通过" in text
    assert "事项b 20 31 2 0 不少于 31 票 未通过" in text
    assert "表决结果：" not in text  # no single verdict for several subjects
    assert "人工计票（纸质表决）" in text and "记名表决" in text and "无记名" not in text
    html = render_html(sheet)
    rows = parse_html(html).tables["result"]
    assert [r[-1] for r in rows[1:]] == ["通过", "未通过"]
    assert "人工计票（纸质表决）" in html_text(html) and "无记名表决" not in html


def test_a_secret_sheet_says_what_its_content_rests_on(font: None) -> None:
    """An electronic secret vote's sheet names its content as the verifier reports it:
    proven (encrypted to the scrutineers' joint key) or server-trusted (the vote key)."""
    for trustees, label, other in (
        (True, "content: proven", "server-trusted"),
        (False, "content: server-trusted", "content: proven"),
    ):
        sheet = sheet_of(MOTION, trustees=trustees)
        html = html_text(render_html(sheet))
        assert label in html and other not in html
        text = pdf_text(render_pdf(sheet)).replace("\n", "")
        assert label in text and other not in text
    for named_or_paper in (sheet_of(MOTION, secret=False), sheet_of(MOTION, manual=True)):
        assert "content:" not in html_text(render_html(named_or_paper))


def test_no_quorum_is_said_plainly_and_nothing_passes(font: None) -> None:
    scenario = {**MOTION, "present": 30, "ballots": [{"a": "yes", "b": "yes"}] * 30}
    sheet = sheet_of(scenario)
    assert sheet.result["quorum"] is False and sheet.status == "no_quorum"
    text = pdf_text(render_pdf(sheet))
    assert "未达法定人数" in text and "表决结果不生效" in text
    assert "事项a 30 0 0 不少于 31 票 未通过" in text and " 通过\n" not in text
    html = html_text(render_html(sheet))
    assert "未达法定人数" in html and "实到 30 人" in html


def test_a_void_vote_says_why(font: None) -> None:
    sheet = sheet_of({**MOTION, "present": 2, "ballots": [{"a": "yes"}] * 3})
    assert sheet.status == "void"
    text = pdf_text(render_pdf(sheet))
    assert "表决无效" in text and "收回选票 3 张，多于实到 2 人" in text
    assert "收回的选票多于发出的选票" in text and "未通过" in text
    assert "应到 实到 已按 未按\n61 2 3 0" in text
    html = html_text(render_html(sheet))
    assert "表决无效" in html and sheet.result["reason"] in html


# --- selections ------------------------------------------------------------------------


def test_a_selection_lists_candidates_votes_and_unfilled_seats(
    font: None, shared_dir: Path
) -> None:
    scenario = shared(shared_dir, "selection-livelihood")
    sheet = sheet_of(scenario, title="2027年民生实事项目票决")
    sel = sheet.result["selection"]
    pdf = render_pdf(sheet)
    text = pdf_text(pdf)
    assert "票决结果" in text and "表决结果" not in text
    assert "序号 候选项目 得票 结果" in text
    for cid, votes in sel["votes"].items():
        outcome = "✓ 入选" if cid in sel["selected"] else "未入选"
        assert re.search(rf"\d+ 事项{cid} {votes} {outcome}\n", text), cid
    assert text.count("✓ 入选") == len(sel["selected"]) == 9 and "当选" not in text
    assert "应选 10 项，候选 12 项；入选须得票不少于 31 票；入选 9 项。" in text
    assert "无效票 2 张。" in text  # a count other than 0 is printed, whatever the count
    assert "尚有 1 个名额未选出" in text and "须再次投票" not in text
    save_artifact("sheet-selection-livelihood", pdf)

    rows = parse_html(render_html(sheet)).tables["result"][1:]
    assert [r[1] for r in rows][:9] == [f"事项{c}" for c in sel["selected"]]  # most votes first
    assert [r[3] for r in rows].count("✓ 入选") == 9


def test_a_runoff_names_the_tied_candidates(font: None) -> None:
    sheet = sheet_of(RUNOFF)
    sel = sheet.result["selection"]
    assert sel["selected"] == ["p"] and sel["runoff"] == {"candidates": ["q", "r", "s"], "seats": 2}
    text = pdf_text(render_pdf(sheet))
    assert "1 事项p 9 ✓ 入选" in text
    for cid in ("q", "r", "s"):
        assert re.search(rf"\d 事项{cid} 8 须再次投票", text), cid
    assert "须再次投票：事项q、事项r、事项s 得票相同（8 票）" in text
    assert "须就剩余 2 个名额再次投票" in text and "无效票 1 张" in text
    rows = parse_html(render_html(sheet)).tables["result"]
    assert [r[3] for r in rows[1:]] == ["✓ 入选", "须再次投票", "须再次投票", "须再次投票"]


def test_a_selection_without_quorum_selects_nothing(font: None) -> None:
    sheet = sheet_of({**RUNOFF, "present": 6, "ballots": [["p"]] * 6})
    text = pdf_text(render_pdf(sheet))
    assert "未达法定人数" in text and "✓" not in text and "入选 0 项" in text


# --- evaluations -----------------------------------------------------------------------


def test_an_evaluation_from_the_shared_scenario(font: None, shared_dir: Path) -> None:
    titles = {"civil-affairs": "市民政局", "sports": "市体育局", "sasac": "市国资委"}
    sheet = sheet_of(shared(shared_dir, "evaluation-departments"), titles=titles)
    pdf = render_pdf(sheet)
    text = pdf_text(pdf)
    assert "测评对象 满意 基本满意 不满意 无效 满意率 测评结果 名次" in text
    assert "市民政局 40 10 0 1 100.00% 满意 1" in text
    assert "市体育局 30 16 5 0 90.20% 满意 3" in text
    assert "市国资委 40 10 0 1 100.00% 满意 1" in text
    assert "不满意票达到 31 票的，测评结果为不满意。" in text
    save_artifact("sheet-evaluation-departments", pdf)


def test_an_unsatisfactory_department_and_one_without_valid_marks(font: None) -> None:
    sheet = sheet_of(EVALUATION)
    subjects = sheet.result["subjects"]
    assert subjects["bad"]["outcome"] == "unsatisfactory"
    assert subjects["none"]["satisfaction_rate"] is None
    text = pdf_text(render_pdf(sheet))
    assert "事项good 11 3 1 0 93.33% 满意 1" in text
    assert "事项bad 0 3 11 1 21.43% 不满意 2" in text
    assert "事项none 0 0 0 15 — 满意 3" in text  # no valid marks: no rate, ranked last
    rows = parse_html(render_html(sheet)).tables["result"]
    assert rows[3] == ["事项none", "0", "0", "0", "15", "—", "满意", "3"]


def test_an_evaluation_without_quorum_has_no_outcome(font: None) -> None:
    sheet = sheet_of({**EVALUATION, "present": 10, "ballots": EVALUATION["ballots"][:10]})
    text = pdf_text(render_pdf(sheet))
    assert "未达法定人数" in text
    assert "事项good 10 0 0 0 100.00% — 1" in text
    assert "事项none 0 0 0 10 — — 3" in text


# --- countersignatures, times and the QR code ------------------------------------------


def test_countersignatures_with_names_and_beijing_times(font: None) -> None:
    signed = [
        {"role": "presidium", "name": "王主任", "time": datetime(2026, 11, 25, 2, 40, tzinfo=UTC)},
        {
            "role": "scrutineer",
            "name": "李监票",
            "time": datetime(2026, 11, 25, 2, 41),
        },  # naive: UTC
        {"role": "scrutineer", "name": "赵监票", "time": "2026-11-25T02:42:00+00:00"},
    ]
    sheet = sheet_of(MOTION, countersignatures=signed)
    text = pdf_text(render_pdf(sheet))
    assert "主持人： 王主任 签署时间： 2026年11月25日 10:40:00" in text
    assert "监票人： 李监票 签署时间： 2026年11月25日 10:41:00" in text
    assert "监票人： 赵监票 签署时间： 2026年11月25日 10:42:00" in text
    rows = parse_html(render_html(sheet)).tables["signatures"]
    assert rows[0] == ["主持人：", "王主任", "签署时间：", "2026年11月25日 10:40:00"]


def test_blank_signature_lines_when_nobody_signed(font: None) -> None:
    sheet = sheet_of(MOTION)
    text = pdf_text(render_pdf(sheet))
    assert text.count("主持人： 签署时间：") == 1 and text.count("监票人： 签署时间：") == 2
    rows = parse_html(render_html(sheet)).tables["signatures"]
    assert rows == [["主持人：", "", "签署时间：", ""]] + [["监票人：", "", "签署时间：", ""]] * 2


def test_the_qr_code_decodes_to_the_sheet_code(font: None) -> None:
    code = a_code()
    payload = json.dumps(code, separators=(",", ":"), sort_keys=True)
    sheet = sheet_of(MOTION, code=code)
    assert decode_qr(qr_image(code)) == [payload]

    pdf = render_pdf(sheet)
    assert pdf_qr_codes(pdf) == [payload]
    assert json.loads(pdf_qr_codes(pdf)[0]) == code
    text = pdf_text(pdf)
    head = code["head"]
    assert f"size {head['size']}" in text and f"root {head['root']}" in text
    assert f"{head['size']}:{head['root']}" in text  # what `voting-audit verify --head` takes
    assert "表决编号 3 · 结果为审计日志第 120 条" in text
    assert "签名日志头（2026年11月25日 10:31:00）" in text

    html = render_html(sheet)
    assert html_qr_codes(html) == [payload]
    assert f"voting-audit verify DIR --head {head['size']}:{head['root']}" in html_text(html)
    save_artifact("sheet-motion-with-code", pdf)


def test_without_a_code_there_is_no_qr_code_but_a_note(font: None) -> None:
    sheet = sheet_of(MOTION, code=None)
    pdf = render_pdf(sheet)
    assert pdf_qr_codes(pdf) == []
    assert "暂无核验二维码" in pdf_text(pdf)
    html = render_html(sheet)
    assert parse_html(html).images == [] and "暂无核验二维码" in html_text(html)


def test_the_chinese_font_is_embedded(font: None) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(render_pdf(sheet_of(MOTION))))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font_dict = ref.get_object()
        for descendant in font_dict.get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            embedded += [k for k in ("/FontFile2", "/FontFile3") if k in descriptor]
    assert embedded, "no embedded CJK font"


def test_html_is_escaped_and_printable() -> None:
    sheet = sheet_of(MOTION, title="<script>alert(1)</script>", titles={"a": "甲&乙", "b": "<b>"})
    html = render_html(sheet)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert parse_html(html).tables["result"][1][0] == "甲&乙"
    assert "@media print" in html and "size: A4" in html and 'lang="zh-CN"' in html


# --- minutes ---------------------------------------------------------------------------


def all_kinds(shared_dir: Path) -> list[ResultSheet]:
    return [
        sheet_of(shared(shared_dir, "motion-regulation"), title="关于物业管理条例的决定", vote_id=1,
                 code=a_code(1, 40)),
        sheet_of(shared(shared_dir, "selection-livelihood"), title="民生实事项目票决", vote_id=2,
                 code=a_code(2, 80)),
        sheet_of(shared(shared_dir, "evaluation-departments"), title="专题询问满意度测评",
                 vote_id=3, manual=True),
        sheet_of(RUNOFF, title="补充票决", vote_id=4),
    ]  # fmt: skip


def test_the_minutes_collect_every_result(font: None, shared_dir: Path) -> None:
    votes = all_kinds(shared_dir)
    pdf = minutes_pdf(votes, SITTING, BODY)
    pages = pdf_pages(pdf)
    assert len(pages) >= 1 + len(votes)
    cover = pages[0]
    assert "表决结果汇总" in cover and BODY in cover and SITTING in cover
    assert "1 关于物业管理条例的决定 议案表决 通过" in cover
    assert "入选 9 项，1 个名额未选出" in cover
    assert "3 专题询问满意度测评" in cover and "人工计票" in cover
    assert "入选 1 项，3 项须再次投票" in cover
    text = "\n".join(pages[1:])
    # each sheet is titled by its kind (术语表: result.<kind>)
    assert text.count(f"{BODY}\n表决结果\n") == 1
    assert text.count(f"{BODY}\n票决结果\n") == 2
    assert text.count(f"{BODY}\n测评结果\n") == 1
    assert "（第 4 号）" in text
    assert sorted(pdf_qr_codes(pdf)) == sorted(
        json.dumps(s.code, separators=(",", ":"), sort_keys=True) for s in votes if s.code
    )
    save_artifact("minutes", pdf)

    html = minutes_html(votes, SITTING, BODY)
    page = parse_html(html)
    assert [r[1] for r in page.tables["summary"][1:]] == [s.title for s in votes]
    assert html.count('<section class="sheet') == len(votes)
    assert len(page.images) == 2


def test_empty_minutes(font: None) -> None:
    assert "没有已结束的表决" in pdf_text(minutes_pdf([], SITTING, BODY))
    assert "没有已结束的表决" in html_text(minutes_html([], SITTING, BODY))


# --- exports ---------------------------------------------------------------------------


def test_results_csv_and_xlsx_round_trip(shared_dir: Path) -> None:
    votes = all_kinds(shared_dir)
    data = results_csv(votes)
    assert data.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(data.removeprefix("\ufeff"))))
    assert len(rows) == 1 + 12 + 3 + 4
    motion = rows[0]
    assert (motion["表决编号"], motion["表决类型"], motion["编号"], motion["赞成"], motion["反对"],
            motion["弃权"], motion["需票数"], motion["通过"], motion["人工计票"]) == \
        ("1", "议案表决", "regulation", "40", "10", "3", "31", "是", "否")  # fmt: skip
    p09 = next(r for r in rows if r["编号"] == "p09")
    assert (p09["得票"], p09["入选"], p09["无效"], p09["需票数"]) == ("29", "否", "2", "31")
    assert "当选" not in motion and motion["已按"] == "53" and motion["无效"] == ""
    sports = next(r for r in rows if r["编号"] == "sports")
    assert (sports["满意率"], sports["测评结果"], sports["名次"], sports["人工计票"]) == \
        ("90.20", "满意", "3", "是")  # fmt: skip
    assert [r["须再次投票"] for r in rows if r["表决编号"] == "4"] == ["否", "是", "是", "是"]

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(results_xlsx(votes)))
    sheet = book.active
    assert sheet.title == "表决结果"
    values = list(sheet.values)
    assert values[0] == tuple(rows[0].keys())
    assert len(values) == 1 + len(rows)
    for read, written in zip(values[1:], rows, strict=True):
        assert ["" if v is None else str(v) for v in read] == list(written.values())
    assert isinstance(values[1][values[0].index("赞成")], int)


# --- the glossary's words (术语表: rules/glossary.py) -----------------------------------


NAMED_MOTION = {"members": 61, "present": 55, "vote": {"kind": "motion", "subjects": ["a"]},
                "ballots": [{"a": "yes"}] * 40 + [{"a": "no"}] * 10 + [{}] * 3}  # fmt: skip
SELECTION = {"members": 12, "present": 12,
             "vote": {"kind": "selection", "candidates": ["p", "q", "r"], "seats": 2},
             "ballots": [["p", "q"]] * 7 + [["r"]] * 4}  # fmt: skip


def test_each_sheet_is_titled_by_its_kind(font: None, shared_dir: Path) -> None:
    """表决结果 for a motion, 票决结果 for the livelihood ballot, 测评结果 for an evaluation:
    on the HTML sheet's heading and the PDF's, and in the PDF's document title."""
    from pypdf import PdfReader

    for scenario, heading in (
        (NAMED_MOTION, "表决结果"),
        (SELECTION, "票决结果"),
        (EVALUATION, "测评结果"),
    ):
        sheet = sheet_of(scenario)
        assert re.search(r"<h1>(.*?)</h1>", render_html(sheet)).group(1) == heading  # type: ignore[union-attr]
        pdf = render_pdf(sheet)
        assert pdf_text(pdf).split("\n")[:2] == [BODY, heading]
        assert PdfReader(io.BytesIO(pdf)).metadata.title == f"{heading} · 测试表决"  # type: ignore[union-attr]
    cover = pdf_pages(minutes_pdf([sheet_of(SELECTION)], SITTING, BODY))[0]
    assert "表决结果汇总" in cover  # the sitting's minutes


def test_the_four_figures_and_the_minimum_use_the_glossarys_words(font: None) -> None:
    sheet = sheet_of(NAMED_MOTION, secret=False)
    page = parse_html(render_html(sheet))
    assert page.tables["turnout"][0] == ["应到", "实到", "已按", "未按"]  # 已按, not 投票
    assert page.tables["result"][1][-2] == "不少于 31 票"
    text = pdf_text(render_pdf(sheet)) + html_text(render_html(sheet_of(SELECTION)))
    assert "投票 " not in text and "票以上" not in text and "当选" not in text
    assert "入选须得票不少于 7 票" in text  # 全体组成人员过半数 of 12


def test_invalid_is_shown_only_where_ballots_can_be_invalid(font: None) -> None:
    """A kiosk's motion or selection ballot is checked on arrival (a named vote's and a
    secret vote's alike): no 无效 column, note or export column. A paper count (人工计票)
    can have invalid ballots, and so can an evaluation (a department left unmarked)."""

    def heads(sheet: ResultSheet) -> list[str]:
        return parse_html(render_html(sheet)).tables["result"][0]

    def csv_head(sheet: ResultSheet) -> list[str]:
        return next(csv.reader(io.StringIO(results_csv([sheet]).removeprefix("\ufeff"))))

    named = sheet_of(NAMED_MOTION, secret=False)
    for electronic in (named, sheet_of(NAMED_MOTION, secret=True)):
        assert heads(electronic) == ["表决事项", "赞成", "反对", "弃权", "通过所需", "结果"]
        assert "无效" not in pdf_text(render_pdf(electronic))
        assert "无效" not in csv_head(electronic)
    paper = sheet_of(NAMED_MOTION, secret=False, manual=True)
    assert heads(paper) == ["表决事项", "赞成", "反对", "弃权", "无效", "通过所需", "结果"]
    assert "无效" in csv_head(paper) and "无效" in pdf_text(render_pdf(paper))
    # a sitting's export holds the column when one of its votes can have invalid ballots
    rows = list(csv.DictReader(io.StringIO(results_csv([named, paper]).removeprefix("\ufeff"))))
    assert [r["无效"] for r in rows] == ["", "0"]

    assert "无效票" not in html_text(render_html(sheet_of(SELECTION)))
    assert "无效票 0 张" in html_text(render_html(sheet_of(SELECTION, manual=True)))
    assert "无效" in heads(sheet_of(EVALUATION))  # electronic, yet a department can be unmarked


def test_a_livelihood_project_is_selected_on_sheets_and_exports() -> None:
    """入选 / 未入选, as on the screens: 当选 is for persons elected."""
    sheet = sheet_of(SELECTION, title="民生实事项目票决")
    rows = parse_html(render_html(sheet)).tables["result"]
    assert [r[3] for r in rows[1:]] == ["✓ 入选", "✓ 入选", "未入选"]
    data = results_csv([sheet])
    read = list(csv.DictReader(io.StringIO(data.removeprefix("\ufeff"))))
    assert [r["入选"] for r in read] == ["是", "是", "否"] and "当选" not in data
    from openpyxl import load_workbook

    header = next(load_workbook(io.BytesIO(results_xlsx([sheet]))).active.values)
    assert "入选" in header and "当选" not in header and "已按" in header


def test_attendance_csv_and_xlsx_round_trip() -> None:
    at = datetime(2026, 11, 25, 1, 0, 5, tzinfo=UTC)
    rows = [
        AttendanceRow(1, "张三", True, "kiosk_pin", at),
        AttendanceRow(2, "李四", True, "operator", at + timedelta(minutes=3)),
        AttendanceRow(3, "王五", False, None, None),
    ]
    data = attendance_csv(rows)
    assert data.startswith("\ufeff")
    read = list(csv.reader(io.StringIO(data.removeprefix("\ufeff"))))
    assert read == [
        ["座位号", "姓名", "签到", "签到方式", "签到时间"],
        ["1", "张三", "是", "表决器签到", "2026-11-25 09:00:05"],
        ["2", "李四", "是", "工作人员代签到", "2026-11-25 09:03:05"],
        ["3", "王五", "否", "", ""],
    ]
    from openpyxl import load_workbook

    values = list(load_workbook(io.BytesIO(attendance_xlsx(rows))).active.values)
    assert values[1] == (1, "张三", "是", "表决器签到", "2026-11-25 09:00:05")
    assert values[3] == (3, "王五", "否", None, None)
    # Excel reads a BOM-prefixed UTF-8 file as UTF-8
    assert data.encode("utf-8").startswith(b"\xef\xbb\xbf")


# --- without a font --------------------------------------------------------------------


def test_without_a_cjk_font_the_pdf_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOTING_CJK_FONT", raising=False)
    monkeypatch.setattr(sheets.pdf, "FONT_PATHS", ())  # the PDF module reads them
    sheet = sheet_of(MOTION)
    with pytest.raises(SheetError, match="fonts-wqy-microhei"):
        render_pdf(sheet)
    with pytest.raises(SheetError, match="fonts-wqy-microhei"):
        minutes_pdf([sheet], SITTING, BODY)
    assert "表决结果" in render_html(sheet)  # the HTML sheet needs no font file


def test_the_font_can_be_configured(
    font: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, index = sheets.cjk_font()
    monkeypatch.setattr(sheets.pdf, "FONT_PATHS", ())  # the PDF module reads them
    monkeypatch.setenv("VOTING_CJK_FONT", f"{path}#{index}")
    assert "事项a" in pdf_text(render_pdf(sheet_of(MOTION)))
    monkeypatch.setenv("VOTING_CJK_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(SheetError, match="no such font file"):
        render_pdf(sheet_of(MOTION))


# --- from the server's sheet to the offline check --------------------------------------


def run_vote(app: Flask, vote_id: int, ballots: dict[int, Any]) -> None:
    """Sign seats 1..40 in, open ``vote_id``, press ``ballots`` (seat → ballot) from kiosks, close."""
    kiosks = {seat: enroll_kiosk(app, seat) for seat in ballots}
    sign_in_by_staff(app, range(1, 41), {seat: k.device_id for seat, k in kiosks.items()})
    with app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), vote_id, 1, None)
    for seat, ballot in ballots.items():
        kiosk = kiosks[seat]
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
        return {v.kind: v.id for v in s.query(Vote).all()}


@pytest.mark.slow
def test_from_the_printed_sheet_to_the_log(font: None, live_app: Flask, tmp_path: Path) -> None:
    votes = vote_ids(live_app)
    run_vote(live_app, votes["motion"], {s: {"regulation": "yes"} for s in range(1, 34)})
    presidium = logged_in(live_app, StaffRole.PRESIDIUM)
    scrutineer = logged_in(live_app, StaffRole.SCRUTINEER)
    assert post_form(presidium.client, f"/results/votes/{votes['motion']}/countersign",
                     {"subject": "result"}).status_code == 302  # fmt: skip
    pdf = scrutineer.client.get(f"/results/votes/{votes['motion']}/sheet.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "表决结果：通过" in text and "赞成" in text
    assert re.search(r"主持人： 测试presidium 签署时间： \d{4}年", text), text
    save_artifact("sheet-server-motion", pdf.data)
    [code] = pdf_qr_codes(pdf.data)
    head = json.loads(code)["head"]
    assert f"{head['size']}:{head['root']}" in text

    bundle = tmp_path / "bundle"
    export_bundle(live_app.config["VOTING_DATABASE_URL"], bundle)
    checked = check_sheet(bundle, code, tmp_path)
    assert checked["manual"] is False and checked["head_logged"] is True
    assert checked["result"]["subjects"]["regulation"]["yes"] == 33
    assert checked["result"]["subjects"]["regulation"]["passed"] is True


@pytest.mark.slow
def test_a_paper_count_runs_through_the_same_path(
    font: None, live_app: Flask, tmp_path: Path
) -> None:
    votes = vote_ids(live_app)
    vote = votes["evaluation"]
    secretariat = logged_in(live_app, StaffRole.SECRETARIAT)
    presidium = logged_in(live_app, StaffRole.PRESIDIUM)
    first = logged_in(live_app, StaffRole.SCRUTINEER, "jianpiao-1")
    second = logged_in(live_app, StaffRole.SCRUTINEER, "jianpiao-2")
    # Before voting, the presidium designates the sitting's two scrutineers.
    designated = post_form(presidium.client, "/results/sittings/1/scrutineers", {
        "scrutineer": [str(first.account.id), str(second.account.id)], "basis": "经主任会议确定",
    })  # fmt: skip
    assert designated.status_code == 302
    # The electronic vote is held, fails, and the presidium cancels it with a reason.
    sign_in_by_staff(live_app, range(1, 53))
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), vote, presidium.account.id, None)
    console = staff_socket(live_app, presidium.client)
    cancelled = console.emit(
        "cancel_vote", {"vote": vote, "reason": "表决器网络故障，改为纸质表决"}, callback=True
    )
    assert cancelled["ok"], cancelled
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
    assert "人工计票（纸质表决）" in text and "83.33%" in text  # (30+10)/48
    html = first.client.get(f"/results/votes/{vote}/sheet").get_data(as_text=True)
    assert "人工计票（纸质表决）" in html_text(html)
    save_artifact("sheet-server-paper", pdf.data)
    [code] = pdf_qr_codes(pdf.data)
    assert html_qr_codes(html) == [code]
    bundle = tmp_path / "bundle"
    export_bundle(live_app.config["VOTING_DATABASE_URL"], bundle)
    checked = check_sheet(bundle, code, tmp_path)
    assert checked["manual"] is True
    assert checked["result"]["subjects"]["sports"]["satisfaction_rate"] == "83.33"
    minutes = first.client.get("/results/sittings/1/minutes.pdf")
    assert minutes.status_code == 200 and "表决结果汇总" in pdf_text(minutes.data)
    export = first.client.get("/results/sittings/1/results.csv")
    assert export.status_code == 200 and "civil-affairs" in export.data.decode("utf-8-sig")
    attendance_export = first.client.get("/results/sittings/1/attendance.xlsx")
    assert attendance_export.status_code == 200 and attendance_export.data[:2] == b"PK"


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
    sign_in_by_staff(live_app, range(1, 41), {5: kiosk.device_id})
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
        return [line.decode() for line in iter_lines(s, only_body_id(s))]


# --- exports are data, not code ----------------------------------------------------------

# Text a spreadsheet program would run as a formula (OWASP, CSV injection).
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def assert_inert_csv(data: str, hostile: list[str]) -> None:
    """Every hostile text is in the CSV as ``'`` + itself, and no cell starts a formula."""
    cells = [c for row in csv.reader(io.StringIO(data.removeprefix("\ufeff"))) for c in row]
    for text in hostile:
        assert "'" + text in cells, (text, cells)
    starts = ("=", "+", "@", "\t", "\r")
    assert not [c for c in cells if c.startswith(starts) or re.match(r"-\D", c)], cells
    # and the text fields are quoted, as OWASP asks: "'=HYPERLINK(""http://x"",""y"")"
    if hostile[0] in HOSTILE:
        assert '"\'=HYPERLINK(""http://x"",""y"")"' in data


def assert_inert_xlsx(data: bytes, hostile: list[str]) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
    for text in hostile:  # XML reads a CR back as LF (openpyxl does not escape it)
        assert "'" + text.replace("\r", "\n") in texts, (text, texts)
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@", "\t", "\r"))]
    return list(sheet.values)


def test_exports_write_formula_like_text_as_text(shared_dir: Path) -> None:
    """A vote, agenda item or candidate titled like a formula is exported as text; a
    member named like one too. Counts stay numbers."""
    motion = sheet_of(MOTION, title=HOSTILE[0], agenda_item=HOSTILE[1],
                      titles={"a": HOSTILE[2], "b": HOSTILE[3]}, vote_id=1)  # fmt: skip
    selection = sheet_of(RUNOFF, title=HOSTILE[4], agenda_item=HOSTILE[5],
                         titles={"p": HOSTILE[0], "q": "-", "r": "普通"}, vote_id=2)  # fmt: skip
    votes = [motion, selection]
    assert_inert_csv(results_csv(votes), HOSTILE)
    values = assert_inert_xlsx(results_xlsx(votes), HOSTILE)
    assert isinstance(values[1][values[0].index("赞成")], int)  # a count is still a number

    at = datetime(2026, 11, 25, 1, 0, 5, tzinfo=UTC)
    members = [
        AttendanceRow(i + 1, name, i % 2 == 0, "operator", at) for i, name in enumerate(HOSTILE)
    ]
    assert_inert_csv(attendance_csv(members), HOSTILE)
    values = assert_inert_xlsx(attendance_xlsx(members), HOSTILE)
    assert [row[0] for row in values[1:]] == [1, 2, 3, 4, 5, 6]

    # Only text is touched: a negative number is a number, not a formula.
    rows = [{"seat": -3, "name": "张三"}, {"seat": 2, "name": "a-b"}]
    read = list(csv.reader(io.StringIO(sheets.to_csv(rows, ("seat", "name")).decode("utf-8-sig"))))
    assert read[1:] == [["-3", "张三"], ["2", "a-b"]]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(sheets.to_xlsx(rows, ("seat", "name"), "t")))
    assert list(book.active.values)[1:] == [(-3, "张三"), (2, "a-b")]
    assert book.active["A2"].data_type == "n"


def test_the_attendance_export_of_a_hostile_name_is_text(live_app: Flask) -> None:
    """Through the server: a member renamed ``=HYPERLINK(...)`` in the roster."""
    from voting_server.models import Member

    with live_app.app_context(), write_transaction(sessions()) as session:
        for seat, name in enumerate(HOSTILE, start=1):
            member = session.query(Member).filter_by(body_id=body_id(live_app), seat=seat).one()
            member.name = name
    staff = logged_in(live_app, StaffRole.SECRETARIAT)
    csv_export = staff.client.get("/results/sittings/1/attendance.csv")
    assert csv_export.status_code == 200
    assert_inert_csv(csv_export.data.decode("utf-8-sig"), HOSTILE)
    xlsx_export = staff.client.get("/results/sittings/1/attendance.xlsx")
    assert xlsx_export.status_code == 200
    assert_inert_xlsx(xlsx_export.data, HOSTILE)


# --- the evaluation variants -----------------------------------------------------------


def _variant_sheet(name: str) -> ResultSheet:
    scenario = json.loads(
        (REPO / "tests" / "testdata" / "scenarios" / f"{name}.json").read_text(encoding="utf-8")
    )
    parsed = parse_scenario(json.dumps(scenario))
    result = tally(parsed.spec, parsed.members, parsed.present, list(parsed.ballots),
                   parsed.attending_ballots)  # fmt: skip
    return sheet_of(scenario, result=result, secret=False)


def test_a_score_evaluation_sheet_shows_means_and_the_pass_mark(font: None) -> None:
    sheet = _variant_sheet("evaluation-scores-pass-mark")
    text = pdf_text(render_pdf(sheet))
    assert "有效 无效 平均分 去掉最高分最低分 测评结果 名次" in text
    assert "事项shows-60 202 0 60.00 是 满意 2" in text
    assert "事项shows-59.99 202 0 59.99 是 不满意 3" in text
    assert "事项no-valid 0 202 — 否 不满意 4" in text
    rows = parse_html(render_html(sheet)).tables["result"]
    assert rows[0][:4] == ["测评对象", "有效", "无效", "平均分"]
    assert "总体满意率" not in text  # scores have no overall rate
    assert [r["mean"] for r in sheets.result_rows([sheet])] == ["60.00", "59.99", "60.00", None]


def test_a_three_grades_sheet_with_attending_deputies(font: None) -> None:
    sheet = _variant_sheet("evaluation-attending-all")
    text = pdf_text(render_pdf(sheet))
    assert "事项x 3 0 6 0 33.33% 不满意 2" in text  # decided on all
    assert "组成人员 3 0 3 0 50.00%" in text and "列席代表 0 0 3 0 0.00%" in text
    assert "总体满意率：66.67%" in text and "按全体的票确定" in text
    rows = sheets.result_rows([sheet])
    assert [r["group"] for r in rows] == [None, "组成人员", "列席代表", "全体"] * 2
    assert "overall_rate" in sheets.result_columns(rows)
    assert "mean" not in sheets.result_columns(rows)
