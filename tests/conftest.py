"""Shared fixtures: real services (PostgreSQL, Redis) with honest skipping
(``tests/support/services.py``). What the tests share besides fixtures lives in
the ``tests/support`` package."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import POSTGRES_ADMIN_URL, REDIS_URL, SHARED, unavailable

# Fixtures of the live server (app, staff logins, enrolled kiosks, a real port) and
# the simulated sittings (named, secret), available to every test module by name.
pytest_plugins = ["tests.support.live", "tests.support.sim"]


@pytest.fixture(autouse=True)
def _instance_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own instance dir (keys, secrets, demo credentials), never the repo's."""
    path = tmp_path_factory.mktemp("instance")
    monkeypatch.setenv("VOTING_INSTANCE_DIR", str(path))
    return path


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any connection failure means "not available"
        unavailable("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc.__class__.__name__}")
    name = f"voting_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The Redis server's URL, after checking it answers PING."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        client.ping()
    except Exception as exc:
        unavailable("Redis", f"{REDIS_URL}: {exc.__class__.__name__}")
    return REDIS_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh embedded database file."""
    return f"sqlite:///{tmp_path / 'voting.sqlite3'}"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(
            f"../shared not found at {SHARED}: the tests read the scenarios and vectors there"
        )
    return SHARED


@pytest.fixture
def nginx_path() -> str:
    """The nginx binary: the scale-out stack runs it unprivileged, as a child process."""
    from voting_server.cli.stack import find_nginx

    path = find_nginx()
    if path is None:
        unavailable("nginx", "not on PATH nor at /usr/sbin/nginx (apt-get install nginx)")
    assert path is not None
    return path


@pytest.fixture
def redis_server_path() -> str:
    """The redis-server binary, for tests that run (and kill) a Redis of their own."""
    import shutil

    path = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(path, os.X_OK):
        unavailable("redis-server", "not on PATH (apt-get install redis-server)")
    return path
