"""Trustee-mode secret votes through the service on the demo hall (docs/trustee-votes.md):
3 scrutineers hold a key ceremony (k = 2), tablets encrypt their ballots, the close logs
the aggregates, two scrutineers decrypt, and the result is the plaintext tally of the
marks the test chose; the log verifies with ``"content": "proven"``. Also: a bad proof
is refused and changes nothing; one share of two gives no result; a vote-key secret vote
is reported ``"server-trusted"``."""

from __future__ import annotations

import json
import random
import secrets
from typing import Any

import pytest

from audit.verify import verify_log
from crypto import b64encode
from crypto.statements import encrypted_ballot_bytes
from crypto.trustees import ballot as tballot
from crypto.trustees import ceremony as dkg
from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import Element
from rules import tally
from rules.kinds import VoteKind, kind_of
from tests.support import paper, service_hall
from tests.support.service_hall import Hall
from tests.support.trustees import Player
from voting_server.models import Vote
from voting_server.services import attendance, results, trustee_votes
from voting_server.services import trustee_ceremony as ceremony_service
from voting_server.services.refusals import Refusal

hall = service_hall.hall  # the fixture
SEATS = range(1, 41)


def _ceremony(hall: Hall) -> tuple[dict[str, Any], dict[int, Any], dict[str, Any]]:
    """Three designated scrutineers make the sitting's key; returns the users, each
    trustee's secret share by index, and the key."""
    u = paper.users(hall, designate=False)
    paper.act(hall, lambda s: results.designate_scrutineers(
        s, hall.log, paper.SITTING, u["zhu"], [u["jp1"].id, u["jp2"].id, u["jp3"].id], "经主任会议确定"
    ))  # fmt: skip
    trustees = [u["jp1"], u["jp2"], u["jp3"]]
    with hall.tx() as s:
        row = ceremony_service.start_ceremony(s, hall.log, paper.SITTING, s.merge(u["zhu"]), None)
        ceremony_id = row.ceremony_id
        state = ceremony_service.ceremony_state(s, ceremony_id, s.merge(trustees[0]))
    players = {i: Player.for_state(state, i) for i in range(1, state["n"] + 1)}
    opened: dict[int, dict[int, Any]] = {}
    for step in ("commitments", "shares", "verdicts"):
        for i, player in players.items():
            with hall.tx() as s:
                user = s.merge(trustees[i - 1])
                now = ceremony_service.ceremony_state(s, ceremony_id, user)
                if step == "verdicts":
                    opened[i] = player.opened(now)
                payload = (
                    player.commitments() if step == "commitments" else getattr(player, step)(now)
                )
                state = ceremony_service.post_step(s, hall.log, ceremony_id, step, user, payload)
    assert state["phase"] == "done"
    shares = {
        i: dkg.secret_share([*opened[i].values(), p.polynomial.evaluate(i)])
        for i, p in players.items()
    }
    return {**u, "trustees": trustees}, shares, state["key"]


def _ballot(kind: VoteKind, spec: Any, rng: random.Random) -> Any:
    if kind is VoteKind.MOTION:
        return {s: rng.choice(["yes", "no", "abstain"]) for s in spec.subjects}
    if kind is VoteKind.SELECTION:
        return rng.sample(list(spec.candidates), rng.randint(0, spec.seats))
    return {s: rng.choice(["satisfied", "basic", "unsatisfied"]) for s in spec.subjects}


def _encrypted(hall: Hall, vote_id: int, seat: int, plain: Any, nonce: str | None = None) -> Any:
    """What seat's tablet sends: the marks encrypted to the vote's key, signed."""
    with hall.sessions() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        data, spec = dict(vote.trustee_data or {}), vote.spec()
        member = attendance.member_at_seat(s, 1, seat)
        assert member is not None
        member_id = member.id
    nonce = nonce or secrets.token_urlsafe(16)
    layout = tballot.Layout.from_json(data["manifest"])
    h_c = dkg.ceremony_hash(data["ceremony_id"], data["n"], data["k"])
    key = Element.from_hex(data["joint_key"])
    h_v = tballot.vote_hash(h_c, str(vote_id), layout, key)  # the tablet's own H_V
    assert h_v.hex() == data["vote_hash"]
    marks = kind_of(spec.kind).option_marks(spec, plain)
    encrypted = tballot.encrypt_ballot(h_v, key, layout, str(member_id), nonce, marks)
    return nonce, encrypted


def _cast(hall: Hall, vote_id: int, seat: int, nonce: str, encrypted: Any) -> Any:
    signature = b64encode(
        hall.keys[seat].sign(encrypted_ballot_bytes(vote_id, seat, nonce, encrypted))
    )
    with hall.tx() as s:
        receipt, _ = hall.voting.cast(s, hall.log, hall.voters[seat], vote_id, nonce, encrypted,
                                      signature, "", encrypted=True)  # fmt: skip
    return receipt


def _decrypt(hall: Hall, vote_id: int, user: Any, index: int, share: Any) -> dict[str, Any]:
    with hall.sessions() as s:
        state = trustee_votes.vote_state(s, vote_id, s.merge(user))
    layout = tballot.Layout.from_json(state["manifest"])
    h_v = bytes.fromhex(trustee_votes_hash(hall, vote_id))
    shares = {}
    for group, rows in state["aggregates"].items():
        if state["cast"][group] == 0:
            continue
        aggs = tballot.aggregates_from_json(layout, rows)
        shares[group] = tdecrypt.partials_to_json(
            tdecrypt.partial_decrypt_all(h_v, index, share, aggs)
        )
    with hall.tx() as s:
        answer, _ = trustee_votes.post_decryption(
            s, hall.log, vote_id, s.merge(user), {"shares": shares}
        )
    return answer


def trustee_votes_hash(hall: Hall, vote_id: int) -> str:
    with hall.sessions() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None and vote.trustee_data is not None
        return str(vote.trustee_data["vote_hash"])


def _report(hall: Hall) -> dict[int, str]:
    report = verify_log(hall.lines(), hall.log.key.public_bytes)
    assert report.ok, report.errors
    return {v["vote"]: v["content"] for v in report.votes}


@pytest.mark.parametrize("kind", [VoteKind.MOTION, VoteKind.SELECTION, VoteKind.EVALUATION])
def test_a_trustee_mode_vote_from_tablets_to_a_proven_result(hall: Hall, kind: VoteKind) -> None:
    users, shares, _ = _ceremony(hall)
    vote_id = hall.configure(kind, secret=True)
    paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, vote_id, True))
    hall.sign_in(*SEATS)
    hall.open(vote_id)
    with hall.sessions() as s:
        spec = s.get(Vote, vote_id).spec()  # type: ignore[union-attr]
    rng = random.Random(20)
    chosen: dict[int, Any] = {}
    for seat in SEATS:
        if seat % 7 == 0:
            continue  # did not press
        plain = _ballot(kind, spec, rng)
        receipt = _cast(hall, vote_id, seat, *_encrypted(hall, vote_id, seat, plain))
        assert receipt.secret
        chosen[seat] = plain
    # with last_press a deputy may change their mind: the last ballot counts
    plain = _ballot(kind, spec, rng)
    _cast(hall, vote_id, 1, *_encrypted(hall, vote_id, 1, plain))
    chosen[1] = plain
    assert hall.close(vote_id) == {}  # no result until the scrutineers decrypt
    refused_announce = pytest.raises(Refusal)
    with refused_announce as err, hall.tx() as s:
        hall.voting.announce(s, hall.log, vote_id, 1)
    assert err.value.code == "awaiting_decryption"
    first = _decrypt(hall, vote_id, users["jp2"], 2, shares[2])
    assert first["shares"] == [2] and first["result"] is None and first["next"] == "wait"
    last = _decrypt(hall, vote_id, users["jp3"], 3, shares[3])
    expected = tally(spec, 61, len(SEATS), list(chosen.values()))
    assert last["result"] == expected
    assert _report(hall)[vote_id] == "proven"
    types = [json.loads(line)["type"] for line in hall.lines()]
    assert "ballots_released" not in types and types.count("decryption_share") == 2


def test_a_bad_proof_is_refused_and_one_share_gives_no_result(hall: Hall) -> None:
    users, shares, _ = _ceremony(hall)
    vote_id = hall.configure(VoteKind.MOTION, secret=True)
    paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, vote_id, True))
    hall.sign_in(*SEATS)
    hall.open(vote_id)
    with hall.sessions() as s:
        spec = s.get(Vote, vote_id).spec()  # type: ignore[union-attr]
    nonce, good = _encrypted(hall, vote_id, 2, {s: "yes" for s in spec.subjects})
    bad = json.loads(json.dumps(good))
    value = bad["contests"][0]["selections"][0]["proof"]["v"][0]
    bad["contests"][0]["selections"][0]["proof"]["v"][0] = good["contests"][0]["proof"]["v"][0]
    assert bad["contests"][0]["selections"][0]["proof"]["v"][0] != value
    service_hall.refused("bad_proof", hall, lambda: _cast(hall, vote_id, 2, nonce, bad))
    _cast(hall, vote_id, 2, nonce, good)
    hall.close(vote_id)
    answer = _decrypt(hall, vote_id, users["jp1"], 1, shares[1])
    assert answer["result"] is None and answer["shares"] == [1]
    with hall.sessions() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None and vote.result is None
        assert trustee_votes.decryption_view(vote) == {"shares": 1, "k": 2, "awaiting": True}
    assert _report(hall)[vote_id] == "unproven"
    # the paper fallback stays open: the presidium cancels, then a paper count follows
    paper.act(
        hall,
        lambda s: hall.voting.cancel_vote(s, hall.log, vote_id, users["zhu"].id, paper.FAILURE),
    )
    hall.verify()


def test_a_vote_key_secret_vote_is_server_trusted(hall: Hall) -> None:
    vote_id = hall.configure(VoteKind.MOTION, secret=True)
    hall.sign_in(*SEATS)
    hall.open(vote_id)
    with hall.sessions() as s:
        spec = s.get(Vote, vote_id).spec()  # type: ignore[union-attr]
    hall.press(3, vote_id, {s: "yes" for s in spec.subjects})
    hall.close(vote_id)
    assert _report(hall)[vote_id] == "server-trusted"


def test_trustee_mode_is_refused_for_named_votes_and_without_a_key(hall: Hall) -> None:
    vote_id = hall.configure(VoteKind.MOTION, secret=False)
    service_hall.refused("trustees_unsupported", hall,
                         lambda: paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, vote_id, True)))  # fmt: skip
    paper.act(hall, lambda s: setattr(s.get(Vote, vote_id), "secret", True))
    paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, vote_id, True))
    hall.sign_in(*SEATS)
    service_hall.refused("trustees_no_key", hall, lambda: hall.open(vote_id))


def test_a_trustee_mode_vote_without_a_ballot_has_its_result_at_close(hall: Hall) -> None:
    """Every aggregate is the identity, whose count is publicly 0: no scrutineer is asked
    to decrypt, the result is logged at close and the verifier proves it."""
    users, shares, _ = _ceremony(hall)
    vote_id = hall.configure(VoteKind.SELECTION, secret=True)
    paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, vote_id, True))
    hall.sign_in(*SEATS)
    hall.open(vote_id)
    with hall.sessions() as s:
        spec = s.get(Vote, vote_id).spec()  # type: ignore[union-attr]
    result = hall.close(vote_id)
    assert result == tally(spec, 61, len(SEATS), [])
    lines = [json.loads(line) for line in hall.lines()]
    aggregates = next(e["data"] for e in lines if e["type"] == "aggregates")
    assert set(aggregates["cast"].values()) == {0}
    assert {pair["alpha"] for rows in aggregates["aggregates"].values() for row in rows
            for pair in row} == {"00" * 32}  # fmt: skip
    logged = next(e["data"] for e in lines if e["type"] == "result")
    assert logged["content"]["trustees"] == []
    with hall.sessions() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        assert trustee_votes.decryption_view(vote) == {"shares": 0, "k": 2, "awaiting": False}
    service_hall.refused(
        "vote_has_result", hall, lambda: _decrypt(hall, vote_id, users["jp1"], 1, shares[1])
    )
    assert _report(hall)[vote_id] == "proven"
