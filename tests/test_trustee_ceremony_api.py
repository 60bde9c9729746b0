"""The key ceremony (密钥仪式) through the JSON API, as the scrutineers' pages drive it:
three scrutineer accounts play the trustees in Python (tests/support/trustees.py), the
presidium starts the ceremony, and the exported bundle verifies. Every refused request
answers a code and a Chinese message and changes nothing in the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from crypto.trustees import ceremony as dkg
from crypto.trustees.group import Element, G
from tests.support.bundles import verify_json
from tests.support.live import (
    PASSWORD,
    LiveServer,
    LoggedIn,
    body_id,
    csrf_of,
    logged_in,
    post_form,
)
from tests.support.trustees import Player
from voting_server.extensions import sessions
from voting_server.models import AuditEntry, StaffRole
from voting_server.services import attendance
from voting_server.services.export import export_bundle

API = "/api/trustees"


def post(client: FlaskClient, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = client.post(
        path, data=json.dumps(body), content_type="application/json",
        headers={"X-CSRF-Token": csrf_of(client)},
    )  # fmt: skip
    return response.status_code, response.get_json()


def get(client: FlaskClient, path: str) -> tuple[int, dict[str, Any]]:
    response = client.get(path)
    return response.status_code, response.get_json()


def log_size(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.query(AuditEntry).count()


def log_types(app: Flask) -> list[str]:
    with app.app_context(), sessions()() as s:
        return [e.type for e in s.query(AuditEntry).order_by(AuditEntry.body_id, AuditEntry.idx)]


class Sitting:
    """The demo sitting with a presidium and ``n`` designated scrutineers logged in."""

    def __init__(self, app: Flask, n: int = 3) -> None:
        self.app = app
        with app.app_context(), sessions()() as s:
            sitting = attendance.current_sitting(s, body_id(app))
            assert sitting is not None
            self.id = sitting.id
        self.presidium = logged_in(app, StaffRole.PRESIDIUM, "zhu")
        self.scrutineers = [logged_in(app, StaffRole.SCRUTINEER, f"jp{i}") for i in range(1, n + 1)]
        self.other = logged_in(app, StaffRole.SCRUTINEER, "jp-other")  # not designated
        response = post_form(
            self.presidium.client, f"/results/sittings/{self.id}/scrutineers",
            {"scrutineer": [t.account.id for t in self.scrutineers], "basis": "经主任会议确定"},
        )  # fmt: skip
        assert response.status_code == 302, response.get_data(as_text=True)

    def start(self, k: int | None = None) -> dict[str, Any]:
        status, state = post(self.presidium.client, f"{API}/sittings/{self.id}/start", {"k": k})
        assert status == 200, state
        return state

    def trustee(self, index: int) -> LoggedIn:
        return self.scrutineers[index - 1]  # designated in account order: seat i = i-th made


def refused(answer: tuple[int, dict[str, Any]], status: int, code: str) -> None:
    got, body = answer
    assert (got, body["ok"], body["error"]) == (status, False, code), body
    assert body["message"] and body["message"] != code  # a sentence for the page


def run_ceremony(sitting: Sitting, players: dict[int, Player], ceremony_id: str) -> dict[str, Any]:
    """Every trustee posts each step in turn; returns the last trustee's final state."""
    path = f"{API}/ceremonies/{ceremony_id}"
    for i, player in players.items():
        status, state = post(sitting.trustee(i).client, f"{path}/commitments", player.commitments())
        assert status == 200, state
    for i, player in players.items():
        _, state = get(sitting.trustee(i).client, path)
        status, state = post(sitting.trustee(i).client, f"{path}/shares", player.shares(state))
        assert status == 200, state
    for i, player in players.items():
        _, state = get(sitting.trustee(i).client, path)
        assert state["next"] == "verdicts"
        status, state = post(sitting.trustee(i).client, f"{path}/verdicts", player.verdicts(state))
        assert status == 200, state
    return state


def players_for(sitting: Sitting, state: dict[str, Any]) -> dict[int, Player]:
    return {i: Player.for_state(state, i) for i in range(1, state["n"] + 1)}


def verify_bundle(app: Flask, url: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "bundle"
    export_bundle(url, out, body=str(body_id(app)))
    code, report = verify_json(out)
    assert code == 0 and report["ok"], report
    return report


# --- a whole ceremony ------------------------------------------------------------------------


def test_three_scrutineers_make_a_joint_key_that_the_bundle_proves(
    live_app: Flask, sqlite_url: str, tmp_path: Path
) -> None:
    sitting = Sitting(live_app)
    state = sitting.start()
    assert (state["n"], state["k"], state["phase"]) == (3, 2, "commitments")  # k: a majority
    assert [t["user_id"] for t in state["trustees"]] == [t.account.id for t in sitting.scrutineers]
    players = players_for(sitting, state)
    final = run_ceremony(sitting, players, state["ceremony_id"])

    assert final["phase"] == "done" and final["next"] is None
    key = final["key"]
    # K = g^{Σ a_{i,0}}, which no party computed; checked here with the players' secrets
    secret = dkg.secret_share([p.polynomial.coefficients[0] for p in players.values()])
    assert key["joint_key"] == (G**secret).hex()
    for ell in (1, 2, 3):  # K̂_ℓ = g^{s_ℓ}, s_ℓ = Σ_i P_i(ℓ)
        s_ell = dkg.secret_share([p.polynomial.evaluate(ell) for p in players.values()])
        assert key["public_shares"][str(ell)] == (G**s_ell).hex()
    types = log_types(live_app)
    ceremony = [t for t in types if t.startswith("trustee_")]
    assert ceremony == ["trustee_ceremony_started", *["trustee_commitments"] * 3,
                        *["trustee_shares"] * 3, *["trustee_verdicts"] * 3, "trustee_key"]  # fmt: skip
    verify_bundle(live_app, sqlite_url, tmp_path)


def test_a_complaint_fails_the_ceremony_and_a_second_one_succeeds(
    live_app: Flask, sqlite_url: str, tmp_path: Path
) -> None:
    sitting = Sitting(live_app)
    first = sitting.start()
    players = players_for(sitting, first)
    players[2].cheat_for = 3  # trustee 2 sends trustee 3 a share off its polynomial
    path = f"{API}/ceremonies/{first['ceremony_id']}"
    final = run_ceremony(
        sitting, {1: players[1], 2: players[2], 3: players[3]}, first["ceremony_id"]
    )
    # trustee 3's verdicts complain about 2, the server upholds it (Feldman) and fails it
    assert final["phase"] == "failed" and final["complaints"] == [{"index": 3, "sender": 2}]
    refused(post(sitting.trustee(1).client, f"{path}/verdicts", {"verdicts": []}), 409,
            "ceremony_duplicate")  # fmt: skip

    second = sitting.start()
    assert second["ceremony_id"] != first["ceremony_id"]
    final = run_ceremony(sitting, players_for(sitting, second), second["ceremony_id"])
    assert final["phase"] == "done"
    _, latest = get(sitting.trustee(1).client, f"{API}/sittings/{sitting.id}")
    assert latest["ceremony_id"] == second["ceremony_id"] and latest["key"] == final["key"]
    verify_bundle(live_app, sqlite_url, tmp_path)


def test_an_unfounded_complaint_is_refused(live_app: Flask) -> None:
    sitting = Sitting(live_app)
    state = sitting.start()
    players = players_for(sitting, state)
    path = f"{API}/ceremonies/{state['ceremony_id']}"
    for i, p in players.items():
        post(sitting.trustee(i).client, f"{path}/commitments", p.commitments())
    for i, p in players.items():
        _, s = get(sitting.trustee(i).client, path)
        post(sitting.trustee(i).client, f"{path}/shares", p.shares(s))
    _, s = get(sitting.trustee(1).client, path)
    honest = players[1].opened(s)
    lying = {"verdicts": [{"sender": 2, "verdict": "complaint", "share": honest[2].hex()},
                          {"sender": 3, "verdict": "verified"}]}  # fmt: skip
    before = log_size(live_app)
    refused(post(sitting.trustee(1).client, f"{path}/verdicts", lying), 409,
            "ceremony_complaint_unfounded")  # fmt: skip
    assert log_size(live_app) == before


# --- refusals --------------------------------------------------------------------------------


def test_start_is_the_presidiums_with_a_valid_threshold(live_app: Flask) -> None:
    sitting = Sitting(live_app)
    start = f"{API}/sittings/{sitting.id}/start"
    before = log_size(live_app)
    refused(post(sitting.trustee(1).client, start, {}), 403, "forbidden")
    for k in (0, 4, -1, True, "2", 2.0):
        refused(post(sitting.presidium.client, start, {"k": k}), 400, "ceremony_bad_threshold")
    refused(post(sitting.presidium.client, start, {"k": 2, "n": 3}), 400, "ceremony_malformed")
    refused(post(sitting.presidium.client, f"{API}/sittings/999999/start", {}), 404, "no_sitting")
    response = sitting.presidium.client.post(start, data="{}", content_type="application/json")
    assert response.status_code == 400  # no CSRF token
    assert log_size(live_app) == before
    assert sitting.start(k=3)["k"] == 3


def test_a_ballots_page_offset_is_ascii_digits_within_bounds(live_app: Flask) -> None:
    """GET votes/<vote>/ballots?offset=…: '²' or '١' (digits to str.isdigit) and numbers
    past the bound are refused by name, never a server error."""
    sitting = Sitting(live_app)
    for junk in ("²", "١٢", "-1", "1e3", str(10**9)):
        refused(get(sitting.presidium.client, f"{API}/votes/1/ballots?offset={junk}"), 400,
                "invalid_payload")  # fmt: skip


def test_a_sitting_without_scrutineers_has_no_ceremony(live_app: Flask) -> None:
    presidium = logged_in(live_app, StaffRole.PRESIDIUM, "zhu")
    with live_app.app_context(), sessions()() as s:
        sitting = attendance.current_sitting(s, body_id(live_app))
        assert sitting is not None
    refused(post(presidium.client, f"{API}/sittings/{sitting.id}/start", {}), 409,
            "ceremony_no_trustees")  # fmt: skip


def test_every_bad_step_is_refused_and_changes_nothing(live_app: Flask) -> None:
    sitting = Sitting(live_app)
    state = sitting.start()
    players = players_for(sitting, state)
    path = f"{API}/ceremonies/{state['ceremony_id']}"
    one = sitting.trustee(1).client
    good = players[1].commitments()
    before = log_size(live_app)

    def bad(client: FlaskClient, step: str, body: Any, status: int, code: str) -> None:
        refused(post(client, f"{path}/{step}", body), status, code)

    bad(sitting.other.client, "commitments", good, 403, "ceremony_not_trustee")  # not designated
    bad(sitting.presidium.client, "commitments", good, 403, "forbidden")
    bad(one, "shares", {"shares": []}, 409, "ceremony_wrong_phase")  # commitments first
    bad(one, "commitments", {**good, "index": 2}, 400, "ceremony_malformed")  # no index to give
    bad(one, "commitments", {"commitments": good["commitments"][:1]}, 400, "ceremony_malformed")
    wrong_hex = json.loads(json.dumps(good))
    wrong_hex["commitments"][0]["commitment"] = wrong_hex["commitments"][0]["commitment"].upper()
    bad(one, "commitments", wrong_hex, 400, "ceremony_malformed")
    identity = json.loads(json.dumps(good))
    identity["commitments"][1]["commitment"] = "00" * 32
    bad(one, "commitments", identity, 400, "ceremony_malformed")
    forged = json.loads(json.dumps(good))
    forged["commitments"][1]["proof"]["v"] = good["commitments"][0]["proof"]["v"]
    bad(one, "commitments", forged, 400, "ceremony_bad_proof")
    # another trustee's commitments (proven for index 2) do not pass as trustee 1's
    bad(one, "commitments", players[2].commitments(), 400, "ceremony_bad_proof")
    bad(one, "commitments", [good], 400, "invalid_payload")
    response = one.post(f"{path}/commitments", data="{" * 5000, content_type="application/json",
                        headers={"X-CSRF-Token": csrf_of(one)})  # fmt: skip
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_payload"
    huge = {"commitments": ["0" * 64] * 2000}
    bad(one, "commitments", huge, 400, "invalid_payload")  # over MAX_BODY
    refused(get(one, f"{API}/ceremonies/{'ab' * 16}"), 404, "ceremony_unknown")
    refused(get(one, f"{API}/ceremonies/not-hex"), 404, "ceremony_unknown")
    assert log_size(live_app) == before

    assert post(one, f"{path}/commitments", good)[0] == 200
    bad(one, "commitments", good, 409, "ceremony_duplicate")
    for i in (2, 3):
        post(sitting.trustee(i).client, f"{path}/commitments", players[i].commitments())
    _, s = get(one, path)
    shares = players[1].shares(s)
    before = log_size(live_app)
    bad(one, "shares", {"shares": shares["shares"][:1]}, 400, "ceremony_malformed")
    swapped = {"shares": list(reversed(shares["shares"]))}
    bad(one, "shares", swapped, 400, "ceremony_malformed")  # recipients in order
    to_self = {"shares": [{**shares["shares"][0], "recipient": 1}, shares["shares"][1]]}
    bad(one, "shares", to_self, 400, "ceremony_malformed")
    short_ct = {"shares": [{**shares["shares"][0], "ct": "ab" * 16}, shares["shares"][1]]}
    bad(one, "shares", short_ct, 400, "ceremony_malformed")
    bad(one, "verdicts", {"verdicts": []}, 409, "ceremony_wrong_phase")
    assert log_size(live_app) == before


def test_a_trustee_sees_only_its_own_shares(live_app: Flask) -> None:
    sitting = Sitting(live_app)
    state = sitting.start()
    players = players_for(sitting, state)
    path = f"{API}/ceremonies/{state['ceremony_id']}"
    for i, p in players.items():
        post(sitting.trustee(i).client, f"{path}/commitments", p.commitments())
    for i, p in players.items():
        _, s = get(sitting.trustee(i).client, path)
        post(sitting.trustee(i).client, f"{path}/shares", p.shares(s))
    _, mine = get(sitting.trustee(2).client, path)
    assert [s["sender"] for s in mine["shares_for_you"]] == [1, 3]
    assert players[2].opened(mine)[1] == players[1].polynomial.evaluate(2)
    _, chair = get(sitting.presidium.client, path)
    assert chair["you"] is None and chair["shares_for_you"] == []
    refused(get(sitting.other.client, path), 403, "ceremony_not_trustee")


# --- over a real socket --------------------------------------------------------------------


def test_a_ceremony_over_http(live_app: Flask, live_server: LiveServer, sqlite_url: str,
                              tmp_path: Path) -> None:  # fmt: skip
    sitting = Sitting(live_app)  # accounts and the designation, through the test client

    def session_of(username: str) -> requests.Session:
        http = requests.Session()
        page = http.get(f"{live_server.url}/login", timeout=10)
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        answer = http.post(f"{live_server.url}/login", timeout=10, allow_redirects=False,
                           data={"username": username, "password": PASSWORD, "csrf_token": token})  # fmt: skip
        assert answer.status_code == 302
        page = http.get(f"{live_server.url}/login", timeout=10)  # the new session's token
        http.headers["X-CSRF-Token"] = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        return http

    chair = session_of("zhu")
    trustees = {i: session_of(f"jp{i}") for i in (1, 2, 3)}
    state = chair.post(
        f"{live_server.url}{API}/sittings/{sitting.id}/start", json={}, timeout=10
    ).json()
    path = f"{live_server.url}{API}/ceremonies/{state['ceremony_id']}"
    players = players_for(sitting, state)
    for step in ("commitments", "shares", "verdicts"):
        for i, http in trustees.items():
            now = http.get(path, timeout=10).json()
            assert now["next"] == step, now
            payload = (
                getattr(players[i], step)()
                if step == "commitments"
                else getattr(players[i], step)(now)
            )
            answer = http.post(f"{path}/{step}", json=payload, timeout=10)
            assert answer.status_code == 200, answer.text
    final = chair.get(path, timeout=10).json()
    assert final["phase"] == "done"
    assert Element.from_hex(final["key"]["joint_key"])  # a valid group element
    verify_bundle(live_app, sqlite_url, tmp_path)


@pytest.fixture(autouse=True)
def _one_body(live_app: Flask) -> None:
    """The demo holds one body; the ceremony's entries go to its log."""
    assert body_id(live_app) >= 1
