"""``voting-audit export``: write the audit bundle from the server's database.

Streams the log (``iter_lines`` reads it in batches) straight to disk while
computing the Merkle head, so a log of millions of entries never sits in
memory. Everything is read in one snapshot (a single read transaction;
REPEATABLE READ on PostgreSQL), so ``keys.json`` and the log agree even
while the server keeps writing.

Crash safety: every file is written under a temporary name in DIR, fsynced,
then renamed over the old one. ``head.json`` is removed first and renamed
last, so a bundle that has a ``head.json`` is complete; each file on its own
is always whole.

One body's log per bundle (docs/bodies.md): ``body`` names it (id or name); it
may be left out only when the server holds one body. The bundle holds that body's
log and its tablets' keys, nothing of another body's.

This module needs the database, so it belongs to the server, not to ``audit``
(the auditor's own distribution has no server): the server's ``voting-audit``
(``voting_server/audit_cli.py``) imports it inside its ``export`` command, so
that ``verify`` stays free of SQLAlchemy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from audit.bundle import (
    BUNDLE_FILES,
    HEAD_FILE,
    KEYS_FILE,
    KIOSK_ALGORITHM,
    LOG_FILE,
    SERVER_ALGORITHM,
)
from audit.merkle import MerkleStream
from crypto import CryptoError, ServerKey, b64decode
from voting_server.db import describe_error, make_engine, make_session_factory, normalize_url
from voting_server.models import Body, Device
from voting_server.services.audit_log import iter_lines

TMP_PREFIX = ".export-tmp-"  # temporary files in DIR; left-overs of a crash are removed
_DEVICE_TYPE_MARK = b'"type":"device_'
_WRITE_BUFFER = 1 << 20


class ExportError(Exception):
    """Export refused or failed; the message is one line for the operator."""


class BodyNeeded(ExportError):
    """Several bodies and none named: the operator must choose (``--body``)."""


@dataclass(frozen=True)
class Exported:
    directory: Path
    head: dict[str, Any]  # {size, root}
    warnings: list[str] = field(default_factory=list)


def export_bundle(
    database_url: str,
    out: Path,
    *,
    server_key_file: Path | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 100_000,
    body: str | None = None,
) -> Exported:
    """Write ``log.jsonl``, ``keys.json`` and ``head.json`` of the database's log to ``out``.

    ``server_key_file``: the instance's Ed25519 key (PEM); when it exists, its
    public key must be the one the log started with. ``progress(n)`` is
    called every ``progress_every`` entries. ``body``: the id or name of the body
    whose log to export (BodyNeeded if left out while the server holds several).
    """
    _prepare_directory(out)
    tmp = {name: out / f"{TMP_PREFIX}{name}" for name in BUNDLE_FILES}
    try:
        kiosks, server_key, head, logged = _write_log(
            database_url, tmp[LOG_FILE], progress, progress_every, body
        )
        _check_instance_key(server_key, server_key_file)
        warnings = _compare_devices(kiosks, logged)
        keys = {
            "server": {"algorithm": SERVER_ALGORITHM, "public_key": server_key},
            "kiosks": kiosks,
        }
        _write_json(tmp[KEYS_FILE], keys)
        _write_json(tmp[HEAD_FILE], head)
        # head.json marks a complete bundle: gone first, back last.
        (out / HEAD_FILE).unlink(missing_ok=True)
        _fsync_directory(out)
        for name in (LOG_FILE, KEYS_FILE, HEAD_FILE):
            os.replace(tmp[name], out / name)
        _fsync_directory(out)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return Exported(out, head, warnings)


def _prepare_directory(out: Path) -> None:
    """Create ``out``, or accept it if it holds nothing but a previous bundle."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    names = [entry.name for entry in os.scandir(out)]
    foreign = sorted(n for n in names if n not in BUNDLE_FILES and not n.startswith(TMP_PREFIX))
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise ExportError(
            f"目录非空且不是审计包 {out} is not empty and not an audit bundle ({shown})"
        )
    for name in names:
        if name.startswith(TMP_PREFIX):  # a crashed export's leftovers
            (out / name).unlink()


def _write_log(
    database_url: str,
    path: Path,
    progress: Callable[[int], None] | None,
    progress_every: int,
    body: str | None = None,
) -> tuple[dict[str, Any], str, dict[str, Any], dict[str, dict[str, Any]]]:
    """Stream the log to ``path``; return kiosks (table), server key, head, logged devices."""
    options: dict[str, Any] = {}
    if normalize_url(database_url).get_backend_name() == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"  # one snapshot for devices and log
    engine = make_engine(database_url, **options)
    stream = MerkleStream()
    server_key: str | None = None
    logged: dict[str, dict[str, Any]] = {}  # device → {seat, public_key, revoked} per the log
    try:
        with make_session_factory(engine)() as session, session.begin():
            body_id = _choose_body(session, body)
            kiosks = {
                d.id: {
                    "seat": d.seat,
                    "algorithm": KIOSK_ALGORITHM,
                    "public_key": d.public_key,
                    "revoked": d.revoked_at is not None,
                }
                for d in session.scalars(
                    select(Device).where(Device.body_id == body_id).order_by(Device.id)
                )
            }
            with path.open("wb", buffering=_WRITE_BUFFER) as f:
                for line in iter_lines(session, body_id):
                    if b"\n" in line:  # would split one entry into two lines
                        raise ExportError(f"entry {stream.size} contains a newline; not exported")
                    if stream.size == 0:
                        server_key = _announced_server_key(line)
                    if _DEVICE_TYPE_MARK in line:
                        _note_device(logged, line)
                    f.write(line)
                    f.write(b"\n")
                    stream.add(line)
                    if progress is not None and stream.size % progress_every == 0:
                        progress(stream.size)
                f.flush()
                os.fsync(f.fileno())
    except DBAPIError as exc:
        raise ExportError(f"数据库错误 database error: {describe_error(exc)}") from None
    finally:
        engine.dispose()
    if server_key is None:
        raise ExportError("审计日志为空 the audit log is empty: nothing to export")
    return kiosks, server_key, stream.head(), logged


def _choose_body(session: Session, wanted: str | None) -> int:
    """The id of the body ``wanted`` names (its id or its name); the only body if None."""
    bodies = list(session.execute(select(Body.id, Body.name).order_by(Body.id)))
    listing = "; ".join(f"{b.id} {b.name}" for b in bodies)
    if wanted is None:
        if len(bodies) == 1:
            return int(bodies[0].id)
        if not bodies:
            raise ExportError(
                "数据库中没有机构 the database holds no body: the audit log is empty, nothing to export"
            )
        raise BodyNeeded(f"须用 --body 指定机构 several bodies, choose one with --body: {listing}")
    for b in bodies:
        if wanted.strip() in (str(b.id), b.name):
            return int(b.id)
    raise BodyNeeded(f"没有该机构 no body {wanted!r}; the bodies are: {listing}")


def _announced_server_key(line: bytes) -> str:
    """The server key entry 0 (``log_started``) announces, base64 of 32 raw bytes."""
    try:
        entry = json.loads(line)
        key = entry["data"]["server_key"] if entry["type"] == "log_started" else None
        if not isinstance(key, str) or len(b64decode(key)) != 32:
            key = None
    except (ValueError, KeyError, TypeError, CryptoError):
        key = None
    if key is None:
        raise ExportError("entry 0 is not a log_started entry with the server key")
    return key


def _note_device(logged: dict[str, dict[str, Any]], line: bytes) -> None:
    try:
        entry = json.loads(line)
        data, device = entry["data"], entry["data"]["device"]
        if entry["type"] in {"device_enrolled", "device_enrollment_requested"}:
            logged[device] = {"seat": data["seat"], "public_key": data["public_key"]}
        elif entry["type"] in {"device_revoked", "device_enrollment_rejected"} and device in logged:
            logged[device]["revoked"] = True
    except (ValueError, KeyError, TypeError):
        pass  # not a device entry after all (the mark was inside some text)


def _check_instance_key(server_key: str, key_file: Path | None) -> None:
    """The instance's key file, if any, holds the key the log started with."""
    if key_file is None or not key_file.exists():
        return
    try:
        instance_key = ServerKey.load_or_create(key_file).public_b64
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read the server key {key_file}: {exc}") from None
    if instance_key != server_key:
        raise ExportError(
            f"服务器密钥不一致 the log was started with server key {server_key}, "
            f"but {key_file} holds {instance_key}: wrong database or instance directory?"
        )


def _compare_devices(
    kiosks: dict[str, dict[str, Any]], logged: dict[str, dict[str, Any]]
) -> list[str]:
    """Where the device table and the log disagree; ``verify`` will fail on these.

    The bundle is still written: it is the evidence an auditor needs.
    """
    warnings = []
    for device in sorted(set(kiosks) | set(logged)):
        table, log = kiosks.get(device), logged.get(device)
        if table is None or log is None:
            where = "device table" if log is None else "log"
            warnings.append(f"device {device} is only in the {where}")
        elif (table["seat"], table["public_key"], table["revoked"]) != (
            log["seat"],
            log["public_key"],
            log.get("revoked", False),
        ):
            warnings.append(f"device {device}: the device table and the log disagree")
    return warnings


def _write_json(path: Path, obj: Any) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _fsync_directory(path: Path) -> None:
    """Make the renames durable (POSIX: fsync the directory itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
