"""``voting-server init-db``, ``import-roster`` and ``demo`` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

import tests.support.db as support_db
from voting_server.cli import main
from voting_server.db import head_revision, make_engine
from voting_server.demo.county import (
    COUNTY_COMMITTEE,
    COUNTY_CONGRESS,
    TOWN_CONGRESS,
)

demo_url = support_db.demo_url  # the city committee alone: the roster commands' one body

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/voting"  # nothing listens on port 1


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def members(url: str) -> list[tuple[int, str, bool]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT seat, name, active FROM members ORDER BY seat"))
            return [(seat, name, bool(active)) for seat, name, active in rows]
    finally:
        engine.dispose()


def member_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT member_count FROM bodies")).scalar_one()
    finally:
        engine.dispose()


def bodies(url: str) -> dict[str, tuple[int, int]]:
    """name → (应到, active seats) of every body."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT b.name, b.member_count, count(m.id) FROM bodies b"
                    " JOIN members m ON m.body_id = b.id AND m.active GROUP BY b.id, b.name"
                )
            )
            return {name: (count, seats) for name, count, seats in rows}
    finally:
        engine.dispose()


def test_init_db_creates_the_schema(sqlite_url: str) -> None:
    result = run("init-db", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert head_revision() in result.stdout
    engine = make_engine(sqlite_url)
    try:
        assert "votes" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert run("init-db", "--database-url", sqlite_url).exit_code == 0  # again: nothing to do


@pytest.mark.slow
def test_database_url_from_the_environment(sqlite_url: str) -> None:
    result = run("demo", env={"VOTING_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert bodies(sqlite_url) == COUNTY


# 应到 (deputies) and active seats (列席 attendees included) of the demo's three bodies.
COUNTY = {COUNTY_CONGRESS: (250, 258), COUNTY_COMMITTEE: (35, 35), TOWN_CONGRESS: (50, 50)}


@pytest.mark.slow
def test_demo_loads_the_county_once(sqlite_url: str) -> None:
    result = run("demo", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"{COUNTY_CONGRESS} (id 1), 250 名代表/组成人员 members, 12 个代表团" in out
    assert "主席团 presidium 25, 8 名列席 attendees" in out
    assert f"{COUNTY_COMMITTEE} (id 2), 35 " in out and f"{TOWN_CONGRESS} (id 3), 50 " in out
    assert "[selection]" in out and "[evaluation]" in out
    again = run("demo", "--database-url", sqlite_url)
    assert again.exit_code == 0 and bodies(sqlite_url) == COUNTY


@pytest.mark.slow
def test_good_roster(demo_url: str, tmp_path: Path) -> None:
    sqlite_url = demo_url

    roster = tmp_path / "名册.csv"
    lines = ["座位号,姓名,代表团"] + [f"{seat},委员{seat},第一组" for seat in range(1, 56)]
    roster.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    result = run("import-roster", str(roster), "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "active 55" in result.stdout and "deactivated 6" in result.stdout
    assert member_count(sqlite_url) == 55
    assert members(sqlite_url)[0] == (1, "委员1", True)
    assert members(sqlite_url)[-1][2] is False  # seat 61 is no longer in the roster


@pytest.mark.slow
def test_bad_roster_lists_every_row_and_imports_nothing(demo_url: str, tmp_path: Path) -> None:
    sqlite_url = demo_url
    before = members(sqlite_url)
    roster = tmp_path / "bad.csv"
    roster.write_text("座位号,姓名\n1,新甲\n2,\n1,新乙\n,新丙\n5,新丁\n", encoding="utf-8-sig")
    result = run("import-roster", str(roster), "--body", "1", "--database-url", sqlite_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "第2行 seat: 座位号1与第4行重复 / seat 1 is also on line 4",
        "第3行 name: 姓名为空 / name is empty",
        "第4行 seat: 座位号1与第2行重复 / seat 1 is also on line 2",
        "第5行 seat: 座位号为空 / seat is empty",
        "名册有4处错误，未导入任何数据 / 4 error(s): nothing was imported",
    ]
    assert result.stdout == ""
    assert members(sqlite_url) == before
    assert member_count(sqlite_url) == 61


@pytest.mark.slow
def test_an_over_limit_roster_file_is_refused_naming_the_limit(
    demo_url: str, tmp_path: Path
) -> None:
    """The command reads at most the bound (2 MB) and imports nothing past it."""
    sqlite_url = demo_url
    before = members(sqlite_url)
    big = tmp_path / "big.csv"
    big.write_bytes("座位号,姓名\n1,新甲\n".encode() + b" " * (3 * 1024 * 1024))
    result = run("import-roster", str(big), "--database-url", sqlite_url)
    assert result.exit_code == 1
    assert "名册文件过大：最多 2 MB" in result.stderr
    long = tmp_path / "long.csv"
    long.write_text("座位号,姓名\n" + "".join(f"{i},委员{i}\n" for i in range(1, 5001)))
    result = run("import-roster", str(long), "--database-url", sqlite_url)
    assert result.exit_code == 1
    assert "名册最多 5000 行" in result.stderr
    assert members(sqlite_url) == before


@pytest.mark.slow
def test_xlsx_roster_through_the_command(demo_url: str, tmp_path: Path) -> None:
    import openpyxl

    sqlite_url = demo_url
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["seat", "name", "group"])
    for seat in range(1, 62):
        sheet.append([seat, f"代表{seat}", "第二组"])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    result = run("import-roster", str(path), "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "updated 61" in result.stdout
    assert members(sqlite_url)[60] == (61, "代表61", True)


@pytest.mark.slow
def test_import_roster_errors_are_one_line(sqlite_url: str, tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("座位号,姓名\n1,甲\n", encoding="utf-8")

    missing = run("import-roster", str(tmp_path / "nope.csv"), "--database-url", sqlite_url)
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [
        f"Error: 无法读取文件 cannot read {tmp_path / 'nope.csv'}: No such file or directory"
    ]

    not_initialised = run("import-roster", str(roster), "--database-url", sqlite_url)
    assert not_initialised.exit_code == 1
    assert "init-db" in not_initialised.stderr and "Traceback" not in not_initialised.output

    assert run("init-db", "--database-url", sqlite_url).exit_code == 0
    no_body = run("import-roster", str(roster), "--database-url", sqlite_url)
    assert no_body.exit_code == 1 and "no body" in no_body.stderr

    assert run("demo", "--database-url", sqlite_url).exit_code == 0
    wrong_body = run("import-roster", str(roster), "--body", "7", "--database-url", sqlite_url)
    assert wrong_body.exit_code == 1 and "no body with id 7" in wrong_body.stderr
    several = run("import-roster", str(roster), "--database-url", sqlite_url)
    assert several.exit_code == 1 and "--body" in several.stderr
    assert bodies(sqlite_url) == COUNTY


@pytest.mark.parametrize("command", ["init-db", "demo"])
def test_unreachable_database(command: str) -> None:
    result = run(command, "--database-url", UNREACHABLE_PG)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: 数据库不可用 database unavailable:")
    assert "Connection refused" in lines[0] or "connection failed" in lines[0]


def test_unopenable_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'v.sqlite3'}"
    result = run("init-db", "--database-url", url)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: 数据库不可用 database unavailable: OperationalError: unable to open database file"
    ]


@pytest.mark.slow
def test_demo_creates_staff_accounts_and_pins_once(sqlite_url: str, _instance_dir: Path) -> None:
    from voting_server.db import make_session_factory
    from voting_server.models import Body, Member
    from voting_server.services import staff
    from voting_server.services.passwords import verify_secret

    assert run("demo", "--database-url", sqlite_url).exit_code == 0
    path = _instance_dir / "demo-credentials.txt"
    assert path.stat().st_mode & 0o777 == 0o600  # passwords: for the operator's eyes only
    first = path.read_text(encoding="utf-8")
    accounts = [line.split() for line in first.splitlines() if line[:1].isalpha()]
    # Each body's presidium, scrutineers and display; the county's secretariat serves
    # its two bodies, the town has its own.
    roles = sorted(role for role, _, _ in accounts)
    assert roles.count("presidium") == 3 and roles.count("display") == 3
    assert roles.count("scrutineer") == 6 and roles.count("secretariat") == 2
    pins: dict[str, dict[str, str]] = {}
    for line in first.splitlines():
        if line.startswith("# 示例"):
            body = line[2:].split(" (id")[0]
            pins[body] = {}
        elif line[:1] == " ":
            seat, pin = line.split()
            pins[body][seat] = pin
    assert {name: len(p) for name, p in pins.items()} == {
        name: seats for name, (_, seats) in COUNTY.items()
    }  # every seat, 列席 attendees' too: they sign in
    engine = make_engine(sqlite_url)
    try:
        with make_session_factory(engine)() as s:
            for role, username, password in accounts:
                user = staff.authenticate(s, username, password)
                assert user is not None and user.role.value == role
            member = s.scalars(
                sa.select(Member).join(Body).where(Body.name == TOWN_CONGRESS, Member.seat == 5)
            ).one()
            assert verify_secret(member.pin_hash or "", pins[TOWN_CONGRESS]["5"])
    finally:
        engine.dispose()
    # a second run keeps the accounts, the PINs and the file as they are
    assert run("demo", "--database-url", sqlite_url).exit_code == 0
    assert path.read_text(encoding="utf-8") == first


@pytest.mark.slow
def test_demo_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    result = run("demo", "--database-url", postgres_url)
    assert result.exit_code == 0, result.output
    roster = tmp_path / "r.csv"
    roster.write_text("座位号,姓名\n1,甲\n1,乙\n", encoding="utf-8")
    bad = run("import-roster", str(roster), "--body", "3", "--database-url", postgres_url)
    assert bad.exit_code == 1
    assert bodies(postgres_url) == COUNTY


@pytest.mark.slow
def test_real_executable(tmp_path: Path) -> None:
    """The installed console script, in a fresh process, with the URL from the environment."""
    exe = Path(sys.executable).with_name("voting-server")
    assert exe.is_file(), f"{exe} missing: install the project with pip install -e ."
    url = f"sqlite:///{tmp_path / 'hall.sqlite3'}"
    env = {**os.environ, "VOTING_DATABASE_URL": url}
    demo = subprocess.run([exe, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert all(name in demo.stdout for name in COUNTY)

    roster = tmp_path / "名册.csv"
    roster.write_bytes("座位号,姓名\n1,王建国\n2,王建国\n3,\n".encode("gb18030"))
    bad = subprocess.run(
        [exe, "import-roster", roster, "--body", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "第4行 name: 姓名为空 / name is empty" in bad.stderr.splitlines()
    assert bodies(url) == COUNTY  # nothing imported; two members may share a name, though

    good = roster.with_name("good.csv")
    good.write_text("座位号,姓名\n1,王建国\n2,王建国\n", encoding="utf-8")
    ok = subprocess.run(
        [exe, "import-roster", good, "--body", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert bodies(url)[TOWN_CONGRESS] == (2, 2)
