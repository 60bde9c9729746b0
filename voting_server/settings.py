"""Configuration objects (Flask ``app.config.from_object``).

Values come from the environment so that the same code serves the embedded
SQLite default, a PostgreSQL deployment and the tests:

- ``VOTING_DATABASE_URL``: SQLAlchemy URL (default: SQLite in the instance dir)
- ``VOTING_INSTANCE_DIR``: where the embedded database, keys and secrets live
- ``VOTING_SECRET_KEY``: Flask session key (default: generated once, kept in
  the instance dir with mode 0600)
- ``VOTING_CONFIG_DIR``: gunicorn's settings, the presets and the nginx template
  (default: ``voting_server/config``, shipped inside the package)
- ``VOTING_PRESETS_FILE``: rule presets (default: ``presets.toml`` there)
- ``VOTING_ASYNC_MODE``: Socket.IO async mode (``gevent`` under gunicorn,
  ``threading`` for the test client)
- ``VOTING_PUBLIC_URL``: the server's address as the tablets reach it (for
  enrollment QR codes; default: the address of the request)
- ``VOTING_TLS_DIR``: the venue CA and server certificate of
  ``voting-server tls init`` (default: ``tls`` in the instance dir)
- ``VOTING_MESSAGE_QUEUE``: Socket.IO's message queue (``redis://host:6379/0``)
  when several server processes serve one hall (docs/deployment.md); unset:
  one process, broadcasts stay in it
- ``VOTING_MESSAGE_QUEUE_CHANNEL``: the queue's channel (default: derived from
  the database URL, so processes of one hall share it and two halls on one
  Redis never see each other's broadcasts)
- ``VOTING_PROCESSES``: how many server processes serve the hall (set by
  ``voting-server stack``; default 1): each broadcasts the 已按 counts that
  many times less often, so the screens' rate stays the same
- ``VOTING_PROXY_HOPS``: how many reverse proxies (nginx) stand in front of
  the server; their ``X-Forwarded-For``/``-Proto``/``-Host`` are then trusted,
  so per-address throttling sees the tablet, not the proxy (default 0)
- ``VOTING_SESSION_IDLE_S``: a staff login ends after this many seconds
  without a request or an open live page (default 1800: 30 minutes)
- ``VOTING_SESSION_MAX_S``: and this long after the login whatever happens
  (default 43200: 12 hours, a sitting day)
- ``VOTING_SECURE_COOKIES``: ``1`` marks cookies ``Secure`` even on plain
  HTTP requests (e.g. TLS ends at a proxy that does not say so); they are
  ``Secure`` anyway whenever the server serves TLS (``VOTING_TLS_CERT``) or
  the request came over HTTPS
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

# voting_server/config links to the repository's config/, so an installed wheel has it too.
CONFIG_DIR = Path(os.environ.get("VOTING_CONFIG_DIR") or Path(__file__).resolve().parent / "config")


def secret_key(directory: Path) -> str:
    """The session key, created on first start and kept private to the server."""
    if key := os.environ.get("VOTING_SECRET_KEY"):
        return key
    path = directory / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def tls_dir() -> Path:
    """Where ``voting-server tls init`` writes and ``run`` looks for the certificates."""
    from voting_server.db import instance_dir

    return Path(os.environ.get("VOTING_TLS_DIR") or instance_dir() / "tls")


def message_queue_channel(database_url: str) -> str:
    """The Socket.IO channel of the hall whose database is ``database_url``: one hall's
    processes share a database, hence a channel; the password never enters the name."""
    from sqlalchemy.engine import make_url

    shown = make_url(database_url).render_as_string(hide_password=True)
    return "voting-" + hashlib.sha256(shown.encode()).hexdigest()[:16]


class Config:
    """Production defaults, read from the environment when instantiated."""

    TESTING = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    # A request body: a document (services.agenda.DOCUMENT_MAX_BYTES, 20 MB) and its form;
    # larger is refused unread with 413 (views.auth: a page naming the limit).
    MAX_CONTENT_LENGTH = 21 * 1024 * 1024
    # A form field held in memory: the preview's copy of a roster (roster.MAX_BYTES, 2 MB,
    # as base64) or a pasted paper count (views.results.MAX_FORM_JSON).
    MAX_FORM_MEMORY_SIZE = 8 * 1024 * 1024
    JSON_AS_ASCII = False

    def __init__(self, database_url: str | None = None) -> None:
        from voting_server.db import default_database_url, instance_dir

        self.INSTANCE_DIR = str(instance_dir())
        self.SECRET_KEY = secret_key(Path(self.INSTANCE_DIR))
        self.VOTING_DATABASE_URL = database_url or default_database_url()
        self.VOTING_PRESETS_FILE = os.environ.get(
            "VOTING_PRESETS_FILE", str(CONFIG_DIR / "presets.toml")
        )
        self.VOTING_ASYNC_MODE = os.environ.get("VOTING_ASYNC_MODE") or None
        # The address tablets use (e.g. https://10.0.0.5), printed in enrollment
        # QR codes; default: the address the secretariat's browser used.
        self.VOTING_PUBLIC_URL = os.environ.get("VOTING_PUBLIC_URL") or None
        # The venue CA whose fingerprint enrollment QR codes carry (docs/tls.md).
        self.VOTING_TLS_DIR = str(tls_dir())
        self.VOTING_MESSAGE_QUEUE = os.environ.get("VOTING_MESSAGE_QUEUE") or None
        self.VOTING_MESSAGE_QUEUE_CHANNEL = os.environ.get(
            "VOTING_MESSAGE_QUEUE_CHANNEL"
        ) or message_queue_channel(self.VOTING_DATABASE_URL)
        self.VOTING_PROXY_HOPS = int(os.environ.get("VOTING_PROXY_HOPS") or 0)
        self.VOTING_PROCESSES = max(1, int(os.environ.get("VOTING_PROCESSES") or 1))
        self.VOTING_SESSION_IDLE_S = int(os.environ.get("VOTING_SESSION_IDLE_S") or 30 * 60)
        self.VOTING_SESSION_MAX_S = int(os.environ.get("VOTING_SESSION_MAX_S") or 12 * 60 * 60)
        # gunicorn serves TLS (``voting-server run``): no cookie ever travels in clear.
        self.SESSION_COOKIE_SECURE = bool(os.environ.get("VOTING_TLS_CERT")) or os.environ.get(
            "VOTING_SECURE_COOKIES", ""
        ).lower() in {"1", "true", "yes"}


class TestingConfig(Config):
    """For the Flask and Socket.IO test clients: threads, a throwaway key."""

    TESTING = True
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.SECRET_KEY = secrets.token_urlsafe(32)
        self.VOTING_ASYNC_MODE = "threading"
        self.VOTING_MESSAGE_QUEUE = None  # the test clients run in one process
