"""The server's ``voting-audit``: the auditor's commands (``audit.cli``) and ``export``.

``export`` reads the server's database, so it belongs to the server; the
auditor's own distribution (``auditor/``) installs ``audit.cli`` alone, whose
``voting-audit`` answers ``export`` with a line saying where it runs. Here
the database modules are imported inside the command, so that ``verify`` on
the server loads no more than on the auditor's laptop (tests/test_audit_cli.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from audit import cli as auditor


@click.command("export")
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
@click.option(
    "--body",
    metavar="ID|NAME",
    help="The body whose log to export (one log per body); required when there are several.",
)
def export_command(out: Path, database_url: str | None, body: str | None) -> None:
    """Write one body's audit bundle (log.jsonl, keys.json, head.json) from the server's
    database."""
    from sqlalchemy.exc import ArgumentError

    from voting_server.db import default_database_url, instance_dir
    from voting_server.services.export import BodyNeeded, ExportError, export_bundle

    def progress(n: int) -> None:
        click.echo(f"exported {n} entries …", err=True)

    try:
        exported = export_bundle(
            database_url or default_database_url(),
            out,
            server_key_file=instance_dir() / "server_ed25519.pem",
            progress=progress,
            body=body,
        )
    except BodyNeeded as exc:  # a usage error: exit 2, the bodies listed
        raise click.UsageError(" ".join(str(exc).split())) from None
    except (ExportError, ArgumentError, OSError) as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    for warning in exported.warnings:
        click.echo(f"warning: {warning} (verify will fail on this)", err=True)
    click.echo(json.dumps({"bundle": str(out), "head": exported.head}))


main = auditor.AuditGroup(
    name=auditor.main.name,
    help=auditor.main.help,
    commands=[*auditor.main.commands.values(), export_command],
)

if __name__ == "__main__":
    main()
