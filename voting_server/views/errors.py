"""What a refused or failed request gets: a page in the reader's language, never a traceback.

Every HTTP error — 400 to 499 from Werkzeug or ``abort``, and 500 for an
exception nobody caught — that no more specific handler answers (413 is
``views.auth``'s, naming the limit) is answered with the message page (HTML) or, under
``/api/``, the protocol's JSON refusal (docs/protocol.md). A 500 says only
that the request failed; the exception and its traceback go to the server's
log (Flask logs them before this handler runs), never to the client.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from voting_server.i18n import N_
from voting_server.sockets.errors import refusal
from voting_server.views.auth import message_page
from voting_server.views.forms import BadField, BoundedIntegerConverter

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# status → (title, message): Chinese msgids, translated when shown.
PAGES = {
    400: (N_("请求有误"), N_("请求的内容无法识别，操作未执行。请返回上一页重试。")),
    404: (N_("没有该页面"), N_("您访问的页面或记录不存在。")),
    405: (N_("不支持该操作"), N_("此页面不接受这种请求，操作未执行。")),
}
OTHER = (N_("请求未能完成"), N_("请求未能完成，操作未执行。"))
FAILED = (
    N_("服务器内部错误"),
    N_("服务器处理请求时出错，操作未完成。请稍后重试，或联系工作人员。"),
)


def install_converters(app: Flask) -> None:
    """Bounded ``<int:…>`` for every route; call before any blueprint is registered."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _internal_error)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 400
    if status >= 500:
        return _internal_error(error)
    if request.path.startswith(API_PREFIX):
        response = jsonify(refusal("invalid_payload", error.name))
    else:
        title, message = PAGES.get(status, OTHER)
        text = error.description if isinstance(error, BadField) else gettext(message)
        response = current_app.make_response(message_page(gettext(title), text, status))
    for name, value in error.get_headers():  # e.g. 405's Allow, as Werkzeug would send
        if name.lower() != "content-type":
            response.headers[name] = value
    response.status_code = status
    return response


def _internal_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code if error.code and error.code >= 500 else 500
    if request.path.startswith(API_PREFIX):
        return jsonify(refusal("internal_error")), status
    try:
        return message_page(gettext(FAILED[0]), gettext(FAILED[1]), status)
    except Exception:  # the page itself failed (database down?): plain text, still no traceback
        log.exception("the error page could not be rendered")
        return Response(f"{FAILED[0]}\n{FAILED[1]}\n", status, mimetype="text/plain")
