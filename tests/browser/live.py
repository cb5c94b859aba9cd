"""A live Tianbao server in a background thread, and a browser page on it (shared by the
browser tests' conftest and the tests that run a server of their own)."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


def new_page(chromium, live_server, width: int, locale: str):
    """A fresh browser context (own cookies) and page on *live_server*."""
    context = chromium.new_context(
        base_url=live_server.url, locale=locale,
        viewport={"width": width, "height": 800 if width > 600 else 740},
    )
    context.set_default_timeout(10_000)
    return context, context.new_page()
