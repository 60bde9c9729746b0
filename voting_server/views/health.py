"""Liveness and readiness for the hall's operators and the process manager."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from voting_server.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers; 503 with the reason when it does not."""
    try:
        db().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return jsonify(
            ok=False, error="database_unavailable", message=str(exc.__class__.__name__)
        ), 503
    return jsonify(ok=True)
