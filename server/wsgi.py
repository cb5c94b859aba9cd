"""WSGI entry points: ``server.wsgi:app`` for any WSGI server, :func:`serve` for gunicorn.

Each gunicorn worker builds its own application (no preloading), so database
connections are never shared across forked processes, and warms it (:func:`warmed`)
before it accepts its first connection.
"""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import force_locale, format_date, gettext
from gunicorn.app.base import BaseApplication

from server.app import create_app
from server.locale import LANGUAGES
from server.serving import SETTINGS


def warmed(app: Flask) -> Flask:
    """*app*, with what its first requests would load loaded now: Babel's locale data
    (one unpickling of about 0.1 s that holds the interpreter's lock throughout) and each
    language's catalogue.

    A gunicorn worker builds its application before it accepts connections; a worker
    still loading these in its first request cannot accept meanwhile, so clients that
    connect at once (keep-alive clients after a restart, a proxy's pooled connections)
    went to the other worker and stayed there: 46 of 50 in one measurement, whose
    clients then waited ten times as long as the other four.
    """
    with app.test_request_context():
        for code in LANGUAGES:
            with force_locale(code):
                gettext("Tianbao")
                format_date(date(2024, 1, 5))
    return app


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return warmed(create_app())


def serve(host: str = "127.0.0.1", port: int = 5000, workers: int = 2, threads: int = 4) -> None:
    """Run gunicorn in the foreground until interrupted."""
    _Gunicorn({
        **SETTINGS,
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "accesslog": "-",
    }).run()


def __getattr__(name: str):
    # ``server.wsgi:app`` is built on first access, so importing serve() has no side effects.
    if name == "app":
        globals()["app"] = application = warmed(create_app())
        return application
    raise AttributeError(name)
