"""Test vectors for trustee mode (docs/trustee-crypto.md): inputs → every output, byte for byte.

``tests/vectors/trustees.json`` is built here and checked by
``tests/test_trustees_vectors.py`` (Python, against ``crypto.trustees``) and by the
JavaScript twin's tests (``kiosk_client/static/js/trustees/``). Every random value of the
spec is fixed (derived from a label, and written in the file), so an implementation
reproduces every commitment, ciphertext and proof from the file's inputs alone:

- ``hashing``: H and Hq over part lists (``separator``, ``int``, ``text``, ``element``,
  ``scalar``, ``hash``: a 32-byte value as it is);
- ``ceremony``: n = 3, k = 2: each trustee's coefficients, Schnorr nonces ``u``, commitments
  with proofs, the share P_i(ℓ) sent to each other trustee with its ξ and encryption, its
  secret share s_ℓ and public share K̂_ℓ; the joint key K;
- ``votes``: a motion (2 subjects), a selection (10 of 12) and an evaluation (3
  departments): layout, manifest, H_V, ballots (member, nonce, marks, ``nonces``, H_B, the
  wire ballot), aggregates, each trustee's partial decryptions with their ``u``, Lagrange
  coefficients of every trustee set of size ≥ k, and the counts;
- ``tampered``: variants every implementation must refuse, each with the field Python
  names (``field``) and its message (``error``).

A ballot's ``nonces`` are, per contest, ``selections`` (per option ``xi``, the proof's
``u``, and ``c``/``v``: the simulated pair of the branch that is not the mark) and
``limit`` (``u``, then ``c``/``v`` for the L branches other than the contest's sum, in
increasing j).

The values are TEST ONLY: published here, they protect nothing.

Regenerate (only when the spec changes on purpose)::

    .venv/bin/python -m tests.trustee_vectors --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crypto.trustees import ballot as bal
from crypto.trustees import ceremony as cer
from crypto.trustees import decryption as dec
from crypto.trustees.group import ORDER, Element, G, Scalar, TrusteeCryptoError
from crypto.trustees.hashing import H, Hq, Part, Separator
from tests.support import layouts

VECTORS = Path(__file__).resolve().parent / "vectors" / "trustees.json"
TEST_ONLY = "TEST ONLY: every secret here is published and protects nothing"
N, K_THRESHOLD, MEMBERS = 3, 2, 5
CEREMONY_ID = "sitting-2026-11-22"


def fixed(label: str) -> Scalar:
    """A reproducible scalar for a label (the file records the value itself)."""
    return Scalar.reduce64(hashlib.sha512(b"congress-evote test vector " + label.encode()).digest())


# ------------------------------------------------------------------ hashing


def part_json(part: Part) -> dict[str, Any]:
    if isinstance(part, Separator):
        return {"separator": part.value}
    if isinstance(part, int):
        return {"int": part}
    if isinstance(part, str):
        return {"text": part}
    if isinstance(part, Element):
        return {"element": part.hex()}
    if isinstance(part, Scalar):
        return {"scalar": part.hex()}
    return {"hash": part.hex()}


def part_from_json(item: dict[str, Any]) -> Part:
    ((kind, value),) = item.items()
    decode: dict[str, Callable[[Any], Part]] = {
        "separator": Separator, "int": int, "text": str, "element": Element.from_hex,
        "scalar": Scalar.from_hex, "hash": bytes.fromhex,
    }  # fmt: skip
    return decode[kind](value)


def hashing_cases() -> list[dict[str, Any]]:
    g2 = G ** Scalar.from_int(2)
    cases: list[tuple[bytes, list[Part]]] = [
        (b"congress-evote trustees v1", [Separator(0), "sitting-1", 3, 2]),
        (bytes(range(32)), [Separator(0x12), "", "李华 𠀀", 0, 2**31 - 1]),
        (bytes(range(32)), [Separator(0x24), bytes(range(32, 64)), G, g2, fixed("hash scalar")]),
        (b"k", []),
    ]
    return [
        {"key": key.hex(), "parts": [part_json(p) for p in parts],
         "H": H(key, *parts).hex(), "Hq": Hq(key, *parts).hex()}
        for key, parts in cases
    ]  # fmt: skip


# ------------------------------------------------------------------ ceremony


class Ceremony:
    """The n = 3, k = 2 ceremony with fixed randomness."""

    def __init__(self) -> None:
        self.h_c = cer.ceremony_hash(CEREMONY_ID, N, K_THRESHOLD)
        seats = range(1, N + 1)
        self.polys = {
            i: cer.Polynomial(tuple(fixed(f"a {i} {j}") for j in range(K_THRESHOLD))) for i in seats
        }
        self.us = {i: [fixed(f"schnorr u {i} {j}") for j in range(K_THRESHOLD)] for i in seats}
        self.commitments = {i: cer.commit(self.h_c, i, self.polys[i], self.us[i]) for i in seats}
        self.keys = {i: [c.commitment for c in self.commitments[i]] for i in seats}
        self.encrypted: dict[tuple[int, int], cer.EncryptedShare] = {}
        received: dict[int, list[Scalar]] = {ell: [self.polys[ell].evaluate(ell)] for ell in seats}
        for i in seats:
            for ell in seats:
                if i != ell:
                    enc = cer.encrypt_share(
                        self.h_c, i, ell, self.keys[ell][0], self.polys[i].evaluate(ell),
                        fixed(f"share xi {i} {ell}"),
                    )  # fmt: skip
                    self.encrypted[i, ell] = enc
                    share = cer.decrypt_share(
                        self.h_c, i, ell, self.polys[ell].coefficients[0], enc
                    )
                    cer.verify_share(i, ell, share, self.keys[i])
                    received[ell].append(share)
        self.secret = {ell: cer.secret_share(received[ell]) for ell in seats}
        self.public = {ell: cer.public_share(ell, list(self.keys.values())) for ell in seats}
        self.joint_key = cer.joint_key([self.keys[i][0] for i in seats])

    def to_json(self) -> dict[str, Any]:
        return {
            "ceremony_id": CEREMONY_ID, "n": N, "k": K_THRESHOLD, "H_C": self.h_c.hex(),
            "trustees": [
                {
                    "i": i,
                    "coefficients": [a.hex() for a in self.polys[i].coefficients],
                    "schnorr_u": [u.hex() for u in self.us[i]],
                    "commitments": [c.to_json() for c in self.commitments[i]],
                    "shares": [
                        {"to": ell, "value": self.polys[i].evaluate(ell).hex(),
                         "xi": fixed(f"share xi {i} {ell}").hex(),
                         "encrypted": self.encrypted[i, ell].to_json()}
                        for ell in self.polys if ell != i
                    ],
                    "own_share": self.polys[i].evaluate(i).hex(),
                    "secret_share": self.secret[i].hex(),
                    "public_share": self.public[i].hex(),
                }
                for i in self.polys
            ],
            "joint_key": self.joint_key.hex(),
        }  # fmt: skip


# ------------------------------------------------------------------ votes

VOTES: list[tuple[str, bal.Layout, list[list[list[int]]]]] = [
    ("motion", layouts.motion(["regulation", "budget"]),
     [[[1, 0], [0, 1]], [[1, 0], [0, 0]], [[0, 1], [1, 0]], [[0, 0], [0, 0]]]),
    ("selection", layouts.selection([f"c{n}" for n in range(1, 13)], 10),
     [[[1] * 10 + [0, 0]], [[0, 1, 1] + [0] * 9], [[0] * 12]]),
    ("evaluation", layouts.evaluation(["教育局", "卫生健康委员会", "交通运输局"]),
     [[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0], [1, 0, 0]],
      [[0, 0, 1], [0, 1, 0], [0, 1, 0]]]),
]  # fmt: skip
TRUSTEE_SETS = [(1, 2), (1, 3), (2, 3), (1, 2, 3)]


def ballot_nonces(layout: bal.Layout, label: str) -> bal.BallotNonces:
    def rn(tag: str, bound: int) -> bal.RangeNonces:
        return bal.RangeNonces(
            fixed(f"{tag} u"),
            tuple(fixed(f"{tag} c{j}") for j in range(bound)),
            tuple(fixed(f"{tag} v{j}") for j in range(bound)),
        )

    return tuple(
        bal.ContestNonces(
            tuple(
                bal.SelectionNonces(fixed(f"{label} {n} {o} xi"), rn(f"{label} {n} {o}", 1))
                for o in range(len(contest.options))
            ),
            rn(f"{label} {n} limit", contest.limit),
        )
        for n, contest in enumerate(layout.contests)
    )


def nonces_json(nonces: bal.BallotNonces) -> list[dict[str, Any]]:
    return [cn.to_json() for cn in nonces]


class Vote:
    def __init__(self, c: Ceremony, name: str, layout: bal.Layout, marks: list[Any]) -> None:
        self.name, self.layout, self.marks = name, layout, marks
        self.vote_id = f"vote-{name}"
        self.h_v = bal.vote_hash(c.h_c, self.vote_id, layout, c.joint_key)
        self.ballots = []
        for b, ballot_marks in enumerate(marks):
            member, nonce = f"member-{b + 1}", f"nonce-{name}-{b + 1}"
            nonces = ballot_nonces(layout, f"{name} ballot {b}")
            wire = bal.encrypt_ballot(
                self.h_v, c.joint_key, layout, member, nonce, ballot_marks, nonces
            )
            parsed = bal.verify_ballot(self.h_v, c.joint_key, layout, member, nonce, wire)
            h_b = bal.ballot_context(self.h_v, member, nonce, parsed.ciphertexts())
            self.ballots.append((member, nonce, ballot_marks, nonces, h_b, wire, parsed))
        self.aggregates = bal.aggregate(layout, [b[6] for b in self.ballots])
        self.partial_us = {
            i: [[fixed(f"{name} partial u {i} {n} {o}") for o in range(len(ct.options))]
                for n, ct in enumerate(layout.contests)]
            for i in c.polys
        }  # fmt: skip
        self.partials = {
            i: dec.partial_decrypt_all(
                self.h_v, i, c.secret[i], self.aggregates, self.partial_us[i]
            )
            for i in c.polys
        }
        self.counts = dec.decrypt_counts(
            self.h_v, layout, self.aggregates, c.public, self.partials, K_THRESHOLD,
            c.joint_key, MEMBERS,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "vote_id": self.vote_id, "layout": self.layout.to_json(),
            "manifest": self.layout.manifest(), "H_V": self.h_v.hex(), "bound": MEMBERS,
            "ballots": [
                {"member_id": m, "nonce": n, "marks": marks, "nonces": nonces_json(nonces),
                 "H_B": h_b.hex(), "ballot": wire}
                for m, n, marks, nonces, h_b, wire, _ in self.ballots
            ],
            "aggregates": bal.aggregates_to_json(self.aggregates),
            "partials": [
                {"i": i, "u": [[u.hex() for u in row] for row in self.partial_us[i]],
                 "partials": dec.partials_to_json(self.partials[i])}
                for i in self.partials
            ],
            "lagrange": [
                {"trustees": list(s), "w": [dec.lagrange(i, s).hex() for i in s]}
                for s in TRUSTEE_SETS
            ],
            "counts": self.counts,
        }  # fmt: skip


# ------------------------------------------------------------------ tampered


def flip(hex_text: str, byte: int = 0, mask: int = 0x01) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[byte] ^= mask
    return raw.hex()


def flip_valid(hex_text: str) -> str:
    """The first single-bit flip of an element's encoding that still decodes (a valid,
    different element): the tamper reaches the proofs, not the decoder."""
    for byte in range(32):
        for bit in range(8):
            flipped = flip(hex_text, byte, 1 << bit)
            try:
                Element.from_hex(flipped)
            except TrusteeCryptoError:
                continue
            return flipped
    raise AssertionError("no valid flip")


def times_g(hex_text: str) -> str:
    return (Element.from_hex(hex_text) * G).hex()


def refusal(check: Callable[[], Any]) -> dict[str, str]:
    """The field and message of the refusal ``check`` raises (it must raise)."""
    try:
        check()
    except TrusteeCryptoError as error:
        return {"field": error.field, "error": str(error)}
    raise AssertionError("a tampered variant was accepted")


def forged_over_limit(c: Ceremony, vote: Vote) -> dict[str, Any]:
    """A selection of 11 when seats = 10: honest 0/1 proofs, and a limit proof made by
    the prover's arithmetic for σ = 10 over a sum that is 11 (it cannot verify)."""
    layout, member, nonce = vote.layout, "member-9", "nonce-over-limit"
    (contest,) = layout.contests
    marks = [1] * 11 + [0]
    nonces = ballot_nonces(layout, "over limit")
    (cn,) = nonces
    cts = [bal.Ciphertext(G**sn.xi, c.joint_key ** (Scalar.from_int(m) + sn.xi))
           for m, sn in zip(marks, cn.selections, strict=True)]  # fmt: skip
    h_b = bal.ballot_context(vote.h_v, member, nonce, cts)
    selections = tuple(
        bal.EncryptedSelection(ct, bal.prove_range(
            vote.h_v, bal._option_prefix(h_b, 0, o), c.joint_key, ct, m, sn.xi, 1, sn.proof))
        for o, (ct, m, sn) in enumerate(zip(cts, marks, cn.selections, strict=True))
    )  # fmt: skip
    total_xi = Scalar.from_int(0)
    for sn in cn.selections:
        total_xi = total_xi + sn.xi
    limit = bal._range_proof(
        vote.h_v, bal._limit_prefix(h_b, 0), c.joint_key, bal._product(cts), contest.limit,
        total_xi, contest.limit, cn.limit,
    )  # fmt: skip
    return bal.EncryptedBallot((bal.EncryptedContest(selections, limit),)).to_json()


def tampered_cases(c: Ceremony, votes: dict[str, Vote]) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []

    def ballot_case(
        name: str, vote: Vote, wire: Any, member: str, nonce: str, vote_id: str | None = None
    ) -> None:
        vote_id = vote.vote_id if vote_id is None else vote_id
        h_v = bal.vote_hash(c.h_c, vote_id, vote.layout, c.joint_key)
        check = lambda: bal.verify_ballot(h_v, c.joint_key, vote.layout, member, nonce, wire)  # noqa: E731
        cases.append({"name": name, "kind": "ballot", "vote": vote.name, "vote_id": vote_id,
                      "member_id": member, "nonce": nonce, "ballot": wire, **refusal(check)})  # fmt: skip

    motion = votes["motion"]
    member, nonce, *_, wire, _parsed = motion.ballots[0]

    def edit(path: list[Any], change: Callable[[Any], Any]) -> Any:
        copy = json.loads(json.dumps(wire))
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = change(node[path[-1]])
        return copy

    sel = ["contests", 0, "selections", 1]
    for part in ("alpha", "beta"):
        ballot_case(f"{part} byte flipped (not an element)", motion, edit([*sel, part], flip),
                    member, nonce)  # fmt: skip
        ballot_case(f"{part} byte flipped (another element)", motion,
                    edit([*sel, part], flip_valid), member, nonce)  # fmt: skip
    ballot_case("alpha times g", motion, edit([*sel, "alpha"], times_g), member, nonce)
    ballot_case("beta times g (a 0 made a 1)", motion, edit([*sel, "beta"], times_g), member, nonce)
    for j in range(2):
        for part in ("c", "v"):
            ballot_case(f"option proof {part}_{j} byte flipped", motion,
                        edit([*sel, "proof", part, j], flip), member, nonce)  # fmt: skip
            ballot_case(f"limit proof {part}_{j} byte flipped", motion,
                        edit(["contests", 1, "proof", part, j], flip), member, nonce)  # fmt: skip
    ballot_case("moved to another member", motion, wire, "member-2", nonce)
    ballot_case("moved to another nonce", motion, wire, member, "nonce-replayed")
    ballot_case("scalar not below the order", motion,
                edit([*sel, "proof", "v", 0], lambda _: ORDER.to_bytes(32, "little").hex()),
                member, nonce)  # fmt: skip
    ballot_case("identity alpha", motion, edit([*sel, "alpha"], lambda _: "00" * 32), member, nonce)
    ballot_case("uppercase hex", motion, edit([*sel, "beta"], str.upper), member, nonce)
    ballot_case("a selection missing", motion,
                edit(["contests", 0, "selections"], lambda s: s[:1]), member, nonce)  # fmt: skip
    selection = votes["selection"]
    ballot_case("selection of 11 with seats 10 (forged limit proof)", selection,
                forged_over_limit(c, selection), "member-9", "nonce-over-limit")  # fmt: skip
    ballot_case("moved to another vote", motion, wire, member, nonce, "vote-motion-2")

    # ceremony
    def commitment_case(
        name: str, i: int, index: int, change: Callable[[dict[str, Any]], None]
    ) -> None:
        items = [cc.to_json() for cc in c.commitments[i]]
        change(items[index])
        check = lambda: cer.verify_commitments(  # noqa: E731
            c.h_c, i, K_THRESHOLD, [cer.CoefficientCommitment.from_json(x) for x in items]
        )
        cases.append({"name": name, "kind": "commitments", "trustee": i, "commitments": items,
                      **refusal(check)})  # fmt: skip

    commitment_case("commitment times g", 2, 1,
                    lambda x: x.update(commitment=times_g(x["commitment"])))  # fmt: skip
    commitment_case("Schnorr c byte flipped", 2, 0,
                    lambda x: x["proof"].update(c=flip(x["proof"]["c"])))  # fmt: skip
    commitment_case("Schnorr v byte flipped", 2, 1,
                    lambda x: x["proof"].update(v=flip(x["proof"]["v"])))  # fmt: skip

    def share_case(name: str, i: int, ell: int, enc: dict[str, Any]) -> None:
        def check() -> None:
            share = cer.decrypt_share(c.h_c, i, ell, c.polys[ell].coefficients[0],
                                      cer.EncryptedShare.from_json(enc))  # fmt: skip
            cer.verify_share(i, ell, share, c.keys[i])

        cases.append({"name": name, "kind": "share", "from": i, "to": ell, "encrypted": enc,
                      **refusal(check)})  # fmt: skip

    bad = cer.encrypt_share(c.h_c, 1, 3, c.keys[3][0],
                            c.polys[1].evaluate(3) + Scalar.from_int(1), fixed("bad share xi"))  # fmt: skip
    share_case("a share off by one (Feldman)", 1, 3, bad.to_json())
    good = c.encrypted[1, 3].to_json()
    share_case("share ciphertext byte flipped", 1, 3, {**good, "ct": flip(good["ct"], 5)})
    share_case("share beta times g", 1, 3, {**good, "beta": times_g(good["beta"])})

    # counting
    for vote in (motion, votes["evaluation"]):
        row = vote.partials[2][0][1].to_json()
        for name, changed in (
            ("m times g", {**row, "m": times_g(row["m"])}),
            ("c byte flipped", {**row, "c": flip(row["c"])}),
            ("v byte flipped", {**row, "v": flip(row["v"])}),
        ):
            check = lambda changed=changed, vote=vote: dec.verify_partial(  # noqa: E731
                vote.h_v,
                2,
                c.public[2],
                vote.aggregates[0][1],
                dec.PartialDecryption.from_json(changed),
                "of aggregates[0][1]",
            )
            cases.append({"name": f"{vote.name} partial decryption {name}", "kind": "partial",
                          "vote": vote.name, "trustee": 2, "contest": 0, "option": 1,
                          "partial": changed, **refusal(check)})  # fmt: skip
    aggregates = bal.aggregates_to_json(motion.aggregates)
    for part in ("alpha", "beta"):
        changed = json.loads(json.dumps(aggregates))
        changed[1][0][part] = times_g(changed[1][0][part])
        check = lambda changed=changed: dec.decrypt_counts(  # noqa: E731
            motion.h_v,
            motion.layout,
            bal.aggregates_from_json(motion.layout, changed),
            c.public,
            {i: motion.partials[i] for i in (1, 3)},
            K_THRESHOLD,
            c.joint_key,
            MEMBERS,
        )
        cases.append({"name": f"aggregate {part} times g", "kind": "aggregates",
                      "vote": "motion", "trustees": [1, 3], "aggregates": changed,
                      **refusal(check)})  # fmt: skip
    check = lambda: dec.decrypt_counts(  # noqa: E731
        motion.h_v,
        motion.layout,
        motion.aggregates,
        c.public,
        {1: motion.partials[1]},
        K_THRESHOLD,
        c.joint_key,
        MEMBERS,
    )
    cases.append({"name": "one trustee alone", "kind": "aggregates", "vote": "motion",
                  "trustees": [1], "aggregates": aggregates, **refusal(check)})  # fmt: skip
    return cases


def build() -> dict[str, Any]:
    c = Ceremony()
    votes = {name: Vote(c, name, layout, marks) for name, layout, marks in VOTES}
    return {
        "comment": "docs/trustee-crypto.md; built by tests/trustee_vectors.py. " + TEST_ONLY,
        "group": {"order": str(ORDER), "base": G.hex()},
        "hashing": hashing_cases(),
        "ceremony": c.to_json(),
        "votes": [v.to_json() for v in votes.values()],
        "tampered": tampered_cases(c, votes),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {VECTORS}")
    args = parser.parse_args()
    text = render(build())
    if args.write:
        VECTORS.write_text(text, encoding="utf-8")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
