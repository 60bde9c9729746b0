"""bench/pg_stats.py: PostgreSQL's own view of a burst, read from a real server while a
client works on a fresh database."""

from __future__ import annotations

import time

import psycopg

from bench.pg_stats import PgStats, activity_key, libpq_url


def test_activity_key_names_the_wait_or_the_cpu() -> None:
    assert activity_key("active", "IO", "WALSync") == "active: IO:WALSync"
    assert activity_key("active", None, None) == "active: CPU"
    assert activity_key("idle in transaction", "Client", "ClientRead") == "idle in transaction"
    assert activity_key(None, None, None) == "unknown"


def test_libpq_url_drops_the_driver_and_keeps_the_password() -> None:
    url = "postgresql+psycopg://u:secret@127.0.0.1:5432/db"
    assert libpq_url(url) == "postgresql://u:secret@127.0.0.1:5432/db"


def test_a_burst_is_seen_by_its_waits_commits_and_statements(postgres_url: str) -> None:
    stats = PgStats(postgres_url).start()
    commits = 0
    with psycopg.connect(libpq_url(postgres_url)) as conn:
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            conn.execute("SELECT pg_sleep(0.02)")  # active, waiting on Timeout:PgSleep
            conn.commit()
            commits += 1
    report = stats.stop()

    assert report["polls"] > 10
    assert report["activity_share"].get("active: Timeout:PgSleep", 0) > 0.3, report
    # Ours, give or take a transaction of the connection's own (its statistics reach the
    # server when a backend reports them); the polls (over 10, above) are not counted.
    assert abs(report["commits"] - commits) <= 2, (report["commits"], commits)
    statements = report["statements"]
    if isinstance(statements, str):  # the server was started without the extension
        assert "shared_preload_libraries" in statements
    else:
        assert not [s for s in statements["top"] if "pg_stat_activity" in s["query"]]
        sleeps = [s for s in statements["top"] if "pg_sleep" in s["query"]]
        assert sleeps and sleeps[0]["calls"] == commits, statements
        assert sleeps[0]["mean_ms"] >= 20
