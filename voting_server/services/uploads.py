"""Uploaded files are parsed in a process apart from the event loop.

Under gunicorn's gevent worker the whole server is one OS thread (see
``services.signatures``): a handler that spends a second in openpyxl stops every
kiosk's socket for that second. A thread would not free it — the parser is pure
Python and holds the GIL — so, like the signature checks, the parsing goes to a
**child process** (``python -m voting_server.services.uploads``): the file's bytes
go down its stdin, the parsed roster comes back as JSON on its stdout, and the
event loop goes on serving sockets until it does. The child is started per upload
(uploads are rare; starting it costs a fraction of a second), may use at most
``CHILD_MEMORY`` of memory and ``PARSE_TIMEOUT_S`` of time, and is given bytes
only: a zip bomb that got past the checks kills the child, not the hall.

Without gevent (the test client's threads, the command-line tools) the parsing
runs inline: the result is the same, only where the CPU is spent differs.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

from voting_server.roster import (
    MAX_BYTES,
    ParsedRoster,
    RosterError,
    RosterRow,
    parse_roster,
    too_large,
)
from voting_server.services.event_loop import gevent_patched

log = logging.getLogger(__name__)

PARSE_TIMEOUT_S = 30  # a roster at the bounds parses in about a second
CHILD_MEMORY = 1024 * 1024 * 1024  # address space of the child: ample for a bounded file
XLSX_ARG = "xlsx"  # the file's name says XLSX (the name itself is not passed)


def parse_roster_upload(data: bytes, filename: str, off_loop: bool | None = None) -> ParsedRoster:
    """``roster.parse_roster(data, filename)``, in a child process when under gevent
    (``off_loop`` overrides). Never raises: a child that fails is a refusal."""
    if len(data) > MAX_BYTES:
        return too_large()  # refused at once: no process for a file we will not read
    if not (gevent_patched() if off_loop is None else off_loop):
        return parse_roster(data, filename)
    hint = XLSX_ARG if filename.lower().endswith(".xlsx") else ""
    # subprocess is gevent's once patched: the pipes wait cooperatively
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, hint],
            input=data,
            capture_output=True,
            timeout=PARSE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("roster parsing took over %s s: refused", PARSE_TIMEOUT_S)
        return _refused(
            f"解析超时：最多 {PARSE_TIMEOUT_S} 秒 / parsing took over {PARSE_TIMEOUT_S} s"
        )
    except OSError as exc:
        log.warning("roster parser process did not start (%s)", exc)
        return _refused("服务器无法解析文件，请稍后重试 / the server could not parse the file")
    if done.returncode != 0:
        log.warning("roster parser process failed (exit %s)", done.returncode)
        return _refused("文件无法解析（内容过大或已损坏） / the file could not be parsed")
    return from_json(done.stdout)


def _refused(message: str) -> ParsedRoster:
    return ParsedRoster(rows=(), errors=(RosterError(1, "file", message),))


def to_json(parsed: ParsedRoster) -> bytes:
    return json.dumps(
        {
            "rows": [[r.line, r.seat, r.name, r.group] for r in parsed.rows],
            "errors": [list(e) for e in parsed.errors],
        },
        ensure_ascii=False,
    ).encode("utf-8")


def from_json(text: bytes) -> ParsedRoster:
    data: dict[str, Any] = json.loads(text)
    return ParsedRoster(
        rows=tuple(RosterRow(*row) for row in data["rows"]),
        errors=tuple(RosterError(*error) for error in data["errors"]),
    )


def _child(hint: str) -> None:
    """The parser process: a roster file's bytes on stdin, the parse as JSON on stdout."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = CHILD_MEMORY if hard == resource.RLIM_INFINITY else min(CHILD_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    parsed = parse_roster(data, "roster.xlsx" if hint == XLSX_ARG else "")
    sys.stdout.buffer.write(to_json(parsed))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _child(sys.argv[1] if len(sys.argv) > 1 else "")
