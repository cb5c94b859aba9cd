"""WSGI entry points: ``server.wsgi:app`` for any WSGI server, :func:`serve` for gunicorn.

Each gunicorn worker builds its own application (no preloading), so database
connections are never shared across forked processes.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from server.app import create_app


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def serve(host: str = "127.0.0.1", port: int = 5000, workers: int = 2, threads: int = 4) -> None:
    """Run gunicorn in the foreground until interrupted."""
    _Gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "timeout": 120,  # large uploads and exports on a slow machine
        "forwarded_allow_ips": "127.0.0.1",
    }).run()


def __getattr__(name: str):
    # ``server.wsgi:app`` is built on first access, so importing serve() has no side effects.
    if name == "app":
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)
