"""What gets installed: the locked versions, and a package that serves Chinese on its own.

The lock (requirements.lock) is used as pip constraints, so a dependency missing from it
would install unpinned; the first test catches a pyproject.toml edited without `make lock`.
The slow test builds the wheel as `pip install .` would and serves the sign-in page from
that wheel's contents alone, away from the checkout's translations/ folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)", re.MULTILINE)
CATALOGUES = {
    "server/translations/zh_CN/LC_MESSAGES/messages.mo",
    "server/translations/en/LC_MESSAGES/messages.mo",
}


def test_lock_pins_every_dependency_within_pyproject_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {
        canonicalize_name(name): version
        for name, version in PIN.findall((ROOT / "requirements.lock").read_text(encoding="utf-8"))
    }
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    problems = []
    for line in declared:
        requirement = Requirement(line)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is not in the lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} is outside {requirement.specifier}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


# Run in a fresh interpreter with only the unpacked wheel importable as `server`.
SERVE_SIGN_IN = """
import json, sys
import server
from server.app import create_app

app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "packaging-test"})
pages = {}
for language in ("zh-CN", "en"):
    with app.test_client() as client:
        response = client.get("/auth/login", headers={"Accept-Language": language})
        pages[language] = [response.status_code, response.get_data(as_text=True)]
print(json.dumps({"server": server.__file__, "pages": pages}))
"""


@pytest.mark.slow
def test_built_wheel_serves_the_sign_in_page_in_chinese(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), ROOT],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("tianbao-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert set(archive.namelist()) >= CATALOGUES
        # The help page serves the example definition from the installed package.
        assert "forms/examples/definition_example.yaml" in archive.namelist()
        archive.extractall(site)

    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PYTHONPATH"] = str(site)
    env["TIANBAO_INSTANCE_PATH"] = str(tmp_path / "instance")
    database = f"sqlite:///{tmp_path / 'tianbao.db'}"
    result = subprocess.run(
        [sys.executable, "-c", SERVE_SIGN_IN, database],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(answer["server"]).is_relative_to(site)
    chinese_status, chinese = answer["pages"]["zh-CN"]
    english_status, english = answer["pages"]["en"]
    assert (chinese_status, english_status) == (200, 200)
    assert "<h1>登录" in chinese and "Sign in" not in chinese
    assert "Sign in" in english
