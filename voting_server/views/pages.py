"""Read-only pages. Until the live-voting pages exist, the overview shows
each body's sittings, agendas and configured votes."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from voting_server.extensions import db
from voting_server.models import AgendaItem, Body, Sitting

bp = Blueprint("pages", __name__)


@bp.get("/")
def overview() -> ResponseReturnValue:
    bodies = (
        db()
        .scalars(
            select(Body).options(
                selectinload(Body.sittings)
                .selectinload(Sitting.agenda_items)
                .selectinload(AgendaItem.votes)
            )
        )
        .all()
    )
    return render_template("overview.html", bodies=bodies)
