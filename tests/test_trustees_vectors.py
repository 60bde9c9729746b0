"""tests/vectors/trustees.json: it is what the code builds today, and every case holds.

The file is shared with the JavaScript implementation; these tests recompute each of its
outputs from its inputs through ``crypto.trustees``'s public calls (not through the
generator), and check that every tampered variant is refused naming the same field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from crypto.trustees import ballot as bal
from crypto.trustees import ceremony as cer
from crypto.trustees import decryption as dec
from crypto.trustees.group import ORDER, Element, G, Scalar, TrusteeCryptoError
from crypto.trustees.hashing import H, Hq
from tests import trustee_vectors

DATA: dict[str, Any] = json.loads(trustee_vectors.VECTORS.read_text(encoding="utf-8"))
CER = DATA["ceremony"]
H_C = bytes.fromhex(CER["H_C"])
JOINT = Element.from_hex(CER["joint_key"])
TRUSTEES = {t["i"]: t for t in CER["trustees"]}
VOTES = {v["name"]: v for v in DATA["votes"]}


def test_the_file_is_what_the_generator_builds() -> None:
    # Regenerated from the fixed inputs; a change of the spec's bytes shows up here.
    assert trustee_vectors.render(trustee_vectors.build()) == trustee_vectors.VECTORS.read_text(
        encoding="utf-8"
    )


def test_group_constants() -> None:
    assert int(DATA["group"]["order"]) == ORDER
    assert DATA["group"]["base"] == G.hex()


@pytest.mark.parametrize("case", DATA["hashing"], ids=lambda c: str(len(c["parts"])))
def test_hashing(case: dict[str, Any]) -> None:
    key = bytes.fromhex(case["key"])
    parts = [trustee_vectors.part_from_json(p) for p in case["parts"]]
    assert H(key, *parts).hex() == case["H"]
    assert Hq(key, *parts).hex() == case["Hq"]


def test_ceremony() -> None:
    assert cer.ceremony_hash(CER["ceremony_id"], CER["n"], CER["k"]) == H_C
    keys = {}
    for i, t in TRUSTEES.items():
        poly = cer.Polynomial(tuple(Scalar.from_hex(a) for a in t["coefficients"]))
        us = [Scalar.from_hex(u) for u in t["schnorr_u"]]
        assert [c.to_json() for c in cer.commit(H_C, i, poly, us)] == t["commitments"]
        published = [cer.CoefficientCommitment.from_json(c) for c in t["commitments"]]
        cer.verify_commitments(H_C, i, CER["k"], published)
        keys[i] = [c.commitment for c in published]
        assert poly.evaluate(i).hex() == t["own_share"]
        for share in t["shares"]:
            assert poly.evaluate(share["to"]).hex() == share["value"]
    received: dict[int, list[Scalar]] = {
        i: [Scalar.from_hex(t["own_share"])] for i, t in TRUSTEES.items()
    }
    for i, t in TRUSTEES.items():
        for share in t["shares"]:
            ell = share["to"]
            enc = cer.encrypt_share(
                H_C,
                i,
                ell,
                keys[ell][0],
                Scalar.from_hex(share["value"]),
                Scalar.from_hex(share["xi"]),
            )
            assert enc.to_json() == share["encrypted"]
            a_ell0 = Scalar.from_hex(TRUSTEES[ell]["coefficients"][0])
            opened = cer.decrypt_share(
                H_C, i, ell, a_ell0, cer.EncryptedShare.from_json(share["encrypted"])
            )
            assert opened.hex() == share["value"]
            cer.verify_share(i, ell, opened, keys[i])
            received[ell].append(opened)
    assert cer.joint_key([keys[i][0] for i in keys]).hex() == CER["joint_key"]
    for ell, t in TRUSTEES.items():
        s = cer.secret_share(received[ell])
        assert s.hex() == t["secret_share"]
        assert cer.public_share(ell, list(keys.values())).hex() == t["public_share"] == (G**s).hex()


def nonces_from_json(data: list[dict[str, Any]]) -> bal.BallotNonces:
    return tuple(bal.ContestNonces.from_json(c) for c in data)


@pytest.mark.parametrize("name", VOTES)
def test_vote(name: str) -> None:
    vote = VOTES[name]
    layout = bal.Layout.from_json(vote["layout"])
    assert layout.manifest() == vote["manifest"]
    h_v = bal.vote_hash(H_C, vote["vote_id"], layout, JOINT)
    assert h_v.hex() == vote["H_V"]
    parsed = []
    for b in vote["ballots"]:
        wire = bal.encrypt_ballot(
            h_v,
            JOINT,
            layout,
            b["member_id"],
            b["nonce"],
            b["marks"],
            nonces_from_json(b["nonces"]),
        )
        assert wire == b["ballot"]
        ballot = bal.verify_ballot(h_v, JOINT, layout, b["member_id"], b["nonce"], b["ballot"])
        assert (
            bal.ballot_context(h_v, b["member_id"], b["nonce"], ballot.ciphertexts()).hex()
            == b["H_B"]
        )
        parsed.append(ballot)
    aggregates = bal.aggregate(layout, parsed)
    assert bal.aggregates_to_json(aggregates) == vote["aggregates"]
    public = {i: Element.from_hex(t["public_share"]) for i, t in TRUSTEES.items()}
    partials = {}
    for p in vote["partials"]:
        i = p["i"]
        us = [[Scalar.from_hex(u) for u in row] for row in p["u"]]
        mine = dec.partial_decrypt_all(
            h_v, i, Scalar.from_hex(TRUSTEES[i]["secret_share"]), aggregates, us
        )
        assert dec.partials_to_json(mine) == p["partials"]
        partials[i] = dec.partials_from_json(layout, p["partials"])
    for entry in vote["lagrange"]:
        seats = entry["trustees"]
        assert [dec.lagrange(i, seats).hex() for i in seats] == entry["w"]
        chosen = {i: partials[i] for i in seats}
        counts = dec.decrypt_counts(
            h_v, layout, aggregates, public, chosen, CER["k"], JOINT, vote["bound"]
        )
        assert counts == vote["counts"]
    # the counts are the marks' sums: what a paper count of these ballots would give
    for n, contest in enumerate(layout.contests):
        for o, option in enumerate(contest.options):
            assert vote["counts"][contest.id][option] == sum(
                b["marks"][n][o] for b in vote["ballots"]
            )


def _refuse(case: dict[str, Any]) -> None:
    kind = case["kind"]
    public = {i: Element.from_hex(t["public_share"]) for i, t in TRUSTEES.items()}
    if kind == "ballot":
        vote = VOTES[case["vote"]]
        layout = bal.Layout.from_json(vote["layout"])
        h_v = bal.vote_hash(H_C, case["vote_id"], layout, JOINT)
        bal.verify_ballot(h_v, JOINT, layout, case["member_id"], case["nonce"], case["ballot"])
    elif kind == "commitments":
        items = [cer.CoefficientCommitment.from_json(c) for c in case["commitments"]]
        cer.verify_commitments(H_C, case["trustee"], CER["k"], items)
    elif kind == "share":
        i, ell = case["from"], case["to"]
        a_ell0 = Scalar.from_hex(TRUSTEES[ell]["coefficients"][0])
        share = cer.decrypt_share(
            H_C, i, ell, a_ell0, cer.EncryptedShare.from_json(case["encrypted"])
        )
        keys = [Element.from_hex(c["commitment"]) for c in TRUSTEES[i]["commitments"]]
        cer.verify_share(i, ell, share, keys)
    elif kind == "partial":
        vote = VOTES[case["vote"]]
        layout = bal.Layout.from_json(vote["layout"])
        agg = bal.aggregates_from_json(layout, vote["aggregates"])[case["contest"]][case["option"]]
        where = f"of aggregates[{case['contest']}][{case['option']}]"
        dec.verify_partial(
            bytes.fromhex(vote["H_V"]), case["trustee"], public[case["trustee"]], agg,
            dec.PartialDecryption.from_json(case["partial"]), where,
        )  # fmt: skip
    elif kind == "aggregates":
        vote = VOTES[case["vote"]]
        layout = bal.Layout.from_json(vote["layout"])
        partials = {
            p["i"]: dec.partials_from_json(layout, p["partials"])
            for p in vote["partials"]
            if p["i"] in case["trustees"]
        }
        dec.decrypt_counts(
            bytes.fromhex(vote["H_V"]), layout, bal.aggregates_from_json(layout, case["aggregates"]),
            public, partials, CER["k"], JOINT, vote["bound"],
        )  # fmt: skip
    else:
        raise AssertionError(f"unknown kind {kind}")


@pytest.mark.parametrize("case", DATA["tampered"], ids=lambda c: c["name"])
def test_tampered_variant_is_refused(case: dict[str, Any]) -> None:
    with pytest.raises(TrusteeCryptoError) as refused:
        _refuse(case)
    assert refused.value.field == case["field"]
    assert str(refused.value) == case["error"]


def test_every_kind_of_tamper_is_covered() -> None:
    names = " / ".join(c["name"] for c in DATA["tampered"])
    for needle in ("alpha", "beta", "option proof c_0", "option proof v_1", "limit proof",
                   "selection of 11", "another member", "another nonce", "another vote",
                   "commitment", "Schnorr", "Feldman", "partial decryption m",
                   "partial decryption c", "partial decryption v", "aggregate", "one trustee"):  # fmt: skip
        assert needle in names, needle
