"""Accounts and secrets from the command line: ``staff create|disable|set-role|list``
(``create-user`` is ``staff create``), ``enrollment-codes``, ``issue-pins``.

Like the database commands, each takes ``--database-url`` (or
VOTING_DATABASE_URL) and ends a failure with one readable line. Passwords
are read without echo (or from stdin for scripts) and never printed; the
codes and PINs these commands print or write are secrets for the operator.

Account changes are audit-log entries with ``by`` null: the operator of the
server's command line (docs/duties.md). They are signed with the server's key
in the instance dir ($VOTING_INSTANCE_DIR), the one the server signs with.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import ServerKey
from voting_server.cli.database import _body, _engine, database_url_option
from voting_server.db import current_revision, head_revision, instance_dir, make_session_factory
from voting_server.models import Body, BodyKind, BodyLevel, Member, StaffRole, StaffUser
from voting_server.services import bodies, devices, staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.sockets.errors import bilingual

ROLES = [r.value for r in StaffRole]
body_option = click.option(
    "--body", "body_id", type=int, help="Body id; may be omitted when there is one body."
)


@contextmanager
def _transaction(database_url: str | None) -> Iterator[Session]:
    """One write transaction on a database at the current schema version;
    a refusal becomes a one-line error."""
    with _engine(database_url) as engine:
        if current_revision(engine) != head_revision():
            raise click.ClickException(
                "数据库未初始化或版本过旧 database not initialised or out of date: "
                "run `voting-server init-db` first"
            )
        try:
            with write_transaction(make_session_factory(engine)) as session:
                yield session
        except Refusal as refused:
            raise click.ClickException(
                bilingual(refused.code) + (f" ({refused.detail})" if refused.detail else "")
            ) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return click.prompt(
        "密码 password", hide_input=True, confirmation_prompt="再次输入 repeat", prompt_suffix=": "
    )


def server_log() -> AuditLog:
    """The audit log writer with the server's own key (created if the server never ran)."""
    return AuditLog(ServerKey.load_or_create(instance_dir() / "server_ed25519.pem"))


def _user_id(session: Session, username: str) -> int:
    user_id = session.scalar(
        select(StaffUser.id).where(StaffUser.username == staff.normalize_username(username))
    )
    if user_id is None:
        raise Refusal("unknown_user", username)
    return user_id


def _body_ids(session: Session, given: tuple[str, ...]) -> list[int] | None:
    """The ids of the bodies ``--body`` named (an id or a name each); None: every body."""
    if not given:
        return None
    bodies = {str(b.id): b.id for b in session.scalars(select(Body))}
    bodies |= {b.name: b.id for b in session.scalars(select(Body))}
    missing = [g for g in given if g.strip() not in bodies]
    if missing:
        raise Refusal("unknown_body", ", ".join(missing))
    return sorted({bodies[g.strip()] for g in given})


def _create(
    username: str,
    role: str,
    display_name: str | None,
    password_stdin: bool,
    database_url: str | None,
    body: tuple[str, ...] = (),
) -> None:
    password = _read_password(password_stdin)
    try:  # before touching the database: a refused password needs no connection
        staff.check_password_policy(username, password)
    except Refusal as refused:
        raise click.ClickException(bilingual(refused.code)) from None
    with _transaction(database_url) as session:
        user = staff.create_user(
            session, username, display_name or username, role, password, log=server_log(),
            bodies=_body_ids(session, body),
        )  # fmt: skip
        name, role_value = user.username, user.role.value
    click.echo(f"账号已建立 account created: {name} ({role_value})")


def _create_options(command: click.Command) -> click.Command:
    for option in reversed((
        click.argument("username"),
        click.option("--role", type=click.Choice(ROLES), required=True, help="The account's role."),
        click.option("--display-name", help="姓名 shown on the pages (default: the username)."),
        click.option(
            "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
        ),
        click.option(
            "--body", multiple=True, metavar="ID|NAME",
            help="A body the account serves (repeatable); none: every body (a platform account).",
        ),
        database_url_option,
    )):  # fmt: skip
        command = option(command)
    return command


@click.command("create-user")
@_create_options
def create_user_command(**options: object) -> None:
    """Create a staff account (presidium, secretariat, scrutineer or display); logged."""
    _create(**options)  # type: ignore[arg-type]


@click.group("staff")
def staff_group() -> None:
    """Staff accounts: every creation, disabling and role change is logged."""


@staff_group.command("create")
@_create_options
def staff_create_command(**options: object) -> None:
    """Create a staff account (presidium, secretariat, scrutineer or display); logged."""
    _create(**options)  # type: ignore[arg-type]


@staff_group.command("disable")
@click.argument("username")
@database_url_option
def staff_disable_command(username: str, database_url: str | None) -> None:
    """Disable an account: it can no longer sign in; kept for the log's ``by``."""
    with _transaction(database_url) as session:
        user = staff.deactivate_user(session, _user_id(session, username), log=server_log())
        name = user.username
    click.echo(f"账号已停用 account disabled: {name}")


@staff_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@database_url_option
def staff_set_role_command(username: str, role: str, database_url: str | None) -> None:
    """Give an account another role; its sessions end."""
    with _transaction(database_url) as session:
        user = staff.change_role(session, _user_id(session, username), role, log=server_log())
        name, role_value = user.username, user.role.value
    click.echo(f"角色已更改 role changed: {name} ({role_value})")


@staff_group.command("scope")
@click.argument("username")
@click.option(
    "--body",
    multiple=True,
    metavar="ID|NAME",
    help="A body the account serves (repeatable); none: every body (a platform account).",
)
@database_url_option
def staff_scope_command(username: str, body: tuple[str, ...], database_url: str | None) -> None:
    """Set the bodies an account serves; logged in the log of each body it served or serves."""
    with _transaction(database_url) as session:
        user = staff.set_scope(
            session, _user_id(session, username), _body_ids(session, body), log=server_log()
        )
        name, scope = user.username, staff.scope_of(session, user.id)
    shown = "all" if scope is None else ",".join(map(str, scope))
    click.echo(f"服务机构已更改 scope changed: {name} ({shown})")


@staff_group.command("list")
@database_url_option
def staff_list_command(database_url: str | None) -> None:
    """Every account: id, username, role, active or disabled, the bodies it serves."""
    with _transaction(database_url) as session:
        for user in staff.list_users(session):
            state = "active" if user.active else "disabled"
            scope = staff.scope_of(session, user.id)
            shown = "all" if scope is None else ",".join(map(str, scope))
            click.echo(f"{user.id}\t{user.username}\t{user.role.value}\t{state}\t{shown}")


@click.group("body")
def body_group() -> None:
    """Bodies on this server: congresses and standing committees (docs/bodies.md)."""


@body_group.command("create")
@click.option("--name", required=True, help="e.g. 示例县人民代表大会")
@click.option(
    "--kind", required=True, type=click.Choice([k.value for k in BodyKind]), help="The kind."
)
@click.option(
    "--level", required=True, type=click.Choice([v.value for v in BodyLevel]), help="The level."
)
@database_url_option
def body_create_command(name: str, kind: str, level: str, database_url: str | None) -> None:
    """Create a body; its audit log starts with log_started and the accounts serving it."""
    with _transaction(database_url) as session:
        body = bodies.create_body(session, server_log(), name, kind, level)
        body_id, body_name = body.id, body.name
    click.echo(f"机构已建立 body created: {body_id}\t{body_name}")


@body_group.command("list")
@database_url_option
def body_list_command(database_url: str | None) -> None:
    """Every body: id, name, kind, level, members."""
    with _transaction(database_url) as session:
        for body in bodies.list_bodies(session):
            click.echo(
                f"{body.id}\t{body.name}\t{body.kind.value}\t{body.level.value}\t"
                f"{body.member_count}"
            )


@click.command("enrollment-codes")
@click.option("--seat", type=int, help="Issue a code for this seat.")
@click.option("--all", "all_seats", is_flag=True, help="Issue a code for every seat.")
@click.option(
    "--ttl-hours",
    type=click.IntRange(1, 24 * 14),
    default=24,
    show_default=True,
    help="How long the codes stay valid.",
)
@body_option
@database_url_option
def enrollment_codes_command(
    seat: int | None,
    all_seats: bool,
    ttl_hours: int,
    body_id: int | None,
    database_url: str | None,
) -> None:
    """Issue one-time tablet enrollment codes; prints "seat<TAB>code" lines.

    The codes are secrets: whoever holds one can register a tablet for that
    seat until it expires. Issuing a new code voids the seat's earlier unused one.
    """
    if (seat is None) == (not all_seats):
        raise click.UsageError("give --seat N or --all")
    ttl = timedelta(hours=ttl_hours)
    with _transaction(database_url) as session:
        body = _body(session, body_id)
        if all_seats:
            codes = devices.issue_enrollment_codes(session, body.id, None, ttl)
        else:
            assert seat is not None
            codes = {seat: devices.issue_enrollment_code(session, body.id, seat, None, ttl)}
    click.echo(
        f"登记码 {len(codes)} 个，{ttl_hours} 小时内有效，仅限一次；请妥善保管 "
        f"{len(codes)} enrollment code(s), valid {ttl_hours} h, single use: keep them secret",
        err=True,
    )
    for number, code in codes.items():
        click.echo(f"{number}\t{code}")


@click.command("issue-pins")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="CSV file to create (seat,name,pin); an existing file is never overwritten.",
)
@body_option
@database_url_option
def issue_pins_command(out: Path, body_id: int | None, database_url: str | None) -> None:
    """Give every active member a new random 6-digit PIN; write them to a new CSV.

    The file is created readable by its owner only (0600); print the PIN
    slips from it and delete it. Earlier PINs stop working.
    """
    try:
        # O_EXCL: refuse to overwrite; 0600: the PINs are for the operator's eyes only.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"文件已存在，不会覆盖 {out} exists: not overwritten") from None
    except OSError as exc:
        raise click.ClickException(f"无法创建文件 cannot create {out}: {exc.strerror}") from None
    done = False
    try:
        # UTF-8 with BOM, so that spreadsheet programs show the names correctly.
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            with _transaction(database_url) as session:
                body = _body(session, body_id)
                pins = devices.issue_pins(session, body.id, server_log())
                names = {
                    row.seat: row.name
                    for row in session.execute(
                        select(Member.seat, Member.name).where(Member.body_id == body.id)
                    )
                }
                from voting_server.sheets import csv_writer, inert_row  # fpdf & co.: only here

                writer = csv_writer(f)  # a name is data, never a formula
                writer.writerow(inert_row(["seat", "name", "pin"]))
                for number, pin in pins.items():
                    writer.writerow(inert_row([number, names.get(number, ""), pin]))
                f.flush()
                os.fsync(f.fileno())  # on disk before the new PINs are committed
            done = True
    finally:
        if not done:  # nothing committed: a file of PINs that do not work would mislead
            out.unlink(missing_ok=True)
    click.echo(
        f"已为 {len(pins)} 名组成人员生成签到密码，写入 {out}（仅本人可读）；原密码已失效 "
        f"new PINs for {len(pins)} members written to {out} (mode 0600); earlier PINs no longer work"
    )


def register(group: click.Group) -> None:
    """Add this module's commands to the ``voting-server`` group."""
    for command in (
        create_user_command,
        staff_group,
        body_group,
        enrollment_codes_command,
        issue_pins_command,
    ):
        group.add_command(command)
