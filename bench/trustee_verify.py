"""How fast the verifier checks encrypted ballots, against the group operations they need.

Issue 20 asks that ``voting-audit verify`` check trustee-mode ballots at ≥ 0.5× "the
single-core rate of the underlying group operations". This measures, on one core:

- the cost of each group operation the check uses, from libsodium through
  ``crypto.trustees.group``: a base-point power g^s, a power of another element A^s,
  and a group product A·B;
- how many of each one ballot's check performs (counted by running the check once
  with counting wrappers), so the *reference* time of a ballot is Σ count × cost —
  what the group operations alone take, with no parsing, hashing or Python around them;
- the *measured* time of ``audit.trustee_content.check_ballot`` per ballot, the function
  the verifier calls for every ``encrypted_ballot`` entry.

``ratio`` = reference / measured (1.0 would be a check that costs only its group
operations). The ballots are the hall's: a one-subject motion, the demo's selection of
10 of 12 projects, and an evaluation of 3 departments, under a 3-trustee key::

    python -m bench.trustee_verify [--ballots 200] [--out bench/results/trustee_verify.json]
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from audit.trustee_content import check_ballot
from crypto.trustees import ballot as tballot
from crypto.trustees import ceremony
from crypto.trustees.group import Element, G, Scalar
from rules import VoteSpec
from rules.kinds import kind_of

RESULTS = Path(__file__).resolve().parent / "results"
TRUSTEES, THRESHOLD = 3, 2
SPECS = {
    "motion": VoteSpec(kind="motion", subjects=("regulation",)),
    "selection": VoteSpec(
        kind="selection", candidates=tuple(f"p{n:02d}" for n in range(1, 13)), seats=10
    ),
    "evaluation": VoteSpec(kind="evaluation", subjects=("教育局", "卫生健康委员会", "交通运输局")),
}


def joint_key_of_a_ceremony() -> tuple[str, Element, dict[str, str]]:
    """A 3-trustee, k = 2 ceremony's id, joint key and public shares (every trustee honest)."""
    ceremony_id = "bench-ceremony"
    polys = [ceremony.Polynomial.random(THRESHOLD) for _ in range(TRUSTEES)]
    points = [[G**a for a in poly.coefficients] for poly in polys]
    public_shares = {
        str(ell): ceremony.public_share(ell, points).hex() for ell in range(1, TRUSTEES + 1)
    }
    return ceremony_id, ceremony.joint_key([p[0] for p in points]), public_shares


def timed_per_op(op: Callable[[], object], repeat: int) -> float:
    """Seconds per call of ``op``, the best of 5 rounds of ``repeat`` calls."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeat):
            op()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def operation_costs(repeat: int) -> dict[str, float]:
    """Seconds per base-point power, per power of another element, per group product."""
    s, a = Scalar.random(), G ** Scalar.random()
    b = G ** Scalar.random()
    return {
        "base_pow": timed_per_op(lambda: G**s, repeat),
        "pow": timed_per_op(lambda: a**s, repeat),
        "product": timed_per_op(lambda: a * b, 10 * repeat),
    }


@contextmanager
def counting(counts: Counter[str]) -> Iterator[None]:
    """Count the group operations done inside (Element's power and product)."""
    power, product = Element.__pow__, Element.__mul__

    def counted_power(self: Element, scalar: Scalar) -> Element:
        counts["base_pow" if self == G else "pow"] += 1
        return power(self, scalar)

    def counted_product(self: Element, other: Element) -> Element:
        counts["product"] += 1
        return product(self, other)

    Element.__pow__, Element.__mul__ = counted_power, counted_product  # type: ignore[method-assign]
    try:
        yield
    finally:
        Element.__pow__, Element.__mul__ = power, product  # type: ignore[method-assign]


def measure_kind(
    name: str,
    spec: VoteSpec,
    ballots: int,
    key: tuple[str, Element, dict[str, str]],
    op_repeat: int,
) -> dict[str, Any]:
    """One kind: ``ballots`` random valid ballots, encrypted, then checked one by one."""
    ceremony_id, joint, public_shares = key
    kind = kind_of(spec.kind)
    manifest = kind.encrypted_layout(spec)
    layout = tballot.Layout.from_json(manifest)
    context = {"ceremony_id": ceremony_id, "n": TRUSTEES, "k": THRESHOLD, "vote_id": "1",
               "manifest": manifest, "joint_key": joint.hex(), "public_shares": public_shares}  # fmt: skip
    h_v = tballot.vote_hash(ceremony.ceremony_hash(ceremony_id, TRUSTEES, THRESHOLD), "1",
                            layout, joint)  # fmt: skip
    rng = random.Random(2026)
    entries = []
    for member in range(1, ballots + 1):
        marks = kind.option_marks(spec, kind.random_ballot(spec, rng))
        nonce = f"n{member}"
        data = tballot.encrypt_ballot(h_v, joint, layout, str(member), nonce, marks)
        entries.append({"member": member, "nonce": nonce, "ballot": data})
    counts: Counter[str] = Counter()
    with counting(counts):
        check_ballot(context, entries[0])
    before = operation_costs(op_repeat)  # around the timing: the machine's speed drifts
    t = time.perf_counter()
    for entry in entries:
        check_ballot(context, entry)  # as audit/verify.py calls it
    measured = (time.perf_counter() - t) / len(entries)
    after = operation_costs(op_repeat)
    costs = {op: (before[op] + after[op]) / 2 for op in before}
    reference = sum(n * costs[op] for op, n in counts.items())
    return {
        "kind": name,
        "ballots": len(entries),
        "operations_per_ballot": dict(counts),
        "operation_us": {op: round(s * 1e6, 2) for op, s in costs.items()},
        "reference_ms_per_ballot": round(reference * 1000, 3),
        "measured_ms_per_ballot": round(measured * 1000, 3),
        "ballots_per_s_one_core": round(1 / measured, 1),
        "ratio": round(reference / measured, 3),
    }


@click.command()
@click.option("--ballots", type=click.IntRange(10, 10_000), default=200, show_default=True,
              help="Ballots of each kind to check.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "trustee_verify.json", show_default=True)  # fmt: skip
@click.option("--op-repeat", type=click.IntRange(10, 100_000), default=2000, show_default=True,
              help="Calls per timing round of each group operation.")  # fmt: skip
def main(ballots: int, out: Path, op_repeat: int) -> None:
    """Measure the verifier's rate on encrypted ballots against their group operations."""
    key = joint_key_of_a_ceremony()
    kinds = []
    for name, spec in SPECS.items():
        figures = measure_kind(name, spec, ballots, key, op_repeat)
        click.echo(f"[trustee_verify] {name}: {figures['measured_ms_per_ballot']} ms per ballot, "
                   f"reference {figures['reference_ms_per_ballot']} ms, ratio {figures['ratio']}",
                   err=True)  # fmt: skip
        kinds.append(figures)
    report = {
        "kinds": kinds,
        "target": "ratio >= 0.5 for every kind (issue 20, Deliver 7)",
        "met": all(k["ratio"] >= 0.5 for k in kinds),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    click.echo(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
