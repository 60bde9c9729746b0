"""Named rule presets from ``config/presets.toml``.

A preset is a partial vote configuration: it overrides RULES.md's defaults
(kept in ``rules.kinds``) and nothing else. Resolving a preset always goes
through ``parse_vote_config``, so a bad preset file fails loudly at load.

A preset may name the bodies it is for (``bodies``: congress, standing_committee;
``levels``: city, county, township); without them it is offered to every body.
A town's congress and a city's standing committee on one server thus see the
rules of their own kind and level (docs/bodies.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules import SchemaError, VoteSpec, glossary, parse_vote_config
from rules.kinds import is_kind, kind_of
from voting_server.models import BodyKind, BodyLevel

Presets = dict[str, dict[str, dict[str, Any]]]  # kind name → preset name → rules

_RULE_KEYS = {
    "threshold",
    "quorum",
    "unsatisfied_threshold",
    "satisfaction_below",
    # the evaluation variants (RULES.md "Evaluation variants")
    "grades",
    "grade_thresholds",
    "scores",
    "admit_attending",
    "outcome_on",
}
_SCOPE_KEYS = {"bodies", "levels"}
# The bodies a preset may name: the values of models.BodyKind and BodyLevel, their one home.
BODY_KINDS = tuple(k.value for k in BodyKind)
BODY_LEVELS = tuple(level.value for level in BodyLevel)


@dataclass(frozen=True)
class PresetScope:
    """The bodies a preset is offered to; None: every kind, or every level."""

    bodies: frozenset[str] | None = None
    levels: frozenset[str] | None = None

    def admits(self, body_kind: str, level: str) -> bool:
        return (self.bodies is None or body_kind in self.bodies) and (
            self.levels is None or level in self.levels
        )


EVERY_BODY = PresetScope()
Scopes = dict[str, dict[str, PresetScope]]  # kind name → preset name → scope


def _scope(where: str, body: dict[str, Any]) -> PresetScope:
    """The ``bodies``/``levels`` of one preset, checked against the known values."""
    found: dict[str, frozenset[str] | None] = {}
    for key, allowed in (("bodies", BODY_KINDS), ("levels", BODY_LEVELS)):
        value = body.get(key)
        if value is None:
            found[key] = None
            continue
        if not isinstance(value, list) or not value or not all(v in allowed for v in value):
            raise SchemaError(f"{where}.{key}", f"a non-empty list of {list(allowed)}")
        found[key] = frozenset(value)
    return PresetScope(found["bodies"], found["levels"])


def load_presets(path: Path) -> Presets:
    """Read and validate every preset. Raises SchemaError naming the bad one."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    presets: Presets = {}
    for kind_name, named in raw.items():
        if not is_kind(kind_name):
            raise SchemaError(kind_name, f"not a vote kind in {path}")
        kind = kind_name
        presets[kind] = {}
        for name, body in named.items():
            unknown = set(body) - _RULE_KEYS - _SCOPE_KEYS - {"title"}
            if unknown:
                raise SchemaError(f"{kind_name}.{name}", f"unknown keys {sorted(unknown)}")
            _scope(f"{kind_name}.{name}", body)  # validates bodies/levels
            presets[kind][name] = {k: v for k, v in body.items() if k in _RULE_KEYS}
            resolve(presets, kind, name, kind_of(kind).example_items())  # validates the preset
    return presets


# In a title, who "all members" are for the body whose form shows it: 全体代表 at a
# congress, 全体组成人员 at a standing committee (rules/glossary.py).
ALL_MEMBERS = "{all_members}"


def preset_titles(path: Path, body_kind: str | None = None) -> dict[str, dict[str, str]]:
    """Each preset's ``title`` (what a form offers), by kind and name, with
    ``{all_members}`` in the words of ``body_kind`` (Chinese: titles are configuration)."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    all_members = glossary.term("all_members", body_kind=body_kind)
    return {
        kind: {
            name: str(body.get("title", name)).replace(ALL_MEMBERS, all_members)
            for name, body in named.items()
        }
        for kind, named in raw.items()
    }


def preset_scopes(path: Path) -> Scopes:
    """Each preset's scope (which bodies it is offered to), by kind and name."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return {
        kind: {name: _scope(f"{kind}.{name}", body) for name, body in named.items()}
        for kind, named in raw.items()
    }


def presets_for(presets: Presets, scopes: Scopes, body_kind: str, level: str) -> Presets:
    """The presets offered to a body of ``body_kind`` at ``level``: the others are
    neither shown on its vote form nor accepted from it."""
    return {
        kind: {
            name: rules
            for name, rules in named.items()
            if scopes.get(kind, {}).get(name, EVERY_BODY).admits(body_kind, level)
        }
        for kind, named in presets.items()
    }


def resolve(presets: Presets, kind: str, name: str, items: dict[str, Any]) -> VoteSpec:
    """The full vote configuration: ``items`` (subjects, or candidates and seats)
    under the rules of preset ``name``."""
    try:
        rules = presets[kind][name]
    except KeyError:
        raise SchemaError("preset", f"no {kind} preset named {name!r}") from None
    return parse_vote_config({"kind": kind, **items, **rules})
