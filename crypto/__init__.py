"""Keys and signatures: Ed25519 for the server, P-256 ECDSA for kiosks,
AES-256-GCM vote keys for sealing secret ballots while a vote is open."""

from crypto.keys import (
    CryptoError,
    KioskKey,
    KioskPublicKey,
    ServerKey,
    b64decode,
    b64encode,
    verify_server,
)
from crypto.sealing import VoteKey, destroy_key_file

__all__ = [
    "CryptoError",
    "KioskKey",
    "KioskPublicKey",
    "ServerKey",
    "VoteKey",
    "b64decode",
    "b64encode",
    "destroy_key_file",
    "verify_server",
]
