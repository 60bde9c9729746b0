"""Secrets at rest: the instance directory and the database files are the server's
alone, and a secret vote's key never outlives its vote, even when the server went
down between the close and the key's deletion."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.live import ServerProcess, create_staff
from voting_server.app import create_app
from voting_server.db import default_database_url, upgrade
from voting_server.demo import load_demo
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import AttendanceMethod, Member, Vote, VoteState
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction
from voting_server.services.voting import Voting
from voting_server.settings import TestingConfig


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _start(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """What a server start does with the embedded database in ``instance``."""
    monkeypatch.setenv("VOTING_INSTANCE_DIR", str(instance))
    monkeypatch.delenv("VOTING_DATABASE_URL", raising=False)
    url = default_database_url()
    upgrade(url)
    app = create_app(TestingConfig(url))
    with app.app_context(), write_transaction(sessions()) as s:
        load_demo(s)  # some writes: the WAL and its index exist while the app runs
    return app


def _check_private(instance: Path) -> None:
    assert _mode(instance) == 0o700
    database = instance / "voting.sqlite3"
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    files += [instance / "server_ed25519.pem", instance / "secret_key"]
    for path in files:
        assert path.exists(), path
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
    assert _mode(instance / "vote-keys") == 0o700


def test_a_new_instance_dir_and_its_database_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = os.umask(0o022)  # a usual login's umask: files 0644 unless the server says
    try:
        _start(tmp_path / "new-instance", monkeypatch)
    finally:
        os.umask(previous)
    _check_private(tmp_path / "new-instance")


def test_an_instance_dir_of_an_older_install_is_narrowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "old-instance"
    (instance / "vote-keys").mkdir(parents=True)
    instance.chmod(0o755)
    (instance / "vote-keys").chmod(0o755)
    upgrade(f"sqlite:///{instance / 'voting.sqlite3'}")
    (instance / "voting.sqlite3").chmod(0o644)
    _start(instance, monkeypatch)
    _check_private(instance)


# --- the vote key that a crash left behind ----------------------------------------------------


def _quorum(app: Flask) -> None:
    with app.app_context(), write_transaction(sessions()) as s:
        sitting = attendance.current_sitting(s, 1)
        assert sitting is not None
        members = list(s.scalars(select(Member).where(Member.body_id == 1, Member.seat <= 40)))
        attendance.sign_in_many(s, audit_log(), sitting, members, AttendanceMethod.OPERATOR)


def _secret_votes(app: Flask) -> list[int]:
    with app.app_context(), write_transaction(sessions()) as s:
        votes = list(s.scalars(select(Vote).order_by(Vote.id)))[:2]
        for vote in votes:
            vote.secret = True
        return [v.id for v in votes]


def _crash_after_close(app: Flask, vote_id: int, by: int) -> Path:
    """Open and close the secret vote, leaving its key file as a crash between the
    close's commit and the file's deletion leaves it (the file as it was, put back)."""
    with app.app_context():
        with write_transaction(sessions()) as s:
            voting().open_vote(s, audit_log(), vote_id, by, None)
        path = voting().key_path(vote_id)
        key = path.read_bytes()
        with write_transaction(sessions()) as s:
            voting().close_vote(s, audit_log(), vote_id, by, "presidium")
        assert not path.exists()
    path.write_bytes(key)
    path.chmod(0o600)
    return path


@pytest.mark.slow
def test_a_restart_destroys_the_key_of_a_vote_closed_before_the_crash(
    live_app: Flask, sqlite_url: str, tmp_path: Path
) -> None:
    """The real server (``voting-server run``) starts on the state a crash left."""
    presidium = create_staff(live_app, "presidium")
    _quorum(live_app)
    closed, still_open = _secret_votes(live_app)
    stale = _crash_after_close(live_app, closed, presidium.id)
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), still_open, presidium.id, None)
        open_key = voting().key_path(still_open)
    assert stale.exists() and open_key.exists()

    server = ServerProcess(sqlite_url, tmp_path / "instance", tmp_path / "server.log")
    server.start()
    try:
        assert not stale.exists()  # gone before the server answered anyone
        assert open_key.exists()  # the open vote goes on after the restart
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert f"destroyed the key file of vote {closed}" in log
    with live_app.app_context(), sessions()() as s:
        assert s.get(Vote, closed).state is VoteState.CLOSED  # type: ignore[union-attr]
        assert s.get(Vote, still_open).state is VoteState.OPEN  # type: ignore[union-attr]


def test_resuming_in_a_new_process_sweeps_keys_of_votes_that_are_over(live_app: Flask) -> None:
    """Without ``voting-server run`` (gunicorn started by hand): the first event resumes."""
    presidium = create_staff(live_app, "presidium")
    _quorum(live_app)
    closed, draft = _secret_votes(live_app)
    stale = _crash_after_close(live_app, closed, presidium.id)
    orphan = stale.with_name("vote-999999.key")  # no such vote: a database restored from backup
    orphan.write_bytes(b"k" * 32)
    drafts_file = stale.with_name(f"vote-{draft}.key")  # being opened by another process
    drafts_file.write_bytes(b"d" * 32)
    with live_app.app_context(), write_transaction(sessions()) as s:
        restarted = Voting(stale.parent)
        assert restarted.resume(s, audit_log()) == []
    assert not stale.exists() and not orphan.exists()
    assert drafts_file.exists()
