"""Exports of results and attendance: CSV (UTF-8 with BOM, so Excel reads the Chinese)
and XLSX. Every exported cell is data, never a formula (``inert_cell``: every CSV/XLSX
writer goes through it). The rows of a vote are its kind's (``Kind.export_rows``); the
domain's words in the headers are the glossary's (``rules.glossary``). 无效 is filled only
where ballots can be invalid (``Kind.invalid_possible``), and the column is left out when
no vote of the export can have any (``result_columns``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.breakdown import group_label
from rules.glossary import term
from rules.kinds import kind_of
from rules.kinds.base import yes_no
from voting_server.sheets.model import METHOD_LABELS, STATUS_LABELS, ResultSheet
from voting_server.timefmt import log_time

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
    "delegation",
    "group",
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
    "valid",
    "invalid",
    "votes",
    "required",
    "passed",
    "selected",
    "runoff",
    "satisfaction_rate",
    "mean",
    "trimmed",
    "outcome",
    "rank",
    "overall_rate",
)
# The evaluation variants' columns (RULES.md "Evaluation variants"): exported only when a
# row has a value in them, so that an export of other votes keeps its columns.
VARIANT_COLUMNS = ("group", "valid", "mean", "trimmed", "overall_rate")
COLUMN_LABELS = {
    "vote": "表决编号",
    "vote_title": term("col.subject"),
    "agenda_item": "议程",
    "kind": "表决类型",
    "secret": term("secret"),
    "manual": "人工计票",
    "status": "表决状态",
    "subject": "编号",
    "title": "名称",
    "delegation": "代表团（组别）",
    "group": "口径",  # 组成人员 / 列席代表 / 全体
    "valid": term("col.valid"),
    "mean": term("col.mean"),
    "trimmed": term("col.trimmed"),
    "overall_rate": term("overall_rate"),
    **{c: term(c) for c in ("members", "present", "cast", "not_voted")},
    **{m: term(f"mark.{m}") for m in ("yes", "no", "abstain", "satisfied", "basic", "unsatisfied")},
    "invalid": term("col.invalid"),
    "votes": term("col.votes"),
    "required": "需票数",
    "passed": term("verdict.passed"),
    "selected": term("verdict.selected"),
    "runoff": term("verdict.runoff"),
    "satisfaction_rate": term("col.rate"),
    "outcome": term("result.evaluation"),
    "rank": term("col.rank"),
    "seat": "座位号",
    "name": "姓名",
    "signed_in": "签到",
    "method": "签到方式",
    "time": "签到时间",
}
ATTENDANCE_COLUMNS = ("seat", "name", "signed_in", "method", "time")


def result_rows(sheets: Iterable[ResultSheet]) -> list[dict[str, Any]]:
    """One row per subject or candidate of every sheet, keyed by RESULT_COLUMNS; then,
    for a named vote broken down by delegation (分团), the same per delegation, with its
    own 应到 / 实到 / 投票 / 未按 and counts, and its name under ``delegation``.

    Counts are ints; flags are 是/否; labels are Chinese; blanks are None.
    """
    rows: list[dict[str, Any]] = []
    for sheet in sheets:
        r = sheet.result
        base = {
            "vote": sheet.number,
            "vote_title": sheet.title,
            "agenda_item": sheet.agenda_item,
            "kind": kind_of(sheet.kind).label_zh,
            "secret": yes_no(sheet.secret),
            "manual": yes_no(sheet.manual),
            "status": STATUS_LABELS[sheet.status],
            "members": sheet.members,
            "present": sheet.present,
            "cast": r.get("cast"),
            "not_voted": r.get("not_voted"),
        }
        kind = kind_of(sheet.kind)
        mine = [{**base, **row} for row in kind.export_rows(r, sheet.titles)]
        if sheet.by_delegation and not sheet.secret:  # secret votes never break down
            for entry in sheet.by_delegation:
                group = {
                    **base,
                    "delegation": group_label(entry["group"]),
                    **{k: entry[k] for k in ("members", "present", "cast", "not_voted")},
                }
                mine.extend(
                    {**group, **row} for row in kind.breakdown_export_rows(entry, sheet.titles)
                )
        if not kind.invalid_possible(sheet.manual):  # 无效 only where a ballot can be
            for row in mine:
                if not row.get("invalid"):  # a count other than 0 is never hidden
                    row["invalid"] = None
        rows.extend(mine)
    return [{c: row.get(c) for c in RESULT_COLUMNS} for row in rows]


def result_columns(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """RESULT_COLUMNS for ``rows``: without 无效 when no row has a count of it (no vote
    exported could have invalid ballots, e.g. electronic motions alone), and without the
    evaluation variants' columns that no row fills."""
    unused = {c for c in VARIANT_COLUMNS if all(row.get(c) is None for row in rows)}
    if all(row.get("invalid") is None for row in rows):
        unused.add("invalid")
    return tuple(c for c in RESULT_COLUMNS if c not in unused)


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
        out.append(
            {
                "seat": r.seat,
                "name": r.name,
                "signed_in": yes_no(r.signed_in),
                "method": METHOD_LABELS.get(r.method or "", r.method),
                "time": log_time(r.time) or None,
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
    rows = result_rows(sheets)
    return _csv_text(rows, result_columns(rows))


def results_xlsx(sheets: Iterable[ResultSheet]) -> bytes:
    rows = result_rows(sheets)
    return to_xlsx(rows, result_columns(rows), term("result"))


def attendance_csv(rows: Iterable[AttendanceRow]) -> str:
    """The attendance, one row per member; starts with a BOM."""
    return _csv_text(attendance_rows(rows), ATTENDANCE_COLUMNS)


def attendance_xlsx(rows: Iterable[AttendanceRow]) -> bytes:
    return to_xlsx(attendance_rows(rows), ATTENDANCE_COLUMNS, "签到")
