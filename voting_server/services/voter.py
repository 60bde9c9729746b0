"""Who a ballot comes from, as the services see it: a seat, a device, a body.

The socket shell authenticates a kiosk (sockets/connection.py) and hands the
services this value, never its connection: the ballot path needs to know which
seat and device speak and for which body (人大), not how they are connected.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Voter:
    """The kiosk a ballot comes from. None where the connection does not know it: such a
    ballot is refused (``wrong_seat``), never counted for a guessed seat."""

    seat: int | None  # the seat the device's key is bound to
    device: str | None  # the device id
    body: int | None  # the body (人大 or 常委会) the seat belongs to
