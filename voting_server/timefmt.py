"""Time as people read it here: 北京时间 (UTC+8), the one home of every format.

The database and the log keep UTC; pages, sheets and forms show and take
Beijing time (China has one time zone and no daylight saving). Every
conversion and strftime for display is here, so that a sheet, a form and the
audit page can never disagree about the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

BEIJING = timezone(timedelta(hours=8), "北京时间")
FORM_FORMAT = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local"> value
DASH = "—"


def local(when: datetime | str | None) -> datetime | None:
    """Beijing time; a naive datetime (as SQLite returns them) is UTC; '' and None are None."""
    if when is None or when == "":
        return None
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(BEIJING)


def beijing_time(when: datetime | str | None, seconds: bool = True) -> str:
    """``2027年03月01日 09:00:00`` (sheets: official documents); '' for no time."""
    when = local(when)
    if when is None:
        return ""
    return when.strftime("%Y年%m月%d日 %H:%M:%S" if seconds else "%Y年%m月%d日 %H:%M")


def period(opened: datetime | None, closed: datetime | None) -> str:
    """When a vote was open, for its sheet: ``… 至 …（北京时间）``."""
    start, end = local(opened), local(closed)
    if start is None and end is None:
        return DASH
    if start is None or end is None:
        only = start or end
        assert only is not None
        return f"{only:%Y年%m月%d日 %H:%M:%S}（北京时间）"
    tail = f"{end:%H:%M:%S}" if end.date() == start.date() else f"{end:%Y年%m月%d日 %H:%M:%S}"
    return f"{start:%Y年%m月%d日 %H:%M:%S} 至 {tail}（北京时间）"


def form_value(when: datetime) -> str:
    """A datetime-local field's value, in Beijing time."""
    return when.astimezone(BEIJING).strftime(FORM_FORMAT)


def from_form_value(text: str) -> datetime:
    """A datetime-local field's value (Beijing time) as an aware datetime; ValueError if bad."""
    return datetime.strptime(text.strip(), FORM_FORMAT).replace(tzinfo=BEIJING)


def utc_minute(when: datetime) -> str:
    """``2027-03-01 01:00``: a stored UTC time as the staff pages list it (labelled UTC there)."""
    return when.strftime("%Y-%m-%d %H:%M")


def clock(when: datetime) -> str:
    """``09:00``: the time of day of a stored time, as a list of signatures shows it."""
    return when.strftime("%H:%M")


def init_app(app: Flask) -> None:
    """The templates' time filters: ``{{ t|utc_minute }}``, ``{{ t|clock }}``."""
    app.jinja_env.filters.update(utc_minute=utc_minute, clock=clock)


def log_time(when: datetime | str | None) -> str:
    """``2027-03-01 09:00:00`` in Beijing time (the audit page, exports); '' for no time."""
    when = local(when)
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else ""
