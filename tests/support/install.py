"""Helpers of the install tests (tests/test_install.py, tests/test_install_auditor.py):
the repository, a clean operator's environment, the lock files' pins, and the modules a
package's code imports."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def clean_env(tmp: Path) -> dict[str, str]:
    """The operator's environment: no path into the checkout or the dev venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(VOTING_INSTANCE_DIR=str(tmp / "instance"), TMPDIR=str(tmp))
    return env


def run(argv: list[str], tmp: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=tmp, env=clean_env(tmp), capture_output=True, text=True, timeout=timeout
    )


def pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """name → (pinned version, number of hashes) of a pip-compile lock file."""
    found: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        first = block.split(" ", 1)[0]
        if "==" in first and not first.startswith("#"):
            name, version = first.split("==")
            found[canonicalize_name(name)] = (Version(version), block.count("--hash=sha256:"))
    return found


def imported_modules(package: Path) -> set[str]:
    """The top-level modules that the package's code imports (absolute imports only)."""
    found: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found
