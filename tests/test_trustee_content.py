"""A trustee-mode vote's content proven from plain data (audit/trustee_content.py).

Each test builds a whole vote with crypto.trustees — a 3-trustee, k = 2 key ceremony;
20 members pressing 0 to 3 times under ``last_press`` (or ``first_press``); ballots
encrypted from the kind's own ``option_marks``; the counted ballots' aggregates; every
trustee's partial decryptions — and the result the rules engine gives for the
*plaintext* counted ballots, which the verifier's recomputation from ciphertexts must
equal. Then each tampered variant a server could publish must be refused, the error
naming what mismatched.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

import pytest

from audit.trustee_content import (
    ATTENDING,
    MEMBERS,
    ContentMismatch,
    check_ballot,
    check_content,
    counted_ballots,
    first_difference,
    groups_of,
)
from crypto.trustees import ballot as bal
from crypto.trustees import ceremony as cer
from crypto.trustees import decryption as dec
from crypto.trustees.group import Element, G, Scalar
from rules import VoteSpec, tally
from rules.kinds import EvaluationRule, KeyPolicy, kind_of

N, K = 3, 2
MEMBER_COUNT = 20
CEREMONY = "sitting-7"


@dataclass(frozen=True)
class Trustees:
    h_c: bytes
    joint_key: Element
    secret: dict[int, Scalar]
    public: dict[int, Element]


@pytest.fixture(scope="module")
def trustees() -> Trustees:
    """A key ceremony as docs/trustee-crypto.md runs it: commitments with proofs,
    shares encrypted to each other trustee and checked against the commitments."""
    h_c = cer.ceremony_hash(CEREMONY, N, K)
    seats = range(1, N + 1)
    polys = {i: cer.Polynomial.random(K) for i in seats}
    published = {i: cer.commit(h_c, i, polys[i]) for i in seats}
    keys = {}
    for i in seats:
        cer.verify_commitments(h_c, i, K, published[i])
        keys[i] = [c.commitment for c in published[i]]
    received = {ell: [polys[ell].evaluate(ell)] for ell in seats}
    for i in seats:
        for ell in (e for e in seats if e != i):
            sent = cer.encrypt_share(h_c, i, ell, keys[ell][0], polys[i].evaluate(ell))
            share = cer.decrypt_share(h_c, i, ell, polys[ell].coefficients[0], sent)
            cer.verify_share(i, ell, share, keys[i])
            received[ell].append(share)
    return Trustees(
        h_c,
        cer.joint_key([keys[i][0] for i in seats]),
        {ell: cer.secret_share(received[ell]) for ell in seats},
        {ell: cer.public_share(ell, list(keys.values())) for ell in seats},
    )


@dataclass
class Vote:
    """What the log publishes about one trustee-mode vote, and the plaintext truth."""

    spec: VoteSpec
    context: dict[str, Any]
    entries: list[dict[str, Any]]  # every press, in log order
    policy: KeyPolicy
    aggregates: dict[str, Any]
    partials: list[dict[str, Any]]
    members: int
    present: int
    result: dict[str, Any]  # the rules engine over the plaintext counted ballots
    plaintext: dict[str, Any]  # nonce → the choice (the test's knowledge, never logged)

    def check(self) -> dict[str, Any]:
        return check_content(
            self.spec, self.context, self.entries, self.policy, self.aggregates,
            self.partials, self.members, self.present, self.result,
        )  # fmt: skip


def publish_counting(
    trustees: Trustees, vote: Vote, counted: dict[str, list[dict[str, Any]]], seats: list[int]
) -> None:
    """The server's aggregates of ``counted`` and the partial decryptions of ``seats``."""
    layout = bal.Layout.from_json(vote.context["manifest"])
    h_v = _vote_hash(trustees, vote.context)
    aggregates, tables = {}, {}
    for group, entries in counted.items():
        parsed = [bal.parse_ballot(layout, e["ballot"]) for e in entries]
        aggregates[group] = bal.aggregate(layout, parsed)
    vote.aggregates = {g: bal.aggregates_to_json(a) for g, a in aggregates.items()}
    for i in seats:
        tables[i] = {
            g: dec.partials_to_json(dec.partial_decrypt_all(h_v, i, trustees.secret[i], a))
            for g, a in aggregates.items()
            if counted[g]
        }
    vote.partials = [{"trustee": i, "shares": tables[i]} for i in seats]


def _vote_hash(trustees: Trustees, context: dict[str, Any]) -> bytes:
    layout = bal.Layout.from_json(context["manifest"])
    return bal.vote_hash(trustees.h_c, context["vote_id"], layout, trustees.joint_key)


def build_vote(
    trustees: Trustees,
    spec: VoteSpec,
    seed: int,
    policy: KeyPolicy = KeyPolicy.LAST_PRESS,
    attending: int = 0,
) -> Vote:
    """20 members (and ``attending`` attending deputies) press 0 to 3 times each."""
    rng = random.Random(seed)
    kind = kind_of(spec.kind)
    context = {
        "ceremony_id": CEREMONY,
        "n": N,
        "k": K,
        "vote_id": f"vote-{seed}",
        "manifest": kind.encrypted_layout(spec),
        "joint_key": trustees.joint_key.hex(),
        "public_shares": {str(i): p.hex() for i, p in trustees.public.items()},
    }
    layout = bal.Layout.from_json(context["manifest"])
    h_v = _vote_hash(trustees, context)
    voters = [(m, False) for m in range(1, MEMBER_COUNT + 1)]
    voters += [(100 + m, True) for m in range(attending)]
    presses = [(m, a) for m, a in voters for _ in range(rng.choice((0, 1, 1, 2, 3)))]
    rng.shuffle(presses)
    entries, plaintext = [], {}
    for n, (member, is_attending) in enumerate(presses):
        choice = kind.random_ballot(spec, rng)
        nonce = f"n{seed}-{n}"
        marks = kind.option_marks(spec, choice)
        entry = {
            "member": member,
            "nonce": nonce,
            "ballot": bal.encrypt_ballot(
                h_v, trustees.joint_key, layout, str(member), nonce, marks
            ),
        }
        if is_attending:
            entry["attending"] = True
        entries.append(entry)
        plaintext[nonce] = choice
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in groups_of(spec)}
    for entry in counted_ballots(entries, policy):
        groups[ATTENDING if entry.get("attending") else MEMBERS].append(entry)  # type: ignore[arg-type]
    choices = {g: [plaintext[e["nonce"]] for e in es] for g, es in groups.items()}
    present = MEMBER_COUNT - rng.randint(0, 2)
    present = max(present, len(groups[MEMBERS]))
    result = tally(spec, MEMBER_COUNT, present, choices[MEMBERS], choices.get(ATTENDING, ()))
    vote = Vote(spec, context, entries, policy, {}, [], MEMBER_COUNT, present, result, plaintext)
    publish_counting(trustees, vote, groups, [1, 2, 3])
    return vote


MOTION = VoteSpec(kind="motion", subjects=("budget", "plan"))
SELECTION = VoteSpec(kind="selection", candidates=tuple(f"p{i}" for i in range(6)), seats=3)
EVALUATION = VoteSpec(kind="evaluation", subjects=("health", "roads", "schools"))
ATTENDED = VoteSpec(
    kind="evaluation",
    subjects=("health", "roads"),
    evaluation=EvaluationRule(admit_attending=True),
)
SPECS = {"motion": MOTION, "selection": SELECTION, "evaluation": EVALUATION}


@pytest.fixture(scope="module")
def votes(trustees: Trustees) -> dict[str, Vote]:
    built = {
        name: build_vote(trustees, spec, seed) for seed, (name, spec) in enumerate(SPECS.items())
    }
    built["attended"] = build_vote(trustees, ATTENDED, 11, attending=4)
    built["first_press"] = build_vote(trustees, MOTION, 12, KeyPolicy.FIRST_PRESS)
    return built


def fresh(votes: dict[str, Vote], name: str) -> Vote:
    return copy.deepcopy(votes[name])


def refused(vote: Vote) -> ContentMismatch:
    with pytest.raises(ContentMismatch) as caught:
        vote.check()
    return caught.value


# --- an honest vote passes -------------------------------------------------------------


@pytest.mark.parametrize("name", ["motion", "selection", "evaluation", "attended", "first_press"])
def test_an_honest_vote_is_proven_and_gives_the_plaintext_result(
    votes: dict[str, Vote], name: str
) -> None:
    vote = votes[name]
    assert len(vote.entries) > MEMBER_COUNT  # some pressed again: not every ballot counts
    assert vote.check() == vote.result
    assert vote.result["cast"] > 0


def test_attending_deputies_are_decrypted_apart(votes: dict[str, Vote]) -> None:
    vote = votes["attended"]
    assert set(vote.aggregates) == {MEMBERS, ATTENDING}
    attending = len({e["member"] for e in vote.entries if e.get("attending")})
    counts = vote.check()["subjects"]["health"]["attending"]
    assert attending > 0
    assert sum(counts[c] for c in ("satisfied", "basic", "unsatisfied", "invalid")) == attending


@pytest.mark.parametrize("seats", [[1, 2], [1, 3], [2, 3]])
def test_any_k_trustees_decrypt(
    trustees: Trustees, votes: dict[str, Vote], seats: list[int]
) -> None:
    vote = fresh(votes, "selection")
    vote.partials = [p for p in vote.partials if p["trustee"] in seats]
    assert vote.check() == vote.result


def test_counted_ballots_follow_the_press_policy() -> None:
    entries = [
        {"member": 1, "nonce": "a"},
        {"member": 2, "nonce": "b"},
        {"member": 1, "nonce": "c"},
    ]
    assert [e["nonce"] for e in counted_ballots(entries, "last_press")] == ["c", "b"]
    assert [e["nonce"] for e in counted_ballots(entries, KeyPolicy.FIRST_PRESS)] == ["a", "b"]


def test_a_vote_nobody_voted_in_decrypts_to_zero(
    trustees: Trustees, votes: dict[str, Vote]
) -> None:
    vote = fresh(votes, "motion")
    vote.entries = []
    publish_counting(trustees, vote, {MEMBERS: []}, [1, 2, 3])
    vote.result = tally(MOTION, vote.members, vote.present, [])
    assert vote.partials == [{"trustee": i, "shares": {}} for i in (1, 2, 3)]
    assert vote.check() == vote.result


# --- tampered variants -----------------------------------------------------------------


def counted_entry(vote: Vote, pressed_more_than_once: bool = False) -> dict[str, Any]:
    """A counted ballot (of a member who pressed again, if asked)."""
    counted = counted_ballots(vote.entries, vote.policy)
    for entry in counted:
        mine = [e for e in vote.entries if e["member"] == entry["member"]]
        if not pressed_more_than_once or len(mine) > 1:
            return entry  # type: ignore[return-value]
    raise AssertionError("no member pressed twice")


def other(hex_element: str) -> str:
    """Another valid element: the ciphertext of one more (β·g) or a changed value."""
    return (Element.from_hex(hex_element) * G).hex()


def other_scalar(hex_scalar: str) -> str:
    return (Scalar.from_hex(hex_scalar) + Scalar.from_int(1)).hex()


@pytest.mark.parametrize("name", list(SPECS))
def test_a_ciphertext_byte_changed(votes: dict[str, Vote], name: str) -> None:
    vote = fresh(votes, name)
    entry = counted_entry(vote)
    selection = entry["ballot"]["contests"][0]["selections"][1]
    selection["beta"] = f"{int(selection['beta'][:2], 16) ^ 0x01:02x}" + selection["beta"][2:]
    error = refused(vote)
    assert f"member {entry['member']} nonce {entry['nonce']}" in error.field
    assert "contests[0].selections[1].beta" in error.field
    option = vote.context["manifest"][0]["options"][1]
    assert f"option {option!r}" in error.field


@pytest.mark.parametrize("name", list(SPECS))
def test_a_ciphertext_replaced_by_another_valid_one(votes: dict[str, Vote], name: str) -> None:
    """β·g adds one to the mark: H_B changes with it, so no proof of the ballot holds."""
    vote = fresh(votes, name)
    entry = counted_entry(vote)
    selection = entry["ballot"]["contests"][-1]["selections"][0]
    selection["beta"] = other(selection["beta"])
    error = refused(vote)
    assert error.field == f"member {entry['member']} nonce {entry['nonce']}: ballot"
    assert "no proof verifies" in error.reason


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("value", ["c", "v"])
def test_a_proof_value_changed(votes: dict[str, Vote], name: str, value: str) -> None:
    vote = fresh(votes, name)
    entry = counted_entry(vote)
    proof = entry["ballot"]["contests"][0]["selections"][0]["proof"]
    proof[value][1] = other_scalar(proof[value][1])
    error = refused(vote)
    assert "contests[0].selections[0].proof" in error.field
    contest, option = vote.context["manifest"][0]["id"], vote.context["manifest"][0]["options"][0]
    assert f"the 0/1 proof of contest {contest!r} option {option!r} does not verify" in error.reason


def test_a_limit_proof_changed(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "selection")
    entry = counted_entry(vote)
    proof = entry["ballot"]["contests"][0]["proof"]
    proof["v"][0] = other_scalar(proof["v"][0])
    error = refused(vote)
    assert error.field.endswith("contests[0].proof (contest 'candidates')")
    assert "limit proof" in error.reason


def test_a_ballot_that_is_not_counted_is_still_checked(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "motion")
    counted = {e["nonce"] for e in counted_ballots(vote.entries, vote.policy)}
    superseded = next(e for e in vote.entries if e["nonce"] not in counted)
    proof = superseded["ballot"]["contests"][0]["proof"]
    proof["c"][0] = other_scalar(proof["c"][0])
    assert superseded["nonce"] in refused(vote).field


@pytest.mark.parametrize("name", list(SPECS))
def test_an_aggregate_changed(votes: dict[str, Vote], name: str) -> None:
    vote = fresh(votes, name)
    vote.aggregates[MEMBERS][0][1]["beta"] = other(vote.aggregates[MEMBERS][0][1]["beta"])
    error = refused(vote)
    contest = vote.context["manifest"][0]
    assert error.field == (
        f"aggregates.members[0][1] (contest {contest['id']!r} option {contest['options'][1]!r})"
    )


def test_an_attending_aggregate_changed(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "attended")
    vote.aggregates[ATTENDING][1][2]["alpha"] = other(vote.aggregates[ATTENDING][1][2]["alpha"])
    assert (
        refused(vote).field == "aggregates.attending[1][2] (contest 'roads' option 'unsatisfied')"
    )


@pytest.mark.parametrize("name", list(SPECS))
def test_a_partial_decryption_changed(votes: dict[str, Vote], name: str) -> None:
    vote = fresh(votes, name)
    share = vote.partials[1]["shares"][MEMBERS][0][0]
    share["m"] = other(share["m"])
    error = refused(vote)
    contest = vote.context["manifest"][0]
    assert error.field.startswith("members: trustee 2 partial decryption of aggregates[0][0]")
    assert f"contest {contest['id']!r} option {contest['options'][0]!r}" in error.field
    assert "Chaum–Pedersen" in error.reason


@pytest.mark.parametrize("value", ["c", "v"])
def test_a_partial_decryptions_proof_changed(votes: dict[str, Vote], value: str) -> None:
    vote = fresh(votes, "evaluation")
    share = vote.partials[2]["shares"][MEMBERS][2][1]
    share[value] = other_scalar(share[value])
    error = refused(vote)
    assert "trustee 3 partial decryption of aggregates[2][1]" in error.field
    assert "contest 'schools' option 'basic'" in error.field


def test_a_partial_decryption_of_a_trustee_not_needed_is_still_checked(
    votes: dict[str, Vote],
) -> None:
    """Two trustees would do; the third one's posting is checked all the same."""
    vote = fresh(votes, "motion")
    share = vote.partials[2]["shares"][MEMBERS][1][1]
    share["m"] = other(share["m"])
    assert "trustee 3" in refused(vote).field


def test_a_partial_posted_for_another_trustee(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "motion")
    vote.partials[0]["trustee"], vote.partials[1]["trustee"] = 2, 1
    assert "partial decryption" in refused(vote).field


@pytest.mark.parametrize(
    ("name", "path", "field"),
    [
        ("motion", ("subjects", "budget", "yes"), "result.subjects.budget.yes"),
        ("motion", ("subjects", "plan", "abstain"), "result.subjects.plan.abstain"),
        ("selection", ("selection", "votes", "p2"), "result.selection.votes.p2"),
        ("evaluation", ("subjects", "roads", "invalid"), "result.subjects.roads.invalid"),
        ("attended", ("subjects", "health", "attending", "basic"),
         "result.subjects.health.attending.basic"),
    ],
)  # fmt: skip
def test_a_result_count_changed(
    votes: dict[str, Vote], name: str, path: tuple[str, ...], field: str
) -> None:
    vote = fresh(votes, name)
    place = vote.result
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] += 1
    error = refused(vote)
    assert error.field == field
    assert f"published {place[path[-1]]}, recomputed {place[path[-1]] - 1}" == error.reason


@pytest.mark.parametrize("name", list(SPECS))
def test_a_superseded_ballot_counted_instead_of_the_last(
    trustees: Trustees, votes: dict[str, Vote], name: str
) -> None:
    """The server aggregates a member's earlier press in place of the last one and the
    trustees decrypt what they are given: the log's own ballots say otherwise."""
    vote = fresh(votes, name)
    last = counted_entry(vote, pressed_more_than_once=True)
    first = next(e for e in vote.entries if e["member"] == last["member"])
    counted = [first if e is last else e for e in counted_ballots(vote.entries, vote.policy)]
    publish_counting(trustees, vote, {MEMBERS: counted}, [1, 2, 3])  # type: ignore[dict-item]
    error = refused(vote)
    assert error.field.startswith("aggregates.members[")
    assert error.reason == "not the product of the counted ballots' ciphertexts"


def test_a_counted_ballot_replaced_by_another_members(votes: dict[str, Vote]) -> None:
    """Another deputy's ballot copied under a member's press: its proofs were made
    for the other deputy (H_B binds the member), so none holds."""
    vote = fresh(votes, "selection")
    counted = counted_ballots(vote.entries, vote.policy)
    victim, source = counted[0], counted[1]
    victim["ballot"] = copy.deepcopy(source["ballot"])  # type: ignore[index]
    error = refused(vote)
    assert error.field == f"member {victim['member']} nonce {victim['nonce']}: ballot"


@pytest.mark.parametrize("name", [*SPECS, "attended"])
def test_fewer_than_k_partials(votes: dict[str, Vote], name: str) -> None:
    vote = fresh(votes, name)
    vote.partials = vote.partials[2:]
    error = refused(vote)
    assert (error.field, error.reason) == (
        "partials",
        "1 trustee(s) posted, 2 are needed to decrypt",
    )


def test_a_trustee_counted_twice_is_refused(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "motion")
    vote.partials = [vote.partials[0], copy.deepcopy(vote.partials[0])]
    assert refused(vote).field == "trustee 1"


def test_a_trustee_that_leaves_out_a_group(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "attended")
    del vote.partials[0]["shares"][ATTENDING]
    assert refused(vote).field == "trustee 1"


def test_a_manifest_not_of_the_vote(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "selection")
    vote.context["manifest"][0]["limit"] = 6  # a ballot could then choose every candidate
    assert refused(vote).field == "manifest"


def test_a_nonce_used_twice(votes: dict[str, Vote]) -> None:
    vote = fresh(votes, "motion")
    vote.entries.append(copy.deepcopy(vote.entries[0]))
    assert "nonce used twice" in refused(vote).reason


def test_a_ballot_checked_alone_names_member_and_nonce(
    trustees: Trustees, votes: dict[str, Vote]
) -> None:
    vote = fresh(votes, "evaluation")
    entry = vote.entries[0]
    check_ballot(vote.context, entry)
    entry["member"] = 999
    with pytest.raises(ContentMismatch, match=f"member 999 nonce {entry['nonce']}: ballot"):
        check_ballot(vote.context, entry)


def test_first_difference_names_the_path() -> None:
    assert first_difference({"a": {"b": [1, 2]}}, {"a": {"b": [1, 3]}}) == (
        "result.a.b[1]: published 3, recomputed 2"
    )
    assert first_difference({"a": 1}, {"a": 1, "b": 2}) == "result.b: not in the recomputed result"
    assert first_difference({"a": 1}, {"a": True}) == "result.a: published True, recomputed 1"
    assert first_difference({"a": [1]}, {"a": [1]}) is None
