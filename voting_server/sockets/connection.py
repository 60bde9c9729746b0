"""Who may connect over Socket.IO, and how a connection proves it (docs/protocol.md).

- Staff: the Flask session cookie of a login (``views.auth``); its
  server-side session must be live (not logged out, not timed out) and the
  account active with the same role. The connection joins the room of its
  role. Each staff event asks again (``identity.staff_session_live``), and a
  watcher drops, once a minute, connections whose session has ended; while
  connected, a live page (console, display) counts as activity.
- Kiosks: ``auth={"device": ID}`` of an enrolled, unrevoked device. The
  server sends ``challenge`` {challenge: 32 random bytes, base64url}; the
  kiosk answers ``authenticate`` {device, signature}, its P-256 signature
  (raw r‖s, base64) over ``crypto.statements.auth_bytes(device, challenge)``
  (``{"type": "kiosk-auth", "device", "challenge"}``). The challenge belongs
  to this connection and is consumed by the first ``authenticate``, so a
  signature cannot be replayed — not on this connection, not on another.
  Then the kiosk joins its body's ``kiosks`` room.
- Anything else is refused at connection.

Until authenticated, every event guarded by ``identity.requires`` answers
``not_authenticated``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request, session
from flask_socketio import join_room
from socketio.exceptions import ConnectionRefusedError as SocketRefused
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError, KioskPublicKey
from crypto.keys import P256_SIGNATURE_BYTES
from crypto.statements import auth_bytes
from voting_server import i18n
from voting_server.bounds import DEVICE_ID_MAX, DeviceId, Payload, Signature
from voting_server.extensions import sessions, socketio
from voting_server.models import utcnow
from voting_server.services import devices, staff, staff_sessions
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.sockets import identity
from voting_server.sockets.errors import answer_to, parse_payload, refusal
from voting_server.sockets.identity import (
    KIOSK,
    Client,
    body_room,
    connected,
    forget,
    kiosks_room,
    remember,
)
from voting_server.staff_cookie import note_activity, session_limits, staff_session_of

log = logging.getLogger(__name__)

CHALLENGE_BYTES = 32
SESSION_WATCH_S = 60.0  # how often live staff sessions are noted and ended ones dropped
RECHALLENGE_S = 1.0  # a kiosk refused for want of the database tries again after 1–2 s
NAMESPACE = "/"


class ConnectionRefused(SocketRefused):
    """Refuses a connection; the client's ``connect_error`` receives the
    protocol's refusal object ({ok: false, error, message, ...})."""

    def __init__(self, code: str, detail: str = "") -> None:
        answer = refusal(code, detail)
        super().__init__(answer["message"])
        self.code = code
        self.error_args = answer  # python-socketio sends error_args as the error's data


@dataclass(frozen=True)
class _Pending:
    """A kiosk connection between ``connect`` and ``authenticate``."""

    device_id: str
    challenge: str


_pending: dict[str, _Pending] = {}  # sid → challenge not yet answered
_pending_lock = threading.Lock()

# More to put in the answer to ``authenticate`` (e.g. the screen's state),
# added by other socket modules: each gets the new Client and returns keys.
authenticate_extras: list[Callable[[Client], dict[str, Any]]] = []

# Called when a kiosk comes online (authenticated) or goes offline (disconnected):
# the presidium's console warns of kiosks offline (终端离线).
kiosk_presence_listeners: list[Callable[[int], None]] = []


def _kiosk_presence_changed(body_id: int | None) -> None:
    """Tell the listeners that a kiosk of ``body_id`` came or went."""
    for listener in kiosk_presence_listeners:
        listener(body_id or 0)


class AuthenticatePayload(Payload):
    device: DeviceId
    signature: Signature


def init_app(app: Flask) -> None:
    """Hook this module into the app's Socket.IO server (after ``socketio.init_app``)."""
    _send_challenges_after_connect()
    identity.staff_session_live = _staff_session_live
    if disconnect_device not in devices.revocation_listeners:
        devices.revocation_listeners.append(disconnect_device)


def _send_challenges_after_connect() -> None:
    """Send a kiosk's challenge right after the server accepts the connection.

    python-socketio sends the CONNECT packet only after the ``connect``
    handler returns; an event emitted inside the handler would reach the
    client first, and a client that answers it at once (ours, and
    python-socketio's) would be emitting on a namespace it does not yet
    consider connected. The manager's ``connect`` runs right after CONNECT is
    sent, whichever manager the server uses, so the challenge goes out there.
    """
    manager = socketio.server.manager
    if getattr(manager, "_voting_challenges", False):
        return
    accept = manager.connect

    def connect_then_challenge(sid: str, namespace: str) -> Any:
        sid = accept(sid, namespace)
        pending = _pending.get(sid)
        if pending is not None and namespace == NAMESPACE:
            manager.server.emit("challenge", {"challenge": pending.challenge}, to=sid)
        return sid

    manager.connect = connect_then_challenge
    manager._voting_challenges = True


# --- connect and disconnect ----------------------------------------------------------------


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    sid: str = request.sid  # type: ignore[attr-defined]
    # The language of this connection's answers, chosen once: the ballot event runs without
    # a request context (sockets/voting.py), and a kiosk's first event is usually its ballot.
    request.environ[i18n.CONNECTION_LOCALE] = i18n.select_locale()
    if isinstance(auth, dict) and "device" in auth:
        _connect_kiosk(sid, auth)
    else:
        _connect_staff(sid, auth)


def _connect_kiosk(sid: str, auth: Any) -> None:
    device_id = auth.get("device") if isinstance(auth, dict) else None
    if not isinstance(device_id, str) or not 0 < len(device_id) <= DEVICE_ID_MAX:
        raise ConnectionRefused("invalid_payload", "auth.device: a device id is required")
    try:
        with sessions()() as db_session:
            device = devices.usable_device(db_session, device_id)
            pending = device is None and devices.is_pending(db_session, device_id)
    except SQLAlchemyError as exc:
        log.warning("kiosk connection: database unavailable: %s", exc.__class__.__name__)
        raise ConnectionRefused("database_unavailable") from None
    if pending:  # a replacement tablet: it connects once the presidium confirmed it
        raise ConnectionRefused("device_pending")
    if device is None:
        log.info("kiosk connection refused: unknown or revoked device %s", device_id)
        raise ConnectionRefused("unknown_device")
    challenge = secrets.token_urlsafe(CHALLENGE_BYTES)  # base64url, unpadded: 43 characters
    with _pending_lock:
        _pending[sid] = _Pending(device_id, challenge)


def _connect_staff(sid: str, auth: Any) -> None:
    """A staff screen names its body (``auth={"body": ID}``; default the first the
    account serves); a body the account does not serve is refused (docs/bodies.md)."""
    wanted = auth.get("body") if isinstance(auth, dict) else None
    if wanted is not None and (not isinstance(wanted, int) or isinstance(wanted, bool)):
        raise ConnectionRefused("invalid_payload", "auth.body: a body id")
    try:
        with sessions()() as db_session:
            found = staff_session_of(db_session, session)
            if found is None:
                raise ConnectionRefused("not_authenticated")
            user, record = found
            user_id, role, username = user.id, user.role.value, user.username
            served = staff.served_body_ids(db_session, user_id)
            db_session.expunge(record)
        note_activity(record)  # connecting is activity
    except SQLAlchemyError as exc:
        log.warning("staff connection: database unavailable: %s", exc.__class__.__name__)
        raise ConnectionRefused("database_unavailable") from None
    if wanted is None and not served:
        raise ConnectionRefused("unknown_body", "no body on this server yet")
    body_id = wanted if wanted is not None else served[0]
    if body_id not in served:
        log.info("staff connection refused: %r does not serve body %s", username, body_id)
        raise ConnectionRefused("forbidden", f"the account does not serve body {body_id}")
    session_id = record.id
    remember(Client(sid=sid, role=role, user_id=user_id, body_id=body_id, session_id=session_id))
    join_room(body_room(body_id, role))
    log.info("staff connected: %r as %s of body %s", username, role, body_id)
    _watch_staff_sessions()


def _staff_session_live(client: Client) -> bool:
    """Is the staff connection's session still live? (Asked before each staff event.)"""
    if client.session_id is None:
        return True
    try:
        with sessions()() as db_session:
            ended = staff_sessions.ended_among(
                db_session, [client.session_id], session_limits(), utcnow()
            )
    except SQLAlchemyError:
        return True  # the event itself meets the database's absence and says so
    if ended:
        log.info("staff connection of an ended session refused: user %s", client.user_id)
    return not ended


def _watch_staff_sessions() -> None:
    """Once per app, while staff are connected: every ``SESSION_WATCH_S``, note the
    sessions of open connections as active (a console watched for an hour is in use)
    and drop the connections whose session ended — by a logout served by another
    process, a password change, or the absolute limit."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get("voting.session_watch"):
        return
    app.extensions["voting.session_watch"] = True
    server = socketio.server  # a newer app in this process (tests) has its own: stop then

    def watch() -> None:
        try:
            while True:
                socketio.sleep(SESSION_WATCH_S)
                if socketio.server is not server:
                    return
                try:
                    with app.app_context():
                        if not check_staff_sessions():
                            return
                except SQLAlchemyError as exc:  # try again next round; events still ask
                    log.warning(
                        "staff session watch: database unavailable: %s", exc.__class__.__name__
                    )
        finally:
            app.extensions["voting.session_watch"] = False

    socketio.start_background_task(watch)


def check_staff_sessions() -> bool:
    """One round of the watch; False when no staff connection is left to watch."""
    clients = [c for c in connected() if c.session_id is not None]
    if not clients:
        return False
    ids = sorted({c.session_id for c in clients if c.session_id})
    now = utcnow()
    with write_transaction(sessions()) as tx:
        ended = staff_sessions.ended_among(tx, ids, session_limits(), now)
        staff_sessions.touch(tx, [i for i in ids if i not in ended], now)
    for client in clients:
        if client.session_id in ended:
            log.info("dropping connection of an ended staff session: user %s", client.user_id)
            _drop(client.sid)
    return True


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    sid: str = request.sid  # type: ignore[attr-defined]
    with _pending_lock:
        _pending.pop(sid, None)
    gone = forget(sid)
    if gone is not None and gone.role == KIOSK:
        _kiosk_presence_changed(gone.body_id)


# --- the kiosk's proof -----------------------------------------------------------------------


@socketio.on("authenticate")
def on_authenticate(*args: Any) -> dict[str, Any]:
    sid: str = request.sid  # type: ignore[attr-defined]
    try:
        if len(args) > 1:
            raise Refusal("invalid_payload", "one payload object, not several")
        return _authenticate(sid, args[0] if args else None)
    except Refusal as refused:
        return answer_to(refused)


def _authenticate(sid: str, data: Any) -> dict[str, Any]:
    payload = parse_payload(AuthenticatePayload, data)
    try:
        signature = base64.b64decode(payload.signature.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        raise Refusal("invalid_payload", "signature: not base64") from None
    if len(signature) != P256_SIGNATURE_BYTES:
        raise Refusal("invalid_payload", f"signature: {P256_SIGNATURE_BYTES} bytes (raw r‖s)")
    with _pending_lock:
        # Consumed by this attempt whatever its outcome: one try per challenge.
        pending = _pending.pop(sid, None)
    if pending is None or pending.device_id != payload.device:
        raise Refusal("bad_signature", "no open challenge for this device on this connection")
    try:
        with sessions()() as db_session:
            device = devices.usable_device(db_session, pending.device_id)
            if device is None:
                raise Refusal("unknown_device")
            key = KioskPublicKey.from_spki_b64(device.public_key)
            if not key.verify(signature, auth_bytes(device.id, pending.challenge)):
                log.info("kiosk authentication failed: device %s seat %s", device.id, device.seat)
                raise Refusal("bad_signature")
            member = devices.member_at_seat(db_session, device.body_id, device.seat)
            client = Client(
                sid=sid,
                role=KIOSK,
                device_id=device.id,
                body_id=device.body_id,
                seat=device.seat,
                public_key=device.public_key,
            )
            holder = {"id": member.id, "name": member.name} if member else None
    except SQLAlchemyError as exc:
        log.warning("kiosk authentication: database unavailable: %s", exc.__class__.__name__)
        _challenge_again_later(sid, pending.device_id)
        raise Refusal("database_unavailable") from None
    except CryptoError:  # a stored key that no longer parses: treat the device as unusable
        raise Refusal("unknown_device") from None
    remember(client)
    join_room(kiosks_room(client.body_id or 0))
    log.info("kiosk authenticated: device %s seat %s", client.device_id, client.seat)
    _kiosk_presence_changed(client.body_id)
    answer: dict[str, Any] = {"ok": True, "seat": client.seat, "member": holder}
    for extra in authenticate_extras:
        answer.update(extra(client))
    return answer


def _challenge_again_later(sid: str, device_id: str) -> None:
    """After a refusal the kiosk cannot help (the database was away), send the still
    connected kiosk a fresh challenge after a pause: its answer is its next try. Without
    it the kiosk, its one challenge spent, would stay connected and unauthenticated
    until something else dropped the connection (found with 3,000 kiosks at once)."""
    pause = RECHALLENGE_S * (1 + secrets.randbelow(1000) / 1000)  # jitter: not all at once

    def later() -> None:
        socketio.sleep(pause)
        challenge = secrets.token_urlsafe(CHALLENGE_BYTES)
        with _pending_lock:
            if sid in _pending or not socketio.server.manager.is_connected(sid, "/"):
                return
            _pending[sid] = _Pending(device_id, challenge)
        socketio.emit("challenge", {"challenge": challenge}, to=sid)

    socketio.start_background_task(later)


# --- for other modules ---------------------------------------------------------------------


def online_seats(body_id: int | None = None) -> set[int]:
    """Seats whose kiosk is connected and authenticated (of one body, if given)."""
    return {
        c.seat
        for c in connected()
        if c.role == KIOSK and c.seat is not None and (body_id is None or c.body_id == body_id)
    }


def disconnect_user(user_id: int) -> None:
    """Drop the live connections of a staff account (e.g. once it is deactivated);
    its session cookie no longer connects either."""
    for client in connected():
        if client.role != KIOSK and client.user_id == user_id:
            log.info("dropping connection of staff user %s", user_id)
            _drop(client.sid)


def disconnect_session(session_id: str) -> None:
    """Drop the live connections of one staff session (its browser logged out)."""
    for client in connected():
        if client.session_id == session_id:
            log.info("dropping connection of a logged-out session: user %s", client.user_id)
            _drop(client.sid)


def disconnect_device(device_id: str) -> None:
    """Drop the live connections of a device, authenticated or still to answer
    its challenge (called once the device's revocation has committed)."""
    with _pending_lock:
        sids = {sid for sid, p in _pending.items() if p.device_id == device_id}
        for sid in sids:
            del _pending[sid]
    sids |= {c.sid for c in connected() if c.role == KIOSK and c.device_id == device_id}
    for sid in sids:
        log.info("dropping connection of revoked device %s", device_id)
        _drop(sid)


def _drop(sid: str) -> None:
    gone = forget(sid)
    if gone is not None and gone.role == KIOSK:
        _kiosk_presence_changed(gone.body_id)
    try:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    except Exception as exc:  # gone meanwhile: nothing left to drop
        log.debug("disconnect of %s: %s", sid, exc)
