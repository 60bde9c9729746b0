"""HTTPS on the hall LAN: a venue CA and the server's certificate, with ``cryptography`` only.

Tablets keep their device key with WebCrypto, which browsers allow only in a
secure context (HTTPS, or http://localhost). The hall has no public name and
no internet, so the server carries its own small CA (场馆根证书): each tablet
trusts it once (docs/tls.md), and the CA signs the server's certificate.

- Both keys are ECDSA P-256: browsers accept it for TLS (Ed25519 they do not).
- The CA may sign only for the hall's own names and addresses (X.509 name
  constraints), so a CA installed on the tablets vouches for nothing else
  even if its key were stolen.
- Private keys are written with mode 0600 and never overwritten unless asked.
- The CA's SHA-256 fingerprint is what people compare: on the enrollment QR
  sheet, in the tablet's certificate settings, on the kiosk page.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crypto.keys import CryptoError, _write_private

CA_CERT = "venue-ca.pem"
CA_KEY = "venue-ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
CA_DAYS = 3650
MAX_SERVER_DAYS = 825  # Apple platforms refuse TLS server certificates valid longer
DEFAULT_SERVER_DAYS = 397
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
CLOCK_SKEW = dt.timedelta(hours=1)  # a tablet whose clock is a little behind still accepts it

_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

Host = ipaddress.IPv4Address | ipaddress.IPv6Address | str


@dataclass(frozen=True)
class TlsPaths:
    """The four files of a venue's TLS set-up, in one directory."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_CERT

    @property
    def ca_key(self) -> Path:
        return self.directory / CA_KEY

    @property
    def server_cert(self) -> Path:
        return self.directory / SERVER_CERT

    @property
    def server_key(self) -> Path:
        return self.directory / SERVER_KEY

    def all(self) -> tuple[Path, ...]:
        return (self.ca_cert, self.ca_key, self.server_cert, self.server_key)

    def ready(self) -> bool:
        """The server can serve TLS from here (certificate and key present)."""
        return self.server_cert.is_file() and self.server_key.is_file()


@dataclass(frozen=True)
class VenueTls:
    paths: TlsPaths
    hosts: tuple[Host, ...]
    ca_fingerprint: str  # SHA-256 of the CA certificate (DER), 64 lowercase hex digits
    not_after: dt.datetime  # of the server certificate


def parse_host(text: str) -> Host:
    """An IP address or a DNS name (lowercase); CryptoError naming the bad one."""
    value = text.strip()
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if (
        not name
        or len(name) > 253
        or not all(_DNS_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()  # 10.0.0.300 is a bad address, not a name
    ):
        raise CryptoError(f"not an IP address or DNS name: {text!r}")
    return name


def parse_hosts(items: Sequence[str]) -> tuple[Host, ...]:
    """Hosts from ``--hosts`` (comma-separated, possibly repeated), de-duplicated."""
    hosts: list[Host] = []
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            host = parse_host(part)
            if host not in hosts:
                hosts.append(host)
    if not hosts:
        raise CryptoError("no host given")
    return tuple(hosts)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER bytes, lowercase hex (what ``caf=`` carries)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def format_fingerprint(hex_digest: str) -> str:
    """``AB:CD:…``, as certificate screens on tablets show it."""
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2)).upper()


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise CryptoError(f"{path}: not a PEM certificate ({exc})") from None


def ca_fingerprint_of(directory: Path) -> str | None:
    """The venue CA's fingerprint if ``directory`` holds one, else None."""
    path = TlsPaths(directory).ca_cert
    return fingerprint(load_certificate(path)) if path.is_file() else None


def _general_name(host: Host) -> x509.GeneralName:
    if isinstance(host, str):
        return x509.DNSName(host)
    return x509.IPAddress(host)


def _permitted(host: Host) -> x509.GeneralName:
    if isinstance(host, str):
        return x509.DNSName(host)
    return x509.IPAddress(ipaddress.ip_network(host))  # a single address: /32 or /128


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_venue_tls(
    directory: Path,
    hosts: Sequence[Host],
    days: int = DEFAULT_SERVER_DAYS,
    *,
    venue: str = "电子表决系统 Venue CA",
    force: bool = False,
    now: dt.datetime | None = None,
) -> VenueTls:
    """Write a venue CA and a server certificate for ``hosts`` into ``directory``.

    Refuses (CryptoError) to replace any existing file unless ``force``; with
    ``force`` both are new, and every tablet must trust the new CA again.
    """
    if not 1 <= days <= MAX_SERVER_DAYS:
        raise CryptoError(f"days must be from 1 to {MAX_SERVER_DAYS}, not {days}")
    if not hosts:
        raise CryptoError("no host given")
    paths = TlsPaths(directory)
    existing = [p for p in paths.all() if p.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise CryptoError(f"already exists (use --force to replace): {names}")
    now = now or dt.datetime.now(dt.UTC)
    start = now - CLOCK_SKEW

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, venue),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "电子表决系统"),
        ]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=max(CA_DAYS, days)))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[_permitted(h) for h in hosts], excluded_subtrees=None
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    first = hosts[0]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(first))]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in existing:
        path.unlink()
    _write_private(paths.ca_key, _pem_key(ca_key))
    _write_private(paths.server_key, _pem_key(server_key))
    paths.ca_cert.write_bytes(_pem_cert(ca_cert))
    paths.server_cert.write_bytes(_pem_cert(server_cert))
    return VenueTls(paths, tuple(hosts), fingerprint(ca_cert), server_cert.not_valid_after_utc)
