"""HTTPS on the hall LAN: ``voting-server tls init``, the server serving TLS, the QR's CA fingerprint."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from flask import Flask

from crypto.keys import CryptoError
from crypto.tls import (
    TlsPaths,
    create_venue_tls,
    fingerprint,
    format_fingerprint,
    load_certificate,
    parse_hosts,
)
from tests.support.live import free_port, logged_in, make_live_app, post_form
from voting_server.cli import main
from voting_server.models import StaffRole
from voting_server.views.admin import enrollment_url

HOSTS = ("10.0.0.5", "hall.local", "localhost", "127.0.0.1")


def verify_for(paths: TlsPaths, name: x509.GeneralName) -> None:
    """Path validation as a browser does it: the leaf, trusting only the venue CA."""
    ca = load_certificate(paths.ca_cert)
    leaf = load_certificate(paths.server_cert)
    verifier = (
        PolicyBuilder().store(Store([ca])).time(dt.datetime.now(dt.UTC)).build_server_verifier(name)  # type: ignore[arg-type]
    )
    verifier.verify(leaf, [])


def test_the_server_certificate_verifies_against_the_venue_ca_for_every_host(
    tmp_path: Path,
) -> None:
    made = create_venue_tls(tmp_path / "tls", parse_hosts([",".join(HOSTS)]), days=30)
    paths = made.paths
    verify_for(paths, x509.DNSName("hall.local"))
    verify_for(paths, x509.DNSName("localhost"))
    verify_for(paths, x509.IPAddress(ipaddress.ip_address("10.0.0.5")))
    with pytest.raises(VerificationError):
        verify_for(paths, x509.DNSName("other.example"))
    with pytest.raises(VerificationError):
        verify_for(paths, x509.IPAddress(ipaddress.ip_address("10.0.0.6")))
    ca = load_certificate(paths.ca_cert)
    assert made.ca_fingerprint == fingerprint(ca) and len(made.ca_fingerprint) == 64
    leaf = load_certificate(paths.server_cert)
    assert leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) < dt.timedelta(days=31)


def test_the_venue_ca_cannot_vouch_for_other_names(tmp_path: Path) -> None:
    """Name constraints: a stolen venue CA key is no use against any other site."""
    made = create_venue_tls(tmp_path, parse_hosts(["10.0.0.5,hall.local"]), days=30)
    ca = load_certificate(made.paths.ca_cert)
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert set(constraints.value.permitted_subtrees or []) == {
        x509.DNSName("hall.local"),
        x509.IPAddress(ipaddress.ip_network("10.0.0.5/32")),
    }
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


def test_keys_are_private_and_nothing_is_overwritten_without_force(tmp_path: Path) -> None:
    first = create_venue_tls(tmp_path, parse_hosts(["hall.local"]), days=10)
    for key in (first.paths.ca_key, first.paths.server_key):
        assert key.stat().st_mode & 0o777 == 0o600
    before = {p: p.read_bytes() for p in first.paths.all()}
    with pytest.raises(CryptoError, match="already exists"):
        create_venue_tls(tmp_path, parse_hosts(["hall.local"]), days=10)
    assert {p: p.read_bytes() for p in first.paths.all()} == before
    second = create_venue_tls(tmp_path, parse_hosts(["hall.local"]), days=10, force=True)
    assert second.ca_fingerprint != first.ca_fingerprint
    assert second.paths.ca_key.stat().st_mode & 0o777 == 0o600


def test_cli_init_prints_the_fingerprint_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "tls"
    args = ["tls", "init", "--out", str(out), "--hosts", "10.0.0.5,hall.local", "--days", "90"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    expected = format_fingerprint(fingerprint(load_certificate(out / "venue-ca.pem")))
    assert expected in result.output
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "already exists" in again.output and "--force" in again.output
    assert format_fingerprint(fingerprint(load_certificate(out / "venue-ca.pem"))) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hosts", "10.0.0.300"], "not an IP address or DNS name: '10.0.0.300'"),
        (["--hosts", "hall_local"], "not an IP address or DNS name: 'hall_local'"),
        (["--hosts", ","], "no host given"),
        (["--days", "0"], "--days"),
        (["--days", "-3"], "--days"),
        (["--days", "10000"], "--days"),
    ],
)
def test_bad_inputs_give_a_clear_error_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "tls"
    result = CliRunner().invoke(main, ["tls", "init", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


# --- a real TLS handshake ---------------------------------------------------------------------


def _get(port: int, context: ssl.SSLContext, host: str = "localhost") -> tuple[int, bytes]:
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=5)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def tls_server(tmp_path: Path, sqlite_url: str):  # -> Iterator[tuple[int, TlsPaths]]
    tls_dir = tmp_path / "tls"
    made = create_venue_tls(tls_dir, parse_hosts(["localhost,127.0.0.1"]), days=5)
    port = free_port()
    env = dict(
        os.environ,
        VOTING_INSTANCE_DIR=str(tmp_path / "instance"),
        VOTING_TLS_DIR=str(tls_dir),
        VOTING_DATABASE_URL=sqlite_url,
        VOTING_LOG_LEVEL="warning",
        VOTING_ACCESS_LOG="/dev/null",
    )
    env.pop("VOTING_ASYNC_MODE", None)
    argv = [sys.executable, "-c", "from voting_server.cli import main; main()", "run",
            "--host", "127.0.0.1", "--port", str(port), "--tls"]  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    trusting = ssl.create_default_context(cafile=str(made.paths.ca_cert))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, trusting)
                break
            except (OSError, http.client.HTTPException):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "server.log").read_text(errors="replace"))
                time.sleep(0.3)
        yield port, made.paths
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.mark.slow
def test_run_serves_https_that_verifies_with_only_the_venue_ca(tls_server) -> None:  # type: ignore[no-untyped-def]
    port, paths = tls_server
    only_venue_ca = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # checks hostname and chain
    only_venue_ca.load_verify_locations(cafile=str(paths.ca_cert))
    status, body = _get(port, only_venue_ca)
    assert status == 200 and b"ok" in body.lower()
    status, _ = _get(port, only_venue_ca, host="127.0.0.1")  # the IP SAN
    assert status == 200
    system_only = ssl.create_default_context()  # the public roots: the venue CA is not one
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(port, system_only)


@pytest.mark.slow
def test_under_tls_every_cookie_is_secure(tls_server) -> None:  # type: ignore[no-untyped-def]
    port, paths = tls_server
    context = ssl.create_default_context(cafile=str(paths.ca_cert))
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=5)
    try:
        conn.request("GET", "/login?lang=en")  # the session (CSRF token) and the language
        response = conn.getresponse()
        response.read()
        cookies = response.headers.get_all("Set-Cookie") or []
    finally:
        conn.close()
    assert {c.split("=", 1)[0] for c in cookies} == {"session", "lang"}, cookies
    for cookie in cookies:
        assert "; Secure" in cookie and "; HttpOnly" in cookie, cookie
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# --- the enrollment QR code and the kiosk page --------------------------------------------------


def test_enrollment_url_carries_the_fingerprint_in_the_fragment() -> None:
    assert enrollment_url("https://10.0.0.5", "ABCD2345", "ab" * 32) == (
        "https://10.0.0.5/kiosk#enroll=ABCD2345&caf=" + "ab" * 32
    )
    assert enrollment_url("http://localhost:5080", "ABCD2345") == (
        "http://localhost:5080/kiosk#enroll=ABCD2345"
    )


@pytest.fixture
def app_with_ca(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("VOTING_TLS_DIR", str(tmp_path / "tls"))
    return make_live_app(sqlite_url, tmp_path / "instance")


def test_enrollment_sheet_and_kiosk_page_show_the_ca_fingerprint(
    app_with_ca: Flask, tmp_path: Path
) -> None:
    made = create_venue_tls(tmp_path / "tls", parse_hosts(["10.0.0.5"]), days=5)
    shown = format_fingerprint(made.ca_fingerprint)
    secretariat = logged_in(app_with_ca, StaffRole.SECRETARIAT)
    response = post_form(secretariat.client, "/admin/enrollment?body=1", {"seat": "1"})
    assert response.status_code == 200
    sheet = response.get_data(as_text=True)
    assert shown in sheet
    kiosk = app_with_ca.test_client().get("/kiosk").get_data(as_text=True)
    assert f'data-server-ca="{made.ca_fingerprint}"' in kiosk
    assert shown in kiosk


def test_the_qr_code_decodes_to_the_url_with_the_fingerprint(
    app_with_ca: Flask, tmp_path: Path
) -> None:
    """Decode the printed QR code itself (its SVG path drawn as pixels)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image, ImageDraw

    made = create_venue_tls(tmp_path / "tls", parse_hosts(["10.0.0.5"]), days=5)
    secretariat = logged_in(app_with_ca, StaffRole.SECRETARIAT)
    sheet = post_form(secretariat.client, "/admin/enrollment?body=1", {"seat": "1"}).get_data(
        as_text=True
    )
    svg = re.search(r"<svg[^>]*>.*?</svg>", sheet, re.S)
    assert svg, "no QR code on the sheet"
    view = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg.group(0))
    path = re.search(r' d="([^"]+)"', svg.group(0))
    assert view and path
    scale = 10
    size = round(float(view.group(1)) * scale)
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    # qrcode's SvgPathImage draws each dark module as "M x y h 1 v 1 h -1 z"-like squares
    for x, y in re.findall(r"M([\d.]+),([\d.]+)", path.group(1)):
        left, top = float(x) * scale, float(y) * scale
        draw.rectangle([left, top, left + scale - 1, top + scale - 1], fill=0)
    texts = [r.text for r in zxingcpp.read_barcodes(image)]
    assert len(texts) == 1, "the QR code did not decode"
    assert texts[0].endswith("&caf=" + made.ca_fingerprint)
    assert "/kiosk#enroll=" in texts[0]
