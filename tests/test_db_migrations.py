"""The schema is made by the migrations, and the migrations match the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from audit.entry import entry_hash
from tests.support.bundles import verify_json
from tests.support.logs import sitting
from voting_server.db import (
    alembic_config,
    current_revision,
    default_database_url,
    head_revision,
    make_engine,
    normalize_url,
    upgrade,
)
from voting_server.models import Base
from voting_server.services.export import export_bundle

TABLES = {
    *("bodies", "members", "sittings", "agenda_items", "documents", "votes", "attendances"),
    *("staff_users", "enrollment_codes", "devices", "audit_entries", "presses"),  # 0002
    *("paper_counts", "countersignatures"),  # 0003
    "device_replacements",  # 0004_seats
    "staff_sessions",  # 0005_staff_sessions
    "sitting_scrutineers",  # 0006_duties
    "staff_scopes",  # 0008_body_logs
    *("tracked_items", "item_documents", "item_events"),  # 0011_tracked_items
    "leaves",  # 0012_leave
    *("trustee_ceremonies", "trustee_posts"),  # 0013_trustee_ceremony
}


def _schema_diff(url: str, metadata: sa.MetaData = Base.metadata) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


def test_upgrade_empty_database_to_head_matches_models(empty_url: str) -> None:
    assert _tables(empty_url) == set()
    upgrade(empty_url)
    assert _tables(empty_url) == TABLES | {"alembic_version"}
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    assert _schema_diff(empty_url) == []


def test_schema_comparison_detects_a_difference(sqlite_url: str) -> None:
    # The check above is only worth something if a mismatch shows up.
    upgrade(sqlite_url)
    changed = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["members"].append_column(sa.Column("nickname", sa.String(20)))
    diff = _schema_diff(sqlite_url, changed)
    assert [d[0] for d in diff if isinstance(d, tuple)] == ["add_column"]


def test_upgrade_twice_is_a_no_op_and_downgrade_removes_everything(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    upgrade(sqlite_url)
    assert _tables(sqlite_url) == TABLES | {"alembic_version"}
    command.downgrade(alembic_config(sqlite_url), "base")
    assert _tables(sqlite_url) == {"alembic_version"}
    upgrade(sqlite_url)
    assert _schema_diff(sqlite_url) == []


def _vote_checks(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_check_constraints("votes")}
    finally:
        engine.dispose()


def test_0007_lets_votes_be_of_any_kind_and_keeps_their_other_checks(empty_url: str) -> None:
    upgrade(empty_url)
    # A kind is a registered module (rules/kinds), not a value the database lists.
    assert _vote_checks(empty_url) == {
        "ck_votes_key_policy", "ck_votes_live_tally", "ck_votes_vote_state",
        "ck_votes_electorate",  # 0009_congress
    }  # fmt: skip
    command.downgrade(alembic_config(empty_url), "0006")
    assert "ck_votes_vote_kind" in _vote_checks(empty_url)
    upgrade(empty_url)
    assert _schema_diff(empty_url) == []


def test_sqlite_connections_are_durable_and_enforce_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_transactions_roll_back_ddl_and_reads_are_inside_them(sqlite_url: str) -> None:
    # db.make_engine issues BEGIN itself: a rolled-back transaction undoes DDL too,
    # which is what makes a failed migration leave the database as it was.
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            assert conn.in_transaction()
            conn.rollback()
        assert "t" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_postgresql_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_plain_postgresql_url_migrates(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    assert plain.startswith("postgresql://")
    upgrade(plain)
    assert _tables(postgres_url) == TABLES | {"alembic_version"}


def test_default_url_is_sqlite_in_the_instance_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "inst" / "nested"
    monkeypatch.delenv("VOTING_DATABASE_URL", raising=False)
    monkeypatch.setenv("VOTING_INSTANCE_DIR", str(instance))
    assert default_database_url() == f"sqlite:///{instance / 'voting.sqlite3'}"
    assert instance.is_dir()
    monkeypatch.setenv("VOTING_DATABASE_URL", "postgresql://db.example/voting")
    assert default_database_url() == "postgresql://db.example/voting"


def test_migrations_ship_with_the_package() -> None:
    # A wheel holds the packages setuptools finds plus pyproject's package-data globs:
    # env.py and the versions must be in packages, alembic.ini and the template in the globs.
    import tomllib

    from setuptools import find_packages

    repo = Path(__file__).resolve().parents[1]
    config = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = find_packages(str(repo), include=config["packages"]["find"]["include"])
    assert {"voting_server.migrations", "voting_server.migrations.versions"} <= set(packages)
    globs = config["package-data"]["voting_server"]
    shipped = {
        p.relative_to(repo / "voting_server")
        for g in globs
        for p in (repo / "voting_server").glob(g)
    }
    assert Path("migrations/alembic.ini") in shipped
    assert Path("migrations/script.py.mako") in shipped


def test_0002_keeps_existing_members_and_starts_their_pin_counters_at_zero(
    empty_url: str,
) -> None:
    upgrade(empty_url, "0001")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO bodies (id, name, kind, level, member_count)"
                    " VALUES (1, '测试', 'standing_committee', 'city', 1)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO members (id, body_id, seat, name, active)"
                    " VALUES (1, 1, 7, '张三', true)"
                )
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT name, pin_failures FROM members")).one()
        assert tuple(row) == ("张三", 0)
    finally:
        engine.dispose()


def test_0009_makes_existing_members_deputies_and_votes_the_whole_body(empty_url: str) -> None:
    upgrade(empty_url, "0007")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO bodies (id, name, kind, level, member_count)"
                " VALUES (1, '测试', 'congress', 'county', 2)"
            ))  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO members (id, body_id, seat, name, group_name, active, pin_failures)"
                " VALUES (1, 1, 7, '张三', '第一代表团', true, 0), (2, 1, 8, '李四', NULL, true, 0)"
            ))  # fmt: skip
        upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT name, group_name, role, presidium FROM members ORDER BY seat")
            ).all()
            count = conn.execute(sa.text("SELECT member_count FROM bodies")).scalar_one()
        assert [tuple(r) for r in rows] == [
            ("张三", "第一代表团", "deputy", "none"), ("李四", None, "deputy", "none"),
        ]  # fmt: skip
        assert count == 2
        # an attendee (列席) on the presidium is refused by the database too
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE members SET role = 'attendee', presidium = 'member' WHERE id = 1"
            ))  # fmt: skip
    finally:
        engine.dispose()


def test_0008_gives_an_existing_log_to_the_first_body_and_it_still_verifies(
    empty_url: str, tmp_path: Path
) -> None:
    """A single-body database of 0007 with its log and accounts: after the upgrade the
    log is the first body's, unchanged, and its export verifies (docs/bodies.md)."""
    command.upgrade(alembic_config(empty_url), "0007")
    built, _ = sitting()
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for body_id, name in ((1, "测试"), (2, "第二个机构")):
                conn.execute(
                    sa.text("INSERT INTO bodies (id, name, kind, level, member_count) "
                            "VALUES (:i, :n, 'standing_committee', 'city', 5)"),
                    {"i": body_id, "n": name},
                )  # fmt: skip
            for seat, key in built.kiosks.items():
                conn.execute(
                    sa.text("INSERT INTO devices (id, body_id, seat, public_key, enrolled_at, "
                            "pending) VALUES (:d, 1, :s, :k, :t, false)"),
                    {"d": f"d{seat}", "s": seat, "k": key.public.spki_b64,
                     "t": datetime.now(UTC)},
                )  # fmt: skip
            for idx, line in enumerate(built.lines):
                conn.execute(
                    sa.text("INSERT INTO audit_entries (idx, type, line, hash) "
                            "VALUES (:i, :t, :l, :h)"),
                    {"i": idx, "t": json.loads(line)["type"], "l": line.decode("utf-8"),
                     "h": entry_hash(line)},
                )  # fmt: skip
    finally:
        engine.dispose()

    upgrade(empty_url)
    assert _schema_diff(empty_url) == []
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT body_id, idx, line FROM audit_entries ORDER BY idx")
            ).all()
    finally:
        engine.dispose()
    assert [(r.body_id, r.idx) for r in rows] == [(1, i) for i in range(len(built.lines))]
    assert [r.line.encode("utf-8") for r in rows] == built.lines
    out = tmp_path / "bundle"
    export_bundle(empty_url, out, body="1")
    code, report = verify_json(out)
    assert code == 0 and report["ok"] and report["entries"] == len(built.lines), report
