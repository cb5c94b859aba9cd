"""A town, two villages and their accounts on the live server, for the reporting flow tests.

The town 池店镇 (code BT) has the 21-item 池店镇 progress template assigned; village
溜石村 submitted last quarter's report, which the town approved, so this quarter's
form shows last quarter's cumulative figures. 浯潭村 has reported nothing yet. Periods
follow today's date, so the flow always works on the quarter that is running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from forms.loader import CATALOG_DIR
from forms.periods import SHANGHAI
from server.db import db_session, unit_of_work
from server.models import Role
from server.models.accounts import utcnow
from server.models.templates import TemplateVersion
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.accounts import create_user
from server.services.templates import latest, load_files
from server.services.units import create_unit

PASSWORD = "flow-test-password-7"
ASSIGNMENT = "bt-chidian"
TOWN, VILLAGE, OTHER = "BT", "BT-V1", "BT-V2"
TOWN_USER, VILLAGE_USER, OTHER_USER = "bt-town", "bt-village", "bt-other"
LAST_QUARTER = {"i01_enterprises": "12", "i05_trainees": "150", "i09_hazards_found": "8",
                "i09_hazards_rectified": "6"}


@dataclass(frozen=True)
class Flow:
    current: str  # the running quarter, e.g. 2026Q4
    previous: str  # last quarter, submitted and approved


def progress_periods(session) -> tuple[TemplateVersion, list[str]]:
    """The 21-item 池店镇 progress template (loaded if it is not yet) and the keys of its
    periods begun by today, oldest first: ``[-1]`` is the running one."""
    load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
    template = latest(session, "chidian-progress")
    today = utcnow().astimezone(SHANGHAI).date()
    return template, [p.key for p in template.definition.schedule.periods()
                      if p.start <= today]


def in_time(assignment, period: str) -> datetime:
    """Two days before *period*'s due date, 10:00 in China: a submission in time."""
    due = assignment_service.due_date(assignment, period)
    return datetime.combine(due - timedelta(days=2), time(10), tzinfo=SHANGHAI)


def file_report(session, reporter, assignment: str, code: str, period: str,
                values: dict[str, str], *, now: datetime | None = None,
                approver=None) -> None:
    """Save *values* as unit *code*'s report and submit it (at *now*, default the real
    time); *approver*, when given, approves it."""
    view = reporting.load(session, reporter, assignment, code, period)
    reporting.save(session, reporter, view, values)
    reporting.submit(session, reporter, view, now=now)
    if approver is not None:
        reporting.approve(session, approver,
                          reporting.load(session, approver, assignment, code, period))


def prepare(app) -> Flow:
    """Add the units, accounts, assignment and last quarter's report (once per server)."""
    with app.app_context():
        session = db_session()
        with unit_of_work(session):
            template, begun = progress_periods(session)
            town = create_unit(session, TOWN, "池店镇", "town", contact_name="张三",
                               contact_phone="13800000001")
            village = create_unit(session, VILLAGE, "溜石村", "village", town,
                                  contact_name="周九", contact_phone="13800000007")
            other = create_unit(session, OTHER, "浯潭村", "village", town, contact_name="王五",
                                contact_phone="13800000011")
            reviewer = create_user(session, TOWN_USER, PASSWORD, Role.CONSOLIDATOR, town)
            reporter = create_user(session, VILLAGE_USER, PASSWORD, Role.SUBMITTER, village)
            create_user(session, OTHER_USER, PASSWORD, Role.SUBMITTER, other)
            # The window opens last quarter: the village owes nothing older.
            previous, current = begun[-2], begun[-1]
            assignment = assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=template, root=town, first=previous)
            file_report(session, reporter, ASSIGNMENT, VILLAGE, previous,
                        {"reporter": "周九", "phone": "13800000007", **LAST_QUARTER},
                        now=in_time(assignment, previous), approver=reviewer)
            return Flow(current=current, previous=previous)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/auth/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_label("密码").press("Enter")
    page.wait_for_load_state()
    assert "/auth/login" not in page.url, f"{username} could not sign in"


@contextmanager
def person(chromium, base_url: str, username: str, width: int) -> Iterator:
    """A signed-in page of its own (own cookies) in a Chinese-speaking browser."""
    context = chromium.new_context(base_url=base_url, locale="zh-CN",
                                   viewport={"width": width, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, username)
        yield page
    finally:
        context.close()


def fits_the_screen(page) -> bool:
    """Whether the page does not scroll sideways (wide tables scroll inside their frame)."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def submit(page) -> None:
    """Press 提交… and confirm on the page that asks (with the warnings still open); an
    event report's 提交 sends it at once."""
    with page.expect_navigation():
        page.locator(".report-actions button[value=confirm], "
                     ".report-actions button[value=submit]").click()
    confirm = page.locator(".confirm-submit button[type=submit]")
    if confirm.count():
        with page.expect_navigation():
            confirm.click()
