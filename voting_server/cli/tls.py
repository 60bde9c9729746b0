"""``voting-server tls init``: the venue CA and the server's certificate (docs/tls.md)."""

from __future__ import annotations

from pathlib import Path

import click

from crypto.keys import CryptoError
from crypto.tls import (
    DEFAULT_HOSTS,
    DEFAULT_SERVER_DAYS,
    MAX_SERVER_DAYS,
    create_venue_tls,
    format_fingerprint,
    parse_hosts,
)
from voting_server.settings import tls_dir


@click.group("tls", help="HTTPS on the hall LAN: the venue CA and the server certificate.")
def tls_group() -> None:
    pass


@tls_group.command("init")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the files; default: VOTING_TLS_DIR or instance/tls (where run looks).",
)
@click.option(
    "--hosts",
    multiple=True,
    help="Comma-separated IP addresses and DNS names the tablets use, e.g. "
    "10.0.0.5,hall.local (default: localhost,127.0.0.1).",
)
@click.option(
    "--days",
    type=click.IntRange(1, MAX_SERVER_DAYS),
    default=DEFAULT_SERVER_DAYS,
    show_default=True,
    help=f"Validity of the server certificate, 1 to {MAX_SERVER_DAYS} days.",
)
@click.option("--force", is_flag=True, help="Replace existing files (tablets must trust again).")
def init_command(out: Path | None, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """Make a venue CA (P-256) and a server certificate signed by it; print the CA fingerprint."""
    directory = out or tls_dir()
    try:
        parsed = parse_hosts(hosts or DEFAULT_HOSTS)
    except CryptoError as exc:
        raise click.BadParameter(str(exc), param_hint="--hosts") from None
    try:
        made = create_venue_tls(directory, parsed, days, force=force)
    except CryptoError as exc:
        raise click.ClickException(f"tls init: {exc}") from None
    click.echo(f"场馆根证书 venue CA:        {made.paths.ca_cert}  (install on every tablet)")
    click.echo(f"服务器证书 server cert:     {made.paths.server_cert}")
    click.echo(f"私钥 private keys (0600):   {made.paths.ca_key}, {made.paths.server_key}")
    click.echo(f"主机 hosts:                 {', '.join(str(h) for h in made.hosts)}")
    click.echo(f"有效期至 valid until:       {made.not_after:%Y-%m-%d} (server certificate)")
    click.echo("根证书 SHA-256 指纹 CA SHA-256 fingerprint:")
    click.echo(f"  {format_fingerprint(made.ca_fingerprint)}")
