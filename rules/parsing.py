"""Reading numbers and JSON that anyone may have typed or pasted: forms, URLs, files.

Pure functions, no Flask, no database (``voting-audit`` uses ``load_json``).
Python's own ``int()`` and ``str.isdigit()`` accept more than a person means
by a number — ``int("١٢")`` is 12, ``"²".isdigit()`` is true and ``int("²")``
then raises — and any number of digits, while a database column holds a
bounded integer (ids: ``bounds.MAX_ID``). ``json.loads`` raises
``RecursionError``, not ``ValueError``, on deeply nested input. Every form
field, URL part, query argument and pasted document goes through here
(``views.forms`` for the views); JSON *payloads* are then checked against
``bounds``.
"""

from __future__ import annotations

import json
import re
from typing import Any

JSON_MAX_DEPTH = 32  # nesting of any document we accept (a paper count has 3)

_DIGITS = re.compile(r"-?[0-9]{1,19}")  # ASCII only; more digits than any bound we use


def parse_int(text: object, low: int, high: int) -> int | None:
    """``text`` as an integer in [low, high], or None.

    Only ASCII digits (a leading ``-`` when ``low`` is negative), surrounding
    spaces ignored: no other scripts' digits, superscripts, ``_`` or ``+``.
    """
    if not isinstance(text, str):
        return None
    text = text.strip(" \t\r\n")
    if not _DIGITS.fullmatch(text) or (text.startswith("-") and low >= 0):
        return None
    value = int(text)
    return value if low <= value <= high else None


class JSONInputError(ValueError):
    """Text that is not a JSON document we accept (unparsable, or nested too deep)."""


def load_json(text: str | bytes, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse JSON; JSONInputError (a ValueError) if it is not JSON or nests deeper than
    ``max_depth``. Bytes must be UTF-8 (or UTF-16/32 with a BOM, as ``json.loads``)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONInputError(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise JSONInputError(str(exc)) from None
    if _depth_exceeds(value, max_depth):
        raise JSONInputError(f"nested deeper than {max_depth} levels")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether lists and objects nest more than ``max_depth`` deep (without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False
