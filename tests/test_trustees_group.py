"""crypto.trustees.group and hashing: the encodings' refusals and the group's laws."""

from __future__ import annotations

import pytest

from crypto.trustees.group import IDENTITY, ORDER, Element, G, Scalar, TrusteeCryptoError, base
from crypto.trustees.hashing import SEP_VOTE, H, Hq, Separator


def test_scalar_arithmetic_is_mod_the_group_order() -> None:
    a, b = Scalar.from_int(7), Scalar.from_int(ORDER - 2)
    assert (a + b).to_int() == 5
    assert (a - Scalar.from_int(9)).to_int() == ORDER - 2
    assert (a * a.inverse()).to_int() == 1
    assert (-a).to_int() == ORDER - 7
    assert Scalar.from_int(-3) == -Scalar.from_int(3)
    with pytest.raises(TrusteeCryptoError, match="zero has no inverse"):
        Scalar.from_int(0).inverse()


def test_group_laws() -> None:
    x, y = Scalar.random(), Scalar.random()
    assert base(x) * base(y) == base(x + y)
    assert base(x) / base(y) == base(x - y)
    assert (G**x) ** y == base(x * y)
    assert base(x) * base(x).inverse() == IDENTITY
    assert G ** Scalar.from_int(0) == IDENTITY and IDENTITY**x == IDENTITY
    assert base(x) * IDENTITY == base(x)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("00" * 32, "the identity element is refused"),
        ("01" + "00" * 31, "not a canonical ristretto255 encoding"),  # odd: a negative s
        ("ff" * 32, "not a canonical ristretto255 encoding"),
        (G.hex().upper(), "not 64 lowercase hex digits"),
        (G.hex()[:-2], "not 64 lowercase hex digits"),
        (17, "not 64 lowercase hex digits"),
    ],
)
def test_element_decoding_refuses(text: object, reason: str) -> None:
    with pytest.raises(TrusteeCryptoError) as refused:
        Element.from_hex(text, "keys[3]")
    assert refused.value.field == "keys[3]" and refused.value.reason == reason


def test_element_round_trip() -> None:
    e = base(Scalar.random())
    assert Element.from_hex(e.hex()) == e
    assert Element.from_hex("00" * 32, allow_identity=True) == IDENTITY


@pytest.mark.parametrize("value", [ORDER, ORDER + 1, 2**256 - 1])
def test_scalar_decoding_refuses_values_not_below_the_order(value: int) -> None:
    with pytest.raises(TrusteeCryptoError, match=r"^proof\.c: scalar not below"):
        Scalar.from_hex(value.to_bytes(32, "little").hex(), "proof.c")
    assert Scalar.from_hex((ORDER - 1).to_bytes(32, "little").hex()).to_int() == ORDER - 1


def test_hash_parts_are_unambiguous() -> None:
    key = bytes(32)
    # a text is length-prefixed: moving a character from one text to the next changes H
    assert H(key, SEP_VOTE, "ab", "c") != H(key, SEP_VOTE, "a", "bc")
    # the separator is one byte, an int four
    assert H(key, Separator(1)) != H(key, 1)
    assert len(H(key, 1)) == 32 and Hq(key, 1).to_int() < ORDER
    for bad in (-1, 2**31, True, b"short", 1.5):
        with pytest.raises(TrusteeCryptoError):
            H(key, bad)  # type: ignore[arg-type]
