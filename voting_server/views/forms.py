"""Numbers from forms, query strings and URLs, bounded: one helper for every view.

A field that is missing or blank gives the view's default; one that is not
an integer of ASCII digits within its bounds (ids: ``bounds.MAX_ID``, as in
the Socket.IO payloads) is refused with 400 and a message naming the field
(``BadField``, shown by ``views.errors``), before anything is read or
written. URL ids are bounded by the ``int`` converter (``BoundedIntegerConverter``)
the app installs before any route is registered.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from rules.parsing import parse_int
from voting_server.bounds import MAX_ID


class BadField(BadRequest):
    """A form field or query argument that is not what the page asks for."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(description=message)
        self.field = field


def int_field(
    values: Mapping[str, str],
    name: str,
    *,
    low: int = 1,
    high: int = MAX_ID,
    default: int | None = None,
) -> int | None:
    """``values[name]`` as an integer in [low, high]; ``default`` when missing or blank;
    BadField otherwise (ids default to low=1: no record has id 0 or below)."""
    text = values.get(name)
    if text is None or not text.strip():
        return default
    value = parse_int(text, low, high)
    if value is None:
        message = gettext(
            "参数 %(field)s 应为 %(low)s 至 %(high)s 的整数。", field=name, low=low, high=high
        )
        raise BadField(name, message)
    return value


def int_fields(
    values: MultiDict[str, str], name: str, *, low: int = 1, high: int = MAX_ID
) -> list[int]:
    """Every ``name`` of a form (checkboxes), each as ``int_field`` reads one; blanks skipped."""
    parsed = (int_field({name: text}, name, low=low, high=high) for text in values.getlist(name))
    return [value for value in parsed if value is not None]


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits only (Werkzeug's ``\\d`` also matches
    other scripts' digits) and at most ``bounds.MAX_ID``, so a URL id never reaches
    the database out of range; anything else matches no route (404)."""

    regex = r"[0-9]{1,10}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)
