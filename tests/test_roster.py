"""Roster import: CSV in every encoding Excel writes, XLSX, all-or-nothing apply."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.support.db import migrate
from voting_server.db import make_engine, make_session_factory
from voting_server.models import (
    AgendaItem,
    Body,
    BodyKind,
    BodyLevel,
    Member,
    Sitting,
    Vote,
    VoteState,
)
from voting_server.roster import (
    MAX_BYTES,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_XLSX_PARTS,
    MAX_XLSX_UNPACKED,
    ParsedRoster,
    RosterChanges,
    RosterError,
    RosterRejected,
    apply_roster,
    parse_roster,
)

GOOD_CSV = "座位号,姓名,代表团\n1,王建国,第一组\n2,李红梅,第一组\n3,张志强,第二组\n"
GOOD_ROWS = [(1, "王建国", "第一组"), (2, "李红梅", "第一组"), (3, "张志强", "第二组")]


def rows(parsed: ParsedRoster) -> list[tuple[int, str, str | None]]:
    assert parsed.errors == (), parsed.errors
    return [(r.seat, r.name, r.group) for r in parsed.rows]


def xlsx(*table: list[object]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "data",
    [
        GOOD_CSV.encode("utf-8"),
        GOOD_CSV.encode("utf-8-sig"),  # Excel's "CSV UTF-8" adds a BOM
        GOOD_CSV.encode("gb18030"),  # Excel's plain "CSV" on a Chinese Windows
        GOOD_CSV.replace("\n", "\r\n").encode("gb18030"),
        GOOD_CSV.replace(",", "\t").encode("utf-16"),  # Excel's "Unicode text"
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gb18030-crlf", "utf16-tabs"],
)
def test_csv_encodings(data: bytes) -> None:
    assert rows(parse_roster(data, "roster.csv")) == GOOD_ROWS


def test_gb18030_file_is_not_mistaken_for_utf8() -> None:
    data = GOOD_CSV.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # so the fallback is what is being tested
    assert rows(parse_roster(data))[0] == (1, "王建国", "第一组")


def test_english_headers_and_optional_group() -> None:
    assert rows(parse_roster(b"Seat,Name\n10,Li Na\n2,Wang Wei\n")) == [
        (10, "Li Na", None),
        (2, "Wang Wei", None),
    ]
    assert rows(parse_roster("姓名,组别,座位号\n王建国,,5\n".encode())) == [(5, "王建国", None)]


def test_excel_habits_are_understood() -> None:
    data = (
        "示例市人大常委会组成人员名单,,\n"  # a title row above the header
        " 座位号 ,姓 名,代表团\n"
        "\n"  # blank lines are not members
        "１,王　伟 , 第一组\n"  # full-width digit (IME), name padded for alignment
        '2,"买买提·艾力",第二组\n'
    ).encode("gb18030")
    assert rows(parse_roster(data)) == [(1, "王伟", "第一组"), (2, "买买提·艾力", "第二组")]


def test_xlsx_good() -> None:
    data = xlsx(
        ["示例市人大常委会组成人员名单"],
        [],
        ["座位号", "姓名", "代表团"],
        [1, "王建国", "第一组"],
        [2.0, "李红梅", None],  # Excel keeps numbers as floats
        ["3", "张志强", "第二组"],
    )
    parsed = parse_roster(data, "名单.xlsx")
    assert rows(parsed) == [(1, "王建国", "第一组"), (2, "李红梅", None), (3, "张志强", "第二组")]
    assert [r.line for r in parsed.rows] == [4, 5, 6]  # Excel's row numbers


def test_xlsx_bad_rows_have_excel_row_numbers() -> None:
    data = xlsx(
        ["座位号", "姓名"],
        [1, "王建国"],
        [None, "李红梅"],
        [],
        [1.5, "张志强"],
        [1, None],
    )
    parsed = parse_roster(data, "名单.xlsx")
    assert [(e.line, e.field) for e in parsed.errors] == [
        (2, "seat"),
        (3, "seat"),
        (5, "seat"),
        (6, "seat"),
        (6, "name"),
    ]
    assert "第6行" in parsed.errors[0].message  # seat 1 on rows 2 and 6: each names the other
    assert "第2行" in parsed.errors[3].message


def test_every_bad_row_is_reported_with_its_line() -> None:
    long_name = "长" * 51
    data = (
        "座位号,姓名,代表团\n"  # line 1
        "1,王建国,第一组\n"  # 2 ok
        ",李红梅,\n"  # 3 empty seat
        "3,,\n"  # 4 empty name
        "4,张志强\n"  # 5 ok, group cell missing altogether
        f"5,{long_name},\n"  # 6 name too long
        "1,刘秀英,\n"  # 7 seat of line 2 again
        "abc,陈国华,\n"  # 8 not a number
        "-3,杨丽娟,\n"  # 9 not positive
        "1,赵德明,\n"  # 10 seat of lines 2 and 7 again
        "9,黄海燕,,多余\n"  # 11 a value under no heading
    ).encode()
    parsed = parse_roster(data, "roster.csv")
    got = [(e.line, e.field) for e in parsed.errors]
    assert got == [
        (2, "seat"),
        (3, "seat"),
        (4, "name"),
        (6, "name"),
        (7, "seat"),
        (8, "seat"),
        (9, "seat"),
        (10, "seat"),
        (11, "row"),
    ]
    by_line = {e.line: e for e in parsed.errors}
    assert "第7、10行" in by_line[2].message and "lines 7, 10" in by_line[2].message
    assert "第2、10行" in by_line[7].message
    assert "姓名为空" in by_line[4].message and "name is empty" in by_line[4].message
    assert "51" in by_line[6].message and "50" in by_line[6].message
    assert str(by_line[3]) == "第3行 seat: 座位号为空 / seat is empty"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [(1, "file")]),
        (b"\n\n  \n", [(1, "file")]),
        ("座位号,姓名\n".encode(), [(1, "file")]),  # nobody listed
        ("座位号,名字\n1,王建国\n".encode(), [(1, "header"), (1, "header")]),  # unknown + no name
        ("姓名,电话\n王建国,123\n".encode(), [(1, "header"), (1, "header")]),  # unknown + no seat
        ("座位号,姓名,姓名\n1,王,王\n".encode(), [(1, "header")]),  # column twice
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", [(1, "file")]),  # old .xls
        (b"PK\x03\x04 not really a zip", [(1, "file")]),
    ],
    ids=["empty", "blank", "header-only", "no-name", "no-seat", "twice", "xls", "bad-xlsx"],
)
def test_file_level_errors(data: bytes, expected: list[tuple[int, str]]) -> None:
    parsed = parse_roster(data)
    assert [(e.line, e.field) for e in parsed.errors] == expected
    assert parsed.rows == ()
    assert all(" / " in e.message for e in parsed.errors)  # Chinese / English


def test_unknown_header_names_the_column() -> None:
    (unknown, missing) = parse_roster("座位号,名字\n1,王建国\n".encode()).errors
    assert "名字" in unknown.message
    assert "姓名" in missing.message and "name" in missing.message


# ---------------------------------------------------------------- hostile files


def rezip(
    data: bytes, replace: dict[str, bytes], drop: tuple[str, ...] = (), extra: int = 0
) -> bytes:
    """The XLSX ``data`` with parts replaced or dropped, and ``extra`` empty parts added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename not in drop:
                target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for i in range(extra):
            target.writestr(f"xl/media/extra{i}.bin", b"")
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def only_refusal(parsed: ParsedRoster) -> str:
    """The single file-level refusal of ``parsed``, in Chinese / English."""
    assert parsed.rows == (), parsed.rows[:3]
    assert len(parsed.errors) == 1, parsed.errors[:3]
    assert " / " in parsed.errors[0].message
    return parsed.errors[0].message


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked() -> None:
    """A sheet that is 30 KB zipped and 30 MB unpacked (a valid roster with padding)."""
    good = xlsx(["座位号", "姓名"], [1, "王建国"])
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        sheet = z.read(SHEET)
    padded = sheet.replace(b"</sheetData>", b" " * (30 * 1024 * 1024) + b"</sheetData>")
    bomb = rezip(good, {SHEET: padded})
    assert len(bomb) < 100_000
    assert rows(parse_roster(good, "名单.xlsx")) == [(1, "王建国", None)]
    message = only_refusal(parse_roster(bomb, "名单.xlsx"))
    assert f"解压后过大：最多 {MAX_XLSX_UNPACKED // 2**20} MB" in message

    crowded = rezip(good, {}, extra=MAX_XLSX_PARTS)  # a zip of thousands of tiny files
    assert f"部件过多：最多 {MAX_XLSX_PARTS} 个" in only_refusal(parse_roster(crowded))


def test_rows_columns_cells_and_bytes_are_bounded() -> None:
    header = "座位号,姓名\n"
    at_limit = header + "".join(f"{i},代表{i}\n" for i in range(1, MAX_ROWS))
    assert len(rows(parse_roster(at_limit.encode()))) == MAX_ROWS - 1
    over = at_limit + f"{MAX_ROWS},代表{MAX_ROWS}\n"
    assert f"名册最多 {MAX_ROWS} 行" in only_refusal(parse_roster(over.encode()))
    assert parse_roster(over.encode()).errors[0].line == MAX_ROWS + 1

    wide = header.strip() + "," * MAX_COLUMNS + "x\n1,王建国\n"
    assert f"名册最多 {MAX_COLUMNS} 列" in only_refusal(parse_roster(wide.encode()))
    padded = header.strip() + "," * 100 + "\n1,王建国" + "," * 100 + "\n"  # Excel's empty cells
    assert rows(parse_roster(padded.encode())) == [(1, "王建国", None)]

    long_cell = header + "1," + "王" * (MAX_CELL_CHARS + 1) + "\n"
    assert f"单元格最多 {MAX_CELL_CHARS} 个字符" in only_refusal(parse_roster(long_cell.encode()))

    big = (header + "1,王建国\n" + " " * MAX_BYTES).encode()
    assert f"名册文件过大：最多 {MAX_BYTES // 2**20} MB" in only_refusal(parse_roster(big))


@pytest.mark.slow
def test_xlsx_rows_and_columns_are_bounded() -> None:
    many = xlsx(["座位号", "姓名"], *([i, f"代表{i}"] for i in range(1, MAX_ROWS + 1)))
    assert f"名册最多 {MAX_ROWS} 行" in only_refusal(parse_roster(many, "名单.xlsx"))
    # a value right of the last allowed column (U = 21st) is refused, not ignored
    wide = xlsx(["座位号", "姓名"], [1, "王建国"])
    with zipfile.ZipFile(io.BytesIO(wide)) as z:
        sheet = z.read(SHEET)
    far = sheet.replace(
        b"</row></sheetData>", b'<c r="U2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    assert far != sheet
    assert f"名册最多 {MAX_COLUMNS} 列" in only_refusal(parse_roster(rezip(wide, {SHEET: far})))
    # a stray value at Excel's last row: read (gaps cost nothing), reported with its row
    down = sheet.replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576"><v>9</v></c></row></sheetData>'
    )
    stray = parse_roster(rezip(wide, {SHEET: down}))
    assert [(e.line, e.field) for e in stray.errors] == [(1048576, "name")]


NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def test_a_malformed_xlsx_is_refused_never_raised() -> None:
    """Broken XML, a missing part, a cut or corrupt zip: each a refusal, none a traceback."""
    good = xlsx(["座位号", "姓名"], [1, "王建国"], ["2", "李红梅"])
    broken = {
        "cut-xml": rezip(good, {SHEET: NS + b'<sheetData><row r="1"><c'}),
        "entity": rezip(
            good, {SHEET: b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aa'>]><x>&a;</x>"}
        ),
        "bad-coordinates": rezip(
            good,
            {
                SHEET: NS + b'<sheetData><row r="x"><c r="ZZZZZ1"><v>1</v></c></row>'
                b"</sheetData></worksheet>"
            },
        ),
        "no-shared-string": rezip(
            good,
            {
                SHEET: NS + b'<sheetData><row r="1"><c r="A1" t="s"><v>99</v></c></row>'
                b"</sheetData></worksheet>"
            },
        ),
        "no-sheet": rezip(good, {}, drop=(SHEET,)),
        "no-workbook": rezip(good, {}, drop=("xl/workbook.xml",)),
        "truncated": good[: len(good) // 2],
        "not-a-zip": b"PK\x03\x04" + bytes(range(256)) * 20,
    }
    for name, data in broken.items():
        assert "不是有效的XLSX文件" in only_refusal(parse_roster(data, "名单.xlsx")), name


# ---------------------------------------------------------------- applying


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


def _new_body(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        body = Body(name="测试市人大常委会", kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.CITY)
        s.add(body)
        s.flush()
        return body.id


def _members(
    sessions: sessionmaker[Session], body_id: int
) -> list[tuple[int, str, str | None, bool]]:
    with sessions() as s:
        members = s.scalars(select_members(body_id)).all()
        return [(m.seat, m.name, m.group_name, m.active) for m in members]


def select_members(body_id: int) -> sa.Select[tuple[Member]]:
    return sa.select(Member).where(Member.body_id == body_id).order_by(Member.seat)


def _apply(sessions: sessionmaker[Session], body_id: int, data: bytes) -> RosterChanges:
    with sessions.begin() as s:
        return apply_roster(s, s.get_one(Body, body_id), parse_roster(data))


def _member_count(sessions: sessionmaker[Session], body_id: int) -> int:
    with sessions() as s:
        return s.get_one(Body, body_id).member_count


def test_apply_creates_updates_and_deactivates(sessions: sessionmaker[Session]) -> None:
    body_id = _new_body(sessions)
    changes = _apply(sessions, body_id, GOOD_CSV.encode())
    assert (changes.created, changes.active) == (3, 3)
    assert _members(sessions, body_id) == [(s, n, g, True) for s, n, g in GOOD_ROWS]
    assert _member_count(sessions, body_id) == 3

    with sessions.begin() as s:  # 王建国 has enrolled a PIN; 李红梅 too
        for m in s.scalars(select_members(body_id)):
            m.pin_hash = f"hash-{m.seat}"

    second = "座位号,姓名,代表团\n1,王建国,第三组\n2,刘秀英,第一组\n4,陈国华,\n".encode()
    changes = _apply(sessions, body_id, second)
    assert changes == RosterChanges(
        created=1, updated=2, unchanged=0, deactivated=1, active=3, deputies=3
    )
    assert _members(sessions, body_id) == [
        (1, "王建国", "第三组", True),  # group changed
        (2, "刘秀英", "第一组", True),  # a new person on seat 2
        (3, "张志强", "第二组", False),  # absent from the file: kept, inactive
        (4, "陈国华", None, True),
    ]
    with sessions() as s:
        pins = {m.seat: m.pin_hash for m in s.scalars(select_members(body_id))}
    assert pins[1] == "hash-1"  # same person keeps the PIN
    assert pins[2] is None  # the PIN belonged to 李红梅, not to seat 2
    assert _member_count(sessions, body_id) == 3

    # Seat 3 returns: reactivated, count follows.
    changes = _apply(sessions, body_id, second + "3,张志强,第二组\n".encode())
    assert (changes.updated, changes.unchanged, changes.active) == (1, 3, 4)
    assert _member_count(sessions, body_id) == 4


def test_bad_roster_changes_nothing(sessions: sessionmaker[Session]) -> None:
    body_id = _new_body(sessions)
    _apply(sessions, body_id, GOOD_CSV.encode())
    before = _members(sessions, body_id)
    bad = "座位号,姓名\n1,新人甲\n2,新人乙\n2,新人丙\n5,\n".encode()
    with pytest.raises(RosterRejected) as rejected:
        _apply(sessions, body_id, bad)
    assert [(e.line, e.field) for e in rejected.value.errors] == [
        (3, "seat"),
        (4, "seat"),
        (5, "name"),
    ]
    assert _members(sessions, body_id) == before
    assert _member_count(sessions, body_id) == 3


def test_roster_cannot_change_during_an_open_vote(sessions: sessionmaker[Session]) -> None:
    from datetime import UTC, datetime

    body_id = _new_body(sessions)
    _apply(sessions, body_id, GOOD_CSV.encode())
    with sessions.begin() as s:
        sitting = Sitting(body_id=body_id, title="第一次会议", starts_at=datetime.now(UTC))
        vote = Vote(
            agenda_item=AgendaItem(sitting=sitting, position=1, title="议"),
            title="表决",
            state=VoteState.OPEN,
        )
        vote.configure({"kind": "motion", "subjects": ["a"]}, {"a": "A"})
        s.add(vote)
    with pytest.raises(RosterRejected) as rejected:
        _apply(sessions, body_id, "座位号,姓名\n1,王建国\n".encode())
    assert rejected.value.errors[0] == RosterError(
        1, "file", "表决进行中，不能更换名册 / a vote is open: the roster cannot change now"
    )
    assert _member_count(sessions, body_id) == 3


CONGRESS_CSV = (
    "座位号,姓名,代表团,身份,主席团\n"
    "1,王建国,城关代表团,代表,执行主席\n"
    "2,李红梅,城关代表团,,成员\n"
    "3,张志强,河西代表团,代表,\n"
    "4,陈国华,,列席,\n"
)


def test_congress_columns_set_delegation_role_and_presidium(
    sessions: sessionmaker[Session],
) -> None:
    parsed = parse_roster(CONGRESS_CSV.encode())
    assert parsed.errors == ()
    assert [(r.seat, r.group, r.role.value, r.presidium.value) for r in parsed.rows] == [
        (1, "城关代表团", "deputy", "executive_chair"),
        (2, "城关代表团", "deputy", "member"),
        (3, "河西代表团", "deputy", "none"),
        (4, None, "attendee", "none"),
    ]
    body_id = _new_body(sessions)
    changes = _apply(sessions, body_id, CONGRESS_CSV.encode())
    assert (changes.active, changes.deputies) == (4, 3)
    assert _member_count(sessions, body_id) == 3  # 应到: the 列席 attendee does not count
    with sessions() as s:
        standing = [(m.seat, m.role.value, m.presidium.value) for m in s.scalars(
            select_members(body_id))]  # fmt: skip
    assert standing[0] == (1, "deputy", "executive_chair") and standing[3] == (
        4,
        "attendee",
        "none",
    )
    # The attendee becomes a deputy: an update, and 应到 follows.
    changes = _apply(sessions, body_id, CONGRESS_CSV.replace("列席", "代表").encode())
    assert (changes.updated, changes.deputies) == (1, 4)
    assert _member_count(sessions, body_id) == 4


def test_bad_role_and_presidium_cells_name_row_and_column(sessions: sessionmaker[Session]) -> None:
    body_id = _new_body(sessions)
    _apply(sessions, body_id, CONGRESS_CSV.encode())
    before = _members(sessions, body_id)
    bad = (
        "座位号,姓名,身份,主席团\n"
        "1,王建国,代表,主席\n"  # not a presidium value
        "2,李红梅,旁听,\n"  # not a role
        "3,张志强,列席,成员\n"  # an attendee on the presidium
    )
    parsed = parse_roster(bad.encode())
    assert [(e.line, e.field) for e in parsed.errors] == [
        (2, "presidium"), (3, "role"), (4, "presidium"),
    ]  # fmt: skip
    assert "主席" in str(parsed.errors[0]) and "第2行" in str(parsed.errors[0])
    with pytest.raises(RosterRejected):
        _apply(sessions, body_id, bad.encode())
    assert _members(sessions, body_id) == before  # nothing imported
    # A roster of attendees alone has no 应到
    with pytest.raises(RosterRejected):
        _apply(sessions, body_id, "座位号,姓名,身份\n1,王建国,列席\n".encode())
