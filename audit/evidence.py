"""What people hold outside the log, checked against it: kiosk receipts and result-sheet codes.

- A **receipt** is what a kiosk got back for a ballot: ``{vote, nonce,
  entry, entry_hash, server_sig, press, secret}``. Checked against a
  bundle, it shows that the server logged that press at that index, signed
  as promised — and, with a published head, that the entry is in the log
  that head commits to (an inclusion proof). For a named vote the logged
  entry carries the choice; for a secret vote it is a ``participation``
  entry, which proves taking part and never the choice (RULES.md).
- A **sheet code** is what a result sheet prints as a QR code: the vote, the
  index and hash of its ``result`` entry, and the signed head of the
  checkpoint that follows it. Checked against a bundle, it shows that the
  result on the sheet is the one logged, that the server signed the head,
  and that the bundle's log extends that head — the log only grew since
  the sheet was printed.

Pure functions over the bundle's lines and the server's public key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from audit.checkpoint import CHECKPOINT, head_error
from audit.entry import entry_hash
from audit.merkle import leaf_hash, tree_root
from audit.proofs import inclusion_document, inclusion_proof, verify_inclusion

RECEIPT_KEYS = frozenset({"vote", "nonce", "entry", "entry_hash", "server_sig", "press", "secret"})
SHEET_CODE_VERSION = 1
RESULT_TYPES = frozenset({"result", "manual_result"})  # electronic, and paper counts


class EvidenceError(ValueError):
    """A receipt or sheet code that does not match the log; says what differs."""


def _entry_at(lines: Sequence[bytes], index: Any) -> dict[str, Any]:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(lines):
        raise EvidenceError(f"entry {index!r} is not in the log of {len(lines)} entries")
    return json.loads(lines[index])


def _within(lines: Sequence[bytes], size: int, root: str) -> None:
    if size > len(lines):
        raise EvidenceError(f"the head has size {size}; the log has only {len(lines)} entries")
    actual = tree_root(lines[:size]).hex()
    if actual != root:
        raise EvidenceError(
            f"the first {size} entries have root {actual}, not the head's {root}: "
            "the log was rewritten since that head"
        )


# --- receipts ---------------------------------------------------------------------


def check_receipt(
    receipt: Any, lines: Sequence[bytes], head: tuple[int, str] | None = None
) -> dict[str, Any]:
    """Check a kiosk receipt against the log; returns what it proves.

    Preconditions: ``lines`` verified (``audit.verify``); ``head`` (size,
    root hex), when given, is a published head. Raises EvidenceError naming
    the first thing that differs.
    """
    if not isinstance(receipt, dict) or not set(receipt) >= RECEIPT_KEYS:
        raise EvidenceError(f"a receipt has the keys {sorted(RECEIPT_KEYS)}")
    index = receipt["entry"]
    entry = _entry_at(lines, index)
    if entry_hash(lines[index]) != receipt["entry_hash"]:
        raise EvidenceError(f"entry {index} has another hash than the receipt's")
    if entry["sig"] != receipt["server_sig"]:
        raise EvidenceError(f"entry {index} carries another server signature than the receipt's")
    expected_type = "participation" if receipt["secret"] else "ballot"
    if entry["type"] != expected_type:
        raise EvidenceError(f"entry {index} is a {entry['type']}, not a {expected_type}")
    data = entry["data"]
    for key in ("vote", "nonce", "press"):
        if data.get(key) != receipt[key]:
            raise EvidenceError(
                f"entry {index}: {key} is {data.get(key)!r}, receipt says {receipt[key]!r}"
            )
    size, root = head if head is not None else (len(lines), tree_root(lines).hex())
    if index >= size:
        raise EvidenceError(f"entry {index} is not covered by the head of size {size}")
    _within(lines, size, root)
    leaf = leaf_hash(lines[index])
    proof = inclusion_proof([leaf_hash(line) for line in lines[:size]], index, size)
    verify_inclusion(leaf, index, size, proof, bytes.fromhex(root))
    proved: dict[str, Any] = {
        "vote": data["vote"],
        "seat": data.get("seat"),
        "press": data["press"],
        "proves": "participation" if receipt["secret"] else "ballot",
        "inclusion": inclusion_document(leaf, index, size, proof, bytes.fromhex(root)),
    }
    if not receipt["secret"]:
        proved["ballot"] = data["ballot"]
    return proved


# --- what the tablet shows: the record number and the check code -------------------

CHECK_CODE_LENGTH = 12  # hex characters of the entry's hash the tablet shows (校验码)
RECEIPT_TYPES = frozenset({"ballot", "participation"})


def parse_check_code(text: str) -> str | None:
    """A check code as typed (any case, spaces or dashes between) → 12 lowercase hex
    characters, or None if it is not one."""
    code = "".join(ch for ch in text.lower() if ch not in " -\t\r\n")
    if len(code) != CHECK_CODE_LENGTH or any(ch not in "0123456789abcdef" for ch in code):
        return None
    return code


def check_record(line: bytes | None, code: str) -> dict[str, Any]:
    """Does the log hold, at the tablet's record number, a ballot or participation
    whose hash starts with ``code``? ``line``: the log's entry at that index (None if the
    log is shorter). Answers ``{"status": ...}``: ``no_record``, ``not_a_receipt`` (the
    index holds another kind of entry), ``wrong_code``, or ``found`` with the entry's
    ``type``, ``vote`` and ``press`` — and ``ballot`` for a named vote (what the tablet
    showed); never the member or the seat."""
    if line is None:
        return {"status": "no_record"}
    entry = json.loads(line)
    if entry.get("type") not in RECEIPT_TYPES:
        return {"status": "not_a_receipt"}
    if entry_hash(line)[:CHECK_CODE_LENGTH] != code:
        return {"status": "wrong_code"}
    data = entry["data"]
    found = {"status": "found", "type": entry["type"], "vote": data["vote"],
             "press": data["press"]}  # fmt: skip
    if entry["type"] == "ballot":
        found["ballot"] = data["ballot"]
    return found


# --- result sheets ----------------------------------------------------------------


def sheet_code(vote: int, result_index: int, result_line: bytes, head: dict[str, Any]) -> dict:
    """The QR payload of a result sheet: the vote, its result entry, the signed head after it."""
    return {
        "v": SHEET_CODE_VERSION,
        "vote": vote,
        "result_entry": result_index,
        "result_hash": entry_hash(result_line),
        "head": head,
    }


def check_sheet_code(code: Any, lines: Sequence[bytes], server_key: bytes) -> dict[str, Any]:
    """Check a result sheet's code against the log; returns the logged result.

    Preconditions: ``lines`` verified (``audit.verify``) with ``server_key``.
    Raises EvidenceError naming the first thing that differs.
    """
    if not isinstance(code, dict) or code.get("v") != SHEET_CODE_VERSION:
        raise EvidenceError(f"not a result-sheet code (version {SHEET_CODE_VERSION})")
    head = code.get("head")
    if (error := head_error(head, server_key)) is not None:
        raise EvidenceError(f"the sheet's head: {error}")
    # The head first: if the log does not extend it, nothing under it can be trusted.
    _within(lines, head["size"], head["root"])
    index = code.get("result_entry")
    entry = _entry_at(lines, index)
    if index >= head["size"]:
        raise EvidenceError(f"the result (entry {index}) is beyond the head of size {head['size']}")
    if entry["type"] not in RESULT_TYPES or entry["data"].get("vote") != code.get("vote"):
        raise EvidenceError(f"entry {index} is not the result of vote {code.get('vote')!r}")
    if entry_hash(lines[index]) != code.get("result_hash"):
        raise EvidenceError(f"entry {index} has another hash than the sheet's")
    checkpoint = json.loads(lines[head["size"]]) if head["size"] < len(lines) else None
    logged_as_checkpoint = (
        checkpoint is not None and checkpoint["type"] == CHECKPOINT and checkpoint["data"] == head
    )
    return {
        "vote": code["vote"],
        "result_entry": index,
        "manual": entry["type"] == "manual_result",
        "result": entry["data"]["result"],
        "head": {"size": head["size"], "root": head["root"], "time": head["time"]},
        "head_logged": logged_as_checkpoint,
        "log_size": len(lines),
    }
