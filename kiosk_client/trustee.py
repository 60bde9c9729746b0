"""A scrutineer's device (监票人) played by a program: the Python trustee client.

What the scrutineer's page does in a browser (docs/trustees.md, docs/trustee-votes.md),
in Python, for ``voting-server simulate --trustees`` and the benchmark: it logs in as
a scrutineer through the login form, takes its seat in the sitting's key ceremony over
the JSON API (commitments, encrypted shares, verdicts), and afterwards decrypts —
partially, with a proof — the aggregates of the sitting's trustee-mode votes once they
close. The cryptography is ``crypto.trustees``'s. Before decrypting a vote it fetches
the counted encrypted ballots and checks that the aggregates it is asked to decrypt are
their product (audit/trustee_presented.py): a server that presented one deputy's
ciphertexts as a sum is refused (``AggregatesRefused``) and nothing is posted.

Its secrets (the polynomial, the secret share s_i) live in this object's memory only:
nothing is written to disk, logged or sent; ``__repr__`` names the seat, not the key.
(The browser page also keeps an encrypted backup file; a program that ends with the
sitting needs none.)

Every wait is bounded: ``TrusteeTimeout`` names what it waited for. A refusal of the
server is ``TrusteeRefused`` with the protocol's ``code`` and the server's detail.

    client = TrusteeClient(base_url, username, password)
    key = client.run_ceremony(sitting_id)           # until the joint key is logged
    client.serve(sitting_id, stop)                  # decrypt every vote that closes
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from audit.trustee_content import ContentMismatch
from audit.trustee_presented import check_presented_aggregates
from crypto.trustees import ballot as tballot
from crypto.trustees import ceremony as dkg
from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import Element, Scalar, base

log = logging.getLogger(__name__)

API = "/api/trustees"
REQUEST_TIMEOUT_S = 30.0
POLL_S = 0.2  # between two looks at the ceremony's or the votes' state
CEREMONY_DEADLINE_S = 120.0  # from the first look to the joint key
IDENTITY_HEX = "00" * 32  # an aggregate over no ballot: nothing to decrypt
# Refusals that mean "nothing more to do here": k others were faster, or this trustee's
# share is already in (a retry after a lost answer).
DONE_ALREADY = frozenset({"vote_has_result", "decryption_duplicate"})


class TrusteeError(RuntimeError):
    """The trustee client could not do its part (the message says which step and why)."""


class TrusteeRefused(TrusteeError):
    """The server refused a request: ``code`` is the protocol's error code."""

    def __init__(self, what: str, status: int, answer: Any) -> None:
        body = answer if isinstance(answer, dict) else {}
        self.code = str(body.get("error", f"http_{status}"))
        self.detail = body.get("detail")
        self.status = status
        text = body.get("message_en") or body.get("message") or str(answer)[:200]
        super().__init__(f"{what}: refused ({status} {self.code}): {text} {self.detail or ''}")


class AggregatesRefused(TrusteeError):
    """The aggregates a vote presents are not the product of genuine, distinct, counted
    ballots: this device decrypted and posted nothing. ``field`` names what mismatched."""

    def __init__(self, vote: int, mismatch: ContentMismatch) -> None:
        super().__init__(f"vote {vote}: refused to decrypt the aggregates: {mismatch}")
        self.field = mismatch.field


class TrusteeTimeout(TrusteeError, TimeoutError):
    """A bounded wait ran out."""


@dataclass
class Seat:
    """This trustee's secrets in one ceremony: held in memory, never sent."""

    ceremony_id: str
    index: int
    n: int
    k: int
    base_hash: bytes  # H_C
    polynomial: dkg.Polynomial
    secret_share: Scalar | None = None  # s_i, once every share is verified
    key: dict[str, Any] | None = None  # the logged ``trustee_key`` data

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Seat(ceremony={self.ceremony_id}, index={self.index}, n={self.n}, k={self.k})"


def form_token(html: str) -> str:
    """The CSRF token of a page's form; TrusteeError when the page has none."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if match is None:
        raise TrusteeError("the login page carries no CSRF token")
    return match.group(1)


def staff_session(base_url: str, username: str, password: str) -> requests.Session:
    """A staff account's browser session, logged in through the login form, whose
    ``X-CSRF-Token`` header carries the new session's token (for the JSON POSTs)."""
    http = requests.Session()
    page = http.get(f"{base_url}/login", timeout=REQUEST_TIMEOUT_S)
    answer = http.post(
        f"{base_url}/login",
        data={"username": username, "password": password, "csrf_token": form_token(page.text)},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT_S,
    )
    if answer.status_code != 302:
        raise TrusteeError(f"login of {username} failed: HTTP {answer.status_code}")
    page = http.get(f"{base_url}/login", timeout=REQUEST_TIMEOUT_S)  # the new session's token
    http.headers["X-CSRF-Token"] = form_token(page.text)
    return http


def commitment_keys(state: dict[str, Any], sender: int) -> list[Element]:
    """K_{sender,0…k−1} as the ceremony's state (the JSON API's answer) publishes them."""
    return [
        Element.from_hex(c["commitment"], f"commitments[{sender}]")
        for c in state["commitments"][str(sender)]
    ]


def opened_shares(
    base_hash: bytes, index: int, polynomial: dkg.Polynomial, state: dict[str, Any]
) -> dict[int, Scalar]:
    """The shares addressed to trustee ``index`` in ``state``, decrypted with its a_0:
    sender → P_sender(index)."""
    a0 = polynomial.coefficients[0]
    return {
        s["sender"]: dkg.decrypt_share(
            base_hash, s["sender"], index, a0,
            dkg.EncryptedShare.from_json({k: s[k] for k in ("alpha", "beta", "ct")}),
        )
        for s in state["shares_for_you"]
    }  # fmt: skip


def share_verdicts(index: int, opened: dict[int, Scalar], state: dict[str, Any]) -> dict[str, Any]:
    """The verdicts step's body: Feldman on every opened share against its sender's
    commitments — ``verified``, or a complaint revealing the share."""
    verdicts = []
    for sender, share in sorted(opened.items()):
        try:
            dkg.verify_share(sender, index, share, commitment_keys(state, sender))
            verdicts.append({"sender": sender, "verdict": "verified"})
        except ValueError:
            verdicts.append({"sender": sender, "verdict": "complaint", "share": share.hex()})
    return {"verdicts": verdicts}


@dataclass
class TrusteeClient:
    """One scrutineer's device. ``base_url``: the server, e.g. ``http://127.0.0.1:8000``."""

    base_url: str
    username: str
    password: str = field(repr=False)
    poll_s: float = POLL_S
    http: requests.Session = field(init=False, repr=False)
    seats: dict[str, Seat] = field(default_factory=dict, repr=False)  # ceremony id → secrets
    decrypted: list[int] = field(default_factory=list)  # votes this trustee decrypted

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.http = staff_session(self.base_url, self.username, self.password)

    # -- the JSON API ------------------------------------------------------------------------

    def get(self, path: str) -> dict[str, Any]:
        return self._answer(
            f"GET {path}", self.http.get(self._url(path), timeout=REQUEST_TIMEOUT_S)
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(self._url(path), json=body, timeout=REQUEST_TIMEOUT_S)
        return self._answer(f"POST {path}", answer)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API}/{path}"

    @staticmethod
    def _answer(what: str, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code != 200 or not isinstance(body, dict) or body.get("ok") is False:
            raise TrusteeRefused(what, response.status_code, body)
        return body

    # -- the key ceremony --------------------------------------------------------------------

    def run_ceremony(self, sitting: int, deadline_s: float = CEREMONY_DEADLINE_S) -> dict[str, Any]:
        """Take part in the sitting's key ceremony until its joint key is logged; returns
        the ``trustee_key`` data. Waits (at most ``deadline_s``) for the presidium to
        start one and for the other trustees' steps. Raises TrusteeError when the
        ceremony fails (a complaint upheld, or abandoned) or the secret share does not
        match the logged public share, TrusteeTimeout when the deadline passes."""
        deadline = time.monotonic() + deadline_s
        ceremony_id = self._wait_for_ceremony(sitting, deadline)
        path = f"ceremonies/{ceremony_id}"
        while True:
            state = self.get(path)
            seat = self._seat(state)
            if state["phase"] == "failed":
                raise TrusteeError(f"key ceremony {ceremony_id} failed: {state['complaints']}")
            if state["phase"] == "done":
                return self._finish(seat, state)
            step = state["next"]
            if step == "commitments":
                commitments = dkg.commit(seat.base_hash, seat.index, seat.polynomial)
                self.post(
                    f"{path}/commitments", {"commitments": [c.to_json() for c in commitments]}
                )
            elif step == "shares":
                self.post(f"{path}/shares", self._shares(seat, state))
            elif step == "verdicts":
                self.post(f"{path}/verdicts", self._verdicts(seat, state))
            else:
                self._pause(
                    deadline, f"the other trustees of ceremony {ceremony_id} ({state['phase']})"
                )

    def _wait_for_ceremony(self, sitting: int, deadline: float) -> str:
        while True:
            state = self.get(f"sittings/{sitting}")
            if state.get("ceremony_id") and state.get("phase") != "failed":
                return str(state["ceremony_id"])
            self._pause(deadline, f"a key ceremony of sitting {sitting}")

    def _pause(self, deadline: float, what: str) -> None:
        if time.monotonic() + self.poll_s > deadline:
            raise TrusteeTimeout(f"trustee {self.username}: gave up waiting for {what}")
        time.sleep(self.poll_s)

    def _seat(self, state: dict[str, Any]) -> Seat:
        """This trustee's seat in the ceremony of ``state`` (its polynomial drawn once)."""
        ceremony_id = state["ceremony_id"]
        seat = self.seats.get(ceremony_id)
        if seat is None:
            if not isinstance(state.get("you"), int):
                raise TrusteeError(f"{self.username} is not a trustee of ceremony {ceremony_id}")
            seat = Seat(ceremony_id, state["you"], state["n"], state["k"],
                        bytes.fromhex(state["base_hash"]), dkg.Polynomial.random(state["k"]))  # fmt: skip
            self.seats[ceremony_id] = seat
        return seat

    def _shares(self, seat: Seat, state: dict[str, Any]) -> dict[str, Any]:
        """P_i(ℓ) for every other trustee ℓ, encrypted to ℓ's first commitment; the
        others' commitments are checked first (a bad proof is not answered)."""
        shares = []
        for ell in range(1, seat.n + 1):
            if ell == seat.index:
                continue
            commitments = [dkg.CoefficientCommitment.from_json(c, f"commitments[{ell}]")
                           for c in state["commitments"][str(ell)]]  # fmt: skip
            dkg.verify_commitments(seat.base_hash, ell, seat.k, commitments)
            enc = dkg.encrypt_share(seat.base_hash, seat.index, ell, commitments[0].commitment,
                                    seat.polynomial.evaluate(ell))  # fmt: skip
            shares.append({"recipient": ell, **enc.to_json()})
        return {"shares": shares}

    def _opened(self, seat: Seat, state: dict[str, Any]) -> dict[int, Scalar]:
        return opened_shares(seat.base_hash, seat.index, seat.polynomial, state)

    def _verdicts(self, seat: Seat, state: dict[str, Any]) -> dict[str, Any]:
        """Feldman on every share received: ``verified``, or a complaint revealing it."""
        opened = self._opened(seat, state)
        if sorted(opened) != [i for i in range(1, seat.n + 1) if i != seat.index]:
            raise TrusteeError(f"ceremony {seat.ceremony_id}: shares from {sorted(opened)} only")
        return share_verdicts(seat.index, opened, state)

    def _finish(self, seat: Seat, state: dict[str, Any]) -> dict[str, Any]:
        """s_i = Σ_j P_j(i), checked against the logged public share K̂_i = g^{s_i}."""
        if seat.secret_share is None:
            own = seat.polynomial.evaluate(seat.index)
            s_i = dkg.secret_share([own, *self._opened(seat, state).values()])
            logged = state["key"]["public_shares"][str(seat.index)]
            if base(s_i).hex() != logged:
                raise TrusteeError(
                    f"ceremony {seat.ceremony_id}: my secret share does not match the "
                    f"logged public share of trustee {seat.index}"
                )
            seat.secret_share, seat.key = s_i, state["key"]
        return dict(state["key"])

    # -- decrypting ---------------------------------------------------------------------------

    def pending_votes(self, sitting: int) -> list[int]:
        """The sitting's trustee-mode votes that wait for this trustee's decryption."""
        answer = self.get(f"sittings/{sitting}/votes")
        votes = answer.get("votes", [])
        return [int(v["vote"] if isinstance(v, dict) else v) for v in votes]

    def decrypt_vote(self, vote: int) -> bool:
        """Post this trustee's partial decryption of ``vote``'s aggregates, if the vote
        asks for it (``next`` = ``decrypt``); True when posted. H_V is computed here from
        the ceremony's H_C, the vote id, the manifest and the joint key (never taken
        from the server); a joint key other than the ceremony's is refused, and so are
        aggregates that are not the product of the counted ballots (``check_aggregates``:
        AggregatesRefused, nothing posted)."""
        state = self.get(f"votes/{vote}")
        if state.get("next") != "decrypt":
            return False
        seat = self.seats.get(str(state["ceremony_id"]))
        if seat is None or seat.secret_share is None or seat.key is None:
            raise TrusteeError(f"vote {vote}: no secret share for ceremony {state['ceremony_id']}")
        if state["joint_key"] != seat.key["joint_key"]:
            raise TrusteeError(f"vote {vote}: its joint key is not ceremony {seat.ceremony_id}'s")
        layout = tballot.Layout.from_json(state["manifest"])
        h_v = tballot.vote_hash(seat.base_hash, str(state["vote"]), layout,
                                Element.from_hex(state["joint_key"], "joint_key"))  # fmt: skip
        self.check_aggregates(vote, state)
        shares: dict[str, Any] = {}
        cast = state.get("cast") or {}
        for group, data in (state.get("aggregates") or {}).items():
            if cast.get(group) == 0 or all(
                c[key] == IDENTITY_HEX for row in data for c in row for key in ("alpha", "beta")
            ):
                continue  # no counted ballot in this group: nothing to decrypt
            aggregates = tballot.aggregates_from_json(layout, data)
            table = tdecrypt.partial_decrypt_all(h_v, seat.index, seat.secret_share, aggregates)
            shares[group] = tdecrypt.partials_to_json(table)
        self.post(f"votes/{vote}/decryption", {"shares": shares})
        self.decrypted.append(vote)
        log.info("trustee %s decrypted vote %s", seat.index, vote)
        return True

    def presented_ballots(self, vote: int) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        """The vote's counted encrypted ballots as logged (``{group: [data…]}``) and the
        keys of the tablets that signed them, every page of ``votes/<vote>/ballots``."""
        ballots: dict[str, list[Any]] = {}
        devices: dict[str, Any] = {}
        offset: int | None = 0
        while offset is not None:
            page = self.get(f"votes/{vote}/ballots?offset={offset}")
            for group, rows in page["ballots"].items():
                ballots.setdefault(group, []).extend(rows)
            devices.update(page["devices"])
            following = page.get("next")
            if following is not None and (not isinstance(following, int) or following <= offset):
                raise TrusteeError(f"vote {vote}: the ballots' pages do not advance ({following})")
            offset = following
        return ballots, devices

    def check_aggregates(self, vote: int, state: dict[str, Any]) -> None:
        """The aggregates of ``state`` (``GET votes/<vote>``) recomputed from the counted
        ballots, each signed by its seat's tablet, one per member, ``cast`` per group;
        AggregatesRefused names the first mismatch."""
        ballots, devices = self.presented_ballots(vote)
        context = {"vote_id": str(vote), "manifest": state["manifest"]}
        try:
            check_presented_aggregates(
                context, ballots, devices, state.get("aggregates"), state.get("cast") or {}
            )
        except ContentMismatch as mismatch:
            log.warning("trustee %s: vote %s not decrypted: %s", self.username, vote, mismatch)
            raise AggregatesRefused(vote, mismatch) from None

    def decrypt_pending(self, sitting: int) -> list[int]:
        """Every vote of the sitting waiting for this trustee, decrypted; their ids."""
        return [vote for vote in self.pending_votes(sitting) if self.decrypt_vote(vote)]

    def serve(self, sitting: int, stop: threading.Event, poll_s: float | None = None) -> None:
        """Decrypt the sitting's votes as they close, until ``stop`` is set. A refusal
        because another trustee completed the count first is not an error."""
        while not stop.is_set():
            for vote in self.pending_votes(sitting):
                try:
                    self.decrypt_vote(vote)
                except TrusteeRefused as refused:
                    if refused.code not in DONE_ALREADY:
                        raise
            stop.wait(self.poll_s if poll_s is None else poll_s)

    def close(self) -> None:
        self.http.close()
        self.seats.clear()
