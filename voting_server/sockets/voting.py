"""Socket.IO events of the vote lifecycle, attendance and ballots (docs/protocol.md).

Handlers translate: validate the payload, authorize the role, call the
service in one write transaction, answer, and broadcast to the rooms that
may see the change. No rule lives here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from flask import Flask, current_app, g, url_for
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rules.congress import Electorate
from rules.lifecycle import Action, staff_roles
from voting_server import i18n
from voting_server.bounds import (
    Ballot,
    DeviceId,
    DurationS,
    EncryptedBallot,
    Nonce,
    Payload,
    Pin,
    Reason,
    RecordId,
    Signature,
)
from voting_server.extensions import audit_log, sessions, socketio, voting
from voting_server.models import (
    AttendanceMethod,
    Body,
    Device,
    Member,
    StaffRole,
    Vote,
    VoteState,
)
from voting_server.services import (
    attendance,
    delegations,
    devices,
    display,
    kiosk_documents,
    seat_map,
    staff,
)
from voting_server.services.audit_log import AuditLog
from voting_server.services.ballots import BallotRequest
from voting_server.services.collector import TICK_S, Collector
from voting_server.services.event_loop import gevent_patched
from voting_server.services.group_commit import GroupCommit
from voting_server.services.open_votes import OpenVote
from voting_server.services.records import kiosk_record
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.services.vote_presentation import (
    current_agenda_item,
    live_counts,
    participation,
    participation_interval,
    public_vote,
)
from voting_server.sockets import connection
from voting_server.sockets.errors import parse_payload, refusal
from voting_server.sockets.identity import (
    KIOSK,
    Client,
    body_room,
    kiosks_room,
    requires,
    voter_of,
)
from voting_server.sockets.wire import UNREADABLE_EVENT

log = logging.getLogger(__name__)
T = TypeVar("T")

PRESIDIUM = StaffRole.PRESIDIUM.value
SECRETARIAT = StaffRole.SECRETARIAT.value
STAFF = tuple(r.value for r in StaffRole)
WATCHERS = (PRESIDIUM, StaffRole.DISPLAY.value, StaffRole.SCRUTINEER.value)  # see live counts
DISPLAY_WATCHERS = (StaffRole.DISPLAY.value, PRESIDIUM, SECRETARIAT)  # told the display's stage


class BallotPayload(Payload):
    vote: RecordId
    nonce: Nonce
    ballot: Ballot
    signature: Signature
    participation_signature: Signature


class EncryptedBallotPayload(Payload):
    """A trustee-mode ballot (docs/trustee-votes.md): the encrypted wire form of
    docs/trustee-crypto.md, bounded here; its shape against the vote's layout is
    checked by the ballot path."""

    vote: RecordId
    nonce: Nonce
    encrypted: EncryptedBallot
    sig: Signature


class SignInPayload(Payload):
    pin: Pin


class VotePayload(Payload):
    vote: RecordId


class OpenPayload(VotePayload):
    duration_s: DurationS | None = None


class CancelPayload(VotePayload):
    reason: Reason


class MemberPayload(Payload):
    member: RecordId


class EmptyPayload(Payload):
    pass


class DocumentPayload(Payload):
    document: RecordId


class DisplayStagePayload(Payload):
    stage: Literal[display.STAGES]  # type: ignore[valid-type]
    target: RecordId | None = None  # the agenda item (agenda) or vote (result) shown


# Every event handler of this module, by event name (filled by ``_on``).
HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {}


# The hot path's events, run in the app's context only. Flask-SocketIO builds a whole
# HTTP request context for every event (the connection's environ parsed again, its
# session opened: about 70 µs here); a kiosk's ballot needs the app, not a request.
APP_CONTEXT_EVENTS = frozenset({"ballot"})


def _on(event: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """``socketio.on``, remembering the handler so that ``init_app`` can bind it again."""

    def register(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        HANDLERS[event] = handler
        _bind(event, handler)
        return handler

    return register


def _bind(event: str, handler: Callable[..., dict[str, Any]]) -> None:
    if event not in APP_CONTEXT_EVENTS:
        socketio.on(event)(handler)
        return

    def in_app_context(sid: str, *args: Any) -> dict[str, Any] | None:
        environ = socketio.server.get_environ(sid)
        if not environ:  # the connection is gone already: nobody to answer
            return None
        app = environ["flask.app"]
        if (locale := environ.get(i18n.CONNECTION_LOCALE)) is None:  # set at connect, normally
            with app.request_context(environ):
                locale = environ[i18n.CONNECTION_LOCALE] = i18n.select_locale()
        with app.app_context():
            g.socket_sid = sid  # what identity.current_client reads without a request
            g.locale = locale  # the language of the answers (i18n.select_locale)
            return handler(*args)

    socketio.server.on(event, in_app_context)


def init_app(app: Flask) -> None:
    """Bind the events to this app's Socket.IO server; hook into the kiosk handshake
    (an authenticated kiosk gets the screen's state)."""
    # Flask-SocketIO binds an ``@socketio.on`` handler to the server that exists when
    # the decorator runs, and keeps it for later ``init_app`` calls only if none exists
    # yet. ``create_app`` imports this module after ``socketio.init_app``, so the
    # handlers went to the first app's server only: a second app in the same process
    # (tests, tools) answered none of these events. Bind whatever is missing.
    bound = socketio.server.handlers.get("/", {})
    for event, handler in HANDLERS.items():
        if event not in bound:
            _bind(event, handler)
    if "*" not in bound:
        socketio.on("*")(on_other_event)
    if _kiosk_state not in connection.authenticate_extras:
        connection.authenticate_extras.append(_kiosk_state)
    if _kiosks_changed_soon not in connection.kiosk_presence_listeners:
        connection.kiosk_presence_listeners.append(_kiosks_changed_soon)
    commit = app.extensions["voting.group_commit"] = GroupCommit(
        lambda session, log_, requests: app.extensions["voting.voting"].cast_batch(
            session, log_, requests
        )
    )
    if gevent_patched():  # the production server: one event loop serves the whole hall
        voting_ = app.extensions["voting.voting"]
        voting_.signatures.start()
        collector = Collector(
            lambda: bool(voting_.open) or time.monotonic() - commit.last_submit < 2 * TICK_S
        )
        socketio.start_background_task(collector.run, socketio.sleep)
    packet_log = socketio.server.eio.logger
    if not any(isinstance(f, RedactPackets) for f in packet_log.filters):
        packet_log.addFilter(RedactPackets())


class RedactPackets(logging.Filter):
    """Keep ballots and PINs out of python-engineio's packet log.

    At INFO, engineio logs every packet whole — ``"<sid>: Received packet MESSAGE data
    2["ballot",{…}]"`` — under the connection id, which the same log ties to a tablet
    (its ``authenticate`` packet names the device, bound to a seat). That log is off by
    default (level ERROR), but whoever turns it on to debug a tablet would write every deputy's
    secret choice, with the kiosk's signature over it, next to the seat, and the
    deputies' PINs. The packets of ``ballot`` and ``sign_in`` are logged without
    their data; everything else as it was.
    """

    PRIVATE = re.compile(r'\["(?:ballot|sign_in)"')

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 3
            and isinstance(args[2], str)
            and self.PRIVATE.search(args[2], 0, 80)
        ):
            record.args = (args[0], args[1], "<redacted: ballot or PIN>")
        return True


def _kiosk_state(client: Client) -> dict[str, Any]:
    ensure_resumed()
    return {"state": read(lambda s: _state(s, client))}


def ensure_resumed() -> None:
    """Reload the open votes once per process (a restart mid-vote resumes it).

    Lazily, at the first event, so the server can start while the database is down.
    """
    if voting().resumed:
        return
    try:
        with write_transaction(sessions()) as session:
            # A database from before staff accounts were logged: log them once, so that
            # the verifier knows every account acting from now on (docs/duties.md).
            for body_id in staff.all_body_ids(session):
                staff.log_unlogged_accounts(session, audit_log(), body_id)
            resumed = voting().resume(session, audit_log())
    except SQLAlchemyError as exc:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        raise Refusal("database_unavailable") from None
    if any(voting().open[v].closes_at for v in resumed):
        _ensure_deadline_watcher()


def transact(work: Callable[[Session, AuditLog], T]) -> T:
    """Run ``work`` in one write transaction; a database failure is a retryable refusal."""
    ensure_resumed()
    try:
        with write_transaction(sessions()) as session:
            return work(session, audit_log())
    except SQLAlchemyError as exc:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        raise Refusal("database_unavailable") from None


def read(work: Callable[[Session], T]) -> T:
    try:
        with sessions()() as session:
            return work(session)
    except SQLAlchemyError as exc:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        raise Refusal("database_unavailable") from None


def on_other_event(event: Any, *args: Any) -> dict[str, Any]:
    """Any event without a handler, answered: a client waiting for its acknowledgement
    learns why instead of waiting for ever (wire.py names an unreadable one)."""
    if event == UNREADABLE_EVENT:
        return refusal("invalid_payload", "unreadable: not JSON, or nested too deeply")
    return refusal("invalid_payload", "no such event")


socketio.on("*")(on_other_event)


# --- kiosks ------------------------------------------------------------------------


@_on("sign_in")
@requires(KIOSK)
def on_sign_in(client: Client, data: Any = None) -> dict[str, Any]:
    pin = parse_payload(SignInPayload, data).pin
    refused: list[Refusal] = []
    confirmed: list[bool] = []

    def work(session: Session, log_: AuditLog) -> dict[str, Any]:
        sitting = attendance.current_sitting(session, client.body_id or 0)
        if sitting is None:
            raise Refusal("no_sitting")
        member = attendance.member_at_seat(session, sitting.body_id, client.seat or 0)
        if member is None:
            raise Refusal("unknown_member")
        present = attendance.attendance_of(session, sitting.id, member.id)
        if present is not None and present.pin_device == client.device_id:
            raise Refusal("already_signed_in")
        try:
            attendance.check_pin(session, member, pin, datetime.now(UTC))
        except Refusal as wrong:  # keep the failure count: commit, then refuse
            refused.append(wrong)
            return {}
        if present is not None:  # marked present by staff, or PIN entered on another tablet
            confirmed.append(True)
            return attendance.confirm_pin(
                session, log_, sitting, member, client.device_id or ""
            ).to_json()
        quorum = attendance.sign_in(
            session, log_, sitting, member, AttendanceMethod.KIOSK_PIN, device=client.device_id
        )
        return quorum.to_json()

    quorum = transact(work)
    if refused:
        raise refused[0]
    log.info("signed in: seat %s", client.seat)
    if not confirmed:  # a PIN confirming attendance changes no figure: nothing to tell the hall
        _broadcast_attendance(client.body_id or 0, quorum)
        _broadcast_seat_signed_in(client.body_id or 0, client.seat or 0)
    return {"ok": True, "signed_in": True, **quorum}


@_on("ballot")
@requires(KIOSK)
def on_ballot(client: Client, data: Any = None) -> dict[str, Any]:
    if isinstance(data, dict) and "encrypted" in data:  # a trustee-mode ballot
        e = parse_payload(EncryptedBallotPayload, data)
        p = BallotPayload(vote=e.vote, nonce=e.nonce, ballot=[], signature=e.sig,
                          participation_signature=e.sig)  # fmt: skip
        request = BallotRequest(voter_of(client), e.vote, e.nonce,
                                e.encrypted.model_dump(), e.sig, "", encrypted=True)  # fmt: skip
    else:
        p = parse_payload(BallotPayload, data)
        request = BallotRequest(
            voter_of(client), p.vote, p.nonce, p.ballot, p.signature, p.participation_signature
        )
    ensure_resumed()
    if client.public_key is not None:  # checked now, beside the loop (services/signatures.py)
        request = voting().precheck(request, client.public_key)
    # Committed together with the ballots that arrive alongside (services/group_commit.py),
    # but for the member's own: a press number counts from the previous commit. The member
    # is the seat of a body: seat 5 of one body and seat 5 of another share a batch.
    receipt, state = current_app.extensions["voting.group_commit"].submit(
        (client.body_id, client.seat),
        request,
        sessions(),
        audit_log(),
    )
    # Which seat pressed, never what: this line is the same for named and secret votes.
    log.debug("ballot: vote %s seat %s press %s", p.vote, client.seat, receipt.press)
    if state is not None:  # None: a resend, nothing changed
        _broadcast_participation_soon(state)
    return {"ok": True, "receipt": receipt.to_json()}


@_on("state")
@requires(KIOSK, *STAFF)
def on_state(client: Client, data: Any = None) -> dict[str, Any]:
    # No payload, or an empty object; anything else is malformed (``[]`` or ``""`` too).
    parse_payload(EmptyPayload, {} if data is None else data)
    ensure_resumed()
    return {"ok": True, "state": read(lambda s: _state(s, client))}


@_on("seat_map")
@requires(PRESIDIUM, SECRETARIAT)
def on_seat_map(client: Client, data: Any = None) -> dict[str, Any]:
    """The console's seat map (座位图): seats signed in, with a tablet, offline, and —
    for the presidium, who sees 已按 — pressed in the open vote (services/seat_map.py)."""
    parse_payload(EmptyPayload, {} if data is None else data)
    ensure_resumed()
    return {"ok": True, "seat_map": read(lambda s: _seat_map(s, client))}


@_on("document_link")
@requires(KIOSK)
def on_document_link(client: Client, data: Any = None) -> dict[str, Any]:
    """A short-lived link to a document of the current agenda (议程文件), for the tablet's
    browser to fetch over HTTP (views/screens.py ``kiosk_document``)."""
    p = parse_payload(DocumentPayload, data)
    found = read(
        lambda s: kiosk_documents.sitting_document(s, client.body_id or 0, p.document) is not None
    )
    if not found:
        raise Refusal("unknown_document")
    token = kiosk_documents.issue_token(
        current_app.config["SECRET_KEY"], p.document, client.device_id or ""
    )
    return {"ok": True, "url": url_for("screens.kiosk_document", document_id=p.document, t=token)}


@_on("my_record")
@requires(KIOSK)
def on_my_record(client: Client, data: Any = None) -> dict[str, Any]:
    """我的履职: the record of the deputy at this tablet's own seat, and no other. The
    payload is empty: the seat is the one the tablet's key is bound to (docs/records.md)."""
    parse_payload(EmptyPayload, {} if data is None else data)
    return {"ok": True, "record": read(lambda s: kiosk_record(s, client.body_id, client.seat))}


# --- the presidium and the secretariat ----------------------------------------------


@_on("open_vote")
@requires(*staff_roles(Action.OPEN))  # rules/lifecycle.py
def on_open_vote(client: Client, data: Any = None) -> dict[str, Any]:
    p = parse_payload(OpenPayload, data)
    vote = transact(
        lambda s, log_: public_vote(
            voting().open_vote(s, log_, _own_vote(s, client, p.vote), client.user_id or 0,
                               p.duration_s)
        )
    )  # fmt: skip
    log.info("vote %s opened by user %s", p.vote, client.user_id)
    _emit_body(client.body_id, "vote_opened", vote)
    if vote["closes_at"]:
        _ensure_deadline_watcher()
    return {"ok": True, "vote": vote}


@_on("close_vote")
@requires(*staff_roles(Action.CLOSE))  # rules/lifecycle.py
def on_close_vote(client: Client, data: Any = None) -> dict[str, Any]:
    p = parse_payload(VotePayload, data)
    vote = transact(
        lambda s, log_: public_vote(
            voting().close_vote(s, log_, _own_vote(s, client, p.vote), client.user_id, "presidium")
        )
    )
    _broadcast_result(client.body_id, vote)
    return {"ok": True, "vote": vote}


@_on("cancel_vote")
@requires(*staff_roles(Action.CANCEL))  # rules/lifecycle.py
def on_cancel_vote(client: Client, data: Any = None) -> dict[str, Any]:
    p = parse_payload(CancelPayload, data)
    vote = transact(
        lambda s, log_: public_vote(
            voting().cancel_vote(s, log_, _own_vote(s, client, p.vote), client.user_id or 0,
                                 p.reason)
        )
    )  # fmt: skip
    _emit_body(client.body_id, "vote_cancelled", {"vote": p.vote, "reason": p.reason})
    return {"ok": True, "vote": vote}


@_on("rerun_vote")
@requires(*staff_roles(Action.RERUN))  # rules/lifecycle.py
def on_rerun_vote(client: Client, data: Any = None) -> dict[str, Any]:
    p = parse_payload(VotePayload, data)
    vote = transact(
        lambda s, _log: public_vote(voting().rerun_vote(s, _own_vote(s, client, p.vote)))
    )
    _emit_staff(client.body_id, "agenda_changed", {"vote": vote["id"], "rerun_of": p.vote})
    return {"ok": True, "vote": vote}


@_on("announce")
@requires(*staff_roles(Action.ANNOUNCE))  # rules/lifecycle.py
def on_announce(client: Client, data: Any = None) -> dict[str, Any]:
    p = parse_payload(VotePayload, data)
    vote = transact(
        lambda s, log_: public_vote(
            voting().announce(s, log_, _own_vote(s, client, p.vote), client.user_id or 0)
        )
    )
    _emit_body(client.body_id, "announced", {"vote": p.vote, "result": vote["result"]})
    return {"ok": True, "vote": vote}


@_on("mark_attendance")
@requires(PRESIDIUM, SECRETARIAT)
def on_mark_attendance(client: Client, data: Any = None) -> dict[str, Any]:
    p = parse_payload(MemberPayload, data)

    def work(session: Session, log_: AuditLog) -> tuple[dict[str, Any], int]:
        member = session.get(Member, p.member)
        if member is None or not member.active or member.body_id != client.body_id:
            raise Refusal("unknown_member")  # a member of another body is none of this console's
        sitting = attendance.current_sitting(session, member.body_id)
        if sitting is None:
            raise Refusal("no_sitting")
        quorum = attendance.sign_in(
            session, log_, sitting, member, AttendanceMethod.OPERATOR, by=client.user_id
        )
        return quorum.to_json(), member.seat

    quorum, seat = transact(work)
    _broadcast_attendance(client.body_id or 0, quorum)
    _broadcast_seat_signed_in(client.body_id or 0, seat)
    return {"ok": True, **quorum}


@_on("display_stage")
@requires(PRESIDIUM)  # rules/duties.py DISPLAY_OPERATORS; the service asks it again
def on_display_stage(client: Client, data: Any = None) -> dict[str, Any]:
    """The presidium chooses what the hall display shows (会标, 签到情况, 议程, 表决, 结果,
    黑屏, or ``auto``: follow the votes); the body's screens are told."""
    p = parse_payload(DisplayStagePayload, data)

    def work(s: Session, _log: AuditLog) -> dict[str, Any]:
        body = s.get(Body, client.body_id or 0)
        if body is None:
            raise Refusal("unknown_body")
        return display.choose(s, body, p.stage, p.target, client.role, datetime.now(UTC))

    view = transact(work)
    log.info("display of body %s: %s by user %s", client.body_id, view["chosen"], client.user_id)
    _emit_staff(client.body_id, "display_stage", view, DISPLAY_WATCHERS)
    return {"ok": True, "display": view}


class DevicePayload(Payload):
    device: DeviceId


@_on("confirm_device")
@requires(PRESIDIUM)
def on_confirm_device(client: Client, data: Any = None) -> dict[str, Any]:
    """The presidium confirms a replacement tablet (更换表决器): the old one is revoked."""
    return _decide_device(client, data, confirm=True)


@_on("reject_device")
@requires(PRESIDIUM)
def on_reject_device(client: Client, data: Any = None) -> dict[str, Any]:
    return _decide_device(client, data, confirm=False)


def _decide_device(client: Client, data: Any, *, confirm: bool) -> dict[str, Any]:
    p = parse_payload(DevicePayload, data)

    def work(s: Session, log_: AuditLog) -> int:
        device = s.get(Device, p.device)
        if device is None or device.body_id != client.body_id:
            raise Refusal("unknown_request")  # another body's tablet is none of this console's
        return devices.decide_replacement(
            s, log_, p.device, confirm, client.user_id or 0, client.role
        ).seat

    seat = transact(work)
    log.info("replacement tablet for seat %s %s by user %s", seat,
             "confirmed" if confirm else "rejected", client.user_id)  # fmt: skip
    _emit_staff(client.body_id, "devices_changed", {"seat": seat}, (PRESIDIUM, SECRETARIAT))
    return {"ok": True, "seat": seat, "confirmed": confirm}


# --- what each screen sees ------------------------------------------------------------


def _state(session: Session, client: Client) -> dict[str, Any]:
    """A snapshot for a (re)connecting screen: the sitting, attendance, open vote."""
    # A kiosk's body is its device's; a staff screen's is the one it connected for.
    sitting = attendance.current_sitting(session, client.body_id or 0, with_agenda=True)
    if sitting is None:
        return {"sitting": None}
    state: dict[str, Any] = {
        "sitting": {"id": sitting.id, "title": sitting.title, "body": sitting.body.name},
        # a tablet's reconnection pays for no 分团签到 it does not show (3,000 at once)
        "attendance": attendance.quorum(
            session, sitting, by_delegation=client.role != KIOSK
        ).to_json(),
    }
    votes = [v for item in sitting.agenda_items for v in item.votes]
    # the database says which is open: another server process may have opened it
    open_votes = [public_vote(v) for v in votes if v.state is VoteState.OPEN]
    state["open_vote"] = open_votes[0] if open_votes else None
    if client.role == KIOSK:
        member = attendance.member_at_seat(session, sitting.body_id, client.seat or 0)
        # role and presidium: a 列席 tablet shows a notice instead of the vote keys, and
        # only the presidium's tablets offer a presidium vote (the server refuses the rest)
        state["member"] = (
            {"id": member.id, "name": member.name, "seat": member.seat,
             "role": member.role.value, "presidium": member.presidium.value}
            if member else None
        )  # fmt: skip
        present = member and attendance.attendance_of(session, sitting.id, member.id)
        # ``signed_in``: this tablet may vote (the PIN was entered here); ``present``: 实到
        # counts the member, perhaps marked by staff, and the tablet still asks for the PIN.
        state["signed_in"] = bool(present) and present.pin_device == client.device_id
        state["present"] = bool(present)
        # the waiting screen names the body, the sitting and the agenda item
        state["agenda_item"] = current_agenda_item(sitting)
        return state
    state["agenda"] = [
        {"id": item.id, "position": item.position, "title": item.title,
         "votes": [_staff_vote(session, v) for v in item.votes]}
        for item in sitting.agenda_items
    ]  # fmt: skip
    state["kiosks"] = _kiosk_presence(session, sitting.body_id)
    state["display"] = display.current(session, sitting.body, sitting)  # the hall display's stage
    state["banner"] = display.banner_lines(sitting.title)  # its 会标, in lines
    state["venues"] = attendance.sign_in_by_venue(session, sitting)  # 分会场
    state["devices"] = {
        "requests": devices.replacement_requests(session, sitting.body_id),  # 等待确认
        "replaced": devices.sitting_replacements(session, sitting.id),  # the warning
    }
    open_state = state["open_vote"] and voting().state_of(session, state["open_vote"]["id"])
    if open_state and client.role in WATCHERS:
        if several_processes():
            voting().refresh_presses(session, open_state)
        present = state["attendance"]["present"]
        if open_state.electorate is not Electorate.BODY:  # 主席团会议: the presidium's 实到
            present = attendance.present_count(session, sitting.id, open_state.electorate)
        state["participation"] = participation(open_state, present)
        state["live"] = live_counts(open_state, present)
    return state


def _seat_map(session: Session, client: Client) -> dict[str, Any] | None:
    """The seat map of the staff screen's body (None without a sitting); the presses of
    the open vote only for the roles that see 已按 (``WATCHERS``)."""
    sitting = attendance.current_sitting(session, client.body_id or 0)
    if sitting is None:
        return None
    open_vote = None
    if client.role in WATCHERS:  # 已按 per seat: to whom the 已按 figure goes
        vote_id = seat_map.open_vote_id(session, sitting.id)
        open_vote = voting().state_of(session, vote_id) if vote_id is not None else None
        if open_vote is not None and several_processes():
            voting().refresh_presses(session, open_vote)
    online = connection.online_seats(sitting.body_id)
    return seat_map.seat_map(session, sitting.id, sitting.body_id, online, open_vote)


def _staff_vote(session: Session, vote: Vote) -> dict[str, Any]:
    """A vote as the console lists it: with its 分团表决情况 once a named vote is counted."""
    out = public_vote(vote)
    if vote.result is not None and not vote.secret:
        breakdown = delegations.breakdown_view(session, vote)
        if breakdown is not None:
            out["by_delegation"] = breakdown
    return out


def _kiosk_presence(session: Session, body_id: int) -> dict[str, Any]:
    """Enrolled kiosks (终端) online and offline, for the console's warning: a deputy
    whose tablet is offline cannot press."""
    enrolled = sorted(
        {
            d.seat
            for d in devices.list_devices(session, body_id)
            if d.revoked_at is None and not d.pending
        }
    )
    online = connection.online_seats(body_id)
    offline = [seat for seat in enrolled if seat not in online]
    return {"enrolled": len(enrolled), "online": len(enrolled) - len(offline), "offline": offline}


KIOSKS_CHANGED_EVERY_S = 1.0  # 3,000 tablets reconnecting make a few notices, not 3,000
_kiosks_changed_due: set[int] = set()  # bodies with a notice scheduled
_kiosks_changed_lock = threading.Lock()


def _kiosks_changed_soon(body_id: int) -> None:
    """Tell the body's consoles, at most once per interval, that its kiosks came or
    went; they read the new state (its ``kiosks``) themselves."""
    with _kiosks_changed_lock:
        if body_id in _kiosks_changed_due:
            return
        _kiosks_changed_due.add(body_id)

    def later() -> None:
        socketio.sleep(KIOSKS_CHANGED_EVERY_S)
        with _kiosks_changed_lock:
            _kiosks_changed_due.discard(body_id)
        _emit_staff(body_id, "kiosks_changed", {}, (PRESIDIUM, SECRETARIAT))

    socketio.start_background_task(later)


def _own_vote(session: Session, client: Client, vote_id: int) -> int:
    """``vote_id`` if it is a vote of the body the staff screen serves; else, as for a
    vote that does not exist, Refusal('unknown_vote'): a console acts on its body only."""
    vote = session.get(Vote, vote_id)
    if vote is None or vote.owner_body_id() != client.body_id:
        raise Refusal("unknown_vote")
    return vote_id


def _emit_staff(
    body_id: int | None, event: str, payload: dict[str, Any], roles: tuple[str, ...] = STAFF
) -> None:
    """``event`` to the staff screens of ``roles`` of one body (never another body's)."""
    socketio.emit(event, payload, to=[body_room(body_id or 0, role) for role in roles])


def _emit_body(body_id: int | None, event: str, payload: dict[str, Any]) -> None:
    """``event`` to every screen of one body: its staff and its kiosks."""
    rooms = [body_room(body_id or 0, role) for role in STAFF]
    socketio.emit(event, payload, to=[*rooms, kiosks_room(body_id or 0)])


def _broadcast_attendance(body_id: int, quorum: dict[str, Any]) -> None:
    _emit_body(body_id, "attendance", quorum)


def _broadcast_seat_signed_in(body_id: int, seat: int) -> None:
    """The seat just signed in, to the consoles' seat maps (not to the tablets: a seat
    number per sign-in, where ``attendance`` carries the figures)."""
    _emit_staff(body_id, "seat_signed_in", {"seats": [seat]}, (PRESIDIUM, SECRETARIAT))


def several_processes() -> bool:
    """Served by several processes (the scale-out stack: a message queue joins them)?
    Then each holds only the presses that reached it, and counts come from the database."""
    return bool(current_app.config.get("VOTING_MESSAGE_QUEUE"))


def _broadcast_participation(state: OpenVote) -> None:
    def present(session: Session) -> int:
        if several_processes():
            voting().refresh_presses(session, state)
        return attendance.present_count(session, state.sitting_id, state.electorate)

    present = read(present)
    _emit_staff(state.body_id, "participation", participation(state, present), WATCHERS)
    live = live_counts(state, present)
    if live is not None:
        _emit_staff(state.body_id, "live_tally", live, (PRESIDIUM, StaffRole.DISPLAY.value))


_participation_due: set[int] = set()  # votes with a broadcast scheduled
_participation_lock = threading.Lock()


def _broadcast_participation_soon(state: OpenVote) -> None:
    """One participation broadcast per vote per interval, carrying every press until then
    (a burst of 3,000 presses makes a few dozen broadcasts, not 3,000)."""
    with _participation_lock:
        if state.id in _participation_due:
            return
        _participation_due.add(state.id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    interval = participation_interval(app.config.get("VOTING_PROCESSES", 1))

    def later() -> None:
        socketio.sleep(interval)
        with _participation_lock:
            _participation_due.discard(state.id)
        with app.app_context():
            try:
                _broadcast_participation(state)
            except Refusal as refused:  # the database is away: the next press broadcasts
                log.warning("participation broadcast of vote %s: %s", state.id, refused.code)

    socketio.start_background_task(later)


def _broadcast_result(body_id: int | None, vote: dict[str, Any]) -> None:
    """``vote_closed`` to the staff screens, then ``result`` to every screen.

    A tablet needs only ``result``: it closes the vote there too. Sending the
    tablets ``vote_closed`` as well doubled the frames of the one moment the
    whole hall waits for (3,000 tablets: two sends each, measured in
    docs/performance.md)."""
    _emit_staff(body_id, "vote_closed", {"vote": vote["id"]})
    result = {"vote": vote["id"], "title": vote["title"], "result": vote["result"]}
    _emit_body(body_id, "result", result)


def broadcast_decryption(body_id: int, vote: dict[str, Any], counted: bool) -> None:
    """A trustee-mode vote's decryption moved on (views/trustees.py): the consoles get
    ``decryption`` (等待监票人解密 x/k); once counted, every screen gets the ``result``
    as for every vote."""
    _emit_staff(body_id, "decryption", {"vote": vote["id"], **(vote["decryption"] or {})})
    if counted:
        _emit_body(body_id, "result",
                   {"vote": vote["id"], "title": vote["title"], "result": vote["result"]})  # fmt: skip


# --- deadlines ---------------------------------------------------------------------------


def _ensure_deadline_watcher() -> None:
    """Start, once per app, the task that closes votes at their deadline."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get("voting.deadline_watcher"):
        return
    app.extensions["voting.deadline_watcher"] = True
    socketio.start_background_task(_watch_deadlines, app)


def _watch_deadlines(app: Any) -> None:
    while True:
        socketio.sleep(0.5)
        with app.app_context():
            for vote_id in app.extensions["voting.voting"].due(datetime.now(UTC)):
                open_state = app.extensions["voting.voting"].open.get(vote_id)
                body_id = open_state.body_id if open_state is not None else None
                try:
                    vote = transact(
                        lambda s, log_, v=vote_id: public_vote(
                            voting().close_vote(s, log_, v, None, "deadline")
                        )
                    )
                except Refusal as refused:  # closed by hand meanwhile, or the database is down
                    log.warning("deadline close of vote %s: %s", vote_id, refused.code)
                    continue
                _broadcast_result(body_id, vote)
