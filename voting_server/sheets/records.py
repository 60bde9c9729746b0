"""Deputies' records (履职档案) as XLSX and PDF: one deputy's, or a body's or delegation's
list with the rates. Chinese, as the result sheets (official documents); the PDF embeds
the same Chinese font (sheets/pdf.py). A secret vote's line says 已按 or 未按 and
nothing else: the record carries no choice of it to print (rules/records.py).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FontFace
from fpdf.enums import WrapMode

from rules.breakdown import group_label
from rules.glossary import term
from rules.records import DeputyRecord, GroupRate, SittingLine, group_rates, total
from voting_server.i18n import ITEM_STATE_LABELS
from voting_server.sheets.exports import inert_row
from voting_server.sheets.pdf import FONT, HEAD_FILL, _new_pdf, _output, _text

DASH = "—"
GROUP_HEAD = "代表团"  # i18n: record — the delegation column of the documents


def status_text(line: SittingLine) -> str:
    text = term(f"record.{line.status}")
    if line.leave_withdrawn:
        return f"{text}（{term('record.leave_withdrawn')}）"
    return text


def rate_text(percent: str | None) -> str:
    return DASH if percent is None else f"{percent}%"


def period_text(year: int | None) -> str:
    return "全部" if year is None else f"{year}年"


def _book(sheets: Sequence[tuple[str, list[str], list[list[object]]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, head, rows in sheets:
        ws = book.create_sheet(title[:31])
        ws.append(inert_row(head))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="F2F2F2")
        for row in rows:
            ws.append(inert_row(row))
        for line in ws.iter_rows():
            for cell in line:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
        ws.freeze_panes = "A2"
        for i, name in enumerate(head, start=1):
            longest = max((len(str(r[i - 1] or "")) for r in rows), default=0)
            width = max(len(name) * 2 + 2, min(longest * 2 + 2, 50))
            ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sitting_rows(record: DeputyRecord) -> list[list[object]]:
    return [[s.date, s.title, status_text(s), s.leave_reason or ""] for s in record.sittings]


def _vote_rows(record: DeputyRecord) -> list[list[object]]:
    rows: list[list[object]] = []
    for s in record.sittings:
        for v in s.votes:
            pressed = term("cast") if v.pressed else term("not_voted")
            how = term("secret") if v.secret else term("named")
            # a secret vote: 已按 / 未按 only, never a choice
            choice = "" if v.secret or v.choice is None else str(v.choice)
            rows.append([s.date, s.title, v.title, how, pressed, choice])
    return rows


def _summary(record: DeputyRecord) -> list[list[object]]:
    a = record.attendance
    return [
        ["姓名", record.name],
        ["座位号", record.seat],
        [GROUP_HEAD, group_label(record.group) if record.group else ""],
        [term("record.held"), a.held],
        [term("record.present"), a.present],
        [term("record.leave"), a.leave],
        [term("record.absent"), a.absent],
        [term("record.rate"), rate_text(a.percent)],
        [term("cast"), record.pressed],
        [term("not_voted"), record.not_pressed],
    ]


SITTING_HEAD = ["日期", "会议", "出席情况", "请假事由"]
VOTE_HEAD = ["日期", "会议", "表决事项", "方式", "按键", "表决意见（仅记名表决）"]
PROPOSAL_HEAD = ["年度", "提出的建议（民生实事项目等）", "办理状态"]


def _proposal_rows(record: DeputyRecord) -> list[list[object]]:
    """The deputy's proposals (代表建议) as tracked items: year, title, state (Chinese)."""
    return [[p["year"], p["title"], ITEM_STATE_LABELS.get(p["state"], p["state"])]
            for p in record.proposals]  # fmt: skip


def record_xlsx(record: DeputyRecord) -> bytes:
    """One deputy's record: a summary, the sittings, the votes."""
    return _book([
        (term("record"), ["项目", "内容"], _summary(record)),
        ("会议", SITTING_HEAD, _sitting_rows(record)),
        ("表决", VOTE_HEAD, _vote_rows(record)),
        ("建议", PROPOSAL_HEAD, _proposal_rows(record)),
    ])  # fmt: skip


LIST_HEAD = ["座位号", "姓名", GROUP_HEAD, term("record.held"), term("record.present"),
             term("record.leave"), term("record.absent"), term("record.rate"), term("cast"),
             term("not_voted")]  # fmt: skip


def _list_rows(found: Sequence[DeputyRecord]) -> list[list[object]]:
    return [
        [r.seat, r.name, r.group or "", r.attendance.held, r.attendance.present,
         r.attendance.leave, r.attendance.absent, rate_text(r.attendance.percent),
         r.pressed, r.not_pressed]
        for r in found
    ]  # fmt: skip


def _group_rows(found: Sequence[DeputyRecord]) -> list[list[object]]:
    rows: list[GroupRate] = group_rates(found)
    out: list[list[object]] = [
        [group_label(g.group), g.members, g.attendance.held, g.attendance.present,
         g.attendance.leave, g.attendance.absent, rate_text(g.attendance.percent)]
        for g in rows
    ]  # fmt: skip
    whole = total(found)
    out.append(["合计", len(found), whole.held, whole.present, whole.leave, whole.absent,
                rate_text(whole.percent)])  # fmt: skip
    return out


GROUP_HEAD_ROW = [GROUP_HEAD, "人数", term("record.held"), term("record.present"),
                  term("record.leave"), term("record.absent"), term("record.rate")]  # fmt: skip


def records_xlsx(body_name: str, found: Sequence[DeputyRecord], year: int | None) -> bytes:
    """A body's (or a delegation's) deputies with their rates, and the rates per delegation."""
    return _book([
        (f"{term('record.rate')}（{period_text(year)}）", LIST_HEAD, _list_rows(found)),
        (GROUP_HEAD, GROUP_HEAD_ROW, _group_rows(found)),
    ])  # fmt: skip


def _table(pdf: object, head: list[str], rows: list[list[object]], widths: list[float]) -> None:
    with (
        pdf.local_context(font_family=FONT, font_size_pt=9.5),  # type: ignore[attr-defined]
        pdf.table(  # type: ignore[attr-defined]
            col_widths=widths,
            line_height=6,
            padding=(0.6, 1.5),
            wrapmode=WrapMode.CHAR,
            headings_style=FontFace(emphasis=None, fill_color=HEAD_FILL),
        ) as table,
    ):
        table.row(head)
        for row in rows:
            table.row([str(c) for c in row])


def record_pdf(record: DeputyRecord, body_name: str = "", year: int | None = None) -> bytes:
    """One deputy's record as PDF (A4, Chinese font embedded)."""
    title = f"{record.name} · {term('record')}"
    pdf = _new_pdf(title, f"{body_name} · {record.name}")
    pdf.add_page()
    if body_name:
        _text(pdf, body_name, size=13, h=7, align="C")
    _text(pdf, f"代表{term('record')}", size=20, h=11, align="C", heavy=True)
    _text(pdf, f"{record.name}（座位号 {record.seat}）· {period_text(year)}", size=12, h=7,
          align="C")  # fmt: skip
    pdf.ln(3)
    _table(pdf, ["项目", "内容"], _summary(record), [1, 2])
    pdf.ln(4)
    _text(pdf, "会议", size=13, h=8, heavy=True)
    _table(pdf, SITTING_HEAD, _sitting_rows(record) or [[DASH] * 4], [1.3, 3.5, 1.6, 2])
    pdf.ln(4)
    _text(pdf, "表决", size=13, h=8, heavy=True)
    _table(pdf, VOTE_HEAD, _vote_rows(record) or [[DASH] * 6], [1.3, 2.2, 3, 0.9, 0.9, 2.6])
    _text(pdf, "无记名表决只记载是否按键，不记载表决意见。", size=9, h=6)
    pdf.ln(4)
    _text(pdf, "提出的建议", size=13, h=8, heavy=True)
    _table(pdf, PROPOSAL_HEAD, _proposal_rows(record) or [[DASH] * 3], [1, 5, 2])
    return _output(pdf)


def records_pdf(body_name: str, found: Sequence[DeputyRecord], year: int | None) -> bytes:
    """A body's (or a delegation's) attendance rates as PDF."""
    heading = f"{term('record.rate')}（{period_text(year)}）"
    pdf = _new_pdf(f"{body_name} · {heading}", f"{body_name} · {heading}")
    pdf.add_page()
    _text(pdf, body_name, size=13, h=7, align="C")
    _text(pdf, f"代表{heading}", size=18, h=10, align="C", heavy=True)
    pdf.ln(3)
    _table(pdf, GROUP_HEAD_ROW, _group_rows(found), [2.6, 1, 1.1, 1, 1, 1, 1.3])
    pdf.ln(4)
    _table(pdf, LIST_HEAD, _list_rows(found) or [[DASH] * 10],
           [1, 1.4, 2.4, 1, 1, 1, 1, 1.3, 1, 1])  # fmt: skip
    _text(pdf, "出勤率 = 出席次数 ÷ 应出席次数（请假计为未出席，单列），保留两位小数，四舍五入。",
          size=9, h=6)  # fmt: skip
    return _output(pdf)
