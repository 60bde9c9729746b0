"""Public results (全程公开): what anyone may read, without a login — announced votes only.

A vote becomes public when the presidium announces it (宣布, the ``vote_announced``
entry): before that — a draft, an open vote, a closed vote not yet announced, a
cancelled one — nothing of it is public, not even its title. Everything here is
read from the vote's body's audit log and the database, as plain data for the
public pages (``views/public.py``) and the static export (``cli/publish.py``):

- ``overview``: every body, with how many of its votes are announced;
- ``body_results``: a body's sittings with announced votes, newest first;
- ``public_vote``: one announced vote — its result sheet (``sheets``), the roll call
  of a named vote (who pressed what, from the logged ballots; a secret vote has
  none: totals only, never anything per deputy), and the evidence: a signed head
  of the body's log (a checkpoint) and RFC 9162 inclusion proofs of the log's
  first entry (which names the server's key), the ``result`` entry and the
  ``vote_announced`` entry under that head, in the format of ``voting-audit
  prove`` (CONTRACTS.md §4).

The head is the first checkpoint after the announcement: the server writes one
right after every ``vote_announced`` (``AuditLog.append(head_after=True)``), so a
vote's proofs exist from the moment it is announced and never change afterwards.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.checkpoint import CHECKPOINT, head_error
from audit.entry_types import EntryType
from audit.evidence import RESULT_TYPES
from audit.merkle import leaf_hash
from audit.proofs import ProofError, inclusion_document, inclusion_proof, root_of, verify_inclusion
from crypto import b64decode
from rules.breakdown import group_label
from rules.congress import in_electorate, standing_of
from rules.kinds import kind_of
from voting_server.models import AuditEntry, Body, Sitting, Vote, VoteState
from voting_server.services import results
from voting_server.services.delegations import group_head

PUBLIC_STATE = VoteState.ANNOUNCED
# The entries a public vote proves, in the order shown: the log's first entry names the
# server's key (the key that signs the head), then the result, then its announcement.
PROVED = ("log_started", "result", "vote_announced")
_LEAF_CACHE: OrderedDict[tuple[int, int, str], list[bytes]] = OrderedDict()
_LEAF_CACHE_SIZE = 4  # bodies' logs whose leaf hashes are kept (a public page reads one)


# --- which votes are public ------------------------------------------------------------


def announcements(session: Session, body_id: int) -> dict[int, dict[str, Any]]:
    """vote id → ``{"index", "time"}`` of its ``vote_announced`` entry in ``body_id``'s log."""
    found: dict[int, dict[str, Any]] = {}
    for idx, line in session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type == EntryType.VOTE_ANNOUNCED)
        .order_by(AuditEntry.idx)
    ):
        entry = json.loads(line)
        found.setdefault(int(entry["data"]["vote"]), {"index": idx, "time": entry["t"]})
    return found


def _public_votes(session: Session, body_id: int) -> list[tuple[Vote, dict[str, Any]]]:
    """The body's announced votes (state and log agree), newest announcement first."""
    announced = announcements(session, body_id)
    if not announced:
        return []
    votes = session.scalars(
        select(Vote).where(Vote.id.in_(list(announced)), Vote.state == PUBLIC_STATE)
    ).all()
    out = [(v, announced[v.id]) for v in votes if v.owner_body_id() == body_id]
    return sorted(out, key=lambda pair: pair[1]["index"], reverse=True)


def is_public(session: Session, vote_id: int) -> bool:
    vote = session.get(Vote, vote_id)
    if vote is None or vote.state is not PUBLIC_STATE:
        return False
    return vote_id in announcements(session, vote.owner_body_id())


def summary(vote: Vote) -> str:
    """The result in one line (the sheet's words: Chinese, an official record)."""
    result = vote.result or {}
    if result.get("void"):
        return "表决无效"  # i18n: record — the sheet's words
    if not result.get("quorum", True):
        return "未达法定人数"  # i18n: record
    return kind_of(vote.kind).summary(result, dict(vote.titles))


RECENT = 3  # the latest announced votes the index shows under each body


def overview(session: Session) -> list[dict[str, Any]]:
    """Every body (its name is public), with its count of announced votes, the time of
    the latest announcement and the latest few (``recent``: id, title, sitting)."""
    out = []
    for body in session.scalars(select(Body).order_by(Body.id)):
        public = _public_votes(session, body.id)
        recent = [
            {"id": v.id, "title": v.title, "sitting": v.agenda_item.sitting.title,
             "announced_at": a["time"]}
            for v, a in public[:RECENT]
        ]  # fmt: skip
        out.append(
            {"id": body.id, "name": body.name, "kind": body.kind.value,
             "level": body.level.value, "announced": len(public),
             "latest": public[0][1]["time"] if public else None, "recent": recent}
        )  # fmt: skip
    return out


def body_results(session: Session, body_id: int) -> dict[str, Any] | None:
    """A body's sittings that have announced votes, each with those votes; newest first
    (sittings by their latest announcement, votes by announcement). None: no such body."""
    body = session.get(Body, body_id)
    if body is None:
        return None
    sittings: dict[int, dict[str, Any]] = {}
    for vote, announced in _public_votes(session, body_id):
        item = vote.agenda_item
        sitting: Sitting = item.sitting
        entry = sittings.setdefault(
            sitting.id,
            {"id": sitting.id, "title": sitting.title, "starts_at": sitting.starts_at,
             "votes": []},
        )  # fmt: skip
        entry["votes"].append(
            {"id": vote.id, "title": vote.title, "kind": vote.kind, "secret": vote.secret,
             "manual": vote.manual, "agenda_item": item.title, "position": item.position,
             "announced_at": announced["time"], "summary": summary(vote)}
        )  # fmt: skip
    return {"id": body.id, "name": body.name, "kind": body.kind.value,
            "level": body.level.value, "sittings": list(sittings.values())}  # fmt: skip


# --- one public vote ----------------------------------------------------------------


@dataclass
class Evidence:
    """A signed head of the body's log and inclusion proofs under it."""

    body_id: int
    head: dict[str, Any]  # the checkpoint's data: {size, root, time, sig}
    server_key: str  # base64 raw Ed25519, as the log's first entry names it
    # name (PROVED) → {"index", "line" (str), "proof" (voting-audit prove's document)}
    proofs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: bool = False  # no signed head covers the announcement yet (an older log)

    def problems(self) -> list[str]:
        """What does not verify here (the server's own check before publishing)."""
        found = []
        error = head_error(self.head, b64decode(self.server_key))
        if error is not None:
            found.append(f"head: {error}")
        for name, proved in self.proofs.items():
            doc = proved["proof"]
            leaf = leaf_hash(proved["line"].encode("utf-8"))
            if leaf.hex() != doc["leaf_hash"] or doc["root"] != self.head["root"]:
                found.append(f"{name}: the entry or the root is not the head's")
                continue
            try:
                verify_inclusion(leaf, doc["index"], doc["size"],
                                 [bytes.fromhex(h) for h in doc["proof"]],
                                 bytes.fromhex(doc["root"]))  # fmt: skip
            except ProofError as exc:
                found.append(f"{name}: {exc}")
        return found

    def to_json(self) -> dict[str, Any]:
        """What the page embeds for its script (static/js/public_proof.js)."""
        return {"body": self.body_id, "head": self.head, "server_key": self.server_key,
                "proofs": self.proofs, "pending": self.pending}  # fmt: skip


def _line_at(session: Session, body_id: int, index: int) -> str | None:
    return session.scalar(
        select(AuditEntry.line).where(AuditEntry.body_id == body_id, AuditEntry.idx == index)
    )


def _first_after(session: Session, body_id: int, type_: str, index: int) -> tuple[int, str] | None:
    row = session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type == type_, AuditEntry.idx > index)
        .order_by(AuditEntry.idx)
        .limit(1)
    ).first()
    return (row.idx, row.line) if row is not None else None


def _result_entry(session: Session, body_id: int, vote_id: int) -> tuple[int, str] | None:
    for idx, line in session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type.in_(tuple(RESULT_TYPES)))
        .order_by(AuditEntry.idx)
    ):
        if json.loads(line)["data"].get("vote") == vote_id:
            return idx, line
    return None


def leaf_hashes(session: Session, body_id: int, size: int) -> list[bytes]:
    """The leaf hashes of the first ``size`` lines of ``body_id``'s log (a few bodies'
    kept in memory, keyed by the last line's hash: a log only grows)."""
    last = session.scalar(
        select(AuditEntry.hash).where(AuditEntry.body_id == body_id, AuditEntry.idx == size - 1)
    )
    key = (body_id, size, last or "")
    if key in _LEAF_CACHE:
        _LEAF_CACHE.move_to_end(key)
        return _LEAF_CACHE[key]
    hashes = [
        leaf_hash(line.encode("utf-8"))
        for line in session.scalars(
            select(AuditEntry.line)
            .where(AuditEntry.body_id == body_id, AuditEntry.idx < size)
            .order_by(AuditEntry.idx)
        )
    ]
    _LEAF_CACHE[key] = hashes
    while len(_LEAF_CACHE) > _LEAF_CACHE_SIZE:
        _LEAF_CACHE.popitem(last=False)
    return hashes


def evidence(session: Session, vote: Vote, announced_index: int) -> Evidence | None:
    """The signed head after the announcement and the proofs of ``PROVED`` under it;
    None when the log has no result for the vote or no checkpoint after it."""
    body_id = vote.owner_body_id()
    result = _result_entry(session, body_id, vote.id)
    first = _line_at(session, body_id, 0)
    if result is None or first is None:
        return None
    entries = {"log_started": (0, first), "result": result}
    found = _first_after(session, body_id, CHECKPOINT, announced_index)
    pending = found is None
    if found is None:  # an announcement from before heads followed every announcement
        found = _first_after(session, body_id, CHECKPOINT, result[0])
        if found is None:
            return None
    else:
        announced = _line_at(session, body_id, announced_index)
        assert announced is not None
        entries["vote_announced"] = (announced_index, announced)
    head = json.loads(found[1])["data"]
    size = int(head["size"])
    hashes = leaf_hashes(session, body_id, size)
    root = root_of(hashes, size)
    proofs = {
        name: {
            "index": index,
            "line": line,
            "proof": inclusion_document(
                hashes[index], index, size, inclusion_proof(hashes, index, size), root
            ),
        }
        for name, (index, line) in entries.items()
    }
    server_key = json.loads(first)["data"]["server_key"]
    return Evidence(body_id, head, server_key, proofs, pending)


def _vote_lines(session: Session, body_id: int, type_: str, key: str, value: int) -> list[dict]:
    """The data of ``type_`` entries whose data's last key ``key`` is ``value`` (canonical
    JSON sorts keys, so ``"vote":5}`` ends such data), in log order."""
    rows = session.execute(
        select(AuditEntry.idx, AuditEntry.line)
        .where(
            AuditEntry.body_id == body_id,
            AuditEntry.type == type_,
            AuditEntry.line.contains(f'"{key}":{value}}}'),
        )
        .order_by(AuditEntry.idx)
    )
    out = []
    for idx, line in rows:
        data = json.loads(line)["data"]
        if data.get(key) == value:
            out.append({"index": idx, **data})
    return out


def roll_call(session: Session, vote: Vote, result_index: int) -> dict[str, Any] | None:
    """A named electronic vote's roll call (记名表决情况), from the log alone: the roster
    logged before the result, the sign-ins of the sitting before it, and each member's
    counted ballot (the vote's key policy: first or last press). Rows in seat order:
    ``{seat, name, group, status: voted|not_voted|absent, cells}``, ``cells`` one per
    subject or candidate (a mark, or true for a chosen candidate). None for a secret vote
    or a paper count: nothing per deputy is public then."""
    if vote.secret or vote.manual:
        return None
    body_id = vote.owner_body_id()
    sitting_id = vote.agenda_item.sitting_id
    roster_line = session.scalar(
        select(AuditEntry.line)
        .where(AuditEntry.body_id == body_id, AuditEntry.type == EntryType.ROSTER,
               AuditEntry.idx < result_index)
        .order_by(AuditEntry.idx.desc())
        .limit(1)
    )  # fmt: skip
    if roster_line is None:
        return None
    members = json.loads(roster_line)["data"]["members"]
    present = {
        int(d["member"])
        for d in _vote_lines(session, body_id, EntryType.SIGNED_IN, "sitting", sitting_id)
        if d["index"] < result_index
    }
    presses: dict[int, list[Any]] = {}
    for d in _vote_lines(session, body_id, EntryType.BALLOT, "vote", vote.id):
        if d["index"] < result_index:
            presses.setdefault(int(d["member"]), []).append(d["ballot"])
    spec = vote.spec()
    items = kind_of(spec.kind).items(spec)
    rows = []
    for m in sorted(members, key=lambda m: int(m["seat"])):
        if not in_electorate(vote.electorate, *standing_of(m)):
            continue  # 列席, or not on the presidium for a presidium vote
        member = int(m["id"])
        ballot = vote.key_policy.counted(presses[member]) if member in presses else None
        status = "voted" if ballot is not None else "not_voted" if member in present else "absent"
        rows.append({"seat": int(m["seat"]), "name": m["name"],
                     "group": group_label(m.get("group")) if m.get("group") else None,
                     "status": status, "cells": ballot_cells(items, ballot)})  # fmt: skip
    return {
        "items": [(i, vote.titles.get(i, i)) for i in items],
        "rows": rows,
        "grouped": any(r["group"] for r in rows),
        "group_head": group_head(vote.agenda_item.sitting.body),
    }


def ballot_cells(items: Sequence[str], ballot: Any) -> list[Any]:
    """One cell per subject or candidate of a logged ballot, by the ballot's own shape
    (the tally format, CONTRACTS.md §2): a mark or score per subject (None: left
    unmarked), or whether a candidate was chosen. No ballot: no cells."""
    if ballot is None:
        return []
    if isinstance(ballot, Mapping):
        return [ballot.get(i) for i in items]
    chosen = {str(c) for c in ballot}
    return [i in chosen for i in items]


def public_vote(session: Session, vote_id: int) -> dict[str, Any] | None:
    """Everything a public result page shows, or None if the vote is not public."""
    vote = session.get(Vote, vote_id)
    if vote is None or vote.state is not PUBLIC_STATE:
        return None
    body_id = vote.owner_body_id()
    announced = announcements(session, body_id).get(vote_id)
    if announced is None:
        return None
    proved = evidence(session, vote, announced["index"])
    result_index = proved.proofs["result"]["index"] if proved else None
    sitting = vote.agenda_item.sitting
    return {
        "id": vote.id,
        "title": vote.title,
        "kind": vote.kind,
        "secret": vote.secret,
        "manual": vote.manual,
        "body": {"id": body_id, "name": sitting.body.name},
        "sitting": {"id": sitting.id, "title": sitting.title},
        "announced_at": announced["time"],
        "sheet": results.sheet_source(session, vote_id),
        "roll_call": roll_call(session, vote, result_index) if result_index else None,
        "evidence": proved,
    }
