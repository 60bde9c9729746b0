"""Builds signed audit logs for verifier tests, entry by entry.

It uses the same sealing function as the server (``audit.entry.seal``) and
real keys, so a log it builds is one the verifier must accept; tests then
tamper with it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from audit.checkpoint import CHECKPOINT, checkpoint_due, signed_head
from audit.entry import GENESIS_PREV, canonical_bytes, entry_hash, sign_entry, unsigned_entry
from audit.merkle import tree_root
from crypto import KioskKey, ServerKey, b64encode
from crypto.statements import ballot_bytes, participation_bytes
from rules import VoteKind, VoteSpec, tally
from rules.kinds import KeyPolicy

TIME = "2026-11-22T09:00:00.000000Z"


class LogBuilder:
    def __init__(
        self,
        members: int = 5,
        *,
        server: ServerKey | None = None,
        kiosk_key: Callable[[int], KioskKey] | None = None,
        nonce: Callable[[], str] | None = None,
        groups: dict[int, str] | None = None,
    ) -> None:
        """Fresh random keys and nonces, unless given (the golden bundles are reproducible:
        tests/testdata/bundles/make_golden.py). ``groups``: member → 代表团 in the roster."""
        self.server = server or ServerKey.generate()
        self._kiosk_key = kiosk_key or (lambda _seat: KioskKey.generate())
        self._nonce = nonce or (lambda: secrets.token_urlsafe(16))
        self.lines: list[bytes] = []
        self.kiosks: dict[int, KioskKey] = {}  # seat → key
        self.members = members
        self.append("log_started", {"server_key": self.server.public_b64, "software": "test"})
        roster: list[dict[str, Any]] = [
            {"id": m, "seat": m, "name": f"代表{m}"} for m in range(1, members + 1)
        ]
        for member in roster:
            if groups and member["id"] in groups:
                member["group"] = groups[member["id"]]
        self.append(
            "roster",
            {"body": {"id": 1, "name": "测试", "kind": "standing_committee", "level": "city"},
             "member_count": members, "members": roster},
        )  # fmt: skip
        for seat in range(1, members + 1):
            key = self._kiosk_key(seat)
            self.kiosks[seat] = key
            self.append(
                "device_enrolled",
                {"device": f"d{seat}", "seat": seat, "public_key": key.public.spki_b64},
            )

    def append(self, type_: str, data: dict[str, Any]) -> int:
        """Append an entry, and the checkpoints the server would write after it."""
        index = self._line(type_, data)
        while checkpoint_due(len(self.lines) - 1, type_):
            type_ = CHECKPOINT
            size = len(self.lines)
            self._line(
                type_, signed_head(size, tree_root(self.lines).hex(), TIME, self.server.sign)
            )
        return index

    def last(self, type_: str) -> int:
        """Index of the last entry of ``type_``."""
        return max(i for i, line in enumerate(self.lines) if json.loads(line)["type"] == type_)

    def _line(self, type_: str, data: dict[str, Any]) -> int:
        prev = entry_hash(self.lines[-1]) if self.lines else GENESIS_PREV
        entry = unsigned_entry(len(self.lines), prev, TIME, type_, data)
        self.lines.append(canonical_bytes(sign_entry(entry, self.server.sign)))
        return len(self.lines) - 1

    def staff(self, user: int, role: str, by: int | None = None) -> int:
        """A ``staff_created`` entry (``by`` None: the command line)."""
        return self.append(
            "staff_created",
            {"user": user, "username": f"user{user}", "name": f"工作人员{user}", "role": role,
             "by": by, "existing": False},
        )  # fmt: skip

    def designate(self, scrutineers: list[int], by: int = 1, sitting: int = 1) -> int:
        return self.append(
            "scrutineers_designated",
            {"sitting": sitting, "scrutineers": scrutineers, "by": by, "basis": "经主任会议确定"},
        )

    def duties(self) -> None:
        """The usual staff: 1 presidium, 2 secretariat, 7 and 8 scrutineers designated
        for sitting 1 by 1, 9 a scrutineer not designated."""
        for user, role in ((1, "presidium"), (2, "secretariat"), (7, "scrutineer"),
                           (8, "scrutineer"), (9, "scrutineer")):  # fmt: skip
            self.staff(user, role)
        self.designate([7, 8])

    def sign_in(self, *members: int, sitting: int = 1) -> None:
        for m in members:
            self.append(
                "signed_in",
                {
                    "sitting": sitting,
                    "member": m,
                    "seat": m,
                    "method": "kiosk_pin",
                    "device": f"d{m}",
                },
            )

    def configure(
        self,
        vote: int,
        spec: VoteSpec,
        *,
        secret: bool,
        policy: KeyPolicy = KeyPolicy.LAST_PRESS,
        trustees: bool = False,
    ) -> None:
        """``trustees``: held in trustee mode (docs/trustee-votes.md), ``"trustees": true``."""
        config: dict[str, Any] = {
            "id": vote, "body": 1, "sitting": 1, "agenda_item": 1, "title": "t",
            "config": spec.to_json(), "secret": secret, "key_policy": policy.value,
            "live_tally": "hidden", "rerun_of": None,
        }  # fmt: skip
        if trustees:
            config["trustees"] = True
        self.append("vote_configured", {"vote": config})

    def open(
        self, vote: int, spec: VoteSpec, present: int, trustees: dict[str, Any] | None = None
    ) -> None:
        """``trustees``: a trustee-mode vote's ``{ceremony_id, joint_key, manifest,
        vote_hash}``, logged in the opening."""
        data: dict[str, Any] = {
            "vote": vote, "members": self.members, "present": present,
            "quorum_required": spec.quorum.required(self.members), "closes_at": None, "by": 1,
        }  # fmt: skip
        if trustees is not None:
            data["trustees"] = trustees
        self.append("vote_opened", data)

    def press(self, vote: int, member: int, ballot: Any, *, secret: bool, press: int = 1) -> None:
        nonce = self._nonce()
        kiosk = self.kiosks[member]
        base = {"vote": vote, "seat": member, "nonce": nonce}
        if secret:
            sig = kiosk.sign(participation_bytes(vote, member, nonce))
            self.append(
                "participation",
                {**base, "member": member, "device": f"d{member}", "press": press,
                 "kiosk_sig": b64encode(sig)},
            )  # fmt: skip
        else:
            sig = kiosk.sign(ballot_bytes(vote, member, nonce, ballot))
            self.append(
                "ballot",
                {**base, "member": member, "device": f"d{member}", "press": press,
                 "ballot": ballot, "kiosk_sig": b64encode(sig)},
            )  # fmt: skip

    def close(
        self,
        vote: int,
        spec: VoteSpec,
        present: int,
        counted: list[Any],
        *,
        secret: bool,
        by_delegation: list[dict[str, Any]] | None = None,
    ):
        self.append(
            "vote_closed",
            {"vote": vote, "members": self.members, "present": present, "cast": len(counted),
             "reason": "presidium", "by": 1},
        )  # fmt: skip
        if secret:
            self.append("ballots_released", {"vote": vote, "ballots": counted})
        result = tally(spec, self.members, present, counted)
        data: dict[str, Any] = {"vote": vote, "result": result}
        if by_delegation is not None:  # 分团, as the server publishes a named vote's
            data["by_delegation"] = by_delegation
        self.append("result", data)
        return result


# --- a small honest sitting, and a dishonest server's rewrite of it --------------------

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
EVALUATION = VoteSpec(kind=VoteKind.EVALUATION, subjects=("civil", "sports"))


def sitting() -> tuple[LogBuilder, dict[str, int]]:
    """5 members, 4 present; a named motion (last press counts) and a secret evaluation."""
    log = LogBuilder(members=5)
    log.sign_in(1, 2, 3, 4)
    marks: dict[str, int] = {}
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    log.press(1, 1, {"budget": "no"}, secret=False)
    marks["first_ballot"] = len(log.lines) - 1
    log.press(1, 1, {"budget": "yes"}, secret=False, press=2)  # changed mind: last press counts
    log.press(1, 2, {"budget": "yes"}, secret=False)
    log.press(1, 3, {"budget": "yes"}, secret=False)
    log.close(1, MOTION, 4, [{"budget": "yes"}] * 3, secret=False)
    marks["motion_result"] = log.last("result")
    log.configure(2, EVALUATION, secret=True)
    log.open(2, EVALUATION, present=4)
    for m in (1, 2, 3, 4):
        log.press(2, m, None, secret=True)
    released = [{"civil": "satisfied", "sports": "basic"}, {"civil": "basic"},
                {"civil": "unsatisfied", "sports": "satisfied"}, {"sports": "satisfied"}]  # fmt: skip
    log.close(2, EVALUATION, 4, released, secret=True)
    marks["released"] = log.last("ballots_released")
    marks["evaluation_result"] = log.last("result")
    return log, marks


def resign(log: LogBuilder, index: int, change) -> list[bytes]:
    """A dishonest server: rewrite entry ``index`` and re-sign and re-chain everything after."""
    entries = [json.loads(line) for line in log.lines]
    change(entries[index]["data"])
    lines: list[bytes] = list(log.lines[:index])
    for entry in entries[index:]:
        entry["prev"] = entry_hash(lines[-1])
        unsigned = unsigned_entry(
            entry["i"], entry["prev"], entry["t"], entry["type"], entry["data"]
        )
        lines.append(canonical_bytes(sign_entry(unsigned, log.server.sign)))
    return lines
