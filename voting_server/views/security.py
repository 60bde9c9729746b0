"""What every HTTP answer carries for the browser's protection (docs/staff-pages.md).

- Cookies are ``Secure`` whenever TLS serves (``SESSION_COOKIE_SECURE`` from
  settings.py, or the request itself came over HTTPS), always ``HttpOnly``.
- Content-Security-Policy: scripts, styles, images, fonts and connections
  from this server only; no page may be framed (``frame-ancestors 'none'``,
  and ``X-Frame-Options: DENY`` for older browsers), except what a view
  allows itself (the kiosk's documents open in the kiosk page's frame).
  ``<style>`` elements carry the page's nonce (``csp_nonce``); ``style``
  attributes are allowed, scripts never inline (static/js/pages.js holds
  the pages' small behaviours).
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask, current_app, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

NONCE_BYTES = 18
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def cookies_secure() -> bool:
    """Mark cookies ``Secure``: TLS is served, or this request came over HTTPS."""
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        return True
    return has_request_context() and request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, ``Secure`` by ``cookies_secure``."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookies_secure()


def csp_nonce() -> str:
    """This response's nonce for ``<style nonce=…>`` (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return str(g.csp_nonce)


def allow_framing_by_this_server() -> None:
    """This answer may be shown in a frame of our own pages (the kiosk's documents)."""
    g.csp_frame_ancestors = "'self'"


def content_security_policy(host: str, nonce: str | None, frame_ancestors: str = "'none'") -> str:
    styles = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Browsers that know style-src-elem/-attr use them: <style> needs the nonce,
            # style="" attributes (no selectors, no script) are allowed. Older ones fall
            # back to style-src, where 'unsafe-inline' is ignored if a nonce is present.
            "style-src 'self' 'unsafe-inline'",
            f"style-src-elem {styles}",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",  # the result sheets' QR codes
            # 'self' covers ws(s): in CSP3; older Safari needs the socket's scheme said.
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _add_headers(response: Response) -> Response:
    headers = response.headers
    framing = g.get("csp_frame_ancestors", "'none'")
    if "Content-Security-Policy" not in headers:
        nonce = g.get("csp_nonce")
        headers["Content-Security-Policy"] = content_security_policy(request.host, nonce, framing)
    headers.setdefault("X-Frame-Options", "DENY" if framing == "'none'" else "SAMEORIGIN")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.after_request(_add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
