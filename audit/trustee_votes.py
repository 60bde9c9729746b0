"""The pure checks of a trustee-mode vote that the server and the verifier share
beside audit/trustee_content.py (docs/trustee-votes.md): whether a vote may be held in
trustee mode, one trustee's partial decryptions checked alone (as each is posted), and
the totals as the ``result`` entry's ``content`` lists them. No I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from audit import trustee_content as content
from crypto.trustees import ballot as tballot
from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import Element
from rules import VoteSpec
from rules.kinds import kind_of


def configuration_error(secret: bool, spec: VoteSpec) -> str | None:
    """Why a vote of ``spec`` cannot be held in trustee mode, or None. Pure."""
    if not secret:
        return "only a secret vote (无记名) can be held in trustee mode"
    if not kind_of(spec.kind).supports_trustees(spec):
        return f"a {spec.kind} vote of this configuration has no trustee mode"
    return None


def check_own_partials(
    context: Mapping[str, Any],
    h_v: bytes,
    index: int,
    aggregates: Mapping[str, Any],
    cast: Mapping[str, int],
    shares: Any,
) -> None:
    """Trustee ``index``'s partial decryptions, alone: one for every aggregate of every
    group with counted ballots, each proof verified against its public share. Raises
    TrusteeCryptoError or ContentMismatch naming the group, contest and option. Pure."""
    decrypted = sorted(g for g in cast if cast[g] > 0)
    if not isinstance(shares, dict) or sorted(shares) != decrypted:
        given = sorted(shares) if isinstance(shares, dict) else type(shares).__name__
        raise content.ContentMismatch("shares", f"groups {given}, expected {decrypted}")
    layout = content.layout_of(context)
    k_hat = Element.from_hex(context["public_shares"][str(index)], f"public_shares.{index}")
    for group in decrypted:
        table = tdecrypt.partials_from_json(layout, shares[group], f"shares.{group}")
        published = tballot.aggregates_from_json(layout, aggregates[group])
        for n, row in enumerate(table):
            for o, partial in enumerate(row):
                place = content.named(f"shares.{group}[{n}][{o}]", layout)
                tdecrypt.verify_partial(h_v, index, k_hat, published[n][o], partial, place)


def decrypted_totals(
    context: Mapping[str, Any],
    aggregates: Mapping[str, Any],
    partials: Sequence[Mapping[str, Any]],
    cast: Mapping[str, int],
    h_v: bytes | None = None,
) -> content.Totals:
    """The totals of every group: from k trustees' partial decryptions
    (``content.check_partials``), or — when no group has a counted ballot — every total
    0 with no partial at all: each aggregate is then the identity (``check_aggregates``
    recomputed it from no ballot), whose count is publicly 0, so the result is logged at
    close. Precondition: ``aggregates`` passed ``check_aggregates``. Pure."""
    if any(cast[group] > 0 for group in cast):
        return content.check_partials(context, aggregates, partials, cast, h_v)
    if partials:
        raise content.ContentMismatch(
            "partials", "no ballot was counted: there is nothing to decrypt"
        )
    layout = content.layout_of(context)
    return {group: {c.id: dict.fromkeys(c.options, 0) for c in layout.contests} for group in cast}


def totals_lists(
    layout: Sequence[Mapping[str, Any]], totals: Mapping[str, Mapping[str, Mapping[str, int]]]
) -> dict[str, list[list[int]]]:
    """``{group: {contest: {option: t}}}`` as ``{group: [[t…]…]}`` in layout order."""
    return {
        group: [[by[c["id"]][o] for o in c["options"]] for c in layout]
        for group, by in totals.items()
    }
