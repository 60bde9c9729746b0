"""Staff login, logout, password change, CSRF protection and role checks.

A login stores in Flask's signed session cookie the user's id, role and a
stamp derived from the password hash (``staff.session_stamp``). Every
request and every Socket.IO connection checks them against the database
(``staff_from_session``), so deactivating an account or changing its
password ends its other sessions.

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
from collections.abc import Callable, Mapping
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
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError

from voting_server.extensions import db, sessions
from voting_server.i18n import N_
from voting_server.models import StaffRole, StaffUser
from voting_server.services import staff
from voting_server.services.throttle import Throttle
from voting_server.services.transactions import write_transaction
from voting_server.sockets.errors import MESSAGES, Refusal

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)

SESSION_USER = "staff_user_id"
SESSION_ROLE = "staff_role"
SESSION_STAMP = "staff_stamp"
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


def staff_from_session(db_session: Session, data: Mapping[str, Any]) -> StaffUser | None:
    """The account a session cookie speaks for, if it is still active and its
    role and password are what they were at login."""
    user_id = data.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    user = db_session.get(StaffUser, user_id)
    if user is None or not user.active:
        return None
    if data.get(SESSION_ROLE) != user.role.value:
        return None
    stamp = data.get(SESSION_STAMP)
    if not isinstance(stamp, str) or not hmac.compare_digest(stamp, staff.session_stamp(user)):
        return None
    return user


def current_user() -> StaffUser | None:
    """The logged-in staff account of this request, or None."""
    if "staff_user" not in g:
        g.staff_user = staff_from_session(db(), session)
    return g.staff_user


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
    # A fresh session: nothing from before the login (incl. its CSRF token) survives.
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_ROLE] = user.role.value
    session[SESSION_STAMP] = staff.session_stamp(user)
    csrf_token()
    log.info("login: user %r (%s) from %s", user.username, user.role.value, address)
    return redirect(target or _home_for(user.role.value))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
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
    try:
        with write_transaction(sessions()) as tx:
            staff.change_password(tx, user.id, request.form.get("old_password", ""), new)
            changed = tx.get(StaffUser, user.id)
            assert changed is not None
            stamp = staff.session_stamp(changed)
    except Refusal as refused:
        text = (
            gettext("当前密码错误。") if refused.code == "login_failed" else refusal_text(refused)
        )
        return render_template("auth/password.html", error=text), 400
    session[SESSION_STAMP] = stamp  # this session stays; every other one ends
    log.info("password changed: user %r", user.username)
    return render_template("auth/password.html", done=True)
