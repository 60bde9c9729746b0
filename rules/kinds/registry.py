"""The registry of vote kinds: the one list of what kinds there are.

The built-in kinds register themselves when ``rules.kinds`` is imported; a
kind registered later (a new module, a test) is then known to the schema,
the tally, the server, the verifier and the sheets alike, since all of them
look kinds up here by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.kinds.base import Kind

_KINDS: dict[str, Kind] = {}
_generation = 0  # bumped on every change, so that caches built from the list know


class UnknownKind(ValueError):
    """No kind of that name is registered."""


def register(kind: Kind) -> Kind:
    """Add ``kind`` (replacing one of the same name). Returns it, for use as a decorator's result."""
    global _generation
    _KINDS[kind.name] = kind
    _generation += 1
    return kind


def unregister(name: str) -> None:
    """Remove a kind (a test that registered one cleans up after itself)."""
    global _generation
    _KINDS.pop(name, None)
    _generation += 1


def kind_of(name: str) -> Kind:
    """The kind called ``name``; UnknownKind if there is none."""
    try:
        return _KINDS[str(name)]
    except KeyError:
        raise UnknownKind(f"not a vote kind: {name!r}; known: {names()}") from None


def is_kind(name: object) -> bool:
    return isinstance(name, str) and name in _KINDS


def all_kinds() -> list[Kind]:
    """Every registered kind, in registration order (built-ins first)."""
    return list(_KINDS.values())


def names() -> list[str]:
    return list(_KINDS)


def generation() -> int:
    """A number that changes whenever the list of kinds does."""
    return _generation
