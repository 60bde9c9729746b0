"""Process-wide services the app factory wires up: database and Socket.IO."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from flask_socketio import SocketIO
from sqlalchemy.orm import Session, sessionmaker

from crypto import ServerKey
from voting_server.db import PRIVATE_DIR, make_engine, make_private, make_session_factory
from voting_server.services.audit_log import AuditLog
from voting_server.services.voting import Voting, key_dir_of
from voting_server.sockets.wire import WirePacket

socketio = SocketIO()
PING_INTERVAL_S = 25  # the library's default
PING_TIMEOUT_S = 60  # the library's is 20 (why longer: init_socketio)


def init_database(app: Flask) -> None:
    engine = make_engine(app.config["VOTING_DATABASE_URL"])
    app.extensions["voting.engine"] = engine
    app.extensions["voting.sessions"] = make_session_factory(engine)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def init_audit_log(app: Flask) -> None:
    """The server's Ed25519 key (created on first start, mode 0600) and the log writer."""
    key = ServerKey.load_or_create(Path(app.config["INSTANCE_DIR"]) / "server_ed25519.pem")
    app.extensions["voting.audit"] = AuditLog(key)


def init_voting(app: Flask) -> None:
    """The vote lifecycle; secret votes' keys live in the instance dir until close."""
    key_dir = key_dir_of(Path(app.config["INSTANCE_DIR"]))
    key_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    make_private(key_dir, PRIVATE_DIR)
    app.extensions["voting.voting"] = Voting(key_dir)


def init_socketio(app: Flask) -> None:
    """Socket.IO, with the Redis message queue when several processes serve the hall.

    With a queue, every broadcast is delivered to this process's clients at
    once and published for the other processes; without one, the manager is
    reset explicitly, since the module-level ``socketio`` keeps the options of
    an earlier ``init_app`` (several apps are built in one test process).
    """
    queue = app.config.get("VOTING_MESSAGE_QUEUE")
    options: dict[str, object] = (
        {"message_queue": queue, "channel": app.config["VOTING_MESSAGE_QUEUE_CHANNEL"]}
        if queue
        else {"message_queue": None, "client_manager": None}
    )
    # A connection's events run one after another in the greenlet (or thread) that reads
    # it, not each in a new one: a greenlet per ballot was a measurable share of a burst
    # (docs/performance.md), and no handler waits for another event of its own connection.
    # The packets are read by WirePacket, so that every event can be answered (wire.py).
    # A PONG may wait: the server pings every 25 s and drops a connection whose PONG it has
    # not read PING_TIMEOUT_S later. When a whole hall reconnects at once, every PONG waits
    # behind 3,000 connections and authentications in the worker's one queue: 20 s (the
    # library's default) dropped healthy tablets, which reconnected and queued again (CI:
    # 47 of 3,000 back after five minutes; docs/protocol.md says what 60 s costs).
    socketio.init_app(
        app,
        async_mode=app.config.get("VOTING_ASYNC_MODE"),
        async_handlers=False,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_TIMEOUT_S,
        serializer=WirePacket,
        **options,
    )


def voting() -> Voting:
    return current_app.extensions["voting.voting"]


def audit_log() -> AuditLog:
    return current_app.extensions["voting.audit"]


def sessions() -> sessionmaker[Session]:
    return current_app.extensions["voting.sessions"]


def db() -> Session:
    """The request's database session, closed at the end of the app context."""
    if "db_session" not in g:
        g.db_session = sessions()()
    return g.db_session
