"""Helpers that several staff pages share: which body (机构) a page is about,
the page shown when there is none, who is signed in, the venue CA.

They live here, with public names, so that no view imports another view's
private helpers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, make_response, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from crypto.tls import ca_fingerprint_of
from voting_server.extensions import db
from voting_server.models import AgendaItem, Body, Document, Sitting, Vote
from voting_server.services import staff
from voting_server.views.auth import current_user, message_page
from voting_server.views.forms import int_field


def served_bodies() -> list[Body]:
    """The bodies the signed-in account serves, in order (every body for a platform
    account, or for nobody signed in: the caller's guard decides about those)."""
    bodies = list(db().scalars(select(Body).order_by(Body.id)))
    user = current_user()
    if user is None:
        return bodies
    scope = staff.scope_of(db(), user.id)
    return bodies if scope is None else [b for b in bodies if b.id in scope]


def not_served() -> NoReturn:
    """403: the account does not serve the body a page is about (a town's secretariat
    sees only its town, docs/bodies.md)."""
    abort(
        make_response(
            message_page(
                gettext("无权访问该机构"),
                gettext("您的账户不服务于该人大或常委会，不能查看或操作其页面。"),
                403,
            )
        )
    )


def check_served(body_id: int) -> None:
    """Stop the request with 403 unless the signed-in account serves ``body_id``."""
    user = current_user()
    if user is not None and not staff.serves(db(), user.id, body_id):
        not_served()


def selected_body() -> Body | None:
    """The body the page is about: ``?body=ID`` (403 if the account does not serve
    it, 404 page by the caller if there is none), else the first the account serves."""
    body_id = int_field(request.values, "body")
    if body_id is not None:
        body = db().get(Body, body_id)
        if body is not None:
            check_served(body.id)
        return body
    served = served_bodies()
    return served[0] if served else None


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


def _body_of_view_args(view_args: dict[str, Any]) -> int | None:
    """The body a URL's sitting, agenda item, document or vote belongs to, if any."""
    session = db()
    if (vote_id := view_args.get("vote_id")) is not None:
        vote = session.get(Vote, vote_id)
        return vote.owner_body_id() if vote is not None else None
    if (document_id := view_args.get("document_id")) is not None:
        document = session.get(Document, document_id)
        return document.agenda_item.sitting.body_id if document is not None else None
    if (item_id := view_args.get("item_id")) is not None:
        item = session.get(AgendaItem, item_id)
        return item.sitting.body_id if item is not None else None
    if (sitting_id := view_args.get("sitting_id")) is not None:
        sitting = session.get(Sitting, sitting_id)
        return sitting.body_id if sitting is not None else None
    return None


def check_served_view_args() -> None:
    """Before a staff page about a sitting, item, document or vote: 403 unless the
    account serves its body. One check for every such page, so that none forgets it."""
    if not request.view_args or current_user() is None:
        return
    body_id = _body_of_view_args(request.view_args)
    if body_id is not None:
        check_served(body_id)


STAFF_BLUEPRINTS = frozenset(
    {"admin", "agenda", "roster", "results", "audit", "screens", "pages", "supervision", "records"}
)


def keep_body_in_links(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for`` on a staff page chosen by ``?body=`` keeps it, so that the next page
    is about the same body without every template passing it."""
    if "body" in values or not request or "body" not in request.args:
        return
    if endpoint.split(".", 1)[0] in STAFF_BLUEPRINTS:
        values["body"] = request.args["body"]


def chosen_body_id() -> int | None:
    """The id of the body this page is about, for the switcher (403 never: the page
    itself already refused a body its account does not serve)."""
    body_id = int_field(request.args, "body")
    if body_id is not None:
        return body_id
    served = served_bodies()
    return served[0].id if served else None


def body_switch_url(body_id: int) -> str:
    """This page for another body; a page about one sitting or vote goes to the start."""
    if request.view_args:
        return url_for("pages.overview", body=body_id)
    return url_for(request.endpoint or "pages.overview", body=body_id)


def init_app(app: Flask) -> None:
    """The body checks and helpers of every staff page (docs/bodies.md)."""
    app.before_request(check_served_view_args)
    app.url_defaults(keep_body_in_links)
    app.context_processor(
        lambda: {
            "served_bodies": served_bodies,
            "chosen_body_id": chosen_body_id,
            "body_switch_url": body_switch_url,
        }
    )


def download(
    data: bytes, mimetype: str, filename: str, disposition: str = "attachment"
) -> Response:
    """A file to save (or, ``inline``, to show) under its own name, UTF-8 safe (RFC 6266)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    return response
