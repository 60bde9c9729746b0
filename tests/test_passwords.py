"""argon2id hashes of staff passwords and PINs; the in-memory failure throttle."""

from __future__ import annotations

import pytest

from voting_server.services.passwords import (
    hash_pin,
    hash_secret,
    is_valid_pin,
    new_pin,
    verify_secret,
)
from voting_server.services.throttle import Throttle


@pytest.mark.slow
def test_a_password_hash_is_salted_argon2id_and_verifies_only_the_password() -> None:
    first, second = hash_secret("长城 long password"), hash_secret("长城 long password")
    assert first.startswith("$argon2id$") and first != second  # a fresh salt each time
    assert verify_secret(first, "长城 long password")
    assert verify_secret(second, "长城 long password")
    assert not verify_secret(first, "长城 long passworD")
    assert not verify_secret(first, "")


@pytest.mark.parametrize(
    "bad_hash",
    [None, "", "plaintext", "$argon2id$v=19$m=65536,t=3,p=4$broken", "$2b$12$" + "a" * 53],
)
def test_verifying_against_a_missing_or_malformed_hash_is_false_never_an_error(
    bad_hash: str | None,
) -> None:
    assert verify_secret(bad_hash, "anything at all") is False


def test_a_pin_is_six_digits_hashed_with_argon2id() -> None:
    hashed = hash_pin("012345")
    assert hashed.startswith("$argon2id$")
    assert verify_secret(hashed, "012345")
    assert not verify_secret(hashed, "12345")
    assert not verify_secret(hashed, "012346")
    for bad in ("12345", "1234567", "12a456", "１２３４５６", " 12345", ""):
        assert not is_valid_pin(bad)
        with pytest.raises(ValueError):
            hash_pin(bad)


def test_new_pins_are_six_random_digits_leading_zeros_kept() -> None:
    pins = [new_pin() for _ in range(2000)]
    assert all(is_valid_pin(p) for p in pins)
    assert len(set(pins)) > 1990  # a million values: collisions are rare
    assert any(p.startswith("0") for p in pins)  # ~10% do


def test_a_throttle_blocks_a_key_after_the_limit_until_the_window_passes() -> None:
    now = [1000.0]
    throttle = Throttle(3, 60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_s("zhang") == 0
        throttle.fail("zhang")
    assert throttle.wait_s("zhang") == pytest.approx(60)
    assert throttle.wait_s("li") == 0  # other keys are not affected
    now[0] += 59.5
    assert throttle.wait_s("zhang") == pytest.approx(0.5)
    now[0] += 1
    assert throttle.wait_s("zhang") == 0
    throttle.fail("zhang")
    throttle.reset("zhang")
    assert throttle.wait_s("zhang") == 0
