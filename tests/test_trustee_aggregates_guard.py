"""A scrutineer's device never decrypts an aggregate it has not recomputed itself from
genuine, distinct, counted ballots (docs/trustee-votes.md, "Before decrypting").

The pure check (audit/trustee_presented.py) against the shared vectors that the
JavaScript twin checks too; then the Python trustee client (kiosk_client/trustee.py) on
a trustee-mode vote run through the service: with an honest server the check passes and
the decryption makes the result; a server presenting one deputy's ciphertexts as the
aggregate, a ballot its tablet never signed, a member counted twice, or fewer ballots
than cast is refused by name, and nothing is posted."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from audit.trustee_content import ContentMismatch, recompute_aggregates
from audit.trustee_presented import check_presented_aggregates
from crypto.trustees import ballot as tballot
from crypto.trustees import ceremony as dkg
from crypto.trustees.group import Element
from kiosk_client.trustee import AggregatesRefused, Seat, TrusteeClient
from rules import VoteKind, tally
from tests.support import paper, service_hall
from tests.support.service_hall import Hall
from tests.test_trustee_votes_hall import _cast, _ceremony, _encrypted
from voting_server.models import Vote
from voting_server.services import trustee_votes

hall = service_hall.hall  # the fixture
VECTORS = Path(__file__).resolve().parent / "vectors" / "trustee_presented.json"
SEATS = range(1, 41)  # signed in (a quorum); 9 of them press (PLAIN)
PLAIN = {"yes": [1, 2, 4, 5, 6], "no": [3, 8], "abstain": [9, 10]}  # seat 7 does not press


# --- the pure check, on the vectors the JavaScript twin checks too -----------------------


def _vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text("utf-8"))


def _check(context: dict[str, Any], d: dict[str, Any]) -> None:
    check_presented_aggregates(context, d["ballots"], d["devices"], d["aggregates"], d["cast"])


def test_the_honest_vectors_pass_and_every_case_is_refused_by_name() -> None:
    v = _vectors()
    _check(v["context"], v["honest"])
    names = [c["name"] for c in v["cases"]]
    for needed in ("single ballot as the aggregate", "forged ballot", "member counted twice",
                   "fewer ballots than cast"):  # fmt: skip
        assert needed in names
    for case in v["cases"]:
        with pytest.raises(ContentMismatch) as err:
            _check(v["context"], case)
        assert err.value.field == case["field"], case["name"]


def test_malformed_presented_data_is_refused_not_crashed_on() -> None:
    v = _vectors()
    for change in (
        lambda d: d["ballots"]["members"][0].pop("kiosk_sig"),
        lambda d: d["ballots"]["members"][0].update(kiosk_sig="not base64!"),
        lambda d: d["devices"]["dev-3"].update(public_key="AAAA"),
        lambda d: d["cast"].pop("attending"),
        lambda d: d["aggregates"].pop("attending"),
    ):
        data = copy.deepcopy(v["honest"])
        change(data)
        with pytest.raises(ContentMismatch):
            _check(v["context"], data)


# --- the trustee client against a server that lies ----------------------------------------


@dataclass
class HallTrustee(TrusteeClient):
    """The trustee client, its HTTP answered by the service functions the views call;
    ``lie`` rewrites what the server presents (``state``, ``ballots``, ``devices``)."""

    hall: Any = None
    user: Any = None
    lie: Callable[[dict[str, Any]], None] | None = None
    posted: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:  # no login: the service is called directly
        pass

    def _presented(self, vote: int) -> dict[str, Any]:
        with self.hall.sessions() as s:
            user = s.merge(self.user)
            state = trustee_votes.vote_state(s, vote, user)
            offset: int | None = 0
            ballots: dict[str, list[Any]] = {}
            devices: dict[str, Any] = {}
            while offset is not None:
                page = trustee_votes.presented_ballots(s, vote, user, offset)
                for group, rows in page["ballots"].items():
                    ballots.setdefault(group, []).extend(rows)
                devices.update(page["devices"])
                offset = page["next"]
        return {"state": state, "ballots": ballots, "devices": devices}

    def get(self, path: str) -> dict[str, Any]:
        match = re.fullmatch(r"votes/(\d+)(/ballots\?offset=(\d+))?", path)
        assert match is not None, path
        vote = int(match.group(1))
        if self.lie is None and match.group(2):  # the real pages, as the view serves them
            with self.hall.sessions() as s:
                return trustee_votes.presented_ballots(
                    s, vote, s.merge(self.user), int(match.group(3))
                )
        presented = self._presented(vote)
        if self.lie is not None:
            self.lie(presented)
        if not match.group(2):
            return presented["state"]
        return {"ok": True, "vote": vote, "next": None, "ballots": presented["ballots"],
                "devices": presented["devices"]}  # fmt: skip

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        vote = int(path.split("/")[1])
        self.posted.append(body)
        with self.hall.tx() as s:
            answer, _ = trustee_votes.post_decryption(
                s, self.hall.log, vote, s.merge(self.user), body
            )
        return answer


def _closed_motion(hall: Hall) -> tuple[dict[str, Any], dict[int, Any], dict[str, Any], int]:
    users, shares, key = _ceremony(hall)
    vote_id = hall.configure(VoteKind.MOTION, secret=True)
    paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, vote_id, True))
    hall.sign_in(*SEATS)
    hall.open(vote_id)
    with hall.sessions() as s:
        spec = s.get(Vote, vote_id).spec()  # type: ignore[union-attr]
    for choice, seats in PLAIN.items():
        for seat in seats:
            plain = {subject: choice for subject in spec.subjects}
            _cast(hall, vote_id, seat, *_encrypted(hall, vote_id, seat, plain))
    # seat 1 changes its mind: with last_press only its second ballot counts
    _cast(hall, vote_id, 1, *_encrypted(hall, vote_id, 1, dict.fromkeys(spec.subjects, "no")))
    hall.close(vote_id)
    return users, shares, key, vote_id


def _client(hall: Hall, users: dict[str, Any], shares: dict[int, Any], key: dict[str, Any],
            vote_id: int, index: int) -> HallTrustee:  # fmt: skip
    with hall.sessions() as s:
        data = s.get(Vote, vote_id).trustee_data  # type: ignore[union-attr]
    ceremony_id, n, k = data["ceremony_id"], data["n"], data["k"]
    client = HallTrustee("http://hall", f"jp{index}", "", hall=hall, user=users[f"jp{index}"])
    client.seats[ceremony_id] = Seat(ceremony_id, index, n, k, dkg.ceremony_hash(ceremony_id, n, k),
                                     dkg.Polynomial.random(k), shares[index], key)  # fmt: skip
    return client


def _reaggregate(p: dict[str, Any]) -> None:
    """The server makes its lie consistent: aggregates and cast from what it presents."""
    layout = tballot.Layout.from_json(p["state"]["manifest"])
    p["state"]["aggregates"] = recompute_aggregates(
        layout, {g: [{"ballot": b["ballot"]} for b in rows] for g, rows in p["ballots"].items()}
    )


def _single_as_aggregate(p: dict[str, Any]) -> None:
    first = p["ballots"]["members"][0]["ballot"]
    p["state"]["aggregates"]["members"] = [
        [{"alpha": s["alpha"], "beta": s["beta"]} for s in c["selections"]]
        for c in first["contests"]
    ]


def _single_ballot_presented(p: dict[str, Any]) -> None:
    p["ballots"]["members"] = p["ballots"]["members"][:1]
    _reaggregate(p)


def _forged(p: dict[str, Any]) -> None:
    """The server's own ballot (all "yes") in place of a deputy's: proofs fine, no
    tablet signed it."""
    state, victim = p["state"], p["ballots"]["members"][1]
    layout = tballot.Layout.from_json(state["manifest"])
    h_c = dkg.ceremony_hash(state["ceremony_id"], state["n"], state["k"])
    joint = Element.from_hex(state["joint_key"])
    h_v = tballot.vote_hash(h_c, str(state["vote"]), layout, joint)
    marks = [[1, 0] for _ in layout.contests]
    victim["ballot"] = tballot.encrypt_ballot(
        h_v, joint, layout, str(victim["member"]), victim["nonce"], marks
    )
    _reaggregate(p)


def _twice(p: dict[str, Any]) -> None:
    p["ballots"]["members"].append(copy.deepcopy(p["ballots"]["members"][0]))
    p["state"]["cast"]["members"] += 1
    _reaggregate(p)


def _fewer(p: dict[str, Any]) -> None:
    p["ballots"]["members"].pop()
    _reaggregate(p)


LIES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_single_as_aggregate, r"aggregates\.members\[0\]\[0\] \(contest '.+' option 'yes'\)"),
    (_single_ballot_presented, r"ballots\.members"),
    (_forged, r"ballots\.members\[1\] \(member \d+ nonce .+\)\.kiosk_sig"),
    (_twice, r"ballots\.members\[9\] \(member \d+ nonce .+\)\.member"),
    (_fewer, r"ballots\.members"),
]


def _shares_logged(hall: Hall) -> int:
    return [json.loads(line)["type"] for line in hall.lines()].count("decryption_share")


def test_the_client_refuses_every_lie_then_decrypts_the_honest_aggregates(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    users, shares, key, vote_id = _closed_motion(hall)
    client = _client(hall, users, shares, key, vote_id, 1)
    for lie, field_pattern in LIES:
        client.lie = lie
        with pytest.raises(AggregatesRefused, match="refused to decrypt") as err:
            client.decrypt_vote(vote_id)
        assert re.fullmatch(field_pattern, err.value.field), (lie.__name__, err.value.field)
        assert client.posted == [] and client.decrypted == []
        assert _shares_logged(hall) == 0
    # the honest server, its ballots served in pages of 3: the check passes, k decrypt
    monkeypatch.setattr(trustee_votes, "BALLOTS_PAGE", 3)
    client.lie = None
    assert client.decrypt_vote(vote_id) is True
    other = _client(hall, users, shares, key, vote_id, 3)
    assert other.decrypt_vote(vote_id) is True
    with hall.sessions() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        spec, result = vote.spec(), vote.result
    counted = {1: "no"} | {seat: c for c, seats in PLAIN.items() for seat in seats if seat != 1}
    ballots = [dict.fromkeys(spec.subjects, choice) for choice in counted.values()]
    assert result == tally(spec, 61, len(SEATS), ballots)
    assert _shares_logged(hall) == 2
    hall.verify()


def test_the_ballots_are_served_as_logged_to_trustees_and_the_presidium_after_close(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    users, _shares, _key, vote_id = _closed_motion(hall)
    monkeypatch.setattr(trustee_votes, "BALLOTS_PAGE", 4)
    logged = {e["i"]: e for e in map(json.loads, hall.lines())}
    with hall.sessions() as s:
        pages = [trustee_votes.presented_ballots(s, vote_id, s.merge(users["zhu"]), o)
                 for o in (0, 4, 8)]  # fmt: skip
        with pytest.raises(trustee_votes.Refusal) as err:
            trustee_votes.presented_ballots(s, vote_id, s.merge(users["sec"]))
        assert err.value.code == "decryption_not_trustee"
    assert [p["next"] for p in pages] == [4, 8, None] and pages[0]["total"] == 9
    served = [b for p in pages for b in p["ballots"]["members"]]
    (aggregates,) = [e for e in logged.values() if e["type"] == "aggregates"]
    assert served == [logged[i]["data"] for i in aggregates["data"]["counted"]]
    assert len({b["member"] for b in served}) == 9  # seat 1's first press is not counted
    devices = {d: k for p in pages for d, k in p["devices"].items()}
    enrolled = {e["data"]["device"]: {"seat": e["data"]["seat"], "public_key": e["data"]["public_key"]}
                for e in logged.values() if e["type"] == "device_enrolled"}  # fmt: skip
    assert devices == {b["device"]: enrolled[b["device"]] for b in served}
    # not before close
    later = hall.configure(VoteKind.SELECTION, secret=True)
    paper.act(hall, lambda s: trustee_votes.set_trustee_mode(s, later, True))
    hall.open(later)
    with hall.sessions() as s, pytest.raises(trustee_votes.Refusal) as err:
        trustee_votes.presented_ballots(s, later, s.merge(users["jp1"]))
    assert err.value.code == "decryption_not_ready"
