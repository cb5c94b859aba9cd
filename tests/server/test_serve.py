"""``tianbao serve`` runs the application in gunicorn and answers on the given port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

# What the ``tianbao`` console script runs, without depending on where it is installed.
TIANBAO = [sys.executable, "-c", "from server.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_with_the_login_page(app, tmp_path):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="serve-test",
               TIANBAO_INSTANCE_PATH=str(tmp_path))
    server = subprocess.Popen(
        [*TIANBAO, "serve", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        body, deadline = None, time.monotonic() + 90  # bounded; slow on a loaded machine
        while body is None and time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(server.stdout.read().decode(errors="replace"))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login",
                                            timeout=2) as response:
                    assert response.status == 200
                    body = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the server did not answer within 90 seconds"
        assert 'name="password"' in body
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_worker_loads_what_first_requests_need_before_it_accepts(app, monkeypatch):
    """Babel's locale data and both catalogues are loaded when a worker builds its
    application (``server.wsgi``), not by its first requests: a worker busy loading them
    (one unpickling holds the interpreter's lock for a tenth of a second) accepts no
    connections meanwhile, and keep-alive clients connecting at once all went to the
    other worker."""
    import babel.core
    from flask_babel import get_babel

    from server.locale import LANGUAGES
    from server.wsgi import warmed

    monkeypatch.setattr(babel.core, "_global_data", None)
    with app.app_context():
        domain = get_babel(app).instance.domain_instance
    domain.cache.clear()
    assert warmed(app) is app
    assert babel.core._global_data is not None
    assert {locale for locale, _domain in domain.cache} == set(LANGUAGES)  # zh_CN, en
