"""The key ceremony (docs/trustee-crypto.md, "Key ceremony"; EG 2.0 §3.2).

Trustee i (its seat, 1 … n) draws a polynomial of degree k − 1, publishes
``commit(...)`` (each coefficient's commitment with a Schnorr proof), sends every other
trustee ℓ ``encrypt_share(...)`` of P_i(ℓ), and checks what it receives with
``verify_commitments``, ``decrypt_share`` and ``verify_share`` (Feldman). Anyone computes
``joint_key`` and ``public_share`` from the commitments; trustee ℓ alone computes its
``secret_share``. Pure functions; every random value can be passed in (test vectors),
otherwise it comes from the OS CSPRNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.trustees.group import (
    IDENTITY,
    Element,
    G,
    Scalar,
    TrusteeCryptoError,
    expect_object,
)
from crypto.trustees.hashing import (
    CEREMONY_KEY,
    SEP_CEREMONY,
    SEP_SCHNORR,
    SEP_SHARE_KEY,
    H,
    Hq,
    encode_int,
)

MAX_TRUSTEES = 9
_GCM_NONCE = bytes(12)  # the key is used once (ξ is fresh), so a fixed nonce is safe


def ceremony_hash(ceremony_id: str, n: int, k: int) -> bytes:
    """H_C = H("congress-evote trustees v1"; 0x00, text ceremony_id, int n, int k).

    Precondition: 1 ≤ k ≤ n ≤ 9."""
    if not (isinstance(n, int) and isinstance(k, int) and 1 <= k <= n <= MAX_TRUSTEES):
        raise TrusteeCryptoError("ceremony", f"need 1 ≤ k ≤ n ≤ {MAX_TRUSTEES}, got n={n} k={k}")
    return H(CEREMONY_KEY, SEP_CEREMONY, ceremony_id, n, k)


@dataclass(frozen=True, slots=True)
class Polynomial:
    """P(x) = Σ a_j x^j, a trustee's secret; ``coefficients`` = (a_0, …, a_{k−1})."""

    coefficients: tuple[Scalar, ...]

    @staticmethod
    def random(k: int) -> Polynomial:
        return Polynomial(tuple(Scalar.random() for _ in range(k)))

    def evaluate(self, x: int) -> Scalar:
        """P(x) mod ℓ (Horner, with libsodium's scalar operations)."""
        xs = Scalar.from_int(x)
        result = Scalar.from_int(0)
        for a in reversed(self.coefficients):
            result = result * xs + a
        return result

    def commitments(self) -> tuple[Element, ...]:
        """K_j = g^{a_j}."""
        return tuple(G**a for a in self.coefficients)


@dataclass(frozen=True, slots=True)
class SchnorrProof:
    c: Scalar
    v: Scalar

    def to_json(self) -> dict[str, str]:
        return {"c": self.c.hex(), "v": self.v.hex()}

    @staticmethod
    def from_json(data: Any, field: str = "proof") -> SchnorrProof:
        expect_object(data, ("c", "v"), field)
        return SchnorrProof(
            Scalar.from_hex(data["c"], f"{field}.c"), Scalar.from_hex(data["v"], f"{field}.v")
        )


@dataclass(frozen=True, slots=True)
class CoefficientCommitment:
    """K_{i,j} with its Schnorr proof; JSON ``{"commitment": hex, "proof": {"c", "v"}}``."""

    commitment: Element
    proof: SchnorrProof

    def to_json(self) -> dict[str, Any]:
        return {"commitment": self.commitment.hex(), "proof": self.proof.to_json()}

    @staticmethod
    def from_json(data: Any, field: str = "commitment") -> CoefficientCommitment:
        expect_object(data, ("commitment", "proof"), field)
        return CoefficientCommitment(
            Element.from_hex(data["commitment"], f"{field}.commitment"),
            SchnorrProof.from_json(data["proof"], f"{field}.proof"),
        )


def prove_coefficient(
    h_c: bytes, i: int, j: int, a: Scalar, u: Scalar | None = None
) -> SchnorrProof:
    """Schnorr proof of knowledge of a = a_{i,j}: h = g^u, c = Hq(H_C; 0x10, i, j, K, h),
    v = u − c·a."""
    u = Scalar.random() if u is None else u
    c = Hq(h_c, SEP_SCHNORR, i, j, G**a, G**u)
    return SchnorrProof(c, u - c * a)


def verify_coefficient(
    h_c: bytes, i: int, j: int, commitment: Element, proof: SchnorrProof
) -> None:
    """Recompute h = g^v · K^c and c; raises naming trustee i's coefficient j."""
    h = G**proof.v * commitment**proof.c
    if Hq(h_c, SEP_SCHNORR, i, j, commitment, h) != proof.c:
        raise TrusteeCryptoError(f"trustee {i} commitment {j}", "the Schnorr proof does not verify")


def commit(
    h_c: bytes, i: int, polynomial: Polynomial, nonces: Sequence[Scalar] | None = None
) -> list[CoefficientCommitment]:
    """Trustee i's published commitments K_{i,0…k−1}, each with its proof (u_j = nonces[j])."""
    coefficients = polynomial.coefficients
    us = list(nonces) if nonces is not None else [Scalar.random() for _ in coefficients]
    if len(us) != len(coefficients):
        raise TrusteeCryptoError("nonces", "one nonce per coefficient")
    return [
        CoefficientCommitment(G**a, prove_coefficient(h_c, i, j, a, u))
        for j, (a, u) in enumerate(zip(coefficients, us, strict=True))
    ]


def verify_commitments(
    h_c: bytes, i: int, k: int, commitments: Sequence[CoefficientCommitment]
) -> None:
    """Trustee i published exactly k commitments and every Schnorr proof verifies."""
    if len(commitments) != k:
        raise TrusteeCryptoError(
            f"trustee {i} commitments", f"{len(commitments)} commitments, the threshold is {k}"
        )
    for j, cc in enumerate(commitments):
        verify_coefficient(h_c, i, j, cc.commitment, cc.proof)


@dataclass(frozen=True, slots=True)
class EncryptedShare:
    """P_i(ℓ) under K_ℓ: JSON ``{"alpha", "beta", "ct"}`` (ct: 48 bytes, hex)."""

    alpha: Element
    beta: Element
    ct: bytes

    def to_json(self) -> dict[str, str]:
        return {"alpha": self.alpha.hex(), "beta": self.beta.hex(), "ct": self.ct.hex()}

    @staticmethod
    def from_json(data: Any, field: str = "share") -> EncryptedShare:
        expect_object(data, ("alpha", "beta", "ct"), field)
        ct = data["ct"]
        if not isinstance(ct, str) or len(ct) != 96 or ct != ct.lower():
            raise TrusteeCryptoError(f"{field}.ct", "not 96 lowercase hex digits")
        try:
            raw = bytes.fromhex(ct)
        except ValueError:
            raise TrusteeCryptoError(f"{field}.ct", "not 96 lowercase hex digits") from None
        return EncryptedShare(
            Element.from_hex(data["alpha"], f"{field}.alpha"),
            Element.from_hex(data["beta"], f"{field}.beta"),
            raw,
        )


def _share_key(
    h_c: bytes, i: int, ell: int, k_ell: Element, alpha: Element, beta: Element
) -> bytes:
    return H(h_c, SEP_SHARE_KEY, i, ell, k_ell, alpha, beta)


def _share_ad(h_c: bytes, i: int, ell: int) -> bytes:
    return h_c + encode_int(i) + encode_int(ell)


def encrypt_share(
    h_c: bytes, i: int, ell: int, k_ell: Element, share: Scalar, xi: Scalar | None = None
) -> EncryptedShare:
    """Hashed ElGamal + AES-256-GCM of P_i(ℓ) to trustee ℓ's key K_ℓ = K_{ℓ,0}."""
    xi = Scalar.random() if xi is None else xi
    alpha, beta = G**xi, k_ell**xi
    key = _share_key(h_c, i, ell, k_ell, alpha, beta)
    ct = AESGCM(key).encrypt(_GCM_NONCE, share.data, _share_ad(h_c, i, ell))
    return EncryptedShare(alpha, beta, ct)


def decrypt_share(h_c: bytes, i: int, ell: int, a_ell0: Scalar, enc: EncryptedShare) -> Scalar:
    """Trustee ℓ opens P_i(ℓ) with its a_{ℓ,0}; raises if β ≠ α^{a_{ℓ,0}} or GCM fails."""
    field = f"share from trustee {i} to trustee {ell}"
    if enc.alpha**a_ell0 != enc.beta:
        raise TrusteeCryptoError(f"{field}.beta", "β is not α raised to the recipient's key")
    key = _share_key(h_c, i, ell, G**a_ell0, enc.alpha, enc.beta)
    try:
        raw = AESGCM(key).decrypt(_GCM_NONCE, enc.ct, _share_ad(h_c, i, ell))
    except InvalidTag:
        raise TrusteeCryptoError(f"{field}.ct", "AES-GCM authentication failed") from None
    return Scalar.from_bytes(raw, f"{field} (decrypted)")


def feldman_value(ell: int, commitments: Sequence[Element]) -> Element:
    """∏_j K_j^{ℓ^j}: what g^{P(ℓ)} must equal."""
    x, power, result = Scalar.from_int(ell), Scalar.from_int(1), IDENTITY
    for commitment in commitments:
        result = result * commitment**power
        power = power * x
    return result


def verify_share(i: int, ell: int, share: Scalar, commitments: Sequence[Element]) -> None:
    """Feldman: g^{P_i(ℓ)} = ∏_j K_{i,j}^{ℓ^j}; raises naming sender and recipient."""
    if G**share != feldman_value(ell, commitments):
        raise TrusteeCryptoError(
            f"share from trustee {i} to trustee {ell}",
            "Feldman check failed: the share does not match the sender's commitments",
        )


def joint_key(constant_commitments: Sequence[Element]) -> Element:
    """K = ∏_i K_{i,0}."""
    if not constant_commitments:
        raise TrusteeCryptoError("joint key", "no trustee")
    result = IDENTITY
    for commitment in constant_commitments:
        result = result * commitment
    return result


def public_share(ell: int, all_commitments: Sequence[Sequence[Element]]) -> Element:
    """K̂_ℓ = ∏_i ∏_j K_{i,j}^{ℓ^j} (= g^{s_ℓ}), from every trustee's commitments."""
    result = IDENTITY
    for commitments in all_commitments:
        result = result * feldman_value(ell, commitments)
    return result


def secret_share(shares: Sequence[Scalar]) -> Scalar:
    """s_ℓ = Σ_i P_i(ℓ), trustee ℓ's own P_ℓ(ℓ) included."""
    result = Scalar.from_int(0)
    for share in shares:
        result = result + share
    return result
