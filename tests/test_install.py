"""A production install: the package without its dev extra, from the pinned lock, serves a sitting.

An operator installs into a fresh virtual environment what ``requirements.lock`` pins (with
hashes) and then the package itself without dependencies, as docs/deployment.md says, and
runs ``voting-server simulate``: the production server (gunicorn's gevent worker) on a local
port, 30 kiosks over real sockets. Nothing of the checkout or of the dev venv may leak in:
the venv is built from a copy of the source, and every command runs outside the checkout.
The lock files themselves must still say what pyproject.toml asks for, and pyproject.toml
must declare every package the code imports.
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.install import REPO, imported_modules, pins, run

LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def copy_source(to: Path) -> Path:
    """What a build reads — pyproject.toml, the readme and the packages — without the
    checkout's build output, caches or venvs (a stale build/ would end up in the wheel)."""
    to.mkdir()
    for name in ("pyproject.toml", PYPROJECT["project"]["readme"]):
        shutil.copy(REPO / name, to / name)
    for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        shutil.copytree(REPO / package, to / package, ignore=shutil.ignore_patterns("__pycache__"))
    return to


class Venv:
    def __init__(self, root: Path, package_install_log: str) -> None:
        self.root = root
        self.python = str(root / "bin" / "python")
        self.package_install_log = package_install_log

    def imports(self, module: str, tmp: Path) -> bool:
        return run([self.python, "-c", f"import {module}"], tmp).returncode == 0


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[Venv, Path]:
    tmp = tmp_path_factory.mktemp("production")
    (tmp / "instance").mkdir()
    source = copy_source(tmp / "source")
    root = tmp / "venv"
    # The interpreter the dev venv was made from, so a venv is not nested in a venv.
    base = getattr(sys, "_base_executable", sys.executable)
    made = run([base, "-m", "venv", str(root)], tmp)
    assert made.returncode == 0, made.stderr
    python = str(root / "bin" / "python")
    pinned = run([python, "-m", "pip", "install", "--require-hashes", "-r", str(LOCK)], tmp)
    assert pinned.returncode == 0, pinned.stderr[-3000:]
    # -v: setuptools' warnings while building show up (and must not be deprecations).
    package = run([python, "-m", "pip", "install", "-v", "--no-deps", str(source)], tmp)
    assert package.returncode == 0, package.stderr[-3000:]
    return Venv(root, package.stdout + package.stderr), tmp


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_sitting_runs_on_an_install_without_dev_extras(production: tuple[Venv, Path]) -> None:
    venv, tmp = production
    where = run([venv.python, "-c", "import voting_server; print(voting_server.__file__)"], tmp)
    assert Path(where.stdout.strip()).is_relative_to(venv.root), where  # the installed copy
    out = tmp / "bundle"
    done = run(
        [str(venv.root / "bin" / "voting-server"), "simulate", "--members", "30",
         "--seed", "14", "--out", str(out)],
        tmp,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [v["kind"] for v in report["votes"]] == ["motion", "selection", "evaluation"]
    for vote in report["votes"]:
        assert vote["match"] is True and vote["result"] == vote["expected"]
        assert vote["result"]["present"] == 30
    assert report["verified"] is True and report["errors"] == []
    assert (out / "log.jsonl").is_file()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_install_has_the_server_and_not_the_dev_tools(production: tuple[Venv, Path]) -> None:
    venv, tmp = production
    # gunicorn's gevent worker is what `voting-server run` loads (it needs packaging).
    for module in ("flask", "flask_socketio", "gunicorn.workers.ggevent", "psycopg", "redis"):
        assert venv.imports(module, tmp), module
    for module in ("pytest", "hypothesis", "ruff", "playwright", "aiohttp"):
        assert not venv.imports(module, tmp), f"{module} is a dev dependency"
    checked = run([venv.python, "-m", "pip", "check"], tmp)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_building_the_package_warns_of_no_deprecation(production: tuple[Venv, Path]) -> None:
    venv, _ = production
    assert "Successfully installed congress-voting" in venv.package_install_log
    assert "DeprecationWarning" not in venv.package_install_log


def test_the_lock_files_pin_what_pyproject_asks_for() -> None:
    project = PYPROJECT["project"]
    runtime, dev = pins(LOCK), pins(DEV_LOCK)
    wanted = [(runtime, r) for r in project["dependencies"]]
    wanted += [(dev, r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    for lock, line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{name} is not in the lock: run `make lock`"
        assert requirement.specifier.contains(lock[name][0], prereleases=True), (
            f"{line}: the lock pins {lock[name][0]}: run `make lock`"
        )
    assert "packaging" in runtime  # gunicorn[gevent]'s extra, kept by the lock
    assert all(hashes > 0 for _, hashes in [*runtime.values(), *dev.values()])
    # The dev venv runs the very versions a production install gets.
    assert {name: dev[name][0] for name in runtime} == {n: v for n, (v, _) in runtime.items()}


@pytest.mark.slow
def test_every_package_the_code_imports_is_a_declared_dependency() -> None:
    # A package that only comes along with another one may leave with its next release.
    ours = [
        pattern.rstrip("*")
        for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    declared = {
        canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]
    }
    providers = packages_distributions()
    imported = set().union(*(imported_modules(REPO / package) for package in ours))
    third_party = imported - set(sys.stdlib_module_names) - set(ours) - {"__future__"}
    undeclared = {
        module: providers.get(module)
        for module in sorted(third_party)
        if not declared & {canonicalize_name(d) for d in providers.get(module, [])}
    }
    assert undeclared == {}
