"""ristretto255 scalars and elements as immutable values (docs/trustee-crypto.md, "The group").

Every operation is libsodium's, through pysodium: ``crypto_core_ristretto255_*`` and
``crypto_scalarmult_ristretto255[_base]``. Nothing here does field or curve arithmetic
by hand; the only integer work is the range check of a decoded scalar (< ℓ) and the
conversion of a small non-negative integer to its 32 little-endian bytes.

Written multiplicatively as in the spec: ``A * B`` is the group operation, ``A / B``
multiplies by the inverse, ``A ** s`` raises to a scalar, ``G ** s`` (or ``base(s)``) is
g^s. Scalars add, subtract, multiply and negate mod ℓ and invert when non-zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pysodium

ORDER = 2**252 + 27742317777372353535851937790883648493  # ℓ, the group's prime order
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ZERO = bytes(32)


class TrusteeCryptoError(ValueError):
    """A refused input or a proof that does not verify; ``field`` names what mismatched."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _hex_bytes(text: object, field: str) -> bytes:
    if not isinstance(text, str) or not _HEX64.fullmatch(text):
        raise TrusteeCryptoError(field, "not 64 lowercase hex digits")
    return bytes.fromhex(text)


def expect_object(data: Any, keys: tuple[str, ...], field: str) -> None:
    """Refuses anything but a JSON object with exactly these keys (the wire forms)."""
    if not isinstance(data, dict) or set(data) != set(keys):
        raise TrusteeCryptoError(
            field, f"expected an object with exactly the keys {', '.join(keys)}"
        )


def expect_list(data: Any, length: int, field: str) -> list[Any]:
    """Refuses anything but a JSON array of ``length`` items."""
    if not isinstance(data, list):
        raise TrusteeCryptoError(field, "expected an array")
    if len(data) != length:
        raise TrusteeCryptoError(field, f"{len(data)} items, expected {length}")
    return data


@dataclass(frozen=True, slots=True)
class Scalar:
    """An integer mod ℓ, held as its 32 little-endian bytes (always < ℓ)."""

    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != 32 or int.from_bytes(self.data, "little") >= ORDER:
            raise TrusteeCryptoError("scalar", "not 32 bytes below the group order")

    @staticmethod
    def random() -> Scalar:
        """A uniform scalar from the OS CSPRNG (libsodium's scalar_random)."""
        return Scalar(pysodium.crypto_core_ristretto255_scalar_random())

    @staticmethod
    def from_int(n: int) -> Scalar:
        """n mod ℓ for |n| < ℓ (a negative n is the negation of -n)."""
        if isinstance(n, bool) or not isinstance(n, int) or not -ORDER < n < ORDER:
            raise TrusteeCryptoError("scalar", f"integer out of range: {n!r}")
        if n < 0:
            return -Scalar.from_int(-n)
        return Scalar(n.to_bytes(32, "little"))

    @staticmethod
    def from_bytes(data: bytes, field: str = "scalar") -> Scalar:
        """Decode 32 little-endian bytes; refuses a wrong length or a value ≥ ℓ."""
        if len(data) != 32:
            raise TrusteeCryptoError(field, "not 32 bytes")
        if int.from_bytes(data, "little") >= ORDER:
            raise TrusteeCryptoError(field, "scalar not below the group order ℓ")
        return Scalar(bytes(data))

    @staticmethod
    def from_hex(text: object, field: str = "scalar") -> Scalar:
        """Decode the JSON form (64 lowercase hex digits); the error names ``field``."""
        return Scalar.from_bytes(_hex_bytes(text, field), field)

    @staticmethod
    def reduce64(data: bytes) -> Scalar:
        """A 64-byte little-endian integer reduced mod ℓ (libsodium's scalar_reduce)."""
        return Scalar(pysodium.crypto_core_ristretto255_scalar_reduce(data))

    def hex(self) -> str:
        return self.data.hex()

    def to_int(self) -> int:
        return int.from_bytes(self.data, "little")

    def is_zero(self) -> bool:
        return self.data == _ZERO

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar(pysodium.crypto_core_ristretto255_scalar_add(self.data, other.data))

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar(pysodium.crypto_core_ristretto255_scalar_sub(self.data, other.data))

    def __mul__(self, other: Scalar) -> Scalar:
        return Scalar(pysodium.crypto_core_ristretto255_scalar_mul(self.data, other.data))

    def __neg__(self) -> Scalar:
        return Scalar(pysodium.crypto_core_ristretto255_scalar_negate(self.data))

    def __pow__(self, exponent: int) -> Scalar:
        """self^exponent for a small non-negative integer exponent (repeated products)."""
        if exponent < 0:
            raise TrusteeCryptoError("exponent", "negative")
        result = ONE
        for _ in range(exponent):
            result = result * self
        return result

    def inverse(self) -> Scalar:
        """1/self mod ℓ; precondition: self ≠ 0."""
        if self.is_zero():
            raise TrusteeCryptoError("scalar", "zero has no inverse")
        return Scalar(pysodium.crypto_core_ristretto255_scalar_invert(self.data))

    def __repr__(self) -> str:  # never print a secret by accident
        return "Scalar(…)"


ZERO = Scalar(_ZERO)
ONE = Scalar((1).to_bytes(32, "little"))


@dataclass(frozen=True, slots=True)
class Element:
    """A ristretto255 group element, held as its 32-byte canonical encoding.

    The identity (all zero bytes) can be held (g^0, a quotient of equal elements) but
    is refused wherever an element is read from outside (``from_hex``/``from_bytes``).
    """

    data: bytes

    @staticmethod
    def identity() -> Element:
        return IDENTITY

    @staticmethod
    def from_bytes(data: bytes, field: str = "element", *, allow_identity: bool = False) -> Element:
        """Decode 32 bytes; refuses a wrong length, a non-canonical or invalid encoding and
        (unless ``allow_identity``) the identity."""
        if len(data) != 32:
            raise TrusteeCryptoError(field, "not 32 bytes")
        if data == _ZERO:
            if allow_identity:
                return IDENTITY
            raise TrusteeCryptoError(field, "the identity element is refused")
        if not pysodium.crypto_core_ristretto255_is_valid_point(bytes(data)):
            raise TrusteeCryptoError(field, "not a canonical ristretto255 encoding")
        return Element(bytes(data))

    @staticmethod
    def from_hex(text: object, field: str = "element", *, allow_identity: bool = False) -> Element:
        """Decode the JSON form (64 lowercase hex digits); the error names ``field``."""
        return Element.from_bytes(_hex_bytes(text, field), field, allow_identity=allow_identity)

    def hex(self) -> str:
        return self.data.hex()

    def is_identity(self) -> bool:
        return self.data == _ZERO

    def __mul__(self, other: Element) -> Element:
        return Element(pysodium.crypto_core_ristretto255_add(self.data, other.data))

    def __truediv__(self, other: Element) -> Element:
        return Element(pysodium.crypto_core_ristretto255_sub(self.data, other.data))

    def inverse(self) -> Element:
        return IDENTITY / self

    def __pow__(self, scalar: Scalar) -> Element:
        """self^scalar; the identity when scalar = 0 or self is the identity (libsodium
        refuses to output the identity, so those cases are answered here)."""
        if scalar.is_zero() or self.is_identity():
            return IDENTITY
        if self.data == _BASE_BYTES:
            return Element(pysodium.crypto_scalarmult_ristretto255_base(scalar.data))
        return Element(pysodium.crypto_scalarmult_ristretto255(scalar.data, self.data))

    def __repr__(self) -> str:
        return f"Element({self.data.hex()[:16]}…)"


IDENTITY = Element(_ZERO)
_BASE_BYTES = pysodium.crypto_scalarmult_ristretto255_base(ONE.data)
G = Element(_BASE_BYTES)  # g, the ristretto255 base point


def base(scalar: Scalar) -> Element:
    """g^scalar (libsodium's base-point multiplication)."""
    return G**scalar
