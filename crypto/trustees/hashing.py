"""H and Hq (docs/trustee-crypto.md, "Hashes" and "Encodings").

``H(key, *parts)`` = HMAC-SHA-256(key, part₁ ‖ part₂ ‖ …), 32 bytes;
``Hq(key, *parts)`` = HMAC-SHA-512(key, …) read little-endian and reduced mod ℓ.

A part is encoded by its Python type:

- ``Separator`` (a one-byte domain separator, e.g. ``SEP_VOTE``): its byte;
- ``int``: 4 bytes big-endian, 0 ≤ n < 2^31 (``bool`` is refused);
- ``str``: 4-byte big-endian length of its UTF-8, then the UTF-8;
- ``Element`` / ``Scalar``: their 32-byte encodings;
- ``bytes``: a 32-byte hash value (H_C, H_V, H_B), as it is.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from crypto.trustees.group import Element, Scalar, TrusteeCryptoError

CEREMONY_KEY = b"congress-evote trustees v1"  # the key of H_C, its UTF-8 bytes


@dataclass(frozen=True, slots=True)
class Separator:
    """A one-byte domain separator, the first part after the key."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 255:
            raise TrusteeCryptoError("separator", "not one byte")


SEP_CEREMONY = Separator(0x00)  # H_C
SEP_SCHNORR = Separator(0x10)  # a coefficient's Schnorr proof
SEP_SHARE_KEY = Separator(0x11)  # the hashed-ElGamal key of an encrypted share
SEP_VOTE = Separator(0x12)  # H_V
SEP_BALLOT = Separator(0x21)  # H_B
SEP_RANGE = Separator(0x24)  # an option's 0/1 proof
SEP_LIMIT = Separator(0x25)  # a contest's limit proof
SEP_PARTIAL = Separator(0x30)  # a partial decryption's Chaum–Pedersen proof

Part = Separator | int | str | Element | Scalar | bytes


def encode_int(n: int) -> bytes:
    """4 bytes big-endian; precondition 0 ≤ n < 2^31."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**31:
        raise TrusteeCryptoError("int", f"not an integer in 0 … 2^31 − 1: {n!r}")
    return n.to_bytes(4, "big")


def encode_part(part: Part) -> bytes:
    """One part's bytes, by its type (see the module docstring)."""
    if isinstance(part, Separator):
        return bytes([part.value])
    if isinstance(part, bool):
        raise TrusteeCryptoError("part", "a bool is not a hash part")
    if isinstance(part, int):
        return encode_int(part)
    if isinstance(part, str):
        raw = part.encode("utf-8")
        return encode_int(len(raw)) + raw
    if isinstance(part, Element | Scalar):
        return part.data
    if isinstance(part, bytes):
        if len(part) != 32:
            raise TrusteeCryptoError("part", "raw bytes must be a 32-byte hash value")
        return part
    raise TrusteeCryptoError("part", f"cannot hash a {type(part).__name__}")


def encode_parts(parts: tuple[Part, ...]) -> bytes:
    return b"".join(encode_part(p) for p in parts)


def H(key: bytes, *parts: Part) -> bytes:
    """HMAC-SHA-256(key, parts…): 32 bytes."""
    return hmac.digest(key, encode_parts(parts), hashlib.sha256)


def Hq(key: bytes, *parts: Part) -> Scalar:
    """HMAC-SHA-512(key, parts…) as a 512-bit little-endian integer mod ℓ."""
    return Scalar.reduce64(hmac.digest(key, encode_parts(parts), hashlib.sha512))
