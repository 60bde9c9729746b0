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
    Table,
    parse_roster,
    read_table,
    too_large,
)
from voting_server.services.event_loop import gevent_patched

log = logging.getLogger(__name__)

PARSE_TIMEOUT_S = 30  # a roster at the bounds parses in about a second
CHILD_MEMORY = 1024 * 1024 * 1024  # address space of the child: ample for a bounded file
XLSX_ARG = "xlsx"  # the file's name says XLSX (the name itself is not passed)
TABLE_ARG = "table"  # the child returns the file's rows as text (a vote's candidates)


def parse_roster_upload(data: bytes, filename: str, off_loop: bool | None = None) -> ParsedRoster:
    """``roster.parse_roster(data, filename)``, in a child process when under gevent
    (``off_loop`` overrides). Never raises: a child that fails is a refusal."""
    if len(data) > MAX_BYTES:
        return too_large()  # refused at once: no process for a file we will not read
    if not (gevent_patched() if off_loop is None else off_loop):
        return parse_roster(data, filename)
    out = _in_child(data, filename, "")
    return out if isinstance(out, ParsedRoster) else from_json(out)


def read_table_upload(
    data: bytes, filename: str = "", off_loop: bool | None = None
) -> tuple[Table, RosterError | None]:
    """``roster.read_table`` — a CSV or XLSX list's rows as text, under the roster's
    bounds — off the event loop like ``parse_roster_upload``; the rows, or why not."""
    if len(data) > MAX_BYTES:
        return [], too_large().errors[0]
    if not (gevent_patched() if off_loop is None else off_loop):
        table, refusal = read_table(data, filename)
        return table, refusal.errors[0] if refusal is not None else None
    out = _in_child(data, filename, TABLE_ARG)
    if isinstance(out, ParsedRoster):
        return [], out.errors[0]
    parsed: dict[str, Any] = json.loads(out)
    error = parsed["error"]
    return [(line, cells) for line, cells in parsed["rows"]], RosterError(*error) if error else None


def _in_child(data: bytes, filename: str, mode: str) -> bytes | ParsedRoster:
    """The child's stdout, or the refusal when it timed out, did not start or failed."""
    hint = XLSX_ARG if filename.lower().endswith(".xlsx") else ""
    # subprocess is gevent's once patched: the pipes wait cooperatively
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, hint, mode],
            input=data,
            capture_output=True,
            timeout=PARSE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("upload parsing took over %s s: refused", PARSE_TIMEOUT_S)
        return _refused(
            f"解析超时：最多 {PARSE_TIMEOUT_S} 秒 / parsing took over {PARSE_TIMEOUT_S} s"
        )
    except OSError as exc:
        log.warning("upload parser process did not start (%s)", exc)
        return _refused("服务器无法解析文件，请稍后重试 / the server could not parse the file")
    if done.returncode != 0:
        log.warning("upload parser process failed (exit %s)", done.returncode)
        return _refused("文件无法解析（内容过大或已损坏） / the file could not be parsed")
    return done.stdout


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


def _child(hint: str, mode: str = "") -> None:
    """The parser process: a file's bytes on stdin, the parse as JSON on stdout."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = CHILD_MEMORY if hard == resource.RLIM_INFINITY else min(CHILD_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    name = "upload.xlsx" if hint == XLSX_ARG else ""
    if mode == TABLE_ARG:
        table, refusal = read_table(data, name)
        error = list(refusal.errors[0]) if refusal is not None else None
        out = json.dumps({"rows": table, "error": error}, ensure_ascii=False).encode("utf-8")
    else:
        out = to_json(parse_roster(data, name))
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _child(*(sys.argv[1:3] or [""]))
