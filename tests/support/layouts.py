"""Trustee-mode layouts for tests, built by the vote kinds (their one home,
``Kind.encrypted_layout``): crypto.trustees knows contests and limits, not kinds."""

from __future__ import annotations

from collections.abc import Sequence

from crypto.trustees.ballot import Layout
from rules import VoteSpec
from rules.kinds import kind_of


def _layout(spec: VoteSpec) -> Layout:
    return Layout.from_json(kind_of(spec.kind).encrypted_layout(spec))


def motion(subjects: Sequence[str]) -> Layout:
    return _layout(VoteSpec(kind="motion", subjects=tuple(subjects)))


def selection(candidates: Sequence[str], seats: int) -> Layout:
    return _layout(VoteSpec(kind="selection", candidates=tuple(candidates), seats=seats))


def evaluation(departments: Sequence[str]) -> Layout:
    return _layout(VoteSpec(kind="evaluation", subjects=tuple(departments)))
