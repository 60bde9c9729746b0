"""``voting-server stack``: the scale-out stack on one machine (docs/deployment.md).

N processes of ``voting-server run`` (gunicorn, one gevent worker each) on
free local ports, sharing one PostgreSQL database, one instance dir (the
server's signing key, the session key, secret votes' keys) and one Redis
channel for Socket.IO broadcasts; nginx in front of them with sticky
sessions, run unprivileged as a child with a config generated from
``config/nginx.conf.template``. ``running_stack`` is the one place that
starts it: the command, the tests and the benchmark use it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

from voting_server.cli.processes import (
    free_port,
    run_argv,
    server_env,
    start,
    stop_all,
    wait_healthy,
)
from voting_server.settings import CONFIG_DIR

NGINX_TEMPLATE = CONFIG_DIR / "nginx.conf.template"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/voting"
DEFAULT_MESSAGE_QUEUE = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Stack:
    url: str  # through nginx: what tablets and browsers open
    backends: list[str]  # each server process directly (tests, diagnosis)
    workdir: Path  # logs and nginx's generated config
    processes: list[subprocess.Popen[bytes]]  # the servers, then nginx


def find_nginx() -> str | None:
    """$VOTING_NGINX, else ``nginx`` on PATH, else Debian's /usr/sbin/nginx."""
    if configured := os.environ.get("VOTING_NGINX"):
        return configured
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


def nginx_config(template: str, prefix: Path, listen: str, ports: list[int]) -> str:
    """The template's fields filled in: every path under ``prefix``, one upstream server
    per local port. (``@`` fields, not ``$``: nginx's own variables start with ``$``.)"""
    servers = "\n".join(f"        server 127.0.0.1:{port};" for port in ports)
    return (
        template.replace("@PREFIX@", str(prefix))
        .replace("@LISTEN@", listen)
        .replace("@SERVERS@", servers)
    )


def ensure_database(database_url: str) -> bool:
    """Create the PostgreSQL database of ``database_url`` if it is missing; True if created.
    (It connects to the server's ``postgres`` database to do so.)"""
    import sqlalchemy as sa

    from voting_server.db import normalize_url

    url = normalize_url(database_url)
    if url.get_backend_name() != "postgresql":
        return False  # nothing to create; running_stack refuses anything but PostgreSQL
    name = url.database
    if not name:
        raise click.ClickException(f"数据库地址无数据库名 no database name in {database_url!r}")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if exists:
                return False
            quoted = admin.dialect.identifier_preparer.quote(name)
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def _check_services(database_url: str, message_queue: str) -> None:
    """One readable line for what is missing, before any process is started."""
    import redis

    from voting_server.db import normalize_url, upgrade

    if normalize_url(database_url).get_backend_name() != "postgresql":
        raise click.ClickException(
            "多进程需要 PostgreSQL: several processes share one database; "
            "give a postgresql:// --database-url"
        )
    try:
        redis.Redis.from_url(message_queue, socket_timeout=3).ping()
    except Exception as exc:  # any failure to reach the queue stops the start here
        raise click.ClickException(
            f"消息队列不可用 message queue unavailable at {message_queue}: "
            f"{exc.__class__.__name__}: {exc}"
        ) from None
    try:
        upgrade(database_url)  # once, before the processes: they then find it current
    except Exception as exc:  # report any database failure in one line
        raise click.ClickException(
            f"数据库不可用 database unavailable: {exc.__class__.__name__}: {exc}"
        ) from None


def _prepare_instance(instance: Path) -> None:
    """Create the keys the processes share before they start: each would otherwise
    create its own at the same moment, and all but one would fail or differ."""
    from crypto import ServerKey
    from voting_server.settings import secret_key

    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_key(instance)
    ServerKey.load_or_create(instance / "server_ed25519.pem")
    (instance / "vote-keys").mkdir(mode=0o700, exist_ok=True)


def _distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


@contextmanager
def running_stack(
    database_url: str,
    *,
    instance: Path,
    workdir: Path,
    processes: int = 2,
    host: str = "127.0.0.1",
    port: int | None = None,
    message_queue: str = DEFAULT_MESSAGE_QUEUE,
    env: dict[str, str] | None = None,
    progress: Callable[[str], None] = lambda _message: None,
) -> Iterator[Stack]:
    """The whole stack until the block ends; yields it once nginx answers ``/healthz``.

    ``env`` adds to the server processes' environment (e.g. log levels).
    """
    nginx = find_nginx()
    if nginx is None:
        raise click.ClickException(
            "找不到 nginx: install it (apt-get install nginx) or set VOTING_NGINX"
        )
    _check_services(database_url, message_queue)
    _prepare_instance(instance)
    workdir.mkdir(parents=True, exist_ok=True)
    ports = _distinct_free_ports(processes)
    listen_port = port or free_port()
    prefix = workdir / "nginx"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    listen = f"{host}:{listen_port}"
    conf.write_text(nginx_config(NGINX_TEMPLATE.read_text(), prefix, listen, ports))
    extra = {"VOTING_MESSAGE_QUEUE": message_queue, "VOTING_PROXY_HOPS": "1",
             "VOTING_PROCESSES": str(processes), **(env or {})}  # fmt: skip
    children: list[subprocess.Popen[bytes]] = []
    try:
        logs = [workdir / f"server-{i + 1}.log" for i in range(processes)]
        for p, log in zip(ports, logs, strict=True):  # all start at once, then are waited for
            children.append(start(run_argv(p), server_env(database_url, instance, extra), log))
        backends = [f"http://127.0.0.1:{p}" for p in ports]
        for base, child, log in zip(backends, children, logs, strict=True):
            wait_healthy(f"{base}/healthz", child, log)
        progress(f"{processes} server process(es) up: {', '.join(backends)}")
        nginx_log = workdir / "nginx.log"
        children.append(
            start(
                [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
                 "-g", "daemon off;"],
                dict(os.environ), nginx_log,
            )
        )  # fmt: skip
        reach = "127.0.0.1" if host in {"0.0.0.0", "127.0.0.1"} else host
        url = f"http://{reach}:{listen_port}"
        wait_healthy(f"{url}/healthz", children[-1], nginx_log)
        yield Stack(url=url, backends=backends, workdir=workdir, processes=list(children))
    finally:
        stop_all(children[processes:])  # nginx first: no new requests reach a stopping server
        stop_all(children[:processes])  # then the servers, all at once


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("stack")
@click.option("--processes", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (one gevent worker each).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="nginx's address; 0.0.0.0 for the hall LAN (with TLS in front).")  # fmt: skip
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="nginx's port.")  # fmt: skip
@click.option("--database-url", envvar="VOTING_DATABASE_URL", default=DEFAULT_DATABASE_URL,
              show_default=True, help="PostgreSQL URL shared by every process.")  # fmt: skip
@click.option("--message-queue", envvar="VOTING_MESSAGE_QUEUE", default=DEFAULT_MESSAGE_QUEUE,
              show_default=True, help="Redis URL for Socket.IO's message queue.")  # fmt: skip
@click.option("--create-database", is_flag=True,
              help="Create the PostgreSQL database if it does not exist.")  # fmt: skip
def stack_command(
    processes: int,
    host: str,
    port: int,
    database_url: str,
    message_queue: str,
    create_database: bool,
) -> None:
    """Start the scale-out stack: migrate the database, start N server processes and
    nginx in front of them, print the URL; Ctrl-C or SIGTERM stops everything."""
    from voting_server.cli.serve import operator_urls
    from voting_server.db import instance_dir

    def say(message: str) -> None:
        click.echo(f"[stack] {message}", err=True)

    if create_database:
        try:
            if ensure_database(database_url):
                say(f"created database {database_url.rsplit('/', 1)[-1]}")
        except click.ClickException:
            raise
        except Exception as exc:  # report any database failure in one line
            raise click.ClickException(
                f"数据库不可用 database unavailable: {exc.__class__.__name__}: {exc}"
            ) from None
    instance = instance_dir()
    workdir = instance / "stack"
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with running_stack(
            database_url, instance=instance, workdir=workdir, processes=processes, host=host,
            port=port, message_queue=message_queue, progress=say,
        ) as stack:  # fmt: skip
            click.echo(f"电子表决系统 scale-out stack on {stack.url} ({processes} processes)")
            for label, path in operator_urls():
                click.echo(f"  {label}: {stack.url}{path}")
            click.echo(f"  logs: {workdir}; Ctrl-C stops everything", err=True)
            while all(p.poll() is None for p in stack.processes):
                time.sleep(0.5)
            names = [f"server {i + 1}" for i in range(processes)] + ["nginx"]
            dead = [
                (n, p) for n, p in zip(names, stack.processes, strict=True) if p.poll() is not None
            ]
            raise click.ClickException(
                f"{dead[0][0]} exited with {dead[0][1].returncode}; stopped the rest "
                f"(logs in {workdir})"
            )
    except KeyboardInterrupt:
        say("stopped")
