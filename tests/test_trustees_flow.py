"""A whole trustee-mode vote in Python, with the OS's randomness: a 3-trustee, k = 2 key
ceremony, ballots of the three kinds' layouts, their aggregates and the counts from any
2 or all 3 trustees, and the refusals an auditor relies on (docs/trustee-crypto.md)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from crypto.trustees import ballot as bal
from crypto.trustees import ceremony as cer
from crypto.trustees import decryption as dec
from crypto.trustees.group import Element, G, Scalar, TrusteeCryptoError
from tests.support import layouts

N, K = 3, 2
MEMBERS = 20


@dataclass
class Trustees:
    h_c: bytes
    joint_key: Element
    secret: dict[int, Scalar]
    public: dict[int, Element]
    polys: dict[int, cer.Polynomial]
    commitments: dict[int, list[cer.CoefficientCommitment]]


@pytest.fixture(scope="module")
def trustees() -> Trustees:
    h_c = cer.ceremony_hash("sitting-test", N, K)
    seats = range(1, N + 1)
    polys = {i: cer.Polynomial.random(K) for i in seats}
    published = {i: cer.commit(h_c, i, polys[i]) for i in seats}
    # every trustee checks every other's commitments, then its shares (Feldman)
    keys = {}
    for i in seats:
        cer.verify_commitments(h_c, i, K, published[i])
        keys[i] = [c.commitment for c in published[i]]
    received = {ell: [polys[ell].evaluate(ell)] for ell in seats}
    for i in seats:
        for ell in seats:
            if i != ell:
                wire = cer.encrypt_share(
                    h_c, i, ell, keys[ell][0], polys[i].evaluate(ell)
                ).to_json()
                share = cer.decrypt_share(
                    h_c, i, ell, polys[ell].coefficients[0], cer.EncryptedShare.from_json(wire)
                )
                cer.verify_share(i, ell, share, keys[i])
                received[ell].append(share)
    secret = {ell: cer.secret_share(received[ell]) for ell in seats}
    public = {ell: cer.public_share(ell, list(keys.values())) for ell in seats}
    joint = cer.joint_key([keys[i][0] for i in seats])
    return Trustees(h_c, joint, secret, public, polys, published)


def test_the_public_shares_are_the_secret_shares_in_the_exponent(trustees: Trustees) -> None:
    for ell, s in trustees.secret.items():
        assert G**s == trustees.public[ell]
    # two shares interpolate the joint secret "in the exponent": the joint key
    w = {i: dec.lagrange(i, [1, 3]) for i in (1, 3)}
    assert G ** (trustees.secret[1] * w[1] + trustees.secret[3] * w[3]) == trustees.joint_key


LAYOUTS = {
    "motion": (layouts.motion(["subject-1", "subject-2"]),
               [[[1, 0], [0, 1]], [[0, 1], [0, 0]], [[1, 0], [1, 0]], [[0, 0], [0, 0]]]),
    "selection": (layouts.selection([f"candidate-{n}" for n in range(1, 13)], 10),
                  [[[1] * 10 + [0, 0]], [[0] * 11 + [1]], [[1, 1, 1] + [0] * 9]]),
    "evaluation": (layouts.evaluation(["教育局", "民政局", "财政局"]),
                   [[[1, 0, 0], [0, 0, 1], [0, 1, 0]], [[0, 0, 0], [0, 0, 1], [1, 0, 0]]]),
}  # fmt: skip


def expected_counts(layout: bal.Layout, marks: list[Any]) -> dict[str, dict[str, int]]:
    return {
        c.id: {o: sum(m[n][k] for m in marks) for k, o in enumerate(c.options)}
        for n, c in enumerate(layout.contests)
    }


@pytest.mark.parametrize("kind", LAYOUTS)
def test_a_vote_is_counted_by_any_k_trustees_and_not_by_fewer(
    trustees: Trustees, kind: str
) -> None:
    layout, marks = LAYOUTS[kind]
    h_v = bal.vote_hash(trustees.h_c, f"vote-{kind}", layout, trustees.joint_key)
    ballots = []
    for b, ballot_marks in enumerate(marks):
        member, nonce = f"m{b}", f"n{b}"
        wire = bal.encrypt_ballot(h_v, trustees.joint_key, layout, member, nonce, ballot_marks)
        ballots.append(bal.verify_ballot(h_v, trustees.joint_key, layout, member, nonce, wire))
    aggregates = bal.aggregate(layout, ballots)
    published = bal.aggregates_from_json(layout, bal.aggregates_to_json(aggregates))
    partials = {
        i: dec.partials_from_json(
            layout, dec.partials_to_json(dec.partial_decrypt_all(h_v, i, s, published))
        )
        for i, s in trustees.secret.items()
    }
    want = expected_counts(layout, marks)
    for seats in ([1, 2], [1, 3], [2, 3], [1, 2, 3]):
        chosen = {i: partials[i] for i in seats}
        got = dec.decrypt_counts(
            h_v, layout, published, trustees.public, chosen, K, trustees.joint_key, MEMBERS
        )
        assert got == want, seats
    for alone in (1, 2, 3):
        with pytest.raises(TrusteeCryptoError, match="1 trustees decrypted, the threshold is 2"):
            dec.decrypt_counts(
                h_v, layout, published, trustees.public, {alone: partials[alone]}, K,
                trustees.joint_key, MEMBERS,
            )  # fmt: skip
    # one trustee's M_i alone (w = 1) is not the decryption: the count is not found
    agg = published[0][0]
    with pytest.raises(TrusteeCryptoError, match="threshold"):
        dec.combine({1: partials[1][0][0].m}, K)
    wrong = agg.beta / partials[1][0][0].m
    with pytest.raises(TrusteeCryptoError, match="not in 0"):
        dec.discrete_log(wrong, trustees.joint_key, MEMBERS)


def test_no_ballot_counts_zero_and_decrypts_nothing(trustees: Trustees) -> None:
    layout = layouts.motion(["s"])
    h_v = bal.vote_hash(trustees.h_c, "empty", layout, trustees.joint_key)
    aggregates = bal.aggregate(layout, [])
    with pytest.raises(TrusteeCryptoError, match="identity is not decrypted"):
        dec.partial_decrypt(h_v, 1, trustees.secret[1], aggregates[0][0])
    counts = dec.decrypt_counts(
        h_v, layout, aggregates, trustees.public, {1: [], 2: []}, K, trustees.joint_key, MEMBERS
    )
    assert counts == {"s": {"yes": 0, "no": 0}}


# ---------------------------------------------------------------- refusals


@pytest.fixture(scope="module")
def motion(trustees: Trustees) -> tuple[bytes, bal.Layout, dict[str, Any]]:
    layout = layouts.motion(["a", "b"])
    h_v = bal.vote_hash(trustees.h_c, "vote-refusals", layout, trustees.joint_key)
    wire = bal.encrypt_ballot(h_v, trustees.joint_key, layout, "m1", "n1", [[1, 0], [0, 0]])
    return h_v, layout, wire


def _flip(text: str, byte: int = 0) -> str:
    raw = bytearray(bytes.fromhex(text))
    raw[byte] ^= 0x01
    return raw.hex()


def _times_g(text: str) -> str:
    return (Element.from_hex(text) * G).hex()


def _refusal(
    trustees: Trustees, motion: Any, wire: Any, member: str = "m1", nonce: str = "n1"
) -> str:
    h_v, layout, _ = motion
    with pytest.raises(TrusteeCryptoError) as refused:
        bal.verify_ballot(h_v, trustees.joint_key, layout, member, nonce, wire)
    return refused.value.field


@pytest.mark.parametrize("contest", [0, 1])
@pytest.mark.parametrize("option", [0, 1])
def test_a_changed_ciphertext_is_refused(
    trustees: Trustees, motion: Any, contest: int, option: int
) -> None:
    sel = ("contests", contest, "selections", option)
    for part in ("alpha", "beta"):
        for change, field in ((_flip, f"contests[{contest}].selections[{option}].{part}"),
                              (_times_g, "ballot")):  # fmt: skip
            wire = copy.deepcopy(motion[2])
            node = wire[sel[0]][sel[1]][sel[2]][sel[3]]
            node[part] = change(node[part])
            assert _refusal(trustees, motion, wire) == field, (part, change)


@pytest.mark.parametrize("contest", [0, 1])
def test_every_proof_value_is_bound(trustees: Trustees, motion: Any, contest: int) -> None:
    for option in (0, 1):
        for part in ("c", "v"):
            for j in (0, 1):
                wire = copy.deepcopy(motion[2])
                proof = wire["contests"][contest]["selections"][option]["proof"]
                proof[part][j] = _flip(proof[part][j])
                field = f"contests[{contest}].selections[{option}].proof"
                assert _refusal(trustees, motion, wire) == field, (option, part, j)
    for part in ("c", "v"):
        for j in (0, 1):
            wire = copy.deepcopy(motion[2])
            proof = wire["contests"][contest]["proof"]
            proof[part][j] = _flip(proof[part][j])
            assert _refusal(trustees, motion, wire) == f"contests[{contest}].proof"


def test_a_ballot_moved_to_another_member_nonce_or_vote_is_refused(
    trustees: Trustees, motion: Any
) -> None:
    assert _refusal(trustees, motion, motion[2], member="m2") == "ballot"
    assert _refusal(trustees, motion, motion[2], nonce="n2") == "ballot"
    _, layout, wire = motion
    other = bal.vote_hash(trustees.h_c, "another-vote", layout, trustees.joint_key)
    with pytest.raises(TrusteeCryptoError, match=r"^ballot: no proof verifies"):
        bal.verify_ballot(other, trustees.joint_key, layout, "m1", "n1", wire)
    # the honest ballot itself verifies
    bal.verify_ballot(motion[0], trustees.joint_key, layout, "m1", "n1", wire)


def test_a_proof_copied_from_another_ballot_is_refused(trustees: Trustees, motion: Any) -> None:
    h_v, layout, wire = motion
    other = bal.encrypt_ballot(h_v, trustees.joint_key, layout, "m2", "n2", [[1, 0], [0, 0]])
    forged = copy.deepcopy(other)
    forged["contests"][0]["selections"][0]["proof"] = wire["contests"][0]["selections"][0]["proof"]
    with pytest.raises(TrusteeCryptoError) as refused:
        bal.verify_ballot(h_v, trustees.joint_key, layout, "m2", "n2", forged)
    assert refused.value.field == "contests[0].selections[0].proof"


def test_over_the_limit_cannot_be_proven(trustees: Trustees) -> None:
    layout = layouts.selection([f"c{n}" for n in range(12)], 10)
    h_v = bal.vote_hash(trustees.h_c, "vote-limit", layout, trustees.joint_key)
    eleven = [[1] * 11 + [0]]
    with pytest.raises(TrusteeCryptoError, match="allows at most 10 marks"):
        bal.encrypt_ballot(h_v, trustees.joint_key, layout, "m", "n", eleven)
    # motion: yes and no together
    mlayout = layouts.motion(["s"])
    with pytest.raises(TrusteeCryptoError, match="allows at most 1 marks"):
        bal.encrypt_ballot(h_v, trustees.joint_key, mlayout, "m", "n", [[1, 1]])
    with pytest.raises(TrusteeCryptoError, match="every mark is 0 or 1"):
        bal.encrypt_ballot(h_v, trustees.joint_key, mlayout, "m", "n", [[2, 0]])
    # the prover refuses to prove a false statement, even with the right nonce
    xi = Scalar.random()
    ct = bal.Ciphertext(G**xi, trustees.joint_key ** (Scalar.from_int(11) + xi))
    nonces = bal.RangeNonces.random(10)
    with pytest.raises(TrusteeCryptoError, match="outside 0 … 10"):
        bal.prove_range(h_v, (), trustees.joint_key, ct, 11, xi, 10, nonces)
    with pytest.raises(TrusteeCryptoError, match="does not encrypt the value"):
        bal.prove_range(h_v, (), trustees.joint_key, ct, 10, xi, 10, nonces)
    # a forged proof (the prover's arithmetic for σ = 10 over 11) does not verify
    forged = bal._range_proof(h_v, (), trustees.joint_key, ct, 10, xi, 10, nonces)
    assert not bal.range_proof_holds(h_v, (), trustees.joint_key, ct, forged)
    honest = bal.Ciphertext(G**xi, trustees.joint_key ** (Scalar.from_int(10) + xi))
    proof = bal.prove_range(h_v, (), trustees.joint_key, honest, 10, xi, 10, nonces)
    assert bal.range_proof_holds(h_v, (), trustees.joint_key, honest, proof)


def test_a_tampered_commitment_or_schnorr_proof_is_refused(trustees: Trustees) -> None:
    good = [c.to_json() for c in trustees.commitments[2]]
    for j in range(K):
        for part, change in (("commitment", _times_g), ("c", _flip), ("v", _flip)):
            items = copy.deepcopy(good)
            if part == "commitment":
                items[j]["commitment"] = change(items[j]["commitment"])
            else:
                items[j]["proof"][part] = change(items[j]["proof"][part])
            parsed = [cer.CoefficientCommitment.from_json(x) for x in items]
            with pytest.raises(
                TrusteeCryptoError, match=rf"^trustee 2 commitment {j}: the Schnorr"
            ):
                cer.verify_commitments(trustees.h_c, 2, K, parsed)
    # a proof is bound to its trustee and index
    parsed = [cer.CoefficientCommitment.from_json(x) for x in good]
    with pytest.raises(TrusteeCryptoError, match=r"^trustee 3 commitment 0"):
        cer.verify_commitments(trustees.h_c, 3, K, parsed)
    with pytest.raises(TrusteeCryptoError, match="threshold is 3"):
        cer.verify_commitments(trustees.h_c, 2, 3, parsed)


def test_a_bad_share_is_caught(trustees: Trustees) -> None:
    h_c, polys = trustees.h_c, trustees.polys
    keys1 = [c.commitment for c in trustees.commitments[1]]
    key3 = trustees.commitments[3][0].commitment
    wrong = polys[1].evaluate(3) + Scalar.from_int(1)
    enc = cer.encrypt_share(h_c, 1, 3, key3, wrong)
    opened = cer.decrypt_share(h_c, 1, 3, polys[3].coefficients[0], enc)
    with pytest.raises(TrusteeCryptoError, match=r"^share from trustee 1 to trustee 3: Feldman"):
        cer.verify_share(1, 3, opened, keys1)
    good = cer.encrypt_share(h_c, 1, 3, key3, polys[1].evaluate(3))
    flipped = cer.EncryptedShare(good.alpha, good.beta, bytes([good.ct[0] ^ 1]) + good.ct[1:])
    with pytest.raises(TrusteeCryptoError, match=r"\.ct: AES-GCM authentication failed"):
        cer.decrypt_share(h_c, 1, 3, polys[3].coefficients[0], flipped)
    # the wrong recipient cannot open it
    with pytest.raises(TrusteeCryptoError, match=r"\.beta: β is not α"):
        cer.decrypt_share(h_c, 1, 3, polys[2].coefficients[0], good)
    # a share sent as if from trustee 2 fails GCM's associated data
    with pytest.raises(TrusteeCryptoError, match="AES-GCM"):
        cer.decrypt_share(h_c, 2, 3, polys[3].coefficients[0], good)


def test_a_tampered_partial_decryption_or_aggregate_is_refused(
    trustees: Trustees, motion: Any
) -> None:
    h_v, layout, wire = motion
    ballot = bal.verify_ballot(h_v, trustees.joint_key, layout, "m1", "n1", wire)
    aggregates = bal.aggregate(layout, [ballot])
    agg = aggregates[1][0]
    pd = dec.partial_decrypt(h_v, 2, trustees.secret[2], agg)
    dec.verify_partial(h_v, 2, trustees.public[2], agg, pd)
    for part in ("m", "c", "v"):
        changed = pd.to_json()
        changed[part] = _times_g(changed[part]) if part == "m" else _flip(changed[part])
        with pytest.raises(TrusteeCryptoError, match=r"^trustee 2 partial decryption: the Chaum"):
            dec.verify_partial(
                h_v, 2, trustees.public[2], agg, dec.PartialDecryption.from_json(changed)
            )
    # another trustee's public share, or another trustee's seat, does not fit
    with pytest.raises(TrusteeCryptoError):
        dec.verify_partial(h_v, 2, trustees.public[3], agg, pd)
    with pytest.raises(TrusteeCryptoError):
        dec.verify_partial(h_v, 3, trustees.public[2], agg, pd)
    partials = {i: dec.partial_decrypt_all(h_v, i, trustees.secret[i], aggregates) for i in (1, 2)}
    for part in ("alpha", "beta"):
        tampered = bal.aggregates_to_json(aggregates)
        tampered[1][0][part] = _times_g(tampered[1][0][part])
        with pytest.raises(TrusteeCryptoError, match=r"partial decryption of aggregates\[1\]\[0\]"):
            dec.decrypt_counts(
                h_v, layout, bal.aggregates_from_json(layout, tampered), trustees.public,
                partials, K, trustees.joint_key, MEMBERS,
            )  # fmt: skip
    assert dec.decrypt_counts(
        h_v, layout, aggregates, trustees.public, partials, K, trustees.joint_key, MEMBERS
    ) == {"a": {"yes": 1, "no": 0}, "b": {"yes": 0, "no": 0}}


def test_layout_validation() -> None:
    with pytest.raises(TrusteeCryptoError, match=r"layout\[0\]\.limit: not in 1 … 2"):
        bal.Layout.from_json([{"id": "x", "options": ["a", "b"], "limit": 3}])
    with pytest.raises(TrusteeCryptoError, match="an option appears twice"):
        bal.Layout.from_json([{"id": "x", "options": ["a", "a"], "limit": 1}])
    with pytest.raises(TrusteeCryptoError, match="two contests with the same id"):
        bal.Layout.from_json([{"id": "s", "options": ["yes", "no"], "limit": 1}] * 2)
    layout = layouts.evaluation(["教育局"])
    assert layout.manifest() == (
        '[{"id":"教育局","limit":1,"options":["satisfied","basic","unsatisfied"]}]'
    )
