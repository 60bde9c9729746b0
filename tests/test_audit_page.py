"""The auditor's page: who may see it, the log's filters (on SQLite and on
PostgreSQL, where the JSON functions differ), paging, and the verification
status on a good and on a tampered log."""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.support.live import logged_in, make_live_app, post_form
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import AttendanceMethod, AuditEntry, Member, StaffRole, Vote
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction
from voting_server.views.audit import ENTRY_TYPES


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _indices(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td class="entry-index">(\d+)</td>', page)]


def _sitting_with_votes(app: Flask) -> None:
    """40 sign-ins, then votes 1 and 2 opened and closed, vote 3 cancelled."""
    with app.app_context(), write_transaction(sessions()) as s:
        sitting = s.get(Vote, 1).agenda_item.sitting  # type: ignore[union-attr]
        for member in s.scalars(select(Member).where(Member.seat <= 40)).all():
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=1)
    for vote_id in (1, 2):
        with app.app_context(), write_transaction(sessions()) as s:
            voting().open_vote(s, audit_log(), vote_id, 1, None)
        with app.app_context(), write_transaction(sessions()) as s:
            voting().close_vote(s, audit_log(), vote_id, 1, "presidium")
    with app.app_context(), write_transaction(sessions()) as s:
        voting().cancel_vote(s, audit_log(), 3, 1, "测试")


def _entries(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), sessions()() as s:
        return [
            json.loads(line) for line in s.scalars(select(AuditEntry.line).order_by(AuditEntry.idx))
        ]


@pytest.mark.slow
def test_the_audit_page_is_the_scrutineers(live_app: Flask) -> None:
    assert live_app.test_client().get("/audit/").status_code == 302
    for role in StaffRole:
        client = logged_in(live_app, role, f"{role.value}-a").client
        expected = 200 if role is StaffRole.SCRUTINEER else 403
        assert client.get("/audit/").status_code == expected, role
        assert post_form(client, "/audit/verify").status_code in (
            (302,) if role is StaffRole.SCRUTINEER else (403,)
        )


def _check_filters(app: Flask) -> None:
    _sitting_with_votes(app)
    entries = _entries(app)
    client = logged_in(app, StaffRole.SCRUTINEER).client

    def shown(**args: str) -> list[int]:
        response = client.get("/audit/", query_string=args)
        assert response.status_code == 200, _text(response)
        return _indices(_text(response))

    def vote_of(e: dict[str, Any]) -> Any:
        vote = e["data"].get("vote")
        return vote.get("id") if isinstance(vote, dict) else vote

    expected = [e["i"] for e in entries if vote_of(e) == 2]
    assert expected and shown(vote="2") == expected[:50]
    types = {entries[i]["type"] for i in expected}
    assert {"vote_configured", "vote_opened", "vote_closed", "result"} <= types
    assert shown(type="result") == [e["i"] for e in entries if e["type"] == "result"]
    assert shown(type="result", vote="1") == [
        e["i"] for e in entries if e["type"] == "result" and vote_of(e) == 1
    ]
    assert shown(**{"from": "5", "to": "9"}) == [5, 6, 7, 8, 9]
    # paging: 50 a page, the next page starts after the last one shown
    first = client.get("/audit/")
    assert _indices(_text(first)) == list(range(50))
    link = re.search(r'id="next-page" href="([^"]+)"', _text(first))
    assert link is not None
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert _indices(_text(second))[0] == 50
    # time: entries are in time order; a window from the 10th entry's minute on
    stamp = entries[10]["t"]  # e.g. 2026-11-25T02:29:30.123456Z (UTC)
    from datetime import datetime, timedelta

    utc = datetime.strptime(stamp[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    local = (utc + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    since = shown(since=local, to="60")
    assert since == [e["i"] for e in entries if e["t"][:16] >= stamp[:16] and e["i"] <= 60][:50]
    assert (
        shown(until=local, to="60")
        == [e["i"] for e in entries if e["t"][:16] < stamp[:16] and e["i"] <= 60][:50]
    )
    # bad filters: named, 400
    bad = client.get("/audit/", query_string={"type": "ballot_x", "vote": "-1", "since": "昨天"})
    assert bad.status_code == 400
    for field in ("type", "vote", "since"):
        assert f'id="{field}-error"' in _text(bad)


@pytest.mark.slow
def test_log_filters_on_sqlite(live_app: Flask) -> None:
    _check_filters(live_app)


@pytest.mark.slow
@pytest.mark.postgres
def test_log_filters_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    _check_filters(make_live_app(postgres_url, tmp_path / "instance"))


def test_entry_types_are_the_verifiers() -> None:
    assert {"log_started", "roster", "ballot", "participation", "result", "checkpoint"} <= set(
        ENTRY_TYPES
    )


def _verify(app: Flask) -> str:
    client = logged_in(app, StaffRole.SCRUTINEER, "jian.piao2").client
    assert post_form(client, "/audit/verify").status_code == 302
    check = app.extensions["voting.log_check"].wait(240)
    assert check is not None and check.state != "running"
    return _text(client.get("/audit/"))


@pytest.mark.slow
def test_verification_is_ok_on_a_good_log(live_app: Flask) -> None:
    _sitting_with_votes(live_app)
    page = _verify(live_app)
    assert "核验通过" in page, page
    size = len(_entries(live_app))
    assert f"全部 {size} 条记录" in page


@pytest.mark.slow
def test_verification_names_the_first_tampered_entry(live_app: Flask) -> None:
    _sitting_with_votes(live_app)
    entries = _entries(live_app)
    target = next(e for e in entries if e["type"] == "result")
    forged = dict(target)
    forged["data"] = {**target["data"], "vote": target["data"]["vote"] + 100}
    line = json.dumps(forged, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with live_app.app_context(), write_transaction(sessions()) as s:
        s.execute(update(AuditEntry).where(AuditEntry.idx == target["i"]).values(line=line))
    page = _verify(live_app)
    assert "核验未通过" in page
    assert f"第 {target['i']} 条记录有误" in page
    assert "signature" in re.search(r'id="check-reason">(.*?)<', page).group(1)  # type: ignore[union-attr]
