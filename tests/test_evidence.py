"""Receipts and result-sheet codes checked offline against simulated bundles.

A deputy's receipt must show that the press was logged (with the choice in
a named vote, never in a secret one); a result sheet's code must lead from
paper to the logged result and show that the log only grew since — and
both must fail when the log or the paper was altered.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.evidence import EvidenceError, check_sheet_code, sheet_code
from audit.merkle import tree_root
from audit.verify import verify_log
from tests.support.logs import LogBuilder, sitting
from tests.support.sim import lines_of

pytestmark = pytest.mark.slow  # make check leaves it out (README)

AUDIT = "from audit.cli import main; main()"


def audit(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", AUDIT, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def receipts_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(report["receipts"]).read_text().splitlines()]


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj))
    return path


def codes_of(bundle: Path) -> list[dict[str, Any]]:
    """The sheet codes the server prints: each result with the checkpoint after it."""
    lines = lines_of(bundle)
    entries = [json.loads(line) for line in lines]
    return [
        sheet_code(e["data"]["vote"], e["i"], lines[e["i"]], entries[e["i"] + 1]["data"])
        for e in entries
        if e["type"] == "result"
    ]


# --- receipts ------------------------------------------------------------------------


def test_a_named_receipt_shows_the_logged_choice(named, tmp_path: Path) -> None:
    report, bundle = named
    receipts = receipts_of(report)
    assert receipts and not any(r["secret"] for r in receipts)
    for receipt in receipts[:: max(1, len(receipts) // 10)]:
        code, proved = audit("check-receipt", str(bundle), str(write(tmp_path / "r.json", receipt)))
        assert code == 0, proved
        assert proved["proves"] == "ballot" and proved["vote"] == receipt["vote"]
        assert proved["seat"] == receipt["seat"] and "ballot" in proved
        assert proved["inclusion"]["index"] == receipt["entry"]


def test_a_secret_receipt_proves_participation_never_the_choice(secret, tmp_path: Path) -> None:
    report, bundle = secret
    receipt = receipts_of(report)[0]
    assert receipt["secret"] is True
    code, proved = audit("check-receipt", str(bundle), str(write(tmp_path / "r.json", receipt)))
    assert code == 0, proved
    assert proved["proves"] == "participation" and "ballot" not in proved
    entry = json.loads(lines_of(bundle)[receipt["entry"]])
    assert entry["type"] == "participation" and "ballot" not in entry["data"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.update(entry=r["entry"] + 1), "hash"),
        (lambda r: r.update(entry_hash="0" * 64), "hash"),
        (lambda r: r.update(nonce="x" * 22), "nonce"),
        (lambda r: r.update(press=r["press"] + 1), "press"),
        (lambda r: r.update(entry=10**9), "not in the log"),
    ],
    ids=["another entry", "another hash", "another nonce", "another press", "no such entry"],
)
def test_an_altered_receipt_fails(named, tmp_path: Path, change, reason: str) -> None:
    report, bundle = named
    receipt = receipts_of(report)[0]
    change(receipt)
    code, answer = audit("check-receipt", str(bundle), str(write(tmp_path / "r.json", receipt)))
    assert code == 1 and reason in answer["reason"], answer


def test_a_receipt_is_checked_under_a_published_head(named, tmp_path: Path) -> None:
    report, bundle = named
    receipt = receipts_of(report)[0]
    path = write(tmp_path / "r.json", receipt)
    lines = lines_of(bundle)
    size = receipt["entry"] + 1
    good = f"{size}:{tree_root(lines[:size]).hex()}"
    assert audit("check-receipt", str(bundle), str(path), "--head", good)[0] == 0
    too_early = f"{receipt['entry']}:{tree_root(lines[: receipt['entry']]).hex()}"
    code, answer = audit("check-receipt", str(bundle), str(path), "--head", too_early)
    assert code == 1 and "not covered" in answer["reason"]
    wrong = f"{size}:{'ab' * 32}"
    code, answer = audit("check-receipt", str(bundle), str(path), "--head", wrong)
    assert code == 1 and "rewritten" in answer["reason"]


# --- result sheets ----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["named", "secret"])
def test_every_sheet_code_leads_to_its_logged_result(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    report, bundle = request.getfixturevalue(which)
    codes = codes_of(bundle)
    assert len(codes) == 3
    for code, vote in zip(codes, report["votes"], strict=True):
        status, checked = audit("check-sheet", str(bundle), str(write(tmp_path / "c.json", code)))
        assert status == 0, checked
        assert checked["result"] == vote["result"] and checked["manual"] is False
        assert checked["head_logged"] is True


def test_a_sheet_still_checks_after_the_log_grew(named, tmp_path: Path) -> None:
    """The first vote's sheet, against the bundle of the whole sitting: the log only grew."""
    _, bundle = named
    first = codes_of(bundle)[0]
    assert first["head"]["size"] < len(lines_of(bundle))
    status, checked = audit("check-sheet", str(bundle), str(write(tmp_path / "c.json", first)))
    assert status == 0 and checked["log_size"] > checked["head"]["size"]


def test_a_sheet_fails_against_a_truncated_log(named, tmp_path: Path) -> None:
    """A bundle cut before the sheet's head cannot confirm the sheet."""
    _, bundle = named
    code = codes_of(bundle)[1]
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "head.json").unlink()
    cut = code["head"]["size"] - 1  # up to, not including, the result's entry of that head
    (copy / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in lines_of(bundle)[:cut]))
    status, answer = audit("check-sheet", str(copy), str(write(tmp_path / "c.json", code)))
    assert status == 1 and "the log has only" in answer["reason"], answer


def test_a_sheet_fails_against_a_log_rewritten_with_the_servers_own_key() -> None:
    """Even the server's key cannot rewrite history under a printed head: the rewritten
    log verifies on its own, but the first ``size`` entries no longer have the sheet's root."""
    log, marks = sitting()
    lines = list(log.lines)
    k = marks["motion_result"]
    code = sheet_code(1, k, lines[k], json.loads(lines[k + 1])["data"])
    assert check_sheet_code(code, lines, log.server.public_bytes)["result"]["subjects"]

    entries = [json.loads(line) for line in lines]
    first_sign_in = next(e["i"] for e in entries if e["type"] == "signed_in")
    entries[first_sign_in]["data"]["method"] = "operator"
    entries[first_sign_in]["data"]["by"] = entries[first_sign_in]["data"].pop("device")
    rewritten = LogBuilder.__new__(LogBuilder)
    rewritten.server, rewritten.lines = log.server, []
    for entry in entries:  # the forger re-signs every entry and recomputes every checkpoint
        if entry["type"] != "checkpoint":
            rewritten.append(entry["type"], entry["data"])
        if entry["i"] == first_sign_in:  # the tablet's PIN, now a confirmation (代为签到)
            data = entry["data"]
            rewritten.append("pin_confirmed", {"sitting": data["sitting"], "member": data["member"],
                                               "seat": data["seat"], "device": data["by"]})  # fmt: skip
    assert verify_log(rewritten.lines, log.server.public_bytes).ok
    with pytest.raises(EvidenceError, match="rewritten"):
        check_sheet_code(code, rewritten.lines, log.server.public_bytes)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c["head"].update(root="ab" * 32), "signature"),
        (lambda c: c.update(result_hash="0" * 64), "hash"),
        (lambda c: c.update(vote=c["vote"] + 1), "not the result"),
        (lambda c: c.update(result_entry=c["result_entry"] - 1), "not the result"),
    ],
    ids=["another root", "another result hash", "another vote", "another entry"],
)
def test_an_altered_sheet_code_fails(named, tmp_path: Path, change, reason: str) -> None:
    _, bundle = named
    code = codes_of(bundle)[0]
    change(code)
    status, answer = audit("check-sheet", str(bundle), str(write(tmp_path / "c.json", code)))
    assert status == 1 and reason in answer["reason"], answer
