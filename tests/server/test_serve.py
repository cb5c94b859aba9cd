"""``tianbao serve`` runs the application in gunicorn and answers on the given port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from server.serving import BALANCED_ACCEPT, address_in_use

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
        body = wait_for_login_page(server, port)
        assert 'name="password"' in body
    finally:
        server.terminate()
        server.wait(timeout=60)


def listening_sockets(port: int) -> int:
    """How many sockets listen on *port* of 127.0.0.1 (Linux's table of IPv4 sockets)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "0A")  # 0A: LISTEN


def wait_for_login_page(server: subprocess.Popen, port: int) -> str:
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
    return body


@pytest.mark.slow
@pytest.mark.skipif(not BALANCED_ACCEPT, reason="the kernel balances connections only on Linux")
def test_each_worker_listens_on_its_own_socket_and_a_second_server_is_refused(app, tmp_path):
    """The kernel spreads connections over the workers only if each has a socket of its
    own; with SO_REUSEPORT a second server on the port would also bind silently, so
    ``tianbao serve`` refuses to start where one already listens."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="serve-test",
               TIANBAO_INSTANCE_PATH=str(tmp_path), TIANBAO_LOCALE="zh_CN")
    server = subprocess.Popen(
        [*TIANBAO, "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_login_page(server, port)
        deadline = time.monotonic() + 60
        while listening_sockets(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listening_sockets(port) == 2

        second = subprocess.run(
            [*TIANBAO, "serve", "--port", str(port), "--workers", "1", "--no-worker"],
            env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert f"127.0.0.1:{port} 上已有另一个服务在监听" in second.stderr
        assert listening_sockets(port) == 2  # the first server's, nobody else's
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_port_is_in_use_while_any_server_listens_on_it():
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        port = plain.getsockname()[1]
        plain.listen()
        assert address_in_use("127.0.0.1", port)
    assert not address_in_use("127.0.0.1", port)
    if hasattr(socket, "SO_REUSEPORT"):
        with socket.socket() as shared:
            shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            shared.bind(("127.0.0.1", port))
            shared.listen()
            assert address_in_use("127.0.0.1", port)


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
