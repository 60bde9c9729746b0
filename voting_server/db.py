"""Database engines, sessions and schema migrations.

The embedded default is a SQLite file in the instance directory; production
halls may use PostgreSQL (psycopg 3). Either way the schema is created and
evolved only by the Alembic migrations in ``voting_server/migrations``.

No framework here: the CLI, the tests and the app factory all build their
engines with ``make_engine`` so that every connection gets the same settings.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Engine, Table, create_engine, event, insert, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Drivers a bare ``postgresql://`` URL is mapped to: psycopg 3 is the one we install.
_POSTGRES_ALIASES = {"postgres", "postgresql"}


PRIVATE_DIR = 0o700  # the instance dir: the database, the server's key, vote keys, TLS keys
PRIVATE_FILE = 0o600


def instance_dir() -> Path:
    """Where the embedded database lives: $VOTING_INSTANCE_DIR or ``<repo>/instance``,
    created (or narrowed) to mode 0700: it holds every secret of the server."""
    path = Path(os.environ.get("VOTING_INSTANCE_DIR") or REPO_ROOT / "instance")
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    make_private(path, PRIVATE_DIR)
    return path


def make_private(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` if it is wider; a path not ours is left as it is
    (logged: the operator chose it, e.g. a volume mounted read-only)."""
    try:
        if path.stat().st_mode & 0o777 & ~mode:
            path.chmod(mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("cannot restrict the permissions of %s: %s", path, exc)


def private_sqlite_file(url: URL) -> None:
    """Create the SQLite database file 0600 before SQLite does (its -wal and -shm then
    get the same mode) and narrow an existing one and its -wal and -shm."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        except FileExistsError:
            pass  # created meanwhile by another process: narrowed below
        except OSError as exc:
            log.warning("cannot create %s: %s", path, exc)
    for suffix in ("", "-wal", "-shm"):
        make_private(Path(f"{path}{suffix}"), PRIVATE_FILE)


def default_database_url() -> str:
    """$VOTING_DATABASE_URL, else the SQLite file ``voting.sqlite3`` in the instance dir."""
    if url := os.environ.get("VOTING_DATABASE_URL"):
        return url
    return f"sqlite:///{instance_dir() / 'voting.sqlite3'}"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; ``postgresql://`` and ``postgres://`` select psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, *, enforce_foreign_keys: bool = True, **kwargs: Any) -> Engine:
    """An engine with the settings every connection of the project needs.

    SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (an
    acknowledged ballot is on disk before the acknowledgement: WAL's default
    NORMAL may lose the last transactions on power loss), foreign keys on, and
    real ``BEGIN`` statements so that a transaction covers its reads too.
    ``enforce_foreign_keys=False`` is for migrations only (see migrations/env.py).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        private_sqlite_file(parsed)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)  # busy wait, seconds
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine, enforce_foreign_keys=enforce_foreign_keys)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)  # the hall LAN's server may restart under us
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine, *, enforce_foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite opens transactions lazily (only before DML) and commits
        # behind our back before DDL; take control of BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if enforce_foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in ``session``'s transaction, the way a batch of
    ballots needs it: no ORM bookkeeping, and on PostgreSQL one ``COPY`` instead of a
    statement per row (docs/performance.md: a quarter of the database's CPU per ballot).

    Precondition: every row has the same keys, each a column of ``table``. A JSON
    column's value is written as ``json.dumps`` writes it (``None`` as JSON ``null``,
    as SQLAlchemy's JSON type stores it); reads go through that type as usual.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    as_json = [isinstance(table.c[name].type, JSON) for name in names]
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(n) for n in names)
    driver = connection.connection.driver_connection
    assert driver is not None  # a connection in use has its driver's connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(row[n]) if j else row[n] for n, j in zip(names, as_json, strict=True)]
            )


# PostgreSQL settings under which a committed transaction may be lost if PostgreSQL (or
# the machine) crashes: an acknowledged ballot would be gone. Value → why.
_UNSAFE_COMMITS = {
    ("fsync", "off"): "fsync=off: the WAL is never forced to disk",
    ("synchronous_commit", "off"): (
        "synchronous_commit=off: a commit returns before its WAL is flushed"
    ),
}


def commit_durability_problems(url: str | URL) -> list[str]:
    """Why a commit on this database might not survive a crash of the database server
    (empty: it will). An acknowledged ballot must survive one (docs/deployment.md):
    the server acknowledges only after the commit returns, and on PostgreSQL that
    holds only while ``fsync`` and ``synchronous_commit`` are on (their defaults;
    ``local``, ``remote_write`` and ``remote_apply`` also flush the local WAL
    first). SQLite is always opened with ``synchronous=FULL`` (``make_engine``).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "postgresql":
        return []
    engine = make_engine(parsed)
    try:
        with engine.connect() as connection:
            settings = {
                name: str(connection.exec_driver_sql(f"SHOW {name}").scalar()).lower()
                for name in ("fsync", "synchronous_commit")
            }
    finally:
        engine.dispose()
    return [why for (name, bad), why in _UNSAFE_COMMITS.items() if settings[name] == bad]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``with factory.begin() as session:`` is one transaction."""
    return sessionmaker(bind=engine)


def alembic_config(url: str | URL | None = None) -> Any:
    """The Alembic configuration of the packaged migrations (env.py defaults the URL)."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["configure_logging"] = False  # leave the caller's logging alone
    if url is not None:
        # Passed as an attribute, not through the ini: a password may contain '%'.
        config.attributes["database_url"] = normalize_url(url)
    return config


def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` (default: ``default_database_url()``) to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url or default_database_url()), revision)


def head_revision() -> str:
    """The newest revision of the packaged migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations have no head"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_connection(engine: Engine) -> None:
    """Open one connection and run a trivial query; raises DatabaseUnavailable."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (DBAPIError, ArgumentError) as exc:
        raise DatabaseUnavailable(describe_error(exc)) from exc


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message is one line."""


def describe_error(exc: BaseException) -> str:
    """One readable line for a driver error (psycopg's messages span several lines)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return f"{orig.__class__.__name__}: {lines[0] if lines else 'no details'}"
