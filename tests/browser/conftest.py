"""A live Tianbao server and a headless Chromium for the browser tests.

The server runs in a background thread on 127.0.0.1 with a free port and a
fresh SQLite database; the browser is Debian's /usr/bin/chromium (Playwright
never downloads one). Run with: pytest -m browser
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from live import LiveServer, new_page
from reporting_setup import sign_in

from server import migrate
from server.app import create_app
from server.db import database, db_session, unit_of_work
from server.services.accounts import create_user
from server.services.units import create_unit

CHROMIUM = os.environ.get("TIANBAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
PASSWORD = "browser-test-42"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _seed(app) -> None:
    """Migrate a database of the browser tests' own and add the accounts they sign in with.

    Its own file, not the shared test database: other tests empty the shared tables
    after each test, while this server lives for the whole session.
    """
    with app.app_context():
        migrate.upgrade(database().engine)
        session = db_session()
        with unit_of_work(session):
            town = create_unit(session, "T01", "晋江市池店镇人民政府安全生产委员会办公室", "town",
                               contact_name="王某某", contact_phone="0595-00000000")
            village = create_unit(session, "T01V01", "池店村", "village", town)
            create_user(session, "admin", PASSWORD, "admin")
            create_user(session, "town", PASSWORD, "consolidator", town)
            create_user(session, "village", PASSWORD, "submitter", village)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    app = create_app({
        "SECRET_KEY": "browser-tests",
        "INSTANCE_PATH": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'tianbao.db'}",
    })
    _seed(app)
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    with app.app_context():
        database().engine.dispose()


class PolicyWatchingBrowser:
    """The Chromium browser, noting every Content-Security-Policy violation of its pages.

    Chromium reports a blocked script, style or handler on the console only; the page
    then silently lacks it. Every context made through this wrapper is watched, and
    :func:`_no_policy_violations` fails the test that caused one.
    """

    def __init__(self, browser) -> None:
        self._browser = browser
        self.violations: list[str] = []

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.on("console", self._note)
        return context

    def _note(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield PolicyWatchingBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def _no_policy_violations(chromium):
    """Fail a browser test whose pages had something blocked by the security policy."""
    chromium.violations.clear()
    yield
    found, chromium.violations[:] = list(chromium.violations), []
    assert found == [], "blocked by the Content-Security-Policy: " + " | ".join(found)


_new_page = new_page


@pytest.fixture
def page(chromium, live_server):
    """A desktop page in a Chinese-speaking browser, fresh cookies for every test."""
    context, page = _new_page(chromium, live_server, 1280, "zh-CN")
    yield page
    context.close()


@pytest.fixture
def phone(chromium, live_server):
    """A 360 px wide phone screen in a Chinese-speaking browser."""
    context, page = _new_page(chromium, live_server, 360, "zh-CN")
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot as test-artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def log_in():
    """Sign in through the login form, as a person would."""

    def log_in_as(page, username: str) -> None:
        sign_in(page, username, PASSWORD)

    return log_in_as


DEMO_PASSWORD = "dashboard-demo-9"


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A second live server with the whole demo loaded on today's date (as ``make run``
    loads it), on a database of its own; every demo account has DEMO_PASSWORD."""
    from server.demo import load_demo
    from server.services.templates import load_files

    folder = tmp_path_factory.mktemp("demo-live")
    app = create_app({"SECRET_KEY": "browser-demo", "INSTANCE_PATH": str(folder),
                      "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    with app.app_context():
        migrate.upgrade(database().engine)
        session = db_session()
        load_files(session)
        load_demo(session, DEMO_PASSWORD)
        session.commit()
    server = LiveServer(app)
    server.password = DEMO_PASSWORD
    server.start()
    yield server
    server.stop()
    with app.app_context():
        database().engine.dispose()


@pytest.fixture
def demo_page(chromium, demo_server):
    """Pages on the demo server: ``demo_page(width)``, in a Chinese-speaking browser."""
    contexts = []

    def open_page(width: int):
        context, page = _new_page(chromium, demo_server, width, "zh-CN")
        contexts.append(context)
        return page

    yield open_page
    for context in contexts:
        context.close()
