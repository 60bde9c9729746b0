"""The result sheet and the sitting's minutes as PDF (fpdf2), with an embedded Chinese font.

The PDF needs a CJK TrueType font on the machine (``$VOTING_CJK_FONT``, else
Debian's fonts-wqy-microhei / fonts-wqy-zenhei / fonts-noto-cjk paths); it is
embedded as a subset. Without one, ``SheetError`` says what to install; the
HTML sheet does not need it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TextMode, WrapMode

from rules.glossary import term
from rules.kinds import SheetTable
from voting_server.sheets.model import (
    MANUAL_NOTE,
    NO_CODE,
    ResultSheet,
    SheetError,
    SheetView,
    sheet_view,
)

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


def _pdf_sheet(pdf: _PDF, v: SheetView) -> None:
    s = v.sheet
    pdf.add_page()
    _text(pdf, s.body, size=12, h=6)
    _text(pdf, v.heading, size=22, h=11, color=RED, align="C", heavy=True)
    with pdf.local_context(draw_color=RED, line_width=0.8):
        pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.ln(4)

    number = f"（第 {s.number} 号）" if s.number is not None else ""
    info = [
        ("会　　议", s.sitting, False),
        ("议　　程", s.agenda_item, False),
        (term("col.subject"), f"{s.title}{number}", True),
        (f"{v.act}方式", f"{v.kind_label} · {v.ballot_label} · {v.count_label}", False),
        (f"{v.act}时间", v.period, False),
    ]
    label_w = 24
    for label, value, heavy in info:
        y = pdf.get_y()
        _text(pdf, label, color=GREY, width=label_w)
        pdf.set_xy(pdf.l_margin + label_w, y)
        _text(pdf, value, heavy=heavy)
        pdf.set_x(pdf.l_margin)
    if s.manual:
        pdf.ln(1)
        with pdf.local_context(fill_color=(255, 236, 236), draw_color=RED, line_width=0.5):
            _text(pdf, MANUAL_NOTE, h=8, color=RED, align="C", heavy=True)
            # the box around it
            pdf.rect(pdf.l_margin, pdf.get_y() - 8, pdf.epw, 8)
    pdf.ln(2)

    # 应到 / 实到 / 已按 / 未按
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
        color = BLACK if v.passed else RED
        _text(pdf, f"{v.heading}：{v.verdict}", size=18, h=10, color=color, align="C", heavy=True)

    _pdf_table(pdf, v.table)
    for note in v.notes:
        _text(pdf, note, size=9, h=5, color=GREY)
    pdf.ln(3)
    if v.breakdown is not None:  # 分团表决情况: named votes of a roster with delegations
        _ensure_room(pdf, 7 + 7 * 3)
        _text(pdf, v.breakdown_title, h=7, heavy=True)
        _pdf_table(pdf, v.breakdown)
        for note in v.breakdown.notes:
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


def _pdf_table(pdf: _PDF, sheet_table: SheetTable) -> None:
    """A sheet's table: heads shaded, a failed or runoff row's outcome in red."""
    rows = sheet_table.rows
    compact = len(rows) > 10 or len(sheet_table.head) > 9
    left = sheet_table.name_column
    with (
        pdf.local_context(font_family=FONT, font_size_pt=9.5 if compact else 11),
        pdf.table(
            col_widths=sheet_table.widths,
            text_align=["LEFT" if i == left else "CENTER" for i in range(len(sheet_table.head))],
            line_height=5.5 if compact else 7,
            padding=(0.6 if compact else 1, 1.5),
            wrapmode=WrapMode.CHAR,
            headings_style=FontFace(emphasis=None, fill_color=HEAD_FILL),
        ) as table,
    ):
        table.row(sheet_table.head)
        for cells, mark in zip(rows, sheet_table.marks, strict=True):
            row = table.row()
            for i, cell in enumerate(cells):
                red = mark in {"fail", "runoff"} and (i == len(cells) - 1 or mark == "runoff")
                row.cell(cell, style=FontFace(color=RED) if red else None)


def _output(pdf: _PDF) -> bytes:
    return bytes(pdf.output())


def render_pdf(sheet: ResultSheet) -> bytes:
    """The result sheet of one vote as PDF (A4, Chinese font embedded). Raises SheetError without a font."""
    view = sheet_view(sheet)
    pdf = _new_pdf(f"{view.heading} · {sheet.title}", f"{sheet.body} · {sheet.sitting}")
    _pdf_sheet(pdf, view)
    return _output(pdf)


def minutes_pdf(sheets: Sequence[ResultSheet], sitting_title: str, body_name: str) -> bytes:
    """The sitting's minutes as PDF: the list of votes, then every result sheet."""
    views = [sheet_view(s) for s in sheets]
    summary = term("result.summary")
    pdf = _new_pdf(f"{summary} · {sitting_title}", f"{body_name} · {sitting_title}")
    pdf.add_page()
    _text(pdf, body_name, size=13, h=7, align="C")
    _text(pdf, sitting_title, size=16, h=9, align="C", heavy=True)
    _text(pdf, summary, size=22, h=12, color=RED, align="C", heavy=True)
    pdf.ln(4)
    if not views:
        _text(pdf, "本次会议没有已结束的表决。")
    else:
        with pdf.table(
            col_widths=[1, 4.6, 3.2, 4.2],  # 民生实事项目票决 on one line
            text_align=["CENTER", "LEFT", "CENTER", "LEFT"],
            line_height=7,
            wrapmode=WrapMode.CHAR,
            headings_style=FontFace(emphasis=None, fill_color=HEAD_FILL),
        ) as table:
            table.row([term("col.number"), term("col.subject"), "方式", term("col.result")])
            for i, v in enumerate(views, start=1):
                mode = v.kind_label + ("\n人工计票" if v.sheet.manual else "")
                table.row([str(i), v.sheet.title, mode, v.summary])
    for v in views:
        _pdf_sheet(pdf, v)
    return _output(pdf)
