"""Lists the office imports for tracked items (docs/supervision.md): proposals collected
from deputies, the public and departments (征集), and a year's complaint statistics
(e.g. the 12345 hotline's) ranked by "两高一低".

A file is read as a table by ``services.uploads.read_table_upload`` — the roster's
bounds (size, rows, columns, cells, XLSX parts) and its child process — then parsed
here, purely: every bad row is reported with its line, field and message, and nothing
is imported unless every row is good (all or nothing, as the roster).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.congress import MemberRole
from rules.kinds.evaluation import percent_half_up
from rules.supervision import ComplaintRow, Ranked, Refused, rank_departments
from voting_server.models import DEPARTMENT_MAX, TITLE_MAX, Member, TrackedItem
from voting_server.roster import RosterError, Table
from voting_server.services import supervision
from voting_server.services.audit_log import AuditLog
from voting_server.services.uploads import read_table_upload

# header text (lower case, no spaces) → column; Chinese first, English accepted
PROPOSAL_HEADERS = {
    "标题": "title", "项目名称": "title", "项目": "title", "title": "title",
    "来源": "source", "source": "source",
    "提出人": "proposer", "建议人": "proposer", "proposer": "proposer",
    "座位号": "seat", "seat": "seat",
    "说明": "description", "内容": "description", "description": "description",
    "责任单位": "department", "department": "department",
}  # fmt: skip
COMPLAINT_HEADERS = {
    "部门": "department", "单位": "department", "department": "department",
    "投诉量": "complaints", "投诉件数": "complaints", "complaints": "complaints",
    "重复投诉量": "repeat", "重复投诉": "repeat", "repeat": "repeat",
    "repeatcomplaints": "repeat",
    "满意度": "satisfaction", "满意率": "satisfaction", "satisfaction": "satisfaction",
}  # fmt: skip
SOURCES = {"代表": "deputy", "群众": "public", "部门": "department",
           "deputy": "deputy", "public": "public", "department": "department"}  # fmt: skip
PERCENT = re.compile(r"^(\d{1,3})(\.\d{1,2})?%?$")
COUNT_MAX = 10_000_000


class ImportRejected(Exception):
    """Nothing was imported; ``errors`` names every bad row."""

    def __init__(self, errors: Sequence[RosterError]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = tuple(errors)


def _header(
    table: Table, headers: dict[str, str], required: Sequence[str]
) -> tuple[int, dict[str, int]]:
    """The header row (a title row above it is skipped) and each column's index."""
    for position, (_line, cells) in enumerate(table[:5]):
        columns: dict[str, int] = {}
        for index, cell in enumerate(cells):
            key = headers.get("".join(cell.split()).lower())
            if key is not None and key not in columns:
                columns[key] = index
        if all(r in columns for r in required):
            return position, columns
    missing = "、".join(required)
    raise ImportRejected([RosterError(1, "header", f"缺少表头：{missing} / missing header")])


def _cell(cells: Sequence[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return " ".join(cells[index].split()) if index is not None and index < len(cells) else ""


def read(data: bytes, filename: str) -> Table:
    table, error = read_table_upload(data, filename)
    if error is not None:
        raise ImportRejected([error])
    return table


# --- proposals (征集) -----------------------------------------------------------------------


def parse_proposals(
    table: Table, deputies: dict[str, list[Member]], by_seat: dict[int, Member], year: int
) -> list[supervision.Proposal]:
    """Each row a project proposal; a deputy's is matched to the roster by seat or name."""
    start, columns = _header(table, PROPOSAL_HEADERS, ("title", "source"))
    errors: list[RosterError] = []
    out: list[supervision.Proposal] = []
    for line, cells in table[start + 1 :]:
        title = _cell(cells, columns, "title")
        source_text = _cell(cells, columns, "source")
        proposer = _cell(cells, columns, "proposer")
        if not 1 <= len(title) <= TITLE_MAX:
            errors.append(RosterError(line, "title", f"标题须为1至{TITLE_MAX}个字 / title"))
        source = SOURCES.get(source_text.lower())
        if source is None:
            errors.append(RosterError(line, "source", "来源应为 代表、群众 或 部门 / source"))
        department = _cell(cells, columns, "department") or None
        if department is not None and len(department) > DEPARTMENT_MAX:
            errors.append(RosterError(line, "department", f"责任单位最多{DEPARTMENT_MAX}个字"))
        member_id = None
        if source == "deputy":
            seat_text = _cell(cells, columns, "seat")
            member = by_seat.get(int(seat_text)) if seat_text.isdigit() else None
            if member is None:
                named = deputies.get(proposer, [])
                member = named[0] if len(named) == 1 else None
            if member is None:
                errors.append(
                    RosterError(line, "proposer", "提出人不是本机构在册代表 / not a deputy")
                )
            else:
                member_id, proposer = member.id, member.name
        elif source is not None and not proposer:
            proposer = "群众" if source == "public" else ""
        if len(proposer) > 100:
            errors.append(RosterError(line, "proposer", "提出人最多100个字"))
        if errors and errors[-1].line == line:
            continue
        out.append(supervision.Proposal(
            kind="project", title=title, year=year, source=source or "public",
            description=_cell(cells, columns, "description"), department=department,
            proposer_member_id=member_id, proposer_name=proposer or None,
        ))  # fmt: skip
    if not out and not errors:
        errors.append(RosterError(start + 1, "row", "文件中没有建议 / no proposals"))
    if errors:
        raise ImportRejected(errors)
    return out


def import_proposals(
    session: Session, log: AuditLog, body_id: int, by: int, data: bytes, filename: str, year: int
) -> list[TrackedItem]:
    """Every proposal of the file recorded, or none (``ImportRejected``)."""
    members = list(session.scalars(
        select(Member).where(Member.body_id == body_id, Member.active,
                             Member.role == MemberRole.DEPUTY)
    ))  # fmt: skip
    deputies: dict[str, list[Member]] = {}
    for member in members:
        deputies.setdefault(member.name, []).append(member)
    proposals = parse_proposals(read(data, filename), deputies, {m.seat: m for m in members}, year)
    return [supervision.propose(session, log, body_id, by, p) for p in proposals]


# --- complaint statistics (两高一低) --------------------------------------------------------------


def _count(text: str, line: int, field: str, errors: list[RosterError]) -> int:
    if text.isascii() and text.isdigit() and int(text) <= COUNT_MAX:
        return int(text)
    errors.append(RosterError(line, field, f"应为0至{COUNT_MAX}的整数 / a whole number"))
    return 0


def parse_complaints(table: Table) -> list[ComplaintRow]:
    start, columns = _header(
        table, COMPLAINT_HEADERS, ("department", "complaints", "repeat", "satisfaction")
    )
    errors: list[RosterError] = []
    rows: list[ComplaintRow] = []
    for line, cells in table[start + 1 :]:
        department = _cell(cells, columns, "department")
        if not 1 <= len(department) <= DEPARTMENT_MAX:
            errors.append(RosterError(line, "department", f"部门名称须为1至{DEPARTMENT_MAX}个字"))
        complaints = _count(_cell(cells, columns, "complaints"), line, "complaints", errors)
        repeat = _count(_cell(cells, columns, "repeat"), line, "repeat", errors)
        text = _cell(cells, columns, "satisfaction")
        satisfaction = Fraction(0)
        if PERCENT.match(text) and Decimal(text.rstrip("%")) <= 100:
            satisfaction = Fraction(Decimal(text.rstrip("%"))) / 100
        else:
            errors.append(
                RosterError(line, "satisfaction", "满意度应为0至100的百分数 / a percentage")
            )
        rows.append(ComplaintRow(department, complaints, repeat, satisfaction))
    if not rows and not errors:
        errors.append(RosterError(start + 1, "row", "文件中没有部门 / no departments"))
    if errors:
        raise ImportRejected(errors)
    ranked = rank_departments(rows)
    if isinstance(ranked, Refused):
        raise ImportRejected([RosterError(1, "row", ranked.reason)])
    return rows


def rank_file(data: bytes, filename: str) -> list[Ranked]:
    """The departments of a complaint-statistics file, ranked (a preview: nothing stored)."""
    ranked = rank_departments(parse_complaints(read(data, filename)))
    assert not isinstance(ranked, Refused)  # parse_complaints refused it already
    return ranked


def percent(value: Fraction) -> str:
    """85.5% for Fraction(171, 200): rounded as every rate is (``percent_half_up``), then
    without trailing zeros, as typed."""
    return f"{percent_half_up(value).rstrip('0').rstrip('.')}%"


def propose_topics(
    session: Session, log: AuditLog, body_id: int, by: int, ranked: Sequence[Ranked], year: int
) -> list[TrackedItem]:
    """The departments chosen from the ranking, proposed as this year's special-report
    topics (专项工作报告), each with its figures and place in the ranking."""
    out = []
    for r in ranked:
        figures = (f"投诉量 {r.row.complaints}，重复投诉 {r.row.repeat}，满意度 "
                   f"{percent(r.row.satisfaction)}；两高一低排名第 {r.position}（名次和 {r.score}）")  # fmt: skip
        proposal = supervision.Proposal(
            kind="topic", title=f"{r.department}专项工作报告", year=year, source="complaints",
            description=figures, department=r.department, subject=r.department,
        )  # fmt: skip
        out.append(supervision.propose(session, log, body_id, by, proposal))
    return out
