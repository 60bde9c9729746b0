"""Roster import (名册导入): a body's members from a CSV or XLSX file.

Parsing is pure: bytes in, rows and errors out, every row checked so that the
office fixes the whole file in one round. Applying is all or nothing: one bad
row and nothing changes. A good roster *is* the body's roster afterwards —
seats missing from the file are set inactive — and ``member_count`` (全体组成
人员, the base of every default threshold) follows it.

Optional columns for a congress (docs/congress.md): 代表团 (the delegation), 身份
(代表 | 列席: an attendee signs in and never votes nor counts) and 主席团 (成员 |
执行主席 | empty). ``member_count`` counts the deputies only.

Files come from Excel in Chinese offices: CSV in UTF-8 (with or without BOM),
UTF-16 ("Unicode text") or GB18030 (the legacy ANSI code page), or XLSX,
often with a title row above the header.

A file is hostile until read: parsing is bounded (``MAX_BYTES``, ``MAX_ROWS``,
``MAX_COLUMNS``, ``MAX_CELL_CHARS``; an XLSX is a zip, so its parts are counted
and their unpacked size summed before openpyxl opens it: a zip bomb is refused
unread), and anything malformed is a refusal naming the problem, never an
exception. The server parses in a process of its own (``services.uploads``).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.congress import MemberRole, PresidiumSeat, standing_error
from voting_server.models import (
    GROUP_MAX,
    NAME_MAX,
    SEAT_MAX,
    AgendaItem,
    Body,
    Member,
    Sitting,
    Vote,
    VoteState,
)

# Accepted header spellings, compared after removing whitespace and case.
HEADERS: dict[str, frozenset[str]] = {
    "seat": frozenset({"座位号", "座号", "座位", "seat", "seatno", "seatnumber", "seat_no"}),
    "name": frozenset({"姓名", "name"}),
    "group": frozenset({"代表团", "组别", "代表团/组别", "分组", "group", "delegation"}),
    "role": frozenset({"身份", "role"}),
    "presidium": frozenset({"主席团", "presidium"}),
}
# The cells of the 身份 and 主席团 columns; an empty cell is a deputy outside the presidium.
ROLE_VALUES: dict[str, MemberRole] = {
    "代表": MemberRole.DEPUTY, "组成人员": MemberRole.DEPUTY, "deputy": MemberRole.DEPUTY,
    "列席": MemberRole.ATTENDEE, "attendee": MemberRole.ATTENDEE,
}  # fmt: skip
PRESIDIUM_VALUES: dict[str, PresidiumSeat] = {
    "成员": PresidiumSeat.MEMBER, "主席团成员": PresidiumSeat.MEMBER,
    "member": PresidiumSeat.MEMBER,
    "执行主席": PresidiumSeat.EXECUTIVE_CHAIR, "executive_chair": PresidiumSeat.EXECUTIVE_CHAIR,
}  # fmt: skip
REQUIRED = ("seat", "name")

# Bounds of a roster file. A national congress has about 3,000 deputies: its roster
# as CSV is ~100 KB, as XLSX ~150 KB unpacked ~1 MB.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000  # filled rows, title and header included
MAX_COLUMNS = 20
MAX_CELL_CHARS = 200  # a name has at most NAME_MAX, a group GROUP_MAX
MAX_XLSX_PARTS = 500  # files inside the zip; Excel writes about a dozen
MAX_XLSX_UNPACKED = 20 * 1024 * 1024
EXCEL_MAX_ROW = 1_048_576  # no worksheet row is further down
_MB = 1024 * 1024
_FIELD_ORDER = (
    "file",
    "header",
    "seat",
    "name",
    "group",
    "role",
    "presidium",
    "row",
)  # errors of a line, in this order
_T = TypeVar("_T")
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


class RosterError(NamedTuple):
    """One problem in the file: ``第{line}行 {field}: {message}``."""

    line: int  # 1-based line of the CSV file, or row of the worksheet
    field: str  # seat | name | group | role | presidium | row | header | file
    message: str  # Chinese / English

    def __str__(self) -> str:
        return f"第{self.line}行 {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int
    seat: int
    name: str
    group: str | None
    role: MemberRole = MemberRole.DEPUTY
    presidium: PresidiumSeat = PresidiumSeat.NONE


@dataclass(frozen=True, slots=True)
class ParsedRoster:
    rows: tuple[RosterRow, ...]
    errors: tuple[RosterError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class RosterChanges:
    """What applying a roster did to the body's members."""

    created: int
    updated: int  # name or group changed, or reactivated
    unchanged: int
    deactivated: int
    active: int  # active members, attendees included
    deputies: int = 0  # = body.member_count afterwards (应到: 列席 never counts)


class RosterRejected(Exception):
    """The roster was not applied; ``errors`` says why (every bad row)."""

    def __init__(self, errors: Sequence[RosterError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the roster; nothing was imported")
        self.errors = tuple(errors)


# ---------------------------------------------------------------- parsing (pure)


def parse_roster(data: bytes, filename: str = "") -> ParsedRoster:
    """Parse a roster file's bytes; XLSX is recognised by its content, not its name."""
    table, refusal = read_table(data, filename)
    return refusal or _parse_table(table)


def parse_csv(data: bytes) -> ParsedRoster:
    """Parse CSV bytes: UTF-8 (BOM optional), UTF-16 with BOM, or GB18030."""
    table, refusal = csv_table(data)
    return refusal or _parse_table(table)


def parse_xlsx(data: bytes) -> ParsedRoster:
    """Parse the first worksheet of an XLSX workbook (values, not formulas)."""
    table, refusal = xlsx_table(data)
    return refusal or _parse_table(table)


Table = list[tuple[int, list[str]]]  # filled rows: (line or row number, text cells)


def read_table(data: bytes, filename: str = "") -> tuple[Table, ParsedRoster | None]:
    """A CSV or XLSX file's filled rows as text, within the roster's bounds, or the
    refusal saying why not — for any list staff upload (a vote's candidates too)."""
    if len(data) > MAX_BYTES:
        return [], too_large()
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
        return xlsx_table(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return [], _fail(
            "file",
            "不支持旧版.xls文件，请另存为.xlsx或.csv / .xls is not supported: save as .xlsx or .csv",
        )
    return csv_table(data)


def csv_table(data: bytes) -> tuple[Table, ParsedRoster | None]:
    text = _decode(data)
    if text is None:
        return [], _fail(
            "file", "无法识别文件编码（应为UTF-8或GB18030） / encoding is neither UTF-8 nor GB18030"
        )
    first = text.split("\n", 1)[0]
    delimiter = (
        "\t" if "\t" in first and "," not in first else ","
    )  # Excel's "Unicode text" uses tabs
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    bounded = _Bounded()
    start = 1
    try:
        for record in reader:
            if not bounded.add(start, record):  # a quoted field may span lines: report its start
                break
            start = reader.line_num + 1
    except csv.Error as exc:
        return [], _fail("file", f"CSV格式错误 / malformed CSV: {exc}", line=start)
    return bounded.table, bounded.refusal


def xlsx_table(data: bytes) -> tuple[Table, ParsedRoster | None]:
    import openpyxl

    if len(data) > MAX_BYTES:
        return [], too_large()
    unpacked = _check_zip(data)
    if unpacked is not None:
        return [], unpacked
    bounded = _Bounded()
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            # Read-only sheets yield an empty row for each gap, so counting from 1 gives
            # Excel's row number; one column past the limit shows a value out of bounds.
            rows = sheet.iter_rows(max_row=EXCEL_MAX_ROW, max_col=MAX_COLUMNS + 1, values_only=True)
            for number, cells in enumerate(rows, start=1):
                if not bounded.add(number, cells):
                    break
        finally:
            workbook.close()
    except Exception as exc:  # openpyxl raises anything on a malformed part
        # (BadZipFile, KeyError for a missing part, XML ParseError, ValueError, TypeError...)
        return [], _fail(
            "file", f"不是有效的XLSX文件 / not a valid XLSX file ({exc.__class__.__name__})"
        )
    return bounded.table, bounded.refusal


def _check_zip(data: bytes) -> ParsedRoster | None:
    """Refuse a zip that is not one, has too many parts or unpacks too large, before any
    part is read. The sizes in the directory are binding: ``zipfile`` stops reading a
    part at its stated size (and fails its CRC), so a part cannot unpack larger."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        return _fail(
            "file", f"不是有效的XLSX文件 / not a valid XLSX file ({exc.__class__.__name__})"
        )
    if len(parts) > MAX_XLSX_PARTS:
        return _fail(
            "file",
            f"XLSX文件内部件过多：最多 {MAX_XLSX_PARTS} 个 / "
            f"too many parts in the XLSX file: at most {MAX_XLSX_PARTS}",
        )
    if sum(part.file_size for part in parts) > MAX_XLSX_UNPACKED:
        mb = MAX_XLSX_UNPACKED // _MB
        return _fail(
            "file",
            f"XLSX文件解压后过大：最多 {mb} MB / the XLSX file unpacks to more than {mb} MB",
        )
    return None


def too_large() -> ParsedRoster:
    mb = MAX_BYTES // _MB
    return _fail(
        "file", f"名册文件过大：最多 {mb} MB / the roster file is too large: at most {mb} MB"
    )


class _Bounded:
    """The filled rows of a file as text cells, read until a bound is passed."""

    def __init__(self) -> None:
        self.table: list[tuple[int, list[str]]] = []
        self.refusal: ParsedRoster | None = None

    def add(self, line: int, cells: Sequence[Any]) -> bool:
        """Take one row; False (and ``refusal`` set) once the file is out of bounds."""
        texts = [_cell(v) for v in cells]
        while texts and not texts[-1]:
            texts.pop()  # Excel pads rows with empty cells
        if not texts:
            return True  # blank lines are not members
        if len(texts) > MAX_COLUMNS:
            self.refusal = _fail(
                "file",
                f"名册最多 {MAX_COLUMNS} 列 / a roster has at most {MAX_COLUMNS} columns",
                line=line,
            )
        elif any(len(text) > MAX_CELL_CHARS for text in texts):
            self.refusal = _fail(
                "row",
                f"单元格最多 {MAX_CELL_CHARS} 个字符 / a cell has at most {MAX_CELL_CHARS} characters",
                line=line,
            )
        elif len(self.table) >= MAX_ROWS:
            self.refusal = _fail(
                "file", f"名册最多 {MAX_ROWS} 行 / a roster has at most {MAX_ROWS} rows", line=line
            )
        else:
            self.table.append((line, texts))
        return self.refusal is None


def read_roster(path: Path) -> ParsedRoster:
    """Read and parse a roster file. OSError propagates (missing file, no permission)."""
    with path.open("rb") as f:
        data = f.read(MAX_BYTES + 1)  # never more than the bound into memory
    return parse_roster(data, path.name)


def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _fail(field: str, message: str, line: int = 1) -> ParsedRoster:
    return ParsedRoster(rows=(), errors=(RosterError(line, field, message),))


def _cell(value: Any) -> str:
    """A cell as text; Excel stores 12 as 12.0 and pads names with spaces."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower().lstrip("\ufeff")


def _column_of(text: str) -> str | None:
    key = _header_key(text)
    return next((column for column, names in HEADERS.items() if key in names), None)


def _parse_table(lines: Iterable[tuple[int, Sequence[str]]]) -> ParsedRoster:
    """Filled rows of text cells (with their line numbers) → roster rows and every error."""
    table = [(n, list(cells)) for n, cells in lines]
    if not table:
        return _fail("file", "文件为空 / the file is empty")
    # Excel lists often start with a title row (示例市人大常委会组成人员名单): one
    # filled cell that is not a column name. Skip such rows to reach the header.
    while len(table) > 1 and sum(1 for c in table[0][1] if c) == 1:
        (only,) = (c for c in table[0][1] if c)
        if _column_of(only) is not None:
            break
        table.pop(0)

    header_line, header = table[0]
    errors: list[RosterError] = []
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        if not text:
            continue
        column = _column_of(text)
        if column is None:
            errors.append(
                RosterError(
                    header_line,
                    "header",
                    f"未知的列“{text}”（可用：座位号、姓名、代表团/组别、身份、主席团） / "
                    f"unknown column {text!r} (expected seat, name, group, role, presidium)",
                )
            )
        elif column in columns:
            errors.append(
                RosterError(
                    header_line, "header", f"列“{text}”重复 / column {text!r} appears twice"
                )
            )
        else:
            columns[column] = index
    for column in REQUIRED:
        if column not in columns:
            chinese = "座位号" if column == "seat" else "姓名"
            errors.append(
                RosterError(header_line, "header", f"缺少“{chinese}”列 / missing column {column!r}")
            )
    if errors:
        return ParsedRoster(rows=(), errors=tuple(errors))

    body = table[1:]
    if not body:
        return _fail("file", "名册中没有代表 / the roster lists nobody", line=header_line)
    rows: list[RosterRow] = []
    seat_lines: dict[int, list[int]] = defaultdict(list)
    for line, cells in body:

        def get(column: str, cells: Sequence[str] = cells) -> str:
            index = columns.get(column)
            return cells[index] if index is not None and index < len(cells) else ""

        extra = [c for i, c in enumerate(cells) if c and i not in columns.values()]
        if extra:  # a value under no heading would be lost silently
            errors.append(
                RosterError(line, "row", f"有值不在任何列下 / values under no heading: {extra}")
            )
        seat = _seat(get("seat"), line, errors)
        name = _name(get("name"), line, errors)
        group = _group(get("group"), line, errors)
        role = _choice(get("role"), ROLE_VALUES, MemberRole.DEPUTY, line, "role", errors)
        presidium = _choice(
            get("presidium"), PRESIDIUM_VALUES, PresidiumSeat.NONE, line, "presidium", errors
        )
        if role is not None and presidium is not None and standing_error(role, presidium):
            errors.append(RosterError(
                line, "presidium", "列席人员不能是主席团成员 / an attendee cannot sit on the presidium"
            ))  # fmt: skip
        if seat is not None:
            seat_lines[seat].append(line)
        if seat is not None and name is not None and role is not None and presidium is not None:
            rows.append(RosterRow(line, seat, name, group, role, presidium))

    for seat, where in seat_lines.items():
        for line in where if len(where) > 1 else ():
            others = [str(n) for n in where if n != line]
            english = f"line{'s' if len(others) > 1 else ''} {', '.join(others)}"
            message = (
                f"座位号{seat}与第{'、'.join(others)}行重复 / seat {seat} is also on {english}"
            )
            errors.append(RosterError(line, "seat", message))
    errors.sort(key=lambda e: (e.line, _FIELD_ORDER.index(e.field)))
    return ParsedRoster(rows=tuple(rows), errors=tuple(errors))


def _seat(text: str, line: int, errors: list[RosterError]) -> int | None:
    if not text:
        errors.append(RosterError(line, "seat", "座位号为空 / seat is empty"))
        return None
    try:
        seat = int(text)  # also accepts full-width digits (１２) typed with a Chinese IME
    except ValueError:
        seat = None
    if seat is None or not 1 <= seat <= SEAT_MAX:
        errors.append(
            RosterError(
                line,
                "seat",
                f"座位号“{text}”应为1至{SEAT_MAX}的整数 / seat {text!r} must be a whole number 1–{SEAT_MAX}",
            )
        )
        return None
    return seat


def _name(text: str, line: int, errors: list[RosterError]) -> str | None:
    # Excel pads two-character names for alignment (王　伟): drop spaces between
    # Chinese characters, collapse the rest.
    name = re.sub(rf"(?<={_CJK})\s+(?={_CJK})", "", text)
    name = re.sub(r"\s+", " ", name)
    if not name:
        errors.append(RosterError(line, "name", "姓名为空 / name is empty"))
        return None
    if len(name) > NAME_MAX:
        errors.append(
            RosterError(
                line,
                "name",
                f"姓名超过{NAME_MAX}个字符（{len(name)}） / name longer than {NAME_MAX} characters ({len(name)})",
            )
        )
        return None
    return name


def _choice(
    text: str, values: dict[str, _T], empty: _T, line: int, field: str, errors: list[RosterError]
) -> _T | None:
    """The value a 身份 or 主席团 cell names (empty: ``empty``), or None and an error."""
    key = re.sub(r"\s+", "", text)
    if not key:
        return empty
    value = values.get(key) or values.get(key.lower())
    if value is None:
        allowed = "、".join(k for k in values if not k.isascii())
        errors.append(RosterError(
            line, field, f"“{text}”不是可用的值（{allowed}或留空） / {text!r} is not one of {allowed}"
        ))  # fmt: skip
    return value


def _group(text: str, line: int, errors: list[RosterError]) -> str | None:
    group = re.sub(r"\s+", " ", text)
    if len(group) > GROUP_MAX:
        errors.append(
            RosterError(
                line,
                "group",
                f"代表团/组别超过{GROUP_MAX}个字符 / group longer than {GROUP_MAX} characters",
            )
        )
    return group or None


# ---------------------------------------------------------------- applying


def apply_roster(session: Session, body: Body, roster: ParsedRoster) -> RosterChanges:
    """Make ``roster`` the body's roster, inside the caller's transaction.

    Raises RosterRejected (and changes nothing) if the roster has any error, or
    while a vote of the body is open: ``member_count`` is the base of its
    thresholds and must not move under it.
    """
    if roster.errors:
        raise RosterRejected(roster.errors)
    if not any(row.role is MemberRole.DEPUTY for row in roster.rows):  # 列席 alone: no 应到
        raise RosterRejected([RosterError(1, "file", "名册中没有代表 / the roster lists nobody")])
    open_votes = session.scalar(
        select(func.count(Vote.id))
        .join(AgendaItem, Vote.agenda_item_id == AgendaItem.id)
        .join(Sitting, AgendaItem.sitting_id == Sitting.id)
        .where(Sitting.body_id == body.id, Vote.state == VoteState.OPEN)
    )
    if open_votes:
        raise RosterRejected(
            [
                RosterError(
                    1,
                    "file",
                    "表决进行中，不能更换名册 / a vote is open: the roster cannot change now",
                )
            ]
        )

    existing = {m.seat: m for m in session.scalars(select(Member).where(Member.body_id == body.id))}
    created = updated = unchanged = deactivated = 0
    for row in roster.rows:
        member = existing.pop(row.seat, None)
        if member is None:
            session.add(Member(body=body, seat=row.seat, name=row.name, group_name=row.group,
                               role=row.role, presidium=row.presidium, active=True))  # fmt: skip
            created += 1
            continue
        now = (member.name, member.group_name, member.role, member.presidium, member.active)
        if now == (row.name, row.group, row.role, row.presidium, True):
            unchanged += 1
            continue
        if member.name != row.name:
            member.pin_hash = None  # a PIN belongs to a person, not to a seat
        member.name, member.group_name, member.active = row.name, row.group, True
        member.role, member.presidium = row.role, row.presidium
        updated += 1
    for member in existing.values():  # seats no longer in the file
        if member.active:
            member.active = False
            deactivated += 1
    # 应到 counts the deputies: 列席 attendees are on the roster but never in the base
    deputies = sum(1 for row in roster.rows if row.role is MemberRole.DEPUTY)
    body.member_count = deputies
    session.flush()
    return RosterChanges(
        created, updated, unchanged, deactivated, active=len(roster.rows), deputies=deputies
    )
