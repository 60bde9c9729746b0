"""The rules engine against a second, deliberately naive reading of RULES.md.

``reference_tally`` below is written from RULES.md alone, without looking at
how ``rules.engine`` does it: thresholds by counting up to the
first number that meets them, comparisons by integer cross-multiplication,
rankings by counting who is strictly better, seats by counting who is at or
above each candidate. No floats, no ``Fraction``, no engine import.

Hypothesis generates scenarios in the CONTRACTS.md §2 file format — with
invalid marks, empty and unmarked ballots, invalid selection ballots,
non-default thresholds on every base, quorum failures and void votes — and
each one goes through the public ``parse_scenario`` + ``tally``.

Examples per run: 3,200 motions + 3,000 selections + 2,800 evaluations +
1,000 many-mark evaluations (rounding and close rates) = 10,000 generated
scenarios (derandomized, so every run tries the same ones).

Interpretations the reference makes where RULES.md/CONTRACTS.md are silent
(the engine agrees with each):

- a selection threshold on base ``valid`` counts the valid ballots;
- when nothing is decided (no quorum, or void) an evaluation's ``outcome``
  is ``null``, every seat counts as unfilled and every candidate is listed
  for another round;
- under ``satisfaction_below``, a subject with no valid marks (rate
  undefined) is not "below" and so is ``satisfactory``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import parse_scenario, tally

MOTION_EXAMPLES = 3_200
SELECTION_EXAMPLES = 3_000
EVALUATION_EXAMPLES = 2_800
RATE_EXAMPLES = 1_000

SCENARIO_FILES = sorted(
    (Path(__file__).resolve().parents[2] / "shared" / "scenarios").glob("*.json")
)

# =============================================================================
# The reference: RULES.md, read naively.
# =============================================================================

MAJORITY_OF_MEMBERS = {"base": "members", "ratio": [1, 2], "strict": True}


def ref_required(base_count: int, num: int, den: int, strict: bool) -> int:
    """The least count k that meets the threshold: k > base·num/den (strict),
    k ≥ base·num/den (not strict); compared as k·den against base·num."""
    k = 0
    while True:
        if strict and k * den > base_count * num:
            return k
        if not strict and k * den >= base_count * num:
            return k
        k += 1


def ref_threshold(threshold: dict[str, Any], counts: dict[str, int]) -> int:
    num, den = threshold["ratio"]
    return ref_required(counts[threshold["base"]], num, den, threshold["strict"])


def ref_percent(num: int, den: int) -> str:
    """num/den as a percentage with two decimals, rounded half up."""
    hundredths, rest = divmod(num * 10_000, den)
    if rest * 2 >= den:
        hundredths += 1
    whole = hundredths // 100
    cents = hundredths - whole * 100
    return str(whole) + "." + ("0" if cents < 10 else "") + str(cents)


def ref_better(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    """Is rate a (num, den) strictly higher than rate b? None: no valid marks, lowest."""
    if a is None:
        return False
    if b is None:
        return True
    return a[0] * b[1] > b[0] * a[1]


def reference_tally(scenario: dict[str, Any]) -> dict[str, Any]:
    members = scenario["members"]
    present = scenario["present"]
    vote = scenario["vote"]
    ballots = scenario["ballots"]
    cast = 0
    for _ in ballots:
        cast += 1
    not_voted = present - cast if present > cast else 0
    void = cast > present
    quorum_rule = vote.get("quorum") or MAJORITY_OF_MEMBERS
    turnout = {"members": members, "present": present, "cast": cast}
    quorate = present >= ref_threshold(quorum_rule, {**turnout, "valid": 0})
    decided = quorate and not void
    out: dict[str, Any] = {
        "members": members,
        "present": present,
        "cast": cast,
        "not_voted": not_voted,
        "quorum": quorate,
        "void": void,
        "outcome": "void" if void else ("decided" if quorate else "no_quorum"),
    }
    if vote["kind"] == "motion":
        out["subjects"] = ref_motion(vote, ballots, turnout, decided)
    elif vote["kind"] == "evaluation":
        out["subjects"] = ref_evaluation(vote, ballots, turnout, decided)
    else:
        out["selection"] = ref_selection(vote, ballots, turnout, decided)
    return out


def ref_motion(vote: dict, ballots: list, turnout: dict, decided: bool) -> dict:
    rule = vote.get("threshold") or MAJORITY_OF_MEMBERS
    subjects = {}
    for subject in vote["subjects"]:
        yes = no = abstain = invalid = 0
        for ballot in ballots:
            if subject not in ballot or ballot[subject] is None:
                abstain += 1  # left unmarked on a cast ballot: 弃权
            elif ballot[subject] == "yes" and type(ballot[subject]) is str:
                yes += 1
            elif ballot[subject] == "no" and type(ballot[subject]) is str:
                no += 1
            elif ballot[subject] == "abstain" and type(ballot[subject]) is str:
                abstain += 1
            else:
                invalid += 1
        required = ref_threshold(rule, {**turnout, "valid": yes + no + abstain})
        subjects[subject] = {
            "yes": yes,
            "no": no,
            "abstain": abstain,
            "invalid": invalid,
            "required": required,
            "passed": decided and yes >= required,
        }
    return subjects


def ref_evaluation(vote: dict, ballots: list, turnout: dict, decided: bool) -> dict:
    below = vote.get("satisfaction_below")
    rule = vote.get("unsatisfied_threshold") or MAJORITY_OF_MEMBERS
    subjects: dict[str, dict[str, Any]] = {}
    rates: dict[str, tuple[int, int] | None] = {}
    for subject in vote["subjects"]:
        tally_ = {"satisfied": 0, "basic": 0, "unsatisfied": 0}
        invalid = 0
        for ballot in ballots:
            mark = ballot.get(subject)
            if type(mark) is str and mark in tally_:
                tally_[mark] += 1
            else:
                invalid += 1  # none, several or unknown: 不选择、多选择的无效
        good = tally_["satisfied"] + tally_["basic"]
        valid = good + tally_["unsatisfied"]
        rates[subject] = (good, valid) if valid else None
        entry: dict[str, Any] = {**tally_, "invalid": invalid}
        entry["satisfaction_rate"] = ref_percent(good, valid) if valid else None
        if below is not None:
            failing = valid > 0 and good * below[1] < below[0] * valid
        else:
            failing = tally_["unsatisfied"] >= ref_threshold(rule, {**turnout, "valid": valid})
        if not decided:
            entry["outcome"] = None
        else:
            entry["outcome"] = "unsatisfactory" if failing else "satisfactory"
        subjects[subject] = entry
    for subject in subjects:
        better = 0
        for other in subjects:
            if ref_better(rates[other], rates[subject]):
                better += 1
        subjects[subject]["rank"] = better + 1
    return subjects


def ref_selection(vote: dict, ballots: list, turnout: dict, decided: bool) -> dict:
    candidates = vote["candidates"]
    seats = vote["seats"]
    rule = vote.get("threshold") or MAJORITY_OF_MEMBERS
    votes = {c: 0 for c in candidates}
    invalid = 0
    for ballot in ballots:
        ok = len(ballot) <= seats
        for i, choice in enumerate(ballot):
            if type(choice) is not str or choice not in votes:
                ok = False
            for j in range(i):
                if ballot[j] == choice:
                    ok = False
        if ok:
            for choice in ballot:
                votes[choice] += 1
        else:
            invalid += 1
    required = ref_threshold(rule, {**turnout, "valid": turnout["cast"] - invalid})
    # most votes first; among equal votes the first listed (selection sort, leftmost max)
    remaining = list(candidates)
    order = []
    while remaining:
        best = remaining[0]
        for c in remaining:
            if votes[c] > votes[best]:
                best = c
        order.append(best)
        remaining.remove(best)
    qualified = [c for c in order if votes[c] >= required] if decided else []
    selected, tied = [], []
    for c in qualified:
        above = sum(1 for d in qualified if votes[d] > votes[c])
        at_or_above = sum(1 for d in qualified if votes[d] >= votes[c])
        if at_or_above <= seats:
            selected.append(c)  # everyone with this many votes fits
        elif above < seats:
            tied.append(c)  # straddles the last seat: 再次投票
    runoff = {"candidates": tied, "seats": seats - len(selected)} if tied else None
    unfilled = seats - len(selected) - (runoff["seats"] if runoff else 0)
    return {
        "votes": votes,
        "invalid": invalid,
        "required": required,
        "selected": selected,
        "runoff": runoff,
        "unfilled": unfilled,
        "next_round_candidates": [c for c in order if c not in selected and c not in tied]
        if unfilled
        else [],
    }


# =============================================================================
# Comparison
# =============================================================================

TOP_KEYS = ("members", "present", "cast", "not_voted", "quorum", "void")
KEYS = {
    "motion": ("yes", "no", "abstain", "invalid", "required", "passed"),
    "evaluation": (
        "satisfied",
        "basic",
        "unsatisfied",
        "invalid",
        "satisfaction_rate",
        "outcome",
        "rank",
    ),
    "selection": ("votes", "invalid", "required", "selected", "runoff", "unfilled"),
}
# keys beyond CONTRACTS.md §2 that the engine adds; compared when present
EXTRA_TOP = ("outcome",)
EXTRA_SELECTION = ("next_round_candidates",)


def engine_tally(scenario: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_scenario(json.dumps(scenario))
    return tally(parsed.spec, parsed.members, parsed.present, list(parsed.ballots))


def assert_same(scenario: dict[str, Any]) -> None:
    got = engine_tally(scenario)
    want = reference_tally(scenario)
    kind = scenario["vote"]["kind"]
    for key in TOP_KEYS:
        assert got[key] == want[key], key
        assert type(got[key]) is type(want[key]), key
    for key in EXTRA_TOP:
        if key in got:
            assert got[key] == want[key], key
    if want["void"]:
        assert isinstance(got.get("reason"), str) and got["reason"].strip()
    else:
        assert "reason" not in got
    if kind == "selection":
        for key in KEYS[kind]:
            assert got["selection"][key] == want["selection"][key], key
        for key in EXTRA_SELECTION:
            if key in got["selection"]:
                assert got["selection"][key] == want["selection"][key], key
    else:
        assert list(got["subjects"]) == list(want["subjects"])
        for subject, expected in want["subjects"].items():
            for key in KEYS[kind]:
                assert got["subjects"][subject][key] == expected[key], (subject, key)
                assert type(got["subjects"][subject][key]) is type(expected[key]), (subject, key)


# =============================================================================
# Scenario strategies
# =============================================================================

BASES = ("members", "present", "cast", "valid")


@st.composite
def thresholds(draw: st.DrawFn, bases: tuple[str, ...] = BASES) -> dict[str, Any] | None:
    if draw(st.integers(0, 3)) == 0:
        return None  # the default
    den = draw(st.integers(1, 6))
    return {
        "base": draw(st.sampled_from(bases)),
        "ratio": [draw(st.integers(0, den)), den],
        "strict": draw(st.booleans()),
    }


@st.composite
def turnouts(draw: st.DrawFn) -> tuple[int, int, int]:
    """(members, present, number of ballots): quorate or not, void sometimes."""
    members = draw(st.integers(1, 24))
    if draw(st.booleans()):
        present = draw(st.integers(members // 2 + 1, members))  # quorate by default
    else:
        present = draw(st.integers(0, members))
    if draw(st.integers(0, 5)) == 0:
        cast = draw(st.integers(0, present + 2))  # void when > present
    else:
        cast = draw(st.integers(max(0, present - 3), present))  # good turnout
    return members, present, cast


def add_rules(draw: st.DrawFn, vote: dict[str, Any], rules: dict[str, Any | None]) -> None:
    for key, value in rules.items():
        if value is not None:
            vote[key] = value
    quorum = draw(thresholds(bases=("members",)))
    if quorum is not None:
        vote["quorum"] = quorum


ABSENT = object()
MOTION_MARKS: list[Any] = [
    "yes",
    "no",
    "abstain",
    ABSENT,  # unmarked: abstain
    None,  # unmarked: abstain
    "YES",
    "",
    "satisfied",
    1,
    True,
    ["yes", "no"],
    ["yes"],
]
EVALUATION_MARKS: list[Any] = [
    "satisfied",
    "basic",
    "unsatisfied",
    ABSENT,  # none: invalid
    None,
    ["satisfied", "basic"],  # several: invalid
    ["basic"],
    "yes",
    "Satisfied",
    0,
]


@st.composite
def marked_ballots(draw: st.DrawFn, subjects: list[str], marks: list[Any], cast: int) -> list:
    """Ballots subject → mark. Each subject gets a small palette of marks (so that
    counts cluster and thresholds are hit), and each ballot picks from it."""
    palettes = [draw(st.lists(st.sampled_from(marks), min_size=1, max_size=4)) for _ in subjects]
    radix = [len(p) for p in palettes]
    size = 1
    for r in radix:
        size *= r
    # one draw for all the ballots (cheaper to generate than a list): base-`size` digits
    packed = draw(st.integers(0, size**cast - 1))
    ballots = []
    for _ in range(cast):
        packed, code = divmod(packed, size)
        ballot = {}
        for subject, palette in zip(subjects, palettes, strict=True):
            code, pick = divmod(code, len(palette))
            if palette[pick] is not ABSENT:
                ballot[subject] = palette[pick]
        ballots.append(ballot)
    return ballots


@st.composite
def motion_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    members, present, cast = draw(turnouts())
    subjects = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    vote: dict[str, Any] = {"kind": "motion", "subjects": subjects}
    add_rules(draw, vote, {"threshold": draw(thresholds())})
    ballots = draw(marked_ballots(subjects, MOTION_MARKS, cast))
    return {"members": members, "present": present, "vote": vote, "ballots": ballots}


@st.composite
def evaluation_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    members, present, cast = draw(turnouts())
    subjects = [f"d{i}" for i in range(draw(st.integers(1, 4)))]
    vote: dict[str, Any] = {"kind": "evaluation", "subjects": subjects}
    rule = draw(st.integers(0, 2))
    if rule == 1:
        add_rules(draw, vote, {"unsatisfied_threshold": draw(thresholds())})
    elif rule == 2:
        den = draw(st.integers(1, 10))
        add_rules(draw, vote, {"satisfaction_below": [draw(st.integers(0, den)), den]})
    else:
        add_rules(draw, vote, {})
    ballots = draw(marked_ballots(subjects, EVALUATION_MARKS, cast))
    return {"members": members, "present": present, "vote": vote, "ballots": ballots}


@st.composite
def selection_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    members, present, cast = draw(turnouts())
    candidates = [f"c{i}" for i in range(draw(st.integers(1, 6)))]
    seats = draw(st.integers(1, len(candidates)))
    vote: dict[str, Any] = {"kind": "selection", "candidates": candidates, "seats": seats}
    add_rules(draw, vote, {"threshold": draw(thresholds())})
    # A palette of 1-4 ballot shapes, each a subset of the candidates, possibly
    # spoiled (a candidate twice, an unknown id, a number); ballots pick from it.
    n = len(candidates)
    shapes = draw(st.lists(st.integers(0, (1 << n) * 10 - 1), min_size=1, max_size=4))
    palette = []
    for shape in shapes:
        spoil, mask = divmod(shape, 1 << n)
        chosen = [c for i, c in enumerate(candidates) if mask >> i & 1]
        if spoil % 2:
            chosen.reverse()
        if spoil == 6:
            chosen.append(chosen[0] if chosen else candidates[-1])  # maybe twice
        elif spoil == 7:
            chosen.insert(0, "zz")  # unknown candidate
        elif spoil == 8:
            chosen.append(3)  # not an id
        palette.append(chosen)
    packed = draw(st.integers(0, len(palette) ** cast - 1))  # base-len(palette) digits
    ballots = []
    for _ in range(cast):
        packed, pick = divmod(packed, len(palette))
        ballots.append(list(palette[pick]))
    return {"members": members, "present": present, "vote": vote, "ballots": ballots}


@st.composite
def rate_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Evaluations with many marks (up to ~300 per subject): rates whose fourth
    decimal is exactly 5 need at least 32 valid marks (1/32 = 3.125 %), and
    close rates that print alike (199/200, 200/201) must still rank apart."""
    columns: list[list[str]] = []
    first: tuple[int, int] | None = None
    for _ in range(draw(st.integers(1, 3))):
        if first is not None and draw(st.booleans()):
            # a rate close to the first subject's: one more mark, same or one more good
            valid = first[1] + 1
            good = first[0] + draw(st.integers(0, 1))
        else:
            valid = draw(
                st.one_of(st.integers(0, 300), st.sampled_from([32, 64, 96, 160, 224, 288]))
            )
            good = draw(st.integers(0, valid))
        basic = draw(st.integers(0, good))
        invalid = draw(st.integers(0, 2))
        if first is None:
            first = (good, valid)
        columns.append(
            ["satisfied"] * (good - basic)
            + ["basic"] * basic
            + ["unsatisfied"] * (valid - good)
            + ["spoilt"] * invalid
        )
    subjects = [f"d{i}" for i in range(len(columns))]
    cast = max(len(column) for column in columns) or 1
    ballots = [
        {s: column[j] for s, column in zip(subjects, columns, strict=True) if j < len(column)}
        for j in range(cast)
    ]
    vote: dict[str, Any] = {"kind": "evaluation", "subjects": subjects}
    rule = draw(st.integers(0, 2))
    assert first is not None
    if rule == 1 and first[1] > 0:
        vote["satisfaction_below"] = list(first)  # exactly the first subject's rate
    elif rule == 2:
        den = draw(st.integers(1, 20))
        vote["satisfaction_below"] = [draw(st.integers(0, den)), den]
    return {"members": cast, "present": cast, "vote": vote, "ballots": ballots}


COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.mark.slow
@settings(max_examples=MOTION_EXAMPLES, **COMMON)
@given(motion_scenarios())
def test_motion_matches_reference(scenario: dict[str, Any]) -> None:
    assert_same(scenario)


@pytest.mark.slow
@settings(max_examples=SELECTION_EXAMPLES, **COMMON)
@given(selection_scenarios())
def test_selection_matches_reference(scenario: dict[str, Any]) -> None:
    assert_same(scenario)


@pytest.mark.slow
@settings(max_examples=EVALUATION_EXAMPLES, **COMMON)
@given(evaluation_scenarios())
def test_evaluation_matches_reference(scenario: dict[str, Any]) -> None:
    assert_same(scenario)


@pytest.mark.slow
@settings(max_examples=RATE_EXAMPLES, **COMMON)
@given(rate_scenarios())
def test_evaluation_rates_match_reference(scenario: dict[str, Any]) -> None:
    assert_same(scenario)


# =============================================================================
# The reference itself, checked against RULES.md's examples and the shared
# scenarios, so that agreement with the engine means something.
# =============================================================================


@pytest.mark.parametrize(
    ("base", "num", "den", "strict", "required"),
    [
        (61, 1, 2, True, 31),
        (60, 1, 2, True, 31),
        (60, 1, 2, False, 30),
        (2980, 2, 3, False, 1987),
        (2980, 2, 3, True, 1987),
        (30, 2, 3, False, 20),
        (30, 2, 3, True, 21),
        (0, 1, 2, True, 1),
        (0, 1, 2, False, 0),
        (7, 0, 1, False, 0),
        (7, 1, 1, False, 7),
        (7, 1, 1, True, 8),
    ],
)
def test_reference_thresholds_by_hand(
    base: int, num: int, den: int, strict: bool, required: int
) -> None:
    assert ref_required(base, num, den, strict) == required


@pytest.mark.parametrize(
    ("num", "den", "shown"),
    [(2, 3, "66.67"), (1, 32, "3.13"), (1, 6, "16.67"), (0, 5, "0.00"), (7, 7, "100.00")],
)
def test_reference_percent_by_hand(num: int, den: int, shown: str) -> None:
    assert ref_percent(num, den) == shown


def test_reference_runoff_by_hand() -> None:
    scenario = {
        "members": 3,
        "present": 3,
        "vote": {
            "kind": "selection",
            "candidates": ["a", "b", "c", "d"],
            "seats": 2,
            "threshold": {"base": "cast", "ratio": [0, 1], "strict": False},
        },
        "ballots": [["d", "b"], ["c", "d"], ["b", "c"]],
    }
    # d 2, b 2, c 2, a 0 → all three tie for 2 seats; a qualifies (0 ≥ 0) but is below
    selection = reference_tally(scenario)["selection"]
    assert selection["selected"] == []
    assert selection["runoff"] == {"candidates": ["b", "c", "d"], "seats": 2}
    assert selection["unfilled"] == 0


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_reference_and_engine_reproduce_shared_scenarios(path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    expect = scenario.pop("expect")
    want = reference_tally(scenario)
    for key, value in expect.items():
        if key in ("subjects", "selection"):
            for sub, fields in value.items() if key == "subjects" else [(None, value)]:
                have = want[key][sub] if sub is not None else want[key]
                assert {k: have[k] for k in fields} == fields
        else:
            assert want[key] == value, key
    assert_same(scenario)


def test_shared_scenarios_found(shared_dir: Path) -> None:
    assert [p.name for p in SCENARIO_FILES] == sorted(
        p.name for p in (shared_dir / "scenarios").glob("*.json")
    )
    assert SCENARIO_FILES
