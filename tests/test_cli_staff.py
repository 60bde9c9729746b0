"""``voting-server create-user``, ``enrollment-codes`` and ``issue-pins``."""

from __future__ import annotations

import csv
import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import tests.support.db as support_db
from voting_server.cli import main
from voting_server.db import make_engine, make_session_factory
from voting_server.models import EnrollmentCode, Member, StaffRole, StaffUser
from voting_server.services import devices, staff
from voting_server.services.audit_log import iter_lines
from voting_server.services.passwords import verify_secret

CODE = re.compile(r"^(\d+)\t([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})$")
demo_url = support_db.demo_url  # the fixture: the demo in a fresh embedded database


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def _session(url: str):  # type: ignore[no-untyped-def]
    return make_session_factory(make_engine(url))()


def test_create_user_reads_the_password_from_stdin_and_never_prints_it(demo_url: str) -> None:
    code, out, err = run(
        "create-user", "Zhu.Chi", "--role", "presidium", "--display-name", "王主任",
        "--password-stdin", "--database-url", demo_url, input="a long password\n",
    )  # fmt: skip
    assert code == 0, err
    assert "zhu.chi" in out and "a long password" not in out + err
    with _session(demo_url) as s:
        user = staff.authenticate(s, "zhu.chi", "a long password")
        assert user is not None and (user.role, user.display_name) == (
            StaffRole.PRESIDIUM,
            "王主任",
        )


def test_create_user_prompts_twice_without_echo(demo_url: str) -> None:
    code, out, err = run(
        "create-user", "mi.shu", "--role", "secretariat", "--database-url", demo_url,
        input="first password\nfirst password\n",
    )  # fmt: skip
    assert code == 0, err
    assert "first password" not in out + err
    with _session(demo_url) as s:
        assert staff.authenticate(s, "mi.shu", "first password") is not None


def test_create_user_refuses_a_weak_password_a_taken_name_and_an_unknown_role(
    demo_url: str,
) -> None:
    code, _, err = run(
        "create-user", "mi.shu", "--role", "secretariat", "--password-stdin",
        "--database-url", demo_url, input="short\n",
    )  # fmt: skip
    assert code == 1 and "密码至少10个字符" in err and "short" not in err
    ok = ("--password-stdin", "--database-url", demo_url)
    assert (
        run("create-user", "mi.shu", "--role", "secretariat", *ok, input="long password\n")[0] == 0
    )
    code, _, err = run("create-user", "MI.SHU", "--role", "display", *ok, input="long password\n")
    assert code == 1 and "用户名已被使用" in err
    assert run("create-user", "x.y", "--role", "admin", *ok, input="long password\n")[0] == 2
    with _session(demo_url) as s:
        assert len(s.scalars(select(StaffUser)).all()) == 1


def test_enrollment_codes_for_one_seat_or_all_seats(demo_url: str) -> None:
    code, out, err = run("enrollment-codes", "--seat", "7", "--database-url", demo_url)
    assert code == 0, err
    (line,) = out.splitlines()
    match = CODE.match(line)
    assert match and match[1] == "7"
    assert "请妥善保管" in err

    code, out, err = run(
        "enrollment-codes", "--all", "--ttl-hours", "2", "--database-url", demo_url
    )
    assert code == 0, err
    matches = [CODE.match(line) for line in out.splitlines()]
    assert [int(m[1]) for m in matches if m] == list(range(1, 62))
    with _session(demo_url) as s:

        def record(code: str) -> EnrollmentCode:
            found = s.scalar(
                select(EnrollmentCode).where(EnrollmentCode.code_hash == devices.code_hash(code))
            )
            assert found is not None
            return found

        now = datetime.now(UTC)
        assert record(match[2]).expires_at <= now  # the seat's first code was voided
        second = record(matches[6][2])  # type: ignore[index]
        assert second.seat == 7 and second.expires_at - second.created_at == timedelta(hours=2)

    assert run("enrollment-codes", "--database-url", demo_url)[0] == 2
    assert run("enrollment-codes", "--seat", "3", "--all", "--database-url", demo_url)[0] == 2
    code, _, err = run("enrollment-codes", "--seat", "99", "--database-url", demo_url)
    assert code == 1 and "该座位没有在册组成人员" in err


@pytest.mark.slow
def test_issue_pins_writes_a_private_csv_and_never_overwrites(
    demo_url: str, tmp_path: Path
) -> None:
    out_file = tmp_path / "pins.csv"
    code, out, err = run("issue-pins", "--out", str(out_file), "--database-url", demo_url)
    assert code == 0, err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    with out_file.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 61 and list(rows[0]) == ["seat", "name", "pin"]
    assert all(re.fullmatch(r"[0-9]{6}", r["pin"]) for r in rows)
    assert not any(r["pin"] in out + err for r in rows)
    with _session(demo_url) as s:
        members = {m.seat: m for m in s.scalars(select(Member))}
        for row in rows[:3]:
            member = members[int(row["seat"])]
            assert member.name == row["name"] and verify_secret(member.pin_hash, row["pin"])

    before = out_file.read_bytes()
    code, _, err = run("issue-pins", "--out", str(out_file), "--database-url", demo_url)
    assert code == 1 and "不会覆盖" in err
    assert out_file.read_bytes() == before
    with _session(demo_url) as s:  # and the PINs were not changed either
        assert verify_secret(
            s.scalar(select(Member.pin_hash).where(Member.seat == 1)), rows[0]["pin"]
        )


@pytest.mark.slow
def test_issue_pins_writes_a_formula_like_name_as_text(demo_url: str, tmp_path: Path) -> None:
    """A member named like a formula (=HYPERLINK, +1, @SUM...) is text in the PIN file:
    a leading ' and quoted, so the spreadsheet opening it runs nothing (OWASP)."""
    hostile = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    with _session(demo_url) as s, s.begin():
        for seat, name in enumerate(hostile, start=1):
            s.scalars(select(Member).where(Member.seat == seat)).one().name = name
    out_file = tmp_path / "pins.csv"
    code, _, err = run("issue-pins", "--out", str(out_file), "--database-url", demo_url)
    assert code == 0, err
    text = out_file.read_text(encoding="utf-8-sig")
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in text
    with out_file.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows[:6]] == ["'" + name for name in hostile]
    assert all(re.fullmatch(r"[0-9]{6}", r["pin"]) for r in rows)


def test_issue_pins_on_an_uninitialised_database_leaves_no_file(tmp_path: Path) -> None:
    out_file = tmp_path / "pins.csv"
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    code, _, err = run("issue-pins", "--out", str(out_file), "--database-url", url)
    assert code == 1 and "init-db" in err
    assert not out_file.exists()


def test_body_create_and_staff_scoped_to_it_are_logged_in_the_right_logs(demo_url: str) -> None:
    """A second body's log starts with log_started naming it and the accounts that serve
    it; an account made ``--body`` it is logged there only; ``staff scope`` in both."""
    code, _, err = run("staff", "create", "shi.ban", "--role", "secretariat",
                       "--password-stdin", "--database-url", demo_url,
                       input="a long password\n")  # fmt: skip
    assert code == 0, err
    code, out, err = run("body", "create", "--name", "示例镇人民代表大会", "--kind", "congress",
                         "--level", "township", "--database-url", demo_url)  # fmt: skip
    assert code == 0, err
    town = int(out.split("\t")[0].split()[-1])
    code, out, _ = run("body", "list", "--database-url", demo_url)
    assert f"{town}\t示例镇人民代表大会\tcongress\ttownship\t0" in out
    code, _, err = run("staff", "create", "zhen.mishu", "--role", "secretariat", "--body",
                       str(town), "--password-stdin", "--database-url", demo_url,
                       input="a long password\n")  # fmt: skip
    assert code == 0, err
    code, _, err = run("staff", "scope", "zhen.mishu", "--body", "示例镇人民代表大会",
                       "--body", "1", "--database-url", demo_url)  # fmt: skip
    assert code == 0, err
    assert run("body", "create", "--name", "某镇人大常委会", "--kind", "standing_committee",
               "--level", "township", "--database-url", demo_url)[0] == 1  # fmt: skip

    def logged(body: int) -> list[tuple[str, str]]:
        with _session(demo_url) as s:
            found = [json.loads(x) for x in iter_lines(s, body)]
        return [(e["type"], e["data"].get("username", "")) for e in found]

    town_log = logged(town)
    assert town_log[0] == ("log_started", "")
    assert ("staff_created", "shi.ban") in town_log  # an older platform account: existing
    assert [e for e in town_log if e[1] == "zhen.mishu"] == [
        ("staff_created", "zhen.mishu"), ("staff_scope_changed", "zhen.mishu"),
    ]  # fmt: skip
    assert [e for e in logged(1) if e[1] == "zhen.mishu"] == [("staff_scope_changed", "zhen.mishu")]
    with _session(demo_url) as s:
        first = json.loads(next(iter(iter_lines(s, town))))
    assert first["data"]["body"] == {"id": town, "name": "示例镇人民代表大会",
                                     "kind": "congress", "level": "township"}  # fmt: skip
