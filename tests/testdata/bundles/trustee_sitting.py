"""The trustee-mode sitting of the golden bundles (issue 20): ``trustees_good`` and its
tampered copies, written by make_golden.py beside the others.

One sitting of the same standing committee (5 members in two delegations, 4 present)
whose three designated scrutineers (监票人, accounts 7, 8, 9) hold a key ceremony
(n = 3, k = 2) and whose secret votes run in trustee mode (docs/trustee-votes.md):

1. a secret motion: seat 1 presses no, then yes (``last_press``: the last counts);
2. a secret selection of 2 of 4 candidates;
3. a secret evaluation of two departments.

Each vote closes with its ``aggregates``, trustees 1 and 3 post their partial
decryptions (``decryption_share``) and the ``result`` carries its ``content``. The
entries are the server's: the ceremony's through audit/trustee_ceremony.py (as
voting_server/services/trustee_ceremony.py writes them), the votes' through
audit/trustee_content.py and audit/trustee_votes.py (as services/trustee_votes.py does).

Reproducible: every random value of the cryptography — the trustees' polynomials,
their Schnorr nonces, the share encryptions' ξ, every ballot's nonces (ξ, u and the
simulated branches' c, v) and the partial decryptions' u — is drawn from ``Draw``, a
counter hashed with the seed, and passed to crypto.trustees explicitly.

A tampered copy changes one entry's data as the server logs it (``Tamper.target``
names the entry, ``Tamper.change`` edits a copy of its data); everything else is
computed from the honest values, and the server seals and chains everything, so the
first error is the content check at that entry. An ``encrypted_ballot`` changed so is
signed anew by the seat's own tablet key (a colluding tablet): only its proofs can
catch it.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from audit import trustee_ceremony as ceremonies
from audit import trustee_content as content
from audit.trustee_votes import decrypted_totals, totals_lists
from crypto import KioskKey, ServerKey, b64encode
from crypto.statements import encrypted_ballot_bytes
from crypto.trustees import ballot as tballot
from crypto.trustees import ceremony as dkg
from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import Element, G, Scalar
from rules import VoteKind, VoteSpec
from rules.kinds import KeyPolicy, kind_of
from tests.support.logs import LogBuilder

MEMBERS = 5
PRESENT = (1, 2, 3, 4)
GROUPS = {1: "东城代表团", 2: "东城代表团", 3: "西城代表团", 4: "西城代表团", 5: "西城代表团"}
SITTING = 1
TRUSTEES = (7, 8, 9)  # the designated scrutineers' accounts: trustees 1, 2, 3
THRESHOLD = 2
DECRYPTING = (1, 3)  # the trustees who post partial decryptions

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
SELECTION = VoteSpec(kind=VoteKind.SELECTION, candidates=("甲", "乙", "丙", "丁"), seats=2)
EVALUATION = VoteSpec(kind=VoteKind.EVALUATION, subjects=("civil", "sports"))

# (vote, spec, the presses in order: (seat, the ballot the deputy marks))
VOTES: tuple[tuple[int, VoteSpec, tuple[tuple[int, Any], ...]], ...] = (
    (1, MOTION, (
        (1, {"budget": "no"}), (2, {"budget": "yes"}), (1, {"budget": "yes"}),
        (3, {"budget": "no"}), (4, {}),
    )),
    (2, SELECTION, ((1, ["甲", "丙"]), (2, ["甲"]), (3, ["甲", "乙"]), (4, ["丙"]))),
    (3, EVALUATION, (
        (1, {"civil": "satisfied", "sports": "basic"}), (2, {"civil": "basic"}),
        (3, {"civil": "unsatisfied", "sports": "satisfied"}), (4, {"sports": "satisfied"}),
    )),
)  # fmt: skip


class Draw:
    """Scalars from a seed and a counter: SHA-512(seed ‖ "/scalar " ‖ n) reduced mod ℓ.
    Test randomness only — every value is public in this file."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._count = 0

    def __call__(self) -> Scalar:
        self._count += 1
        return Scalar.reduce64(
            hashlib.sha512(self._seed + f"/scalar {self._count}".encode()).digest()
        )

    def many(self, n: int) -> tuple[Scalar, ...]:
        return tuple(self() for _ in range(n))

    def range_nonces(self, bound: int) -> tballot.RangeNonces:
        return tballot.RangeNonces(self(), self.many(bound), self.many(bound))

    def ballot_nonces(self, layout: tballot.Layout) -> tballot.BallotNonces:
        """As ``crypto.trustees.ballot.draw_nonces``, from this stream."""
        return tuple(
            tballot.ContestNonces(
                tuple(tballot.SelectionNonces(self(), self.range_nonces(1)) for _ in c.options),
                self.range_nonces(c.limit),
            )
            for c in layout.contests
        )


# --- the tampering -------------------------------------------------------------------------


Change = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Tamper:
    """One entry's data changed as the server logs it. ``target``: which entry
    (``"trustee_commitments 2"``, ``"trustee_key"``, ``"ballot 1/2"`` = vote 1's second
    press, ``"aggregates 2"``, ``"share 1/1"`` = vote 1's trustee 1, ``"result 2"``)."""

    what: str
    target: str
    change: Change


def _times_g(text: str) -> str:
    """Another valid element: ``text``·g (a ciphertext's β so encrypts one more)."""
    return (Element.from_hex(text) * G).hex()


def _plus_one(text: str) -> str:
    return (Scalar.from_hex(text) + Scalar.from_int(1)).hex()


def _ciphertext(data: dict[str, Any]) -> None:
    selection = data["ballot"]["contests"][0]["selections"][0]
    selection["beta"] = _times_g(selection["beta"])


def _range_proof(data: dict[str, Any]) -> None:
    proof = data["ballot"]["contests"][0]["selections"][1]["proof"]
    proof["v"][0] = _plus_one(proof["v"][0])


def _limit_proof(data: dict[str, Any]) -> None:
    proof = data["ballot"]["contests"][0]["proof"]
    proof["v"][1] = _plus_one(proof["v"][1])


def _aggregate(data: dict[str, Any]) -> None:
    pair = data["aggregates"]["members"][0][2]
    pair["beta"] = _times_g(pair["beta"])


def _partial(data: dict[str, Any]) -> None:
    partial = data["shares"]["members"][0][0]
    partial["m"] = _times_g(partial["m"])


def _partial_proof(data: dict[str, Any]) -> None:
    partial = data["shares"]["members"][1][1]
    partial["v"] = _plus_one(partial["v"])


def _result_count(data: dict[str, Any]) -> None:
    data["result"]["selection"]["votes"]["甲"] += 1


def _commitment(data: dict[str, Any]) -> None:
    commitment = data["commitments"][1]
    commitment["commitment"] = _times_g(commitment["commitment"])


def _joint_key(data: dict[str, Any]) -> None:
    data["joint_key"] = _times_g(data["joint_key"])


VARIANTS: dict[str, Tamper] = {
    "trustees_ciphertext_changed": Tamper(
        "in the secret motion, seat 2's encrypted ballot has its yes ciphertext's β "
        "multiplied by g (it would count one more yes), signed anew by seat 2's own tablet "
        "key and sealed by the server",
        "ballot 1/2",
        _ciphertext,
    ),
    "trustees_range_proof_changed": Tamper(
        "in the secret selection, a value (v[0]) of the 0-or-1 proof of seat 3's second "
        "candidate, signed anew by seat 3's own tablet key and sealed by the server",
        "ballot 2/3",
        _range_proof,
    ),
    "trustees_limit_proof_changed": Tamper(
        "in the secret selection, a value (v[1]) of seat 1's limit proof (at most 2 "
        "candidates), signed anew by seat 1's own tablet key and sealed by the server",
        "ballot 2/1",
        _limit_proof,
    ),
    "trustees_aggregate_changed": Tamper(
        "the secret selection's aggregate of the third candidate has its β multiplied by g "
        "(one more vote), sealed by the server",
        "aggregates 2",
        _aggregate,
    ),
    "trustees_partial_decryption_changed": Tamper(
        "trustee 1's partial decryption (m) of the secret motion's first aggregate "
        "multiplied by g, sealed by the server",
        "share 1/1",
        _partial,
    ),
    "trustees_partial_proof_changed": Tamper(
        "a value (v) of trustee 3's Chaum–Pedersen proof of its partial decryption in the "
        "secret evaluation, sealed by the server",
        "share 3/3",
        _partial_proof,
    ),
    "trustees_result_count_changed": Tamper(
        "the secret selection's result counts one more vote for 甲 than its decrypted "
        "totals, sealed by the server",
        "result 2",
        _result_count,
    ),
    "trustees_commitment_changed": Tamper(
        "trustee 2's second coefficient commitment (K_{2,1}) in the key ceremony multiplied "
        "by g: its Schnorr proof fails; sealed by the server",
        "trustee_commitments 2",
        _commitment,
    ),
    "trustees_joint_key_changed": Tamper(
        "the key ceremony's joint key multiplied by g (not the product of the trustees' "
        "K_{i,0}), sealed by the server",
        "trustee_key",
        _joint_key,
    ),
}


# --- the sitting ---------------------------------------------------------------------------


class _Sitting:
    """The log being written, and the one change (if any) to make to one entry."""

    def __init__(
        self, log: LogBuilder, draw: Draw, nonce: Callable[[], str], tamper: Tamper | None
    ) -> None:
        self.log, self.draw, self.nonce, self.tamper = log, draw, nonce, tamper
        self.marks: dict[str, int] = {}

    def append(self, target: str, type_: str, data: dict[str, Any]) -> int:
        """Log ``data`` — changed first if ``target`` is the tampered entry."""
        if self.tamper is not None and self.tamper.target == target:
            data = copy.deepcopy(data)
            self.tamper.change(data)
            if type_ == "encrypted_ballot":  # the seat's own tablet signs the change
                statement = encrypted_ballot_bytes(
                    data["vote"], data["seat"], data["nonce"], data["ballot"]
                )
                data["kiosk_sig"] = b64encode(self.log.kiosks[data["seat"]].sign(statement))
        index = self.log.append(type_, data)
        self.marks[target] = index
        return index


_CHECKS: dict[str, Callable[..., Any]] = {
    "commitments": ceremonies.check_commitments,
    "shares": ceremonies.check_shares,
    "verdicts": ceremonies.check_verdicts,
}


def _ceremony(s: _Sitting) -> tuple[dict[str, Any], dict[int, Scalar]]:
    """The key ceremony, as the three trustees' pages and the server run it. Returns the
    ``trustee_key`` data and each trustee's secret share s_i."""
    ceremony_id = hashlib.sha256(b"golden trustee ceremony").hexdigest()[:32]
    designated = [(user, f"工作人员{user}") for user in TRUSTEES]
    ceremony = ceremonies.start(ceremony_id, SITTING, designated, THRESHOLD, "presidium")
    s.append("trustee_ceremony_started", "trustee_ceremony_started",
             ceremonies.started_data(ceremony, 1))  # fmt: skip
    base, n = ceremony.base, ceremony.n
    polynomials = {i: dkg.Polynomial(s.draw.many(THRESHOLD)) for i in ceremony.indices}

    def post(step: str, i: int, payload: dict[str, Any]) -> None:
        data = {"ceremony_id": ceremony_id, "index": i, "user_id": TRUSTEES[i - 1], **payload}
        _CHECKS[step](ceremony, data)
        s.append(f"trustee_{step} {i}", f"trustee_{step}", data)

    for i, poly in polynomials.items():
        commitments = dkg.commit(base, i, poly, s.draw.many(THRESHOLD))
        post("commitments", i, {"commitments": [c.to_json() for c in commitments]})
    for i, poly in polynomials.items():
        shares = []
        for ell in range(1, n + 1):
            if ell != i:
                key = ceremony.keys_of(ell)[0]
                enc = dkg.encrypt_share(base, i, ell, key, poly.evaluate(ell), s.draw())
                shares.append({"recipient": ell, **enc.to_json()})
        post("shares", i, {"shares": shares})
    for ell in ceremony.indices:
        verdicts = [{"sender": i, "verdict": "verified"} for i in ceremony.indices if i != ell]
        post("verdicts", ell, {"verdicts": verdicts})
    key = ceremonies.key_data(ceremony)
    s.append("trustee_key", "trustee_key", key)
    secret = {
        ell: dkg.secret_share([p.evaluate(ell) for p in polynomials.values()])
        for ell in ceremony.indices
    }
    return key, secret


def _vote(
    s: _Sitting,
    key: dict[str, Any],
    secret: dict[int, Scalar],
    vote: int,
    spec: VoteSpec,
    presses: Sequence[tuple[int, Any]],
) -> None:
    """One trustee-mode secret vote, from configuration to its result with ``content``."""
    log, kind = s.log, kind_of(spec.kind)
    log.configure(vote, spec, secret=True, trustees=True)
    manifest = kind.encrypted_layout(spec)
    context = {
        "ceremony_id": key["ceremony_id"], "n": key["n"], "k": key["k"],
        "vote_id": str(vote), "manifest": manifest, "joint_key": key["joint_key"],
        "public_shares": key["public_shares"],
    }  # fmt: skip
    h_v = content.vote_hash(context)
    opened = {"ceremony_id": key["ceremony_id"], "joint_key": key["joint_key"],
              "manifest": manifest, "vote_hash": h_v.hex()}  # fmt: skip
    log.open(vote, spec, present=len(PRESENT), trustees=opened)
    layout, joint = tballot.Layout.from_json(manifest), Element.from_hex(key["joint_key"])
    entries: list[dict[str, Any]] = []
    pressed: dict[int, int] = {}
    for seat, marked in presses:
        nonce = s.nonce()
        pressed[seat] = pressed.get(seat, 0) + 1
        wire = tballot.encrypt_ballot(
            h_v, joint, layout, str(seat), nonce, kind.option_marks(spec, marked),
            s.draw.ballot_nonces(layout),
        )  # fmt: skip
        sig = log.kiosks[seat].sign(encrypted_ballot_bytes(vote, seat, nonce, wire))
        data = {"vote": vote, "seat": seat, "nonce": nonce, "member": seat,
                "device": f"d{seat}", "press": pressed[seat], "ballot": wire,
                "kiosk_sig": b64encode(sig)}  # fmt: skip
        index = s.append(f"ballot {vote}/{len(entries) + 1}", "encrypted_ballot", data)
        entries.append({**data, "entry": index})
    counted = content.counted_ballots(entries, KeyPolicy.LAST_PRESS)
    cast = {content.MEMBERS: len(counted)}
    aggregates = content.recompute_aggregates(layout, {content.MEMBERS: counted})
    log.append("vote_closed", {
        "vote": vote, "members": MEMBERS, "present": len(PRESENT), "cast": len(counted),
        "reason": "presidium", "by": 1,
    })  # fmt: skip
    s.append(f"aggregates {vote}", "aggregates", {
        "vote": vote, "counted": sorted(e["entry"] for e in counted), "cast": cast,
        "aggregates": aggregates,
    })  # fmt: skip
    published = tballot.aggregates_from_json(layout, aggregates[content.MEMBERS])
    partials = []
    for i in DECRYPTING:
        nonces = [s.draw.many(len(row)) for row in published]
        table = tdecrypt.partial_decrypt_all(h_v, i, secret[i], published, nonces)
        shares = {content.MEMBERS: tdecrypt.partials_to_json(table)}
        partials.append({"trustee": i, "shares": shares})
        s.append(f"share {vote}/{i}", "decryption_share",
                 {"vote": vote, "trustee": i, "user": TRUSTEES[i - 1], "shares": shares})  # fmt: skip
    totals = decrypted_totals(context, aggregates, partials, cast, h_v)
    result = content.content_result(spec, MEMBERS, len(PRESENT), totals, cast)
    logged = {"mode": "trustees", "trustees": list(DECRYPTING),
              "totals": totals_lists(manifest, totals)}  # fmt: skip
    s.append(f"result {vote}", "result", {"vote": vote, "result": result, "content": logged})


def sitting(
    server: ServerKey,
    kiosk_key: Callable[[int], KioskKey],
    seed: bytes,
    tamper: Tamper | None = None,
) -> tuple[LogBuilder, dict[str, int]]:
    """The whole trustee-mode sitting; ``marks`` names every entry a variant may target."""
    counter: Iterator[int] = iter(range(1, 1_000))

    def nonce() -> str:
        return hashlib.sha256(seed + f"/nonce {next(counter)}".encode()).digest()[:16].hex()

    log = LogBuilder(members=MEMBERS, server=server, kiosk_key=kiosk_key, nonce=nonce,
                     groups=GROUPS)  # fmt: skip
    s = _Sitting(log, Draw(seed), nonce, tamper)
    staff = [(1, "presidium"), (2, "secretariat"), *((t, "scrutineer") for t in TRUSTEES)]
    for user, role in staff:  # 1 starts the ceremony, opens and closes the votes
        log.staff(user, role)
    log.designate(list(TRUSTEES))
    key, secret = _ceremony(s)
    log.sign_in(*PRESENT)
    for vote, spec, presses in VOTES:
        _vote(s, key, secret, vote, spec, presses)
    return log, s.marks
