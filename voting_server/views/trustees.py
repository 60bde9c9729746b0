"""The key ceremony's JSON API (密钥仪式, docs/trustees.md): what the scrutineers' pages
call, and the presidium's start.

- ``GET  /api/trustees/sittings/<sitting>``: the sitting's latest ceremony for the caller
  (``ceremony_id`` null when none was started);
- ``POST /api/trustees/sittings/<sitting>/start`` ``{"k": k | null}``: presidium only;
- ``GET  /api/trustees/ceremonies/<ceremony_id>``: the ceremony for the caller;
- ``POST /api/trustees/ceremonies/<ceremony_id>/commitments`` ``{"commitments"}``,
  ``…/shares`` ``{"shares"}``, ``…/verdicts`` ``{"verdicts"}``: the calling trustee's step.
- ``GET  /api/trustees/votes/<vote>``: a trustee-mode vote for its trustees and the
  presidium; ``GET /api/trustees/votes/<vote>/ballots?offset=n``: its counted encrypted
  ballots and their tablets' keys, after close; ``GET /api/trustees/sittings/<sitting>/votes``: the sitting's votes awaiting
  decryption; ``POST /api/trustees/votes/<vote>/decryption`` ``{"shares"}``: the calling
  trustee's partial decryptions (docs/trustee-votes.md; services/trustee_votes.py).

Staff sessions as every page: the session cookie, and on a POST the CSRF token in the
``X-CSRF-Token`` header (views/auth.py). Answers are JSON: the ceremony's state
(``services.trustee_ceremony.state_for``) or the protocol's refusal (``ok`` false,
``error``, ``message`` in the page's language, ``message_en``, ``retry``, ``detail``);
a refusal changes nothing. Bodies are bounded (``MAX_BODY``) and parsed with bounded depth.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from audit.trustee_ceremony import MAX_TRUSTEES, CeremonyError
from rules.parsing import load_json, parse_int
from voting_server.bounds import BALLOTS_OFFSET_MAX
from voting_server.extensions import audit_log, db, sessions
from voting_server.models import StaffRole, StaffUser, Vote
from voting_server.services import trustee_ceremony, trustee_votes
from voting_server.services.refusals import Refusal
from voting_server.services.transactions import write_transaction
from voting_server.services.vote_presentation import public_vote
from voting_server.sockets.errors import answer_to, refusal
from voting_server.sockets.voting import broadcast_decryption
from voting_server.views.auth import current_user

log = logging.getLogger(__name__)

bp = Blueprint("trustees", __name__, url_prefix="/api/trustees")

MAX_BODY = 32_768  # bytes of a request: 9 trustees' shares are under 3 KB
CEREMONY_ID = re.compile(r"[0-9a-f]{1,64}")  # the server makes them: 32 hex digits
READERS = (StaffRole.PRESIDIUM, StaffRole.SCRUTINEER)

STATUS = {
    "ceremony_unknown": 404,
    "ceremony_not_trustee": 403,
    "ceremony_forbidden": 403,
    "ceremony_wrong_phase": 409,
    "ceremony_duplicate": 409,
    "ceremony_complaint_unfounded": 409,
    "ceremony_no_trustees": 409,
    "no_sitting": 404,
    "forbidden": 403,
    "not_authenticated": 401,
}


def _refused(error: CeremonyError | Refusal) -> ResponseReturnValue:
    if isinstance(error, Refusal):
        return jsonify(answer_to(error)), STATUS.get(error.code, 400)
    return jsonify(refusal(error.code, error.detail)), STATUS.get(error.code, 400)


def _caller(*roles: StaffRole) -> StaffUser:
    """The logged-in account, in one of ``roles``; Refusal otherwise (JSON, not a page)."""
    user = current_user()
    if user is None:
        raise Refusal("not_authenticated")
    if user.role not in roles:
        raise Refusal("forbidden", f"role {user.role.value}")
    return user


def _body() -> dict[str, Any]:
    """The request's JSON object, bounded in size and depth."""
    if not request.is_json:
        raise Refusal("invalid_payload", "Content-Type must be application/json")
    if (request.content_length or 0) > MAX_BODY:
        raise Refusal("invalid_payload", f"at most {MAX_BODY} bytes")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise Refusal("invalid_payload", f"at most {MAX_BODY} bytes")
    try:
        body = load_json(raw)
    except ValueError as exc:
        raise Refusal("invalid_payload", f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Refusal("invalid_payload", "the body must be an object")
    return body


def _answer(work: Callable[[], dict[str, Any]]) -> ResponseReturnValue:
    try:
        return jsonify(work())
    except (CeremonyError, Refusal) as error:
        log.info("key ceremony request refused: %s", error)
        return _refused(error)
    except SQLAlchemyError as exc:
        log.warning("key ceremony: database unavailable: %s", exc.__class__.__name__)
        return jsonify(refusal("database_unavailable")), 503


@bp.get("/sittings/<int:sitting_id>")
def sitting_state(sitting_id: int) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(*READERS)
        return trustee_ceremony.sitting_state(db(), sitting_id, user)

    return _answer(work)


def _threshold(body: dict[str, Any]) -> int | None:
    if set(body) - {"k"}:
        raise CeremonyError("ceremony_malformed", "the only field is k")
    k = body.get("k")
    if k is None:
        return None
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_TRUSTEES:
        raise CeremonyError("ceremony_bad_threshold", f"k: an integer 1 to {MAX_TRUSTEES}")
    return k


@bp.post("/sittings/<int:sitting_id>/start")
def start(sitting_id: int) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(StaffRole.PRESIDIUM)
        k = _threshold(_body())
        with write_transaction(sessions()) as tx:
            merged = tx.merge(user)
            row = trustee_ceremony.start_ceremony(tx, audit_log(), sitting_id, merged, k)
            ceremony_id = row.ceremony_id
            state = trustee_ceremony.ceremony_state(tx, ceremony_id, merged)
        log.info("key ceremony %s started for sitting %s by user %s",
                 ceremony_id, sitting_id, user.id)  # fmt: skip
        return state

    return _answer(work)


def _ceremony_id(text: str) -> str:
    if not CEREMONY_ID.fullmatch(text):
        raise CeremonyError("ceremony_unknown", "a ceremony id is hex")
    return text


@bp.get("/ceremonies/<ceremony_id>")
def ceremony_state(ceremony_id: str) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(*READERS)
        return trustee_ceremony.ceremony_state(db(), _ceremony_id(ceremony_id), user)

    return _answer(work)


@bp.post("/ceremonies/<ceremony_id>/<any(commitments, shares, verdicts):step>")
def post_step(ceremony_id: str, step: str) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(StaffRole.SCRUTINEER)
        payload = _body()
        with write_transaction(sessions()) as tx:
            state = trustee_ceremony.post_step(
                tx, audit_log(), _ceremony_id(ceremony_id), step, tx.merge(user), payload
            )
        log.info("key ceremony %s: %s of trustee %s (user %s) logged",
                 ceremony_id, step, state["you"], user.id)  # fmt: skip
        return state

    return _answer(work)


# --- trustee-mode votes: the scrutineers decrypt (docs/trustee-votes.md) -------------------


@bp.get("/votes/<int:vote_id>")
def vote_state(vote_id: int) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(*READERS)
        return trustee_votes.vote_state(db(), vote_id, user)

    return _answer(work)


@bp.get("/votes/<int:vote_id>/ballots")
def vote_ballots(vote_id: int) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(*READERS)
        # ASCII digits only, bounded ('²'.isdigit() is true, and int('²') raises)
        offset = parse_int(request.args.get("offset", "0"), 0, BALLOTS_OFFSET_MAX)
        if offset is None:
            raise Refusal(
                "invalid_payload", f"offset: a count of ballots, 0 … {BALLOTS_OFFSET_MAX}"
            )
        return trustee_votes.presented_ballots(db(), vote_id, user, offset)

    return _answer(work)


@bp.get("/sittings/<int:sitting_id>/votes")
def awaiting_votes(sitting_id: int) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(*READERS)
        return trustee_votes.awaiting(db(), sitting_id, user)

    return _answer(work)


@bp.post("/votes/<int:vote_id>/decryption")
def post_decryption(vote_id: int) -> ResponseReturnValue:
    def work() -> dict[str, Any]:
        user = _caller(StaffRole.SCRUTINEER)
        payload = _body()
        with write_transaction(sessions()) as tx:
            state, counted = trustee_votes.post_decryption(
                tx, audit_log(), vote_id, tx.merge(user), payload
            )
            vote = tx.get(Vote, vote_id)
            assert vote is not None
            body_id, public = vote.owner_body_id(), public_vote(vote)
        log.info("vote %s: decryption share of trustee %s (user %s) logged%s",
                 vote_id, state["you"], user.id, "; result logged" if counted else "")  # fmt: skip
        broadcast_decryption(body_id, public, counted)
        return state

    return _answer(work)
