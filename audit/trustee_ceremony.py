"""The trustees' key ceremony (密钥仪式) as plain rules, and its replay in the verifier.

docs/trustee-crypto.md ("Key ceremony") is the cryptography; docs/trustees.md the
ceremony as staff live it. One ceremony belongs to one sitting: its trustees are the
sitting's designated scrutineers, seats 1..n in the designation's order (account ids,
ascending: ``scrutineers_designated`` lists them so), threshold k (default a majority).

The steps, each an entry in the body's log, are checked here once for both sides:

- the server (``voting_server.services.trustee_ceremony``) checks a trustee's request
  with ``check_commitments`` / ``check_shares`` / ``check_verdicts`` before logging it,
  and keeps the ceremony as the ``Ceremony`` these functions build;
- the verifier (``TrusteesReplay``, mixed into ``audit.verify.Replay``) replays the
  logged entries through the same functions, from the bundle alone.

Phases: ``commitments`` (each trustee posts its k commitments with Schnorr proofs) →
``shares`` (each posts its n−1 encrypted shares) → ``verdicts`` (each posts, per sender,
``verified`` or a ``complaint`` revealing the decrypted share) → ``done`` (the server
logs ``trustee_key``) or ``failed`` (a complaint the commitments uphold, or the presidium
started another ceremony for the sitting before this one ended).

Pure: no I/O, no clock. Every refusal is a ``CeremonyError`` with a code (the shell
words it in Chinese) and a detail naming the field and index that mismatched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from crypto.trustees import ceremony as dkg
from crypto.trustees.group import Element, Scalar, TrusteeCryptoError
from rules.duties import PRESIDIUM, ceremony_start_error, trustee_error

MAX_TRUSTEES = 9  # docs/trustee-crypto.md: 1 ≤ k ≤ n ≤ 9
CEREMONY_ID_MAX = 64  # characters of a ceremony id (text in H_C)
NAME_MAX = 100  # characters of a trustee's name in the started entry
HEX32 = 64  # hex digits of an element or a scalar
CT_HEX = 96  # hex digits of an encrypted share (32-byte scalar + 16-byte GCM tag)
VERIFIED = "verified"
COMPLAINT = "complaint"
VERDICTS = (VERIFIED, COMPLAINT)
COMPLAINT_REASON = "complaint"  # trustee_ceremony_failed's reasons
ABANDONED_REASON = "abandoned"


class Phase(StrEnum):
    COMMITMENTS = "commitments"
    SHARES = "shares"
    VERDICTS = "verdicts"
    DONE = "done"
    FAILED = "failed"


# code → what it means (English; the Chinese a person reads is sockets/errors.py's TEXTS)
CODES: Mapping[str, str] = {
    "ceremony_no_trustees": "the sitting has no designated scrutineers (or more than 9)",
    "ceremony_bad_threshold": "the threshold k must satisfy 1 ≤ k ≤ n",
    "ceremony_unknown": "no such key ceremony",
    "ceremony_wrong_phase": "the ceremony is not at this step",
    "ceremony_not_trustee": "the caller is not this ceremony's trustee at that index",
    "ceremony_duplicate": "this trustee already posted this step",
    "ceremony_malformed": "a field is missing, of the wrong count, or not canonical hex",
    "ceremony_bad_proof": "a commitment's Schnorr proof does not verify",
    "ceremony_complaint_unfounded": "the revealed share agrees with the sender's commitments",
    "ceremony_forbidden": "only the presidium starts a key ceremony",
}


class CeremonyError(Exception):
    """A ceremony step refused: ``code`` (one of ``CODES``) and what mismatched."""

    def __init__(self, code: str, detail: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown ceremony code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _need(condition: bool, code: str, detail: str) -> None:
    if not condition:
        raise CeremonyError(code, detail)


@dataclass(frozen=True)
class Trustee:
    index: int  # 1..n, its seat in the ceremony
    user_id: int  # the scrutineer's staff account
    name: str | None = None


@dataclass
class Ceremony:
    """A ceremony as far as it went. ``base`` is H_C; the dicts are keyed by trustee
    index: ``commitments[i]`` its K_{i,0..k−1} with their proofs as logged
    (``{"commitment", "proof": {"c", "v"}}``), ``shares[i][ℓ]`` its share for ℓ
    (``{"alpha", "beta", "ct"}``), ``verdicts[ℓ][i]`` ℓ's verdict on i's share."""

    ceremony_id: str
    sitting: int
    trustees: tuple[Trustee, ...]
    k: int
    base: bytes
    commitments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    shares: dict[int, dict[int, dict[str, str]]] = field(default_factory=dict)
    verdicts: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    complaints: list[dict[str, int]] = field(default_factory=list)  # upheld: {index, sender}
    failed: bool = False
    key: dict[str, Any] | None = None  # the trustee_key entry's data, once logged

    @property
    def n(self) -> int:
        return len(self.trustees)

    @property
    def phase(self) -> Phase:
        if self.failed:
            return Phase.FAILED
        if self.key is not None:
            return Phase.DONE
        if len(self.commitments) < self.n:
            return Phase.COMMITMENTS
        if len(self.shares) < self.n:
            return Phase.SHARES
        return Phase.VERDICTS

    @property
    def indices(self) -> range:
        return range(1, self.n + 1)

    def trustee(self, index: int) -> Trustee:
        return self.trustees[index - 1]

    def keys_of(self, index: int) -> list[Element]:
        """Trustee ``index``'s commitments K_{i,0..k−1} (checked when posted)."""
        return [
            Element.from_hex(c["commitment"], f"trustee {index} commitment {j}")
            for j, c in enumerate(self.commitments[index])
        ]


# --- starting -----------------------------------------------------------------------------


def default_threshold(n: int) -> int:
    """A majority of the n trustees: n // 2 + 1."""
    return n // 2 + 1


def threshold_error(n: int, k: int) -> str | None:
    """Why (n, k) is no ceremony's, or None: 1 ≤ k ≤ n ≤ MAX_TRUSTEES."""
    if not 1 <= n <= MAX_TRUSTEES:
        return f"n = {n}: a ceremony has 1 to {MAX_TRUSTEES} trustees"
    if not 1 <= k <= n:
        return f"k = {k}: must be 1 to n = {n}"
    return None


def start(
    ceremony_id: str,
    sitting: int,
    designated: Sequence[tuple[int, str | None]],
    k: int | None,
    starter_role: str | None,
) -> Ceremony:
    """A new ceremony of ``sitting`` whose designated scrutineers are ``designated``
    ((account, name), in the designation's order: seats 1..n), threshold ``k`` (None:
    the default). Refuses a starter other than the presidium, no scrutineers, a bad k."""
    error = ceremony_start_error(starter_role)
    _need(error is None, "ceremony_forbidden", str(error))
    n = len(designated)
    _need(1 <= n <= MAX_TRUSTEES, "ceremony_no_trustees", f"{n} designated scrutineers")
    k = default_threshold(n) if k is None else k
    error = threshold_error(n, k)
    _need(error is None, "ceremony_bad_threshold", str(error))
    _need(
        isinstance(ceremony_id, str) and 1 <= len(ceremony_id) <= CEREMONY_ID_MAX,
        "ceremony_malformed",
        f"ceremony_id: 1 to {CEREMONY_ID_MAX} characters",
    )
    trustees = tuple(Trustee(i, user, name) for i, (user, name) in enumerate(designated, 1))
    return Ceremony(ceremony_id, sitting, trustees, k, dkg.ceremony_hash(ceremony_id, n, k))


def started_data(ceremony: Ceremony, by: int | None) -> dict[str, Any]:
    """The ``trustee_ceremony_started`` entry of a ceremony just started by ``by``."""
    return {
        "ceremony_id": ceremony.ceremony_id,
        "sitting": ceremony.sitting,
        "trustees": [
            {"index": t.index, "user_id": t.user_id, "name": t.name} for t in ceremony.trustees
        ],
        "n": ceremony.n,
        "k": ceremony.k,
        "by": by,
    }


def from_started(data: Mapping[str, Any]) -> Ceremony:
    """The ceremony a logged ``trustee_ceremony_started`` starts (its own checks only:
    form, n, k, seats 1..n in order; who started it and whether the trustees are the
    designated scrutineers are the caller's)."""
    n, k = _int(data["n"], "n"), _int(data["k"], "k")
    trustees = data["trustees"]
    _need(isinstance(trustees, list) and len(trustees) == n, "ceremony_malformed",
          f"trustees: a list of n = {n}")  # fmt: skip
    seats: list[tuple[int, str | None]] = []
    for i, t in enumerate(trustees, 1):
        _need(isinstance(t, dict) and t.get("index") == i, "ceremony_malformed",
              f"trustees[{i - 1}].index: must be {i}")  # fmt: skip
        name = t.get("name")
        _need(name is None or isinstance(name, str), "ceremony_malformed", "name: text or null")
        seats.append((_int(t["user_id"], f"trustees[{i - 1}].user_id"), name))
    _need(len({u for u, _ in seats}) == n, "ceremony_malformed", "a trustee is named twice")
    ceremony = start(str(data["ceremony_id"]), _int(data["sitting"], "sitting"), seats, k,
                     PRESIDIUM)  # fmt: skip
    _need(ceremony.n == n, "ceremony_malformed", "n")
    return ceremony


# --- the trustee and the phase --------------------------------------------------------------


def _int(value: Any, name: str) -> int:
    _need(isinstance(value, int) and not isinstance(value, bool), "ceremony_malformed",
          f"{name}: an integer")  # fmt: skip
    return int(value)


def _hex(value: Any, digits: int, name: str) -> str:
    """Lowercase hex of exactly ``digits`` digits (docs/trustee-crypto.md, encodings)."""
    ok = (
        isinstance(value, str)
        and len(value) == digits
        and all(c in "0123456789abcdef" for c in value)
    )
    _need(ok, "ceremony_malformed", f"{name}: {digits} lowercase hex digits")
    return str(value)


def _trustee(ceremony: Ceremony, data: Mapping[str, Any]) -> int:
    """The index of the trustee ``data`` names, checked against its account."""
    index = _int(data.get("index"), "index")
    user = _int(data.get("user_id"), "user_id")
    _need(1 <= index <= ceremony.n, "ceremony_not_trustee",
          f"index {index}: the trustees are 1..{ceremony.n}")  # fmt: skip
    seat = ceremony.trustee(index)
    _need(seat.user_id == user, "ceremony_not_trustee",
          f"trustee {index} is account {seat.user_id}, not {user}")  # fmt: skip
    return index


def _at(
    ceremony: Ceremony, data: Mapping[str, Any], phase: Phase, posted: Mapping[int, Any]
) -> int:
    """The index of the trustee posting ``phase``'s step: not yet posted, and the
    ceremony at that phase."""
    index = _trustee(ceremony, data)
    _need(index not in posted, "ceremony_duplicate", f"trustee {index} already posted {phase}")
    current = ceremony.phase
    _need(current is phase, "ceremony_wrong_phase", f"the ceremony is at {current}, not {phase}")
    return index


# --- commitments ------------------------------------------------------------------------------


def check_commitments(ceremony: Ceremony, data: Mapping[str, Any], *, verify: bool = True) -> None:
    """Trustee ``data["index"]``'s k commitments, each ``{"commitment": hex, "proof":
    {"c", "v"}}`` (crypto.trustees.ceremony.CoefficientCommitment's JSON), recorded in
    ``ceremony``. ``verify`` False skips decoding and proofs (the server rebuilding a
    ceremony from steps it already checked)."""
    index = _at(ceremony, data, Phase.COMMITMENTS, ceremony.commitments)
    commitments = data.get("commitments")
    k = ceremony.k
    _need(isinstance(commitments, list) and len(commitments) == k, "ceremony_malformed",
          f"commitments: a list of k = {k}")  # fmt: skip
    assert isinstance(commitments, list)
    kept: list[dict[str, Any]] = []
    for j, item in enumerate(commitments):
        name = f"commitments[{j}]"
        _need(isinstance(item, dict) and set(item) == {"commitment", "proof"},
              "ceremony_malformed", f"{name}: an object {{commitment, proof}}")  # fmt: skip
        proof = item["proof"]
        _need(isinstance(proof, dict) and set(proof) == {"c", "v"}, "ceremony_malformed",
              f"{name}.proof: an object {{c, v}}")  # fmt: skip
        kept.append({"commitment": _hex(item["commitment"], HEX32, f"{name}.commitment"),
                     "proof": {"c": _hex(proof["c"], HEX32, f"{name}.proof.c"),
                               "v": _hex(proof["v"], HEX32, f"{name}.proof.v")}})  # fmt: skip
    if verify:
        for j, item in enumerate(kept):
            try:
                parsed = dkg.CoefficientCommitment.from_json(item, f"commitments[{j}]")
            except TrusteeCryptoError as exc:
                raise CeremonyError("ceremony_malformed", str(exc)) from None
            try:
                dkg.verify_coefficient(ceremony.base, index, j, parsed.commitment, parsed.proof)
            except TrusteeCryptoError as exc:
                raise CeremonyError("ceremony_bad_proof", f"commitments[{j}]: {exc}") from None
    ceremony.commitments[index] = kept


# --- shares -----------------------------------------------------------------------------------


def check_shares(ceremony: Ceremony, data: Mapping[str, Any], *, verify: bool = True) -> None:
    """Trustee ``data["index"]``'s encrypted shares: ``shares``, one ``{"recipient",
    "alpha", "beta", "ct"}`` for every other trustee, in recipient order."""
    index = _at(ceremony, data, Phase.SHARES, ceremony.shares)
    shares = data.get("shares")
    others = [i for i in ceremony.indices if i != index]
    _need(isinstance(shares, list) and len(shares) == len(others), "ceremony_malformed",
          f"shares: a list of n − 1 = {len(others)}")  # fmt: skip
    assert isinstance(shares, list)
    received: dict[int, dict[str, str]] = {}
    for pos, (share, recipient) in enumerate(zip(shares, others, strict=True)):
        _need(isinstance(share, dict) and set(share) == {"recipient", "alpha", "beta", "ct"},
              "ceremony_malformed", f"shares[{pos}]: an object {{recipient, alpha, beta, ct}}")  # fmt: skip
        _need(share["recipient"] == recipient, "ceremony_malformed",
              f"shares[{pos}].recipient: must be {recipient} (every other trustee, in order)")  # fmt: skip
        alpha = _hex(share["alpha"], HEX32, f"shares[{pos}].alpha")
        beta = _hex(share["beta"], HEX32, f"shares[{pos}].beta")
        ct = _hex(share["ct"], CT_HEX, f"shares[{pos}].ct")
        encrypted = {"alpha": alpha, "beta": beta, "ct": ct}
        if verify:
            try:
                dkg.EncryptedShare.from_json(encrypted, f"shares[{pos}]")
            except TrusteeCryptoError as exc:
                raise CeremonyError("ceremony_malformed", str(exc)) from None
        received[recipient] = encrypted
    ceremony.shares[index] = received


def shares_for(ceremony: Ceremony, recipient: int) -> list[dict[str, Any]]:
    """The encrypted shares addressed to ``recipient``, by sender."""
    return [
        {"sender": sender, **by_recipient[recipient]}
        for sender, by_recipient in sorted(ceremony.shares.items())
        if recipient in by_recipient
    ]


# --- verdicts ---------------------------------------------------------------------------------


def check_verdicts(ceremony: Ceremony, data: Mapping[str, Any], *, verify: bool = True) -> bool:
    """Trustee ``data["index"]``'s verdicts: ``verdicts``, one per other trustee in sender
    order, ``{"sender", "verdict": "verified"}`` or ``{"sender", "verdict": "complaint",
    "share"}`` (the decrypted share, hex scalar). A complaint is upheld when the share
    does not agree with the sender's commitments (Feldman); one whose share agrees is
    refused (``ceremony_complaint_unfounded``). Returns whether a complaint was upheld
    (the ceremony then fails: the caller logs ``trustee_ceremony_failed``)."""
    index = _at(ceremony, data, Phase.VERDICTS, ceremony.verdicts)
    verdicts = data.get("verdicts")
    others = [i for i in ceremony.indices if i != index]
    _need(isinstance(verdicts, list) and len(verdicts) == len(others), "ceremony_malformed",
          f"verdicts: a list of n − 1 = {len(others)}")  # fmt: skip
    assert isinstance(verdicts, list)
    given: dict[int, dict[str, Any]] = {}
    upheld: list[dict[str, int]] = []
    for pos, (verdict, sender) in enumerate(zip(verdicts, others, strict=True)):
        _need(isinstance(verdict, dict) and verdict.get("sender") == sender, "ceremony_malformed",
              f"verdicts[{pos}].sender: must be {sender} (every other trustee, in order)")  # fmt: skip
        kind = verdict.get("verdict")
        if kind == VERIFIED:
            _need(set(verdict) == {"sender", "verdict"}, "ceremony_malformed",
                  f"verdicts[{pos}]: a verified verdict has sender and verdict only")  # fmt: skip
            given[sender] = {"sender": sender, "verdict": VERIFIED}
            continue
        _need(kind == COMPLAINT, "ceremony_malformed",
              f"verdicts[{pos}].verdict: {' or '.join(VERDICTS)}")  # fmt: skip
        _need(set(verdict) == {"sender", "verdict", "share"}, "ceremony_malformed",
              f"verdicts[{pos}]: a complaint has sender, verdict and share")  # fmt: skip
        share = _hex(verdict["share"], HEX32, f"verdicts[{pos}].share")
        if verify:
            _need(not _share_agrees(ceremony, sender, index, share, f"verdicts[{pos}].share"),
                  "ceremony_complaint_unfounded",
                  f"verdicts[{pos}]: the share agrees with trustee {sender}'s commitments")  # fmt: skip
        given[sender] = {"sender": sender, "verdict": COMPLAINT, "share": share}
        upheld.append({"index": index, "sender": sender})
    ceremony.verdicts[index] = given
    ceremony.complaints.extend(upheld)
    return bool(upheld)


def _share_agrees(ceremony: Ceremony, sender: int, recipient: int, share: str, name: str) -> bool:
    """Feldman: g^{P_i(ℓ)} = ∏_j K_{i,j}^{ℓ^j} for the revealed share (hex scalar)."""
    try:
        scalar = Scalar.from_hex(share, name)
    except TrusteeCryptoError as exc:
        raise CeremonyError("ceremony_malformed", str(exc)) from None
    try:
        dkg.verify_share(sender, recipient, scalar, ceremony.keys_of(sender))
    except TrusteeCryptoError:
        return False
    return True


def all_verified(ceremony: Ceremony) -> bool:
    """Every trustee's verdicts are in, and every one is ``verified``."""
    return len(ceremony.verdicts) == ceremony.n and all(
        v["verdict"] == VERIFIED for by in ceremony.verdicts.values() for v in by.values()
    )


def failed_data(ceremony: Ceremony, reason: str, by: int | None) -> dict[str, Any]:
    """The ``trustee_ceremony_failed`` entry: upheld complaints (``by`` null), or the
    presidium ``by`` abandoning an unfinished ceremony for a new one."""
    return {
        "ceremony_id": ceremony.ceremony_id,
        "sitting": ceremony.sitting,
        "reason": reason,
        "complaints": list(ceremony.complaints) if reason == COMPLAINT_REASON else [],
        "by": by,
    }


def fail(ceremony: Ceremony, data: Mapping[str, Any]) -> None:
    """Record a ``trustee_ceremony_failed``: checked against the ceremony's upheld
    complaints (reason ``complaint``), or an unfinished ceremony (``abandoned``)."""
    _need(ceremony.phase not in (Phase.DONE, Phase.FAILED), "ceremony_wrong_phase",
          f"the ceremony is {ceremony.phase}")  # fmt: skip
    reason = data.get("reason")
    if reason == COMPLAINT_REASON:
        _need(bool(ceremony.complaints), "ceremony_malformed", "no complaint was upheld")
        _need(data.get("complaints") == ceremony.complaints, "ceremony_malformed",
              f"complaints: the upheld ones are {ceremony.complaints}")  # fmt: skip
    else:
        _need(reason == ABANDONED_REASON, "ceremony_malformed",
              f"reason: {COMPLAINT_REASON} or {ABANDONED_REASON}")  # fmt: skip
        _need(not ceremony.complaints, "ceremony_malformed",
              "a ceremony with an upheld complaint fails for it")  # fmt: skip
    ceremony.failed = True


# --- the key ----------------------------------------------------------------------------------


def key_data(ceremony: Ceremony) -> dict[str, Any]:
    """The ``trustee_key`` entry, computed from the commitments: the joint key K = ∏ K_{i,0}
    and each trustee ℓ's public share K̂_ℓ = ∏_i ∏_j K_{i,j}^{ℓ^j}. Precondition: every
    verdict is in and ``verified``."""
    _need(ceremony.phase is Phase.VERDICTS and all_verified(ceremony), "ceremony_wrong_phase",
          "the key is computed once every verdict is in and verified")  # fmt: skip
    commitments = [ceremony.keys_of(i) for i in ceremony.indices]
    return {
        "ceremony_id": ceremony.ceremony_id,
        "sitting": ceremony.sitting,
        "n": ceremony.n,
        "k": ceremony.k,
        "trustees": [t.user_id for t in ceremony.trustees],
        "joint_key": dkg.joint_key([keys[0] for keys in commitments]).hex(),
        "public_shares": {str(i): dkg.public_share(i, commitments).hex() for i in ceremony.indices},
    }


def finish(ceremony: Ceremony, data: Mapping[str, Any]) -> None:
    """Record a logged ``trustee_key`` after recomputing it: every field must equal."""
    expected = key_data(ceremony)
    for name in ("ceremony_id", "sitting", "n", "k", "trustees", "joint_key"):
        _need(data.get(name) == expected[name], "ceremony_malformed",
              f"{name}: logged {data.get(name)!r}, recomputed {expected[name]!r}")  # fmt: skip
    logged = data.get("public_shares")
    _need(isinstance(logged, dict) and set(logged) == set(expected["public_shares"]),
          "ceremony_malformed", f"public_shares: one for each of 1..{ceremony.n}")  # fmt: skip
    assert isinstance(logged, dict)
    for i, share in expected["public_shares"].items():
        _need(logged[i] == share, "ceremony_malformed",
              f"public_shares[{i}]: logged {logged[i]!r}, recomputed {share!r}")  # fmt: skip
    _need(set(data) == set(expected), "ceremony_malformed",
          f"fields: {sorted(expected)}")  # fmt: skip
    ceremony.key = dict(data)


# --- the verifier's replay ----------------------------------------------------------------------


class TrusteeMismatch(Exception):
    """A ceremony entry the rules do not allow; ``Replay.apply`` reports it at its index."""


class _Replay(Protocol):
    scrutineers: dict[int, set[int]]

    def role_of(self, user: Any) -> str | None: ...


class TrusteesReplay:
    """Key ceremonies as the log records them; mixed into ``audit.verify.Replay``."""

    scrutineers: dict[int, set[int]]

    def role_of(self, user: Any) -> str | None:  # pragma: no cover - Replay's
        raise NotImplementedError

    def _init_trustees(self) -> None:
        self.ceremonies: dict[str, Ceremony] = {}
        self.sitting_ceremony: dict[int, str] = {}  # sitting → its latest ceremony
        self.trustee_keys: dict[int, dict[str, Any]] = {}  # sitting → its latest trustee_key

    def _ceremony(self, data: Mapping[str, Any]) -> Ceremony:
        ceremony = self.ceremonies.get(str(data["ceremony_id"]))
        if ceremony is None:
            raise TrusteeMismatch(f"ceremony {data['ceremony_id']!r} was never started")
        return ceremony

    def _designated(self, ceremony: Ceremony, what: str) -> None:
        designated = sorted(self.scrutineers.get(ceremony.sitting, set()))
        seats = [t.user_id for t in ceremony.trustees]
        if seats != designated:
            raise TrusteeMismatch(
                f"{what}: trustees {seats} are not sitting {ceremony.sitting}'s designated "
                f"scrutineers {designated}"
            )

    def _step(self, data: Mapping[str, Any], check: Any) -> Ceremony:
        ceremony = self._ceremony(data)
        user = data.get("user_id")
        error = trustee_error(user, self.role_of(user), self.scrutineers.get(ceremony.sitting, ()))  # type: ignore[arg-type]
        if error is not None:
            raise TrusteeMismatch(error)
        try:
            check(ceremony, data)
        except CeremonyError as exc:
            raise TrusteeMismatch(f"{exc.code}: {exc.detail}") from None
        return ceremony

    def on_trustee_ceremony_started(self, data: dict[str, Any]) -> None:
        ceremony_id = str(data["ceremony_id"])
        if ceremony_id in self.ceremonies:
            raise TrusteeMismatch(f"ceremony {ceremony_id!r} started twice")
        error = ceremony_start_error(self.role_of(data["by"]))
        if error is not None:
            raise TrusteeMismatch(f"by: account {data['by']}: {error}")
        try:
            ceremony = from_started(data)
        except CeremonyError as exc:
            raise TrusteeMismatch(f"{exc.code}: {exc.detail}") from None
        self._designated(ceremony, "started")
        previous = self.ceremonies.get(self.sitting_ceremony.get(ceremony.sitting, ""))
        if previous is not None and previous.phase not in (Phase.DONE, Phase.FAILED):
            raise TrusteeMismatch(
                f"ceremony {previous.ceremony_id!r} of sitting {ceremony.sitting} is unfinished:"
                " it is logged failed (abandoned) first"
            )
        self.ceremonies[ceremony_id] = ceremony
        self.sitting_ceremony[ceremony.sitting] = ceremony_id

    def on_trustee_commitments(self, data: dict[str, Any]) -> None:
        self._step(data, check_commitments)

    def on_trustee_shares(self, data: dict[str, Any]) -> None:
        self._step(data, check_shares)

    def on_trustee_verdicts(self, data: dict[str, Any]) -> None:
        self._step(data, check_verdicts)

    def on_trustee_ceremony_failed(self, data: dict[str, Any]) -> None:
        ceremony = self._ceremony(data)
        if data.get("sitting") != ceremony.sitting:
            raise TrusteeMismatch(f"sitting: the ceremony's is {ceremony.sitting}")
        if data.get("reason") == ABANDONED_REASON:
            error = ceremony_start_error(self.role_of(data.get("by")))
            if error is not None:
                raise TrusteeMismatch(f"by: account {data.get('by')}: {error}")
        elif data.get("by") is not None:
            raise TrusteeMismatch("by: a complaint fails a ceremony by itself (null)")
        try:
            fail(ceremony, data)
        except CeremonyError as exc:
            raise TrusteeMismatch(f"{exc.code}: {exc.detail}") from None

    def on_trustee_key(self, data: dict[str, Any]) -> None:
        ceremony = self._ceremony(data)
        missing = [
            f"{i}→{sender}" for i in ceremony.indices for sender in ceremony.indices
            if sender != i and sender not in ceremony.verdicts.get(i, {})
        ]  # fmt: skip
        if missing:
            raise TrusteeMismatch(f"verdicts missing (recipient→sender): {', '.join(missing)}")
        self._designated(ceremony, "trustee_key")
        try:
            finish(ceremony, data)
        except CeremonyError as exc:
            raise TrusteeMismatch(f"{exc.code}: {exc.detail}") from None
        self.trustee_keys[ceremony.sitting] = ceremony.key  # type: ignore[assignment]
