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
from test_serve import free_port

ROOT = Path(__file__).resolve().parents[2]


def post(url: str, data: bytes) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_a_reader_crash_is_a_422_and_the_worker_answers_the_next_request(app, tmp_path):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="crash-test",
               TIANBAO_INSTANCE_PATH=str(tmp_path), PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "tests.server.crashing_app:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/crash-upload"
    try:
        answers, deadline = [], time.monotonic() + 30
        while not answers and time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(server.stdout.read().decode(errors="replace"))
            try:
                answers.append(post(url, b"PK\x03\x04 first"))
            except OSError:
                time.sleep(0.2)
        assert answers, "the server did not answer within 30 seconds"
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
