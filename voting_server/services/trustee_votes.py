"""Trustee-mode secret votes as the server runs them (docs/trustee-votes.md).

The rules and the checks are pure and shared with the verifier
(``audit/trustee_content.py``, ``crypto.trustees``); here they meet the database:

- ``set_trustee_mode`` (secretariat, a draft): a secret vote of a kind that supports
  it is held in trustee mode; ``configuration_error`` says why not.
- ``open_trustees`` (at open, in ``VoteLifecycle.open_vote``): the sitting's completed
  key ceremony gives the vote its ``trustees`` object (logged in ``vote_opened``) and
  ``votes.trustee_data``; ``context_of`` is what the ballot path keeps in memory.
- ``close_aggregates`` (at close): the counted ``encrypted_ballot`` entries multiplied per
  option, per group, logged as ``aggregates``. The vote then has no result.
- ``post_decryption`` (a trustee's page): one trustee's partial decryptions, every proof
  checked, logged as ``decryption_share``; with k of them the totals go through the
  kind's rules as a paper count and the ``result`` is logged.
- ``vote_state`` / ``awaiting``: what a scrutineer's page reads;
  ``presented_ballots``: the counted encrypted ballots as logged, with their tablets'
  keys, from which the page recomputes the aggregates before decrypting them
  (audit/trustee_presented.py).

Every request is checked completely before anything is written: a refusal changes
nothing. Each function runs inside the caller's write transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import trustee_content as content
from audit.entry_types import EntryType
from audit.trustee_votes import (
    check_own_partials,
    configuration_error,
    decrypted_totals,
    totals_lists,
)
from crypto.trustees import ballot as tballot
from crypto.trustees.group import TrusteeCryptoError
from rules import VoteSpec
from rules.duties import trustee_error
from rules.kinds import kind_of
from rules.lifecycle import VoteState
from voting_server.models import AgendaItem, AuditEntry, Device, Member, StaffUser, Vote
from voting_server.services import staff
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal
from voting_server.services.results import scrutineers
from voting_server.services.trustee_ceremony import sitting_key

BALLOTS_PAGE = 500  # counted ballots per answer of presented_ballots: ≤ 4 MB for 12 candidates


# --- configuration -----------------------------------------------------------------------


def set_trustee_mode(session: Session, vote_id: int, on: bool) -> Vote:
    """The secretariat holds a draft vote in trustee mode (``on``) or not.
    Refusal('trustees_unsupported') for a named vote or an unsupported kind."""
    vote = session.get(Vote, vote_id)
    if vote is None:
        raise Refusal("unknown_vote")
    if vote.state is not VoteState.DRAFT:
        raise Refusal("vote_not_draft")
    if on and (error := configuration_error(vote.secret, vote.spec())) is not None:
        raise Refusal("trustees_unsupported", error)
    vote.trustees = on
    session.flush()
    return vote


# --- open ----------------------------------------------------------------------------------


def open_trustees(session: Session, vote: Vote, spec: VoteSpec) -> dict[str, Any]:
    """The ``trustees`` object of ``vote_opened`` for trustee-mode ``vote``: the sitting's
    completed ceremony's joint key, the kind's layout and H_V; stored in
    ``vote.trustee_data`` with n, k, the trustees and their public shares.
    Refusal('trustees_unsupported') / ('trustees_no_key') before anything is written."""
    if (error := configuration_error(vote.secret, spec)) is not None:
        raise Refusal("trustees_unsupported", error)
    key = sitting_key(session, vote.agenda_item.sitting_id)
    if key is None:
        raise Refusal("trustees_no_key", f"sitting {vote.agenda_item.sitting_id}")
    manifest = kind_of(spec.kind).encrypted_layout(spec)
    context = {
        "ceremony_id": key["ceremony_id"], "n": key["n"], "k": key["k"],
        "vote_id": str(vote.id), "manifest": manifest, "joint_key": key["joint_key"],
        "public_shares": key["public_shares"],
    }  # fmt: skip
    h_v = content.vote_hash(context)
    logged = {"ceremony_id": key["ceremony_id"], "joint_key": key["joint_key"],
              "manifest": manifest, "vote_hash": h_v.hex()}  # fmt: skip
    vote.trustee_data = {**context, "vote_hash": h_v.hex(), "trustees": key["trustees"],
                         "aggregates": None, "shares": {}}  # fmt: skip
    return logged


def vote_context(data: Mapping[str, Any]) -> dict[str, Any]:
    """``votes.trustee_data`` as audit/trustee_content.py's ``vote_context``."""
    names = ("ceremony_id", "n", "k", "vote_id", "manifest", "joint_key", "public_shares")
    return {name: data[name] for name in names}


@dataclass(frozen=True)
class TrusteeContext:
    """What the ballot path keeps of an open trustee-mode vote: enough to check a
    ballot's proofs in the checker process (services/signatures.py)."""

    vote_hash: bytes
    joint_key: str
    manifest: list[dict[str, Any]]
    manifest_text: str  # canonical JSON, as hashed into H_V
    seat_members: dict[int, int]  # seat → member id: H_B binds the member, a kiosk knows its seat


def context_of(session: Session, vote: Vote) -> TrusteeContext | None:
    """The ballot path's context of open ``vote`` (None: not in trustee mode)."""
    data = vote.trustee_data
    if not vote.trustees or data is None:
        return None
    body_id = vote.agenda_item.sitting.body_id
    seats = dict(
        session.execute(
            select(Member.seat, Member.id).where(Member.body_id == body_id, Member.active)
        ).all()
    )
    layout = tballot.Layout.from_json(data["manifest"])
    return TrusteeContext(bytes.fromhex(data["vote_hash"]), data["joint_key"],
                          data["manifest"], layout.manifest(), seats)  # fmt: skip


def shape_error(manifest: Sequence[Mapping[str, Any]], ballot: Any) -> str | None:
    """Whether an encrypted ballot has the layout's shape (contests, options, proof
    lengths), checked before its proofs: the cheap bound. Pure; names the place."""
    if not isinstance(ballot, dict) or set(ballot) != {"contests"}:
        return "encrypted: an object with contests only"
    contests = ballot["contests"]
    if not isinstance(contests, list) or len(contests) != len(manifest):
        return f"encrypted.contests: {len(manifest)} expected"
    for n, (contest, given) in enumerate(zip(manifest, contests, strict=True)):
        where = f"encrypted.contests[{n}]"
        if not isinstance(given, dict) or set(given) != {"selections", "proof"}:
            return f"{where}: selections and proof"
        selections = given["selections"]
        if not isinstance(selections, list) or len(selections) != len(contest["options"]):
            return f"{where}.selections: {len(contest['options'])} expected"
        if (error := _proof_shape(given["proof"], contest["limit"], f"{where}.proof")) is not None:
            return error
        for o, selection in enumerate(selections):
            place = f"{where}.selections[{o}]"
            if not isinstance(selection, dict) or set(selection) != {"alpha", "beta", "proof"}:
                return f"{place}: alpha, beta and proof"
            if (error := _proof_shape(selection["proof"], 1, f"{place}.proof")) is not None:
                return error
    return None


def _proof_shape(proof: Any, bound: int, where: str) -> str | None:
    if not isinstance(proof, dict) or set(proof) != {"c", "v"}:
        return f"{where}: c and v"
    if any(not isinstance(proof[x], list) or len(proof[x]) != bound + 1 for x in ("c", "v")):
        return f"{where}: {bound + 1} values each of c and v"
    return None


def kiosk_view(vote: Vote) -> dict[str, Any] | None:
    """The ``trustees`` field of the vote as every screen receives it (public_vote): what
    the tablet computes H_C and H_V from — never a hash from the server."""
    data = vote.trustee_data
    if not vote.trustees or data is None:
        return None
    return {"ceremony_id": data["ceremony_id"], "n": data["n"], "k": data["k"],
            "joint_key": data["joint_key"], "manifest": data["manifest"]}  # fmt: skip


def decryption_view(vote: Vote) -> dict[str, Any] | None:
    """For the console: a closed trustee-mode vote's decryption, ``{"shares": x, "k": k,
    "awaiting": true}`` while it has no result (等待监票人解密 (x/k)); None otherwise."""
    data = vote.trustee_data
    if not vote.trustees or data is None or data.get("aggregates") is None:
        return None
    return {"shares": len(data["shares"]), "k": data["k"], "awaiting": vote.result is None}


# --- close ---------------------------------------------------------------------------------


def close_aggregates(
    log: AuditLog,
    session: Session,
    vote: Vote,
    spec: VoteSpec,
    chosen: Mapping[str, Sequence[Any]],
    present: int,
) -> dict[str, Any]:
    """Log ``aggregates`` over the counted ballots: ``chosen`` maps each group (members,
    attending) to its counted presses (rows with ``ballot`` and ``entry_idx``). Keeps the
    aggregates, the cast and the present count in ``vote.trustee_data``. With no counted
    ballot at all the ``result`` is logged too (``decrypted_totals``: all 0)."""
    data = dict(vote.trustee_data or {})
    layout = content.layout_of(data)
    groups = content.groups_of(spec)
    entries = {g: [{"ballot": p.ballot} for p in chosen.get(g, ())] for g in groups}
    aggregates = content.recompute_aggregates(layout, entries)
    cast = {g: len(entries[g]) for g in groups}
    counted = sorted(p.entry_idx for g in groups for p in chosen.get(g, ()))
    logged = {"vote": vote.id, "counted": counted, "cast": cast, "aggregates": aggregates}
    log.append(session, vote.owner_body_id(), EntryType.AGGREGATES, logged)
    by_group = {g: sorted(p.entry_idx for p in chosen.get(g, ())) for g in groups}
    data.update(aggregates=aggregates, cast=cast, present=present, counted=by_group)
    if not any(cast.values()):
        # no ballot in any group: every aggregate is the identity, every count publicly
        # 0 — nothing for the scrutineers to decrypt, the result now
        result, content_obj = _count(vote, data, bytes.fromhex(data["vote_hash"]))
        log.append(session, vote.owner_body_id(), EntryType.RESULT,
                   {"vote": vote.id, "result": result, "content": content_obj})  # fmt: skip
        vote.result = result
    vote.trustee_data = data
    return logged


# --- decryption ----------------------------------------------------------------------------


def _vote(session: Session, vote_id: int) -> Vote:
    vote = session.get(Vote, vote_id)
    if vote is None or not vote.trustees or vote.trustee_data is None:
        raise Refusal("unknown_vote", "not a trustee-mode vote that was opened")
    return vote


def trustee_index(session: Session, vote: Vote, user: StaffUser) -> int | None:
    """The caller's trustee index in the vote's ceremony; None for the presidium of the
    vote's body; Refusal('decryption_not_trustee') for anyone else."""
    role = staff.actor_role(session, user.id)
    if role == "presidium" and staff.serves(session, user.id, vote.owner_body_id()):
        return None
    designated = {s.user_id for s in scrutineers(session, vote.agenda_item.sitting_id)}
    error = trustee_error(user.id, role, designated)
    if error is not None:
        raise Refusal("decryption_not_trustee", error)
    trustees = vote.trustee_data["trustees"]  # type: ignore[index]
    if user.id not in trustees:
        raise Refusal("decryption_not_trustee", f"account {user.id} is not a trustee of it")
    return int(trustees.index(user.id)) + 1


def _next(vote: Vote, index: int | None) -> str | None:
    data = vote.trustee_data or {}
    if index is None or data.get("aggregates") is None or vote.result is not None:
        return None
    return "wait" if str(index) in data["shares"] else "decrypt"


def vote_state(session: Session, vote_id: int, user: StaffUser) -> dict[str, Any]:
    """The vote as a trustee's page (or the presidium) reads it (docs/trustee-votes.md)."""
    vote = _vote(session, vote_id)
    index = trustee_index(session, vote, user)
    data = vote.trustee_data or {}
    return {
        "ok": True, "vote": vote.id, "title": vote.title, "state": vote.state.value,
        "ceremony_id": data["ceremony_id"], "n": data["n"], "k": data["k"], "you": index,
        "joint_key": data["joint_key"], "manifest": data["manifest"],
        "aggregates": data.get("aggregates"), "cast": data.get("cast"),
        "shares": sorted(int(i) for i in data["shares"]), "next": _next(vote, index),
        "result": vote.result,
    }  # fmt: skip


def awaiting(session: Session, sitting_id: int, user: StaffUser) -> dict[str, Any]:
    """The sitting's trustee-mode votes closed without a result, for the caller."""
    votes = session.scalars(
        select(Vote)
        .join(AgendaItem)
        .where(
            AgendaItem.sitting_id == sitting_id,
            Vote.trustees,
            Vote.state == VoteState.CLOSED,
            Vote.result.is_(None),
        )
        .order_by(Vote.id)
    ).all()
    out = []
    for vote in votes:
        if (vote.trustee_data or {}).get("aggregates") is None:
            continue
        index = trustee_index(session, vote, user)
        data = vote.trustee_data or {}
        out.append({"vote": vote.id, "title": vote.title, "k": data["k"],
                    "shares": sorted(int(i) for i in data["shares"]),
                    "next": _next(vote, index)})  # fmt: skip
    return {"ok": True, "sitting": sitting_id, "votes": out}


def presented_ballots(
    session: Session, vote_id: int, user: StaffUser, offset: int = 0
) -> dict[str, Any]:
    """The counted ``encrypted_ballot`` entries' data as logged, ``BALLOTS_PAGE`` from
    ``offset`` (members first, then attending deputies, each in log order), with the
    enrolled keys of the tablets that signed them: what a scrutineer's device checks the
    aggregates against before decrypting (docs/trustee-votes.md). For the vote's
    trustees and the presidium, once the vote is closed; ``next`` is the following
    page's offset, or None."""
    vote = _vote(session, vote_id)
    trustee_index(session, vote, user)
    data = vote.trustee_data or {}
    if data.get("aggregates") is None:
        raise Refusal("decryption_not_ready", f"vote {vote.id} is {vote.state.value}")
    counted: Mapping[str, Sequence[int]] | None = data.get("counted")
    if counted is None:  # closed by a server that did not keep them: the bundle has them
        raise Refusal("decryption_not_ready", f"vote {vote.id}: no counted ballots kept")
    order = [(group, idx) for group in counted for idx in counted[group]]
    if offset < 0 or offset > len(order):
        raise Refusal("invalid_payload", f"offset: 0 to {len(order)}")
    page = order[offset : offset + BALLOTS_PAGE]
    lines = dict(
        session.execute(
            select(AuditEntry.idx, AuditEntry.line).where(
                AuditEntry.body_id == vote.owner_body_id(),
                AuditEntry.idx.in_([idx for _, idx in page]),
            )
        ).all()
    )
    ballots: dict[str, list[dict[str, Any]]] = {group: [] for group in counted}
    for group, idx in page:
        entry = json.loads(lines[idx])
        if entry["type"] != EntryType.ENCRYPTED_BALLOT or entry["data"]["vote"] != vote.id:
            raise RuntimeError(f"log entry {idx} is not an encrypted ballot of vote {vote.id}")
        ballots[group].append(entry["data"])
    names = sorted({str(b["device"]) for rows in ballots.values() for b in rows})
    devices = session.execute(
        select(Device.id, Device.seat, Device.public_key).where(Device.id.in_(names))
    ).all()
    end = offset + len(page)
    return {
        "ok": True, "vote": vote.id, "cast": data["cast"], "total": len(order),
        "offset": offset, "next": end if end < len(order) else None, "ballots": ballots,
        "devices": {d.id: {"seat": d.seat, "public_key": d.public_key} for d in devices},
    }  # fmt: skip


def _partials(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"trustee": int(i), "shares": s["shares"]} for i, s in sorted(data["shares"].items())]


def post_decryption(
    session: Session, log: AuditLog, vote_id: int, user: StaffUser, payload: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Trustee ``user`` posts its partial decryptions (``{"shares": {group: [[{"m", "c",
    "v"}…]…]}}``): every proof checked against its public share, then ``decryption_share``
    logged; with k in, the ``result``. Returns the vote's state for the caller and
    whether this post made the result."""
    if set(payload) != {"shares"}:
        raise Refusal("invalid_payload", "the only field is shares")
    log.lock(session, _vote(session, vote_id).owner_body_id())  # the state below holds
    vote = _vote(session, vote_id)
    index = trustee_index(session, vote, user)
    if index is None:
        raise Refusal("decryption_not_trustee", "the presidium does not decrypt")
    data = dict(vote.trustee_data or {})
    if vote.result is not None:
        raise Refusal("vote_has_result")
    if vote.state is not VoteState.CLOSED or data.get("aggregates") is None:
        raise Refusal("decryption_not_ready", f"vote {vote.id} is {vote.state.value}")
    if str(index) in data["shares"]:
        raise Refusal("decryption_duplicate", f"trustee {index}")
    context = vote_context(data)
    h_v = bytes.fromhex(data["vote_hash"])
    cast = data["cast"]
    try:
        check_own_partials(context, h_v, index, data["aggregates"], cast, payload["shares"])
    except (content.ContentMismatch, TrusteeCryptoError) as exc:
        raise Refusal("decryption_bad_proof", str(exc)) from None
    entry = {"vote": vote.id, "trustee": index, "user": user.id, "shares": payload["shares"]}
    log.append(session, vote.owner_body_id(), EntryType.DECRYPTION_SHARE, entry)
    shares = {**data["shares"], str(index): {"user": user.id, "shares": payload["shares"]}}
    data["shares"] = shares
    counted = False
    if len(shares) >= data["k"]:
        result, content_obj = _count(vote, data, h_v)
        log.append(session, vote.owner_body_id(), EntryType.RESULT,
                   {"vote": vote.id, "result": result, "content": content_obj})  # fmt: skip
        vote.result, vote.closed_at = result, datetime.now(UTC)
        counted = True
    vote.trustee_data = data
    session.flush()
    return vote_state(session, vote.id, user), counted


def _count(
    vote: Vote, data: Mapping[str, Any], h_v: bytes
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The result from the posted shares (k or more): totals, the kind's paper count,
    the rules engine — as the verifier recomputes it."""
    spec = vote.spec()
    totals = decrypted_totals(
        vote_context(data), data["aggregates"], _partials(data), data["cast"], h_v
    )
    result = content.content_result(
        spec, vote.members_at_open or 0, data["present"], totals, data["cast"]
    )
    used = sorted(int(i) for i in data["shares"])
    return result, {"mode": "trustees", "trustees": used,
                    "totals": totals_lists(data["manifest"], totals)}  # fmt: skip
