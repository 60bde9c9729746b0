"""crypto/: signatures verify, and every alteration is caught."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from crypto import (
    CryptoError,
    KioskKey,
    KioskPublicKey,
    ServerKey,
    VoteKey,
    b64decode,
    destroy_key_file,
    verify_server,
)


def test_server_signature_verifies_and_catches_changes() -> None:
    key = ServerKey.generate()
    sig = key.sign(b"entry")
    assert verify_server(key.public_bytes, sig, b"entry")
    assert not verify_server(key.public_bytes, sig, b"entrx")
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert not verify_server(key.public_bytes, flipped, b"entry")
    assert not verify_server(ServerKey.generate().public_bytes, sig, b"entry")
    assert not verify_server(b"short", sig, b"entry")


def test_server_key_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "server.pem"
    key = ServerKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ServerKey.load_or_create(path).public_bytes == key.public_bytes


def test_kiosk_signature_is_raw_r_s_and_verifies_from_spki() -> None:
    kiosk = KioskKey.generate()
    sig = kiosk.sign(b"ballot")
    assert len(sig) == 64
    registered = KioskPublicKey.from_spki_b64(kiosk.public.spki_b64)
    assert registered.verify(sig, b"ballot")
    assert not registered.verify(sig, b"ballots")
    assert not registered.verify(sig[:-1], b"ballot")
    assert not registered.verify(bytes(64), b"ballot")
    assert not KioskKey.generate().public.verify(sig, b"ballot")


@pytest.mark.parametrize("bad", ["not base64!", "AAAA", ""])
def test_bad_kiosk_public_key_is_refused(bad: str) -> None:
    with pytest.raises(CryptoError):
        KioskPublicKey.from_spki_b64(bad)


def test_non_p256_kiosk_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = other.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    with pytest.raises(CryptoError, match="P-256"):
        KioskPublicKey.from_spki_b64(base64.b64encode(der).decode())


def test_b64decode_is_strict() -> None:
    assert b64decode("AAE=") == b"\x00\x01"
    with pytest.raises(CryptoError, match="signature"):
        b64decode("AA E=", "signature")


def test_vote_key_seals_for_one_vote_only(tmp_path: Path) -> None:
    key = VoteKey.generate()
    sealed = key.seal(b'{"a":"yes"}', b"vote:7")
    assert key.open(sealed, b"vote:7") == b'{"a":"yes"}'
    with pytest.raises(CryptoError):
        key.open(sealed, b"vote:8")
    with pytest.raises(CryptoError):
        key.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"vote:7")
    with pytest.raises(CryptoError):
        VoteKey.generate().open(sealed, b"vote:7")
    path = tmp_path / "vote-7.key"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert VoteKey.load(path).open(sealed, b"vote:7") == b'{"a":"yes"}'
    destroy_key_file(path)
    assert not path.exists()
    destroy_key_file(path)  # destroying twice is harmless
