"""Keys and signatures: a small safe API over ``cryptography``.

- The server signs with Ed25519 (``ServerKey``); anyone verifies with the raw
  32-byte public key (``verify_server``).
- Kiosks sign with P-256 ECDSA over SHA-256, the curve browsers' WebCrypto
  offers. Signatures travel as WebCrypto's raw 64-byte ``r‖s`` form
  (IEEE P1363), not DER; public keys as DER SubjectPublicKeyInfo.

Private keys never leave their owner: ``ServerKey`` and ``KioskKey`` expose
signing and the public half, and write the private half only to a file
created with mode 0600.
"""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

P256_SIGNATURE_BYTES = 64
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # immutable; made once, not per verification


class CryptoError(ValueError):
    """A key or signature that cannot be used, with what was wrong."""


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str = "value") -> bytes:
    """Strict standard base64; raises CryptoError naming ``what`` on bad input."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise CryptoError(f"{what} is not valid base64") from None


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


# --- the server: Ed25519 -------------------------------------------------------


class ServerKey:
    """The server's Ed25519 signing key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_bytes = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> ServerKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> ServerKey:
        """The key stored at ``path`` (PEM, PKCS#8), created with mode 0600 if absent."""
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise CryptoError(f"{path} does not hold an Ed25519 private key")
            return cls(private)
        key = cls.generate()
        _write_private(
            path,
            key._private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return key

    @property
    def public_b64(self) -> str:
        return b64encode(self.public_bytes)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


@functools.lru_cache(maxsize=8)
def _server_public_key(public_key: bytes) -> Ed25519PublicKey:
    # A verifier checks a million entries against one key: parse it once.
    return Ed25519PublicKey.from_public_bytes(public_key)


def verify_server(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is the Ed25519 signature of ``data`` by ``public_key`` (raw 32)."""
    try:
        _server_public_key(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- kiosks: P-256 ECDSA ----------------------------------------------------------


class KioskPublicKey:
    """A kiosk's registered P-256 public key."""

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise CryptoError(f"kiosk key must be on P-256, not {key.curve.name}")
        self._key = key
        self.spki = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_spki_b64(cls, text: str) -> KioskPublicKey:
        """Parse base64 DER SubjectPublicKeyInfo (WebCrypto ``exportKey('spki')``)."""
        der = b64decode(text, "public key")
        try:
            key = serialization.load_der_public_key(der)
        except ValueError:
            raise CryptoError("public key is not a DER SubjectPublicKeyInfo") from None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CryptoError("public key is not an elliptic-curve key")
        return cls(key)

    @property
    def spki_b64(self) -> str:
        return b64encode(self.spki)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when ``signature`` (raw ``r‖s``, 64 bytes) signs ``data`` with this key."""
        if len(signature) != P256_SIGNATURE_BYTES:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
            return False
        try:
            self._key.verify(encode_dss_signature(r, s), data, _ECDSA_SHA256)
        except InvalidSignature:
            return False
        return True


class KioskKey:
    """A kiosk's P-256 signing key (the Python kiosk client's equivalent of WebCrypto)."""

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private.curve, ec.SECP256R1):
            raise CryptoError("kiosk key must be on P-256")
        self._private = private
        self.public = KioskPublicKey(private.public_key())

    @classmethod
    def generate(cls) -> KioskKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def load_or_create(cls, path: Path) -> KioskKey:
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise CryptoError(f"{path} does not hold an EC private key")
            return cls(private)
        key = cls.generate()
        _write_private(
            path,
            key._private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return key

    def sign(self, data: bytes) -> bytes:
        """Raw ``r‖s`` signature (64 bytes), as WebCrypto produces."""
        der = self._private.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
