"""Test vectors for the scrutineer device's check of presented aggregates
(audit/trustee_presented.py, kiosk_client/static/js/trustees/presented.mjs).

``tests/vectors/trustee_presented.json`` is built here and checked by
``tests/test_trustee_aggregates_guard.py`` (Python) and
``tests/js/trustees_presented.test.mjs`` (JavaScript): both must accept the honest
case and refuse every other one naming the same ``field``.

- ``context``: ``{"vote_id", "manifest"}`` — a motion of two subjects, vote 41;
- ``honest``: 3 members' and 1 attending deputy's ballots, each encrypted to a test joint
  key and signed by its seat's tablet (P-256, raw r‖s, base64) over the
  ``encrypted-ballot`` statement, the tablets' keys, the aggregates and the cast;
- ``cases``: the honest data changed as a dishonest server would, each with the
  ``field`` the check must name: one ballot's ciphertexts presented as the aggregate;
  a ballot the server encrypted itself (its tablet never signed it); a member counted
  twice; fewer ballots than cast; a tablet at another seat; a tablet never enrolled; a
  ballot of another vote; one tablet's ciphertext replayed in another's ballot.

Signatures and ciphertexts are random: the file is regenerated whole, never compared
with a fresh run. The values are TEST ONLY.

    .venv/bin/python -m tests.trustee_presented_vectors --write
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit.trustee_content import recompute_aggregates
from crypto import KioskKey, b64encode
from crypto.statements import encrypted_ballot_bytes
from crypto.trustees import ballot as tballot
from crypto.trustees.ceremony import ceremony_hash
from crypto.trustees.group import G, Scalar

VECTORS = Path(__file__).resolve().parent / "vectors" / "trustee_presented.json"
VOTE = 41
MANIFEST = [
    {"id": "budget", "options": ["yes", "no"], "limit": 1},
    {"id": "plan", "options": ["yes", "no"], "limit": 1},
]
# seat → (member, group, marks)
VOTERS = {
    3: (103, "members", [[1, 0], [0, 1]]),
    5: (105, "members", [[0, 1], [0, 0]]),
    8: (108, "members", [[1, 0], [1, 0]]),
    12: (112, "attending", [[0, 0], [1, 0]]),
}

Data = dict[str, Any]


def _signed(key: KioskKey, seat: int, member: int, nonce: str, encrypted: Any) -> Data:
    sig = b64encode(key.sign(encrypted_ballot_bytes(VOTE, seat, nonce, encrypted)))
    return {"vote": VOTE, "seat": seat, "nonce": nonce, "member": member,
            "device": f"dev-{seat}", "press": 1, "ballot": encrypted, "kiosk_sig": sig}  # fmt: skip


def _aggregates(ballots: dict[str, list[Data]]) -> Any:
    layout = tballot.Layout.from_json(MANIFEST)
    return recompute_aggregates(layout, {g: [{"ballot": b["ballot"]} for b in rows]
                                         for g, rows in ballots.items()})  # fmt: skip


def build() -> dict[str, Any]:
    layout = tballot.Layout.from_json(MANIFEST)
    joint = G ** Scalar.random()
    h_v = tballot.vote_hash(ceremony_hash("ceremony-presented", 3, 2), str(VOTE), layout, joint)
    keys = {seat: KioskKey.generate() for seat in VOTERS}

    def encrypted(seat: int, marks: list[list[int]]) -> Any:
        member = VOTERS[seat][0]
        return tballot.encrypt_ballot(h_v, joint, layout, str(member), f"n-{seat}", marks)

    ballots: dict[str, list[Data]] = {"members": [], "attending": []}
    for seat, (member, group, marks) in VOTERS.items():
        ballots[group].append(
            _signed(keys[seat], seat, member, f"n-{seat}", encrypted(seat, marks))
        )
    devices = {f"dev-{s}": {"seat": s, "public_key": k.public.spki_b64} for s, k in keys.items()}
    honest = {"ballots": ballots, "devices": devices, "aggregates": _aggregates(ballots),
              "cast": {g: len(rows) for g, rows in ballots.items()}}  # fmt: skip

    def case(name: str, field: str, change: Callable[[Data], None]) -> dict[str, Any]:
        data = copy.deepcopy(honest)
        change(data)
        return {"name": name, "field": field, **data}

    def single(d: Data) -> None:  # one deputy's ciphertexts as the "sum"
        first = d["ballots"]["members"][0]["ballot"]
        d["aggregates"]["members"] = [
            [{"alpha": s["alpha"], "beta": s["beta"]} for s in c["selections"]]
            for c in first["contests"]
        ]

    def forged(d: Data) -> None:  # the server's own ballot under seat 5's name
        d["ballots"]["members"][1]["ballot"] = encrypted(5, [[1, 0], [1, 0]])
        d["aggregates"] = _aggregates(d["ballots"])

    def twice(d: Data) -> None:
        d["ballots"]["members"].append(copy.deepcopy(d["ballots"]["members"][0]))
        d["cast"]["members"] += 1
        d["aggregates"] = _aggregates(d["ballots"])

    def fewer(d: Data) -> None:
        d["ballots"]["members"].pop()
        d["aggregates"] = _aggregates(d["ballots"])

    def moved(d: Data) -> None:
        d["devices"]["dev-5"]["seat"] = 6

    def unknown(d: Data) -> None:
        del d["devices"]["dev-8"]

    def replayed(d: Data) -> None:  # seat 8's tablet signs seat 3's first ciphertext
        mine = encrypted(8, [[1, 0], [1, 0]])
        mine["contests"][0]["selections"][0] = d["ballots"]["members"][0]["ballot"]["contests"][0][
            "selections"
        ][0]
        d["ballots"]["members"][2] = _signed(keys[8], 8, 108, "n-8", mine)
        d["aggregates"] = _aggregates(d["ballots"])

    def other_vote(d: Data) -> None:
        d["ballots"]["attending"][0]["vote"] = VOTE + 1

    cases = [
        case("single ballot as the aggregate", "aggregates.members[0][0] (contest 'budget' option 'yes')", single),
        case("forged ballot", "ballots.members[1] (member 105 nonce n-5).kiosk_sig", forged),
        case("member counted twice", "ballots.members[3] (member 103 nonce n-3).member", twice),
        case("fewer ballots than cast", "ballots.members", fewer),
        case("tablet at another seat", "ballots.members[1] (member 105 nonce n-5).device", moved),
        case("tablet never enrolled", "ballots.members[2] (member 108 nonce n-8).device", unknown),
        case("ciphertext replayed", "ballots.members[2] (member 108 nonce n-8).ballot", replayed),
        case("another vote's ballot", "ballots.attending[0] (member 112 nonce n-12).vote", other_vote),
    ]  # fmt: skip
    return {"context": {"vote_id": str(VOTE), "manifest": MANIFEST}, "honest": honest,
            "cases": cases}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {VECTORS}")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.write:
        VECTORS.write_text(text, encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
