"""What a scrutineer's device checks before it decrypts a trustee-mode vote's aggregates
(docs/trustee-votes.md, "Before decrypting"): that the aggregates the server presents
are the product of genuine, distinct, counted ballots — never one deputy's ciphertexts
passed off as a sum. The JavaScript twin is
``kiosk_client/static/js/trustees/presented.mjs`` (``checkPresentedAggregates``).

Pure: plain JSON-like data in, no Flask, no database, no clock. Every refusal is a
``ContentMismatch`` whose ``field`` names the group, the ballot (its position, member
and nonce) or the aggregate (contest and option) that did not match.

The plain data
--------------

``counted_ballots`` — ``{group: [data, …]}``, each ``data`` an ``encrypted_ballot`` log
entry's data as logged: ``{"vote", "seat", "nonce", "member", "device", "press",
"ballot", "kiosk_sig"}`` (what ``GET /api/trustees/votes/<vote>/ballots`` returns).

``device_keys`` — ``{device: {"seat": int, "public_key": base64 DER SPKI}}``, the
enrolled tablets as logged (``device_enrolled``).

``presented_aggregates`` — ``{group: [[{"alpha", "beta"}…]…]}``; ``cast`` —
``{group: n}``: what the server asks the device to decrypt.

What is checked, and what is not
--------------------------------

Checked: each ballot names this vote; its device is given, at the ballot's seat, and
its kiosk signature over the ``encrypted-ballot`` statement verifies; members, seats,
nonces and ciphertexts (each α) are distinct across every group; each group has
``cast`` ballots; the per-option products of the ballots are the presented aggregates.

Not checked: the ballots' range proofs (each costs tens of group operations; the
server checked them before acknowledging and the verifier checks them again; an
ill-formed ballot can only spoil the count, which the verifier catches, never open a
ballot). Nor can the device know by itself that ``cast`` and ``device_keys`` are the
hall's: a server that lied about both could still present a made-up set. The count of
ballots is the one shown on the hall's screens at close (已按), which the scrutineer
reads; the device keys are the log's, which the verifier checks.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from audit.trustee_content import ContentMismatch, check_aggregates, layout_of
from crypto import CryptoError, KioskPublicKey, b64decode
from crypto.statements import encrypted_ballot_bytes

BALLOT_FIELDS = frozenset(
    {"vote", "seat", "nonce", "member", "device", "press", "ballot", "kiosk_sig"}
)


def check_presented_aggregates(
    vote_context: Mapping[str, Any],
    counted_ballots: Mapping[str, Sequence[Mapping[str, Any]]],
    device_keys: Mapping[str, Mapping[str, Any]],
    presented_aggregates: Any,
    cast: Mapping[str, int],
) -> None:
    """Refuses (ContentMismatch) unless ``presented_aggregates`` are the per-option
    products of ``counted_ballots``: each signed by its seat's enrolled tablet for this
    vote, one per member, seat, nonce and ciphertext, ``cast[group]`` of them per group.
    ``vote_context``: audit/trustee_content.py's (``vote_id`` and ``manifest`` are
    read). Precondition: none on the data — anything malformed is refused by name."""
    if not isinstance(counted_ballots, Mapping) or not isinstance(cast, Mapping):
        raise ContentMismatch("ballots", "not an object of groups")
    if set(counted_ballots) != set(cast):
        raise ContentMismatch(
            "ballots", f"groups {sorted(counted_ballots)}, the cast names {sorted(cast)}"
        )
    vote = int(vote_context["vote_id"])
    keys: dict[str, KioskPublicKey] = {}
    seen: dict[str, dict[str, str]] = {"member": {}, "seat": {}, "nonce": {}, "alpha": {}}
    for group, ballots in counted_ballots.items():
        if not isinstance(ballots, Sequence) or isinstance(ballots, str):
            raise ContentMismatch(f"ballots.{group}", "not a list")
        if len(ballots) != cast[group]:
            raise ContentMismatch(
                f"ballots.{group}", f"{len(ballots)} ballots, but {cast[group]} were cast"
            )
        for n, data in enumerate(ballots):
            where = _label(group, n, data)
            _check_signed(vote, data, device_keys, keys, where)
            _check_distinct(data, seen, where)
    layout = layout_of(vote_context)
    entries = {g: [{"ballot": d["ballot"]} for d in b] for g, b in counted_ballots.items()}
    check_aggregates(layout, entries, presented_aggregates)


def _label(group: str, n: int, data: Any) -> str:
    if not isinstance(data, Mapping):
        return f"ballots.{group}[{n}]"
    return f"ballots.{group}[{n}] (member {data.get('member')} nonce {data.get('nonce')})"


def _check_signed(
    vote: int,
    data: Any,
    device_keys: Mapping[str, Mapping[str, Any]],
    keys: dict[str, KioskPublicKey],
    where: str,
) -> None:
    """The ballot is this vote's, from an enrolled tablet at its seat, and that tablet's
    signature over the ``encrypted-ballot`` statement verifies."""
    if not isinstance(data, Mapping) or set(data) != BALLOT_FIELDS:
        got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise ContentMismatch(where, f"fields {got}, expected {sorted(BALLOT_FIELDS)}")
    if data["vote"] != vote or isinstance(data["vote"], bool):
        raise ContentMismatch(f"{where}.vote", f"{data['vote']!r}, not vote {vote}")
    seat, nonce = data["seat"], data["nonce"]
    if not isinstance(seat, int) or isinstance(seat, bool) or not isinstance(nonce, str):
        raise ContentMismatch(where, "seat is not an integer or nonce not text")
    device = str(data["device"])
    enrolled = device_keys.get(device)
    if not isinstance(enrolled, Mapping):
        raise ContentMismatch(f"{where}.device", f"device {device} has no enrolled key")
    if enrolled.get("seat") != seat:
        raise ContentMismatch(
            f"{where}.device", f"device {device} is at seat {enrolled.get('seat')}, not {seat}"
        )
    key = keys.get(device)
    if key is None:
        try:
            key = keys[device] = KioskPublicKey.from_spki_b64(str(enrolled.get("public_key")))
        except CryptoError as exc:
            raise ContentMismatch(f"device_keys.{device}", str(exc)) from None
    try:
        signature = b64decode(str(data["kiosk_sig"]), "kiosk_sig")
        signed = encrypted_ballot_bytes(vote, seat, nonce, data["ballot"])
    except (CryptoError, binascii.Error, TypeError) as exc:
        raise ContentMismatch(f"{where}.kiosk_sig", str(exc)) from None
    if not key.verify(signature, signed):
        raise ContentMismatch(
            f"{where}.kiosk_sig", f"does not verify with device {device}'s key: a forged ballot"
        )


def _check_distinct(data: Mapping[str, Any], seen: dict[str, dict[str, str]], where: str) -> None:
    """No member, seat, nonce or ciphertext counted twice (in any group)."""
    values = {"member": str(data["member"]), "seat": str(data["seat"]), "nonce": data["nonce"]}
    for name, value in values.items():
        if value in seen[name]:
            raise ContentMismatch(
                f"{where}.{name}", f"{name} {value} already counted in {seen[name][value]}"
            )
        seen[name][value] = where
    for alpha in _alphas(data["ballot"], where):
        if alpha in seen["alpha"]:
            raise ContentMismatch(
                f"{where}.ballot", f"a ciphertext already counted in {seen['alpha'][alpha]}"
            )
        seen["alpha"][alpha] = where


def _alphas(ballot: Any, where: str) -> list[str]:
    try:
        return [str(s["alpha"]) for c in ballot["contests"] for s in c["selections"]]
    except (KeyError, TypeError) as exc:
        raise ContentMismatch(f"{where}.ballot", f"not an encrypted ballot ({exc})") from None
