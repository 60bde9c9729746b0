"""The verifier against a dishonest server in trustee mode (docs/trustee-votes.md): an
honest log of a trustee-mode secret motion (a key ceremony of three scrutineers, k = 2,
encrypted ballots, aggregates, two partial decryptions, the result) verifies with
``"content": "proven"``; each tampered copy — a ciphertext, a ballot proof, an
aggregate, a partial decryption, its proof, a count of the result, the joint key at the
opening — re-signed and re-chained by the server's key (and, where the kiosk signature
covers the change, re-signed by the seat's own key too, as a colluding tablet would) is
refused at the tampered entry, naming what mismatched."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from audit.entry import canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.trustee_votes import decrypted_totals
from audit.verify import verify_log
from crypto import KioskKey, ServerKey, b64encode
from crypto.statements import encrypted_ballot_bytes
from crypto.trustees.group import G, Scalar
from rules.kinds import VoteKind
from tests.support import service_hall
from tests.support.service_hall import Hall
from tests.test_trustee_votes_hall import SEATS, _cast, _ceremony, _decrypt, _encrypted
from voting_server.models import Vote
from voting_server.services import trustee_votes


@dataclass(frozen=True)
class Honest:
    lines: list[bytes]
    server: ServerKey
    kiosks: dict[int, KioskKey]
    vote: int


_CACHE: dict[str, Honest] = {}
hall = service_hall.hall  # the fixture, used once (``honest``)


@pytest.fixture
def honest(request: pytest.FixtureRequest) -> Honest:
    """One honest trustee-mode sitting, built once for the module."""
    if "log" not in _CACHE:
        hall: Hall = request.getfixturevalue("hall")
        users, shares, _ = _ceremony(hall)
        vote_id = hall.configure(VoteKind.MOTION, secret=True)
        with hall.tx() as s:
            trustee_votes.set_trustee_mode(s, vote_id, True)
        hall.sign_in(*SEATS)
        hall.open(vote_id)
        with hall.sessions() as s:
            spec = s.get(Vote, vote_id).spec()  # type: ignore[union-attr]
        rng = random.Random(4)
        for seat in range(1, 6):
            plain = {s: rng.choice(["yes", "no", "abstain"]) for s in spec.subjects}
            _cast(hall, vote_id, seat, *_encrypted(hall, vote_id, seat, plain))
        hall.close(vote_id)
        _decrypt(hall, vote_id, users["jp1"], 1, shares[1])
        assert _decrypt(hall, vote_id, users["jp3"], 3, shares[3])["result"] is not None
        _CACHE["log"] = Honest(hall.lines(), hall.log.key, dict(hall.keys), vote_id)
    return _CACHE["log"]


def _index(lines: list[bytes], type_: str, nth: int = 0) -> int:
    found = [i for i, line in enumerate(lines) if json.loads(line)["type"] == type_]
    return found[nth]


def _resign(honest: Honest, index: int, change: Callable[[dict[str, Any]], None]) -> list[bytes]:
    """A dishonest server rewrites entry ``index`` and re-signs and re-chains the rest."""
    entries = [json.loads(line) for line in honest.lines]
    change(entries[index]["data"])
    lines = list(honest.lines[:index])
    for entry in entries[index:]:
        entry["prev"] = entry_hash(lines[-1])
        unsigned = unsigned_entry(
            entry["i"], entry["prev"], entry["t"], entry["type"], entry["data"]
        )
        lines.append(canonical_bytes(sign_entry(unsigned, honest.server.sign)))
    return lines


def _other_element() -> str:
    return (G ** Scalar.random()).hex()


def _kiosk_resigned(honest: Honest, change: Callable[[dict[str, Any]], None]) -> Callable:
    """``change`` to an ``encrypted_ballot`` entry, then its kiosk signature made anew by
    the seat's own key: past the signature, the proofs must catch it."""

    def both(data: dict[str, Any]) -> None:
        change(data["ballot"])
        statement = encrypted_ballot_bytes(
            data["vote"], data["seat"], data["nonce"], data["ballot"]
        )
        data["kiosk_sig"] = b64encode(honest.kiosks[data["seat"]].sign(statement))

    return both


def _first_error(honest: Honest, lines: list[bytes]) -> dict[str, Any]:
    report = verify_log(lines, honest.server.public_bytes)
    assert not report.ok
    return report.errors[0]


def test_the_honest_log_is_proven(honest: Honest) -> None:
    report = verify_log(honest.lines, honest.server.public_bytes)
    assert report.ok, report.errors
    assert {"vote": honest.vote, "content": "proven"} in report.votes


def _selection(ballot: dict[str, Any]) -> dict[str, Any]:
    return ballot["contests"][0]["selections"][1]


def _set_alpha(ballot: dict[str, Any]) -> None:
    _selection(ballot)["alpha"] = _other_element()


def _set_proof(ballot: dict[str, Any]) -> None:
    proof = _selection(ballot)["proof"]
    proof["v"][0] = Scalar.random().hex()


def _flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _set_aggregate(data: dict[str, Any]) -> None:
    data["aggregates"]["members"][0][1]["beta"] = _other_element()


def _set_partial(data: dict[str, Any]) -> None:
    data["shares"]["members"][0][0]["m"] = _other_element()


def _set_partial_proof(data: dict[str, Any]) -> None:
    data["shares"]["members"][0][0]["c"] = Scalar.random().hex()


def _set_count(data: dict[str, Any]) -> None:
    subject = next(iter(data["result"]["subjects"]))
    data["result"]["subjects"][subject]["yes"] += 1


def _set_joint_key(data: dict[str, Any]) -> None:
    data["trustees"]["joint_key"] = _other_element()


# (what, entry type, which of that type, the change, words the reason must contain)
VARIANTS: list[tuple[str, str, int, Any, tuple[str, ...]]] = [
    ("ciphertext, server-resigned", "encrypted_ballot", 1, "alpha", ("signature",)),
    # a changed ciphertext changes the ballot's context H_B, which every proof binds
    ("ciphertext, kiosk-resigned", "encrypted_ballot", 1, "alpha+kiosk",
     ("encrypted_ballot: member 2", "H_B")),
    ("ballot proof, kiosk-resigned", "encrypted_ballot", 2, "proof+kiosk",
     ("member 3", "selections[1].proof (contest 'regulation' option 'no')", "does not verify")),
    ("aggregate", "aggregates", 0, _set_aggregate, ("aggregates.members[0][1]", "product")),
    ("partial decryption", "decryption_share", 0, _set_partial, ("trustee 1", "shares.members[0][0]", "proof")),
    ("partial decryption's proof", "decryption_share", 1, _set_partial_proof,
     ("trustee 3", "shares.members[0][0]", "proof")),
    ("a count of the result", "result", -1, _set_count, ("result.subjects.regulation.yes", "recomputed")),
    ("the joint key at the opening", "vote_opened", -1, _set_joint_key,
     ("trustees.joint_key",)),
]  # fmt: skip


@pytest.mark.parametrize(("what", "type_", "nth", "change", "words"), VARIANTS,
                         ids=[v[0] for v in VARIANTS])  # fmt: skip
def test_a_tampered_trustee_mode_log_fails_at_the_entry_naming_the_mismatch(
    honest: Honest, what: str, type_: str, nth: int, change: Any, words: tuple[str, ...]
) -> None:
    index = _index(honest.lines, type_, nth)
    if change == "alpha":
        edit = lambda data: _set_alpha(data["ballot"])  # noqa: E731
    elif change == "alpha+kiosk":
        edit = _kiosk_resigned(honest, _set_alpha)
    elif change == "proof+kiosk":
        edit = _kiosk_resigned(honest, _set_proof)
    else:
        edit = change
    error = _first_error(honest, _resign(honest, index, edit))
    assert error["index"] == index, (what, error)
    for word in words:
        assert word in error["reason"], (what, error)


def test_a_vote_without_a_counted_ballot_needs_no_partial_and_takes_none() -> None:
    """``decrypted_totals``: all 0 without a partial; a partial posted anyway is refused."""
    context = {"manifest": [{"id": "m", "options": ["yes", "no"], "limit": 1}]}
    assert decrypted_totals(context, {}, [], {"members": 0}) == {
        "members": {"m": {"yes": 0, "no": 0}}
    }
    with pytest.raises(ValueError, match="nothing to decrypt"):
        decrypted_totals(context, {}, [{"trustee": 1, "shares": {}}], {"members": 0})
