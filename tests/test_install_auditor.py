"""The auditor's tool installs alone (auditor/, congress-voting-audit).

A scrutineer or anyone of the public installs, into a fresh virtual environment, what
auditor/requirements.lock pins (with hashes) and then auditor/ itself, as README.md says,
and verifies a bundle: no Flask, gevent, SQLAlchemy or psycopg is installed or needed.
The source keeps the repository's layout (auditor/audit etc. are links to the packages),
copied without build output; every command runs outside the checkout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.install import REPO, imported_modules, pins, run

AUDITOR = REPO / "auditor"
AUDITOR_LOCK = AUDITOR / "requirements.lock"
AUDITOR_PROJECT = tomllib.loads((AUDITOR / "pyproject.toml").read_text())["project"]
PACKAGES = ("audit", "crypto", "rules")
GOLDEN = REPO / "tests" / "testdata" / "bundles"
EXPORT_REFUSED = (
    "voting-audit: export runs on the server; install congress-voting "
    "(this installation only checks bundles)"
)
SERVER_MODULES = ("flask", "flask_socketio", "gevent", "sqlalchemy", "psycopg", "voting_server")


def hashes(lock: Path) -> dict[str, set[str]]:
    """name → the sha256 hashes a lock file allows for it."""
    found: dict[str, set[str]] = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        first = block.split(" ", 1)[0]
        if "==" in first and not first.startswith("#"):
            name = canonicalize_name(first.split("==")[0])
            found[name] = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return found


def test_the_auditor_packages_are_links_to_the_repositorys() -> None:
    for package in PACKAGES:
        link = AUDITOR / package
        assert link.is_symlink() and link.resolve() == REPO / package, package


def test_the_auditor_lock_pins_what_the_server_lock_pins() -> None:
    # One set of versions for the whole project: the auditor's lock is a subset of the main one.
    ours, main = pins(AUDITOR_LOCK), pins(REPO / "requirements.lock")
    assert ours and {n: v for n, (v, _) in ours.items()} == {n: main[n][0] for n in ours}
    assert {n: h for n, h in hashes(AUDITOR_LOCK).items()} == {
        n: hashes(REPO / "requirements.lock")[n] for n in ours
    }
    for line in AUDITOR_PROJECT["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in ours, f"{name} is not in auditor/requirements.lock"
        assert requirement.specifier.contains(ours[name][0])
    assert not {"flask", "gevent", "sqlalchemy", "psycopg"} & set(ours)


def test_the_auditor_packages_import_only_its_declared_dependencies() -> None:
    declared = {canonicalize_name(Requirement(r).name) for r in AUDITOR_PROJECT["dependencies"]}
    imported = set().union(*(imported_modules(REPO / package) for package in PACKAGES))
    third_party = imported - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}
    # Nothing of the server, not even inside a function: export is voting_server/audit_cli.py's.
    assert third_party == declared


def test_the_auditors_own_command_says_where_export_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from audit.cli import main; main()", "export", "--out", "b"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"{EXPORT_REFUSED}\n"
    assert not (tmp_path / "b").exists()


def copy_source(to: Path) -> Path:
    """auditor/ with its links, beside copies of the packages they point to."""
    to.mkdir()
    auditor = to / "auditor"
    shutil.copytree(
        AUDITOR, auditor, symlinks=True, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    for package in PACKAGES:
        shutil.copytree(REPO / package, to / package, ignore=shutil.ignore_patterns("__pycache__"))
    return auditor


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_auditor_installs_alone_and_verifies_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "instance").mkdir()  # clean_env's VOTING_INSTANCE_DIR; nothing may use it
    source = copy_source(tmp_path / "source")
    root = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    made = run([base, "-m", "venv", str(root)], tmp_path)
    assert made.returncode == 0, made.stderr
    python, voting_audit = str(root / "bin" / "python"), str(root / "bin" / "voting-audit")
    pinned = run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--require-hashes",
            "-r",
            str(source / "requirements.lock"),
        ],
        tmp_path,
    )
    assert pinned.returncode == 0, pinned.stderr[-3000:]
    package = run([python, "-m", "pip", "install", "--no-deps", str(source)], tmp_path)
    assert package.returncode == 0, package.stderr[-3000:]
    assert "Successfully installed congress-voting-audit" in package.stdout
    assert run([python, "-m", "pip", "check"], tmp_path).returncode == 0

    where = run([python, "-c", "import audit.cli; print(audit.cli.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(root), where  # the installed copy
    for module in SERVER_MODULES:
        absent = run([python, "-c", f"import {module}"], tmp_path)
        assert absent.returncode != 0, f"{module} is installed beside the auditor's tool"
    listed = run([python, "-m", "pip", "list", "--format", "json"], tmp_path)
    installed = {canonicalize_name(d["name"]) for d in json.loads(listed.stdout)}
    wanted = set(pins(source / "requirements.lock")) | {"congress-voting-audit"}
    assert installed - {"pip", "setuptools"} == wanted

    good = run([voting_audit, "verify", str(GOLDEN / "good")], tmp_path)
    assert good.returncode == 0, good.stderr
    entries = json.loads((GOLDEN / "expected.json").read_text())["good"]["entries"]
    assert good.stdout.splitlines()[0] == f"OK: all {entries} entries verified"
    forged = run([voting_audit, "verify", str(GOLDEN / "result_not_the_tally")], tmp_path)
    assert forged.returncode == 1 and "differs from the recount" in forged.stdout
    proof = run([voting_audit, "prove", str(GOLDEN / "good"), "--entry", "3"], tmp_path)
    assert proof.returncode == 0, proof.stderr
    (tmp_path / "proof.json").write_text(proof.stdout)
    checked = run([voting_audit, "check-proof", str(tmp_path / "proof.json")], tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith("OK: "), checked

    export = run([voting_audit, "export", "--out", str(tmp_path / "out")], tmp_path)
    assert export.returncode == 2
    assert export.stderr == f"{EXPORT_REFUSED}\n"
    assert not (tmp_path / "out").exists()
