"""Under gunicorn, a reader that aborts its process is refused and the worker lives on."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hostile_files import CORPUS
from test_serve import free_port

ROOT = Path(__file__).resolve().parents[2]


def post(url: str, data: bytes) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def gunicorn(app, tmp_path, module: str) -> tuple[subprocess.Popen, int]:
    """One gunicorn worker serving *module*'s app on a free port of 127.0.0.1."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="crash-test",
               TIANBAO_INSTANCE_PATH=str(tmp_path), PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         f"{module}:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return server, port


def first_answer(server: subprocess.Popen, url: str, data: bytes) -> tuple[int, dict]:
    """The first answer of a starting server (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(server.stdout.read().decode(errors="replace"))
        try:
            return post(url, data)
        except OSError:
            time.sleep(0.2)
    pytest.fail("the server did not answer within 30 seconds")


def peak_memory_mb(pid: int) -> float:
    """The peak resident memory of process *pid* (Linux's VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines()
                     if line.startswith("VmHWM:"))
    return int(kilobytes) / 1024


@pytest.mark.slow
def test_a_reader_crash_is_a_422_and_the_worker_answers_the_next_request(app, tmp_path):
    server, port = gunicorn(app, tmp_path, "tests.server.crashing_app")
    url = f"http://127.0.0.1:{port}/crash-upload"
    try:
        answers = [first_answer(server, url, b"PK\x03\x04 first")]
        began = time.monotonic()
        answers.append(post(url, b"PK\x03\x04 second"))
        assert time.monotonic() - began < 5

        for status, body in answers:
            assert status == 422
            assert "crash.xlsx" in body["refusal"] and "stops the spreadsheet reader" in \
                body["refusal"]
        assert answers[0][1]["pid"] == answers[1][1]["pid"], "the worker was replaced"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_the_hostile_corpus_leaves_one_worker_answering_within_bounded_memory(app, tmp_path):
    """Every hostile file is refused in under 5 s by the same worker, which stays small."""
    server, port = gunicorn(app, tmp_path, "tests.server.reading_app")
    base = f"http://127.0.0.1:{port}/read-upload/"
    try:
        status, body = first_answer(server, base + "empty.xlsx", b"")
        pid = body["pid"]
        for make in CORPUS.values():
            name, data = make()
            began = time.monotonic()
            status, body = post(base + name, data)
            assert time.monotonic() - began < 5, name
            assert (status, body["pid"]) == (422, pid), name
            assert body["errors"] >= 1, name
        assert peak_memory_mb(pid) < 500
    finally:
        server.terminate()
        server.wait(timeout=10)
