"""The ``voting-server`` command: operators' and scrutineers' entry points.

Each concern registers its commands from its own module. Commands that need
the application build it with the factory (``voting_server.app.create_app``);
``tally`` needs nothing but the rules engine.
"""

import click

from voting_server.cli import database
from voting_server.cli import staff as staff_cli
from voting_server.cli.publish import publish_command
from voting_server.cli.serve import run_command
from voting_server.cli.simulate import simulate_command
from voting_server.cli.stack import stack_command
from voting_server.cli.tally import tally_command
from voting_server.cli.tls import tls_group


@click.group(help="电子表决系统 — electronic voting for people's congresses.")
def main() -> None:
    pass


main.add_command(tally_command)
main.add_command(run_command)
main.add_command(simulate_command)
main.add_command(tls_group)
main.add_command(stack_command)
main.add_command(publish_command)
database.register(main)
staff_cli.register(main)
