"""Audit bundles as an auditor gets them (log.jsonl and keys.json) written from a
``LogBuilder`` log, the ``voting-audit`` console script run on them in a subprocess, and
the ways someone holding the files could tamper with them (``TAMPERINGS``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.logs import LogBuilder

VOTING_AUDIT = Path(sys.executable).with_name("voting-audit")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VOTING_AUDIT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def verify_json(bundle: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = run("verify", str(bundle), "--json", *extra)
    return done.returncode, json.loads(done.stdout)


def kiosks_of(log: LogBuilder) -> dict[str, Any]:
    return {
        f"d{seat}": {
            "seat": seat,
            "algorithm": "ECDSA-P256-SHA256",
            "public_key": key.public.spki_b64,
            "revoked": False,
        }
        for seat, key in log.kiosks.items()
    }


def write_bundle(
    directory: Path, lines: list[bytes], server_b64: str, kiosks: dict[str, Any]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    keys = {"server": {"algorithm": "Ed25519", "public_key": server_b64}, "kiosks": kiosks}
    (directory / "keys.json").write_text(json.dumps(keys))
    return directory


def bundle_of(tmp_path: Path, log: LogBuilder, lines: list[bytes] | None = None) -> Path:
    return write_bundle(
        tmp_path / "bundle",
        log.lines if lines is None else lines,
        log.server.public_b64,
        kiosks_of(log),
    )


def _flip_byte(lines: list[bytes], k: int) -> list[bytes]:
    line = bytearray(lines[k])
    line[len(line) // 2] ^= 0x01
    return [*lines[:k], bytes(line), *lines[k + 1 :]]


TAMPERINGS: dict[str, tuple[Callable[[list[bytes], int], list[bytes]], int]] = {
    # name: (change the lines at k, index of the first failure relative to k)
    "one byte changed": (_flip_byte, 0),
    "entry deleted": (lambda ls, k: ls[:k] + ls[k + 1 :], 0),
    "entry inserted": (lambda ls, k: [*ls[:k], ls[-1], *ls[k:]], 0),
    "entry duplicated": (lambda ls, k: [*ls[: k + 1], ls[k], *ls[k + 1 :]], 1),
    "entries swapped": (lambda ls, k: [*ls[:k], ls[k + 1], ls[k], *ls[k + 2 :]], 0),
    "carriage return added": (lambda ls, k: [*ls[:k], ls[k] + b"\r", *ls[k + 1 :]], 0),
    "blank line inserted": (lambda ls, k: [*ls[:k], b"", *ls[k:]], 0),
}
