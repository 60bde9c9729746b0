"""``voting-server run`` refuses a PostgreSQL database on which a committed ballot could be
lost in a crash of the database server (docs/deployment.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from voting_server.cli import main
from voting_server.db import commit_durability_problems


def _set(url: str, setting: str, value: str) -> None:
    """``setting`` for every new session on the test's own database only: the shared
    PostgreSQL server's other databases keep theirs."""
    admin = sa.create_engine(
        sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            name = sa.make_url(url).database
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET {setting} = {value}')
    finally:
        admin.dispose()


def test_postgres_defaults_are_durable(postgres_url: str) -> None:
    assert commit_durability_problems(postgres_url) == []


def test_sqlite_is_durable(sqlite_url: str) -> None:
    assert commit_durability_problems(sqlite_url) == []  # synchronous=FULL, always


def test_asynchronous_commit_is_refused(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(postgres_url, "synchronous_commit", "off")
    assert commit_durability_problems(postgres_url) == [
        "synchronous_commit=off: a commit returns before its WAL is flushed"
    ]
    monkeypatch.setenv("VOTING_INSTANCE_DIR", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["run", "--no-tls", "--database-url", postgres_url])
    assert result.exit_code == 1
    assert "数据库提交不持久" in result.output
    assert "synchronous_commit=off" in result.output


def test_local_commit_is_accepted(postgres_url: str) -> None:
    _set(postgres_url, "synchronous_commit", "local")  # flushes the local WAL first
    assert commit_durability_problems(postgres_url) == []
