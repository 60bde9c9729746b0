"""Alembic environment: migrate the database named by ``db.upgrade`` or the environment.

``voting_server.db.upgrade(url)`` passes the URL as a config attribute; the
``alembic`` command line falls back to VOTING_DATABASE_URL or the embedded
default. Autogenerate compares against ``voting_server.models``.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from voting_server.db import default_database_url, make_engine, normalize_url
from voting_server.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> object:
    return config.attributes.get("database_url") or normalize_url(default_database_url())


def _configure(connection: Connection | None = None, **kwargs: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        # One transaction for the whole upgrade, on SQLite too: db.make_engine
        # issues real BEGINs, so SQLite's DDL is transactional there as well.
        transactional_ddl=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) for a DBA to review."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    # Foreign keys off while migrating SQLite: batch mode drops and re-creates
    # tables, which with enforcement on would cascade or fail. They are checked
    # as a whole before the migration commits.
    engine = make_engine(url, enforce_foreign_keys=False)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
                if connection.dialect.name == "sqlite":
                    broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
                    if broken:
                        raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
