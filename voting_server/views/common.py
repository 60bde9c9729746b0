"""Helpers that several staff pages share: which body (机构) a page is about,
the page shown when there is none, who is signed in, the venue CA.

They live here, with public names, so that no view imports another view's
private helpers.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from crypto.tls import ca_fingerprint_of
from voting_server.extensions import db
from voting_server.models import Body
from voting_server.views.auth import current_user, message_page
from voting_server.views.forms import int_field


def selected_body() -> Body | None:
    """The body the page is about: ``?body=ID``, else the first (a hall serves one)."""
    body_id = int_field(request.values, "body")
    if body_id is not None:
        return db().get(Body, body_id)
    return db().scalar(select(Body).order_by(Body.id).limit(1))


def no_body_page() -> ResponseReturnValue:
    """The answer of a page about a body when the database has none yet."""
    return message_page(
        gettext("尚无机构"),
        gettext("数据库中还没有人大或常委会的名册。请先导入名册，或运行 voting-server demo。"),
        404,
    )


def current_username() -> str | None:
    """The signed-in staff account's name, for the operator log."""
    user = current_user()
    return user.username if user else None


def venue_ca_fingerprint() -> str | None:
    """The venue CA's fingerprint (hex), if ``voting-server tls init`` made one."""
    return ca_fingerprint_of(Path(current_app.config["VOTING_TLS_DIR"]))
