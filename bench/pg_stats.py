"""PostgreSQL's own view of a burst: what its backends waited on, and its statements.

``--pg-stats`` (bench/run.py, with ``--database-url`` PostgreSQL) wraps the
ballot burst in ``PgStats``:

- **wait events**: a thread of the bench polls ``pg_stat_activity`` every
  ``SAMPLE_S`` for the benchmark database's client backends and counts, per
  sample and backend, what it was doing: ``active`` with its wait event
  (``LWLock:WALWrite``, ``IO:WALSync``, ``Lock:advisory`` …) or with none
  (on the CPU), ``idle in transaction`` (waiting for the server process's
  next statement: the round trips), or ``idle``. A sample is a moment, so the
  shares are of the burst's time, per backend;
- **statements**: with ``pg_stat_statements`` in ``shared_preload_libraries``
  its counters are reset before the burst and read after it: calls, total
  and mean execution time and rows of the benchmark database's statements,
  most time first (the extension's view is created, if missing, in the
  server's ``postgres`` database, never in the benchmark's); without it the
  report says so and names the setting;
- **commits and WAL**: ``pg_stat_database``'s commits and ``pg_stat_wal``'s
  records, bytes and syncs over the burst, read before and after.

Only statistics are read; nothing is written to the benchmark database.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

SAMPLE_S = 0.005
TOP_STATEMENTS = 12
QUERY_CHARS = 160  # of each statement's text, in the report

_ACTIVITY = """
    SELECT state, wait_event_type, wait_event FROM pg_stat_activity
    WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""
_COUNTERS = """
    SELECT d.xact_commit, w.wal_records, w.wal_bytes, w.wal_sync
    FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = %s
"""
_STATEMENTS = """
    SELECT s.query, s.calls, s.total_exec_time, s.rows
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = %s ORDER BY s.total_exec_time DESC
"""


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy's form) → ``postgresql://…`` (libpq's)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def activity_key(state: str | None, wait_type: str | None, wait: str | None) -> str:
    """What one backend was doing in one sample: ``active: IO:WALSync``, ``active: CPU``
    (no wait event), ``idle in transaction``, ``idle`` …"""
    if state == "active":
        return f"active: {wait_type}:{wait}" if wait_type else "active: CPU"
    return state or "unknown"


class PgStats:
    """Start before the burst, ``stop()`` after it for the report (a dict for the JSON)."""

    def __init__(self, url: str) -> None:
        self.database = make_url(url).database or ""
        self.admin_url = libpq_url(
            make_url(url).set(database="postgres").render_as_string(hide_password=False)
        )
        self.samples: Counter[str] = Counter()
        self.polls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counters: tuple[int, ...] | None = None
        self.statements_loaded = False
        self.started = 0.0

    def start(self) -> PgStats:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            self.statements_loaded = _loaded(conn)
            if self.statements_loaded:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                conn.execute("SELECT pg_stat_statements_reset()")
            self._counters = _read_counters(conn, self.database)
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._sample, name="pg-stats", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        # From the server's ``postgres`` database: the polls are neither the benchmark
        # database's commits nor its statements.
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.is_set():
                for state, wait_type, wait in conn.execute(_ACTIVITY, (self.database,)):
                    self.samples[activity_key(state, wait_type, wait)] += 1
                self.polls += 1
                self._stop.wait(SAMPLE_S)

    def stop(self) -> dict[str, Any]:
        seconds = time.monotonic() - self.started
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        report: dict[str, Any] = {"seconds": round(seconds, 2), "polls": self.polls}
        total = sum(self.samples.values())
        report["backend_samples"] = total
        report["activity_share"] = {
            k: round(n / total, 3) for k, n in self.samples.most_common()
        } if total else {}  # fmt: skip
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            after = _read_counters(conn, self.database)
            if self._counters is not None and after is not None:
                report.update({name: b - a for name, a, b in zip(
                    ("commits", "wal_records", "wal_bytes", "wal_syncs"), self._counters, after,
                    strict=True)})  # fmt: skip
            if self.statements_loaded:
                report["statements"] = _statements(conn, self.database)
            else:
                report["statements"] = (
                    "pg_stat_statements is not loaded: add it to shared_preload_libraries, "
                    "restart PostgreSQL and CREATE EXTENSION pg_stat_statements"
                )
        return report


def _loaded(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SHOW shared_preload_libraries").fetchone()
    return row is not None and "pg_stat_statements" in str(row[0])


def _read_counters(conn: psycopg.Connection[Any], database: str) -> tuple[int, ...] | None:
    row = conn.execute(_COUNTERS, (database,)).fetchone()
    return tuple(int(v) for v in row) if row is not None else None


def _statements(conn: psycopg.Connection[Any], database: str) -> dict[str, Any]:
    rows = conn.execute(_STATEMENTS, (database,)).fetchall()
    total_ms = sum(float(r[2]) for r in rows)
    return {
        "calls": sum(int(r[1]) for r in rows),
        "exec_ms": round(total_ms, 1),
        "top": [
            {
                "query": " ".join(str(q).split())[:QUERY_CHARS],
                "calls": int(calls),
                "exec_ms": round(float(ms), 1),
                "mean_ms": round(float(ms) / int(calls), 3) if calls else None,
                "rows": int(n),
                "share": round(float(ms) / total_ms, 3) if total_ms else None,
            }
            for q, calls, ms, n in rows[:TOP_STATEMENTS]
        ],
    }
