"""Encrypted ballots (docs/trustee-crypto.md, "Layout", "A ballot"; EG 2.0 §3.3).

A ``Layout`` is the vote's contests (options, limit). The tablet calls
``encrypt_ballot`` with the deputy's marks (per contest, a 0/1 per option) and gets the
wire JSON; the server and the verifier call ``verify_ballot`` (which raises
``TrusteeCryptoError`` naming the contest, option or proof that failed) and
``aggregate`` the counted ballots per option. Pure; every random value can be passed in
as ``BallotNonces`` (test vectors), otherwise it comes from the OS CSPRNG.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crypto.trustees.group import (
    IDENTITY,
    ZERO,
    Element,
    G,
    Scalar,
    TrusteeCryptoError,
    expect_list,
    expect_object,
)
from crypto.trustees.hashing import SEP_BALLOT, SEP_LIMIT, SEP_RANGE, SEP_VOTE, H, Hq, Part

# ---------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class Contest:
    """One contest: options each encrypted as 0 or 1, at most ``limit`` of them 1."""

    id: str
    options: tuple[str, ...]
    limit: int


@dataclass(frozen=True, slots=True)
class Layout:
    """The vote's contests in order; validated on construction."""

    contests: tuple[Contest, ...]

    def __post_init__(self) -> None:
        if not self.contests:
            raise TrusteeCryptoError("layout", "no contest")
        ids = [c.id for c in self.contests]
        if len(set(ids)) != len(ids):
            raise TrusteeCryptoError("layout", "two contests with the same id")
        for n, contest in enumerate(self.contests):
            field = f"layout[{n}]"
            if not isinstance(contest.id, str) or not contest.id:
                raise TrusteeCryptoError(f"{field}.id", "not a non-empty string")
            options = contest.options
            if not options or not all(isinstance(o, str) and o for o in options):
                raise TrusteeCryptoError(f"{field}.options", "not a list of non-empty strings")
            if len(set(options)) != len(options):
                raise TrusteeCryptoError(f"{field}.options", "an option appears twice")
            limit = contest.limit
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TrusteeCryptoError(f"{field}.limit", "not an integer")
            if not 1 <= limit <= len(options):
                raise TrusteeCryptoError(f"{field}.limit", f"not in 1 … {len(options)}")

    @staticmethod
    def from_json(data: Any) -> Layout:
        """``[{"id", "options", "limit"}, …]``, validated."""
        if not isinstance(data, list):
            raise TrusteeCryptoError("layout", "expected an array of contests")
        contests = []
        for n, item in enumerate(data):
            expect_object(item, ("id", "options", "limit"), f"layout[{n}]")
            if not isinstance(item["options"], list):
                raise TrusteeCryptoError(f"layout[{n}].options", "expected an array")
            contests.append(Contest(item["id"], tuple(item["options"]), item["limit"]))
        return Layout(tuple(contests))

    def to_json(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "options": list(c.options), "limit": c.limit} for c in self.contests]

    def manifest(self) -> str:
        """Canonical JSON (sorted keys, no spaces, UTF-8 unescaped), as hashed into H_V."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def vote_hash(h_c: bytes, vote_id: str, layout: Layout, joint_key: Element) -> bytes:
    """H_V = H(H_C; 0x12, text vote_id, text manifest, K)."""
    return H(h_c, SEP_VOTE, vote_id, layout.manifest(), joint_key)


# ---------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """(α, β) = (g^ξ, K^{σ+ξ}); ``a * b`` multiplies componentwise (adds the values)."""

    alpha: Element
    beta: Element

    def __mul__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha * other.alpha, self.beta * other.beta)

    def to_json(self) -> dict[str, str]:
        return {"alpha": self.alpha.hex(), "beta": self.beta.hex()}

    @staticmethod
    def from_json(data: Any, field: str) -> Ciphertext:
        expect_object(data, ("alpha", "beta"), field)
        return Ciphertext(
            Element.from_hex(data["alpha"], f"{field}.alpha"),
            Element.from_hex(data["beta"], f"{field}.beta"),
        )


EMPTY = Ciphertext(IDENTITY, IDENTITY)  # the product of no ciphertext


@dataclass(frozen=True, slots=True)
class RangeProof:
    """A disjunctive Chaum–Pedersen proof that the value is in 0 … R: R+1 pairs (c_j, v_j)."""

    c: tuple[Scalar, ...]
    v: tuple[Scalar, ...]

    def to_json(self) -> dict[str, list[str]]:
        return {"c": [x.hex() for x in self.c], "v": [x.hex() for x in self.v]}

    @staticmethod
    def from_json(data: Any, bound: int, field: str) -> RangeProof:
        expect_object(data, ("c", "v"), field)
        cs = expect_list(data["c"], bound + 1, f"{field}.c")
        vs = expect_list(data["v"], bound + 1, f"{field}.v")
        return RangeProof(
            tuple(Scalar.from_hex(x, f"{field}.c[{j}]") for j, x in enumerate(cs)),
            tuple(Scalar.from_hex(x, f"{field}.v[{j}]") for j, x in enumerate(vs)),
        )


@dataclass(frozen=True, slots=True)
class RangeNonces:
    """The prover's randomness for one range proof in 0 … R: ``u`` for the true branch and,
    for the R others in increasing j (the true one skipped), their (c_j, v_j)."""

    u: Scalar
    c: tuple[Scalar, ...]
    v: tuple[Scalar, ...]

    @staticmethod
    def random(bound: int) -> RangeNonces:
        return RangeNonces(
            Scalar.random(),
            tuple(Scalar.random() for _ in range(bound)),
            tuple(Scalar.random() for _ in range(bound)),
        )

    def to_json(self) -> dict[str, Any]:
        return {"u": self.u.hex(), "c": [x.hex() for x in self.c], "v": [x.hex() for x in self.v]}

    @staticmethod
    def from_json(data: Any) -> RangeNonces:
        return RangeNonces(
            Scalar.from_hex(data["u"]),
            tuple(Scalar.from_hex(x) for x in data["c"]),
            tuple(Scalar.from_hex(x) for x in data["v"]),
        )


@dataclass(frozen=True, slots=True)
class SelectionNonces:
    xi: Scalar
    proof: RangeNonces

    def to_json(self) -> dict[str, Any]:
        return {"xi": self.xi.hex(), **self.proof.to_json()}

    @staticmethod
    def from_json(data: Any) -> SelectionNonces:
        return SelectionNonces(Scalar.from_hex(data["xi"]), RangeNonces.from_json(data))


@dataclass(frozen=True, slots=True)
class ContestNonces:
    selections: tuple[SelectionNonces, ...]
    limit: RangeNonces

    def to_json(self) -> dict[str, Any]:
        return {"selections": [s.to_json() for s in self.selections], "limit": self.limit.to_json()}

    @staticmethod
    def from_json(data: Any) -> ContestNonces:
        return ContestNonces(
            tuple(SelectionNonces.from_json(s) for s in data["selections"]),
            RangeNonces.from_json(data["limit"]),
        )


BallotNonces = tuple[ContestNonces, ...]


def draw_nonces(layout: Layout) -> BallotNonces:
    """Every random value of one ballot, from the OS CSPRNG."""
    return tuple(
        ContestNonces(
            tuple(SelectionNonces(Scalar.random(), RangeNonces.random(1)) for _ in c.options),
            RangeNonces.random(c.limit),
        )
        for c in layout.contests
    )


@dataclass(frozen=True, slots=True)
class EncryptedSelection:
    ciphertext: Ciphertext
    proof: RangeProof


@dataclass(frozen=True, slots=True)
class EncryptedContest:
    selections: tuple[EncryptedSelection, ...]
    proof: RangeProof  # the limit proof


@dataclass(frozen=True, slots=True)
class EncryptedBallot:
    contests: tuple[EncryptedContest, ...]

    def ciphertexts(self) -> list[Ciphertext]:
        """Every ciphertext in layout order (contest by contest, option by option)."""
        return [s.ciphertext for c in self.contests for s in c.selections]

    def to_json(self) -> dict[str, Any]:
        return {
            "contests": [
                {
                    "selections": [
                        {**s.ciphertext.to_json(), "proof": s.proof.to_json()} for s in c.selections
                    ],
                    "proof": c.proof.to_json(),
                }
                for c in self.contests
            ]
        }


def parse_ballot(layout: Layout, data: Any) -> EncryptedBallot:
    """Decode the wire JSON against the layout (counts, encodings); proves nothing."""
    expect_object(data, ("contests",), "ballot")
    raw_contests = expect_list(data["contests"], len(layout.contests), "contests")
    contests = []
    for n, (contest, raw) in enumerate(zip(layout.contests, raw_contests, strict=True)):
        field = f"contests[{n}]"
        expect_object(raw, ("selections", "proof"), field)
        raw_selections = expect_list(raw["selections"], len(contest.options), f"{field}.selections")
        selections = []
        for o, sel in enumerate(raw_selections):
            sfield = f"{field}.selections[{o}]"
            expect_object(sel, ("alpha", "beta", "proof"), sfield)
            ct = Ciphertext(
                Element.from_hex(sel["alpha"], f"{sfield}.alpha"),
                Element.from_hex(sel["beta"], f"{sfield}.beta"),
            )
            selections.append(
                EncryptedSelection(ct, RangeProof.from_json(sel["proof"], 1, f"{sfield}.proof"))
            )
        proof = RangeProof.from_json(raw["proof"], contest.limit, f"{field}.proof")
        contests.append(EncryptedContest(tuple(selections), proof))
    return EncryptedBallot(tuple(contests))


def ballot_context(
    h_v: bytes, member_id: str, nonce: str, ciphertexts: Sequence[Ciphertext]
) -> bytes:
    """H_B = H(H_V; 0x21, text member_id, text nonce, α₁, β₁, α₂, β₂, …)."""
    parts: list[Part] = [SEP_BALLOT, member_id, nonce]
    for ct in ciphertexts:
        parts += [ct.alpha, ct.beta]
    return H(h_v, *parts)


# ---------------------------------------------------------------------------- range proofs


def _branch_commitments(
    joint_key: Element, ct: Ciphertext, j: int, c_j: Scalar, v_j: Scalar
) -> tuple[Element, Element]:
    """a_j = g^{v_j} α^{c_j}, b_j = K^{v_j − j·c_j} β^{c_j}."""
    a = G**v_j * ct.alpha**c_j
    b = joint_key ** (v_j - Scalar.from_int(j) * c_j) * ct.beta**c_j
    return a, b


def _range_proof(
    h_v: bytes,
    prefix: tuple[Part, ...],
    joint_key: Element,
    ct: Ciphertext,
    sigma: int,
    xi: Scalar,
    bound: int,
    nonces: RangeNonces,
) -> RangeProof:
    """The prover's arithmetic, unchecked: a proof for σ with witness ξ (a false σ gives
    a proof that does not verify). Callers use ``prove_range``."""
    if len(nonces.c) != bound or len(nonces.v) != bound:
        raise TrusteeCryptoError("nonces", f"a proof in 0 … {bound} needs {bound} fake pairs")
    fakes = iter(zip(nonces.c, nonces.v, strict=True))
    cs: list[Scalar] = []
    vs: list[Scalar] = []
    commitments: list[Part] = []
    for j in range(bound + 1):
        if j == sigma:
            a, b = G**nonces.u, joint_key**nonces.u
            cs.append(ZERO)
            vs.append(ZERO)
        else:
            c_j, v_j = next(fakes)
            a, b = _branch_commitments(joint_key, ct, j, c_j, v_j)
            cs.append(c_j)
            vs.append(v_j)
        commitments += [a, b]
    c = Hq(h_v, *prefix, joint_key, ct.alpha, ct.beta, *commitments)
    c_sigma = c
    for j, c_j in enumerate(cs):
        if j != sigma:
            c_sigma = c_sigma - c_j
    cs[sigma] = c_sigma
    vs[sigma] = nonces.u - c_sigma * xi
    return RangeProof(tuple(cs), tuple(vs))


def prove_range(
    h_v: bytes,
    prefix: tuple[Part, ...],
    joint_key: Element,
    ct: Ciphertext,
    sigma: int,
    xi: Scalar,
    bound: int,
    nonces: RangeNonces,
) -> RangeProof:
    """Prove that ``ct`` encrypts ``sigma`` ∈ 0 … bound. Refuses (honestly) to prove what is
    false: σ out of range, or (α, β) ≠ (g^ξ, K^{σ+ξ})."""
    if not 0 <= sigma <= bound:
        raise TrusteeCryptoError("value", f"cannot prove a value outside 0 … {bound}")
    if ct.alpha != G**xi or ct.beta != joint_key ** (Scalar.from_int(sigma) + xi):
        raise TrusteeCryptoError("ciphertext", "does not encrypt the value with this nonce")
    return _range_proof(h_v, prefix, joint_key, ct, sigma, xi, bound, nonces)


def range_proof_holds(
    h_v: bytes, prefix: tuple[Part, ...], joint_key: Element, ct: Ciphertext, proof: RangeProof
) -> bool:
    """Recompute every (a_j, b_j) and check Σ c_j = Hq(…) over them."""
    commitments: list[Part] = []
    total = ZERO
    for j, (c_j, v_j) in enumerate(zip(proof.c, proof.v, strict=True)):
        commitments += list(_branch_commitments(joint_key, ct, j, c_j, v_j))
        total = total + c_j
    return Hq(h_v, *prefix, joint_key, ct.alpha, ct.beta, *commitments) == total


def _option_prefix(h_b: bytes, contest: int, option: int) -> tuple[Part, ...]:
    return (SEP_RANGE, h_b, contest, option)


def _limit_prefix(h_b: bytes, contest: int) -> tuple[Part, ...]:
    return (SEP_LIMIT, h_b, contest)


def _product(cts: Sequence[Ciphertext]) -> Ciphertext:
    result = EMPTY
    for ct in cts:
        result = result * ct
    return result


# ---------------------------------------------------------------------------- the ballot


def encrypt_ballot(
    h_v: bytes,
    joint_key: Element,
    layout: Layout,
    member_id: str,
    nonce: str,
    marks: Sequence[Sequence[int]],
    nonces: BallotNonces | None = None,
) -> dict[str, Any]:
    """The ballot's wire JSON: each mark (0/1, per contest per option, in layout order)
    encrypted under K, with its 0/1 proof and each contest's limit proof.

    Refuses marks that do not fit the layout (a count, a value, a limit); never logs them."""
    nonces = draw_nonces(layout) if nonces is None else nonces
    _check_marks(layout, marks)
    if len(nonces) != len(layout.contests) or any(
        len(cn.selections) != len(c.options) for cn, c in zip(nonces, layout.contests, strict=True)
    ):
        raise TrusteeCryptoError("nonces", "do not fit the layout")
    cts = [
        [
            Ciphertext(G**sn.xi, joint_key ** (Scalar.from_int(mark) + sn.xi))
            for mark, sn in zip(contest_marks, cn.selections, strict=True)
        ]
        for contest_marks, cn in zip(marks, nonces, strict=True)
    ]
    h_b = ballot_context(h_v, member_id, nonce, [ct for row in cts for ct in row])
    contests = []
    for n, (contest, contest_marks, cn, row) in enumerate(
        zip(layout.contests, marks, nonces, cts, strict=True)
    ):
        selections = tuple(
            EncryptedSelection(
                ct,
                prove_range(
                    h_v, _option_prefix(h_b, n, o), joint_key, ct, mark, sn.xi, 1, sn.proof
                ),
            )
            for o, (ct, mark, sn) in enumerate(zip(row, contest_marks, cn.selections, strict=True))
        )
        total_xi = ZERO
        for sn in cn.selections:
            total_xi = total_xi + sn.xi
        limit_proof = prove_range(
            h_v, _limit_prefix(h_b, n), joint_key, _product(row), sum(contest_marks), total_xi,
            contest.limit, cn.limit,
        )  # fmt: skip
        contests.append(EncryptedContest(selections, limit_proof))
    return EncryptedBallot(tuple(contests)).to_json()


def _check_marks(layout: Layout, marks: Sequence[Sequence[int]]) -> None:
    if len(marks) != len(layout.contests):
        raise TrusteeCryptoError(
            "marks", f"{len(marks)} contests, the layout has {len(layout.contests)}"
        )
    for n, (contest, row) in enumerate(zip(layout.contests, marks, strict=True)):
        if len(row) != len(contest.options):
            raise TrusteeCryptoError(
                f"marks[{n}]",
                f"{len(row)} options, contest {contest.id!r} has {len(contest.options)}",
            )
        if any(isinstance(m, bool) or m not in (0, 1) for m in row):
            raise TrusteeCryptoError(f"marks[{n}]", "every mark is 0 or 1")
        if sum(row) > contest.limit:
            raise TrusteeCryptoError(
                f"marks[{n}]", f"contest {contest.id!r} allows at most {contest.limit} marks"
            )


def verify_ballot(
    h_v: bytes, joint_key: Element, layout: Layout, member_id: str, nonce: str, data: Any
) -> EncryptedBallot:
    """Decode and check every proof of a wire ballot; returns it parsed.

    Raises ``TrusteeCryptoError``: a decoding error names the JSON field; a proof error
    names the contest and option (``contests[n].selections[o].proof``) or the contest's
    limit proof (``contests[n].proof``); when no proof verifies, the field is ``ballot``
    (the ballot was proven for another vote, member, nonce or ciphertexts: H_B differs)."""
    ballot = parse_ballot(layout, data)
    h_b = ballot_context(h_v, member_id, nonce, ballot.ciphertexts())
    failed: list[tuple[str, str]] = []
    total = 0
    for n, (contest, ec) in enumerate(zip(layout.contests, ballot.contests, strict=True)):
        for o, (option, sel) in enumerate(zip(contest.options, ec.selections, strict=True)):
            total += 1
            if not range_proof_holds(
                h_v, _option_prefix(h_b, n, o), joint_key, sel.ciphertext, sel.proof
            ):
                failed.append((
                    f"contests[{n}].selections[{o}].proof",
                    f"the 0/1 proof of contest {contest.id!r} option {option!r} does not verify",
                ))  # fmt: skip
        total += 1
        product = _product([s.ciphertext for s in ec.selections])
        if not range_proof_holds(h_v, _limit_prefix(h_b, n), joint_key, product, ec.proof):
            failed.append((
                f"contests[{n}].proof",
                f"the limit proof of contest {contest.id!r} (at most {contest.limit}) does not verify",
            ))  # fmt: skip
    if failed and len(failed) == total:
        raise TrusteeCryptoError(
            "ballot",
            "no proof verifies: the ballot was not proven for this vote, member, nonce and "
            "ciphertexts (its context H_B differs)",
        )
    if failed:
        field, reason = failed[0]
        others = f" ({len(failed) - 1} other proofs fail too)" if len(failed) > 1 else ""
        raise TrusteeCryptoError(field, reason + others)
    return ballot


# ---------------------------------------------------------------------------- aggregates

Aggregates = list[list[Ciphertext]]


def aggregate(layout: Layout, ballots: Sequence[EncryptedBallot]) -> Aggregates:
    """(A, B) = (∏ α, ∏ β) per contest per option over the counted ballots (already
    verified). With no ballot every aggregate is the identity pair ``EMPTY``."""
    result = [[EMPTY for _ in c.options] for c in layout.contests]
    for ballot in ballots:
        if len(ballot.contests) != len(layout.contests):
            raise TrusteeCryptoError("ballot", "does not fit the layout")
        for n, ec in enumerate(ballot.contests):
            if len(ec.selections) != len(result[n]):
                raise TrusteeCryptoError(f"contests[{n}]", "does not fit the layout")
            for o, sel in enumerate(ec.selections):
                result[n][o] = result[n][o] * sel.ciphertext
    return result


def aggregates_to_json(aggregates: Aggregates) -> list[list[dict[str, str]]]:
    """``[[{"alpha", "beta"}, …], …]`` per contest per option."""
    return [[ct.to_json() for ct in row] for row in aggregates]


def aggregates_from_json(layout: Layout, data: Any) -> Aggregates:
    """Decode published aggregates against the layout (the identity is refused)."""
    rows = expect_list(data, len(layout.contests), "aggregates")
    return [
        [
            Ciphertext.from_json(item, f"aggregates[{n}][{o}]")
            for o, item in enumerate(expect_list(row, len(contest.options), f"aggregates[{n}]"))
        ]
        for n, (contest, row) in enumerate(zip(layout.contests, rows, strict=True))
    ]
