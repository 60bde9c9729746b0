"""The content of a trustee-mode secret vote, proven from plain data (issue 20).

In trustee mode (docs/trustee-crypto.md) every ballot is encrypted on the tablet
under the trustees' joint key, with proofs that each mark is 0 or 1 and that each
contest respects its limit; the counted ballots are multiplied per option into
aggregates, which k trustees decrypt partially, each with a proof; the totals go
through the vote kind's rules as a paper count does. This module checks each step
from what the log publishes — the verifier (``voting-audit verify``) and the
server call it alike. Pure: plain JSON-like data in, no Flask, no database, no
clock; the group operations are ``crypto.trustees``'s.

Every check raises ``ContentMismatch`` (a ValueError) whose ``field`` names what
did not match: the member and nonce of a ballot, the group, contest and option of
an aggregate or a partial decryption, the trustee, the path of a result count.

The plain data
--------------

``vote_context`` — what H_V is made of, and what checks a partial decryption::

    {"ceremony_id": str,            # the key ceremony's id (one per sitting), text
     "n": int, "k": int,            # trustees, threshold (1 ≤ k ≤ n ≤ 9)
     "vote_id": str,                # the vote's id as hashed into H_V, text
     "manifest": [{"id": str, "options": [str, ...], "limit": int}, ...],
                                    # = Kind.encrypted_layout(spec) (check_manifest)
     "joint_key": hex,              # K = ∏ K_{i,0}
     "public_shares": {"1": hex, …}}  # K̂_i by trustee seat (a JSON object's keys are text)

``ballot entry`` — one press of a deputy, in log order (the log's encrypted ballot
entry, as far as content goes; its kiosk signature is checked elsewhere)::

    {"member": int | str,           # hashed into H_B as text (str(member))
     "nonce": str,                  # the submission's nonce, hashed into H_B
     "attending": bool,             # optional: a 列席代表's press, counted apart
     "ballot": {"contests": [{"selections": [{"alpha", "beta", "proof"}, ...],
                              "proof": {...}}, ...]}}   # docs/trustee-crypto.md's wire form

``aggregates`` — per group, the product of the counted ballots' ciphertexts per
contest per option, in crypto.trustees's wire form (docs/trustee-crypto.md,
"Counting")::

    {"members": [[{"alpha": hex, "beta": hex}, ...], ...],
     "attending": [[...], ...]}     # only where the kind admits attending deputies

A vote admitting attending deputies (an evaluation with 列席代表) aggregates and
decrypts their ballots apart, since the result reports them apart (``Kind.count``).
A group with no counted ballot has the identity pair (all-zero hex) for every
option, as the spec says: nothing to decrypt, every total 0.

``partials`` — one object per trustee that posted, in any order::

    [{"trustee": int,               # its seat i, 1 … n
      "shares": {group: [[{"m": hex, "c": hex, "v": hex}, ...], ...]}}, ...]

with a share for every aggregate of every group that has counted ballots (and
none for a group without). ``totals`` (what the partials decrypt to) are
``{group: {contest_id: {option: int}}}``, and ``cast`` is ``{group: int}``, the
counted ballots of each group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crypto.trustees import ballot as tballot
from crypto.trustees import decryption as tdecrypt
from crypto.trustees.ceremony import ceremony_hash
from crypto.trustees.group import Element, TrusteeCryptoError
from rules import VoteSpec, tally
from rules.kinds import KeyPolicy, kind_of
from rules.kinds.config import SchemaError

MEMBERS, ATTENDING = "members", "attending"

Totals = dict[str, dict[str, dict[str, int]]]  # group → contest id → option → count


class ContentMismatch(ValueError):
    """What the log publishes does not prove the vote's content; ``field`` says where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# --- the vote ------------------------------------------------------------------------


def groups_of(spec: VoteSpec) -> tuple[str, ...]:
    """The groups whose ballots are aggregated apart: members, and attending deputies
    where the kind admits them."""
    return (MEMBERS, ATTENDING) if kind_of(spec.kind).admits_attending(spec) else (MEMBERS,)


def check_manifest(spec: VoteSpec, vote_context: Mapping[str, Any]) -> None:
    """The context's manifest is the kind's layout of ``spec`` (and the kind has a
    trustee mode for it)."""
    kind = kind_of(spec.kind)
    if not kind.supports_trustees(spec):
        raise ContentMismatch("manifest", f"trustee mode is not available for this {spec.kind}")
    if vote_context["manifest"] != kind.encrypted_layout(spec):
        raise ContentMismatch("manifest", "not the layout of the vote's configuration")


def layout_of(vote_context: Mapping[str, Any]) -> tballot.Layout:
    """The context's manifest as crypto.trustees's ``Layout``."""
    try:
        return tballot.Layout.from_json(vote_context["manifest"])
    except TrusteeCryptoError as exc:
        raise ContentMismatch(f"manifest: {exc.field}", exc.reason) from None


def joint_key(vote_context: Mapping[str, Any]) -> Element:
    return _element(vote_context["joint_key"], "joint_key")


def vote_hash(vote_context: Mapping[str, Any]) -> bytes:
    """H_V from the context (docs/trustee-crypto.md, "Base hashes")."""
    try:
        h_c = ceremony_hash(str(vote_context["ceremony_id"]), vote_context["n"], vote_context["k"])
    except TrusteeCryptoError as exc:
        raise ContentMismatch(f"vote_context.{exc.field}", exc.reason) from None
    return tballot.vote_hash(
        h_c, str(vote_context["vote_id"]), layout_of(vote_context), joint_key(vote_context)
    )


def _element(text: Any, field: str) -> Element:
    try:
        return Element.from_hex(text, field)
    except TrusteeCryptoError as exc:
        raise ContentMismatch(exc.field, exc.reason) from None


_POSITION = re.compile(r"contests\[(\d+)\](?:\.selections\[(\d+)\])?|\[(\d+)\]\[(\d+)\]")


def named(field: str, layout: tballot.Layout) -> str:
    """crypto.trustees's positional field with the contest's and option's ids beside
    the positions: ``contests[0].selections[1].alpha`` →
    ``contests[0].selections[1].alpha (contest 'a' option 'no')``."""
    match = _POSITION.search(field)
    if not match:
        return field
    n, o = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
    if int(n) >= len(layout.contests):
        return field
    contest = layout.contests[int(n)]
    where = f"contest {contest.id!r}"
    if o is not None and int(o) < len(contest.options):
        where += f" option {contest.options[int(o)]!r}"
    return f"{field} ({where})"


# --- ballots -------------------------------------------------------------------------


def ballot_label(entry: Mapping[str, Any]) -> str:
    """How an error names a ballot: its member and nonce."""
    return f"member {entry['member']} nonce {entry['nonce']}"


def check_ballot(
    vote_context: Mapping[str, Any], ballot_entry: Mapping[str, Any], h_v: bytes | None = None
) -> tballot.EncryptedBallot:
    """Every proof of the encrypted ballot verifies: each option is 0 or 1, each
    contest within its limit, all bound to this vote, key, member, nonce and every
    ciphertext. ``h_v``: ``vote_hash(vote_context)``, if the caller has it. Returns
    the ballot parsed. ContentMismatch names the member, the nonce, and the field
    with its contest and option."""
    h_v = vote_hash(vote_context) if h_v is None else h_v
    layout = layout_of(vote_context)
    try:
        return tballot.verify_ballot(
            h_v,
            joint_key(vote_context),
            layout,
            str(ballot_entry["member"]),
            str(ballot_entry["nonce"]),
            ballot_entry["ballot"],
        )
    except TrusteeCryptoError as exc:
        raise ContentMismatch(
            f"{ballot_label(ballot_entry)}: {named(exc.field, layout)}", exc.reason
        ) from None


def counted_ballots(
    entries: Iterable[Mapping[str, Any]], policy: KeyPolicy | str
) -> list[Mapping[str, Any]]:
    """Of each member's ballots (``entries`` in log order), the one that counts:
    the last with ``last_press``, the first with ``first_press``. In the order of
    the members' first presses."""
    policy = KeyPolicy(policy)
    presses: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        presses.setdefault(str(entry["member"]), []).append(entry)
    return [policy.counted(mine) for mine in presses.values()]


def by_group(
    counted: Iterable[Mapping[str, Any]], groups: Sequence[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """The counted ballots of each group (an attending deputy's where ``attending``)."""
    out: dict[str, list[Mapping[str, Any]]] = {g: [] for g in groups}
    for entry in counted:
        group = ATTENDING if entry.get("attending") else MEMBERS
        if group not in out:
            raise ContentMismatch(ballot_label(entry), "an attending deputy's ballot in this vote")
        out[group].append(entry)
    return out


# --- aggregates ----------------------------------------------------------------------


def recompute_aggregates(
    layout: tballot.Layout, counted: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, list[list[dict[str, str]]]]:
    """Per group (``counted``: group → its counted ballot entries), contest and option,
    (∏ α, ∏ β) over the ballots, in the wire form; the identity pair for a group
    without ballots. Precondition: each ballot passed ``check_ballot``."""
    out: dict[str, list[list[dict[str, str]]]] = {}
    for group, entries in counted.items():
        try:
            ballots = [tballot.parse_ballot(layout, e["ballot"]) for e in entries]
        except TrusteeCryptoError as exc:  # not checked first: say which
            raise ContentMismatch(f"{group}: {named(exc.field, layout)}", exc.reason) from None
        out[group] = tballot.aggregates_to_json(tballot.aggregate(layout, ballots))
    return out


def check_aggregates(
    layout: tballot.Layout,
    counted: Mapping[str, Sequence[Mapping[str, Any]]],
    published: Any,
) -> dict[str, list[list[dict[str, str]]]]:
    """The published aggregates are those of the counted ballots; returns them.
    ContentMismatch names the group, contest and option that differ."""
    expected = recompute_aggregates(layout, counted)
    if not isinstance(published, dict) or set(published) != set(expected):
        got = sorted(published) if isinstance(published, dict) else type(published).__name__
        raise ContentMismatch("aggregates", f"groups {got}, expected {sorted(expected)}")
    for group, rows in expected.items():
        given = published[group]
        for n, (contest, row) in enumerate(zip(layout.contests, rows, strict=True)):
            for o, (option, pair) in enumerate(zip(contest.options, row, strict=True)):
                try:
                    mismatch = given[n][o] != pair
                except (IndexError, KeyError, TypeError):
                    mismatch = True
                if mismatch:
                    raise ContentMismatch(
                        f"aggregates.{group}[{n}][{o}] (contest {contest.id!r} option {option!r})",
                        "not the product of the counted ballots' ciphertexts",
                    )
        if given != rows:  # a contest or an option beyond the layout
            raise ContentMismatch(f"aggregates.{group}", "more contests or options than the layout")
    return expected


# --- partial decryptions -------------------------------------------------------------


def check_partials(
    vote_context: Mapping[str, Any],
    aggregates: Mapping[str, Any],
    partials: Sequence[Mapping[str, Any]],
    cast: Mapping[str, int],
    h_v: bytes | None = None,
) -> Totals:
    """Each posted partial decryption's proof verifies against its trustee's public
    share; at least k distinct trustees posted; their shares combine (Lagrange) into
    each aggregate's total, a number from 0 to the group's ``cast``. ``aggregates``:
    checked by ``check_aggregates``. Returns the totals of every group of ``cast``.
    ContentMismatch names the trustee, the group, contest and option."""
    h_v = vote_hash(vote_context) if h_v is None else h_v
    layout, key = layout_of(vote_context), joint_key(vote_context)
    n, k = vote_context["n"], vote_context["k"]
    decrypted = [g for g in cast if cast[g] > 0]  # the others' aggregates are the identity
    tables: dict[str, dict[int, tdecrypt.PartialTable]] = {g: {} for g in decrypted}
    publics: dict[int, Element] = {}
    for posted in partials:
        i = posted.get("trustee")
        if not isinstance(i, int) or isinstance(i, bool) or not 1 <= i <= n:
            raise ContentMismatch("partials", f"trustee {i!r} is not a seat from 1 to {n}")
        if i in publics:
            raise ContentMismatch(f"trustee {i}", "posted its partial decryptions twice")
        publics[i] = _element(vote_context["public_shares"].get(str(i)), f"public_shares.{i}")
        shares = posted.get("shares")
        if not isinstance(shares, dict) or set(shares) != set(decrypted):
            given = sorted(shares) if isinstance(shares, dict) else shares
            raise ContentMismatch(
                f"trustee {i}", f"shares for groups {given}, expected {sorted(decrypted)}"
            )
        for group in decrypted:
            try:
                tables[group][i] = tdecrypt.partials_from_json(
                    layout, shares[group], f"trustee {i} {group}"
                )
            except TrusteeCryptoError as exc:
                raise ContentMismatch(named(exc.field, layout), exc.reason) from None
    if len(publics) < k:
        raise ContentMismatch(
            "partials", f"{len(publics)} trustee(s) posted, {k} are needed to decrypt"
        )
    totals: Totals = {}
    for group, most in cast.items():
        if group not in tables:
            totals[group] = {c.id: dict.fromkeys(c.options, 0) for c in layout.contests}
            continue
        try:
            published = tballot.aggregates_from_json(layout, aggregates[group])
            totals[group] = tdecrypt.decrypt_counts(
                h_v, layout, published, publics, tables[group], k, key, most
            )
        except TrusteeCryptoError as exc:
            raise ContentMismatch(f"{group}: {exc.field}", exc.reason) from None
    return totals


# --- the result ----------------------------------------------------------------------


def content_result(
    spec: VoteSpec,
    members: int,
    present: int,
    totals: Mapping[str, Mapping[str, Mapping[str, int]]],
    cast: Mapping[str, int],
) -> dict[str, Any]:
    """The result the totals give: each group's totals → the kind's paper count →
    ballots → ``rules.engine.tally``, as a hand count. ContentMismatch if the totals
    are impossible (naming the group and contest)."""
    kind = kind_of(spec.kind)
    ballots: dict[str, list[Any]] = {}
    for group in groups_of(spec):
        try:
            ballots[group] = kind.ballots_from_option_totals(spec, cast[group], totals[group])
        except SchemaError as exc:
            raise ContentMismatch(f"{group}.{exc.field}", exc.message) from None
    return tally(spec, members, present, ballots[MEMBERS], ballots.get(ATTENDING, ()))


def first_difference(expected: Any, got: Any, path: str = "result") -> str | None:
    """Where ``got`` first differs from ``expected`` (``result.subjects.a.yes:
    published 7, recomputed 6``), or None if they are equal."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got), key=str):
            if key not in got:
                return f"{path}.{key}: missing from the published result"
            if key not in expected:
                return f"{path}.{key}: not in the recomputed result"
            found = first_difference(expected[key], got[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for n, (e, g) in enumerate(zip(expected, got, strict=True)):
            found = first_difference(e, g, f"{path}[{n}]")
            if found:
                return found
        return None
    if expected != got or type(expected) is not type(got):
        return f"{path}: published {got!r}, recomputed {expected!r}"
    return None


def check_result(expected: Mapping[str, Any], published: Any) -> None:
    """The published result is the recomputed one; ContentMismatch names the count."""
    found = first_difference(expected, published)
    if found:
        field, _, reason = found.partition(": ")
        raise ContentMismatch(field, reason)


# --- everything, in order ------------------------------------------------------------


def check_content(
    spec: VoteSpec,
    vote_context: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    policy: KeyPolicy | str,
    aggregates: Any,
    partials: Sequence[Mapping[str, Any]],
    members: int,
    present: int,
    result: Any,
) -> dict[str, Any]:
    """A trustee-mode vote's content, proven: the manifest, every ballot's proofs
    (``entries``: every press, counted or not, in log order), the aggregates of the
    counted ones, every partial decryption, and the published ``result`` recomputed
    from the totals. Returns the recomputed result; ContentMismatch at the first
    failure."""
    check_manifest(spec, vote_context)
    h_v = vote_hash(vote_context)
    seen: set[str] = set()
    for entry in entries:
        nonce = str(entry["nonce"])
        if nonce in seen:
            raise ContentMismatch(ballot_label(entry), "nonce used twice")
        seen.add(nonce)
        check_ballot(vote_context, entry, h_v)
    counted = by_group(counted_ballots(entries, policy), groups_of(spec))
    checked = check_aggregates(layout_of(vote_context), counted, aggregates)
    cast = {group: len(ballots) for group, ballots in counted.items()}
    totals = check_partials(vote_context, checked, partials, cast, h_v)
    expected = content_result(spec, members, present, totals, cast)
    check_result(expected, result)
    return expected
