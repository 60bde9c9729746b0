"""Counting without opening a ballot (docs/trustee-crypto.md, "Counting"; EG 2.0 §3.6).

Trustee i posts ``partial_decrypt_all`` of the aggregates (M_i = A^{s_i} with a
Chaum–Pedersen proof each); anyone checks them with ``verify_partial``; any k of them
give the counts through ``decrypt_counts`` (Lagrange combination, then a bounded
discrete log). Pure; the proof's u can be passed in (test vectors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.trustees.ballot import Aggregates, Ciphertext, Layout
from crypto.trustees.group import (
    IDENTITY,
    Element,
    G,
    Scalar,
    TrusteeCryptoError,
    expect_list,
    expect_object,
)
from crypto.trustees.hashing import SEP_PARTIAL, Hq


@dataclass(frozen=True, slots=True)
class PartialDecryption:
    """M_i = A^{s_i} with its proof (c, v); JSON ``{"m", "c", "v"}``."""

    m: Element
    c: Scalar
    v: Scalar

    def to_json(self) -> dict[str, str]:
        return {"m": self.m.hex(), "c": self.c.hex(), "v": self.v.hex()}

    @staticmethod
    def from_json(data: Any, field: str = "partial") -> PartialDecryption:
        expect_object(data, ("m", "c", "v"), field)
        return PartialDecryption(
            Element.from_hex(data["m"], f"{field}.m"),
            Scalar.from_hex(data["c"], f"{field}.c"),
            Scalar.from_hex(data["v"], f"{field}.v"),
        )


def _challenge(
    h_v: bytes, i: int, k_hat: Element, agg: Ciphertext, a: Element, b: Element, m: Element
) -> Scalar:
    return Hq(h_v, SEP_PARTIAL, i, k_hat, agg.alpha, agg.beta, a, b, m)


def partial_decrypt(
    h_v: bytes, i: int, s_i: Scalar, agg: Ciphertext, u: Scalar | None = None
) -> PartialDecryption:
    """Trustee i's M_i = A^{s_i}, proven: a = g^u, b = A^u,
    c = Hq(H_V; 0x30, i, K̂_i, A, B, a, b, M_i), v = u − c·s_i.

    Precondition: A is not the identity (an aggregate over no ballot is not decrypted)."""
    if agg.alpha.is_identity() or agg.beta.is_identity():
        raise TrusteeCryptoError("aggregate", "the identity is not decrypted (no ballot)")
    u = Scalar.random() if u is None else u
    m = agg.alpha**s_i
    c = _challenge(h_v, i, G**s_i, agg, G**u, agg.alpha**u, m)
    return PartialDecryption(m, c, u - c * s_i)


def verify_partial(
    h_v: bytes, i: int, k_hat: Element, agg: Ciphertext, pd: PartialDecryption, field: str = ""
) -> None:
    """a = g^v · K̂_i^c, b = A^v · M_i^c, then c recomputed; raises naming trustee i."""
    a = G**pd.v * k_hat**pd.c
    b = agg.alpha**pd.v * pd.m**pd.c
    if _challenge(h_v, i, k_hat, agg, a, b, pd.m) != pd.c:
        where = f" {field}" if field else ""
        raise TrusteeCryptoError(
            f"trustee {i} partial decryption{where}", "the Chaum–Pedersen proof does not verify"
        )


PartialTable = list[list[PartialDecryption]]


def partial_decrypt_all(
    h_v: bytes,
    i: int,
    s_i: Scalar,
    aggregates: Aggregates,
    nonces: Sequence[Sequence[Scalar]] | None = None,
) -> PartialTable:
    """Trustee i's partial decryption of every aggregate (per contest per option)."""
    return [
        [
            partial_decrypt(h_v, i, s_i, agg, None if nonces is None else nonces[n][o])
            for o, agg in enumerate(row)
        ]
        for n, row in enumerate(aggregates)
    ]


def partials_to_json(table: PartialTable) -> list[list[dict[str, str]]]:
    """``[[{"m", "c", "v"}, …], …]`` per contest per option."""
    return [[pd.to_json() for pd in row] for row in table]


def partials_from_json(layout: Layout, data: Any, field: str = "partials") -> PartialTable:
    rows = expect_list(data, len(layout.contests), field)
    return [
        [
            PartialDecryption.from_json(item, f"{field}[{n}][{o}]")
            for o, item in enumerate(expect_list(row, len(contest.options), f"{field}[{n}]"))
        ]
        for n, (contest, row) in enumerate(zip(layout.contests, rows, strict=True))
    ]


def lagrange(i: int, trustees: Sequence[int]) -> Scalar:
    """w_i = ∏_{ℓ∈U, ℓ≠i} ℓ / (ℓ − i) mod ℓ_group; precondition: i ∈ U, seats distinct."""
    if i not in trustees or len(set(trustees)) != len(trustees):
        raise TrusteeCryptoError("trustees", "the trustee must be in the set, each once")
    numerator, denominator = Scalar.from_int(1), Scalar.from_int(1)
    for ell in trustees:
        if ell != i:
            numerator = numerator * Scalar.from_int(ell)
            denominator = denominator * Scalar.from_int(ell - i)
    return numerator * denominator.inverse()


def combine(partials: Mapping[int, Element], k: int) -> Element:
    """M = ∏ M_i^{w_i} over the trustees U = partials' keys; refuses |U| < k."""
    if len(partials) < k:
        raise TrusteeCryptoError(
            "partials", f"{len(partials)} trustees decrypted, the threshold is {k}"
        )
    seats = sorted(partials)
    result = IDENTITY
    for i in seats:
        result = result * partials[i] ** lagrange(i, seats)
    return result


class LogTable:
    """K^t → t for t in 0 … bound (bound + 1 group operations, built once per vote)."""

    def __init__(self, joint_key: Element, bound: int) -> None:
        self.bound = bound
        self._table: dict[bytes, int] = {}
        power = IDENTITY
        for t in range(bound + 1):
            self._table[power.data] = t
            power = power * joint_key

    def log(self, value: Element, field: str = "aggregate") -> int:
        t = self._table.get(value.data)
        if t is None:
            raise TrusteeCryptoError(field, f"the count is not in 0 … {self.bound}")
        return t


def discrete_log(value: Element, joint_key: Element, bound: int) -> int:
    """t with K^t = value, 0 ≤ t ≤ bound; raises if there is none."""
    return LogTable(joint_key, bound).log(value)


def decrypt_counts(
    h_v: bytes,
    layout: Layout,
    aggregates: Aggregates,
    public_shares: Mapping[int, Element],
    partials: Mapping[int, PartialTable],
    k: int,
    joint_key: Element,
    bound: int,
) -> dict[str, dict[str, int]]:
    """Counts per contest id per option from ≥ k trustees' partial decryptions.

    Every partial's proof is checked against K̂_i (``public_shares[i]``); any failure, a
    missing trustee share, fewer than k trustees, or a count outside 0 … bound (the
    number of members) raises naming the trustee, contest and option. An aggregate over
    no ballot (A = B = identity) counts 0 without a partial."""
    if len(partials) < k:
        raise TrusteeCryptoError(
            "partials", f"{len(partials)} trustees decrypted, the threshold is {k}"
        )
    for i in partials:
        if i not in public_shares:
            raise TrusteeCryptoError(f"trustee {i}", "no public share for this trustee")
    table = LogTable(joint_key, bound)
    counts: dict[str, dict[str, int]] = {}
    for n, (contest, row) in enumerate(zip(layout.contests, aggregates, strict=True)):
        counts[contest.id] = {}
        for o, (option, agg) in enumerate(zip(contest.options, row, strict=True)):
            field = f"aggregates[{n}][{o}] (contest {contest.id!r} option {option!r})"
            if agg.alpha.is_identity() and agg.beta.is_identity():
                counts[contest.id][option] = 0
                continue
            ms = {}
            for i, table_i in partials.items():
                pd = table_i[n][o]
                verify_partial(h_v, i, public_shares[i], agg, pd, f"of {field}")
                ms[i] = pd.m
            counts[contest.id][option] = table.log(agg.beta / combine(ms, k), field)
    return counts
