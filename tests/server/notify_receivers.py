"""Local receivers for the notification channels, on 127.0.0.1 only.

``HttpReceiver`` stands in for the robot webhooks and the SMS gateway: it records
every request it read, and answers by a script (fail so many times, answer late,
hold the request until the test lets it go). ``SmtpReceiver`` is aiosmtpd.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from server.channels import IDEMPOTENCY_HEADER

MAX_WAIT = 20.0  # seconds: every wait in these tests is bounded


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: object

    @property
    def key(self) -> str:
        return self.headers.get(IDEMPOTENCY_HEADER, "")


@dataclass
class Script:
    failures: int = 0  # answer 500 to this many requests first
    status: int = 500
    delay: float = 0.0  # answer so late (seconds)
    hold: bool = False  # keep the first request unanswered until released
    answer: dict = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})


class HttpReceiver:
    """A small threaded HTTP server; ``accepted`` are the requests it answered with 200."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.received: list[Received] = []
        self.accepted: list[Received] = []
        self.got_request = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                item = Received(parts.path, parse_qs(parts.query), dict(self.headers.items()),
                                json.loads(raw.decode("utf-8")) if raw else None)
                with receiver._lock:
                    receiver.received.append(item)
                    number = len(receiver.received)
                receiver.got_request.set()
                script = receiver.script
                if script.hold and number == 1:
                    receiver.release.wait(MAX_WAIT)
                if script.delay:
                    time.sleep(script.delay)
                if number <= script.failures:
                    self._answer(script.status, {"errcode": -1, "errmsg": "try later"})
                    return
                with receiver._lock:
                    receiver.accepted.append(item)
                self._answer(200, script.answer)

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender is gone (killed, or gave up waiting)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpReceiver:
    def __init__(self) -> None:
        self.handler = _Collect()
        self.port = free_port()  # aiosmtpd checks that it is up by connecting to its port
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float = MAX_WAIT, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
