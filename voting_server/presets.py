"""Named rule presets from ``config/presets.toml``.

A preset is a partial vote configuration: it overrides RULES.md's defaults
(kept in ``rules.kinds``) and nothing else. Resolving a preset always goes
through ``parse_vote_config``, so a bad preset file fails loudly at load.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rules import SchemaError, VoteKind, VoteSpec, parse_vote_config

Presets = dict[VoteKind, dict[str, dict[str, Any]]]

_RULE_KEYS = {"threshold", "quorum", "unsatisfied_threshold", "satisfaction_below"}


def load_presets(path: Path) -> Presets:
    """Read and validate every preset. Raises SchemaError naming the bad one."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    presets: Presets = {}
    for kind_name, named in raw.items():
        try:
            kind = VoteKind(kind_name)
        except ValueError:
            raise SchemaError(kind_name, f"not a vote kind in {path}") from None
        presets[kind] = {}
        for name, body in named.items():
            unknown = set(body) - _RULE_KEYS - {"title"}
            if unknown:
                raise SchemaError(f"{kind_name}.{name}", f"unknown keys {sorted(unknown)}")
            presets[kind][name] = {k: v for k, v in body.items() if k in _RULE_KEYS}
            resolve(presets, kind, name, _example_items(kind))  # validates the preset
    return presets


def preset_titles(path: Path) -> dict[VoteKind, dict[str, str]]:
    """Each preset's ``title`` (what a form offers), by kind and name."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return {
        VoteKind(kind): {name: str(body.get("title", name)) for name, body in named.items()}
        for kind, named in raw.items()
    }


def resolve(presets: Presets, kind: VoteKind, name: str, items: dict[str, Any]) -> VoteSpec:
    """The full vote configuration: ``items`` (subjects, or candidates and seats)
    under the rules of preset ``name``."""
    try:
        rules = presets[kind][name]
    except KeyError:
        raise SchemaError("preset", f"no {kind.value} preset named {name!r}") from None
    return parse_vote_config({"kind": kind.value, **items, **rules})


def _example_items(kind: VoteKind) -> dict[str, Any]:
    if kind is VoteKind.SELECTION:
        return {"candidates": ["a", "b"], "seats": 1}
    return {"subjects": ["a"]}
