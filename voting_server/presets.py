"""Named rule presets from ``config/presets.toml``.

A preset is a partial vote configuration: it overrides RULES.md's defaults
(kept in ``rules.kinds``) and nothing else. Resolving a preset always goes
through ``parse_vote_config``, so a bad preset file fails loudly at load.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rules import SchemaError, VoteSpec, parse_vote_config
from rules.kinds import is_kind, kind_of

Presets = dict[str, dict[str, dict[str, Any]]]  # kind name → preset name → rules

_RULE_KEYS = {"threshold", "quorum", "unsatisfied_threshold", "satisfaction_below"}


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
            unknown = set(body) - _RULE_KEYS - {"title"}
            if unknown:
                raise SchemaError(f"{kind_name}.{name}", f"unknown keys {sorted(unknown)}")
            presets[kind][name] = {k: v for k, v in body.items() if k in _RULE_KEYS}
            resolve(presets, kind, name, kind_of(kind).example_items())  # validates the preset
    return presets


def preset_titles(path: Path) -> dict[str, dict[str, str]]:
    """Each preset's ``title`` (what a form offers), by kind and name."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return {
        kind: {name: str(body.get("title", name)) for name, body in named.items()}
        for kind, named in raw.items()
    }


def resolve(presets: Presets, kind: str, name: str, items: dict[str, Any]) -> VoteSpec:
    """The full vote configuration: ``items`` (subjects, or candidates and seats)
    under the rules of preset ``name``."""
    try:
        rules = presets[kind][name]
    except KeyError:
        raise SchemaError("preset", f"no {kind} preset named {name!r}") from None
    return parse_vote_config({"kind": kind, **items, **rules})
