"""``voting-audit export`` and ``voting-audit verify`` as an auditor runs them.

Every check goes through the installed console script in a subprocess: the
exit code and what is printed are the interface (CONTRACTS.md §4). A
bundle is built from tests/support/logs.py's honest log, then tampered with
the way someone holding the files could.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from audit.entry import GENESIS_PREV, canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.merkle import MerkleStream, tree_root
from crypto import ServerKey
from rules import VoteKind, VoteSpec
from tests.support.bodies import only_body_id
from tests.support.bundles import (
    TAMPERINGS,
    VOTING_AUDIT,
    bundle_of,
    kiosks_of,
    run,
    verify_json,
    write_bundle,
)
from tests.support.db import migrate
from tests.support.logs import LogBuilder
from voting_server.db import make_engine, make_session_factory
from voting_server.models import AuditEntry, Body, BodyKind, BodyLevel, Device
from voting_server.services.audit_log import AuditLog, iter_lines
from voting_server.services.transactions import write_transaction

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
SECRET = VoteSpec(kind=VoteKind.MOTION, subjects=("personnel",))


def sitting() -> tuple[LogBuilder, dict[str, int]]:
    """5 members, 4 signed in; a named motion and a secret one. Marks name entries."""
    log = LogBuilder(members=5)
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    marks = {"first_ballot": len(log.lines)}
    log.press(1, 1, {"budget": "yes"}, secret=False)
    log.press(1, 2, {"budget": "no"}, secret=False)
    log.press(1, 3, {"budget": "yes"}, secret=False)
    log.close(1, MOTION, 4, [{"budget": "yes"}, {"budget": "no"}, {"budget": "yes"}], secret=False)
    log.configure(2, SECRET, secret=True)
    log.open(2, SECRET, present=4)
    for m in (1, 2, 3):
        log.press(2, m, None, secret=True)
    released = [{"personnel": "yes"}, {"personnel": "abstain"}, {"personnel": "yes"}]
    log.close(2, SECRET, 4, released, secret=True)
    marks["last"] = len(log.lines) - 1
    return log, marks


@pytest.fixture(scope="module")
def honest() -> tuple[LogBuilder, dict[str, int]]:
    return sitting()


# --- verify: an honest bundle -------------------------------------------------------


def test_an_honest_bundle_verifies_and_reports_its_head(honest, tmp_path: Path) -> None:
    log, _ = honest
    bundle = bundle_of(tmp_path, log)
    code, report = verify_json(bundle)
    assert code == 0
    assert report == {
        "ok": True,
        "entries": len(log.lines),
        "head": {"size": len(log.lines), "root": tree_root(log.lines).hex()},
        "errors": [],
        # each secret vote, with what its content rests on: vote 2 was sealed under the
        # server's vote key, not encrypted to scrutineers (docs/secret-ballot.md)
        "votes": [{"vote": 2, "content": "server-trusted"}],
    }
    # The published head of the whole log, and of an earlier prefix, are contained.
    assert verify_json(bundle, "--head", f"{len(log.lines)}:{tree_root(log.lines).hex()}")[0] == 0
    assert verify_json(bundle, "--head", f"7:{tree_root(log.lines[:7]).hex().upper()}")[0] == 0


def test_human_output_names_the_outcome(honest, tmp_path: Path) -> None:
    log, _ = honest
    bundle = bundle_of(tmp_path, log)
    done = run("verify", str(bundle))
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == f"OK: all {len(log.lines)} entries verified"
    assert f"{len(log.lines)}:{tree_root(log.lines).hex()}" in done.stdout


def test_a_log_without_its_final_newline_is_the_same_log(honest, tmp_path: Path) -> None:
    log, _ = honest
    bundle = bundle_of(tmp_path, log)
    (bundle / "log.jsonl").write_bytes(b"\n".join(log.lines))
    assert verify_json(bundle)[0] == 0


# --- verify: tampering, each caught at its entry ------------------------------------


@pytest.mark.parametrize("name", TAMPERINGS)
def test_tampering_fails_at_the_entry_that_was_touched(honest, tmp_path: Path, name: str) -> None:
    log, marks = honest
    change, offset = TAMPERINGS[name]
    k = marks["first_ballot"]
    bundle = bundle_of(tmp_path, log, change(log.lines, k))
    code, report = verify_json(bundle)
    assert code == 1
    assert report["ok"] is False
    assert report["errors"][0]["index"] == k + offset, report["errors"]


def resign_from(
    lines: list[bytes], index: int, key: ServerKey, change: Callable[[dict], None]
) -> list[bytes]:
    """A dishonest server: change entry ``index``'s data, re-sign and re-chain from there."""
    out = list(lines[:index])
    for i, line in enumerate(lines[index:], start=index):
        entry = json.loads(line)
        if i == index:
            change(entry["data"])
        prev = entry_hash(out[-1]) if out else GENESIS_PREV
        unsigned = unsigned_entry(i, prev, entry["t"], entry["type"], entry["data"])
        out.append(canonical_bytes(sign_entry(unsigned, key.sign)))
    return out


def test_the_human_report_names_the_entry_and_what_failed(honest, tmp_path: Path) -> None:
    """The server's own key cannot forge a deputy's choice: the kiosk signature fails."""
    log, marks = honest
    k = marks["first_ballot"]
    forged = resign_from(
        log.lines, k, log.server, lambda data: data.update(ballot={"budget": "no"})
    )
    bundle = bundle_of(tmp_path, log, forged)
    done = run("verify", str(bundle))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"FAILED at entry {k}: ballot: kiosk signature does not verify"
    )


def test_an_entry_re_signed_but_not_re_chained_fails_at_itself(honest, tmp_path: Path) -> None:
    """The earliest wrong entry is named: the forged ballot, not the next entry's broken link."""
    log, marks = honest
    k = marks["first_ballot"]
    entry = json.loads(log.lines[k])
    entry["data"]["ballot"] = {"budget": "no"}
    unsigned = unsigned_entry(k, entry["prev"], entry["t"], entry["type"], entry["data"])
    forged = [
        *log.lines[:k],
        canonical_bytes(sign_entry(unsigned, log.server.sign)),
        *log.lines[k + 1 :],
    ]
    code, report = verify_json(bundle_of(tmp_path, log, forged))
    assert code == 1
    assert report["errors"][0] == {"index": k, "reason": "ballot: kiosk signature does not verify"}


def test_a_cut_tail_is_caught_by_the_published_head(honest, tmp_path: Path) -> None:
    log, _ = honest
    full = f"{len(log.lines)}:{tree_root(log.lines).hex()}"
    cut = len(log.lines) - 3
    bundle = bundle_of(tmp_path, log, log.lines[:cut])
    assert verify_json(bundle)[0] == 0  # on its own, a prefix is a valid log …
    code, report = verify_json(bundle, "--head", full)  # … which the published head exposes
    assert code == 1
    assert report["errors"][0]["index"] == cut
    assert report["entries"] == cut


def test_a_head_that_is_not_in_the_log_fails(honest, tmp_path: Path) -> None:
    log, _ = honest
    other, _ = sitting()  # same events, other keys and nonces: other bytes
    bundle = bundle_of(tmp_path, log)
    code, report = verify_json(bundle, "--head", f"7:{tree_root(other.lines[:7]).hex()}")
    assert code == 1
    assert report["errors"][0]["index"] == 6


def test_an_empty_log_fails_at_entry_0(honest, tmp_path: Path) -> None:
    log, _ = honest
    bundle = bundle_of(tmp_path, log, [])
    code, report = verify_json(bundle)
    assert code == 1
    assert report["entries"] == 0
    assert report["errors"][0]["index"] == 0


def test_keys_json_with_another_server_key_fails_at_entry_0(honest, tmp_path: Path) -> None:
    log, _ = honest
    bundle = write_bundle(
        tmp_path / "b", log.lines, ServerKey.generate().public_b64, kiosks_of(log)
    )
    code, report = verify_json(bundle)
    assert code == 1
    assert report["errors"][0]["index"] == 0
    assert "server key" in report["errors"][0]["reason"]


def test_a_whole_log_re_signed_with_another_key_still_fails_at_entry_0(
    honest, tmp_path: Path
) -> None:
    """An impostor re-signs everything with their own key, keeping log_started's claim."""
    log, _ = honest
    impostor = ServerKey.generate()
    lines = resign_from(log.lines, 0, impostor, lambda data: None)
    bundle = write_bundle(tmp_path / "b", lines, impostor.public_b64, kiosks_of(log))
    code, report = verify_json(bundle)
    assert code == 1
    assert report["errors"][0]["index"] == 0
    assert "server key" in report["errors"][0]["reason"]


def test_keys_json_with_another_kiosk_key_fails_at_its_enrollment(honest, tmp_path: Path) -> None:
    log, _ = honest
    kiosks = kiosks_of(log)
    kiosks["d3"]["public_key"] = kiosks_of(sitting()[0])["d3"]["public_key"]
    bundle = write_bundle(tmp_path / "b", log.lines, log.server.public_b64, kiosks)
    code, report = verify_json(bundle)
    assert code == 1
    enrollment = next(
        i for i, line in enumerate(log.lines) if b'"device":"d3"' in line and b"enrolled" in line
    )
    assert report["errors"][0]["index"] == enrollment


def test_keys_json_listing_a_device_the_log_never_enrolled_fails(honest, tmp_path: Path) -> None:
    log, _ = honest
    kiosks = {**kiosks_of(log), "rogue": {**kiosks_of(log)["d1"], "seat": 5}}
    bundle = write_bundle(tmp_path / "b", log.lines, log.server.public_b64, kiosks)
    code, report = verify_json(bundle)
    assert code == 1
    assert "rogue" in report["errors"][0]["reason"]


@pytest.mark.parametrize("missing", ["log.jsonl", "keys.json"])
def test_an_incomplete_bundle_fails_rather_than_being_a_usage_error(
    honest, tmp_path: Path, missing: str
) -> None:
    log, _ = honest
    bundle = bundle_of(tmp_path, log)
    (bundle / missing).unlink()
    code, report = verify_json(bundle)
    assert code == 1
    assert report["errors"] == [
        {"index": 0, "reason": f"bundle is incomplete: {missing} is missing"}
    ]


def test_head_json_must_be_the_head_of_the_log(honest, tmp_path: Path) -> None:
    log, _ = honest
    bundle = bundle_of(tmp_path, log)
    (bundle / "head.json").write_text(
        json.dumps({"size": len(log.lines), "root": tree_root(log.lines).hex()})
    )
    assert verify_json(bundle)[0] == 0
    cut = len(log.lines) - 1  # the log cut, head.json left as exported
    (bundle / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in log.lines[:cut]))
    code, report = verify_json(bundle)
    assert code == 1
    assert report["errors"][0]["index"] == cut


# --- verify: usage errors -----------------------------------------------------------


def test_no_such_directory_is_a_usage_error(tmp_path: Path) -> None:
    done = run("verify", str(tmp_path / "nowhere"), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    file = tmp_path / "a-file"
    file.write_text("x")
    assert run("verify", str(file)).returncode == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "head", ["", "abc", "12", f"0:{'a' * 64}", f"-1:{'a' * 64}", "3:abc", f"3:{'g' * 64}"]
)
def test_a_malformed_head_is_a_usage_error(honest, tmp_path: Path, head: str) -> None:
    log, _ = honest
    done = run("verify", str(bundle_of(tmp_path, log)), "--head", head)
    assert done.returncode == 2
    assert done.stdout == ""


def test_verify_loads_neither_flask_nor_sqlalchemy(honest, tmp_path: Path) -> None:
    """The auditor's laptop needs the bundle only: no web framework, no database."""
    log, _ = honest
    bundle = bundle_of(tmp_path, log)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(VOTING_AUDIT), "verify", str(bundle)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "audit.verify" in imported  # the check below looks at the real import list
    top_level = {name.split(".")[0] for name in imported}
    assert not top_level & {"flask", "flask_socketio", "sqlalchemy", "alembic", "psycopg"}
    assert not {"voting_server.db", "voting_server.models"} & imported


# --- export -------------------------------------------------------------------------


def populate(url: str, server: ServerKey) -> None:
    """The sitting's entries written by the server's own log writer, with the device rows."""
    migrate(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    built, _ = sitting()
    audit = AuditLog(server)
    with write_transaction(sessions) as session:
        body = Body(name="测试", kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.CITY)
        session.add(body)
        session.flush()
        for seat, key in built.kiosks.items():
            session.add(
                Device(id=f"d{seat}", body_id=body.id, seat=seat, public_key=key.public.spki_b64)
            )
        for line in built.lines[1:]:  # entry 0 is the writer's own log_started
            entry = json.loads(line)
            if entry["type"] != "checkpoint":  # the writer signs its own heads
                audit.append(session, body.id, entry["type"], entry["data"])
    engine.dispose()


def db_lines(url: str) -> list[bytes]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(iter_lines(session, only_body_id(session)))
    finally:
        engine.dispose()


def instance_with_key(tmp_path: Path) -> tuple[dict[str, str], ServerKey]:
    instance = tmp_path / "instance"
    key = ServerKey.load_or_create(instance / "server_ed25519.pem")
    return {"VOTING_INSTANCE_DIR": str(instance)}, key


def export_and_verify(url: str, tmp_path: Path) -> None:
    env, key = instance_with_key(tmp_path)
    populate(url, key)
    out = tmp_path / "bundle"
    done = run("export", "--out", str(out), "--database-url", url, env=env)
    assert done.returncode == 0, done.stderr
    lines = db_lines(url)
    assert (out / "log.jsonl").read_bytes() == b"".join(line + b"\n" for line in lines)
    head = {"size": len(lines), "root": tree_root(lines).hex()}
    assert json.loads(done.stdout)["head"] == head
    assert json.loads((out / "head.json").read_text()) == head
    keys = json.loads((out / "keys.json").read_text())
    assert keys["server"] == {"algorithm": "Ed25519", "public_key": key.public_b64}
    assert sorted(keys["kiosks"]) == ["d1", "d2", "d3", "d4", "d5"]
    code, report = verify_json(out, "--head", f"{head['size']}:{head['root']}")
    assert (code, report["ok"], report["head"]) == (0, True, head)
    assert sorted(p.name for p in out.iterdir()) == ["head.json", "keys.json", "log.jsonl"]


def test_export_from_sqlite_verifies(sqlite_url: str, tmp_path: Path) -> None:
    export_and_verify(sqlite_url, tmp_path)


@pytest.mark.postgres
def test_export_from_postgresql_verifies(postgres_url: str, tmp_path: Path) -> None:
    export_and_verify(postgres_url, tmp_path)


def test_export_reads_the_database_url_from_the_environment(
    sqlite_url: str, tmp_path: Path
) -> None:
    env, key = instance_with_key(tmp_path)
    populate(sqlite_url, key)
    out = tmp_path / "bundle"
    done = run("export", "--out", str(out), env={**env, "VOTING_DATABASE_URL": sqlite_url})
    assert done.returncode == 0, done.stderr
    assert verify_json(out)[0] == 0


@pytest.mark.slow
def test_export_refreshes_a_previous_bundle(sqlite_url: str, tmp_path: Path) -> None:
    env, key = instance_with_key(tmp_path)
    populate(sqlite_url, key)
    out = tmp_path / "bundle"
    assert run("export", "--out", str(out), "--database-url", sqlite_url, env=env).returncode == 0
    engine = make_engine(sqlite_url)
    with write_transaction(make_session_factory(engine)) as session:
        AuditLog(key).append(session, only_body_id(session), "vote_announced", {"vote": 1, "by": 1})
    engine.dispose()
    assert run("export", "--out", str(out), "--database-url", sqlite_url, env=env).returncode == 0
    code, report = verify_json(out)
    assert (code, report["entries"]) == (0, len(db_lines(sqlite_url)))


def test_export_refuses_a_directory_that_is_not_a_bundle(sqlite_url: str, tmp_path: Path) -> None:
    env, key = instance_with_key(tmp_path)
    populate(sqlite_url, key)
    out = tmp_path / "documents"
    out.mkdir()
    (out / "minutes.docx").write_bytes(b"keep me")
    done = run("export", "--out", str(out), "--database-url", sqlite_url, env=env)
    assert done.returncode == 1
    assert "not an audit bundle" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["minutes.docx"]


@pytest.mark.slow
def test_export_refuses_when_the_instance_key_is_not_the_logs(
    sqlite_url: str, tmp_path: Path
) -> None:
    env, _instance_key = instance_with_key(tmp_path)
    populate(sqlite_url, ServerKey.generate())  # a log some other key started
    out = tmp_path / "bundle"
    done = run("export", "--out", str(out), "--database-url", sqlite_url, env=env)
    assert done.returncode == 1
    assert "server key" in done.stderr
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_export_of_an_empty_log_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    migrate(sqlite_url)
    env, _ = instance_with_key(tmp_path)
    done = run("export", "--out", str(tmp_path / "b"), "--database-url", sqlite_url, env=env)
    assert done.returncode == 1
    assert "empty" in done.stderr


def test_a_device_table_changed_behind_the_logs_back_is_exported_and_fails_verify(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A key swapped in the device table (to let a rogue tablet vote) shows up in the bundle."""
    env, key = instance_with_key(tmp_path)
    populate(sqlite_url, key)
    engine = make_engine(sqlite_url)
    with write_transaction(make_session_factory(engine)) as session:
        rogue = sitting()[0].kiosks[2].public.spki_b64
        session.execute(update(Device).where(Device.id == "d2").values(public_key=rogue))
    engine.dispose()
    out = tmp_path / "bundle"
    done = run("export", "--out", str(out), "--database-url", sqlite_url, env=env)
    assert done.returncode == 0
    assert "device d2" in done.stderr
    code, report = verify_json(out)
    assert code == 1
    enrolled = next(i for i, line in enumerate(db_lines(sqlite_url)) if b'"device":"d2"' in line)
    assert report["errors"][0]["index"] == enrolled


@pytest.mark.slow
def test_export_streams_the_log(sqlite_url: str, tmp_path: Path) -> None:
    """A log far bigger than a batch is written without being held in memory at once."""
    from voting_server.services.export import export_bundle

    migrate(sqlite_url)
    server = ServerKey.generate()
    genesis = canonical_bytes(
        {"i": 0, "type": "log_started", "data": {"server_key": server.public_b64}}
    )
    filler = "议" * 600  # ~1.8 KB per line; the export does not judge content
    lines = [genesis] + [
        canonical_bytes({"i": i, "type": "note", "data": {"text": filler}})
        for i in range(1, 40_000)
    ]
    engine = make_engine(sqlite_url)
    with write_transaction(make_session_factory(engine)) as session:
        body = Body(name="测试机构", kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.CITY)
        session.add(body)
        session.flush()
        session.execute(
            AuditEntry.__table__.insert(),
            [
                {"body_id": body.id, "idx": i, "type": "x", "line": line.decode(), "hash": "0" * 64}
                for i, line in enumerate(lines)
            ],
        )
    engine.dispose()
    total = sum(len(line) + 1 for line in lines)
    seen: list[int] = []
    tracemalloc.start()
    try:
        exported = export_bundle(
            sqlite_url, tmp_path / "b", progress=seen.append, progress_every=10_000
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "b" / "log.jsonl").stat().st_size == total
    assert exported.head == {"size": len(lines), "root": tree_root(lines).hex()}
    assert seen == [10_000, 20_000, 30_000, 40_000]
    assert peak < total / 2, (peak, total)


def test_the_streamed_root_is_rfc6962s_for_every_size() -> None:
    lines = [f"line {i}".encode() for i in range(70)]
    stream = MerkleStream()
    assert stream.root() == tree_root([])
    for n, line in enumerate(lines, start=1):
        stream.add(line)
        assert stream.root() == tree_root(lines[:n]), n
