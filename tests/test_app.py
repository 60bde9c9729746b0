"""The application factory serves the sitting overview and reports its health."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.db import migrate
from voting_server.app import create_app
from voting_server.db import make_engine, make_session_factory
from voting_server.demo import load_demo
from voting_server.services.vote_presentation import participation_interval
from voting_server.settings import TestingConfig


def client_for(url: str) -> FlaskClient:
    return create_app(TestingConfig(url)).test_client()


def test_overview_lists_the_demo_sitting_in_chinese(sqlite_url: str) -> None:
    migrate(sqlite_url)
    with make_session_factory(make_engine(sqlite_url)).begin() as session:
        load_demo(session)
    page = client_for(sqlite_url).get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "全体组成人员（应到）：<strong>61</strong>" in html
    for label in ("表决", "民生实事项目票决", "满意度测评", "无记名"):
        assert label in html


def test_overview_of_an_empty_database_says_what_to_do(sqlite_url: str) -> None:
    migrate(sqlite_url)
    html = client_for(sqlite_url).get("/").get_data(as_text=True)
    assert "voting-server demo" in html


def test_health_reports_database_state(sqlite_url: str) -> None:
    migrate(sqlite_url)
    assert client_for(sqlite_url).get("/healthz").get_json() == {"ok": True}
    dead = client_for("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = dead.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"


def test_health_on_postgres(postgres_url: str) -> None:
    migrate(postgres_url)
    assert client_for(postgres_url).get("/healthz").status_code == 200


def test_several_processes_broadcast_the_counts_less_often_each(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """已按 counts reach the screens about ten times a second however many processes
    serve the hall (voting-server stack sets VOTING_PROCESSES): each of n processes
    broadcasts every n × 0.1 s, at most every 0.5 s."""
    assert TestingConfig(sqlite_url).VOTING_PROCESSES == 1
    monkeypatch.setenv("VOTING_PROCESSES", "4")
    processes = TestingConfig(sqlite_url).VOTING_PROCESSES
    assert processes == 4
    assert participation_interval(1) == pytest.approx(0.1)
    assert participation_interval(processes) == pytest.approx(0.4)
    assert participation_interval(16) == pytest.approx(0.5)  # the last count never long late
    monkeypatch.setenv("VOTING_PROCESSES", "0")
    assert TestingConfig(sqlite_url).VOTING_PROCESSES == 1
