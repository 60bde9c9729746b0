"""The verifier's replay of tracked items (督办事项): every ``item_changed`` entry through
rules/supervision.py, and every vote generated from items against the item list.

A part of ``audit.verify.Replay`` (a mixin over its staff roster and votes), kept in
its own module. Pure, like the rest of the verifier. docs/audit-log.md lists the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rules.duties import SYSTEM
from rules.kinds import kind_of
from rules.lifecycle import VoteState
from rules.schema import parse_vote_config
from rules.supervision import (
    Event,
    ItemKind,
    ItemState,
    Refused,
    announced_action,
    apply,
    ballot_title,
    follow_rerun,
    unsatisfactory_subjects,
)


class ItemMismatch(Exception):
    """An item entry the rules do not allow; ``Replay.apply`` reports it at its index."""


class _Vote(Protocol):
    state: Any
    result: dict[str, Any] | None


@dataclass
class ItemRecord:
    state: ItemState
    title: str  # on a generated ballot (rules.supervision.ballot_title)


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ItemMismatch(message)


class ItemsReplay:
    """Tracked items as the log records them; mixed into ``audit.verify.Replay``."""

    votes: Mapping[int, _Vote]

    def role_of(self, user: Any) -> str | None:  # pragma: no cover - Replay's
        raise NotImplementedError

    def _init_items(self) -> None:
        self.items: dict[int, ItemRecord] = {}
        # What an announced vote still owes (completeness, 督办不落空): the system's step of
        # every item awaiting it, and a rectification for every subject found
        # unsatisfactory that is not an awaiting item's own. The server logs them right
        # after the announcement (and its signed head); any other entry first fails.
        self.owed_vote: int | None = None
        self.owed: set[tuple[str, int | str]] = set()

    def _owe_follow_ups(self, vote_id: int, result: Mapping[str, Any]) -> None:
        """At ``vote_announced``: what the announced ``result`` calls for."""
        awaiting = {i: r for i, r in self.items.items() if r.state.vote == vote_id}
        followed = {
            r.state.subject
            for r in awaiting.values()
            if r.state.kind in (ItemKind.RECTIFICATION, ItemKind.PROJECT)
        }
        owed: set[tuple[str, int | str]] = {
            ("item", i) for i, r in awaiting.items() if announced_action(r.state, result)
        }
        owed |= {("open", s) for s in unsatisfactory_subjects(result) if s not in followed}
        self.owed_vote, self.owed = vote_id, owed

    def owed_error(self) -> str | None:
        """Why the log may not go on (or end) here: an announced vote's follow-up missing."""
        if not self.owed:
            return None
        missing = sorted(f"item {k}" if w == "item" else f"a rectification of {k!r}"
                         for w, k in self.owed)  # fmt: skip
        return f"vote {self.owed_vote} was announced, but not followed up: {', '.join(missing)}"

    def _check_sources(self, vote: dict[str, Any]) -> None:
        """At ``vote_configured``: a vote that items await (put to it, or to the vote it
        re-runs) names exactly those items in ``source_items``, and its candidates or
        subjects are their subject ids in that order, with their titles."""
        vote_id, rerun_of = int(vote["id"]), vote.get("rerun_of")
        if isinstance(rerun_of, int):
            for record in self.items.values():
                record.state = follow_rerun(record.state, rerun_of, vote_id)
        awaiting = {i for i, r in self.items.items() if r.state.vote == vote_id}
        sources = vote.get("source_items")
        if sources is None:
            _need(not awaiting, f"items {sorted(awaiting)} await this vote; it names none")
            return
        _need(
            isinstance(sources, list) and all(isinstance(i, int) for i in sources),
            "source_items: a list of item ids",
        )
        _need(len(set(sources)) == len(sources), "source_items: an item named twice")
        _need(
            set(sources) == awaiting,
            f"source_items {sorted(sources)} ≠ the items put to this vote {sorted(awaiting)}",
        )
        spec = parse_vote_config(vote["config"])
        ids = list(kind_of(spec.kind).items(spec))
        expected = [self.items[i].state.subject for i in sources]
        _need(ids == expected, f"the vote's candidates/subjects {ids} ≠ its items' {expected}")
        titles = vote.get("titles") or {}
        for i in sources:
            record = self.items[i]
            _need(
                titles.get(record.state.subject) == record.title,
                f"the title of {record.state.subject!r} is not item {i}'s",
            )

    def on_item_changed(self, data: dict[str, Any]) -> None:
        item_id, kind, action = int(data["item"]), str(data["kind"]), str(data["action"])
        record = self.items.get(item_id)
        by, role, vote = data["by"], str(data["role"]), data.get("vote")
        _need(vote is None or isinstance(vote, int), "vote: an id or null")
        if role == SYSTEM:
            _need(by is None, "a change by the system names no account")
        else:
            _need(isinstance(by, int) and not isinstance(by, bool), "by: an account id")
            held = self.role_of(by)
            _need(held == role, f"role {role}, but account {by} is {held}")
        document = data.get("document")
        _need(document is None or isinstance(document.get("sha256"), str), "document: a hash")
        event = Event(
            kind=kind,
            action=action,
            role=role,
            subject=str(data.get("subject", "")) if record is None else "",
            vote=vote,
            document=document is not None,
            period=data.get("period"),
            deadline=data.get("deadline"),
            issues=data.get("issues"),
        )
        if record is None:
            _need(isinstance(data.get("title"), str) and data["title"], "a new item has a title")
        new = apply(record.state if record else None, event)
        if isinstance(new, Refused):
            raise ItemMismatch(f"item {item_id}: {new.reason}")
        _need(
            data["from"] == (record.state.state if record else None) and data["to"] == new.state,
            f"item {item_id}: from {data['from']} to {data['to']}, but the rules say "
            f"{record.state.state if record else None} to {new.state}",
        )
        if vote is not None:
            self._check_vote_cause(item_id, new, record, role, vote, action)
            if role == SYSTEM and vote == self.owed_vote:
                self.owed.discard(("item", item_id) if record else ("open", new.subject))
        if record is None:
            department = data.get("department")
            title = ballot_title(kind, str(data["title"]), department if department else None)
            self.items[item_id] = ItemRecord(new, title)
        else:
            record.state = new

    def _check_vote_cause(
        self,
        item_id: int,
        new: ItemState,
        record: ItemRecord | None,
        role: str,
        vote_id: int,
        action: str,
    ) -> None:
        vote = self.votes.get(vote_id)
        if role != SYSTEM:
            # a vote generated from the list: still a draft, never logged before
            _need(vote is None, f"item {item_id}: vote {vote_id} was configured before it")
            return
        _need(vote is not None, f"item {item_id}: vote {vote_id} is not in this log")
        assert vote is not None
        _need(vote.state == VoteState.ANNOUNCED, f"vote {vote_id} is not announced")
        result = vote.result or {}
        if record is None:  # a rectification opened by an unsatisfactory evaluation
            _need(
                new.subject in unsatisfactory_subjects(result),
                f"item {item_id}: {new.subject!r} was not found unsatisfactory in vote {vote_id}",
            )
            return
        expected = announced_action(record.state, result)
        _need(
            expected == action,
            f"item {item_id}: vote {vote_id}'s result calls for {expected}, not {action}",
        )
