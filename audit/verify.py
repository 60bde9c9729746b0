"""The offline verifier: checks an exported log and recomputes every result.

Pure over plain data: ``verify_log(lines, server_key)`` takes the lines of
``log.jsonl`` (bytes, without newlines) and the server's raw Ed25519 public
key. No server, no database, no network, no clock. It checks entry by entry, in order:

1. the line itself: parse, canonical form, index, server signature
   (``check_line``), and its link to the line before (``check_link``);
2. its meaning: devices, attendance, votes, ballots, who may act
   (the staff roster and scrutineers the log records, docs/duties.md), and
   every result recomputed with the rules engine (``Replay.apply``).

It stops at the first failure and reports that entry's index and what did
not match; docs/audit-log.md lists the checks.

Step 1 and the kiosk signatures (most of the time: two signature checks per
ballot) need nothing from earlier entries, so on a big log they run on worker
processes over chunks of lines (``audit.parallel``), while this process
applies step 2 to their results in log order. Both ways report the same
first failure; ``jobs=1`` is the plain loop. Step 1 lives in ``audit.lines``,
which the workers import without this module.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from audit import trustee_content, trustee_votes
from audit.checkpoint import CHECKPOINT, checkpoint_due, head_error
from audit.entry import (
    GENESIS_PREV,
    entry_hash,
)
from audit.entry_types import EntryType
from audit.lines import (
    VerificationError,
    check_line,
    check_link,
    parse_checked_line,
)
from audit.merkle import MerkleStream, tree_root
from audit.parallel import CheckedChunk, checked_chunks
from audit.supervision import ItemMismatch, ItemsReplay
from audit.trustee_ceremony import TrusteeMismatch, TrusteesReplay
from crypto import CryptoError, KioskPublicKey, b64decode
from crypto.statements import press_bytes
from crypto.trustees.group import TrusteeCryptoError
from rules import SchemaError, VoteSpec, parse_vote_config, tally
from rules.breakdown import by_delegation, roster_pairs
from rules.congress import (
    DEFAULT_ELECTORATE,
    Electorate,
    MemberRole,
    PresidiumSeat,
    adopted,
    attending_secrecy_error,
    in_electorate,
    may_cast,
    standing_error,
    standing_of,
)
from rules.duties import (
    PRESIDIUM,
    ROLES,
    account_change_error,
    countersign_error,
    designation_error,
    leave_error,
    pin_reset_error,
    present_error,
    trustee_error,
)
from rules.kinds import KeyPolicy, kind_of
from rules.lifecycle import (
    COUNTERSIGN_ACTIONS,
    INITIAL,
    STEPS,
    Action,
    State,
    VoteState,
    allowed,
    cancellable,
    log_name,
    role_error,
    transition,
)
from rules.paper import PAPER_SIGNATURES, ballots_from_counts
from rules.records import LEAVE_REASON_MAX
from rules.schema import check_ballot, electronic_ballot_error

PARALLEL_FROM = 10_000  # below this many lines, starting worker processes costs more than it saves
PROGRESS_EVERY = 100_000  # entries between two calls of ``progress``
# entries naming a device key
KEY_TYPES = frozenset({EntryType.DEVICE_ENROLLED, EntryType.DEVICE_ENROLLMENT_REQUESTED})
ENROLLED = b'"type":"device_enrolled"'
REQUESTED = b'"type":"device_enrollment_requested"'

Progress = Callable[[int, int], None]  # (entries verified so far, entries in the log)


@dataclass(frozen=True)
class Report:
    ok: bool
    entries: int
    head: dict[str, Any]
    errors: list[dict[str, Any]]
    # per secret vote: {"vote", "content"}: "proven" (trustee mode, every ballot's proofs,
    # the aggregates, the partial decryptions and the result checked) or "server-trusted"
    # (vote-key mode: the content rests on the server, docs/secret-ballot.md)
    votes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head,
                "errors": self.errors, "votes": self.votes}  # fmt: skip


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def without_full_collections() -> Iterator[None]:
    """No automatic full (generation-2) garbage collection inside the block.

    The replay's state grows with the log (every nonce, every named press), and
    CPython walks all of it each time the heap has grown by a quarter: on a
    300,000-entry log that was 1.5–2 µs of the ordered replay's ~11 µs per entry
    (docs/performance.md). Verifying makes no cyclic garbage worth collecting —
    parsed entries are freed by reference counting — and the young generations
    are still collected. Worker processes forked inside the block inherit it.
    Precondition: no other thread changes the thresholds meanwhile (the tools
    that verify — ``voting-audit``, ``simulate`` — run one verification at a time).
    """
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, 1 << 30)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)


def verify_log(
    lines: Sequence[bytes],
    server_key: bytes,
    head: tuple[int, str] | None = None,
    *,
    jobs: int | None = None,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> Report:
    """Verify every line; with ``head`` = (size, root hex), also that the log contains it.

    ``jobs``: worker processes for the per-line checks; 1 checks everything
    in this process; None: every core for a log of ``PARALLEL_FROM`` lines or
    more, else 1. ``chunk``: lines per worker task (default: chosen from the
    size). ``progress`` is called every ``PROGRESS_EVERY`` entries. The
    report is the same whatever ``jobs`` and ``chunk`` are.
    """
    if jobs is None:
        jobs = available_cores() if len(lines) >= PARALLEL_FROM else 1
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    errors: list[dict[str, Any]] = []
    replay = Replay(server_key)
    try:
        # One pass, entry by entry, so the first failure reported is the
        # earliest entry that is wrong in any way (form, link or meaning).
        with without_full_collections():
            if jobs == 1:
                _verify_here(lines, server_key, replay, progress)
            else:
                _verify_with_workers(lines, server_key, replay, jobs, chunk, progress)
        replay.finish(len(lines))
    except VerificationError as exc:
        errors.append({"index": exc.index, "reason": exc.reason})
    if head is not None and not errors:
        size, root = head
        if size > len(lines):
            errors.append(
                {"index": len(lines), "reason": f"log has {len(lines)} entries; head has {size}"}
            )
        elif tree_root(lines[:size]).hex() != root.lower():
            errors.append({"index": size - 1, "reason": f"Merkle root of first {size} differs"})
    # Once every line went through the replay, its tree is the whole log's.
    whole = replay.tree.root() if replay.tree.size == len(lines) else tree_root(lines)
    return Report(
        ok=not errors,
        entries=len(lines),
        head={"size": len(lines), "root": whole.hex()},
        errors=errors,
        votes=replay.content_report(),
    )


def _verify_here(
    lines: Sequence[bytes], server_key: bytes, replay: Replay, progress: Progress | None
) -> None:
    """The sequential verifier: each line completely, in order, in this process."""
    prev = GENESIS_PREV
    for index, line in enumerate(lines):
        entry = check_line(index, line, server_key)
        check_link(index, entry, prev)
        replay.apply(entry)
        replay.tree.add(line)
        prev = entry_hash(line)
        if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
            progress(index + 1, len(lines))


def _verify_with_workers(
    lines: Sequence[bytes],
    server_key: bytes,
    replay: Replay,
    jobs: int,
    chunk: int | None,
    progress: Progress | None,
) -> None:
    """Workers check the lines of each chunk (``check_line``, the links inside
    the chunk, kiosk signatures, leaf hashes); here the chunks are taken in log
    order and each entry is linked to the chunk before and replayed. A chunk
    stops at its first failing line, which is raised after the entries before it
    were replayed: the failure reported is the earliest, as in ``_verify_here``.
    """
    hints = enrolled_keys(lines)
    replay.kiosk_hints = hints
    with checked_chunks(lines, server_key, hints, jobs=jobs, chunk=chunk) as chunks:
        replay_checked_chunks(lines, chunks, replay, progress)


def replay_checked_chunks(
    lines: Sequence[bytes],
    chunks: Iterable[CheckedChunk],
    replay: Replay,
    progress: Progress | None = None,
) -> None:
    """The ordered part of ``_verify_with_workers``: link each chunk to the one before
    and replay its entries; raise the failure that stopped a chunk after the entries
    before it. Precondition: ``chunks`` are ``check_chunk`` results of consecutive
    chunks of ``lines`` from line 0, with ``replay.kiosk_hints`` the keys they used."""
    prev = GENESIS_PREV
    for checked in chunks:
        leaves = checked.leaves
        for offset in range(checked.passed):
            index = checked.start + offset
            entry = parse_checked_line(lines[index])
            if offset == 0:
                check_link(index, entry, prev)
            replay.apply(entry, checked.kiosk_check(offset))
            replay.tree.add_leaf_hash(leaves[32 * offset : 32 * offset + 32])
            if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
                progress(index + 1, len(lines))
        checked.raise_failure()
        prev = checked.last_hash


def enrolled_keys(lines: Iterable[bytes]) -> dict[str, str]:
    """Device → public key (SPKI base64) of the first readable ``device_enrolled`` of each.

    Only a hint for checking kiosk signatures ahead of the replay: the replay
    uses a precomputed check only when its key is the one the log enrolled.
    """
    keys: dict[str, str] = {}
    for line in lines:
        # canonical lines have no spaces
        if ENROLLED not in line and REQUESTED not in line:
            continue
        try:
            entry = json.loads(line)
            if entry["type"] not in KEY_TYPES:
                continue
            device, key = entry["data"]["device"], entry["data"]["public_key"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(device, str) and isinstance(key, str):
            keys.setdefault(device, key)
    return keys


# --- pass 2: what the entries mean ------------------------------------------------


@dataclass
class Device:
    seat: int
    key: KioskPublicKey
    checked_ahead: bool  # workers check its signatures with this very key (``kiosk_hints``)
    revoked: bool = False
    pending: bool = False  # a replacement tablet the presidium has not confirmed


@dataclass
class VoteRecord:
    spec: VoteSpec
    body: int
    sitting: int
    secret: bool
    key_policy: KeyPolicy
    state: State = INITIAL  # rules/lifecycle.py; the log calls a draft "configured"
    members: int = 0
    present: int = 0
    nonces: set[str] = field(default_factory=set)
    presses: dict[int, list[Any]] = field(default_factory=dict)  # member → ballots (named)
    released: list[Any] | None = None
    result_seen: bool = False
    paper: list[Any] | None = None  # the ballots of a paper count (人工计票) awaiting signatures
    paper_signers: set[int] = field(default_factory=set)  # scrutineers who countersigned it
    countersigned: set[int] = field(default_factory=set)  # staff who countersigned the result
    opened: bool = False  # ever opened: a paper count replaces only a vote that was held
    cancelled_by_presidium: bool = False  # with a reason: a paper count may follow
    electorate: Electorate = DEFAULT_ELECTORATE  # the deputies, or the presidium (主席团会议)
    requires: int | None = None  # the vote that must have been adopted before this one opens
    adopted: bool = False  # counted, and adopted what it put (rules/congress.py)
    result: dict[str, Any] | None = None  # as recounted: what tracked items follow
    # 列席代表参加测评: who pressed as an attending deputy, and their released ballots
    attending: set[int] = field(default_factory=set)
    released_attending: list[Any] | None = None
    # trustee mode (docs/trustee-votes.md): the vote's context, every encrypted ballot
    # entry (audit/trustee_content.py's ballot entries), the aggregates, the partials
    trustees: bool = False
    trustee_context: dict[str, Any] | None = None
    encrypted: list[dict[str, Any]] = field(default_factory=list)
    aggregates: dict[str, Any] | None = None
    cast: dict[str, int] | None = None
    partials: list[dict[str, Any]] = field(default_factory=list)

    def counted_groups(self) -> tuple[list[Any], list[Any]]:
        """A named vote's counted ballots: the members', then the attending deputies'."""
        members, attending = [], []
        for member, presses in self.presses.items():
            (attending if member in self.attending else members).append(
                self.key_policy.counted(presses)
            )
        return members, attending


@dataclass
class Account:
    """A staff account as the log knows it when an entry is written (docs/duties.md)."""

    role: str
    active: bool = True


class Replay(ItemsReplay, TrusteesReplay):
    """Replays the log in order, keeping only what later entries are checked against."""

    def __init__(self, server_key: bytes, kiosk_hints: Mapping[str, str] | None = None) -> None:
        self.server_key = server_key
        # device → key (SPKI base64) that workers check kiosk signatures with; see apply
        self.kiosk_hints: Mapping[str, str] = kiosk_hints or {}
        self.tree = MerkleStream()  # the lines before the entry being applied
        self.checkpoint_due_at: int | None = None  # index that must hold a checkpoint
        self.server_key_seen = False
        self.body: int | None = None  # whose log this is (log_started; None: before 0008)
        self.member_count: dict[int, int] = {}  # body → 全体组成人员
        # body → (member, 代表团) in seat order, from its last roster: named votes' breakdown
        self.delegations: dict[int, list[tuple[int, str | None]]] = {}
        self.seats: dict[int, tuple[int, int]] = {}  # member id → (body, seat)
        # member id → (role, presidium seat) from the body's last roster; a roster logged
        # before roles existed has none: every member a deputy outside the presidium
        self.standing: dict[int, tuple[MemberRole, PresidiumSeat]] = {}
        self.devices: dict[str, Device] = {}
        self.attendance: dict[int, set[int]] = {}  # sitting → members signed in
        # (sitting, member) → the device on which the member entered their PIN: the only
        # one whose presses count (a proxy sign-in, 代为签到, records none)
        self.pin_devices: dict[tuple[int, int], str] = {}
        self.votes: dict[int, VoteRecord] = {}
        self.staff: dict[int, Account] = {}  # account → role, from staff_* entries
        self.staff_logged = False  # a staff account was created under the rules (not "existing")
        self.scrutineers: dict[int, set[int]] = {}  # sitting → its designated scrutineers
        self.voting_sittings: set[int] = set()  # sittings where a vote has been opened
        self._kiosk_check: bool | None = None  # of the entry being applied
        self._init_items()  # tracked items (audit/supervision.py)
        self._init_trustees()  # key ceremonies (audit/trustee_ceremony.py)
        # every type of audit/entry_types.py has its handler (AttributeError if not)
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            t.value: getattr(self, f"on_{t.value}") for t in EntryType
        }

    def apply(self, entry: dict[str, Any], kiosk_check: bool | None = None) -> None:
        """Check one entry's meaning against what came before, and remember it.

        Precondition: the entry passed ``check_line`` (form, index, signature).
        ``kiosk_check``: whether its kiosk signature verified, checked ahead
        (``audit.parallel``) with the key ``kiosk_hints`` gives its device;
        used only if the log enrolled the device with that very key.
        """
        self._kiosk_check = kiosk_check
        index, type_, data = entry["i"], entry["type"], entry["data"]
        if index == 0 and type_ != EntryType.LOG_STARTED:
            raise VerificationError(0, "the log must start with log_started")
        if self.checkpoint_due_at == index and type_ != CHECKPOINT:
            raise VerificationError(index, f"a checkpoint must follow entry {index - 1}")
        self.checkpoint_due_at = index + 1 if checkpoint_due(index, type_) else None
        if self.owed and type_ not in (EntryType.ITEM_CHANGED, CHECKPOINT):
            raise VerificationError(index, str(self.owed_error()))
        handler = self._handlers.get(type_)
        if handler is None:
            raise VerificationError(index, f"unknown entry type {type_!r}")
        try:
            handler(data)
        except VerificationError:
            raise
        except (KeyError, TypeError, ValueError, SchemaError, CryptoError) as exc:
            raise VerificationError(index, f"{type_}: malformed data ({exc})") from None
        except (_Mismatch, ItemMismatch, TrusteeMismatch) as exc:
            raise VerificationError(index, f"{type_}: {exc}") from None

    def finish(self, size: int) -> None:
        """Checks at the end of the log: a checkpoint owed by its last entry is missing."""
        if self.checkpoint_due_at is not None and self.checkpoint_due_at == size:
            raise VerificationError(size, f"a checkpoint must follow entry {size - 1}")
        if owed := self.owed_error():
            raise VerificationError(size, owed)

    # -- checkpoints (signed heads) ------------------------------------------------

    def on_checkpoint(self, data: dict[str, Any]) -> None:
        _require((error := head_error(data, self.server_key)) is None, str(error))
        _require(
            data["size"] == self.tree.size,
            f"head size {data['size']}, but {self.tree.size} entries precede it",
        )
        root = self.tree.root().hex()
        _require(data["root"] == root, f"head root {data['root']} ≠ computed {root}")

    # -- setup ---------------------------------------------------------------

    def on_log_started(self, data: dict[str, Any]) -> None:
        _require(not self.server_key_seen, "log_started appears twice")
        self.server_key_seen = True
        body = data.get("body")  # one log per body (docs/bodies.md); older logs name none
        if body is not None:
            _require(isinstance(body, dict) and isinstance(body.get("id"), int), "body: an id")
            self.body = body["id"]

    # -- staff accounts and duties (分权) ----------------------------------------------

    def role_of(self, user: Any) -> str | None:
        """The role of an account the log saw created and not disabled, else None."""
        account = self.staff.get(user) if isinstance(user, int) else None
        return account.role if account is not None and account.active else None

    def _by(self, data: dict[str, Any]) -> int | None:
        by = data["by"]
        _require(by is None or (isinstance(by, int) and not isinstance(by, bool)), "by: an id")
        return by  # type: ignore[no-any-return]

    def _account_change(self, data: dict[str, Any], new_role: str | None) -> int | None:
        by = self._by(data)
        _require(by is None or by in self.staff, f"by: account {by} was never created in the log")
        error = account_change_error(by, self.role_of(by), int(data["user"]), new_role)
        _require(error is None, str(error))
        return by

    def on_staff_created(self, data: dict[str, Any]) -> None:
        user, role = int(data["user"]), str(data["role"])
        _require(user not in self.staff, f"account {user} created twice")
        _require(role in ROLES, f"unknown role {role!r}")
        if data.get("existing"):  # logged once, for an account older than this logging
            _require(data["by"] is None, "an existing account is logged by nobody")
            # Once the server logs account changes itself, every new account is logged
            # when made: an "existing" one appearing later was made outside the rules.
            _require(not self.staff_logged, "an existing account after accounts were logged")
        else:
            self._account_change(data, role)
            self.staff_logged = True
        self.staff[user] = Account(role)

    def on_staff_disabled(self, data: dict[str, Any]) -> None:
        user = int(data["user"])
        _require(self.role_of(user) is not None, f"account {user} is not an active account")
        self._account_change(data, None)
        self.staff[user].active = False

    def on_staff_role_changed(self, data: dict[str, Any]) -> None:
        user, role = int(data["user"]), str(data["role"])
        _require(self.role_of(user) is not None, f"account {user} is not an active account")
        _require(role in ROLES, f"unknown role {role!r}")
        _require(
            data["from"] == self.staff[user].role,
            f"from {data['from']!r}, but the account is {self.staff[user].role}",
        )
        self._account_change(data, role)
        self.staff[user].role = role

    def on_staff_scope_changed(self, data: dict[str, Any]) -> None:
        """The account now serves ``bodies`` (None: every body). In this body's log it
        is an account from here on if this body is among them, disabled if not."""
        user, role, bodies = int(data["user"]), str(data["role"]), data["bodies"]
        _require(role in ROLES, f"unknown role {role!r}")
        _require(bodies is None or isinstance(bodies, list), "bodies: a list or null")
        # Whose log: log_started says; a log from before one log per body names its
        # body only in its rosters (it holds one body's).
        body = self.body
        if body is None and len(self.member_count) == 1:
            body = next(iter(self.member_count))
        here = bodies is None or body is None or body in bodies
        if user in self.staff:
            self._account_change(data, None)
        else:  # the account comes to this body: as if made here with its role
            _require(here, f"account {user} leaves a body it never served")
            self._account_change(data, role)
        self.staff[user] = Account(role, active=here and bool(data.get("active", True)))

    def on_scrutineers_designated(self, data: dict[str, Any]) -> None:
        sitting, by = int(data["sitting"]), self._by(data)
        ids = [int(i) for i in data["scrutineers"]]
        _require(bool(str(data["basis"]).strip()), "a designation records its basis")
        _require(by in self.staff, f"by: account {by} was never created in the log")
        error = designation_error(self.role_of(by), ids, {i: self.role_of(i) for i in ids})
        _require(error is None, str(error))
        _require(sitting not in self.voting_sittings, "scrutineers designated after voting began")
        self.scrutineers[sitting] = set(ids)

    def on_roster(self, data: dict[str, Any]) -> None:
        body = int(data["body"]["id"])
        # A new roster replaces the body's previous one; members keep their ids.
        gone = [m for m, bs in self.seats.items() if bs[0] == body]
        for m in gone:
            del self.seats[m]
            self.standing.pop(m, None)
        for m in data["members"]:
            member = int(m["id"])
            role, presidium = standing_of(m)
            _require(
                (error := standing_error(role, presidium)) is None, f"member {member}: {error}"
            )
            self.seats[member] = (body, int(m["seat"]))
            self.standing[member] = (role, presidium)
        self.member_count[body] = int(data["member_count"])
        _require(self.member_count[body] >= 1, "member_count must be positive")
        self.delegations[body] = roster_pairs(data["members"])

    def on_device_enrolled(self, data: dict[str, Any]) -> None:
        device = str(data["device"])
        _require(device not in self.devices, f"device {device} enrolled twice")
        key = KioskPublicKey.from_spki_b64(data["public_key"])
        hint = self.kiosk_hints.get(device)
        self.devices[device] = Device(int(data["seat"]), key, hint == data["public_key"])

    def on_device_enrollment_requested(self, data: dict[str, Any]) -> None:
        """A replacement tablet (更换表决器): unusable until the presidium confirms it."""
        self.on_device_enrolled(data)
        self.devices[str(data["device"])].pending = True

    def _decided(self, data: dict[str, Any]) -> Device:
        device = self.devices.get(str(data["device"]))
        _require(device is not None, f"device {data['device']} was never enrolled")
        assert device is not None
        _require(device.pending and not device.revoked, f"device {data['device']} not pending")
        _require(int(data["seat"]) == device.seat, f"device {data['device']} is for another seat")
        _require(data["role"] == "presidium", f"role {data['role']} cannot decide a replacement")
        _require(isinstance(data["by"], int), "by must be a staff user id")
        return device

    def on_device_enrollment_confirmed(self, data: dict[str, Any]) -> None:
        self._decided(data).pending = False

    def on_device_enrollment_rejected(self, data: dict[str, Any]) -> None:
        self._decided(data).revoked = True

    def on_device_revoked(self, data: dict[str, Any]) -> None:
        device = self.devices.get(str(data["device"]))
        _require(device is not None, f"device {data['device']} was never enrolled")
        device.revoked = True  # type: ignore[union-attr]

    def on_pins_reset(self, data: dict[str, Any]) -> None:
        """New sign-in PINs for ``seats`` (never the PINs): by the secretariat, or the
        command line (``by`` null)."""
        by = self._by(data)
        seats = data["seats"]
        _require(isinstance(seats, list) and bool(seats), "seats: a non-empty list")
        _require(all(isinstance(s, int) and not isinstance(s, bool) for s in seats), "seats: ids")
        _require(by is None or by in self.staff, f"by: account {by} was never created in the log")
        error = pin_reset_error(None if by is None else self.role_of(by) or "none")
        _require(error is None, str(error))

    def on_signed_in(self, data: dict[str, Any]) -> None:
        member = int(data["member"])
        _require(member in self.seats, f"member {member} is not on the roster")
        sitting = int(data["sitting"])
        present = self.attendance.setdefault(sitting, set())
        _require(member not in present, f"member {member} signed in twice")
        present.add(member)
        if data["method"] == "kiosk_pin":
            self.pin_devices[(sitting, member)] = str(data["device"])

    def on_pin_confirmed(self, data: dict[str, Any]) -> None:
        """A PIN entered on a tablet by a member already present (after a proxy sign-in,
        or on a replacement tablet): that tablet's presses count; 实到 is unchanged."""
        member, sitting, device_id = int(data["member"]), int(data["sitting"]), str(data["device"])
        _require(member in self.attendance.get(sitting, ()), f"member {member} not signed in")
        device = self.devices.get(device_id)
        _require(
            device is not None and not device.revoked and not device.pending,
            f"device {device_id} not usable",
        )
        _require(self.seats.get(member, (0, 0))[1] == device.seat, "device at another seat")  # type: ignore[union-attr]
        self.pin_devices[(sitting, member)] = device_id

    def on_vote_configured(self, data: dict[str, Any]) -> None:
        vote = data["vote"]
        vote_id = int(vote["id"])
        _require(vote_id not in self.votes, f"vote {vote_id} configured twice")
        requires = vote.get("requires")
        _require(requires is None or isinstance(requires, int), "requires: a vote id or absent")
        self.votes[vote_id] = VoteRecord(
            spec=parse_vote_config(vote["config"]),
            body=int(vote["body"]),
            sitting=int(vote["sitting"]),
            secret=bool(vote["secret"]),
            key_policy=KeyPolicy(vote["key_policy"]),
            electorate=Electorate(vote.get("electorate", DEFAULT_ELECTORATE)),
            requires=requires,
            trustees=vote.get("trustees", False) is True,
        )
        record = self.votes[vote_id]
        if record.trustees:
            error = trustee_votes.configuration_error(record.secret, record.spec)
            _require(error is None, f"trustees: {error}")
        self._check_sources(vote)  # a vote generated from tracked items names them

    # -- the vote ------------------------------------------------------------

    # On the path of every press (most entries), failures raise inline, so that no
    # message is formatted while everything holds.

    def _vote(self, data: dict[str, Any], action: Action) -> VoteRecord:
        """The vote ``data`` names, in a state ``action`` may be taken in (rules/lifecycle.py)."""
        vote = self.votes.get(int(data["vote"]))
        if vote is None:
            raise _Mismatch(f"vote {data['vote']} was never configured")
        if vote.state not in _SOURCES[action]:
            expected = " or ".join(sorted(log_name(s) for s in STEPS[action].sources))
            raise _Mismatch(f"vote {data['vote']} is {log_name(vote.state)}, expected {expected}")
        return vote

    def _votes_in(self, vote: VoteRecord, member: int) -> bool:
        """Whether ``member`` votes, and counts in 实到, in ``vote`` (not 列席; in a
        presidium vote, on the presidium)."""
        standing = self.standing.get(member, (MemberRole.DEPUTY, PresidiumSeat.NONE))
        return in_electorate(vote.electorate, *standing)

    def _present(self, vote: VoteRecord) -> int:
        return sum(1 for m in self.attendance.get(vote.sitting, ()) if self._votes_in(vote, m))

    def _electorate_size(self, vote: VoteRecord) -> int | None:
        """应到 of ``vote``: the body's member count, or its presidium's on the roster."""
        if vote.electorate is Electorate.BODY:
            return self.member_count.get(vote.body)
        return sum(
            1
            for m, (body, _) in self.seats.items()
            if body == vote.body and self._votes_in(vote, m)
        )

    def on_vote_opened(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, Action.OPEN)
        members, present = int(data["members"]), int(data["present"])
        roster = self._electorate_size(vote)
        _require(members == roster, f"members {members} ≠ roster {roster}")
        if vote.requires is not None:
            needed = self.votes.get(vote.requires)
            _require(
                needed is not None and needed.adopted,
                f"opened before vote {vote.requires}, which it requires, was adopted",
            )
        _require(
            present == self._present(vote), f"present {present} ≠ signed in {self._present(vote)}"
        )
        required = vote.spec.quorum.required(members)
        _require(int(data["quorum_required"]) == required, "quorum_required is wrong")
        _require(present >= required, f"opened without quorum ({present} < {required})")
        attendees = sum(
            1
            for m in self.attendance.get(vote.sitting, ())
            if self.standing.get(m, (MemberRole.DEPUTY,))[0] is MemberRole.ATTENDEE
        )
        admits = kind_of(vote.spec.kind).admits_attending(vote.spec)
        error = attending_secrecy_error(vote.secret, admits, attendees)
        _require(error is None, f"opened: {error}")
        self._open_trustees(int(data["vote"]), vote, data.get("trustees"))
        vote.state, vote.members, vote.opened = transition(vote.state, Action.OPEN), members, True
        self.voting_sittings.add(vote.sitting)

    def _open_trustees(self, vote_id: int, vote: VoteRecord, logged: Any) -> None:
        """A trustee-mode vote opens with the sitting's latest joint key, the kind's
        layout and H_V, recomputed; a vote-key vote with no ``trustees``."""
        if not vote.trustees:
            _require(logged is None, "trustees in the opening of a vote not in trustee mode")
            return
        key = self.trustee_keys.get(vote.sitting)
        _require(
            key is not None,
            f"trustee mode without a completed key ceremony of sitting {vote.sitting}",
        )
        assert key is not None
        context = {"ceremony_id": key["ceremony_id"], "n": key["n"], "k": key["k"],
                   "vote_id": str(vote_id), "manifest": kind_of(vote.spec.kind).encrypted_layout(vote.spec),
                   "joint_key": key["joint_key"], "public_shares": key["public_shares"]}  # fmt: skip
        expected = {"ceremony_id": key["ceremony_id"], "joint_key": key["joint_key"],
                    "manifest": context["manifest"],
                    "vote_hash": trustee_content.vote_hash(context).hex()}  # fmt: skip
        _require(isinstance(logged, dict), "trustees: missing from the opening")
        for name, value in expected.items():
            _require(logged.get(name) == value, f"trustees.{name}: not the recomputed {name}")
        _require(set(logged) == set(expected), f"trustees: the fields are {sorted(expected)}")
        vote.trustee_context = context

    def _check_press(self, vote: VoteRecord, data: dict[str, Any], type_: str) -> int:
        member, seat, nonce = int(data["member"]), int(data["seat"]), str(data["nonce"])
        if member not in self.attendance.get(vote.sitting, ()):
            raise _Mismatch(f"member {member} not signed in")
        if not self._votes_in(vote, member):
            standing = self.standing.get(member, (MemberRole.DEPUTY, PresidiumSeat.NONE))
            admits = kind_of(vote.spec.kind).admits_attending(vote.spec)
            if not may_cast(vote.electorate, *standing, admits):
                raise _Mismatch(f"member {member} is not a voter of this vote ({vote.electorate})")
            vote.attending.add(member)  # 列席代表, admitted: counted apart
        if self.seats.get(member) != (vote.body, seat):
            raise _Mismatch(f"seat {seat} is not member {member}'s")
        device = self.devices.get(str(data["device"]))
        if device is None or device.revoked:
            raise _Mismatch(f"device {data['device']} not usable")
        if device.pending:
            raise _Mismatch(f"device {data['device']}: its enrollment was never confirmed")
        if device.seat != seat:
            raise _Mismatch(f"device {data['device']} is not at seat {seat}")
        if self.pin_devices.get((vote.sitting, member)) != data["device"]:
            raise _Mismatch(f"member {member} entered no PIN on device {data['device']}")
        if nonce in vote.nonces:
            raise _Mismatch(f"nonce {nonce} used twice")
        ahead = self._kiosk_check
        if ahead is not None and device.checked_ahead:
            # The same key, signature and statement, checked by a worker; a verdict
            # means the signature was base64 (else the worker would have none).
            verified = ahead
        else:
            signature = b64decode(data["kiosk_sig"], "kiosk_sig")
            verified = device.key.verify(signature, press_bytes(type_, data))
        _require(verified, "kiosk signature does not verify")
        vote.nonces.add(nonce)
        presses = vote.presses.setdefault(member, [])
        _require(int(data["press"]) == len(presses) + 1, "press number out of order")
        _require(vote.key_policy.may_press_again or not presses, "second press under first_press")
        return member

    def on_ballot(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, _PRESS)
        _require(not vote.secret, "a secret vote's choice appears in a ballot entry")
        _require_ballot(vote.spec, data["ballot"])
        member = self._check_press(vote, data, "ballot")
        vote.presses[member].append(data["ballot"])

    def on_encrypted_ballot(self, data: dict[str, Any]) -> None:
        """A trustee-mode ballot: the kiosk's signature over the ``encrypted-ballot``
        statement and every proof of the ballot (audit/trustee_content.py)."""
        vote = self._vote(data, _PRESS)
        _require(vote.trustee_context is not None, "encrypted ballot in a vote not in trustee mode")
        member = self._check_press(vote, data, EntryType.ENCRYPTED_BALLOT)
        entry = {"member": member, "nonce": str(data["nonce"]), "ballot": data["ballot"],
                 "attending": member in vote.attending}  # fmt: skip
        try:
            trustee_content.check_ballot(vote.trustee_context, entry)  # type: ignore[arg-type]
        except trustee_content.ContentMismatch as exc:
            raise _Mismatch(f"{exc}") from None
        vote.presses[member].append(None)
        vote.encrypted.append(entry)

    def on_aggregates(self, data: dict[str, Any]) -> None:
        """The counted ballots' aggregates, recomputed from the encrypted ballots."""
        vote = self._vote(data, Action.COUNT)
        context = vote.trustee_context
        _require(context is not None, "aggregates of a vote not in trustee mode")
        _require(vote.aggregates is None, "aggregates logged twice")
        assert context is not None
        groups = trustee_content.groups_of(vote.spec)
        counted = trustee_content.by_group(
            trustee_content.counted_ballots(vote.encrypted, vote.key_policy), groups
        )
        try:
            checked = trustee_content.check_aggregates(
                trustee_content.layout_of(context), counted, data["aggregates"]
            )
        except trustee_content.ContentMismatch as exc:
            raise _Mismatch(str(exc)) from None
        cast = {g: len(b) for g, b in counted.items()}
        _require(data["cast"] == cast, f"cast {data['cast']} ≠ recounted {cast}")
        vote.aggregates, vote.cast = checked, cast

    def on_decryption_share(self, data: dict[str, Any]) -> None:
        """A trustee's partial decryptions, each proof checked against its public share;
        the trustee is the ceremony's at that index, a designated scrutineer."""
        vote = self._vote(data, Action.COUNT)
        context = vote.trustee_context
        _require(context is not None and vote.aggregates is not None,
                 "decryption share before the aggregates")  # fmt: skip
        _require(not vote.result_seen, "decryption share after the result")
        assert context is not None and vote.cast is not None
        index, user = int(data["trustee"]), data["user"]
        key = self.trustee_keys.get(vote.sitting) or {}
        trustees = key.get("trustees", [])
        _require(1 <= index <= len(trustees) and trustees[index - 1] == user,
                 f"user {user} is not trustee {index} of the vote's ceremony")  # fmt: skip
        error = trustee_error(user, self.role_of(user), self.scrutineers.get(vote.sitting, ()))
        _require(error is None, str(error))
        _require(all(p["trustee"] != index for p in vote.partials), f"trustee {index} posted twice")
        posted = {"trustee": index, "shares": data["shares"]}
        try:  # this trustee's proofs: k = 1 checks them without combining
            trustee_votes.check_own_partials(
                context,
                trustee_content.vote_hash(context),
                index,
                vote.aggregates,
                vote.cast,
                data["shares"],
            )
        except (trustee_content.ContentMismatch, TrusteeCryptoError) as exc:
            raise _Mismatch(str(exc)) from None
        vote.partials.append(posted)

    def _trustee_result(self, vote: VoteRecord, data: dict[str, Any]) -> dict[str, Any]:
        """A trustee-mode result: recomputed from the partials (k of them, the ones named
        in ``content``), the totals, the kind's paper count and the rules engine."""
        context = vote.trustee_context
        _require(
            vote.aggregates is not None and vote.cast is not None, "result before the aggregates"
        )
        assert context is not None and vote.cast is not None
        try:
            totals = trustee_votes.decrypted_totals(
                context, vote.aggregates, vote.partials, vote.cast
            )
            expected = trustee_content.content_result(
                vote.spec, vote.members, vote.present, totals, vote.cast
            )
            trustee_content.check_result(expected, data["result"])
        except (trustee_content.ContentMismatch, TrusteeCryptoError) as exc:
            raise _Mismatch(str(exc)) from None
        content = {"mode": "trustees", "trustees": sorted(p["trustee"] for p in vote.partials),
                   "totals": trustee_votes.totals_lists(context["manifest"], totals)}  # fmt: skip
        _require(data.get("content") == content, "content: not the recomputed totals and trustees")
        return expected

    def content_report(self) -> list[dict[str, Any]]:
        """Per secret vote that was opened: ``"proven"`` (trustee mode, counted) or
        ``"server-trusted"`` (vote-key mode)."""
        out = []
        for vote_id, vote in sorted(self.votes.items()):
            if not vote.secret or not vote.opened:
                continue
            proven = vote.trustee_context is not None and vote.result_seen
            mode = "proven" if proven else "server-trusted" if not vote.trustees else "unproven"
            out.append({"vote": vote_id, "content": mode})
        return out

    def on_participation(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, _PRESS)
        _require(vote.secret, "participation entry in a named vote")
        _require(not vote.trustees, "participation entry in a trustee-mode vote")
        member = self._check_press(vote, data, "participation")
        vote.presses[member].append(None)  # the choice is not in the log until release

    def on_vote_closed(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, Action.CLOSE)
        _require(int(data["members"]) == vote.members, "members changed while the vote was open")
        present = int(data["present"])
        _require(
            present == self._present(vote), f"present {present} ≠ signed in {self._present(vote)}"
        )
        voters = len(vote.presses) - len(vote.attending)
        _require(int(data["cast"]) == voters, f"cast {data['cast']} ≠ {voters} voters")
        if kind_of(vote.spec.kind).admits_attending(vote.spec):
            attending = int(data["attending_cast"])
            _require(
                attending == len(vote.attending),
                f"attending_cast {attending} ≠ {len(vote.attending)} attending deputies",
            )
        else:
            _require("attending_cast" not in data, "attending_cast in a vote not admitting them")
        vote.state, vote.present = transition(vote.state, Action.CLOSE), present

    def on_ballots_released(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, Action.COUNT)
        _require(vote.secret, "ballots released for a named vote")
        _require(not vote.trustees, "ballots released in a trustee-mode vote")
        _require(vote.released is None, "ballots released twice")
        ballots = list(data["ballots"])
        voters = len(vote.presses) - len(vote.attending)
        _require(len(ballots) == voters, f"{len(ballots)} ballots released for {voters} voters")
        attending: list[Any] = []
        if kind_of(vote.spec.kind).admits_attending(vote.spec):
            attending = list(data["attending_ballots"])  # released as a group of their own
            _require(
                len(attending) == len(vote.attending),
                f"{len(attending)} attending ballots released for {len(vote.attending)} "
                "attending deputies",
            )
        else:
            _require("attending_ballots" not in data, "attending ballots in a vote without them")
        for ballot in [*ballots, *attending]:
            _require_ballot(vote.spec, ballot)
        vote.released, vote.released_attending = ballots, attending

    def on_result(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, Action.COUNT)
        _require(not vote.result_seen, "result logged twice")
        if vote.trustees:
            expected = self._trustee_result(vote, data)
            vote.result_seen, vote.adopted, vote.result = True, adopted(expected), expected
            return
        _require("content" not in data, "content in the result of a vote not in trustee mode")
        if vote.secret:
            _require(vote.released is not None, "result before the ballots were released")
            ballots, attending = vote.released, vote.released_attending or []
        else:
            ballots, attending = vote.counted_groups()
        expected = tally(vote.spec, vote.members, vote.present, ballots, attending)  # type: ignore[arg-type]
        logged = data["result"]
        if logged != expected:
            diff = sorted(
                k for k in set(expected) | set(logged) if expected.get(k) != logged.get(k)
            )
            raise _Mismatch(f"logged result differs from the recount in {diff}")
        self._check_breakdown(vote, data.get("by_delegation"))
        vote.result_seen, vote.adopted, vote.result = True, adopted(expected), expected

    def _check_breakdown(self, vote: VoteRecord, logged: Any) -> None:
        """分团: a named vote in a body with delegations publishes each delegation's counts
        (rules/breakdown.py), recomputed here from its ballots, sign-ins and the roster;
        a secret vote, or a body without delegations, publishes none."""
        if vote.secret:
            _require(logged is None, "a secret vote's result is broken down by delegation")
            return
        if vote.electorate is not Electorate.BODY:
            _require(logged is None, "a presidium vote's result is broken down by delegation")
            return
        ballots = {
            member: vote.key_policy.counted(presses)
            for member, presses in vote.presses.items()
            if member not in vote.attending  # 列席代表 belong to no delegation
        }
        expected = by_delegation(
            vote.spec,
            self.delegations.get(vote.body, []),
            self.attendance.get(vote.sitting, set()),
            ballots,
        )
        if logged != expected:
            if expected is None or logged is None:
                raise _Mismatch("by_delegation: " + ("absent" if logged is None else "unexpected"))
            names = [e.get("group") for e in expected]
            wrong = [
                e.get("group") if isinstance(e, dict) else e
                for e, x in zip(logged, expected, strict=False) if e != x
            ] or ["(the list of delegations)"]  # fmt: skip
            raise _Mismatch(
                f"by_delegation differs from the recount for {wrong} (delegations {names})"
            )

    def on_vote_cancelled(self, data: dict[str, Any]) -> None:
        vote = self.votes.get(int(data["vote"]))
        _require(
            vote is not None and cancellable(vote.state, vote.trustees and not vote.result_seen),
            "cancel of a vote not pending",
        )
        vote.state = VoteState.CANCELLED  # type: ignore[union-attr]
        reason, by = data["reason"], data["by"]
        vote.cancelled_by_presidium = (  # type: ignore[union-attr]
            isinstance(reason, str) and bool(reason.strip()) and self.role_of(by) == PRESIDIUM
        )

    # -- paper counts and countersignatures ------------------------------------------

    def on_paper_count_entered(self, data: dict[str, Any]) -> None:
        """A hand count entered (or corrected) by the secretariat for a vote that was
        opened and then cancelled by the presidium with a reason (docs/duties.md)."""
        vote = self.votes.get(int(data["vote"]))
        _require(vote is not None, f"vote {data['vote']} was never configured")
        assert vote is not None
        _require(
            allowed(vote.state, Action.ENTER_PAPER_COUNT),
            f"paper count for a vote that is {log_name(vote.state)}",
        )
        _require(vote.opened, "paper count for a vote that was never opened")
        _require(
            vote.cancelled_by_presidium,
            "paper count for a vote not cancelled by the presidium with a reason",
        )
        by = self._by(data)
        _require(by in self.staff, f"by: account {by} was never created in the log")
        error = role_error(Action.ENTER_PAPER_COUNT, self.role_of(by))
        _require(error is None, str(error))
        members, present = int(data["members"]), int(data["present"])
        roster = self._electorate_size(vote)
        _require(members == roster, f"members {members} ≠ roster {roster}")
        _require(0 <= present <= members, f"present {present} outside 0..{members}")
        attendance = int(data["attendance"])
        signed_in = self._present(vote)
        _require(attendance == signed_in, f"attendance {attendance} ≠ signed in {signed_in}")
        reason = data["present_reason"]
        _require(reason is None or isinstance(reason, str), "present_reason: a string or null")
        error = present_error(present, attendance, reason)
        _require(error is None, str(error))
        ballots = list(data["ballots"])
        for ballot in ballots:
            check_ballot(vote.spec, ballot, "ballot")  # type: ignore[union-attr]
        if data["mode"] == "counts":
            expected = ballots_from_counts(vote.spec, data["counts"])  # type: ignore[union-attr]
            _require(ballots == expected, "the ballots are not those of the counts")
        else:
            _require(data["mode"] == "ballots", f"unknown mode {data['mode']!r}")
        vote.state = transition(vote.state, Action.ENTER_PAPER_COUNT)  # type: ignore[union-attr]
        vote.members, vote.present = members, present  # type: ignore[union-attr]
        vote.paper, vote.paper_signers = ballots, set()  # type: ignore[union-attr]

    def on_countersigned(self, data: dict[str, Any]) -> None:
        vote = self.votes.get(int(data["vote"]))
        _require(vote is not None, f"vote {data['vote']} was never configured")
        assert vote is not None
        by, role, subject = self._by(data), str(data["role"]), str(data["subject"])
        _require(by in self.staff, f"account {by} was never created in the log")
        held = self.role_of(by)
        _require(held is None or role == held, f"role {role}, but account {by} is {held}")
        _require(subject in COUNTERSIGN_ACTIONS, f"unknown subject {subject!r}")
        assert by is not None
        error = countersign_error(subject, by, held, self.scrutineers.get(vote.sitting, set()))
        _require(error is None, str(error))
        pending = allowed(vote.state, COUNTERSIGN_ACTIONS[subject])
        if subject == "paper_count":
            _require(pending, "countersignature of a paper count not pending")
            _require(by not in vote.paper_signers, f"user {by} countersigned twice")
            vote.paper_signers.add(by)
        else:
            _require(pending and vote.result_seen, "countersignature before the result")
            _require(by not in vote.countersigned, f"user {by} countersigned twice")
            vote.countersigned.add(by)

    def on_manual_result(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, Action.PUBLISH_PAPER_COUNT)
        _require(
            len(vote.paper_signers) >= PAPER_SIGNATURES,
            f"{len(vote.paper_signers)} scrutineer(s) countersigned; {PAPER_SIGNATURES} needed",
        )
        members, present = int(data["members"]), int(data["present"])
        _require(
            (members, present) == (vote.members, vote.present), "members/present ≠ the count's"
        )
        expected = tally(vote.spec, members, present, vote.paper)  # type: ignore[arg-type]
        if data["result"] != expected:
            diff = sorted(
                k for k in set(expected) | set(data["result"])
                if expected.get(k) != data["result"].get(k)
            )  # fmt: skip
            raise _Mismatch(
                f"logged result differs from the recount of the paper ballots in {diff}"
            )
        vote.state, vote.result_seen = transition(vote.state, Action.PUBLISH_PAPER_COUNT), True
        vote.adopted, vote.result = adopted(expected), expected

    def on_vote_announced(self, data: dict[str, Any]) -> None:
        vote = self._vote(data, Action.ANNOUNCE)
        _require(vote.result_seen, "announced before its result")
        vote.state = transition(vote.state, Action.ANNOUNCE)
        self._owe_follow_ups(int(data["vote"]), vote.result or {})

    # -- deputies' records (履职档案) -----------------------------------------------------

    def on_leave_recorded(self, data: dict[str, Any]) -> None:
        """请假: by the secretariat, for a member on the roster who has not signed in to the
        sitting (one who signs in later is present; the leave is then withdrawn)."""
        member, sitting, by = int(data["member"]), int(data["sitting"]), self._by(data)
        _require(member in self.seats, f"member {member} is not on the roster")
        _require(int(data["seat"]) == self.seats[member][1], f"member {member} has another seat")
        reason = data["reason"]
        _require(
            isinstance(reason, str) and bool(reason.strip()) and len(reason) <= LEAVE_REASON_MAX,
            f"reason: 1 to {LEAVE_REASON_MAX} characters",
        )
        _require(by in self.staff, f"by: account {by} was never created in the log")
        error = leave_error(self.role_of(by))
        _require(error is None, str(error))
        _require(
            member not in self.attendance.get(sitting, ()), f"member {member} already signed in"
        )


# The states each action may be taken in, looked up once per entry on the press path.
_SOURCES = {action: step.sources for action, step in STEPS.items()}
_PRESS = Action.PRESS


class _Mismatch(Exception):
    pass


def _require_ballot(spec: VoteSpec, ballot: Any) -> None:
    """Electronic ballots are valid by construction: the server refuses anything else."""
    error = electronic_ballot_error(spec, ballot)
    if error is not None:
        raise _Mismatch(error)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _Mismatch(message)
