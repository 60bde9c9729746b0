"""Every statement a key signs, spelled once (docs/audit-log.md "Signatures").

A statement is a small JSON object; what is signed is its canonical bytes
(``crypto.canonical``). Kiosks sign with their P-256 key (raw r‖s, base64):

- ``ballot``: ``{"type": "ballot", "vote", "seat", "nonce", "ballot"}``
- ``participation``: ``{"type": "participation", "vote", "seat", "nonce"}`` —
  what a secret vote (无记名投票) logs instead of the choice;
- ``encrypted-ballot``: ``{"type": "encrypted-ballot", "vote", "seat", "nonce",
  "ballot"}`` — a trustee-mode secret vote's ballot, ``ballot`` its encrypted wire form
  (docs/trustee-crypto.md), logged as the ``encrypted_ballot`` entry;
- ``kiosk-auth``: ``{"type": "kiosk-auth", "device", "challenge"}`` — the
  answer to the connection's challenge.

The server signs with its Ed25519 key:

- a log entry: the entry without ``sig`` (every entry, e.g. a countersignature
  (会签), is the server's statement that it happened);
- a checkpoint: ``{"type": "checkpoint", "size", "root", "time"}``.

The Python kiosk client, the server, the verifier and the bench build these
bytes here and nowhere else; the tablet's browser builds them in
``kiosk_client/static/js/kiosk/statements.mjs``. ``tests/vectors/statements.json``
pins both to the same bytes and signatures. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol

from crypto.canonical import canonical_bytes, canonical_bytes_without_floats

BALLOT = "ballot"
PARTICIPATION = "participation"
ENCRYPTED_BALLOT = "encrypted-ballot"
ENCRYPTED_BALLOT_ENTRY = "encrypted_ballot"  # the log entry whose statement it is
KIOSK_AUTH = "kiosk-auth"
CHECKPOINT = "checkpoint"


class Signer(Protocol):
    """A private key (``crypto.KioskKey``, ``crypto.ServerKey``): bytes in, raw signature out."""

    def sign(self, data: bytes) -> bytes: ...


# --- what a kiosk signs (P-256) ----------------------------------------------------------


def ballot_statement(vote: int, seat: int, nonce: str, ballot: Any) -> dict[str, Any]:
    """A named or secret ballot: the choice, bound to the vote, the seat and the nonce."""
    return {"type": BALLOT, "vote": vote, "seat": seat, "nonce": nonce, "ballot": ballot}


def participation_statement(vote: int, seat: int, nonce: str) -> dict[str, Any]:
    """That this seat voted, without the choice: what a secret vote logs."""
    return {"type": PARTICIPATION, "vote": vote, "seat": seat, "nonce": nonce}


def encrypted_ballot_statement(vote: int, seat: int, nonce: str, encrypted: Any) -> dict[str, Any]:
    """A trustee-mode ballot: the encrypted marks with their proofs, bound to the vote,
    the seat and the nonce (docs/trustee-votes.md)."""
    return {"type": ENCRYPTED_BALLOT, "vote": vote, "seat": seat, "nonce": nonce,
            "ballot": encrypted}  # fmt: skip


def auth_statement(device: str, challenge: str) -> dict[str, Any]:
    """The connection proof: this device answers this connection's challenge."""
    return {"type": KIOSK_AUTH, "device": device, "challenge": challenge}


def press_statement(type_: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the kiosk signed for a ``ballot``, ``participation`` or ``encrypted_ballot``
    log entry's ``data``."""
    vote, seat, nonce = int(data["vote"]), int(data["seat"]), str(data["nonce"])
    if type_ == BALLOT:
        return ballot_statement(vote, seat, nonce, data["ballot"])
    if type_ == ENCRYPTED_BALLOT_ENTRY:
        return encrypted_ballot_statement(vote, seat, nonce, data["ballot"])
    if type_ == PARTICIPATION:
        return participation_statement(vote, seat, nonce)
    raise ValueError(f"a kiosk signs no {type_!r} entry")


def ballot_bytes(vote: int, seat: int, nonce: str, ballot: Any) -> bytes:
    return canonical_bytes(ballot_statement(vote, seat, nonce, ballot))


def participation_bytes(vote: int, seat: int, nonce: str) -> bytes:
    return canonical_bytes(participation_statement(vote, seat, nonce))


def encrypted_ballot_bytes(vote: int, seat: int, nonce: str, encrypted: Any) -> bytes:
    return canonical_bytes(encrypted_ballot_statement(vote, seat, nonce, encrypted))


def auth_bytes(device: str, challenge: str) -> bytes:
    return canonical_bytes(auth_statement(device, challenge))


def press_bytes(type_: str, data: Mapping[str, Any], *, float_free: bool = False) -> bytes:
    """The signed bytes of a press entry. ``float_free``: the caller knows ``data`` holds
    no float (its line passed the verifier's canonical check), so skip looking for one."""
    statement = press_statement(type_, data)
    return canonical_bytes_without_floats(statement) if float_free else canonical_bytes(statement)


def sign_statement(key: Signer, statement: Mapping[str, Any]) -> str:
    """Base64 of the key's signature over the statement's canonical bytes (a kiosk: raw r‖s)."""
    return base64.b64encode(key.sign(canonical_bytes(statement))).decode("ascii")


def ballot_signatures(
    key: Signer, vote: int, seat: int, nonce: str, ballot: Any
) -> tuple[str, str]:
    """The two signatures a ballot carries: over the ballot and over the participation
    (the server logs the one its vote needs: named the first, secret the second)."""
    return (
        sign_statement(key, ballot_statement(vote, seat, nonce, ballot)),
        sign_statement(key, participation_statement(vote, seat, nonce)),
    )


# --- what the server signs (Ed25519) -----------------------------------------------------


def entry_statement(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A log entry as the server signs it: everything but its ``sig``."""
    return {k: v for k, v in entry.items() if k != "sig"}


def entry_bytes(entry: Mapping[str, Any]) -> bytes:
    return canonical_bytes(entry_statement(entry))


def head_statement(size: int, root: str, time: str) -> dict[str, Any]:
    """A signed head: size, lowercase hex root, and time (UTC, ISO 8601)."""
    return {"type": CHECKPOINT, "size": size, "root": root, "time": time}


def head_bytes(size: int, root: str, time: str) -> bytes:
    return canonical_bytes(head_statement(size, root, time))
