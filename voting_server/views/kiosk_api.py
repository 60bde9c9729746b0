"""The tablets' HTTP API: enrollment with a one-time code.

``POST /api/kiosk/enroll`` takes ``{"code", "public_key"}`` (base64 DER SPKI,
P-256) and answers ``{"ok": true, "device", "seat", "pending", "server_key"}`` —
the server's Ed25519 public key, with which the tablet checks its receipts;
``pending`` true: a replacement tablet, usable once the presidium confirms it. A
refusal is the protocol's JSON (docs/protocol.md) with HTTP 400 (malformed),
409 (``enrollment_unknown``, ``enrollment_used``, ``enrollment_expired``: a
mistyped, used or expired code, each its own message; ``enrollment_invalid``: the
key is another seat's), 429 (too many failures from this
address) or 503 (database down).

No CSRF token: the request carries no cookie authority; the one-time code is
its authentication. Failures are counted per address to make guessing codes
hopeless.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from rules.parsing import load_json
from voting_server.bounds import EnrollmentCode, Payload, PublicKey
from voting_server.extensions import audit_log, sessions, socketio
from voting_server.models import StaffRole
from voting_server.services import devices
from voting_server.services.refusals import Refusal
from voting_server.services.throttle import Throttle
from voting_server.services.transactions import write_transaction
from voting_server.sockets.errors import answer_to, parse_payload, refusal
from voting_server.sockets.identity import body_room
from voting_server.views.auth import csrf_exempt

log = logging.getLogger(__name__)

bp = Blueprint("kiosk_api", __name__, url_prefix="/api/kiosk")

ENROLL_FAILURES_PER_ADDRESS = 10
ENROLL_WINDOW_S = 10 * 60
STATUS = {"invalid_payload": 400, "enrollment_invalid": 409, "enrollment_unknown": 409,
          "enrollment_used": 409, "enrollment_expired": 409, "rate_limited": 429}  # fmt: skip


class EnrollPayload(Payload):
    code: EnrollmentCode
    public_key: PublicKey


def init_app(app: Flask) -> None:
    app.extensions["voting.enroll_throttle"] = Throttle(
        ENROLL_FAILURES_PER_ADDRESS, ENROLL_WINDOW_S
    )
    app.register_blueprint(bp)


def _refused(refused: Refusal, status: int | None = None) -> ResponseReturnValue:
    return jsonify(answer_to(refused)), status or STATUS.get(refused.code, 400)


def _json_body() -> Any:
    """The request's JSON document; Refusal('invalid_payload') for another content type,
    text that is not JSON, or JSON nested deeper than any enrollment (``load_json``)."""
    if not request.is_json:
        raise Refusal("invalid_payload", "Content-Type must be application/json")
    try:
        return load_json(request.get_data(cache=False))
    except ValueError as exc:
        raise Refusal("invalid_payload", f"not JSON: {exc}") from None


@bp.post("/enroll")
@csrf_exempt
def enroll() -> ResponseReturnValue:
    throttle: Throttle = current_app.extensions["voting.enroll_throttle"]
    address = request.remote_addr or "?"
    wait = throttle.wait_s(address)
    if wait > 0:
        log.warning("enrollment throttled for %s", address)
        response = jsonify(refusal("rate_limited"))
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response, 429
    try:
        payload = parse_payload(EnrollPayload, _json_body())
        with write_transaction(sessions()) as tx:
            device = devices.enroll_device(tx, audit_log(), payload.code, payload.public_key)
            answer = {"ok": True, "device": device.id, "seat": device.seat,
                      "pending": device.pending}  # fmt: skip
            body_id = device.body_id
    except Refusal as refused:
        throttle.fail(address)
        log.info("enrollment refused for %s: %s", address, refused.code)  # never the code
        return _refused(refused)
    except SQLAlchemyError as exc:
        log.warning("enrollment: database unavailable: %s", exc.__class__.__name__)
        return jsonify(refusal("database_unavailable")), 503
    log.info("device %s enrolled for seat %s from %s%s", answer["device"], answer["seat"],
             address, " (pending: a replacement)" if answer["pending"] else "")  # fmt: skip
    if answer["pending"]:  # the consoles list the request for the presidium to decide
        rooms = [body_room(body_id, r) for r in (StaffRole.PRESIDIUM, StaffRole.SECRETARIAT)]
        socketio.emit("devices_changed", {"seat": answer["seat"]}, to=rooms)  # its body's only
    return jsonify({**answer, "server_key": audit_log().key.public_b64})
