"""The audit bundle on disk, and its verification (CONTRACTS.md §4).

A bundle is a directory holding

- ``log.jsonl``: the log, one entry per line, each line ending in ``\\n``;
- ``keys.json``: ``{"server": {"algorithm": "Ed25519", "public_key": b64 raw},
  "kiosks": {device: {"seat", "algorithm": "ECDSA-P256-SHA256",
  "public_key": b64 SPKI, "revoked"}}}``;
- ``head.json``: ``{"size", "root"}`` of the whole log, written last by
  ``voting-audit export`` (optional for ``verify``: a bundle assembled by
  hand may leave it out; when present it must be the log's head).

Only files are read here — no server, database, network or clock — so this
module must never import Flask, SQLAlchemy or ``voting_server.db``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.merkle import tree_root
from audit.verify import Progress, Report, verify_log
from crypto import CryptoError, KioskPublicKey, b64decode
from rules.parsing import load_json

LOG_FILE = "log.jsonl"
KEYS_FILE = "keys.json"
HEAD_FILE = "head.json"
BUNDLE_FILES = (LOG_FILE, KEYS_FILE, HEAD_FILE)
SERVER_ALGORITHM = "Ed25519"
KIOSK_ALGORITHM = "ECDSA-P256-SHA256"

_HEAD_RE = re.compile(r"^([0-9]+):([0-9a-fA-F]{64})$")
# Canonical lines have no spaces, so a device entry always contains this;
# anything else need not be parsed a second time.
_DEVICE_TYPE_MARK = b'"type":"device_'
# Entries that give a device its key, and those that make it unusable (a rejected
# replacement tablet is never usable: keys.json marks it revoked).
ENROLLING = frozenset({"device_enrolled", "device_enrollment_requested"})
REVOKING = frozenset({"device_revoked", "device_enrollment_rejected"})


class BundleError(Exception):
    """The bundle cannot be verified as it stands, at entry ``index``."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"entry {index}: {reason}")
        self.index = index
        self.reason = reason


# --- heads ------------------------------------------------------------------------


def parse_head(text: str) -> tuple[int, str]:
    """``SIZE:ROOT`` (a published head) → (size, lowercase root). Raises ValueError."""
    match = _HEAD_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not SIZE:ROOT (a positive size, 64 hex digits)")
    size = int(match.group(1))
    if size < 1:
        raise ValueError("a published head has at least one entry")
    return size, match.group(2).lower()


# --- reading ----------------------------------------------------------------------


def read_lines(path: Path) -> list[bytes]:
    """The lines of ``log.jsonl`` without their ``\\n``.

    Split on ``\\n`` only: a ``\\r`` stays in its line, which then fails the
    canonical-form check. The newline after the last line may be missing; a
    blank line anywhere (also at the very end) is an entry, and fails.
    """
    lines: list[bytes] = []
    with path.open("rb") as f:
        for raw in f:  # binary files split on b"\n" and nothing else
            lines.append(raw[:-1] if raw.endswith(b"\n") else raw)
    return lines


@dataclass(frozen=True)
class KioskEntry:
    seat: int
    public_key: str
    revoked: bool


@dataclass(frozen=True)
class Keys:
    server: bytes  # raw Ed25519 public key
    kiosks: dict[str, KioskEntry]


def load_keys(path: Path) -> Keys:
    """Parse ``keys.json``; any defect is a BundleError at entry 0."""
    try:
        doc = load_json(path.read_bytes())
    except FileNotFoundError:
        raise BundleError(0, f"bundle is incomplete: {KEYS_FILE} is missing") from None
    except (OSError, ValueError) as exc:
        raise BundleError(0, f"{KEYS_FILE} cannot be read: {exc}") from None
    try:
        server = doc["server"]
        if server["algorithm"] != SERVER_ALGORITHM:
            raise ValueError(f"server algorithm must be {SERVER_ALGORITHM}")
        server_key = b64decode(server["public_key"], "server public key")
        if len(server_key) != 32:
            raise ValueError("server public key must be 32 bytes")
        kiosks: dict[str, KioskEntry] = {}
        for device, entry in doc["kiosks"].items():
            if entry["algorithm"] != KIOSK_ALGORITHM:
                raise ValueError(f"device {device}: algorithm must be {KIOSK_ALGORITHM}")
            if type(entry["seat"]) is not int or type(entry["revoked"]) is not bool:
                raise ValueError(f"device {device}: seat must be an integer, revoked a boolean")
            KioskPublicKey.from_spki_b64(entry["public_key"])
            kiosks[device] = KioskEntry(entry["seat"], entry["public_key"], entry["revoked"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise BundleError(0, f"{KEYS_FILE} is malformed (missing or wrong {exc})") from None
    except (ValueError, CryptoError) as exc:
        raise BundleError(0, f"{KEYS_FILE} is malformed: {exc}") from None
    return Keys(server_key, kiosks)


def load_head_file(path: Path) -> tuple[int, str] | None:
    """``head.json`` as (size, root), or None when the bundle has none."""
    try:
        doc = load_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BundleError(0, f"{HEAD_FILE} cannot be read: {exc}") from None
    if (
        not isinstance(doc, dict)
        or type(doc.get("size")) is not int
        or not isinstance(doc.get("root"), str)
        or not re.fullmatch(r"[0-9a-f]{64}", doc["root"])
    ):
        raise BundleError(0, f"{HEAD_FILE} must be {{size: integer, root: 64 lowercase hex}}")
    return doc["size"], doc["root"]


# --- verifying --------------------------------------------------------------------


def verify_bundle(
    directory: Path,
    head: tuple[int, str] | None = None,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Report:
    """Verify the bundle in ``directory``; with ``head``, also that the log contains it.

    A missing ``log.jsonl`` or ``keys.json`` makes the bundle fail (at entry
    0), not a usage error: an incomplete bundle is content that does not
    verify. The report names only the first failure. ``jobs`` and
    ``progress`` are ``verify_log``'s.
    """
    try:
        lines = read_lines(directory / LOG_FILE)
    except FileNotFoundError:
        return _failed([], BundleError(0, f"bundle is incomplete: {LOG_FILE} is missing"))
    except OSError as exc:
        return _failed([], BundleError(0, f"{LOG_FILE} cannot be read: {exc.strerror}"))
    try:
        keys = load_keys(directory / KEYS_FILE)
        if not lines:
            raise BundleError(0, f"{LOG_FILE} is empty: a log starts with log_started")
        _check_server_key(lines[0], keys.server)
    except BundleError as exc:
        return _failed(lines, exc)

    report = verify_log(lines, keys.server, jobs=jobs, progress=progress)
    first = report.errors[0] if report.errors else None
    kiosk_error = _check_kiosks(lines, keys.kiosks)
    if kiosk_error is not None and (first is None or kiosk_error.index < first["index"]):
        first = {"index": kiosk_error.index, "reason": kiosk_error.reason}
    if first is None:
        try:
            head_file = load_head_file(directory / HEAD_FILE)
            if head_file is not None:
                _check_head(lines, head_file, HEAD_FILE, exact=True, whole=report.head)
            if head is not None:
                _check_head(lines, head, "published head", exact=False, whole=report.head)
        except BundleError as exc:
            first = {"index": exc.index, "reason": exc.reason}
    return Report(
        ok=first is None,
        entries=report.entries,
        head=report.head,
        errors=[] if first is None else [first],
        votes=report.votes,
    )


def _failed(lines: list[bytes], error: BundleError) -> Report:
    return Report(
        ok=False,
        entries=len(lines),
        head={"size": len(lines), "root": tree_root(lines).hex()},
        errors=[{"index": error.index, "reason": error.reason}],
    )


def _check_server_key(first_line: bytes, server_key: bytes) -> None:
    """``keys.json``'s server key is the one entry 0 announces.

    Only a readable ``log_started`` is compared here; anything else about
    entry 0 is the verifier's to report.
    """
    try:
        entry = load_json(first_line)
        announced = entry["data"]["server_key"] if entry["type"] == "log_started" else None
    except (ValueError, KeyError, TypeError):
        return
    if announced is None:
        return
    try:
        same = isinstance(announced, str) and b64decode(announced) == server_key
    except CryptoError:
        same = False
    if not same:
        raise BundleError(0, f"{KEYS_FILE}'s server key is not the key log_started announces")


def _check_kiosks(lines: list[bytes], kiosks: dict[str, KioskEntry]) -> BundleError | None:
    """``keys.json``'s kiosks are exactly the devices the log enrolls and revokes.

    The verifier takes kiosk keys from the log itself; this catches a device
    table changed without a log entry, or a log cut short after an
    enrollment. Unreadable lines are skipped here: the verifier reports them.
    """
    enrolled: set[str] = set()
    revoked: set[str] = set()
    for index, type_, device, data in _device_entries(lines):
        listed = kiosks.get(device)
        if type_ in ENROLLING:
            enrolled.add(device)
            if listed is None:
                return BundleError(index, f"{KEYS_FILE} does not list device {device}")
            if (listed.seat, listed.public_key) != (data.get("seat"), data.get("public_key")):
                return BundleError(
                    index, f"{KEYS_FILE} gives device {device} another seat or key than the log"
                )
        else:
            revoked.add(device)
            if listed is not None and not listed.revoked:
                return BundleError(index, f"{KEYS_FILE} does not mark device {device} revoked")
    for device, listed in sorted(kiosks.items()):
        if device not in enrolled:
            return BundleError(
                len(lines), f"{KEYS_FILE} lists device {device}, which the log never enrolls"
            )
        if listed.revoked and device not in revoked:
            return BundleError(
                len(lines), f"{KEYS_FILE} marks device {device} revoked; the log never revokes it"
            )
    return None


def _device_entries(lines: Iterable[bytes]) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
    """(index, type, device, data) of each readable entry of ``ENROLLING`` or ``REVOKING``."""
    for index, line in enumerate(lines):
        if _DEVICE_TYPE_MARK not in line:
            continue
        try:
            entry = load_json(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            continue
        type_, device = entry.get("type"), entry["data"].get("device")
        if type_ in ENROLLING | REVOKING and isinstance(device, str):
            yield index, type_, device, entry["data"]


def _check_head(
    lines: list[bytes], head: tuple[int, str], what: str, *, exact: bool, whole: dict[str, Any]
) -> None:
    """The first ``size`` lines have Merkle root ``root``; ``exact``: and nothing follows.

    ``whole`` is the head of all the lines, already computed by the verifier.
    """
    size, root = head
    if size > len(lines):
        raise BundleError(len(lines), f"log has {len(lines)} entries; the {what} has {size}")
    if exact and size < len(lines):
        raise BundleError(size, f"log has {len(lines)} entries; the {what} has only {size}")
    actual = whole["root"] if size == whole["size"] else tree_root(lines[:size]).hex()
    if size and actual != root.lower():
        raise BundleError(
            size - 1, f"the Merkle root of the first {size} entries is not the {what}'s"
        )
