"""What a kind of vote is: the one interface every kind module implements.

A kind (表决方式) is one module under ``rules.kinds`` holding, in one place,
its configuration schema, ballot checks, tally, longest ballot (for the
padding of secret ballots), paper-count form, result rows for sheets and
screens, and its Chinese and English names. ``rules.kinds.registry`` lists
the kinds; everything else — the engine, the schema, the server, the
verifier, the sheets, simulate, the bench — looks a kind up there by name
and never branches on it. ``docs/adding-a-vote-kind.md`` walks through
adding one. Pure: no I/O, no framework.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rules.glossary import term
from rules.kinds.config import SchemaError, Strict, paper_count, paper_object
from rules.kinds.vocabulary import Turnout, VoteSpec

DASH = "—"
CHECK = "✓"


def yes_no(value: bool) -> str:
    """A flag as a sheet or an export prints it."""
    return "是" if value else "否"


def json_size(value: Any) -> int:
    """The length of ``value`` as canonical JSON (UTF-8, no escapes, no spaces)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


class NoTrusteeMode(SchemaError):
    """A vote that cannot be held in trustee mode (encrypted ballots, docs/trustee-crypto.md)."""

    def __init__(self, kind: str, why: str = "") -> None:
        detail = f" ({why})" if why else ""
        super().__init__(
            "vote.kind", f"trustee mode is not available for this kind: {kind}{detail}"
        )


# A contest of an encrypted ballot (docs/trustee-crypto.md, "Layout"): its id, its
# options (each encrypted as 0 or 1, in this order) and the most that may be 1 together.
Contest = dict[str, Any]  # {"id": str, "options": [str, ...], "limit": int}
# Decrypted per-contest, per-option totals: contest id → option → how many ballots marked it.
OptionTotals = Mapping[str, Mapping[str, int]]


def checked_option_totals(
    layout: Sequence[Contest], cast: int, totals: Any
) -> dict[str, dict[str, int]]:
    """``totals`` as a plain dict, if they are possible for ``cast`` ballots of ``layout``.

    Possible: exactly the layout's contests and options, each total an integer from 0
    to ``cast``, and a contest's totals together at most ``limit × cast``. Otherwise
    SchemaError naming the contest (``totals.<contest>``) or the option
    (``totals.<contest>.<option>``). ``cast`` must be an integer from 0 to
    MAX_PAPER_BALLOTS (SchemaError ``cast`` otherwise).
    """
    cast = paper_count(cast, "cast")
    ids = tuple(c["id"] for c in layout)
    given = paper_object(totals, "totals", ids)
    out: dict[str, dict[str, int]] = {}
    for contest in layout:
        field = f"totals.{contest['id']}"
        row = paper_object(given[contest["id"]], field, tuple(contest["options"]))
        numbers: dict[str, int] = {}
        for option in contest["options"]:
            n = row[option]
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= cast:
                raise SchemaError(
                    f"{field}.{option}", f"{n!r} is not a total from 0 to the {cast} ballots cast"
                )
            numbers[option] = n
        marked, most = sum(numbers.values()), contest["limit"] * cast
        if marked > most:
            raise SchemaError(
                field,
                f"{marked} marks in all, more than {contest['limit']} on each of {cast} ballots",
            )
        out[contest["id"]] = numbers
    return out


@dataclass(frozen=True)
class SheetTable:
    """The table of a result sheet (表决结果), as strings; HTML and PDF print it alike."""

    head: list[str]
    rows: list[list[str]]
    marks: list[str]  # per row: "pass" | "fail" | "selected" | "runoff" | ""
    widths: list[float]  # relative column widths (PDF)
    notes: list[str]  # printed under the table
    verdict: str | None = None  # one headline (a single-subject motion: 通过 | 未通过)
    name_column: int = 0  # the column aligned left (the names)
    # notes about invalid ballots (无效票), printed only where ballots can be invalid
    invalid_notes: tuple[str, ...] = ()

    def without_invalid(self) -> SheetTable:
        """This table where no ballot can be invalid (``Kind.invalid_possible``): without
        its 无效 / 无效票 columns and notes. A column holding a count other than 0 stays:
        a number is never hidden."""
        heads = {term("col.invalid"), term("col.invalid_ballots")}
        return replace(self.without_columns(heads), invalid_notes=())

    def without_columns(self, heads: Collection[str]) -> SheetTable:
        """Without the columns headed one of ``heads`` whose every cell is 0 or blank."""
        drop = {
            i
            for i, head in enumerate(self.head)
            if head in heads and all(row[i] in ("0", "") for row in self.rows)
        }
        keep = [i for i in range(len(self.head)) if i not in drop]
        return replace(
            self,
            head=[self.head[i] for i in keep],
            rows=[[row[i] for i in keep] for row in self.rows],
            widths=[self.widths[i] for i in keep],
            name_column=self.name_column - sum(1 for i in drop if i < self.name_column),
        )

    @property
    def all_notes(self) -> list[str]:
        return [*self.notes, *self.invalid_notes]


class KindConfig(Strict):
    """A kind's configuration schema (the CONTRACTS.md §2 ``vote`` object).

    Subclasses declare ``kind: Literal["name"]`` and their fields; pydantic
    picks the model by ``kind``.
    """

    def to_spec(self) -> VoteSpec:
        raise NotImplementedError


class Kind(ABC):
    """One kind of vote. Subclass, fill in the class attributes, register an instance."""

    name: ClassVar[str]  # the ``kind`` of a configuration, a log entry, a result
    label_zh: ClassVar[str]  # 中文名 (sheets are official documents: always Chinese)
    label_en: ClassVar[str]
    config_model: ClassVar[type[KindConfig]]
    # Where the ids a ballot names sit in a spec: "subjects" or "candidates".
    items_key: ClassVar[str] = "subjects"
    # Where the tally's per-item counts sit in the result dict.
    result_key: ClassVar[str] = "subjects"
    has_seats: ClassVar[bool] = False  # 应选名额: the vote form asks for ``seats``
    # 分团: whether a named vote of this kind is broken down by delegation
    # (rules/breakdown.py); a kind that says so implements the two breakdown methods.
    breaks_down: ClassVar[bool] = False
    # The rule groups the vote form offers: "threshold", "quorum", "evaluation".
    rules: ClassVar[tuple[str, ...]] = ("threshold", "quorum")
    # Whether a ballot from a kiosk can count as invalid (无效). A kiosk offers only
    # valid choices and the server refuses anything else (``electronic_error``), but a
    # kind may count a valid choice — e.g. an item left unmarked — as invalid. Kinds
    # that cannot say so, and every paper count, keep 无效 on sheets and exports.
    kiosk_invalid: ClassVar[bool] = True

    def invalid_possible(self, manual: bool) -> bool:
        """Whether a vote of this kind can have invalid ballots: a paper count (人工计票)
        always can; an electronic one only if ``kiosk_invalid``."""
        return manual or self.kiosk_invalid

    # --- configuration ---------------------------------------------------------------

    def items(self, spec: VoteSpec) -> tuple[str, ...]:
        """The ids a ballot of ``spec`` names, in ballot order."""
        return tuple(getattr(spec, self.items_key))

    def check_spec(self, spec: VoteSpec) -> None:
        """Raise ValueError unless ``spec`` is a well-formed vote of this kind."""
        if not spec.subjects:
            raise ValueError(f"a {spec.kind} vote needs at least one subject")
        if len(set(spec.subjects)) != len(spec.subjects):
            raise ValueError("subject and candidate ids must be unique")

    @abstractmethod
    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        """The configuration's fields after ``kind``, every default explicit."""

    def example_items(self) -> dict[str, Any]:
        """Items that make a valid configuration (to check a rule preset on)."""
        return {"subjects": ["a"]}

    def public_items(self, spec: VoteSpec, options: list[dict[str, str]]) -> dict[str, Any]:
        """What screens and tablets get of the items: ``options`` are ``{id, title}``."""
        return {"subjects": options}

    # --- ballots ---------------------------------------------------------------------

    @abstractmethod
    def check_ballot(self, spec: VoteSpec, ballot: Any, field: str) -> None:
        """Raise SchemaError unless ``ballot`` has the shape the tally expects.

        Marks are not judged: an invalid mark on paper is the voter's, counted invalid.
        """

    @abstractmethod
    def electronic_error(self, spec: VoteSpec, ballot: Any) -> str | None:
        """Why a well-shaped ballot could not have come from a kiosk, or None."""

    @abstractmethod
    def longest_ballot(self, spec: VoteSpec) -> Any:
        """A valid ballot whose canonical JSON is as long as any valid ballot's."""

    @abstractmethod
    def random_ballot(self, spec: VoteSpec, rng: random.Random) -> Any:
        """A choice a deputy could make on a kiosk (simulate, bench)."""

    # --- counting --------------------------------------------------------------------

    @abstractmethod
    def tally(self, spec: VoteSpec, turnout: Turnout, ballots: Sequence[Any], decides: bool) -> Any:
        """The counts under ``result[result_key]``; nothing passes unless ``decides``."""

    def admits_attending(self, spec: VoteSpec) -> bool:
        """Whether attending deputies (列席代表) vote in ``spec`` too (counted apart)."""
        return False

    def count(
        self,
        spec: VoteSpec,
        turnout: Turnout,
        ballots: Sequence[Any],
        attending: Sequence[Any],
        decides: bool,
    ) -> dict[str, Any]:
        """What this kind adds to the result: ``{result_key: tally(...)}``, unless the kind
        reports more (a top-level figure, attending deputies' ballots counted apart)."""
        if attending:
            raise ValueError(f"this {self.name} vote does not admit attending deputies")
        return {self.result_key: self.tally(spec, turnout, ballots, decides)}

    @abstractmethod
    def paper_example(self, spec: VoteSpec) -> dict[str, Any]:
        """A blank hand count (人工计票) of ``spec``'s shape, to fill in."""

    @abstractmethod
    def ballots_from_counts(self, spec: VoteSpec, counts: Any) -> list[Any]:
        """Ballots whose tally gives ``counts``; SchemaError names a bad field."""

    def breakdown_counts(self, spec: VoteSpec, ballots: Sequence[Any]) -> Any:
        """The counts of ``ballots`` alone (one delegation's), nothing decided: the
        counting part of what ``tally`` reports, in its shape. Only if ``breaks_down``."""
        raise NotImplementedError(f"the {self.name} kind does not break down by delegation")

    def breakdown_lines(
        self, counts: Any, titles: Mapping[str, str]
    ) -> tuple[list[str], list[tuple[str, list[int]]]]:
        """``breakdown_counts`` as a table: the head of the kind's columns (Chinese) and
        one line per item (its title, or "" for one line per delegation) of numbers."""
        raise NotImplementedError(f"the {self.name} kind does not break down by delegation")

    def breakdown_export_rows(self, counts: Any, titles: Mapping[str, str]) -> list[dict[str, Any]]:
        """``breakdown_counts`` as export rows, keyed by sheets' RESULT_COLUMNS (one per item)."""
        raise NotImplementedError(f"the {self.name} kind does not break down by delegation")

    # --- trustee mode: encrypted ballots (docs/trustee-crypto.md) --------------------

    def supports_trustees(self, spec: VoteSpec) -> bool:
        """Whether a secret vote of ``spec`` can be held in trustee mode: its ballots
        encrypted as 0/1 marks under ``encrypted_layout`` and counted from the
        decrypted totals alone. False unless the kind implements the three methods below."""
        return False

    def encrypted_layout(self, spec: VoteSpec) -> list[Contest]:
        """The manifest of ``spec``'s encrypted ballot: contests ``{"id", "options",
        "limit"}`` in ballot order. NoTrusteeMode unless ``supports_trustees(spec)``."""
        raise NoTrusteeMode(self.name)

    def option_marks(self, spec: VoteSpec, ballot: Any) -> list[list[int]]:
        """A kiosk's ballot as the 0/1 marks the tablet encrypts, contest by contest and
        option by option in layout order. Precondition: ``electronic_error`` is None."""
        raise NoTrusteeMode(self.name)

    def counts_from_option_totals(self, spec: VoteSpec, cast: int, totals: Any) -> Any:
        """The paper count (``ballots_from_counts``'s format) of ``cast`` counted
        ballots whose decrypted per-option totals are ``totals`` (``OptionTotals``),
        so that the result goes through the rules engine as a hand count does.
        SchemaError naming the contest or option if the totals are impossible.

        A kind admitting attending deputies (``admits_attending``) has each group's
        ballots aggregated and decrypted apart: call this once per group."""
        raise NoTrusteeMode(self.name)

    def ballots_from_option_totals(self, spec: VoteSpec, cast: int, totals: Any) -> list[Any]:
        """Ballots whose tally is that of ``cast`` kiosk ballots with these ``totals``."""
        return self.ballots_from_counts(spec, self.counts_from_option_totals(spec, cast, totals))

    # --- presentation ----------------------------------------------------------------

    @abstractmethod
    def sheet_table(
        self, result: Mapping[str, Any], titles: Mapping[str, str], seats: int | None, decided: bool
    ) -> SheetTable:
        """The result sheet's table and notes (Chinese: an official document)."""

    @abstractmethod
    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        """One line for the minutes' list of votes."""

    @abstractmethod
    def export_rows(
        self, result: Mapping[str, Any], titles: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """One row per item for the CSV/XLSX export, keyed by sheets' RESULT_COLUMNS."""


class MarksKind(Kind):
    """A kind whose ballot gives each subject one of a few marks (subject → mark).

    An unmarked subject on a kiosk is allowed; whether it counts as a mark
    (弃权 in a motion) or as invalid is the tally's business.
    """

    marks: ClassVar[tuple[str, ...]]  # in the order sheets and kiosks show them
    # A hand count (人工计票) per subject: these columns, the last one "invalid"
    paper_columns: ClassVar[tuple[str, ...]]
    # what an invalid vote marks on the subject's ballot (None: left unmarked)
    paper_invalid_mark: ClassVar[str | None]
    # the Chinese heads of ``paper_columns`` on sheets and the console (分团表决情况)
    column_labels: ClassVar[tuple[str, ...]]
    breaks_down = True

    def check_ballot(self, spec: VoteSpec, ballot: Any, field: str) -> None:
        if not isinstance(ballot, dict):
            raise SchemaError(field, f"a {spec.kind} ballot must be an object subject → mark")
        for key in ballot:
            if key not in spec.subjects:
                raise SchemaError(
                    f"{field}.{key}", f"not a subject of this vote {list(spec.subjects)}"
                )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "marks" in cls.__dict__:  # built once, not for every ballot from a kiosk
            cls.mark_set = frozenset(cls.marks)

    mark_set: ClassVar[frozenset[str]]

    def electronic_error(self, spec: VoteSpec, ballot: Any) -> str | None:
        marks = self.mark_set
        for subject, mark in ballot.items():
            if not isinstance(mark, str) or mark not in marks:
                return f"ballot.{subject}: mark must be one of {sorted(marks)}"
        return None

    def longest_ballot(self, spec: VoteSpec) -> Any:
        mark = max(sorted(self.marks), key=json_size)
        return dict.fromkeys(spec.subjects, mark)

    def random_ballot(self, spec: VoteSpec, rng: random.Random) -> Any:
        marks = sorted(self.marks)
        return {s: rng.choice(marks) for s in spec.subjects if rng.random() > 0.05}

    def breakdown_counts(self, spec: VoteSpec, ballots: Sequence[Any]) -> dict[str, Any]:
        """Per subject, the ``paper_columns`` of the kind's own tally: its rules of what
        counts as which mark (弃权, 无效) apply to a delegation as to the whole vote."""
        cast = len(ballots)
        counted = self.tally(spec, Turnout(cast, cast, cast), ballots, decides=False)
        return {
            self.result_key: {
                subject: {column: counts[column] for column in self.paper_columns}
                for subject, counts in counted.items()
            }
        }

    def breakdown_lines(
        self, counts: Any, titles: Mapping[str, str]
    ) -> tuple[list[str], list[tuple[str, list[int]]]]:
        subjects = counts[self.result_key]
        one = len(subjects) == 1  # a single subject needs no title on every delegation's line
        return list(self.column_labels), [
            ("" if one else titles.get(sid, sid), [c[column] for column in self.paper_columns])
            for sid, c in subjects.items()
        ]

    def breakdown_export_rows(self, counts: Any, titles: Mapping[str, str]) -> list[dict[str, Any]]:
        # the paper columns are the result's own keys (yes, no, … invalid)
        return [
            {"subject": sid, "title": titles.get(sid, sid), **c}
            for sid, c in counts[self.result_key].items()
        ]

    def paper_example(self, spec: VoteSpec) -> dict[str, Any]:
        blank = dict.fromkeys(self.paper_columns, 0)
        return {"cast": 0, "subjects": {s: dict(blank) for s in spec.subjects}}

    def ballots_from_counts(self, spec: VoteSpec, counts: Any) -> list[Any]:
        """Ballots for per-subject paper counts ``{"cast", "subjects": {id: {column: n}}}``.

        ``paper_columns`` end with ``invalid``; an invalid vote for a subject is the
        mark ``paper_invalid_mark`` on its ballot, or no mark at all when it is None.
        """
        columns, unmarked = self.paper_columns, self.paper_invalid_mark
        counts = paper_object(counts, "counts", ("cast", "subjects"))
        cast = paper_count(counts["cast"], "counts.cast")
        subjects = paper_object(counts["subjects"], "counts.subjects", spec.subjects)
        ballots: list[dict[str, str]] = [{} for _ in range(cast)]
        for subject in spec.subjects:
            field = f"counts.subjects.{subject}"
            row = paper_object(subjects[subject], field, columns)
            numbers = [paper_count(row[c], f"{field}.{c}") for c in columns]
            if sum(numbers) != cast:
                raise SchemaError(field, f"adds up to {sum(numbers)}, but {cast} ballots were cast")
            position = 0
            for column, number in zip(columns, numbers, strict=True):
                for ballot in ballots[position : position + number]:
                    if column != "invalid":
                        ballot[subject] = column
                    elif unmarked is not None:
                        ballot[subject] = unmarked
                position += number
        return ballots

    # --- trustee mode ------------------------------------------------------------------

    # The paper column a subject left unmarked on a kiosk counts in (弃权 in a motion,
    # invalid in an evaluation); None: this kind has no trustee mode. Each other paper
    # column but "invalid" is an option of the subject's contest, limit 1.
    unmarked_column: ClassVar[str | None] = None

    def _options(self) -> list[str]:
        skip = {self.unmarked_column, "invalid"}
        return [c for c in self.paper_columns if c not in skip]

    def supports_trustees(self, spec: VoteSpec) -> bool:
        return self.unmarked_column is not None

    def encrypted_layout(self, spec: VoteSpec) -> list[Contest]:
        """One contest per subject: its marks but the unmarked one, at most one of them."""
        if not self.supports_trustees(spec):
            raise NoTrusteeMode(self.name)
        options = self._options()
        return [{"id": s, "options": list(options), "limit": 1} for s in spec.subjects]

    def option_marks(self, spec: VoteSpec, ballot: Any) -> list[list[int]]:
        layout = self.encrypted_layout(spec)
        return [[int(ballot.get(c["id"]) == o) for o in c["options"]] for c in layout]

    def counts_from_option_totals(self, spec: VoteSpec, cast: int, totals: Any) -> dict[str, Any]:
        """Per subject its options' totals, ``unmarked_column`` the rest of ``cast``, and
        every other paper column 0 (a kiosk sends no spoiled mark)."""
        checked = checked_option_totals(self.encrypted_layout(spec), cast, totals)
        subjects: dict[str, dict[str, int]] = {}
        for subject in spec.subjects:
            row = dict.fromkeys(self.paper_columns, 0)
            row.update(checked[subject])
            row[str(self.unmarked_column)] = cast - sum(checked[subject].values())
            subjects[subject] = row
        return {"cast": cast, "subjects": subjects}
