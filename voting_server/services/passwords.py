"""Hashes of staff passwords and deputies' PINs (argon2id).

Two cost profiles, both argon2id:

- staff passwords: argon2-cffi's default, RFC 9106's second recommendation
  (64 MiB, 3 passes, 4 lanes) — a login is rare, so it may be slow;
- PINs: OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane). A whole
  hall signs in within minutes through one server process, and a 6-digit
  PIN has only a million values: no hash cost makes it withstand an
  offline search. What protects a PIN is the lockout after wrong tries
  (``attendance.check_pin``) and that it works only on the seat's own
  enrolled tablet.

A hash records its own parameters, so ``verify_secret`` checks either kind.
"""

from __future__ import annotations

import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

PIN_DIGITS = 6
PIN_PATTERN = re.compile(r"^[0-9]{6}$")

_PASSWORDS = PasswordHasher()
_PINS = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_secret(secret: str) -> str:
    """An argon2id hash of a staff password (encoded, with salt and parameters)."""
    return _PASSWORDS.hash(secret)


def hash_pin(pin: str) -> str:
    """An argon2id hash of a 6-digit PIN; ValueError if ``pin`` is not 6 digits."""
    if not is_valid_pin(pin):
        raise ValueError("a PIN is 6 digits")
    return _PINS.hash(pin)


def verify_secret(hashed: str | None, secret: str) -> bool:
    """True when ``secret`` matches ``hashed``. Never raises: a missing,
    malformed or foreign hash is simply no match. (argon2 compares in
    constant time.)"""
    if not hashed or not isinstance(secret, str):
        return False
    try:
        return _PASSWORDS.verify(hashed, secret)
    except (Argon2Error, InvalidHashError, ValueError, TypeError):
        return False


def is_valid_pin(pin: object) -> bool:
    return isinstance(pin, str) and PIN_PATTERN.fullmatch(pin) is not None


def new_pin() -> str:
    """A uniformly random 6-digit PIN (leading zeros kept)."""
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


@functools.cache
def _dummy_hash() -> str:
    # A hash of nothing anyone knows, made on first use (not at import: it costs
    # a password hash, and most commands never need it).
    return _PASSWORDS.hash(secrets.token_urlsafe(16))


def burn_verification_time(secret: str) -> None:
    """Spend one password verification, so that a login naming no account
    takes as long as a wrong password (no user enumeration by timing)."""
    verify_secret(_dummy_hash(), secret)
