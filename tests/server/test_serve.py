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
