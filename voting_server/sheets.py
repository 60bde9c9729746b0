"""Result sheets (表决结果), sitting minutes and exports, rendered from plain data.

No database and no Flask: a ``ResultSheet`` is built by the shell
(``services.results.sheet_source``) and rendered here as printable HTML, as
PDF with an embedded Chinese font, or as rows for CSV and XLSX. The QR code
of a sheet holds its sheet code (``audit.evidence.sheet_code``): the result
entry and the signed head after it, so that the paper leads to an offline
check (``voting-audit check-sheet``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

BEIJING = timezone(timedelta(hours=8))
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
)
KIND_LABELS = {"motion": "议案表决", "selection": "民生实事项目票决", "evaluation": "满意度测评"}
ROLE_LABELS = {"presidium": "主持人", "scrutineer": "监票人"}
OUTCOME_LABELS = {"satisfactory": "满意", "unsatisfactory": "不满意", None: "—"}


class SheetError(RuntimeError):
    """A sheet cannot be rendered (e.g. no Chinese font for the PDF)."""


@dataclass(frozen=True)
class ResultSheet:
    body: str
    sitting: str
    agenda_item: str
    title: str
    kind: str
    secret: bool
    manual: bool
    opened_at: datetime | None
    closed_at: datetime | None
    members: int
    present: int
    result: Mapping[str, Any]
    titles: Mapping[str, str]
    seats: int | None = None
    countersignatures: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    code: Mapping[str, Any] | None = None

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> ResultSheet:
        """From ``services.results.sheet_source``'s dict."""
        return cls(**{k: source[k] for k in cls.__dataclass_fields__ if k in source})

    # -- what every rendering shows --------------------------------------------------

    @property
    def mode(self) -> str:
        mode = "无记名表决" if self.secret else "记名表决"
        return f"{mode} · 人工计票（纸质表决）" if self.manual else f"{mode} · 电子表决"

    @property
    def time(self) -> str:
        when = self.closed_at or self.opened_at
        return when.astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M") if when else "—"

    @property
    def turnout(self) -> list[tuple[str, Any]]:
        r = self.result
        return [("应到", self.members), ("实到", self.present), ("投票", r.get("cast", 0)),
                ("未按", r.get("not_voted", 0))]  # fmt: skip

    @property
    def verdict(self) -> str | None:
        """Why nothing was decided, if so."""
        if self.result.get("void"):
            return f"表决无效：{self.result.get('reason', '收回的选票多于发出的选票')}"
        if not self.result.get("quorum", True):
            return "出席人数未达法定人数，表决结果不生效"
        return None

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The result table: header and rows, as shown on paper."""
        r = self.result
        if self.kind == "motion":
            head = ["议题", "赞成", "反对", "弃权", "无效", "通过所需", "结果"]
            rows = [[self.titles.get(s, s), str(c["yes"]), str(c["no"]), str(c["abstain"]),
                     str(c["invalid"]), str(c["required"]), "通过" if c["passed"] else "未通过"]
                    for s, c in r["subjects"].items()]  # fmt: skip
            return head, rows
        if self.kind == "evaluation":
            head = ["部门", "满意", "基本满意", "不满意", "无效", "满意率", "测评结果", "名次"]
            rows = []
            for s, c in r["subjects"].items():
                rate = c.get("satisfaction_rate")
                rows.append([self.titles.get(s, s), str(c["satisfied"]), str(c["basic"]),
                             str(c["unsatisfied"]), str(c["invalid"]),
                             f"{rate}%" if rate is not None else "—",
                             OUTCOME_LABELS.get(c.get("outcome"), "—"), str(c.get("rank", "—"))])  # fmt: skip
            return head, rows
        sel = r["selection"]
        runoff = set((sel.get("runoff") or {}).get("candidates", ()))
        head = ["候选项目", "得票", "结果"]
        rows = []
        for cid, votes in sorted(sel["votes"].items(), key=lambda kv: -kv[1]):
            outcome = "当选" if cid in sel["selected"] else "须再次投票" if cid in runoff else ""
            rows.append([self.titles.get(cid, cid), str(votes), outcome])
        return head, rows

    def notes(self) -> list[str]:
        """Lines under the table (selection: threshold, invalid ballots, seats left)."""
        if self.kind != "selection":
            return []
        sel = self.result["selection"]
        lines = [
            f"应选 {self.seats} 项；得票须达 {sel['required']} 票；无效票 {sel['invalid']} 张。"
        ]
        if sel.get("runoff"):
            lines.append(
                f"得票相同跨越末位，{sel['runoff']['seats']} 项须在上列候选项目中再次投票。"
            )
        if sel.get("unfilled"):
            lines.append(f"尚有 {sel['unfilled']} 项未选出。")
        return lines

    def signatures(self) -> list[tuple[str, str]]:
        """(role, "name time") of every countersignature, blanks for the roles still unsigned."""
        out = []
        for c in self.countersignatures:
            when = c["time"].astimezone(BEIJING).strftime("%m-%d %H:%M") if c.get("time") else ""
            out.append((ROLE_LABELS.get(c["role"], c["role"]), f"{c['name']}  {when}".strip()))
        for role in ("presidium", "scrutineer"):
            if not any(c["role"] == role for c in self.countersignatures):
                out.append((ROLE_LABELS[role], "________________"))
        return out

    @property
    def code_text(self) -> str | None:
        """What the QR code holds (compact, sorted JSON)."""
        if self.code is None:
            return None
        return json.dumps(self.code, separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    @property
    def head_text(self) -> str | None:
        """The signed head as ``SIZE:ROOT`` (for `voting-audit verify --head`)."""
        if self.code is None:
            return None
        return f"{self.code['head']['size']}:{self.code['head']['root']}"


# --- HTML ------------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("voting_server", "templates"), autoescape=select_autoescape(["html"])
)


def qr_svg(text: str) -> Markup:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=6)
    return Markup(image.to_string(encoding="unicode"))


def render_html(sheet: ResultSheet) -> str:
    return _env.get_template("sheets/sheet.html").render(
        sheets=[sheet], qr_svg=qr_svg, minutes=None
    )


def minutes_html(sheets: Sequence[ResultSheet], sitting: str, body: str) -> str:
    return _env.get_template("sheets/sheet.html").render(
        sheets=sheets, qr_svg=qr_svg, minutes={"sitting": sitting, "body": body}
    )


# --- PDF -------------------------------------------------------------------------------


def cjk_font() -> Path:
    """A Chinese TrueType font on this machine ($VOTING_CJK_FONT, else Debian's paths)."""
    candidates = [os.environ.get("VOTING_CJK_FONT", ""), *FONT_PATHS]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise SheetError(
        "没有中文字体，无法生成 PDF（HTML 表决结果单仍可打印）: install Debian's "
        "fonts-wqy-microhei, or set VOTING_CJK_FONT to a .ttf/.ttc file"
    )


def _pdf() -> Any:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    font = cjk_font()
    extra = {"collection_font_number": 0} if font.suffix.lower() == ".ttc" else {}
    pdf.add_font("cjk", "", str(font), **extra)
    pdf.add_font("cjk", "B", str(font), **extra)  # table headings; one weight is enough
    pdf.set_font("cjk", size=11)
    return pdf


def _pdf_sheet(pdf: Any, sheet: ResultSheet) -> None:
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("cjk", size=18)
    pdf.cell(width, 10, "表决结果", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    for label, value in (("机构", sheet.body), ("会议", sheet.sitting), ("议程", sheet.agenda_item),
                         ("表决事项", sheet.title), ("表决方式", f"{KIND_LABELS[sheet.kind]} · {sheet.mode}"),
                         ("时间", sheet.time)):  # fmt: skip
        pdf.multi_cell(width, 7, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.cell(
        width, 8, "　".join(f"{k} {v}" for k, v in sheet.turnout), new_x="LMARGIN", new_y="NEXT"
    )
    if (verdict := sheet.verdict) is not None:
        pdf.set_text_color(179, 0, 12)
        pdf.multi_cell(width, 8, verdict, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    head, rows = sheet.table()
    pdf.ln(2)
    with pdf.table(
        col_widths=[3, *([1] * (len(head) - 1))], line_height=7, text_align="CENTER"
    ) as table:
        table.row(head)
        for row in rows:
            table.row(row)
    for line in sheet.notes():
        pdf.multi_cell(width, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for role, signed in sheet.signatures():
        pdf.cell(width, 8, f"{role}签名：{signed}", new_x="LMARGIN", new_y="NEXT")
    if sheet.code_text is not None:
        pdf.ln(2)
        top = pdf.get_y()
        image = qrcode.make(sheet.code_text, box_size=4, border=2).get_image()
        pdf.image(image, x=pdf.l_margin, y=top, w=55)
        pdf.set_xy(pdf.l_margin + 60, top)
        pdf.set_font("cjk", size=8)
        pdf.multi_cell(
            width - 60, 5,
            "扫描二维码并用导出的审计日志核对：voting-audit check-sheet DIR CODE.json\n"
            f"日志头 (size:root)：{sheet.head_text}",
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
        pdf.set_font("cjk", size=11)
    else:
        pdf.multi_cell(
            width, 7, "（此结果尚无签名的日志头，暂无二维码）", new_x="LMARGIN", new_y="NEXT"
        )


def render_pdf(sheet: ResultSheet) -> bytes:
    pdf = _pdf()
    _pdf_sheet(pdf, sheet)
    return bytes(pdf.output())


def minutes_pdf(sheets: Sequence[ResultSheet], sitting: str, body: str) -> bytes:
    pdf = _pdf()
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.multi_cell(
        pdf.epw, 12, f"{body}\n{sitting}\n表决结果汇总", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("cjk", size=11)
    for i, sheet in enumerate(sheets, start=1):
        result = "、".join(row[-1] for row in sheet.table()[1] if sheet.kind == "motion") or ""
        pdf.cell(pdf.epw, 8, f"{i}. {sheet.title}  {result}", new_x="LMARGIN", new_y="NEXT")
    for sheet in sheets:
        _pdf_sheet(pdf, sheet)
    return bytes(pdf.output())


# --- exports ---------------------------------------------------------------------------

RESULT_COLUMNS = ("vote", "kind", "manual", "subject", "title", "members", "present", "cast",
                  "yes", "no", "abstain", "satisfied", "basic", "unsatisfied", "invalid",
                  "votes", "required", "passed", "selected", "satisfaction_rate", "outcome",
                  "rank")  # fmt: skip


def result_rows(sheets: Iterable[ResultSheet]) -> list[dict[str, Any]]:
    """One row per subject or candidate of every sheet."""
    rows = []
    for sheet in sheets:
        r = sheet.result
        base = {"vote": sheet.title, "kind": sheet.kind, "manual": sheet.manual,
                "members": sheet.members, "present": sheet.present, "cast": r.get("cast")}  # fmt: skip
        if sheet.kind == "selection":
            sel = r["selection"]
            for cid, votes in sel["votes"].items():
                rows.append({**base, "subject": cid, "title": sheet.titles.get(cid, cid),
                             "votes": votes, "required": sel["required"],
                             "selected": cid in sel["selected"], "invalid": sel["invalid"]})  # fmt: skip
        else:
            for sid, counts in r["subjects"].items():
                rows.append({**base, "subject": sid, "title": sheet.titles.get(sid, sid), **counts})
    return [{c: row.get(c) for c in RESULT_COLUMNS} for row in rows]


@dataclass(frozen=True)
class AttendanceRow:
    seat: int
    name: str
    signed_in: bool
    method: str | None  # kiosk_pin | operator
    time: datetime | None


ATTENDANCE_COLUMNS = ("seat", "name", "signed_in", "method", "time")


def attendance_rows(rows: Iterable[AttendanceRow]) -> list[dict[str, Any]]:
    return [
        {"seat": r.seat, "name": r.name, "signed_in": r.signed_in, "method": r.method,
         "time": r.time.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") if r.time else None}
        for r in rows
    ]  # fmt: skip


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese correctly."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
