"""How the server reads a Socket.IO packet, so that every event can be answered.

python-socketio's packet decoder raises on a JSON integer longer than 100 digits
(``10**100``) and on nesting deeper than Python's recursion limit; the event was
then dropped unanswered (a client waiting for its acknowledgement waited for
ever) with a traceback in the log. Here such an integer is read as a JavaScript
client reads every JSON number, a double, which the payload's schema refuses
("not an integer"); an event whose arguments cannot be read at all, or that
names no event, becomes ``UNREADABLE_EVENT``, which the catch-all handler
(sockets/voting.py) answers with ``invalid_payload``; a connection whose ``auth``
cannot be read is refused like one whose ``auth`` names no device. The acknowledgement id is
read before the JSON, so the answer reaches the client.
"""

from __future__ import annotations

import json
from typing import Any

from socketio import packet

INT_DIGITS_MAX = 100  # python-engineio's own bound: int() of a long digit string is slow
UNREADABLE_EVENT = "<unreadable>"


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= INT_DIGITS_MAX else float(text)


# Built once: ``json.loads`` with any option builds a decoder on every call, and every
# packet of a burst comes through here.
_DECODER = json.JSONDecoder(parse_int=_parse_int)


class WireJSON:
    """The ``json`` of ``WirePacket``: the standard module with bounded integers."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        if not kwargs and isinstance(text, str):
            return _DECODER.decode(text)
        kwargs.setdefault("parse_int", _parse_int)
        return json.loads(text, **kwargs)


class WirePacket(packet.Packet):
    """The server's Socket.IO packet (``serializer`` of ``socketio.init_app``)."""

    json = WireJSON

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments: int = super().decode(encoded_packet) or 0
        except (RecursionError, ValueError):
            if self.packet_type == packet.EVENT:
                self.data, attachments = [UNREADABLE_EVENT], 0
            elif self.packet_type == packet.CONNECT:  # auth that names no device: refused
                self.data, attachments = {UNREADABLE_EVENT: True}, 0
            else:
                raise
        if self.packet_type == packet.EVENT and not (
            isinstance(self.data, list) and self.data and isinstance(self.data[0], str)
        ):
            self.data = [UNREADABLE_EVENT]  # ``2`` or ``2[]`` or ``2[7]``: no event named
        return attachments
