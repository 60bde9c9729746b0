"""``voting-audit``: the auditor's offline tool (CONTRACTS.md §4).

``verify`` needs nothing but the bundle. This module and everything it
imports at the top must stay free of Flask, SQLAlchemy and the database
modules (tests/test_audit_cli.py checks): ``export``, which does need the
database, imports its module inside the command.

Exit codes of ``verify``: 0 everything verified; 1 anything failed — also a
bundle without ``log.jsonl`` or ``keys.json``, because an incomplete bundle
is content that does not verify, not a mistake in the command line; 2 usage
errors only (no such directory, malformed ``--head``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from audit.bundle import parse_head, verify_bundle

EXIT_FAILED = 1


@click.group(help="电子表决审计工具 — verify an exported audit log offline.")
def main() -> None:
    pass


def _head_option(_ctx: click.Context, _param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        return parse_head(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("verify")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.option(
    "--head",
    callback=_head_option,
    metavar="SIZE:ROOT",
    help="A published head (from a result sheet); the log must contain it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(directory: Path, head: tuple[int, str] | None, as_json: bool) -> None:
    """Check the chain, every signature and ballot, and recount every result in DIR."""
    report = verify_bundle(directory, head)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        if report.ok:
            click.echo(f"OK: all {report.entries} entries verified")
        else:
            error = report.errors[0]
            click.echo(f"FAILED at entry {error['index']}: {error['reason']}")
        click.echo(f"head: {report.head['size']}:{report.head['root']}")
    sys.exit(0 if report.ok else EXIT_FAILED)


@main.command("export")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Where to write the bundle (created; may hold a previous bundle, nothing else).",
)
@click.option(
    "--database-url",
    envvar="VOTING_DATABASE_URL",
    help="SQLAlchemy URL; default: $VOTING_DATABASE_URL, else the embedded SQLite file.",
)
def export_command(out: Path, database_url: str | None) -> None:
    """Write the audit bundle (log.jsonl, keys.json, head.json) from the server's database."""
    from sqlalchemy.exc import ArgumentError

    from audit.export import ExportError, export_bundle
    from voting_server.db import default_database_url, instance_dir

    def progress(n: int) -> None:
        click.echo(f"exported {n} entries …", err=True)

    try:
        exported = export_bundle(
            database_url or default_database_url(),
            out,
            server_key_file=instance_dir() / "server_ed25519.pem",
            progress=progress,
        )
    except (ExportError, ArgumentError, OSError) as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    for warning in exported.warnings:
        click.echo(f"warning: {warning} (verify will fail on this)", err=True)
    click.echo(json.dumps({"bundle": str(out), "head": exported.head}))


if __name__ == "__main__":
    main()
