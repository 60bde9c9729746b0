"""A trustee-mode secret motion over real sockets (docs/trustee-votes.md), as the hall
holds it: three designated scrutineers make the sitting's key over HTTP (k = 2, played
by tests/support/trustees.py), the presidium opens the motion, Python kiosk clients on
real Socket.IO connections press encrypted ballots (one presses twice: the last counts),
malformed and falsely proven ballots are refused with their code and change nothing,
the presidium closes, two scrutineers post their partial decryptions over HTTP, the
screens get the result — the plaintext tally of the marks chosen — and the exported
bundle verifies with ``"content": "proven"`` (``voting-audit verify --json``)."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask

from crypto.statements import encrypted_ballot_statement, sign_statement
from crypto.trustees import ballot as tballot
from crypto.trustees import ceremony as dkg
from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import Element
from kiosk_client.client import KioskClient, Refused, new_nonce
from rules import tally
from rules.kinds import KeyPolicy, VoteKind
from tests.support.live import LiveServer
from tests.support.socket_hall import (
    MEMBERS,
    WAIT,
    Tablet,
    close_all,
    prepare_hall,
    staff_channels,
)
from tests.test_trustee_ceremony_api import API, Sitting, get, players_for, post, run_ceremony
from tests.test_voting_sockets import VOTING_AUDIT, check_refusal, refused
from voting_server.extensions import sessions
from voting_server.services import trustee_votes
from voting_server.services.transactions import write_transaction

VOTERS = range(1, 7)  # sign in at their tablets with their PIN and press
MARKED = range(7, 41)  # marked present by the presidium, do not press
PRESENT = len(VOTERS) + len(MARKED)


def _secret_shares(sitting: Sitting, players: dict[int, Any], ceremony_id: str) -> dict[int, Any]:
    """Each trustee's secret share, as its own browser would compute it."""
    out = {}
    for i, player in players.items():
        _, state = get(sitting.trustee(i).client, f"{API}/ceremonies/{ceremony_id}")
        opened = player.opened(state)
        out[i] = dkg.secret_share([*opened.values(), player.polynomial.evaluate(i)])
    return out


def _signed(tablet: Tablet, vote: int, nonce: str, encrypted: Any) -> dict[str, Any]:
    """A ballot payload over ``encrypted`` signed by the seat's own key: refused, if at
    all, for what it carries, not for its signature."""
    statement = encrypted_ballot_statement(vote, tablet.deputy.seat, nonce, encrypted)
    return {"vote": vote, "nonce": nonce, "encrypted": encrypted,
            "sig": sign_statement(tablet.deputy.kiosk.key, statement)}  # fmt: skip


def _send(tablet: Tablet, payload: dict[str, Any]) -> dict[str, Any]:
    assert tablet.client is not None
    try:
        receipt = tablet.client.vote(payload["vote"], prepared=payload, deadline_s=WAIT)
    except Refused as refusal:
        return refusal.answer
    return {"ok": True, "receipt": receipt}


def _decrypt(sitting: Sitting, vote: int, index: int, share: Any) -> dict[str, Any]:
    """Scrutineer ``index``'s page: reads the aggregates, computes H_V itself, posts."""
    client = sitting.trustee(index).client
    status, state = get(client, f"{API}/votes/{vote}")
    assert status == 200 and state["you"] == index and state["next"] == "decrypt", state
    layout = tballot.Layout.from_json(state["manifest"])
    key = Element.from_hex(state["joint_key"])
    h_c = dkg.ceremony_hash(state["ceremony_id"], state["n"], state["k"])
    h_v = tballot.vote_hash(h_c, str(vote), layout, key)
    shares = {
        group: tdecrypt.partials_to_json(
            tdecrypt.partial_decrypt_all(
                h_v, index, share, tballot.aggregates_from_json(layout, rows)
            )
        )
        for group, rows in state["aggregates"].items()
        if state["cast"][group] > 0
    }
    status, answer = post(client, f"{API}/votes/{vote}/decryption", {"shares": shares})
    assert status == 200 and answer["ok"], answer
    return answer


def test_a_trustee_mode_motion_over_real_sockets_is_proven_by_the_bundle(
    live_app: Flask, live_server: LiveServer, tmp_path: Path
) -> None:
    hall = prepare_hall(live_app, VOTERS)
    sitting = Sitting(live_app)
    state = sitting.start()
    players = players_for(sitting, state)
    final = run_ceremony(sitting, players, state["ceremony_id"])
    assert final["phase"] == "done"
    shares = _secret_shares(sitting, players, state["ceremony_id"])

    vote = hall.votes[VoteKind.MOTION]
    hall.configure(vote, secret=True, key_policy=KeyPolicy.LAST_PRESS)
    with live_app.app_context(), write_transaction(sessions()) as s:
        trustee_votes.set_trustee_mode(s, vote, True)
    spec = hall.spec(vote)

    tablets: dict[int, Tablet] = {}
    staff = {}
    try:
        staff = staff_channels(live_app, live_server.url, ("presidium", "display"))
        presidium, display = staff["presidium"], staff["display"]
        for seat in VOTERS:
            deputy = hall.deputies[seat]
            client = KioskClient(live_server.url, deputy.kiosk.key, deputy.kiosk.device_id)
            tablets[seat] = Tablet(deputy, None, client)
            client.connect(WAIT)
            assert tablets[seat].sign_in(deputy.pin)["ok"]
        for seat in MARKED:
            answer = presidium.call("mark_attendance", {"member": hall.deputies[seat].member_id})
            assert answer["ok"], answer

        answer = presidium.call("open_vote", {"vote": vote})
        assert answer["ok"], answer
        assert answer["vote"]["trustees"]["joint_key"] == final["key"]["joint_key"]
        for tablet in tablets.values():
            opened = tablet.wait_for("vote_opened", lambda d: d["id"] == vote)
            assert opened["trustees"]["joint_key"] == final["key"]["joint_key"]

        rng = random.Random(2027)
        choices = [{s: rng.choice(["yes", "no", "abstain"]) for s in spec.subjects}
                   for _ in range(12)] + [{}]  # fmt: skip
        counted: dict[int, Any] = {}
        entries_of: dict[int, list[int]] = {}
        for seat in VOTERS[:-1]:  # the last seat presses after the refusals below
            ballot = rng.choice(choices)
            answer = tablets[seat].ballot(vote, ballot)
            assert answer["ok"], (seat, answer)
            assert (answer["receipt"]["press"], answer["receipt"]["secret"]) == (1, True)
            entries_of.setdefault(seat, []).append(answer["receipt"]["entry"])
            counted[seat] = ballot
        again = {s: "no" for s in spec.subjects}  # seat 1 changes its mind: last_press
        answer = tablets[1].ballot(vote, again)
        assert answer["ok"] and answer["receipt"]["press"] == 2, answer
        entries_of[1].append(answer["receipt"]["entry"])
        counted[1] = again

        # refused ballots, each re-signed by the seat's key, change nothing
        last = tablets[VOTERS[-1]]
        assert last.client is not None
        nonce = new_nonce()
        good = last.client.prepare(vote, {s: "yes" for s in spec.subjects}, nonce)["encrypted"]

        def variant(change: Any) -> dict[str, Any]:
            bad = json.loads(json.dumps(good))
            change(bad)
            return _signed(last, vote, nonce, bad)

        def bad_hex(b: Any) -> None:
            b["contests"][0]["selections"][0]["alpha"] = "zz" * 32

        def one_selection_short(b: Any) -> None:
            del b["contests"][0]["selections"][-1]

        def one_contest_more(b: Any) -> None:
            b["contests"].append(b["contests"][0])

        def oversized(b: Any) -> None:
            b["contests"] = b["contests"] * 501

        def false_proof(b: Any) -> None:
            proof = b["contests"][0]["selections"][0]["proof"]
            proof["v"][0] = b["contests"][0]["proof"]["v"][0]

        for change, code in [
            (bad_hex, "invalid_payload"),
            (one_selection_short, "invalid_ballot"),
            (one_contest_more, "invalid_ballot"),
            (oversized, "invalid_payload"),
            (false_proof, "bad_proof"),
        ]:
            refused(hall, code, lambda c=change: _send(last, variant(c)))  # type: ignore[misc]
        answer = _send(last, _signed(last, vote, nonce, good))
        assert answer["ok"], answer
        entries_of[VOTERS[-1]] = [answer["receipt"]["entry"]]
        counted[VOTERS[-1]] = {s: "yes" for s in spec.subjects}

        entries = hall.entries()
        for seat, indices in entries_of.items():
            for idx in indices:
                entry = entries[idx]
                assert entry["type"] == "encrypted_ballot" and entry["data"]["seat"] == seat

        answer = presidium.call("close_vote", {"vote": vote})
        assert answer["ok"] and answer["vote"]["state"] == "closed", answer
        assert answer["vote"]["result"] is None
        assert answer["vote"]["decryption"] == {"shares": 0, "k": 2, "awaiting": True}
        closed = display.wait_for("result", lambda d: d["vote"] == vote)
        assert closed["result"] is None
        check_refusal(presidium.call("announce", {"vote": vote}), "awaiting_decryption")

        first = _decrypt(sitting, vote, 2, shares[2])
        assert first["result"] is None and first["shares"] == [2]
        seen = presidium.wait_for("decryption", lambda d: d["vote"] == vote)
        assert (seen["shares"], seen["k"], seen["awaiting"]) == (1, 2, True)
        second = _decrypt(sitting, vote, 3, shares[3])
        expected = tally(spec, MEMBERS, PRESENT, list(counted.values()))
        assert second["result"] == expected
        for screen in (display, *tablets.values()):
            published = screen.wait_for(
                "result", lambda d: d["vote"] == vote and d["result"] is not None
            )
            assert published["result"] == expected
        assert hall.vote_row(vote)["result"] == expected
        answer = presidium.call("announce", {"vote": vote})
        assert answer["ok"] and answer["vote"]["state"] == "announced", answer
    finally:
        close_all(*tablets.values(), *staff.values())

    # as an auditor: export the bundle and verify it with the CLI
    env = {**os.environ, "VOTING_INSTANCE_DIR": live_app.config["INSTANCE_DIR"]}
    bundle = tmp_path / "bundle"
    exported = subprocess.run(
        [str(VOTING_AUDIT), "export", "--out", str(bundle),
         "--database-url", live_app.config["VOTING_DATABASE_URL"]],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    verified = subprocess.run(
        [str(VOTING_AUDIT), "verify", str(bundle), "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["ok"], report
    assert {"vote": vote, "content": "proven"} in report["votes"]
