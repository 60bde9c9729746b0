"""Checkpoints: signed heads in the log after every result and every 1,000 entries.

The writer (``AuditLog``) and the verifier take the rule from
``audit.checkpoint``; these tests check each against the other and against
RFC 6962 roots recomputed here, and show that a missing, re-rooted or
badly signed checkpoint fails verification at its own entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from audit.checkpoint import CHECKPOINT_EVERY, head_error, signed_head
from audit.entry import canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.merkle import tree_root
from audit.verify import verify_log
from crypto import ServerKey
from tests.support.bodies import only_body_id
from tests.support.db import migrate
from tests.support.logs import LogBuilder, resign, sitting
from voting_server.db import make_engine, make_session_factory
from voting_server.models import Body, BodyKind, BodyLevel
from voting_server.services.audit_log import AuditLog, iter_lines
from voting_server.services.transactions import write_transaction


def entries(lines: list[bytes]) -> list[dict]:
    return [json.loads(line) for line in lines]


def rechain(log: LogBuilder, lines: list[bytes]) -> list[bytes]:
    """Re-index, re-chain and re-sign ``lines`` with the server key (a dishonest server)."""
    out: list[bytes] = []
    for i, entry in enumerate(entries(lines)):
        prev = entry_hash(out[-1]) if out else "0" * 64
        unsigned = unsigned_entry(i, prev, entry["t"], entry["type"], entry["data"])
        out.append(canonical_bytes(sign_entry(unsigned, log.server.sign)))
    return out


def first_error(log: LogBuilder, lines: list[bytes]) -> dict | None:
    report = verify_log(lines, log.server.public_bytes)
    return report.errors[0] if report.errors else None


# --- the verifier -----------------------------------------------------------------------


def test_every_result_is_followed_by_a_head_of_the_log_before_it() -> None:
    log, _ = sitting()
    found = entries(log.lines)
    results = [e["i"] for e in found if e["type"] == "result"]
    assert len(results) == 2
    for i in results:
        head = found[i + 1]
        assert head["type"] == "checkpoint"
        assert head["data"]["size"] == i + 1
        assert head["data"]["root"] == tree_root(log.lines[: i + 1]).hex()
        assert head_error(head["data"], log.server.public_bytes) is None
    assert verify_log(log.lines, log.server.public_bytes).ok


def test_a_checkpoint_removed_after_a_result_is_missed() -> None:
    log, marks = sitting()
    k = marks["motion_result"] + 1
    lines = rechain(log, log.lines[:k] + log.lines[k + 1 :])
    assert first_error(log, lines) == {
        "index": k,
        "reason": f"a checkpoint must follow entry {k - 1}",
    }


def test_a_log_that_ends_right_after_a_result_lacks_its_checkpoint() -> None:
    log, marks = sitting()
    k = marks["evaluation_result"]
    error = first_error(log, log.lines[: k + 1])
    assert error is not None and error["index"] == k + 1 and "checkpoint" in error["reason"]


def test_a_checkpoint_with_another_root_fails_even_when_signed() -> None:
    log, marks = sitting()
    k = marks["motion_result"] + 1

    def reroot(data: dict) -> None:
        data.update(signed_head(data["size"], "ab" * 32, data["time"], log.server.sign))

    error = first_error(log, resign(log, k, reroot))
    assert error is not None and error["index"] == k
    assert "head root" in error["reason"] and "ab" * 32 in error["reason"]


def test_a_checkpoint_with_another_size_fails() -> None:
    log, marks = sitting()
    k = marks["motion_result"] + 1

    def resize(data: dict) -> None:
        size = data["size"] - 1
        data.update(
            signed_head(size, tree_root(log.lines[:size]).hex(), data["time"], log.server.sign)
        )

    error = first_error(log, resign(log, k, resize))
    assert error is not None and error["index"] == k and "head size" in error["reason"]


def test_a_checkpoint_signed_by_another_key_fails() -> None:
    log, marks = sitting()
    k = marks["motion_result"] + 1
    other = ServerKey.generate()

    def forge(data: dict) -> None:
        data.update(signed_head(data["size"], data["root"], data["time"], other.sign))

    error = first_error(log, resign(log, k, forge))
    assert error is not None and error["index"] == k and "signature on the head" in error["reason"]


def test_a_checkpoint_every_thousand_entries() -> None:
    log = LogBuilder(members=CHECKPOINT_EVERY + 30)  # one device entry per member
    found = entries(log.lines)
    heads = [e for e in found if e["type"] == "checkpoint"]
    assert [h["i"] for h in heads] == [CHECKPOINT_EVERY]
    assert heads[0]["data"]["root"] == tree_root(log.lines[:CHECKPOINT_EVERY]).hex()
    assert verify_log(log.lines, log.server.public_bytes).ok
    k = CHECKPOINT_EVERY
    assert first_error(log, rechain(log, log.lines[:k] + log.lines[k + 1 :])) == {
        "index": k,
        "reason": f"a checkpoint must follow entry {k - 1}",
    }


# --- the writer ----------------------------------------------------------------------------


BODY = 1


@pytest.fixture
def writer(sqlite_url: str) -> tuple[AuditLog, object]:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    with write_transaction(sessions) as session:  # a log is a body's
        session.add(Body(id=BODY, name="测试", kind=BodyKind.CONGRESS, level=BodyLevel.CITY))
    yield AuditLog(ServerKey.generate()), sessions
    engine.dispose()


def logged(sessions) -> list[bytes]:
    with sessions() as session:
        return list(iter_lines(session, only_body_id(session)))


def test_the_writer_signs_a_head_after_a_result_and_every_thousand(writer) -> None:
    log, sessions = writer
    with write_transaction(sessions) as session:
        for n in range(CHECKPOINT_EVERY + 5):
            log.append(session, BODY, "note", {"n": n})
        log.append(session, BODY, "result", {"vote": 1})
    lines = logged(sessions)
    found = entries(lines)
    heads = [e for e in found if e["type"] == "checkpoint"]
    assert [h["i"] for h in heads] == [CHECKPOINT_EVERY, len(lines) - 1]
    for head in heads:
        assert head["data"]["root"] == tree_root(lines[: head["i"]]).hex()
        assert head_error(head["data"], log.key.public_bytes) is None


def test_the_writers_cached_tree_survives_a_rolled_back_transaction(writer) -> None:
    log, sessions = writer

    def result(session: Session) -> None:
        log.append(session, BODY, "result", {"vote": 1})

    with write_transaction(sessions) as session:
        result(session)  # caches the tree up to this checkpoint
    with pytest.raises(RuntimeError), write_transaction(sessions) as session:
        log.append(session, BODY, "note", {"rolled": "back"})
        result(session)  # caches lines that never commit …
        raise RuntimeError("the transaction fails")
    with write_transaction(sessions) as session:
        log.append(session, BODY, "note", {"committed": True})
        result(session)  # … so this head must not build on them
    lines = logged(sessions)
    last = entries(lines)[-1]
    assert last["type"] == "checkpoint"
    assert last["data"]["root"] == tree_root(lines[:-1]).hex()


def test_a_second_writer_process_on_the_same_log_writes_true_heads(writer, tmp_path: Path) -> None:
    """Two writers (two server processes) share one log: each head covers the other's entries."""
    first, sessions = writer
    second = AuditLog(first.key)
    for log in (first, second, first, second):
        with write_transaction(sessions) as session:
            log.append(session, BODY, "note", {})
            log.append(session, BODY, "result", {"vote": 1})
    lines = logged(sessions)
    for entry in entries(lines):
        if entry["type"] == "checkpoint":
            assert entry["data"]["root"] == tree_root(lines[: entry["i"]]).hex()


def test_append_answers_with_its_own_entry_when_a_checkpoint_follows(writer) -> None:
    """A ballot that lands on the 1,000th entry gets a receipt for itself, not for the head."""
    log, sessions = writer
    with write_transaction(sessions) as session:
        for n in range(CHECKPOINT_EVERY - 2):
            log.append(session, BODY, "note", {"n": n})
        appended = log.append(session, BODY, "ballot", {"n": "the 1,000th"})
    lines = logged(sessions)
    assert appended.index == CHECKPOINT_EVERY - 1
    assert json.loads(lines[appended.index])["data"] == {"n": "the 1,000th"}
    assert appended.hash == entry_hash(lines[appended.index])
    assert json.loads(lines[appended.index + 1])["type"] == "checkpoint"
