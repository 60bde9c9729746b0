"""The Python kiosk client in a trustee-mode secret vote (docs/trustee-votes.md), without
a server: the ballot it sends is the kind's marks encrypted to the vote's joint key under
an H_V the client computed itself, signed as the ``encrypted-ballot`` statement, resent
unchanged until acknowledged — and it keeps nothing but that wire form."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from crypto import KioskKey, b64decode
from crypto.statements import encrypted_ballot_bytes
from crypto.trustees import ballot as tballot
from crypto.trustees.ceremony import ceremony_hash
from crypto.trustees.group import G, Scalar
from kiosk_client.client import (
    KioskClient,
    ProtocolError,
    TrusteeVote,
    encrypted_ballot_payload,
    new_nonce,
)
from rules import VoteKind, VoteSpec
from rules.kinds import kind_of
from tests.test_kiosk_client import WAIT, FakeSocket, receipt_for

SECRET = Scalar.random()  # the joint secret key, which only this test knows
JOINT = G**SECRET
SELECTION = VoteSpec(kind=VoteKind.SELECTION, candidates=("c1", "c2", "c3", "c4"), seats=2)
MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget", "plan"))


def vote_object(spec: VoteSpec, vote_id: int = 1, **trustees: Any) -> dict[str, Any]:
    """A vote as the kiosk receives it (services/vote_presentation.public_vote)."""
    kind = kind_of(spec.kind)
    items = [{"id": i, "title": f"题{i}"} for i in (spec.subjects or spec.candidates)]
    out = {"id": vote_id, "title": "表决", "kind": spec.kind, "secret": True,
           **kind.public_items(spec, items)}  # fmt: skip
    out["trustees"] = {"ceremony_id": "ceremony-1", "n": 3, "k": 2, "joint_key": JOINT.hex(),
                       "manifest": kind.encrypted_layout(spec), **trustees}  # fmt: skip
    return out


def decrypted_marks(layout: tballot.Layout, wire: Any) -> list[list[int]]:
    """What the joint secret key reads in each ciphertext: K^σ = β / α^s."""
    parsed = tballot.parse_ballot(layout, wire)
    out = []
    for contest in parsed.contests:
        row = []
        for sel in contest.selections:
            value = sel.ciphertext.beta / (sel.ciphertext.alpha**SECRET)
            row.append(1 if value == JOINT else 0 if value.is_identity() else -1)
        out.append(row)
    return out


def test_the_encrypted_payload_is_the_protocols_and_proves_under_the_clients_own_hash() -> None:
    key = KioskKey.generate()
    vote = vote_object(SELECTION, 9)
    nonce = new_nonce()
    payload = encrypted_ballot_payload(
        key, TrusteeVote.from_vote(vote), 12, 345, nonce, ["c3", "c1"]
    )
    assert set(payload) == {"vote", "nonce", "encrypted", "sig"}
    assert (payload["vote"], payload["nonce"]) == (9, nonce)
    layout = tballot.Layout.from_json(vote["trustees"]["manifest"])
    h_v = tballot.vote_hash(ceremony_hash("ceremony-1", 3, 2), "9", layout, JOINT)
    tballot.verify_ballot(h_v, JOINT, layout, "345", nonce, payload["encrypted"])
    assert decrypted_marks(layout, payload["encrypted"]) == [[1, 0, 1, 0]]
    key.public.verify(
        b64decode(payload["sig"]), encrypted_ballot_bytes(9, 12, nonce, payload["encrypted"])
    )
    # bound to the member: another member's H_B does not verify
    with pytest.raises(ValueError):
        tballot.verify_ballot(h_v, JOINT, layout, "346", nonce, payload["encrypted"])


def test_the_wire_form_holds_ciphertexts_and_proofs_only() -> None:
    """No ξ or u travels or is kept: the payload is exactly what parse_ballot reads back."""
    vote = TrusteeVote.from_vote(vote_object(MOTION))
    payload = encrypted_ballot_payload(
        KioskKey.generate(), vote, 1, 7, new_nonce(), {"budget": "no", "plan": "abstain"}
    )
    assert tballot.parse_ballot(vote.layout, payload["encrypted"]).to_json() == payload["encrypted"]
    assert decrypted_marks(vote.layout, payload["encrypted"]) == [[0, 1], [0, 0]]
    assert "xi" not in json.dumps(payload) and "nonces" not in json.dumps(payload)


def test_a_ballot_a_kiosk_may_not_send_is_refused_before_encrypting() -> None:
    vote = TrusteeVote.from_vote(vote_object(SELECTION))
    with pytest.raises(ValueError, match="at most 2"):
        vote.encrypt(7, new_nonce(), ["c1", "c2", "c3"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"manifest": [{"id": "c1", "options": ["c1"], "limit": 1}]}, "manifest"),
        ({"joint_key": "00" * 32}, "joint_key"),
        ({"n": 1}, "ceremony"),
    ],
)
def test_a_vote_object_the_client_cannot_trust_is_refused(change: Any, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        TrusteeVote.from_vote(vote_object(SELECTION, **change))


def test_the_hash_depends_on_the_vote_id_not_on_anything_the_server_says() -> None:
    one = TrusteeVote.from_vote({**vote_object(MOTION, 1), "vote_hash": "ff" * 32})
    two = TrusteeVote.from_vote(vote_object(MOTION, 2))
    assert one.vote_hash != two.vote_hash
    expected = tballot.vote_hash(ceremony_hash("ceremony-1", 3, 2), "1", one.layout, JOINT)
    assert one.vote_hash == expected


# --- through the client, with a fake network ----------------------------------------


@pytest.fixture
def kiosk() -> Iterator[tuple[KioskClient, FakeSocket]]:
    socket = FakeSocket()
    client = KioskClient(
        "http://hall", KioskKey.generate(), "dev-3", socket=socket, ack_timeout_s=0.05
    )
    connecting = threading.Thread(target=client.connect, kwargs={"timeout": WAIT})
    connecting.start()
    _, callback = socket.next("authenticate")
    callback({"ok": True, "seat": 3, "member": {"id": 33, "name": "代表三"},
              "state": {"open_vote": vote_object(MOTION, 1)}})  # fmt: skip
    connecting.join(WAIT)
    assert client.authenticated
    yield client, socket
    client.close()


def _vote_async(client: KioskClient, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(client.vote(1, **kwargs)), daemon=True)
    thread.start()
    return thread, out


def test_the_client_encrypts_for_the_open_vote_and_resends_the_same_payload(kiosk) -> None:
    client, socket = kiosk
    thread, out = _vote_async(client, ballot={"budget": "yes", "plan": "no"})
    first, _lost = socket.next("ballot")
    again, callback = socket.next("ballot")
    assert again == first and set(first) == {"vote", "nonce", "encrypted", "sig"}
    trustee_vote = TrusteeVote.from_vote(vote_object(MOTION, 1))
    tballot.verify_ballot(trustee_vote.vote_hash, JOINT, trustee_vote.layout, "33",
                          first["nonce"], first["encrypted"])  # fmt: skip
    assert decrypted_marks(trustee_vote.layout, first["encrypted"]) == [[1, 0], [0, 1]]
    callback(receipt_for(again))
    thread.join(WAIT)
    assert out[0]["nonce"] == first["nonce"] and len(client.outbox) == 0


def test_a_ballot_encrypted_ahead_is_sent_as_prepared(kiosk) -> None:
    client, socket = kiosk
    client.events.record("vote_opened", vote_object(SELECTION, 1))  # a later vote 1
    prepared = client.prepare(1, ["c2"])
    assert set(prepared) == {"vote", "nonce", "encrypted", "sig"}
    thread, out = _vote_async(client, prepared=prepared)
    sent, callback = socket.next("ballot")
    assert sent == prepared
    callback(receipt_for(sent))
    thread.join(WAIT)
    assert out[0]["nonce"] == prepared["nonce"]


def test_waiting_again_for_an_unacknowledged_ballot_does_not_encrypt_anew(kiosk) -> None:
    client, socket = kiosk
    prepared = client.prepare(1, {"budget": "abstain", "plan": "yes"})
    client.outbox.add(prepared, 0.0)  # as left by a vote() that passed its deadline
    thread, out = _vote_async(client, ballot=None, nonce=prepared["nonce"])
    sent, callback = socket.next("ballot")
    assert sent == prepared
    callback(receipt_for(sent))
    thread.join(WAIT)
    assert out[0]["nonce"] == prepared["nonce"]


def test_the_member_id_comes_from_the_connection_not_from_the_vote(kiosk) -> None:
    client, _socket = kiosk
    client.member = None
    client.state = {"open_vote": vote_object(MOTION, 1)}
    with pytest.raises(RuntimeError, match="member"):
        client.prepare(1, {"budget": "yes", "plan": "yes"})


def test_a_vote_not_yet_heard_is_asked_for_before_the_ballot_is_built(kiosk) -> None:
    """The presidium opened vote 2 a moment ago and its ``vote_opened`` has not reached
    this kiosk: the client asks for the state rather than send a plain ballot, which a
    trustee-mode vote refuses (invalid_ballot)."""
    client, socket = kiosk
    assert client.known_vote(2) is None
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(client.prepare(2, ["c1"])), daemon=True)
    thread.start()
    _, callback = socket.next("state")
    callback({"ok": True, "state": {"open_vote": vote_object(SELECTION, 2)}})
    thread.join(WAIT)
    assert set(out[0]) == {"vote", "nonce", "encrypted", "sig"} and out[0]["vote"] == 2
