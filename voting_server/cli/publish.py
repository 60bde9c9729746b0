"""``voting-server publish --out DIR``: the public results as static files (CONTRACTS.md §6).

The same pages as ``/public/`` (views/public.py) — the bodies, each body's announced
votes, each result with its sheet, roll call and proof — written as plain files
with relative links, the stylesheet and the proof script copied beside them, and
each vote's signed head, proofs and log lines as JSON files. A body puts the folder
on its website; the hall server stays on the hall LAN. Nothing unannounced is in it.

- The instance is ``--instance`` or ``$VOTING_INSTANCE_DIR`` (default: the server's,
  ``instance/``); the database ``--database-url`` or ``$VOTING_DATABASE_URL``, else
  the instance's SQLite file. Nothing is written there.
- Atomic: everything goes to a new folder beside DIR, then one rename puts it in
  place (a previous export in DIR — it has ``publish.json`` — is replaced); on any
  error DIR is left as it was.
- Every proof is checked before anything is written (the head's signature and each
  inclusion proof): if one fails, nothing is published and the exit status is 1.
- Progress on stderr; one JSON object on stdout: ``{"ok", "out", "lang", "bodies",
  "votes", "pages", "heads", "files", "problems"}``. Exit 0 when published, 1 when a
  proof does not verify, 2 on bad arguments (no such instance or database, DIR not
  an earlier export and not empty).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

EXIT_FAILED = 1
EXIT_USAGE = 2
MARKER = "publish.json"  # what makes a folder an earlier export (replaced without asking)
STATIC = Path(__file__).resolve().parents[1] / "static"


def _fail_usage(message: str) -> None:
    click.echo(f"voting-server publish: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("publish")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Where the static site goes (created; an earlier export is replaced).",
)
@click.option(
    "--instance",
    type=click.Path(path_type=Path),
    envvar="VOTING_INSTANCE_DIR",
    help="The server's instance directory (default: $VOTING_INSTANCE_DIR).",
)
@click.option(
    "--database-url",
    envvar="VOTING_DATABASE_URL",
    help="SQLAlchemy URL (default: the instance's SQLite file).",
)
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
              help="The pages' language (result sheets stay Chinese).")  # fmt: skip
def publish_command(out: Path, instance: Path | None, database_url: str | None, lang: str) -> None:
    """公开表决结果 Write the public results (announced votes only) as static HTML to DIR."""
    if instance is not None:
        if not instance.is_dir():
            _fail_usage(f"没有实例目录 no such instance directory: {instance}")
        os.environ["VOTING_INSTANCE_DIR"] = str(instance.resolve())
    from voting_server.db import instance_dir

    if database_url is None and not (instance_dir() / "voting.sqlite3").is_file():
        _fail_usage(f"实例中没有数据库 no database in {instance_dir()} (give --database-url)")
    out = out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        _fail_usage(f"{out} 不是空目录，也不是先前的导出 is neither empty nor an earlier export")
    if not out.parent.is_dir():
        _fail_usage(f"没有上级目录 no such directory: {out.parent}")

    summary = _publish(out, database_url, lang)
    click.echo(json.dumps(summary, ensure_ascii=False))
    sys.exit(0 if summary["ok"] else EXIT_FAILED)


def _publish(out: Path, database_url: str | None, lang: str) -> dict[str, Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from voting_server.app import create_app
    from voting_server.extensions import sessions
    from voting_server.settings import Config

    app = create_app(Config(database_url))
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with app.test_request_context(f"/public/?lang={lang}"), sessions()() as session:
            summary = _write_site(session, work, lang)
    except SQLAlchemyError as exc:
        shutil.rmtree(work, ignore_errors=True)
        _fail_usage(f"数据库错误 database error: {exc.__class__.__name__}: {exc}")
        raise  # unreachable: _fail_usage exits
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    summary["out"] = str(out)
    if not summary["ok"]:
        shutil.rmtree(work, ignore_errors=True)
        return summary
    (work / MARKER).write_text(json.dumps(summary, ensure_ascii=False) + "\n", encoding="utf-8")
    work.chmod(0o755)  # mkdtemp makes it 0700: a web server must read it
    _replace(work, out)
    _progress(f"published {summary['pages']} pages to {out}")
    return summary


def _replace(work: Path, out: Path) -> None:
    """Put ``work`` at ``out`` with renames: an earlier export is moved aside first and
    removed only once the new one is in place."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        work.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_site(session: Any, root: Path, lang: str) -> dict[str, Any]:
    from voting_server.services import public
    from voting_server.views import public as pages

    written: list[Path] = []

    def write(path: str, data: str | bytes) -> None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        written.append(target)

    for asset in pages.ASSETS:
        write(f"static/{asset}", (STATIC / asset).read_bytes())
    write("index.html", pages.render_index(session, pages.Site("", static=True)))
    page_count, votes, heads, problems = 1, 0, set(), []
    bodies = public.overview(session)
    for body in bodies:
        path = pages.body_path(body["id"])
        found = pages.render_body(session, body["id"], pages.Site(path, static=True))
        assert found is not None
        write(path + "index.html", found)
        page_count += 1
        items = pages.render_items(session, body["id"], pages.Site(path + "items/", static=True))
        if items is not None:
            write(path + "items/index.html", items)
            page_count += 1
        results = public.body_results(session, body["id"]) or {"sittings": []}
        vote_ids = [v["id"] for s in results["sittings"] for v in s["votes"]]
        _progress(f"{body['name']}: {len(vote_ids)} announced votes")
        for vote_id in vote_ids:
            vote = public.public_vote(session, vote_id)
            assert vote is not None
            evidence = vote["evidence"]
            if evidence is not None:
                problems += [f"vote {vote_id}: {p}" for p in evidence.problems()]
                heads.add((body["id"], evidence.head["size"]))
            vpath = pages.vote_path(vote_id)
            html = pages.render_vote(session, vote_id, pages.Site(vpath, static=True), vote)
            assert html is not None
            write(vpath + "index.html", html)
            for name, data in (pages.vote_files(session, vote_id, vote) or {}).items():
                write(vpath + name, data)
            page_count += 1
            votes += 1
    return {
        "ok": not problems,
        "out": "",
        "lang": lang,
        "bodies": len(bodies),
        "votes": votes,
        "pages": page_count,
        "heads": len(heads),
        "files": len(written) + 1,  # and publish.json
        "problems": problems,
    }
