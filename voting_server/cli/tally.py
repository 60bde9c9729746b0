"""``voting-server tally SCENARIO.json`` (CONTRACTS.md §2): the recount tool."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rules import SchemaError, parse_scenario, tally

EXIT_MALFORMED = 2


@click.command("tally")
@click.argument("scenario", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
def tally_command(scenario: Path) -> None:
    """Count the ballots of SCENARIO (JSON; '-' for stdin) and print the result as JSON.

    Malformed input: exit 2 and one line on stderr naming the field; nothing on stdout.
    """
    try:
        text = sys.stdin.buffer.read() if str(scenario) == "-" else scenario.read_bytes()
    except OSError as exc:
        _fail(f"{scenario}: cannot read ({exc.strerror})")
    try:
        parsed = parse_scenario(text)
    except SchemaError as exc:
        _fail(f"{scenario}: {exc}")
    result = tally(
        parsed.spec, parsed.members, parsed.present, parsed.ballots, parsed.attending_ballots
    )
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


def _fail(message: str) -> None:
    click.echo(f"tally: {' '.join(message.split())}", err=True)
    sys.exit(EXIT_MALFORMED)
