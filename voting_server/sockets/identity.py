"""Who is on the other end of a Socket.IO connection.

``connection.py`` authenticates a connection (staff from the Flask session,
kiosks by challenge–response) and records a ``Client`` for its sid; event
handlers read it with ``current_client`` and guard themselves with
``requires``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g, request

from voting_server.services.refusals import Refusal
from voting_server.services.voter import Voter
from voting_server.sockets.errors import answer_to

KIOSK = "kiosk"  # the role of a device; staff roles are models.StaffRole values


# Every room is a body's (docs/bodies.md): two bodies' sittings on one server never
# hear each other. ``b<ID>:kiosks`` (its authenticated kiosks) and per staff role
# ``b<ID>:<role>`` (e.g. ``b2:presidium``). No room per seat: python-socketio's
# disconnect looks through every room, and 3,000 seat rooms doubled that work in a
# reconnection storm; nothing is sent to one seat's tablet alone.
def body_room(body_id: int, name: str) -> str:
    return f"b{body_id}:{name}"


def kiosks_room(body_id: int) -> str:
    return body_room(body_id, "kiosks")


@dataclass(frozen=True)
class Client:
    sid: str
    role: str  # a StaffRole value, or KIOSK
    user_id: int | None = None  # staff
    device_id: str | None = None  # kiosk
    body_id: int | None = None  # kiosk: its device's body; staff: the body it named
    seat: int | None = None  # kiosk: the seat its key is bound to
    public_key: str | None = None  # kiosk: the key it proved (base64 SPKI), checked again per batch
    session_id: str | None = None  # staff: the server-side session it connected with


def voter_of(client: Client) -> Voter:
    """What the services are told of a kiosk connection: its seat, device and body."""
    return Voter(seat=client.seat, device=client.device_id, body=client.body_id)


# Is a staff connection's session still live (not logged out, not timed out)? Set by
# connection.py; asked before each staff event, so a copied cookie's socket that
# outlived its logout in another process is refused at its next event.
staff_session_live: Callable[[Client], bool] = lambda client: True  # noqa: E731


_clients: dict[str, Client] = {}


def remember(client: Client) -> None:
    _clients[client.sid] = client


def forget(sid: str) -> Client | None:
    """Drop the connection's Client; returns it (None if it had none)."""
    return _clients.pop(sid, None)


def current_client() -> Client | None:
    """The Client of the connection whose event is being handled: its sid is on the
    request (Flask-SocketIO's handlers) or on ``g`` (sockets/voting.py's app-context
    events)."""
    sid = g.get("socket_sid") or request.sid  # type: ignore[attr-defined]
    return _clients.get(sid)


def connected() -> list[Client]:
    return list(_clients.values())


def requires(
    *roles: str,
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Guard an event handler: the client must be authenticated in one of ``roles``.

    The handler receives the Client first, then the payload (at most one); a Refusal
    raised inside becomes the acknowledgement, and so does any refusal here.
    """

    def decorate(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(handler)
        def guarded(*args: Any) -> dict[str, Any]:
            client = current_client()
            try:
                if client is None:
                    raise Refusal("not_authenticated")
                if client.session_id is not None and not staff_session_live(client):
                    raise Refusal("not_authenticated", "the login session has ended")
                if client.role not in roles:
                    raise Refusal("forbidden", f"{client.role} may not do this")
                if len(args) > 1:  # emit(event, a, b): the handler takes one payload
                    raise Refusal("invalid_payload", "one payload object, not several")
                return handler(client, *args)
            except Refusal as refused:
                return answer_to(refused)

        return guarded

    return decorate
