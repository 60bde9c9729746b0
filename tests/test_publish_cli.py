"""``voting-server publish --out DIR`` (CONTRACTS.md §6, docs/public.md): the public
results as static files — announced votes only, relative links that resolve in the
folder, proofs that ``voting-audit check-proof`` accepts; atomic; exit 1 when a proof
does not verify (nothing published), 2 on bad arguments."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import make_live_app
from tests.support.public import PublicHall, public_hall
from voting_server.demo.city import MEMBER_NAMES
from voting_server.extensions import sessions
from voting_server.models import Vote
from voting_server.views.public import file_names

# each test runs `voting-server publish` as a subprocess, as a body's staff would: seconds
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HIDDEN = ("closed", "cancelled", "draft", "open")


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, PublicHall, str]]:
    """An instance folder (the database and the server's key, as ``run`` leaves them)
    with a vote in every state; and the title of the closed, unannounced vote."""
    folder = tmp_path_factory.mktemp("publish") / "instance"
    folder.mkdir(mode=0o700)
    app = make_live_app(f"sqlite:///{folder / 'voting.sqlite3'}", folder)
    hall = public_hall(app)
    with app.app_context(), sessions()() as s:
        vote = s.get(Vote, hall.votes["closed"])
        assert vote is not None
        title = vote.title
    app.extensions["voting.engine"].dispose()
    yield folder, hall, title


def publish(*args: str, instance: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOTING_")}
    if instance is not None:
        env["VOTING_INSTANCE_DIR"] = str(instance)
    return subprocess.run(
        [str(BIN / "voting-server"), "publish", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def summary_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # one JSON object on stdout
    return json.loads(lines[0])


def every_file(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_publish_writes_the_announced_votes_and_nothing_else(
    instance: tuple[Path, PublicHall, str], tmp_path: Path
) -> None:
    folder, hall, closed_title = instance
    site = tmp_path / "site"
    done = publish("--out", str(site), instance=folder)
    assert done.returncode == 0, done.stderr
    summary = summary_of(done)
    assert summary | {"out": ""} == {
        "ok": True, "out": "", "lang": "zh_CN", "bodies": 1, "votes": 2, "pages": 5,
        "heads": 2, "files": 22, "problems": [],
    }  # fmt: skip
    # index, the body, its 督办事项 and the two announced votes
    assert (site / f"bodies/{hall.body}/items/index.html").is_file()
    assert summary["out"] == str(site)
    assert "announced votes" in done.stderr  # progress on stderr
    files = every_file(site)
    assert len(files) == summary["files"]
    for state in ("named", "secret"):
        vote = hall.votes[state]
        assert f"votes/{vote}/index.html" in files
        assert {f"votes/{vote}/{n}" for n in file_names()} <= set(files)
    everything = b"\n".join(files.values())
    for state in HIDDEN:
        assert not (site / "votes" / str(hall.votes[state])).exists()
        assert f"votes/{hall.votes[state]}/".encode() not in everything
    assert closed_title.encode() not in everything
    secret = b"".join(v for k, v in files.items() if k.startswith(f"votes/{hall.votes['secret']}/"))
    assert [n for n in MEMBER_NAMES if n.encode() in secret] == []


def test_every_link_of_the_export_resolves_inside_it(
    instance: tuple[Path, PublicHall, str], tmp_path: Path
) -> None:
    folder, _, _ = instance
    site = tmp_path / "site"
    assert publish("--out", str(site), instance=folder).returncode == 0
    pages = list(site.rglob("*.html"))
    assert len(pages) == 5  # index, the body, its 督办事项, two votes
    for page in pages:
        for ref in re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8")):
            if ref.startswith("data:"):
                continue
            assert not ref.startswith(("/", "http:", "https:")), (page, ref)  # relative only
            target = (page.parent / ref.split("#")[0]).resolve()
            assert target.is_file(), (page, ref)
            assert site.resolve() in target.parents


def test_the_exported_proofs_pass_voting_audit_and_a_tampered_one_fails(
    instance: tuple[Path, PublicHall, str], tmp_path: Path
) -> None:
    folder, hall, _ = instance
    site = tmp_path / "site"
    assert publish("--out", str(site), instance=folder).returncode == 0
    proof = site / "votes" / str(hall.votes["named"]) / "result.proof.json"
    check = [str(BIN / "voting-audit"), "check-proof", str(proof)]
    done = subprocess.run(check, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("OK: entry"), done.stderr
    document = json.loads(proof.read_text())
    document["leaf_hash"] = document["leaf_hash"][::-1]  # another entry than the one logged
    proof.write_text(json.dumps(document))
    assert subprocess.run(check, capture_output=True, text=True).returncode == 1


def test_publishing_again_replaces_the_export_and_english_on_request(
    instance: tuple[Path, PublicHall, str], tmp_path: Path
) -> None:
    folder, hall, _ = instance
    site = tmp_path / "site"
    assert publish("--out", str(site), instance=folder).returncode == 0
    (site / "stale.html").write_text("left from before")
    done = publish("--out", str(site), "--lang", "en", instance=folder)
    assert done.returncode == 0, done.stderr
    assert summary_of(done)["lang"] == "en"
    assert not (site / "stale.html").exists()  # the whole folder is the new export
    page = (site / "votes" / str(hall.votes["named"]) / "index.html").read_text(encoding="utf-8")
    assert 'lang="en"' in page and "Roll call" in page
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left


def test_bad_arguments_exit_2_and_touch_nothing(
    instance: tuple[Path, PublicHall, str], tmp_path: Path
) -> None:
    folder, _, _ = instance
    foreign = tmp_path / "website"
    foreign.mkdir()
    (foreign / "index.html").write_text("the body's own site")
    done = publish("--out", str(foreign), instance=folder)
    assert done.returncode == 2 and done.stdout == ""
    assert every_file(foreign) == {"index.html": b"the body's own site"}
    done = publish("--out", str(tmp_path / "x"), "--instance", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "nowhere" in done.stderr
    empty = tmp_path / "empty-instance"
    empty.mkdir()
    assert publish("--out", str(tmp_path / "x"), instance=empty).returncode == 2
    assert publish(instance=folder).returncode == 2  # no --out
    assert not (tmp_path / "x").exists()


def test_a_proof_that_does_not_verify_publishes_nothing(
    instance: tuple[Path, PublicHall, str], tmp_path: Path
) -> None:
    folder, hall, _ = instance
    copy = tmp_path / "instance"
    shutil.copytree(folder, copy)
    site = tmp_path / "site"
    assert publish("--out", str(site), instance=copy).returncode == 0
    before = every_file(site)
    # someone rewrites the announced motion's result in the database's log
    with sqlite3.connect(copy / "voting.sqlite3") as db:
        idx, line = db.execute(
            "SELECT idx, line FROM audit_entries WHERE type = 'result' ORDER BY idx LIMIT 1"
        ).fetchone()
        forged = line.replace('"cast":40', '"cast":39')
        assert forged != line
        db.execute("UPDATE audit_entries SET line = ? WHERE idx = ? AND type = 'result'",
                   (forged, idx))  # fmt: skip
    done = publish("--out", str(site), instance=copy)
    assert done.returncode == 1
    summary = summary_of(done)
    assert summary["ok"] is False
    assert any(p.startswith(f"vote {hall.votes['named']}: ") for p in summary["problems"])
    assert every_file(site) == before  # the earlier export stands, untouched
