"""Staff login, logout, password change, CSRF protection and role checks.

A login starts a server-side session (``services.staff_sessions``); Flask's
signed cookie carries the user's id, role and the session's random token.
Every request and every Socket.IO connection checks them against the
database (``staff_cookie.staff_session_of``): the session must not be ended (logout,
password change, deactivation), idle longer than ``VOTING_SESSION_IDLE_S``
or older than ``VOTING_SESSION_MAX_S``, and the account must still be active
with the same role. A copy of the cookie is worth nothing after logout.

CSRF: each session carries a random token; every state-changing request
(POST, PUT, PATCH, DELETE) must send it back as the form field
``csrf_token`` or the header ``X-CSRF-Token``, unless its view is marked
``csrf_exempt`` (device APIs that authenticate by other means).
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from voting_server.extensions import db, sessions
from voting_server.i18n import N_
from voting_server.models import StaffRole, StaffUser, utcnow
from voting_server.services import staff, staff_sessions
from voting_server.services.refusals import Refusal
from voting_server.services.throttle import Throttle
from voting_server.services.transactions import write_transaction
from voting_server.sockets.connection import disconnect_session, disconnect_user
from voting_server.sockets.errors import MESSAGES
from voting_server.staff_cookie import SESSION_ROLE, SESSION_TOKEN, SESSION_USER, staff_session_of

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)

SESSION_CSRF = "csrf_token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Failed logins: per (username, address) a few, per address more (one
# address may be a staff room's shared PC). A correct login resets the former.
LOGIN_FAILURES_PER_USER = 5
LOGIN_FAILURES_PER_ADDRESS = 30
LOGIN_WINDOW_S = 15 * 60

ROLE_LABELS = {
    StaffRole.PRESIDIUM.value: N_("主持人（主席团）"),
    StaffRole.SECRETARIAT.value: N_("秘书处"),
    StaffRole.SCRUTINEER.value: N_("监票人"),
    StaffRole.DISPLAY.value: N_("大屏显示"),
}


def role_labels() -> dict[str, str]:
    """The roles' names in the page's language."""
    return {role: gettext(label) for role, label in ROLE_LABELS.items()}


# Where a role lands after login: the first endpoint that exists.
ROLE_HOME = {
    StaffRole.SECRETARIAT.value: ("admin.index",),
    StaffRole.PRESIDIUM.value: ("screens.console",),
    StaffRole.DISPLAY.value: ("screens.display",),
    StaffRole.SCRUTINEER.value: ("screens.scrutineer", "audit.index"),
}


def init_app(app: Flask) -> None:
    """Register the blueprint, the CSRF check and the template helpers."""
    app.extensions["voting.login_throttles"] = (
        Throttle(LOGIN_FAILURES_PER_USER, LOGIN_WINDOW_S),
        Throttle(LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW_S),
    )
    app.before_request(_check_csrf)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.after_request(_note_request_activity)
    app.context_processor(
        lambda: {
            "csrf_token": csrf_token,
            "current_user": current_user,
            "role_labels": role_labels(),
        }
    )
    app.register_blueprint(bp)


# --- CSRF ----------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (created on first use); put it in every form."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def csrf_exempt(view: F) -> F:
    """Mark a view as not needing the CSRF token (it authenticates otherwise)."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _check_csrf() -> ResponseReturnValue | None:
    if request.method not in UNSAFE_METHODS:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "csrf_exempt", False):
        return None  # no such route: Flask answers 404/405 itself
    expected = session.get(SESSION_CSRF)
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode()):
        return None
    log.warning("CSRF token missing or wrong: %s %s", request.method, request.path)
    return message_page(
        gettext("页面已过期"),
        gettext("页面已过期或请求来源无法确认，操作未执行。请返回上一页，刷新后重试。"),
        400,
    )


# --- who is logged in --------------------------------------------------------------------


def current_user() -> StaffUser | None:
    """The logged-in staff account of this request, or None."""
    if "staff_user" not in g:
        found = staff_session_of(db(), session)
        g.staff_user = found[0] if found is not None else None
        if found is not None and staff_sessions.needs_touch(found[1], utcnow()):
            g.staff_session_to_touch = found[1].id  # after the view: never inside its writes
    return g.staff_user


def _note_request_activity(response: Response) -> Response:
    session_id = g.pop("staff_session_to_touch", None)
    if session_id is not None:
        try:
            with write_transaction(sessions()) as tx:
                staff_sessions.touch(tx, [session_id], utcnow())
        except SQLAlchemyError as exc:  # activity not noted costs at most an early logout
            log.warning("session activity not noted: %s", exc.__class__.__name__)
    return response


def login_required(*roles: StaffRole | str) -> Callable[[F], F]:
    """Guard a view: a logged-in account in one of ``roles`` (any role if none).

    Anonymous requests go to the login page (GET) or get 401; other roles get 403.
    """
    allowed = {StaffRole(r).value for r in roles}

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                return message_page(gettext("请先登录"), gettext("请先登录后再进行此操作。"), 401)
            if allowed and user.role.value not in allowed:
                names = gettext("、").join(gettext(ROLE_LABELS[r]) for r in sorted(allowed))
                return message_page(
                    gettext("无权访问"), gettext("此页面仅供%(roles)s使用。", roles=names), 403
                )
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def message_page(title: str, message: str, status: int) -> ResponseReturnValue:
    return render_template("auth/message.html", title=title, message=message), status


def _too_large(_: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body over MAX_CONTENT_LENGTH (or a form field over MAX_FORM_MEMORY_SIZE): refused
    unread, with the limit named, instead of Werkzeug's English page."""
    mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return message_page(
        gettext("无法上传"), gettext("上传的内容过大：最多 %(mb)s MB。", mb=mb), 413
    )


def refusal_text(refused: Refusal) -> str:
    """The message of a refusal in the page's language, for a form's error line."""
    return gettext(MESSAGES[refused.code][0])


# --- login and logout ----------------------------------------------------------------------


def _home_for(role: str) -> str:
    for endpoint in ROLE_HOME.get(role, ()):
        try:
            return url_for(endpoint)
        except BuildError:
            continue
    return url_for("pages.overview")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this server: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.get("/login")
def login() -> ResponseReturnValue:
    csrf_token()  # the login form is protected too (login CSRF)
    return render_template("auth/login.html", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_post() -> ResponseReturnValue:
    username = staff.normalize_username(request.form.get("username", ""))[:64]
    password = request.form.get("password", "")
    target = _safe_next(request.form.get("next"))
    address = request.remote_addr or "?"
    per_user, per_address = current_app.extensions["voting.login_throttles"]
    wait = max(per_user.wait_s((username, address)), per_address.wait_s(address))
    if wait > 0:
        log.warning("login throttled: user %r from %s", username, address)
        minutes = max(1, math.ceil(wait / 60))
        return render_template(
            "auth/login.html",
            next=target,
            username=username,
            error=gettext("登录失败次数过多，请%(minutes)s分钟后再试。", minutes=minutes),
        ), 429
    user = staff.authenticate(db(), username, password)
    if user is None:
        per_user.fail((username, address))
        per_address.fail(address)
        log.info("login failed: user %r from %s", username, address)
        return render_template(
            "auth/login.html", next=target, username=username, error=gettext("用户名或密码错误。")
        ), 401
    per_user.reset((username, address))
    _start_session(user.id, user.role.value)
    log.info("login: user %r (%s) from %s", user.username, user.role.value, address)
    return redirect(target or _home_for(user.role.value))


def _start_session(user_id: int, role: str) -> None:
    """A fresh session: nothing from before (incl. its CSRF token) survives."""
    with write_transaction(sessions()) as tx:
        token = staff_sessions.start(tx, user_id, utcnow())
    session.clear()
    session[SESSION_USER] = user_id
    session[SESSION_ROLE] = role
    session[SESSION_TOKEN] = token
    csrf_token()


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session on the server too: a copy of the cookie opens nothing after."""

    token = session.get(SESSION_TOKEN)
    with write_transaction(sessions()) as tx:
        ended = staff_sessions.end(tx, token, "logout", utcnow())
    session.clear()
    if ended is not None:
        disconnect_session(ended)  # this browser's console or display, in this process
    return redirect(url_for("auth.login"))


@bp.get("/account/password")
@login_required()
def change_password() -> ResponseReturnValue:
    return render_template("auth/password.html")


@bp.post("/account/password")
@login_required()
def change_password_post() -> ResponseReturnValue:
    user = current_user()
    assert user is not None  # login_required
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password2", ""):
        return render_template("auth/password.html", error=gettext("两次输入的新密码不一致。")), 400

    user_id, role = user.id, user.role.value
    try:
        with write_transaction(sessions()) as tx:
            staff.change_password(tx, user_id, request.form.get("old_password", ""), new)
    except Refusal as refused:
        text = (
            gettext("当前密码错误。") if refused.code == "login_failed" else refusal_text(refused)
        )
        return render_template("auth/password.html", error=text), 400
    # Every session of the account has ended; this browser goes on in a new one.
    _start_session(user_id, role)
    disconnect_user(user_id)  # live pages reconnect with the new cookie; others cannot
    log.info("password changed: user %r", user.username)
    return render_template("auth/password.html", done=True)
