"""Result sheets (表决结果), sitting minutes and exports, rendered from plain data.

Pure: no database, no Flask, no clock, nothing fetched. A ``ResultSheet``
holds what one sheet prints — the shell builds it from the database
(``services.results.sheet_source`` → ``ResultSheet.from_source``) — and this
module renders it as

- a printable A4 HTML page (``render_html``; ``minutes_html`` for a sitting),
- a PDF with an embedded Chinese font (``render_pdf``; ``minutes_pdf``),
- CSV (UTF-8 with BOM, so Excel reads the Chinese) and XLSX exports of the
  results and of the attendance (``results_csv``, ``results_xlsx``,
  ``attendance_csv``, ``attendance_xlsx``). Every exported cell is data,
  never a formula (``inert_cell``: every CSV/XLSX writer goes through it).

HTML and PDF print the same content, taken from one place (``_SheetView``).
The QR code holds the sheet code of ``audit.evidence.sheet_code`` as compact
sorted JSON; under it the signed head is printed in text so that an auditor
can type it into ``voting-audit verify --head SIZE:ROOT``.

The PDF needs a CJK TrueType font on the machine (``$VOTING_CJK_FONT``, else
Debian's fonts-wqy-microhei / fonts-wqy-zenhei / fonts-noto-cjk paths); it is
embedded as a subset. Without one, ``SheetError`` says what to install; the
HTML sheet does not need it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import qrcode
import qrcode.constants
from fpdf import FPDF, FontFace
from fpdf.enums import TextMode, WrapMode
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from PIL.Image import Image

# The kinds' Chinese names, from their one home (sheets are official documents: never translated).
from voting_server.i18n import KIND_LABELS

BEIJING = timezone(timedelta(hours=8), "北京时间")

# (path, face index in a collection); the first that exists is used.
FONT_PATHS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # Debian fonts-wqy-microhei
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # Debian fonts-wqy-zenhei
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # fonts-noto-cjk, face SC
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),  # fonts-noto-cjk, face SC
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # Debian fonts-arphic-uming
)
FONT_ENV = "VOTING_CJK_FONT"
FONT_PACKAGE = "fonts-wqy-microhei"

ROLE_LABELS = {"presidium": "主持人", "scrutineer": "监票人"}
BLANK_SIGNATURES = {"presidium": 1, "scrutineer": 2}  # blank lines when nobody signed yet
OUTCOME_LABELS = {"satisfactory": "满意", "unsatisfactory": "不满意"}
STATUS_LABELS = {"decided": "有效", "no_quorum": "未达法定人数", "void": "表决无效"}
METHOD_LABELS = {"kiosk_pin": "表决器签到", "operator": "工作人员代签到"}
DASH = "—"
MANUAL_NOTE = "人工计票（纸质表决）：本结果由监票人监督下人工计票得出并录入系统。"
NO_CODE = "本结果尚未写入签名的日志检查点，暂无核验二维码；请在检查点生成后重新打印。"
CHECK = "✓"


class SheetError(RuntimeError):
    """A sheet cannot be rendered (e.g. no Chinese font on this machine for the PDF)."""


@dataclass(frozen=True)
class ResultSheet:
    """What one result sheet prints: plain data, no database objects.

    ``result`` is the engine's result dict (CONTRACTS.md §2, with the
    engine's extra keys); ``titles`` maps subject/candidate ids to display
    titles; ``countersignatures`` are ``{role: "presidium"|"scrutineer",
    name, time}``; ``code`` is ``audit.evidence.sheet_code(...)``, or None
    while the result is not yet under a signed head (no QR code then).
    """

    body: str  # 机构, e.g. "某某市人大常委会"
    sitting: str  # 会议
    agenda_item: str  # 议程
    title: str  # 表决事项
    kind: str  # "motion" | "selection" | "evaluation"
    secret: bool  # 无记名
    manual: bool  # 人工计票 (paper count)
    opened_at: datetime | None
    closed_at: datetime | None
    members: int  # 应到
    present: int  # 实到
    result: Mapping[str, Any]
    titles: Mapping[str, str] = field(default_factory=dict)
    seats: int | None = None  # selection: 应选名额
    countersignatures: Sequence[Mapping[str, Any]] = ()
    code: Mapping[str, Any] | None = None
    vote_id: int | None = None  # the vote's number; else taken from ``code``
    # 人工计票 whose 实到 differs from the sign-ins: the difference and its logged reason
    present_note: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KIND_LABELS:
            raise SheetError(f"kind must be one of {sorted(KIND_LABELS)}; got {self.kind!r}")
        key = "selection" if self.kind == "selection" else "subjects"
        if key not in self.result:
            raise SheetError(f"a {self.kind} result has {key!r}; got keys {sorted(self.result)}")

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> ResultSheet:
        """From ``services.results.sheet_source``'s dict (unknown keys are ignored)."""
        return cls(**{k: source[k] for k in cls.__dataclass_fields__ if k in source})

    @property
    def number(self) -> int | None:
        if self.vote_id is not None:
            return self.vote_id
        return self.code.get("vote") if self.code else None

    @property
    def status(self) -> str:
        """``decided`` | ``no_quorum`` | ``void`` (the engine's whole-vote outcome)."""
        if self.result.get("void"):
            return "void"
        if not self.result.get("quorum", True):
            return "no_quorum"
        return "decided"


# --- formatting ----------------------------------------------------------------------


def _local(when: datetime | str | None) -> datetime | None:
    """Beijing time; a naive datetime (as SQLite returns them) is UTC."""
    if when is None or when == "":
        return None
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(BEIJING)


def beijing_time(when: datetime | str | None, seconds: bool = True) -> str:
    local = _local(when)
    if local is None:
        return ""
    return local.strftime("%Y年%m月%d日 %H:%M:%S" if seconds else "%Y年%m月%d日 %H:%M")


def _period(opened: datetime | None, closed: datetime | None) -> str:
    start, end = _local(opened), _local(closed)
    if start is None and end is None:
        return DASH
    if start is None or end is None:
        only = start or end
        assert only is not None
        return f"{only:%Y年%m月%d日 %H:%M:%S}（北京时间）"
    tail = f"{end:%H:%M:%S}" if end.date() == start.date() else f"{end:%Y年%m月%d日 %H:%M:%S}"
    return f"{start:%Y年%m月%d日 %H:%M:%S} 至 {tail}（北京时间）"


def _rate(rate: str | None) -> str:
    return DASH if rate is None else f"{rate}%"


def code_payload(code: Mapping[str, Any]) -> str:
    """The text a sheet's QR code holds: the sheet code as compact, sorted JSON."""
    return json.dumps(code, separators=(",", ":"), sort_keys=True)


def qr_image(code: Mapping[str, Any], box_size: int = 6) -> Image:
    """The QR code of a sheet code, as a PIL image (medium error correction)."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    qr.add_data(code_payload(code))
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def _png(image: Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- what a sheet shows (shared by HTML and PDF) -------------------------------------


@dataclass(frozen=True)
class _Table:
    head: list[str]
    rows: list[list[str]]
    marks: list[str]  # per row: "pass" | "fail" | "selected" | "runoff" | ""
    widths: list[float]  # relative column widths (PDF)


@dataclass(frozen=True)
class _Signature:
    role: str
    name: str
    time: str


@dataclass(frozen=True)
class _SheetView:
    """Everything a sheet prints, as strings, in order."""

    sheet: ResultSheet
    kind_label: str
    ballot_label: str  # 记名表决 | 无记名表决
    count_label: str  # 电子表决 | 人工计票（纸质表决）
    period: str
    turnout: list[tuple[str, int]]
    alert: tuple[str, str] | None  # (headline, detail) when nothing was decided
    verdict: str | None  # single-subject motion: 通过 | 未通过
    table: _Table
    notes: list[str]
    signatures: list[_Signature]
    qr_png: bytes | None
    code: Mapping[str, Any] | None
    head_time: str  # of the signed head, Beijing time

    @property
    def head(self) -> Mapping[str, Any]:
        return (self.code or {}).get("head") or {}

    @property
    def head_text(self) -> str | None:
        """The signed head as ``SIZE:ROOT``, for ``voting-audit verify --head``."""
        return None if self.code is None else f"{self.head.get('size')}:{self.head.get('root')}"

    @property
    def qr_data_uri(self) -> str | None:
        if self.qr_png is None:
            return None
        return "data:image/png;base64," + base64.b64encode(self.qr_png).decode("ascii")

    @property
    def summary(self) -> str:
        """One line for the minutes' list of votes."""
        s, r = self.sheet, self.sheet.result
        if self.alert is not None:
            return self.alert[0]
        if s.kind == "motion":
            return "；".join(
                f"{s.titles.get(k, k)} {'通过' if c['passed'] else '未通过'}"
                if len(r["subjects"]) > 1
                else ("通过" if c["passed"] else "未通过")
                for k, c in r["subjects"].items()
            )
        if s.kind == "selection":
            sel = r["selection"]
            parts = [f"当选 {len(sel['selected'])} 项"]
            if sel.get("runoff"):
                parts.append(f"{len(sel['runoff']['candidates'])} 项需再次投票")
            if sel.get("unfilled"):
                parts.append(f"{sel['unfilled']} 个名额未选出")
            return "，".join(parts)
        outcomes = [c.get("outcome") for c in r["subjects"].values()]
        bad = sum(1 for o in outcomes if o == "unsatisfactory")
        return (
            f"{len(outcomes)} 个部门测评，{bad} 个不满意"
            if bad
            else f"{len(outcomes)} 个部门测评均为满意"
        )


def _alert(sheet: ResultSheet) -> tuple[str, str] | None:
    r = sheet.result
    if sheet.status == "void":
        detail = (
            f"收回选票 {r.get('cast', 0)} 张，多于实到 {sheet.present} 人"
            "（收回的选票多于发出的选票，表决无效），本次表决须重新进行。"
        )
        if r.get("reason"):
            detail += f" 原因：{r['reason']}"
        return "表决无效", detail
    if sheet.status == "no_quorum":
        return (
            "未达法定人数",
            f"实到 {sheet.present} 人，未达到法定出席人数（应到 {sheet.members} 人），"
            "表决结果不生效，所有事项均未通过。",
        )
    return None


def _motion(sheet: ResultSheet) -> tuple[_Table, list[str], str | None]:
    rows, marks = [], []
    subjects = sheet.result["subjects"]
    for sid, c in subjects.items():
        passed = bool(c["passed"])
        rows.append(
            [
                sheet.titles.get(sid, sid),
                str(c["yes"]),
                str(c["no"]),
                str(c["abstain"]),
                str(c["invalid"]),
                f"需 {c['required']} 票",
                "通过" if passed else "未通过",
            ]
        )
        marks.append("pass" if passed else "fail")
    table = _Table(
        ["表决事项", "赞成", "反对", "弃权", "无效", "通过所需", "表决结果"],
        rows,
        marks,
        [5, 1.3, 1.3, 1.3, 1.3, 1.9, 1.9],
    )
    verdict = None
    if len(subjects) == 1 and sheet.status == "decided":
        verdict = rows[0][-1]
    notes = ["赞成票达到通过所需票数的为通过；未按表决器的不计入赞成、反对、弃权。"]
    return table, notes, verdict


def _selection(sheet: ResultSheet) -> tuple[_Table, list[str]]:
    sel = sheet.result["selection"]
    votes: Mapping[str, int] = sel["votes"]
    selected = list(sel.get("selected") or [])
    runoff = sel.get("runoff") or None
    in_runoff = set(runoff["candidates"]) if runoff else set()
    seats = sheet.seats
    if seats is None:
        seats = len(selected) + (runoff["seats"] if runoff else 0) + int(sel.get("unfilled") or 0)
    # most votes first; equal votes keep the ballot order (as the engine does)
    order = sorted(votes, key=lambda c: -votes[c])
    rows, marks = [], []
    for i, cid in enumerate(order, start=1):
        if cid in selected:
            outcome, mark = f"{CHECK} 当选", "selected"
        elif cid in in_runoff:
            outcome, mark = "需再次投票", "runoff"
        else:
            outcome, mark = "未当选", ""
        rows.append([str(i), sheet.titles.get(cid, cid), str(votes[cid]), outcome])
        marks.append(mark)
    table = _Table(["序号", "候选项目", "得票", "结果"], rows, marks, [0.9, 7, 1.4, 2])
    notes = [
        f"应选 {seats} 项，候选 {len(votes)} 项；当选须得票不少于 {sel['required']} 票；"
        f"无效票 {sel['invalid']} 张；当选 {len(selected)} 项。"
    ]
    if runoff:
        names = "、".join(sheet.titles.get(c, c) for c in runoff["candidates"])
        tied = votes[runoff["candidates"][0]]
        notes.append(
            f"需再次投票：{names} 得票相同（{tied} 票），跨越末位名额，"
            f"须就剩余 {runoff['seats']} 个名额再次投票。"
        )
    if sel.get("unfilled"):
        line = f"尚有 {sel['unfilled']} 个名额未选出"
        if sel.get("next_round_candidates"):
            line += (
                f"，可在未当选的 {len(sel['next_round_candidates'])} 个候选项目中"
                "按得票多少为序另行投票"
            )
        notes.append(line + "。")
    return table, notes


def _evaluation(sheet: ResultSheet) -> tuple[_Table, list[str]]:
    rows, marks = [], []
    subjects = sheet.result["subjects"]
    for sid, c in subjects.items():
        outcome = c.get("outcome")
        rank = c.get("rank")
        rows.append(
            [
                sheet.titles.get(sid, sid),
                str(c["satisfied"]),
                str(c["basic"]),
                str(c["unsatisfied"]),
                str(c["invalid"]),
                _rate(c.get("satisfaction_rate")),
                OUTCOME_LABELS.get(outcome, DASH),
                DASH if rank is None else str(rank),
            ]
        )
        marks.append({"satisfactory": "pass", "unsatisfactory": "fail"}.get(outcome, ""))
    table = _Table(
        ["测评对象", "满意", "基本满意", "不满意", "无效", "满意率", "测评结果", "名次"],
        rows,
        marks,
        [4.2, 1.1, 1.5, 1.3, 1.1, 1.6, 1.6, 1.1],
    )
    notes = ["满意率 =（满意 + 基本满意）÷ 有效票；未选择或多选择的为无效票，不计入满意率。"]
    required = {c["unsatisfied_required"] for c in subjects.values() if "unsatisfied_required" in c}
    if len(required) == 1:
        notes.append(f"不满意票达到 {required.pop()} 票的，测评结果为不满意。")
    return table, notes


def _signatures(sheet: ResultSheet) -> list[_Signature]:
    out = []
    for role in ("presidium", "scrutineer"):
        signed = [c for c in sheet.countersignatures if c.get("role") == role]
        for c in signed:
            out.append(
                _Signature(ROLE_LABELS[role], str(c.get("name") or ""), beijing_time(c.get("time")))
            )
        if not signed:
            out.extend(_Signature(ROLE_LABELS[role], "", "") for _ in range(BLANK_SIGNATURES[role]))
    return out


def _view(sheet: ResultSheet) -> _SheetView:
    r = sheet.result
    verdict = None
    if sheet.kind == "motion":
        table, notes, verdict = _motion(sheet)
    elif sheet.kind == "selection":
        table, notes = _selection(sheet)
    else:
        table, notes = _evaluation(sheet)
    code = sheet.code
    head: Mapping[str, Any] = (code.get("head") or {}) if code is not None else {}
    return _SheetView(
        sheet=sheet,
        kind_label=KIND_LABELS[sheet.kind],
        ballot_label="无记名表决" if sheet.secret else "记名表决",
        count_label="人工计票（纸质表决）" if sheet.manual else "电子表决",
        period=_period(sheet.opened_at, sheet.closed_at),
        turnout=[
            ("应到", sheet.members),
            ("实到", sheet.present),
            ("投票", int(r.get("cast", 0))),
            ("未按", int(r.get("not_voted", 0))),
        ],
        alert=_alert(sheet),
        verdict=verdict,
        table=table,
        notes=[*notes, sheet.present_note] if sheet.present_note else notes,
        signatures=_signatures(sheet),
        qr_png=_png(qr_image(code)) if code is not None else None,
        code=code,
        head_time=beijing_time(head.get("time")) or str(head.get("time") or ""),
    )


# --- HTML ----------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("voting_server", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(no_code=NO_CODE, manual_note=MANUAL_NOTE)


def render_html(sheet: ResultSheet, nonce: str = "") -> str:
    """The printable A4 result sheet of one vote. ``nonce``: the serving page's
    Content-Security-Policy nonce (views/security.py); none for a file on its own."""
    return _env.get_template("sheets/sheet.html").render(v=_view(sheet), nonce=nonce)


def minutes_html(
    sheets: Sequence[ResultSheet], sitting_title: str, body_name: str, nonce: str = ""
) -> str:
    """The sitting's minutes: a list of every vote, then each result sheet on its own page."""
    return _env.get_template("sheets/minutes.html").render(
        views=[_view(s) for s in sheets], sitting=sitting_title, body=body_name, nonce=nonce
    )


# --- PDF -----------------------------------------------------------------------------


def cjk_font() -> tuple[Path, int]:
    """A Chinese TrueType font on this machine and its face index: $VOTING_CJK_FONT, else Debian's."""
    configured = os.environ.get(FONT_ENV, "").strip()
    if configured:
        path, _, index = configured.partition("#")  # "font.ttc#2" picks a face of a collection
        if not Path(path).is_file():
            raise SheetError(f"{FONT_ENV}={configured}: no such font file")
        return Path(path), int(index or 0)
    for path, index in FONT_PATHS:
        if Path(path).is_file():
            return Path(path), index
    raise SheetError(
        "没有中文字体，无法生成 PDF（HTML 表决结果单仍可打印）。"
        f"No CJK font found: install the Debian package {FONT_PACKAGE} "
        f"(apt-get install {FONT_PACKAGE}), or set {FONT_ENV} to a .ttf/.ttc file."
    )


RED = (179, 0, 12)
BLACK = (0, 0, 0)
GREY = (90, 90, 90)
HEAD_FILL = (242, 242, 242)
FONT = "cjk"
MONO = "Courier"  # a PDF core font: hex digits only, nothing to embed


class _PDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        with self.local_context(font_family=FONT, font_size_pt=8, text_color=GREY):
            self.set_y(-12)
            self.cell(0, 5, f"{self.footer_text}　第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


def _new_pdf(title: str, footer: str) -> _PDF:
    path, index = cjk_font()
    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.footer_text = footer
    pdf.set_margins(18, 14, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    try:
        pdf.add_font(FONT, "", str(path), collection_font_number=index)
    except Exception as exc:  # a broken or unsupported font file
        raise SheetError(f"cannot use the font {path} (face {index}) for the PDF: {exc}") from exc
    pdf.set_font(FONT, size=11)
    pdf.set_title(title)
    pdf.set_creator("congress-voting 电子表决系统")
    pdf.set_lang("zh-CN")
    return pdf


def _text(
    pdf: _PDF,
    text: str,
    size: float = 11,
    h: float = 6.5,
    color: tuple[int, int, int] = BLACK,
    align: str = "L",
    heavy: bool = False,
    width: float = 0,
    font: str = FONT,
) -> None:
    """A paragraph, wrapped at any character (Chinese has no spaces between words).

    ``heavy``: bold-looking (the font has no bold face: its glyphs are filled and stroked).
    """
    style: dict[str, Any] = {"font_family": font, "font_size_pt": size, "text_color": color}
    if heavy:
        style |= {"text_mode": TextMode.FILL_STROKE, "draw_color": color, "line_width": size / 70}
    with pdf.local_context(**style):
        pdf.multi_cell(
            width, h, text, align=align, wrapmode=WrapMode.CHAR, new_x="LEFT", new_y="NEXT"
        )


def _ensure_room(pdf: _PDF, height: float) -> None:
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()


def _pdf_sheet(pdf: _PDF, v: _SheetView) -> None:
    s = v.sheet
    pdf.add_page()
    _text(pdf, s.body, size=12, h=6)
    _text(pdf, "表决结果", size=22, h=11, color=RED, align="C", heavy=True)
    with pdf.local_context(draw_color=RED, line_width=0.8):
        pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.ln(4)

    number = f"（第 {s.number} 号）" if s.number is not None else ""
    info = [
        ("会　　议", s.sitting),
        ("议　　程", s.agenda_item),
        ("表决事项", f"{s.title}{number}"),
        ("表决方式", f"{v.kind_label} · {v.ballot_label} · {v.count_label}"),
        ("表决时间", v.period),
    ]
    label_w = 24
    for label, value in info:
        y = pdf.get_y()
        _text(pdf, label, color=GREY, width=label_w)
        pdf.set_xy(pdf.l_margin + label_w, y)
        _text(pdf, value, heavy=label == "表决事项")
        pdf.set_x(pdf.l_margin)
    if s.manual:
        pdf.ln(1)
        with pdf.local_context(fill_color=(255, 236, 236), draw_color=RED, line_width=0.5):
            _text(pdf, MANUAL_NOTE, h=8, color=RED, align="C", heavy=True)
            # the box around it
            pdf.rect(pdf.l_margin, pdf.get_y() - 8, pdf.epw, 8)
    pdf.ln(2)

    # 应到 / 实到 / 投票 / 未按
    with pdf.table(
        text_align="CENTER",
        line_height=7,
        headings_style=FontFace(emphasis=None, fill_color=HEAD_FILL),
    ) as table:
        table.row([label for label, _ in v.turnout])
        row = table.row()
        for _, value in v.turnout:
            row.cell(str(value), style=FontFace(size_pt=16))
    pdf.ln(1)

    if v.alert is not None:
        _text(pdf, v.alert[0], size=18, h=10, color=RED, align="C", heavy=True)
        _text(pdf, v.alert[1], size=10.5, h=6, color=RED)
        pdf.ln(2)
    elif v.verdict is not None:
        color = BLACK if v.verdict == "通过" else RED
        _text(pdf, f"表决结果：{v.verdict}", size=18, h=10, color=color, align="C", heavy=True)

    rows = v.table.rows
    compact = len(rows) > 10
    left = 1 if s.kind == "selection" else 0
    with (
        pdf.local_context(font_family=FONT, font_size_pt=9.5 if compact else 11),
        pdf.table(
            col_widths=v.table.widths,
            text_align=["LEFT" if i == left else "CENTER" for i in range(len(v.table.head))],
            line_height=5.5 if compact else 7,
            padding=(0.6 if compact else 1, 1.5),
            wrapmode=WrapMode.CHAR,
            headings_style=FontFace(emphasis=None, fill_color=HEAD_FILL),
        ) as table,
    ):
        table.row(v.table.head)
        for cells, mark in zip(rows, v.table.marks, strict=True):
            row = table.row()
            for i, cell in enumerate(cells):
                red = mark in {"fail", "runoff"} and (i == len(cells) - 1 or mark == "runoff")
                row.cell(cell, style=FontFace(color=RED) if red else None)
    for note in v.notes:
        _text(pdf, note, size=9, h=5, color=GREY)
    pdf.ln(3)

    # the countersignatures and the QR code stay together, on a new page if need be
    sig_h, qr_size = 8.5, 42
    _ensure_room(pdf, 7 + sig_h * len(v.signatures) + 4 + qr_size)
    _text(pdf, "会签", h=7, heavy=True)
    for sig in v.signatures:
        y = pdf.get_y()
        pdf.cell(22, sig_h, f"{sig.role}：")
        x = pdf.get_x()
        pdf.cell(60, sig_h, sig.name)
        pdf.cell(24, sig_h, "签署时间：")
        pdf.cell(0, sig_h, sig.time)
        if not sig.name:
            pdf.line(x, y + sig_h - 1, x + 55, y + sig_h - 1)
            pdf.line(x + 84, y + sig_h - 1, pdf.w - pdf.r_margin, y + sig_h - 1)
        pdf.ln(sig_h)
    pdf.ln(4)

    top = pdf.get_y()
    if v.code is None:
        _text(pdf, NO_CODE, size=9.5, h=5.5, color=GREY)
        return
    assert v.qr_png is not None
    pdf.image(io.BytesIO(v.qr_png), x=pdf.l_margin, y=top, w=qr_size, h=qr_size)
    x = pdf.l_margin + qr_size + 4
    width = pdf.w - pdf.r_margin - x
    pdf.set_xy(x, top + 1)
    for line, mono in (
        ("核验：扫描二维码，用导出的审计日志离线核对本结果（voting-audit check-sheet）", False),
        (
            f"表决编号 {v.code.get('vote')} · 结果为审计日志第 {v.code.get('result_entry')} 条",
            False,
        ),
        (f"签名日志头（{v.head_time}）：", False),
        (f"size {v.head.get('size')}", True),
        (f"root {v.head.get('root')}", True),
        ("手工输入：voting-audit verify DIR --head", False),
        (v.head_text or "", True),
    ):
        if mono:
            _text(pdf, line, size=7.5, h=4.4, width=width, font=MONO)
        else:
            _text(pdf, line, size=9, h=5.2, width=width)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top + qr_size) + 2)


def _output(pdf: _PDF) -> bytes:
    return bytes(pdf.output())


def render_pdf(sheet: ResultSheet) -> bytes:
    """The result sheet of one vote as PDF (A4, Chinese font embedded). Raises SheetError without a font."""
    pdf = _new_pdf(f"表决结果 · {sheet.title}", f"{sheet.body} · {sheet.sitting}")
    _pdf_sheet(pdf, _view(sheet))
    return _output(pdf)


def minutes_pdf(sheets: Sequence[ResultSheet], sitting_title: str, body_name: str) -> bytes:
    """The sitting's minutes as PDF: the list of votes, then every result sheet."""
    views = [_view(s) for s in sheets]
    pdf = _new_pdf(f"表决结果汇总 · {sitting_title}", f"{body_name} · {sitting_title}")
    pdf.add_page()
    _text(pdf, body_name, size=13, h=7, align="C")
    _text(pdf, sitting_title, size=16, h=9, align="C", heavy=True)
    _text(pdf, "表决结果汇总", size=22, h=12, color=RED, align="C", heavy=True)
    pdf.ln(4)
    if not views:
        _text(pdf, "本次会议没有已结束的表决。")
    else:
        with pdf.table(
            col_widths=[1, 5, 2.4, 4.6],
            text_align=["CENTER", "LEFT", "CENTER", "LEFT"],
            line_height=7,
            wrapmode=WrapMode.CHAR,
            headings_style=FontFace(emphasis=None, fill_color=HEAD_FILL),
        ) as table:
            table.row(["序号", "表决事项", "方式", "结果"])
            for i, v in enumerate(views, start=1):
                mode = v.kind_label + ("\n人工计票" if v.sheet.manual else "")
                table.row([str(i), v.sheet.title, mode, v.summary])
    for v in views:
        _pdf_sheet(pdf, v)
    return _output(pdf)


# --- exports -------------------------------------------------------------------------

RESULT_COLUMNS = (
    "vote",
    "vote_title",
    "agenda_item",
    "kind",
    "secret",
    "manual",
    "status",
    "subject",
    "title",
    "members",
    "present",
    "cast",
    "not_voted",
    "yes",
    "no",
    "abstain",
    "satisfied",
    "basic",
    "unsatisfied",
    "invalid",
    "votes",
    "required",
    "passed",
    "selected",
    "runoff",
    "satisfaction_rate",
    "outcome",
    "rank",
)
COLUMN_LABELS = {
    "vote": "表决编号",
    "vote_title": "表决事项",
    "agenda_item": "议程",
    "kind": "表决类型",
    "secret": "无记名",
    "manual": "人工计票",
    "status": "表决状态",
    "subject": "编号",
    "title": "名称",
    "members": "应到",
    "present": "实到",
    "cast": "投票",
    "not_voted": "未按",
    "yes": "赞成",
    "no": "反对",
    "abstain": "弃权",
    "satisfied": "满意",
    "basic": "基本满意",
    "unsatisfied": "不满意",
    "invalid": "无效",
    "votes": "得票",
    "required": "需票数",
    "passed": "通过",
    "selected": "当选",
    "runoff": "需再次投票",
    "satisfaction_rate": "满意率",
    "outcome": "测评结果",
    "rank": "名次",
    "seat": "座位号",
    "name": "姓名",
    "signed_in": "签到",
    "method": "签到方式",
    "time": "签到时间",
}
ATTENDANCE_COLUMNS = ("seat", "name", "signed_in", "method", "time")


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def result_rows(sheets: Iterable[ResultSheet]) -> list[dict[str, Any]]:
    """One row per subject or candidate of every sheet, keyed by RESULT_COLUMNS.

    Counts are ints; flags are 是/否; labels are Chinese; blanks are None.
    """
    rows: list[dict[str, Any]] = []
    for sheet in sheets:
        r = sheet.result
        base = {
            "vote": sheet.number,
            "vote_title": sheet.title,
            "agenda_item": sheet.agenda_item,
            "kind": KIND_LABELS[sheet.kind],
            "secret": _yes_no(sheet.secret),
            "manual": _yes_no(sheet.manual),
            "status": STATUS_LABELS[sheet.status],
            "members": sheet.members,
            "present": sheet.present,
            "cast": r.get("cast"),
            "not_voted": r.get("not_voted"),
        }
        if sheet.kind == "selection":
            sel = r["selection"]
            runoff = set((sel.get("runoff") or {}).get("candidates", ()))
            for cid, votes in sel["votes"].items():
                rows.append(
                    {
                        **base,
                        "subject": cid,
                        "title": sheet.titles.get(cid, cid),
                        "invalid": sel["invalid"],
                        "votes": votes,
                        "required": sel["required"],
                        "selected": _yes_no(cid in sel["selected"]),
                        "runoff": _yes_no(cid in runoff),
                    }
                )
        elif sheet.kind == "motion":
            for sid, c in r["subjects"].items():
                rows.append(
                    {
                        **base,
                        "subject": sid,
                        "title": sheet.titles.get(sid, sid),
                        "yes": c["yes"],
                        "no": c["no"],
                        "abstain": c["abstain"],
                        "invalid": c["invalid"],
                        "required": c["required"],
                        "passed": _yes_no(c["passed"]),
                    }
                )
        else:
            for sid, c in r["subjects"].items():
                rows.append(
                    {
                        **base,
                        "subject": sid,
                        "title": sheet.titles.get(sid, sid),
                        "satisfied": c["satisfied"],
                        "basic": c["basic"],
                        "unsatisfied": c["unsatisfied"],
                        "invalid": c["invalid"],
                        "required": c.get("unsatisfied_required"),
                        "satisfaction_rate": c.get("satisfaction_rate"),
                        "outcome": OUTCOME_LABELS.get(c.get("outcome")),
                        "rank": c.get("rank"),
                    }
                )
    return [{c: row.get(c) for c in RESULT_COLUMNS} for row in rows]


@dataclass(frozen=True)
class AttendanceRow:
    """One member's attendance at a sitting (签到)."""

    seat: int
    name: str
    signed_in: bool
    method: str | None = None  # "kiosk_pin" | "operator"
    time: datetime | None = None


def attendance_rows(rows: Iterable[AttendanceRow]) -> list[dict[str, Any]]:
    """Attendance rows keyed by ATTENDANCE_COLUMNS, times in Beijing time."""
    out = []
    for r in rows:
        local = _local(r.time)
        out.append(
            {
                "seat": r.seat,
                "name": r.name,
                "signed_in": _yes_no(r.signed_in),
                "method": METHOD_LABELS.get(r.method or "", r.method),
                "time": local.strftime("%Y-%m-%d %H:%M:%S") if local else None,
            }
        )
    return out


# A text cell starting with one of these is read as a formula by spreadsheet programs
# (=HYPERLINK(...), +1, -2+3, @SUM(...)); tab and CR start one in some of them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """``value`` as an exported cell that is data, never code (OWASP, CSV injection).

    Text that starts like a formula gets a leading ``'``, so that it shows as
    the text it is; numbers stay numbers (a negative count is not a formula).
    The one home of this rule: every CSV and XLSX writer calls it.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_writer(stream: Any) -> Any:
    """A csv writer for exports: every text field quoted (numbers are not); pass each
    row through ``inert_row``."""
    return csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)


def inert_row(values: Iterable[Any]) -> list[Any]:
    return [inert_cell(v) for v in values]


def _csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(inert_row(COLUMN_LABELS.get(c, c) for c in columns))
    for row in rows:
        writer.writerow(inert_row("" if row.get(c) is None else row.get(c) for c in columns))
    return "\ufeff" + out.getvalue()


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """CSV bytes, UTF-8 with a BOM (so that Excel opens the Chinese correctly), Chinese headers."""
    return _csv_text(rows, columns).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str) -> bytes:
    """One worksheet named ``title``, Chinese headers, frozen header row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    ws = book.active
    ws.title = title[:31]
    ws.append(inert_row(COLUMN_LABELS.get(c, c) for c in columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F2F2F2")
    for row in rows:
        ws.append(inert_row(row.get(c) for c in columns))
    for line in ws.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, whatever it looks like: never a formula ("f")
    ws.freeze_panes = "A2"
    for i, c in enumerate(columns, start=1):
        longest = max((len(str(row.get(c) or "")) for row in rows), default=0)
        width = max(len(COLUMN_LABELS.get(c, c)) * 2 + 2, min(longest * 2 + 2, 40))
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def results_csv(sheets: Iterable[ResultSheet]) -> str:
    """The results of ``sheets``, one row per subject or candidate; starts with a BOM."""
    return _csv_text(result_rows(sheets), RESULT_COLUMNS)


def results_xlsx(sheets: Iterable[ResultSheet]) -> bytes:
    return to_xlsx(result_rows(sheets), RESULT_COLUMNS, "表决结果")


def attendance_csv(rows: Iterable[AttendanceRow]) -> str:
    """The attendance, one row per member; starts with a BOM."""
    return _csv_text(attendance_rows(rows), ATTENDANCE_COLUMNS)


def attendance_xlsx(rows: Iterable[AttendanceRow]) -> bytes:
    return to_xlsx(attendance_rows(rows), ATTENDANCE_COLUMNS, "签到")
