"""The application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from server import config as settings
from server.admin import bp as admin_bp
from server.api import bp as api_bp
from server.auth import bp as auth_bp
from server.consolidation import bp as consolidation_bp
from server.db import init_db, request_work
from server.error_pages import register_error_pages
from server.extensions import csrf, login_manager
from server.home import register_home
from server.i18n import init_i18n
from server.jobs.pages import bp as jobs_bp
from server.jobs.runner import init_jobs
from server.labels import register_labels
from server.notifications import bp as notifications_bp
from server.refusals import register_refusal_pages
from server.reporting import bp as reporting_bp
from server.review import bp as review_bp
from server.security_headers import register_security_headers
from server.sessions import init_sessions
from server.workbooks import bp as workbooks_bp


class Tianbao(Flask):
    """The application: every request's view runs as one unit of work (``db.request_work``)."""

    def dispatch_request(self):
        return request_work(super().dispatch_request)


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask application; *config* overrides the environment's settings."""
    values = settings.from_environment()
    values.update(config or {})
    instance = Path(values["INSTANCE_PATH"])
    app = Tianbao(__name__, instance_path=str(instance))
    app.config.update(values)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.load_secret_key(instance)
    _ensure_sqlite_folder(app.config["DATABASE_URL"])
    if app.config.get("TIANBAO_PROXY_FIX", settings.proxy_fix_from_environment()):
        # Behind a reverse proxy the client address (used for login throttling) and the
        # scheme come from X-Forwarded-* headers set by exactly one trusted proxy.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    init_db(app)
    init_sessions(app)
    init_jobs(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    init_i18n(app)
    register_error_pages(app)
    register_refusal_pages(app)
    _register_blueprints(app)
    register_security_headers(app)
    return app


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(reporting_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(workbooks_bp)
    app.register_blueprint(consolidation_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(jobs_bp)
    register_home(app)
    register_labels(app)


def _ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
