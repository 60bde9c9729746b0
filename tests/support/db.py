"""Migrated databases for tests, copied from a template instead of migrated each time.

Running the Alembic migrations costs a quarter of a second or more a database, and
hundreds of tests want a database at the head revision. ``migrate(url)`` gives them one:

- SQLite: the file is a copy of a template that was migrated once and kept in the
  machine's temporary directory;
- PostgreSQL: the (empty) database is re-created ``TEMPLATE voting_template_<key>``,
  a database migrated once and never connected to again.

The template's name carries a hash of the migration files (and of the Alembic and
SQLAlchemy versions that ran them), so a changed or added migration builds a new one.
A template is built under a private name and renamed into place, so test processes that
run at the same time (several pytest runs, other worktrees on the same PostgreSQL) never
see half of one. ``tests/test_db_migrations.py`` keeps migrating from empty for real.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from voting_server.db import (
    MIGRATIONS_DIR,
    make_engine,
    make_session_factory,
    normalize_url,
    upgrade,
)
from voting_server.demo import load_demo

PRIVATE_FILE = 0o600  # as voting_server.db creates the embedded database


@cache
def migrations_key() -> str:
    """A hash of everything that decides what a migrated database holds."""
    digest = hashlib.sha256()
    for package in ("alembic", "sqlalchemy"):
        digest.update(f"{package}=={metadata.version(package)}\n".encode())
    for path in sorted(MIGRATIONS_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(MIGRATIONS_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def migrate(url: str | URL) -> None:
    """Bring the database at ``url`` to the head revision: a copy of the template when
    the database is new (a SQLite file not yet there or empty, a PostgreSQL database
    without tables), else the migrations themselves (``voting_server.db.upgrade``)."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and _copy_sqlite_template(parsed):
        return
    if backend == "postgresql" and _recreate_from_postgres_template(parsed):
        return
    upgrade(url)


# --- SQLite ------------------------------------------------------------------------------


def _template_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"congress-voting-test-templates-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@cache
def sqlite_template() -> Path:
    """The migrated SQLite file for this state of the migrations, built if missing."""
    template = _template_dir() / f"voting-{migrations_key()}.sqlite3"
    if not template.exists():
        building = template.with_name(f"{template.stem}.{uuid.uuid4().hex}.building")
        try:
            upgrade(f"sqlite:///{building}")
            # The migration's engine is disposed: SQLite folded its WAL into the file.
            assert not Path(f"{building}-wal").exists(), "the template's WAL was not checkpointed"
            os.replace(building, template)  # atomic: a concurrent build just wins or loses
        finally:
            for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
                leftover.unlink(missing_ok=True)
    return template


def _copy_sqlite_template(url: URL) -> bool:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    path = Path(database)
    if path.exists() and path.stat().st_size > 0:
        return False  # a database with contents: only the migrations may change it
    template = sqlite_template()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as target, template.open("rb") as source:
        shutil.copyfileobj(source, target)
    return True


# --- PostgreSQL --------------------------------------------------------------------------


def _admin_engine(url: URL) -> sa.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@cache
def postgres_template(server: str) -> str:
    """The name of the migrated template database on ``server`` (a URL without a
    database), built if missing."""
    base = normalize_url(server)
    name = f"voting_template_{migrations_key()}"
    admin = _admin_engine(base)
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if exists:
                return name
            building = f"{name}_{uuid.uuid4().hex[:8]}"
            conn.execute(sa.text(f'CREATE DATABASE "{building}"'))
        try:
            upgrade(base.set(database=building))
            with admin.connect() as conn:
                # Nobody connects to a template: CREATE DATABASE … TEMPLATE refuses a busy one.
                conn.execute(sa.text(f'ALTER DATABASE "{building}" WITH ALLOW_CONNECTIONS false'))
                try:
                    conn.execute(sa.text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
                    building = ""
                except sa.exc.ProgrammingError:
                    pass  # another process renamed its own build into place first
        finally:
            if building:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
    finally:
        admin.dispose()
    return name


def _recreate_from_postgres_template(url: URL) -> bool:
    name = url.database
    if not name:
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.scalar(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
    finally:
        engine.dispose()
    if tables:
        return False
    template = postgres_template(url.set(database="").render_as_string(hide_password=False))
    admin = _admin_engine(url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    return True


# --- fixtures (a test module takes one by name: ``demo_url = support_db.demo_url``) ----


@pytest.fixture
def demo_url(sqlite_url: str) -> str:
    """The demo committee in a fresh embedded database, for the command line."""
    migrate(sqlite_url)
    with make_session_factory(make_engine(sqlite_url)).begin() as session:
        load_demo(session)
    return sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated database: once the embedded SQLite, once PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    migrate(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
