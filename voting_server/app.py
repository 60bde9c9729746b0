"""The application factory (Flask's pattern: one function builds the app)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from voting_server.extensions import (
    init_audit_log,
    init_database,
    init_socketio,
    init_voting,
)
from voting_server.presets import load_presets, preset_scopes
from voting_server.settings import Config


def create_app(config: object | None = None) -> Flask:
    """Build the app from a configuration object (default: ``Config()`` from the env)."""
    config = config if config is not None else Config()
    app = Flask(__name__, instance_path=getattr(config, "INSTANCE_DIR", None))
    app.config.from_object(config)
    app.extensions["voting.presets"] = load_presets(Path(app.config["VOTING_PRESETS_FILE"]))
    app.extensions["voting.preset_scopes"] = preset_scopes(Path(app.config["VOTING_PRESETS_FILE"]))
    init_database(app)
    init_audit_log(app)
    init_voting(app)
    if hops := app.config.get("VOTING_PROXY_HOPS"):
        # Behind nginx: the tablet's address (throttling) and scheme come from the proxy.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    init_socketio(app)

    from voting_server.views import errors

    errors.install_converters(app)  # before any route: bounded <int:…> ids
    errors.init_app(app)

    # Staff login and CSRF, the secretariat's pages, the tablets' enrollment
    # API, and who may connect over Socket.IO.
    from voting_server import timefmt
    from voting_server.sockets import connection, voting
    from voting_server.views import admin, auth, kiosk_api, security

    security.init_app(app)
    timefmt.init_app(app)  # the templates' time filters
    auth.init_app(app)
    kiosk_api.init_app(app)
    app.register_blueprint(admin.bp)
    connection.init_app(app)
    voting.init_app(app)

    from voting_server.views import agenda, audit, health, pages, records, results, roster, screens

    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(screens.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(roster.bp)
    app.register_blueprint(agenda.bp)
    from voting_server.views import supervision  # 督办事项 (docs/supervision.md)

    app.register_blueprint(supervision.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(records.bp)
    from voting_server.views import trustees  # 密钥仪式 (docs/trustees.md)

    app.register_blueprint(trustees.bp)
    from voting_server.views import trustee_page  # 监票人密钥页 (docs/trustees.md)

    app.register_blueprint(trustee_page.bp)
    app.register_blueprint(screens.kiosk_static)

    from voting_server.views import public

    app.register_blueprint(public.bp)  # the public results: no login (docs/public.md)

    from voting_server.views import common

    common.init_app(app)

    from voting_server import i18n

    i18n.init_app(app)
    return app
