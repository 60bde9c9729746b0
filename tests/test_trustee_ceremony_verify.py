"""The verifier replays a key ceremony from the log alone (audit/trustee_ceremony.py):
the trustees are the sitting's designated scrutineers, every Schnorr proof verifies,
shares and verdicts are complete, a complaint's share is checked against the sender's
commitments, and the joint key and public shares are recomputed. A dishonest server that
rewrites and re-signs any of it is caught at that entry, naming what mismatched."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from audit import trustee_ceremony as tc
from audit.verify import verify_log
from crypto.trustees.group import ONE, Scalar
from tests.support.logs import LogBuilder, resign
from tests.support.trustees import Player


def _state(ceremony: tc.Ceremony, index: int) -> dict[str, Any]:
    """What a trustee's page gets from the server (its part of state_for)."""
    return {
        "n": ceremony.n,
        "commitments": {str(i): c for i, c in ceremony.commitments.items()},
        "shares_for_you": tc.shares_for(ceremony, index),
    }


def ceremony_log(*, cheat: bool = False) -> tuple[LogBuilder, dict[str, int]]:
    """Scrutineers 7 and 8 designated for sitting 1 (LogBuilder.duties) run a ceremony,
    k = 2; with ``cheat`` trustee 1 sends 2 a bad share, 2 complains, the ceremony fails."""
    log = LogBuilder()
    log.duties()
    marks: dict[str, int] = {}
    ceremony = tc.start("c1", 1, [(7, "甲"), (8, "乙")], None, "presidium")
    marks["started"] = log.append("trustee_ceremony_started", tc.started_data(ceremony, 1))
    players = {i: Player(i, ceremony.k, ceremony.base) for i in (1, 2)}
    if cheat:
        players[1].cheat_for = 2
    users = {1: 7, 2: 8}
    for i, p in players.items():
        data = {"ceremony_id": "c1", "index": i, "user_id": users[i], **p.commitments()}
        tc.check_commitments(ceremony, data)
        marks[f"commitments{i}"] = log.append("trustee_commitments", data)
    for i, p in players.items():
        data = {
            "ceremony_id": "c1",
            "index": i,
            "user_id": users[i],
            **p.shares(_state(ceremony, i)),
        }
        tc.check_shares(ceremony, data)
        marks[f"shares{i}"] = log.append("trustee_shares", data)
    for i, p in players.items():
        data = {
            "ceremony_id": "c1",
            "index": i,
            "user_id": users[i],
            **p.verdicts(_state(ceremony, i)),
        }
        upheld = tc.check_verdicts(ceremony, data)
        marks[f"verdicts{i}"] = log.append("trustee_verdicts", data)
        if upheld:
            failed = tc.failed_data(ceremony, tc.COMPLAINT_REASON, None)
            marks["failed"] = log.append("trustee_ceremony_failed", failed)
            return log, marks
    marks["key"] = log.append("trustee_key", tc.key_data(ceremony))
    return log, marks


def first_error(lines: list[bytes], log: LogBuilder) -> dict[str, Any] | None:
    report = verify_log(lines, log.server.public_bytes)
    return report.errors[0] if report.errors else None


def tampered(mark: str, change: Callable[[dict[str, Any]], None], words: str) -> None:
    log, marks = ceremony_log()
    lines = resign(log, marks[mark], change)
    error = first_error(lines, log)
    assert error is not None, "the tampered log verified"
    assert error["index"] == marks[mark] and words in error["reason"], error


def _flip(hex_text: str) -> str:
    return hex_text[:-1] + ("0" if hex_text[-1] != "0" else "1")


def test_an_honest_ceremony_verifies() -> None:
    log, marks = ceremony_log()
    assert first_error(log.lines, log) is None
    key = json.loads(log.lines[marks["key"]])["data"]
    assert set(key["public_shares"]) == {"1", "2"} and key["trustees"] == [7, 8]


def test_a_failed_ceremony_verifies_with_its_complaint() -> None:
    log, marks = ceremony_log(cheat=True)
    assert first_error(log.lines, log) is None
    failed = json.loads(log.lines[marks["failed"]])["data"]
    assert failed["complaints"] == [{"index": 2, "sender": 1}]


def test_a_changed_commitment_is_caught() -> None:
    def change(d: dict[str, Any]) -> None:
        d["commitments"][1]["commitment"] = _flip(d["commitments"][1]["commitment"])

    # a flipped byte is either no group element or one the proof does not fit
    log, marks = ceremony_log()
    error = first_error(resign(log, marks["commitments1"], change), log)
    assert error is not None and error["index"] == marks["commitments1"], error
    assert "commitments[1]" in error["reason"], error


def test_a_changed_proof_is_caught() -> None:
    tampered("commitments2", lambda d: d["commitments"][0]["proof"].update(
        c=d["commitments"][1]["proof"]["c"]), "ceremony_bad_proof: commitments[0]")  # fmt: skip


def test_a_changed_joint_key_is_caught() -> None:
    def change(d: dict[str, Any]) -> None:
        d["joint_key"] = d["public_shares"]["1"]

    tampered("key", change, "joint_key: logged")


def test_a_changed_public_share_is_caught() -> None:
    def change(d: dict[str, Any]) -> None:
        d["public_shares"]["2"] = d["public_shares"]["1"]

    tampered("key", change, "public_shares[2]: logged")


def test_a_missing_verdict_is_caught() -> None:
    log, marks = ceremony_log()
    lines = resign(log, marks["verdicts2"], lambda d: d.update(ceremony_id="other"))
    error = first_error(lines, log)
    assert error is not None and error["index"] == marks["verdicts2"]
    # without trustee 2's verdicts entry at all: the key is logged too early
    entries = [json.loads(x) for x in log.lines]
    kept = LogBuilder(server=log.server)
    kept.lines = []
    for entry in entries:
        if entry["i"] == marks["verdicts2"]:
            continue
        kept._line(entry["type"], entry["data"])  # re-chained and re-signed
    error = first_error(kept.lines, log)
    assert error is not None, "verified without a verdict"
    assert "verdicts missing (recipient→sender): 2→1" in error["reason"], error


def test_a_trustee_not_designated_is_caught() -> None:
    def change(d: dict[str, Any]) -> None:
        d["trustees"][1]["user_id"] = 9  # a scrutineer, but not designated for sitting 1

    tampered("started", change, "are not sitting 1's designated scrutineers [7, 8]")


def test_a_step_by_another_account_is_caught() -> None:
    tampered("shares1", lambda d: d.update(user_id=9), "scrutineer 9 is not designated")
    tampered("shares1", lambda d: d.update(user_id=8), "trustee 1 is account 7, not 8")


def test_a_missing_share_is_caught() -> None:
    tampered("shares2", lambda d: d.update(shares=[]), "shares: a list of n − 1 = 1")


def test_an_unfounded_complaint_in_the_log_is_caught() -> None:
    log, marks = ceremony_log(cheat=True)

    def honest(d: dict[str, Any]) -> None:  # the revealed share made one that fits
        share = Scalar.from_hex(d["verdicts"][0]["share"]) - ONE
        d["verdicts"][0]["share"] = share.hex()

    error = first_error(resign(log, marks["verdicts2"], honest), log)
    assert error is not None and error["index"] == marks["verdicts2"], error
    assert "ceremony_complaint_unfounded" in error["reason"], error


def test_a_ceremony_started_by_a_scrutineer_is_caught() -> None:
    tampered("started", lambda d: d.update(by=7), "a key ceremony is started by the presidium")


def test_bad_thresholds_are_refused_by_the_rules() -> None:
    for k in (0, 3):
        try:
            tc.start("c", 1, [(7, None), (8, None)], k, "presidium")
        except tc.CeremonyError as exc:
            assert exc.code == "ceremony_bad_threshold"
        else:
            raise AssertionError(f"k = {k} accepted")
    assert tc.start("c", 1, [(u, None) for u in range(5)], None, "presidium").k == 3
