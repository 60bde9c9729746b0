"""The evaluation variants against a second, naive reading of RULES.md "Evaluation variants".

``ref_tally`` below is written from RULES.md and CONTRACTS.md §2 alone, without
the engine's code: thresholds by counting up to the first number that meets
them; trimming by taking the largest and the smallest score out of the list one
at a time (not sort-and-slice); means kept as (sum, count) pairs of integers,
shown by long division with ``Decimal`` quantized ROUND_HALF_UP, and compared by
cross-multiplication; ranks by counting who is strictly better. No floats, no
``Fraction``, no engine import.

Hypothesis generates scenarios — three grades with thresholds on every base,
scores in small ranges with junk values (out of range, strings, floats, booleans,
null, lists), trims from 0 to 3, optional pass marks, the default rules, attending
deputies with ``outcome_on`` members or all, no quorum and void votes — and each
one goes through the public ``parse_scenario`` + ``tally``. 1,500 examples per
run (derandomized).

Interpretations where RULES.md is silent (the engine agrees):

- a subject with no valid marks meets a threshold that requires 0 (T1 on half of
  0 valid marks), as a motion's subject does;
- a subject with no valid score has no mean, so it does not reach a pass mark
  (``unsatisfactory``);
- a threshold on ``members``, ``present`` or ``cast`` counts the body's members
  even when the outcome is on all (attending deputies hold no seat).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import parse_scenario, tally

EXAMPLES = 1_500
MARKS = ("satisfied", "basic", "unsatisfied")
HALF_OF_VALID = {"base": "valid", "ratio": [1, 2], "strict": False}
MAJORITY = {"base": "members", "ratio": [1, 2], "strict": True}

# =============================================================================
# The reference
# =============================================================================


def ref_required(base: int, threshold: dict[str, Any]) -> int:
    num, den = threshold["ratio"]
    k = 0
    while not (k * den > base * num if threshold["strict"] else k * den >= base * num):
        k += 1
    return k


def shown(total: int, count: int) -> str:
    """total / count with two decimals, half up, by Decimal long division."""
    exact = Decimal(total) / Decimal(count) if count else None
    # Decimal's default precision (28 digits) is far more than the ≤ 10^5 totals need
    assert exact is not None
    return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def percent(good: int, valid: int) -> str:
    return shown(good * 100, valid)


def higher(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    """(num, den) a strictly above b; None (nothing valid) is below everything."""
    if a is None:
        return False
    if b is None:
        return True
    return a[0] * b[1] > b[0] * a[1]


def ranks(values: dict[str, tuple[int, int] | None]) -> dict[str, int]:
    return {s: 1 + sum(1 for o in values if higher(values[o], values[s])) for s in values}


def ref_marks(subject: str, ballots: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {"satisfied": 0, "basic": 0, "unsatisfied": 0, "invalid": 0}
    for ballot in ballots:
        mark = ballot.get(subject)
        if isinstance(mark, str) and mark in MARKS:
            counts[mark] += 1
        else:
            counts["invalid"] += 1
    valid = counts["satisfied"] + counts["basic"] + counts["unsatisfied"]
    good = counts["satisfied"] + counts["basic"]
    counts["satisfaction_rate"] = percent(good, valid) if valid else None
    return counts


def ref_scores(subject: str, ballots: list[dict[str, Any]], scores: dict[str, Any]) -> dict:
    low, high, trim = scores.get("min", 0), scores.get("max", 100), scores.get("trim", 1)
    kept: list[int] = []
    invalid = 0
    for ballot in ballots:
        value = ballot.get(subject)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            kept.append(value)
        else:
            invalid += 1
    valid = len(kept)
    trimmed = trim > 0 and valid > 2 * trim
    if trimmed:
        for _ in range(trim):
            kept.remove(max(kept))
            kept.remove(min(kept))
    total = 0
    for value in kept:
        total += value
    return {
        "valid": valid,
        "invalid": invalid,
        "mean": shown(total, len(kept)) if kept else None,
        "trimmed": trimmed,
        "_pair": (total, len(kept)) if kept else None,
    }


def ref_tally(sc: dict[str, Any]) -> dict[str, Any]:
    members, present, vote = sc["members"], sc["present"], sc["vote"]
    ballots, attending = sc["ballots"], sc.get("attending_ballots", [])
    cast = len(ballots)
    quorate = present >= ref_required(members, vote.get("quorum") or MAJORITY)
    void = cast > present
    decided = quorate and not void
    out: dict[str, Any] = {
        "members": members,
        "present": present,
        "cast": cast,
        "not_voted": max(0, present - cast),
        "quorum": quorate,
        "void": void,
        "outcome": "void" if void else "decided" if quorate else "no_quorum",
    }
    admit = vote.get("admit_attending", False)
    groups = {"members": ballots}
    if admit:
        groups = {"members": ballots, "attending": attending, "all": ballots + attending}
    on = vote.get("outcome_on", "members")
    base = {"members": members, "present": present, "cast": cast}
    subjects: dict[str, dict[str, Any]] = {}
    order: dict[str, tuple[int, int] | None] = {}
    if "scores" in vote:
        pass_mark = vote["scores"].get("pass_mark")
        for s in vote["subjects"]:
            entry = ref_scores(s, groups[on], vote["scores"])
            order[s] = entry.pop("_pair")
            if pass_mark is not None:
                if not decided:
                    entry["outcome"] = None
                elif entry["mean"] is not None and Decimal(entry["mean"]) >= pass_mark:
                    entry["outcome"] = "satisfactory"
                else:
                    entry["outcome"] = "unsatisfactory"
            if admit:
                for g, gb in groups.items():
                    entry[g] = ref_scores(s, gb, vote["scores"])
                    del entry[g]["_pair"]
            subjects[s] = entry
    else:
        good_all = valid_all = 0
        for s in vote["subjects"]:
            entry = ref_marks(s, groups[on])
            sat, basic, unsat = entry["satisfied"], entry["basic"], entry["unsatisfied"]
            valid = sat + basic + unsat
            good_all += sat + basic
            valid_all += valid
            order[s] = (sat + basic, valid) if valid else None
            bases = {**base, "valid": valid}
            if vote.get("grades") == "three":
                given = vote.get("grade_thresholds", {})
                t1 = given.get("satisfied") or HALF_OF_VALID
                t2 = given.get("basic") or HALF_OF_VALID
                entry["satisfied_required"] = r1 = ref_required(bases[t1["base"]], t1)
                entry["basic_required"] = r2 = ref_required(bases[t2["base"]], t2)
                if sat >= r1:
                    verdict = "satisfied"
                elif sat + basic >= r2:
                    verdict = "basic"
                else:
                    verdict = "unsatisfied"
            elif "satisfaction_below" in vote:
                num, den = vote["satisfaction_below"]
                bad = valid > 0 and (sat + basic) * den < num * valid
                verdict = "unsatisfactory" if bad else "satisfactory"
            else:
                rule = vote.get("unsatisfied_threshold") or MAJORITY
                need = ref_required(bases[rule["base"]], rule)
                entry["unsatisfied_required"] = need
                verdict = "unsatisfactory" if unsat >= need else "satisfactory"
            entry["outcome"] = verdict if decided else None
            if admit:
                for g, gb in groups.items():
                    entry[g] = ref_marks(s, gb)
            subjects[s] = entry
        out["overall_rate"] = percent(good_all, valid_all) if valid_all else None
    for s, rank in ranks(order).items():
        subjects[s]["rank"] = rank
    out["subjects"] = subjects
    if admit:
        out["outcome_on"] = on
    return out


# =============================================================================
# Strategies
# =============================================================================

JUNK = st.sampled_from(["", "yes", "满意", None, True, 1.5, ["satisfied"], {"a": 1}])


@st.composite
def threshold(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    den = draw(st.integers(1, 5))
    return {
        "base": draw(st.sampled_from(("members", "present", "cast", "valid"))),
        "ratio": [draw(st.integers(0, den)), den],
        "strict": draw(st.booleans()),
    }


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    members = draw(st.integers(1, 15))
    present = draw(st.integers(0, members))
    cast = draw(st.integers(0, present + 2))
    subjects = [f"s{i}" for i in range(draw(st.integers(1, 4)))]
    vote: dict[str, Any] = {"kind": "evaluation", "subjects": subjects}
    variant = draw(st.sampled_from(("grades", "scores", "default", "below")))
    if variant == "grades":
        vote["grades"] = "three"
        given = {k: t for k in ("satisfied", "basic") if (t := draw(threshold())) is not None}
        if given or draw(st.booleans()):
            vote["grade_thresholds"] = given
    elif variant == "scores":
        low = draw(st.integers(0, 5))
        scores: dict[str, Any] = {"min": low, "max": draw(st.integers(low + 1, low + 12))}
        scores["trim"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            scores["pass_mark"] = draw(st.integers(low, scores["max"]))
        vote["scores"] = scores
    elif variant == "below":
        den = draw(st.integers(1, 7))
        vote["satisfaction_below"] = [draw(st.integers(0, den)), den]
    elif (t := draw(threshold())) is not None:
        vote["unsatisfied_threshold"] = t
    if draw(st.booleans()):
        vote["admit_attending"] = True
        vote["outcome_on"] = draw(st.sampled_from(("members", "all")))
    if variant == "scores":
        lo, hi = vote["scores"]["min"], vote["scores"]["max"]
        value = st.one_of(st.integers(lo - 2, hi + 2), st.integers(lo, hi), JUNK)
    else:
        value = st.one_of(st.sampled_from(MARKS), st.sampled_from(MARKS), JUNK)

    def ballots(n: int) -> list[dict[str, Any]]:
        return [
            {s: v for s in subjects if (v := draw(value)) is not None or draw(st.booleans())}
            for _ in range(n)
        ]

    scenario = {"members": members, "present": present, "vote": vote, "ballots": ballots(cast)}
    if vote.get("admit_attending"):
        scenario["attending_ballots"] = ballots(draw(st.integers(0, 5)))
    return scenario


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_variants_agree_with_the_naive_reading(scenario: dict[str, Any]) -> None:
    parsed = parse_scenario(json.dumps(scenario))
    got = tally(
        parsed.spec, parsed.members, parsed.present, list(parsed.ballots), parsed.attending_ballots
    )
    got.pop("reason", None)
    assert got == ref_tally(scenario)


def test_the_reference_reads_the_rules_example() -> None:
    # 2 × trim + 1 scores at trim 1: the highest and the lowest go, 85.125 shows 85.13
    scenario = {
        "members": 10,
        "present": 10,
        "vote": {"kind": "evaluation", "subjects": ["d"], "scores": {"pass_mark": 85}},
        "ballots": [{"d": v} for v in (0, 85, 85, 85, 85, 85, 85, 85, 86, 100)],
    }
    assert ref_tally(scenario)["subjects"]["d"] == {
        "valid": 10,
        "invalid": 0,
        "mean": "85.13",
        "trimmed": True,
        "outcome": "satisfactory",
        "rank": 1,
    }
