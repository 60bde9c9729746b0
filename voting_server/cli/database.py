"""Database commands: ``init-db``, ``import-roster``, ``demo``.

Every command takes ``--database-url`` (or VOTING_DATABASE_URL; default: the
embedded SQLite file). Failures end with one readable line and a non-zero
exit; a rejected roster lists every bad row and imports nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import Engine, select
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from rules.congress import MemberRole, PresidiumSeat
from voting_server.db import (
    DatabaseUnavailable,
    check_connection,
    current_revision,
    default_database_url,
    describe_error,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from voting_server.models import Body, Member, Sitting

database_url_option = click.option(
    "--database-url",
    envvar="VOTING_DATABASE_URL",
    help="SQLAlchemy URL, e.g. postgresql://user@host/db; default: the embedded SQLite file.",
)


@contextmanager
def _engine(database_url: str | None) -> Iterator[Engine]:
    """An engine for the URL; database failures become one-line click errors."""
    url = database_url or default_database_url()
    try:
        engine = make_engine(url)
    except ArgumentError as exc:
        raise click.ClickException(f"数据库地址无效 invalid database URL {url!r}: {exc}") from None
    try:
        check_connection(engine)
        yield engine
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"数据库不可用 database unavailable: {exc}") from None
    except DBAPIError as exc:
        raise click.ClickException(f"数据库错误 database error: {describe_error(exc)}") from None
    finally:
        engine.dispose()


def _migrate(engine: Engine) -> None:
    from alembic.util import CommandError

    try:
        upgrade(engine.url)
    except DBAPIError as exc:
        raise click.ClickException(
            f"数据库迁移失败 migration failed: {describe_error(exc)}"
        ) from None
    except CommandError as exc:  # e.g. a database from a newer version of this program
        raise click.ClickException(f"数据库迁移失败 migration failed: {exc}") from None


@click.command("init-db")
@database_url_option
def init_db_command(database_url: str | None) -> None:
    """Create the database schema, or migrate it to the current version."""
    with _engine(database_url) as engine:
        _migrate(engine)
        shown = engine.url.render_as_string(hide_password=True)
        click.echo(f"数据库已就绪 database ready at revision {head_revision()}: {shown}")


@click.command("import-roster")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--body", "body_id", type=int, help="Body id; may be omitted when there is one body.")
@database_url_option
def import_roster_command(file: Path, body_id: int | None, database_url: str | None) -> None:
    """Make FILE (CSV or XLSX; columns 座位号, 姓名, optional 代表团/组别) the body's roster.

    All or nothing: if any row is bad, every bad row is listed and nothing is imported.
    """
    from voting_server.roster import RosterRejected, apply_roster, read_roster

    try:
        parsed = read_roster(file)
    except OSError as exc:
        raise click.ClickException(f"无法读取文件 cannot read {file}: {exc.strerror}") from None
    with _engine(database_url) as engine:
        if current_revision(engine) != head_revision():
            raise click.ClickException(
                "数据库未初始化或版本过旧 database not initialised or out of date: "
                "run `voting-server init-db` first"
            )
        with make_session_factory(engine).begin() as session:
            body = _body(session, body_id)
            try:
                changes = apply_roster(session, body, parsed)
            except RosterRejected as exc:
                for error in exc.errors:
                    click.echo(str(error), err=True)
                click.echo(
                    f"名册有{len(exc.errors)}处错误，未导入任何数据 / "
                    f"{len(exc.errors)} error(s): nothing was imported",
                    err=True,
                )
                raise SystemExit(1) from None
            body_name, body_id = body.name, body.id  # read before commit expires them
        click.echo(
            f"名册已导入 roster imported into {body_name} (id {body_id}): "
            f"在册 active {changes.active}, 应到 deputies {changes.deputies}; "
            f"新增 created {changes.created}, "
            f"更新 updated {changes.updated}, 未变 unchanged {changes.unchanged}, "
            f"停用 deactivated {changes.deactivated}"
        )


def _body(session: Session, body_id: int | None) -> Body:
    if body_id is not None:
        body = session.get(Body, body_id)
        if body is None:
            raise click.ClickException(f"没有编号为{body_id}的机构 / no body with id {body_id}")
        return body
    bodies = session.scalars(select(Body).order_by(Body.id).limit(2)).all()
    if not bodies:
        raise click.ClickException(
            "数据库中没有机构 / no body in the database (try `voting-server demo`)"
        )
    if len(bodies) > 1:
        raise click.ClickException(
            "有多个机构，请用 --body 指定 / several bodies: choose one with --body ID"
        )
    return bodies[0]


@click.command("demo")
@database_url_option
def demo_command(database_url: str | None) -> None:
    """Migrate the database and load the demo county (idempotent): the county congress
    session, its standing committee's sitting and a township congress, with staff."""
    from voting_server.demo.county import load_county

    with _engine(database_url) as engine:
        _migrate(engine)
        with make_session_factory(engine).begin() as session:
            bodies = load_county(session)
            for body in bodies:
                _describe_demo_body(session, body)
            _demo_credentials(session, bodies)
    click.echo("  各机构的控制台、大屏与终端地址见 voting-server run 的输出 URLs: see `run`")


def _describe_demo_body(session: Session, body: Body) -> None:
    members = session.scalars(select(Member).where(Member.body_id == body.id, Member.active)).all()
    deputies = sum(1 for m in members if m.role is MemberRole.DEPUTY)
    attendees = len(members) - deputies
    groups = {m.group_name for m in members if m.group_name and m.role is MemberRole.DEPUTY}
    presidium = sum(1 for m in members if m.presidium is not PresidiumSeat.NONE)
    parts = [f"{deputies} 名代表/组成人员 members"]
    if groups:
        parts.append(f"{len(groups)} 个代表团 delegations")
    if presidium:
        parts.append(f"主席团 presidium {presidium}")
    if attendees:
        parts.append(f"{attendees} 名列席 attendees")
    click.echo(f"示例数据已就绪 demo ready: {body.name} (id {body.id}), " + ", ".join(parts))
    for sitting in session.scalars(select(Sitting).where(Sitting.body_id == body.id)):
        click.echo(f"  {sitting.title}")
        for item in sitting.agenda_items:
            kinds = ", ".join(v.kind for v in item.votes)
            click.echo(f"    {item.position}. {item.title}" + (f" [{kinds}]" if kinds else ""))


def _demo_credentials(session: Session, bodies: list[Body]) -> None:
    """Create the demo's staff accounts and PINs once; keep them in a 0600 file.

    A demo has to be tried without reading code, so its passwords are kept
    in the instance dir (never in the log or the database, which hold hashes).
    A real body creates accounts with `staff create` and prints PIN slips with
    `issue-pins` instead.
    """
    from voting_server.cli.staff import server_log
    from voting_server.db import instance_dir
    from voting_server.demo.county import create_county_staff
    from voting_server.services import devices

    path = instance_dir() / "demo-credentials.txt"
    created = create_county_staff(session, server_log())
    if created:
        lines = ["# 演示账号与代表 PIN — demo accounts and deputies' PINs (keep private)", ""]
        lines += [
            f"{role.value:12} {username:18} {password}"
            for username, (role, password) in created.items()
        ]
        for body in bodies:
            pins = devices.issue_pins(session, body.id)
            lines += ["", f"# {body.name} (id {body.id}): seat  PIN"]
            lines += [f"{seat:4}  {pin}" for seat, pin in pins.items()]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file of wider mode is narrowed too
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    if path.exists():
        click.echo(f"演示账号、密码与代表 PIN demo accounts, passwords and PINs: {path}")


def register(group: click.Group) -> None:
    """Add this module's commands to the ``voting-server`` group."""
    for command in (init_db_command, import_roster_command, demo_command):
        group.add_command(command)
