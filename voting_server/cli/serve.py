"""``voting-server run``: serve the hall with gunicorn's gevent worker."""

from __future__ import annotations

import os
import sys

import click

from voting_server.settings import CONFIG_DIR, tls_dir


@click.command("run")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 to serve the hall LAN's tablets.",
)
@click.option("--port", default=5080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--database-url",
    envvar="VOTING_DATABASE_URL",
    help="SQLAlchemy URL; default: the embedded SQLite file.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gevent workers; more than 1 needs the Redis queue and sticky sessions.",
)
@click.option(
    "--tls/--no-tls",
    default=None,
    help="Serve HTTPS with the certificate of `voting-server tls init` (default: when it "
    "exists); --no-tls serves plain HTTP, e.g. on localhost for tests.",
)
def run_command(
    host: str, port: int, database_url: str | None, workers: int, tls: bool | None
) -> None:
    """Migrate the database to the current schema, then serve the app."""
    from crypto.tls import TlsPaths
    from voting_server.db import commit_durability_problems, default_database_url, upgrade

    paths = TlsPaths(tls_dir())
    if tls and not paths.ready():
        raise click.ClickException(
            f"没有服务器证书 no server certificate in {paths.directory}: "
            "run `voting-server tls init --hosts ADDRESS` first"
        )
    serve_tls = paths.ready() if tls is None else tls

    # Every file the server writes (the database, its WAL, logs) is its own alone.
    os.umask(0o077)
    url = database_url or default_database_url()
    try:
        upgrade(url)
        sweep_vote_keys(url)
        unsafe = commit_durability_problems(url)
    except Exception as exc:  # report any database failure in one line, then stop
        raise click.ClickException(
            f"数据库不可用 database unavailable: {exc.__class__.__name__}: {exc}"
        ) from None
    if unsafe:  # an acknowledged ballot could be lost in a crash of the database server
        raise click.ClickException(
            "数据库提交不持久 the database may lose committed ballots in a crash: "
            + "; ".join(unsafe)
            + " (docs/deployment.md)"
        )
    shown = "localhost" if host in {"0.0.0.0", "127.0.0.1"} else host
    base = f"{'https' if serve_tls else 'http'}://{shown}:{port}"
    click.echo(f"电子表决系统 serving on {base}")
    bodies = list_bodies(url)
    if len(bodies) > 1:  # each body's own screens (docs/bodies.md: the body in every URL)
        for heading, urls in body_urls(bodies):
            click.echo(f"  {heading}")
            for label, path in urls:
                click.echo(f"    {label}: {base}{path}")
        for label, path in operator_urls()[3:]:
            click.echo(f"  {label}: {base}{path}")
    else:
        for label, path in operator_urls():
            click.echo(f"  {label}: {base}{path}")
    env = dict(
        os.environ,
        VOTING_DATABASE_URL=url,
        VOTING_BIND=f"{host}:{port}",
        VOTING_WORKERS=str(workers),
    )
    env.setdefault("VOTING_ASYNC_MODE", "gevent")
    for name in ("VOTING_TLS_CERT", "VOTING_TLS_KEY"):
        env.pop(name, None)
    if serve_tls:
        env.update(VOTING_TLS_CERT=str(paths.server_cert), VOTING_TLS_KEY=str(paths.server_key))
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(CONFIG_DIR / "gunicorn.conf.py"),
        "voting_server.wsgi:app",
    ]
    os.execvpe(argv[0], argv, env)  # gunicorn takes over the process and its signals


def sweep_vote_keys(url: str) -> list[int]:
    """Before serving: destroy the key files of secret votes that closed while the
    server went down before deleting them (services/voting.py, ``sweep_keys``)."""
    from voting_server.db import instance_dir, make_engine, make_session_factory
    from voting_server.services.voting import Voting, key_dir_of

    key_dir = key_dir_of(instance_dir())
    if not key_dir.is_dir():
        return []
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return Voting(key_dir).sweep_keys(session)
    finally:
        engine.dispose()


def list_bodies(url: str) -> list[tuple[int, str]]:
    """(id, name) of every body in the database, in order of id."""
    from sqlalchemy import select

    from voting_server.db import make_engine, make_session_factory
    from voting_server.models import Body

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return [
                (b.id, b.name)
                for b in session.execute(select(Body.id, Body.name).order_by(Body.id))
            ]
    finally:
        engine.dispose()


def body_urls(bodies: list[tuple[int, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per body: its console, its hall display and where its tablets get their enrollment
    codes (a tablet enrolls at /kiosk; the code binds it to the body)."""
    return [
        (
            f"{name} (id {body_id})",
            [
                ("主席团控制台 presidium console", f"/console?body={body_id}"),
                ("会场大屏 hall display", f"/display?body={body_id}"),
                ("终端登记码 enrollment codes (secretariat)", f"/admin/devices?body={body_id}"),
                ("代表终端登记 kiosk enrollment", "/kiosk"),
            ],
        )
        for body_id, name in bodies
    ]


def operator_urls() -> list[tuple[str, str]]:
    """The pages an operator opens first: the live screens, then the overview."""
    return [
        ("主席团控制台 presidium console", "/console"),
        ("会场大屏 hall display", "/display"),
        ("代表终端登记 kiosk enrollment", "/kiosk"),
        ("会议概览 sitting overview", "/"),
        ("健康检查 health", "/healthz"),
    ]
