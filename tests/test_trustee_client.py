"""The Python trustee client (kiosk_client/trustee.py) against a real server: three
scrutineers log in through the login form and run the key ceremony over HTTP, each in
its own thread, as three devices would; what they end with is checked as an auditor
would — one joint key, each secret share matching its logged public share, and any k of
them (but no fewer) reconstructing the joint key."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import Element, Scalar, base
from kiosk_client.trustee import TrusteeClient, TrusteeError, TrusteeTimeout, staff_session
from tests.support.live import PASSWORD, LiveServer
from tests.test_trustee_ceremony_api import API, Sitting, verify_bundle


def test_three_trustee_clients_make_the_joint_key(
    live_app: Flask, live_server: LiveServer, sqlite_url: str, tmp_path: Path
) -> None:
    sitting = Sitting(live_app)  # zhu, and jp1..jp3 designated
    clients = [TrusteeClient(live_server.url, f"jp{i}", PASSWORD, poll_s=0.05) for i in (1, 2, 3)]
    with ThreadPoolExecutor(3) as pool:
        running = [pool.submit(c.run_ceremony, sitting.id, 30.0) for c in clients]
        chair = staff_session(live_server.url, "zhu", PASSWORD)  # the trustees wait for it
        started = chair.post(f"{live_server.url}{API}/sittings/{sitting.id}/start", json={},
                             timeout=10)  # fmt: skip
        assert started.status_code == 200, started.text
        keys = [r.result(timeout=60) for r in running]
    final = chair.get(f"{live_server.url}{API}/ceremonies/{started.json()['ceremony_id']}").json()
    assert final["phase"] == "done" and keys == [final["key"]] * 3
    joint = Element.from_hex(final["key"]["joint_key"])
    shares: dict[int, Scalar] = {}
    for client in clients:
        (seat,) = client.seats.values()
        assert seat.secret_share is not None
        assert base(seat.secret_share).hex() == final["key"]["public_shares"][str(seat.index)]
        shares[seat.index] = seat.secret_share
        assert "secret" not in repr(seat) and seat.secret_share.hex() not in repr(client)
    assert sorted(shares) == [1, 2, 3] and final["k"] == 2
    for pair in itertools.combinations(sorted(shares), 2):  # any k = 2 trustees
        s = Scalar.from_int(0)
        for i in pair:
            s = s + tdecrypt.lagrange(i, list(pair)) * shares[i]
        assert base(s) == joint, pair
    assert all(base(share) != joint for share in shares.values())  # one alone is not it
    verify_bundle(live_app, sqlite_url, tmp_path)


def test_a_trustee_client_waits_boundedly_and_says_why(
    live_app: Flask, live_server: LiveServer
) -> None:
    sitting = Sitting(live_app)
    client = TrusteeClient(live_server.url, "jp1", PASSWORD, poll_s=0.05)
    with pytest.raises(TrusteeTimeout, match=f"a key ceremony of sitting {sitting.id}"):
        client.run_ceremony(sitting.id, deadline_s=0.3)  # nobody started one
    with pytest.raises(TrusteeError, match="login of jp1 failed"):
        TrusteeClient(live_server.url, "jp1", "wrong password")
    other = TrusteeClient(live_server.url, "jp-other", PASSWORD)  # not designated
    sitting.start()
    with pytest.raises(TrusteeError, match="ceremony_not_trustee"):
        other.run_ceremony(sitting.id, deadline_s=5.0)
