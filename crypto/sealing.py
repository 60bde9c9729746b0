"""Per-vote secret keys for secret ballots (docs/secret-ballot.md).

A ``VoteKey`` seals a secret vote's ballot contents while the vote is open
(AES-256-GCM, the vote id as associated data). It is kept in memory and in a
file of its own for crash recovery, and destroyed at close — after which
the sealed contents left in database pages can no longer be read by anyone.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.keys import CryptoError

_NONCE_BYTES = 12
_KEY_BYTES = 32


class VoteKey:
    """AES-256-GCM key of one secret vote."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise CryptoError(f"vote key must be {_KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self._key = key

    @classmethod
    def generate(cls) -> VoteKey:
        return cls(AESGCM.generate_key(bit_length=256))

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """``nonce ‖ ciphertext``; ``associated`` binds it to its vote."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        """The plaintext; raises CryptoError if ``sealed`` was altered or is for another vote."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated)
        except (InvalidTag, ValueError):
            raise CryptoError("sealed ballot does not open with this vote's key") from None

    def save(self, path: Path) -> None:
        """Write the key to a new file readable by the server's user only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self._key)
            f.flush()
            os.fsync(f.fileno())

    @classmethod
    def load(cls, path: Path) -> VoteKey:
        return cls(path.read_bytes())


def destroy_key_file(path: Path) -> None:
    """Overwrite the key file with random bytes, sync, and unlink it.

    Overwriting does not guarantee erasure on SSDs or copy-on-write file
    systems (docs/secret-ballot.md, limits); it removes the easy recovery.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with path.open("r+b") as f:
        f.write(os.urandom(max(size, _KEY_BYTES)))
        f.flush()
        os.fsync(f.fileno())
    path.unlink()
