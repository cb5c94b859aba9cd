"""The whole reporting cycle through the workflow service, on the real 池店镇 template.

assign → tasks with due dates → save drafts → submit with errors refused →
submit (in time or late) → return with a comment → resubmit → approve → locked
→ unapprove with a reason → editable again only after a return; plus stale
saves, review scope, template versions per period, cumulative checks against
the previous submitted period and the audit trail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from forms.loader import CATALOG_DIR
from forms.values import loads_values
from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, Revision, Status
from server.services import assignments as assignment_service
from server.services import owing, reporting
from server.services.errors import (
    InvalidInput,
    InvalidReport,
    InvalidState,
    NotAllowed,
    NotVisible,
    Refusal,
    ReportLocked,
    StaleRevision,
)
from server.services.templates import get_version, load_files, publish

KEY = "chidian-q"
CHIDIAN_FILE = CATALOG_DIR / "000_chidian_progress.yaml"

# Moments in UTC; the due day of 2024Q2 (2024-07-05) ends at 16:00 UTC in Shanghai.
BEFORE_DUE = datetime(2024, 7, 1, 2, 0, tzinfo=UTC)
LAST_MINUTE = datetime(2024, 7, 5, 15, 59, tzinfo=UTC)  # 23:59 on the 5th in Shanghai
JUST_LATE = datetime(2024, 7, 5, 16, 30, tzinfo=UTC)  # 00:30 on the 6th in Shanghai

HEADER = {"reporter": "周九", "phone": "13800000007"}


@pytest.fixture(autouse=True)
def _context(app):
    # Refusals render their message in the request's language; English keeps matches readable.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def template(session):
    with unit_of_work(session):
        load_files(session, [CHIDIAN_FILE])
    return get_version(session, "chidian-progress", 1)


@pytest.fixture
def people(make_user, tree):
    return {
        "va1": make_user("va1", unit=tree["VA1"]),
        "va1-b": make_user("va1-b", unit=tree["VA1"]),  # a colleague in the same village
        "va2": make_user("va2", unit=tree["VA2"]),
        "vb1": make_user("vb1", unit=tree["VB1"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "tb-hz": make_user("tb-hz", Role.CONSOLIDATOR, tree["TB"]),
        "admin": make_user("admin", Role.ADMIN),
    }


@pytest.fixture
def assignment(make_assignment, template, tree, people):
    return make_assignment(KEY, template, tree["TA"], user=people["admin"])


def view(session, user, period="2024Q2", unit="VA1"):
    return reporting.load(session, user, KEY, unit, period)


def fresh(session, report: Report) -> Report:
    session.expire_all()
    return session.get(Report, report.id)


def codes(issues):
    return {(i.field, i.code) for i in issues}


def actions(session, report):
    return [(e.action, e.actor.username, e.comment)
            for e in reversed(reporting.events(session, report))]


def submitted_report(session, user, period="2024Q2", values=None, now=BEFORE_DUE):
    current = view(session, user, period, user.unit.code)
    with unit_of_work(session):
        reporting.save(session, user, current,
                       {**HEADER, **(values or {"i01_enterprises": "3"})})
        reporting.submit(session, user, current, now=now)
    return current.report


# -- assignment and tasks ----------------------------------------------------------------


def test_assignment_gives_each_village_of_the_town_its_quarterly_tasks(session, assignment,
                                                                        tree):
    tasks = reporting.tasks_for_unit(session, tree["VA1"], now=BEFORE_DUE)
    assert [(t.period, t.due, t.status, t.days_left) for t in tasks] == [
        ("2024Q2", date(2024, 7, 5), Status.NOT_STARTED, 4),
        ("2024Q3", date(2024, 10, 5), Status.NOT_STARTED, 96),
    ]
    assert assignment_service.due_date(assignment, "2024Q2") == date(2024, 7, 5)
    # The town itself and the other town's village owe nothing.
    assert reporting.tasks_for_unit(session, tree["TA"], now=BEFORE_DUE) == []
    assert reporting.tasks_for_unit(session, tree["VB1"], now=BEFORE_DUE) == []
    units = session.scalars(owing.owing_today(assignment)).all()
    assert [u.code for u in units] == ["VA1", "VA2"]


def test_overdue_work_comes_first_and_counts_days_late(session, assignment, tree, people):
    submitted_report(session, people["va1"], "2024Q2")
    tasks = reporting.tasks_for_unit(session, tree["VA1"],
                                     now=datetime(2024, 10, 7, 2, 0, tzinfo=UTC))
    assert [(t.period, t.status, t.days_left, t.overdue) for t in tasks] == [
        ("2024Q3", Status.NOT_STARTED, -2, True),
        ("2024Q4", Status.NOT_STARTED, 90, False),
        ("2024Q2", Status.SUBMITTED, -94, False),
    ]


# -- saving ------------------------------------------------------------------------------


def test_every_save_appends_a_revision_with_typed_exact_values(session, assignment, people):
    user = people["va1"]
    current = view(session, user)
    with unit_of_work(session):
        report, issues = reporting.save(session, user, current, {
            **HEADER, "i01_enterprises": " 12 ", "i15_fines": "3.10", "i01_progress": "已部署",
        })
    assert (report.status, report.revision, issues) == (Status.DRAFT, 1, [])
    with unit_of_work(session):
        reporting.save(session, user, view(session, user), {
            **HEADER, "i01_enterprises": "14", "i15_fines": "0.1", "i01_progress": "已完成",
        })

    again = view(session, user)
    assert again.revision == 2 and again.status == Status.DRAFT
    assert again.values["i01_enterprises"] == 14
    assert isinstance(again.values["i15_fines"], Decimal)
    assert again.values["i15_fines"] == Decimal("0.1")
    stored = session.scalars(select(Revision).where(Revision.report_id == report.id)
                             .order_by(Revision.number)).all()
    assert [(r.number, r.values["i01_enterprises"], r.author.username, r.source)
            for r in stored] == [(1, 12, "va1", "web"), (2, 14, "va1", "web")]
    first = loads_values(current.definition, stored[0].values)
    assert first["i15_fines"] == Decimal("3.1") and first["i01_progress"] == "已部署"


def test_unreadable_values_refuse_the_save_and_change_nothing(session, assignment, people):
    user = people["va1"]
    with unit_of_work(session):
        reporting.save(session, user, view(session, user), {**HEADER, "i01_enterprises": "5"})
    with pytest.raises(InvalidReport) as refused, unit_of_work(session):
        reporting.save(session, user, view(session, user),
                       {**HEADER, "i01_enterprises": "五家", "i02_projects": "-1"})
    assert codes(refused.value.issues) == {("i01_enterprises", "not_a_number"),
                                           ("i02_projects", "below_min")}
    again = view(session, user)
    assert again.revision == 1 and again.values["i01_enterprises"] == 5


def test_other_units_and_consolidators_cannot_fill_a_villages_report(session, assignment,
                                                                     people):
    with pytest.raises(NotVisible):
        view(session, people["vb1"])  # out of scope: as if it did not exist
    as_town = view(session, people["ta-hz"])
    assert not reporting.can_edit(people["ta-hz"], as_town)
    with pytest.raises(NotAllowed, match="unit's own accounts"), unit_of_work(session):
        reporting.save(session, people["ta-hz"], as_town, {"i01_enterprises": "1"})
    assert session.scalar(select(func.count()).select_from(Report)) == 0


# -- the cycle -----------------------------------------------------------------------------


def test_full_cycle_from_draft_to_approval_and_back(session, assignment, people):
    user, town = people["va1"], people["ta-hz"]

    # A draft with a rectified count above the found count, and no reporter.
    current = view(session, user)
    with unit_of_work(session):
        report, draft_issues = reporting.save(session, user, current, {
            "phone": "13800000007", "i09_hazards_found": "8", "i09_hazards_rectified": "9",
        })
    assert report.revision == 1
    assert ("i09_hazards_rectified", "rule_failed") in codes(draft_issues)
    assert ("reporter", "required") not in codes(draft_issues)  # a draft may be incomplete

    with pytest.raises(InvalidReport) as refused, unit_of_work(session):
        reporting.submit(session, user, view(session, user), now=BEFORE_DUE)
    assert {("reporter", "required"), ("i09_hazards_rectified", "rule_failed")} <= codes(
        refused.value.issues)
    report = fresh(session, report)
    assert (report.status, report.submitted_at) == (Status.DRAFT, None)

    # Corrected and submitted in time.
    current = view(session, user)
    with unit_of_work(session):
        reporting.save(session, user, current, {**HEADER, "i09_hazards_found": "8",
                                                "i09_hazards_rectified": "6"},
                       expected_revision=1)
        reporting.submit(session, user, current, expected_revision=2, now=BEFORE_DUE)
    report = fresh(session, report)
    assert (report.status, report.late, report.revision) == (Status.SUBMITTED, False, 2)
    with pytest.raises(InvalidState, match="waits for review"), unit_of_work(session):
        reporting.save(session, user, view(session, user), HEADER)

    # Returned: a comment is required.
    with pytest.raises(InvalidInput, match="comment is required"), unit_of_work(session):
        reporting.return_report(session, town, view(session, town), "  ")
    assert fresh(session, report).status == Status.SUBMITTED
    with unit_of_work(session):
        reporting.return_report(session, town, view(session, town), "隐患整改数请与台账核对")
    assert fresh(session, report).status == Status.RETURNED

    # Fixed and resubmitted after the deadline: still judged by the first submission.
    current = view(session, user)
    assert reporting.can_edit(user, current)
    with unit_of_work(session):
        reporting.save(session, user, current, {**HEADER, "i09_hazards_found": "8",
                                                "i09_hazards_rectified": "7"})
        reporting.submit(session, user, current, now=JUST_LATE)
    report = fresh(session, report)
    assert (report.status, report.late, report.revision) == (Status.SUBMITTED, False, 3)

    # Approved: locked for everyone.
    with unit_of_work(session):
        reporting.approve(session, town, view(session, town))
    report = fresh(session, report)
    assert report.status == Status.APPROVED and report.locked
    assert report.approved_by.username == "ta-hz"
    for person in (user, people["admin"]):
        locked = view(session, person)
        assert not reporting.can_edit(person, locked)
        with pytest.raises(ReportLocked, match="approved and locked"), unit_of_work(session):
            reporting.save(session, person, locked, {**HEADER, "i09_hazards_found": "80"})
    with pytest.raises(ReportLocked, match="approved and locked"), unit_of_work(session):
        reporting.submit(session, user, view(session, user))
    report = fresh(session, report)
    assert (report.revision, report.values["i09_hazards_found"]) == (3, 8)

    # Unapproved: a reason is required; it goes back to "submitted", not to the unit.
    with pytest.raises(InvalidInput, match="reason is required"), unit_of_work(session):
        reporting.unapprove(session, town, view(session, town), "")
    assert fresh(session, report).status == Status.APPROVED
    with unit_of_work(session):
        reporting.unapprove(session, town, view(session, town), "县安委办抽查发现数据需复核")
    report = fresh(session, report)
    assert (report.status, report.approved_at, report.approved_by_id) == (
        Status.SUBMITTED, None, None)
    assert not reporting.can_edit(user, view(session, user))

    # Only a return opens it to the unit again.
    with unit_of_work(session):
        reporting.return_report(session, town, view(session, town), "请补充第9项整改情况")
    current = view(session, user)
    with unit_of_work(session):
        reporting.save(session, user, current, {**HEADER, "i09_hazards_found": "8",
                                                "i09_hazards_rectified": "8"})
    assert fresh(session, report).revision == 4

    assert actions(session, report) == [
        ("saved", "va1", ""),
        ("saved", "va1", ""),
        ("submitted", "va1", ""),
        ("returned", "ta-hz", "隐患整改数请与台账核对"),
        ("saved", "va1", ""),
        ("submitted", "va1", ""),
        ("approved", "ta-hz", ""),
        ("unapproved", "ta-hz", "县安委办抽查发现数据需复核"),
        ("returned", "ta-hz", "请补充第9项整改情况"),
        ("saved", "va1", ""),
    ]
    revisions = [(r.number, r.author.username) for r in reporting.revisions(session, report)]
    assert revisions == [(4, "va1"), (3, "va1"), (2, "va1"), (1, "va1")]


def test_review_actions_only_fit_the_reports_status(session, assignment, people):
    town = people["ta-hz"]
    with pytest.raises(InvalidState, match="not possible"), unit_of_work(session):
        reporting.approve(session, town, view(session, town))  # nothing submitted yet
    user = people["va1"]
    with unit_of_work(session):
        reporting.save(session, user, view(session, user), {**HEADER, "i01_enterprises": "2"})
    with pytest.raises(InvalidState, match="not possible"), unit_of_work(session):
        reporting.return_report(session, town, view(session, town), "请提交")
    assert fresh(session, view(session, user).report).status == Status.DRAFT


# -- lateness ------------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "late"), [(LAST_MINUTE, False), (JUST_LATE, True)])
def test_lateness_follows_the_due_day_in_shanghai(session, assignment, people, moment, late):
    report = submitted_report(session, people["va2"], now=moment)
    report = fresh(session, report)
    assert (report.status, report.late) == (Status.SUBMITTED, late)
    assert utc(report.submitted_at) == moment


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the database stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_late_report_is_accepted_and_shown_late(session, assignment, people, tree):
    submitted_report(session, people["va2"], now=datetime(2024, 8, 20, 1, 0, tzinfo=UTC))
    task = next(t for t in reporting.tasks_for_unit(session, tree["VA2"], now=JUST_LATE)
                if t.period == "2024Q2")
    assert task.status == Status.SUBMITTED and task.late and not task.overdue


# -- two editors ---------------------------------------------------------------------------


def test_a_stale_save_is_refused_and_overwrites_nothing(session, assignment, people):
    first, second = people["va1"], people["va1-b"]
    with unit_of_work(session):
        reporting.save(session, first, view(session, first), {**HEADER, "i01_enterprises": "5"})
    mine, theirs = view(session, first), view(session, second)
    assert mine.revision == theirs.revision == 1

    with unit_of_work(session):
        reporting.save(session, first, mine, {**HEADER, "i01_enterprises": "6"},
                       expected_revision=1)
    with pytest.raises(StaleRevision) as refused, unit_of_work(session):
        reporting.save(session, second, theirs, {**HEADER, "i01_enterprises": "60"},
                       expected_revision=1)
    assert refused.value.params == {"author": "va1", "current": 2, "expected": 1}
    assert "va1" in str(refused.value) and "were not saved" in str(refused.value)

    latest = view(session, first)
    assert latest.revision == 2 and latest.values["i01_enterprises"] == 6
    with pytest.raises(StaleRevision), unit_of_work(session):
        reporting.submit(session, second, latest, expected_revision=1)
    assert view(session, first).status == Status.DRAFT


# -- review scope --------------------------------------------------------------------------


def test_a_consolidator_of_another_town_cannot_review(session, assignment, people):
    submitted_report(session, people["va1"])
    other = people["tb-hz"]
    with pytest.raises(NotVisible):
        view(session, other)
    # Even holding a view loaded by someone else, the action is refused.
    loaded = view(session, people["ta-hz"])
    assert not reporting.can_review(other, loaded)
    with pytest.raises(NotAllowed, match="consolidator above"), unit_of_work(session):
        reporting.approve(session, other, loaded)
    with pytest.raises(NotAllowed, match="consolidator above"), unit_of_work(session):
        reporting.return_report(session, people["va1"], view(session, people["va1"]), "自己退回")
    assert fresh(session, loaded.report).status == Status.SUBMITTED
    assert reporting.can_review(people["admin"], view(session, people["admin"]))


# -- template versions ---------------------------------------------------------------------


def test_a_newer_version_applies_from_its_period_on(session, assignment, people, template):
    user = people["va1"]
    early = submitted_report(session, user, "2024Q2")
    newer = template.definition.model_copy(update={"title": template.definition.title + "（修订）"})
    with unit_of_work(session):
        assert publish(session, newer, origin="test").version == 2
    version_2 = get_version(session, "chidian-progress", 2)

    with pytest.raises(Refusal), unit_of_work(session):
        assignment_service.replace_version(session, assignment, version_2, "2030Q1")
    with unit_of_work(session):
        assignment_service.replace_version(session, assignment, version_2, "2024Q4")

    assert fresh(session, early).template_version.version == 1
    assert view(session, user, "2024Q2").template.version == 1
    assert view(session, user, "2024Q3").template.version == 1
    assert view(session, user, "2024Q4").template.version == 2
    assert view(session, user, "2025Q1").template.version == 2
    later = submitted_report(session, user, "2024Q4", now=datetime(2025, 1, 2, tzinfo=UTC))
    assert fresh(session, later).template_version.version == 2
    # The cumulative check still compares with the version-1 report before it.
    current = view(session, user, "2025Q1")
    assert current.previous.period == "2024Q4"
    assert current.increments["i01_enterprises"] is None


# -- cumulative figures ----------------------------------------------------------------------


def test_a_cumulative_figure_below_the_previous_submitted_period_is_flagged(session,
                                                                            assignment,
                                                                            people):
    user = people["va1"]
    submitted_report(session, user, "2024Q2", {"i01_enterprises": "12", "i15_fines": "2.5"})
    current = view(session, user, "2024Q3")
    with unit_of_work(session):
        _, issues = reporting.save(session, user, current,
                                   {**HEADER, "i01_enterprises": "10", "i15_fines": "2.75"})
    decreased = [i for i in issues if i.code == "cumulative_decreased"]
    # A correction, not an error: it stands with a 说明 beside the figure.
    assert [(i.field, i.is_error) for i in decreased] == [("i01_enterprises", False)]
    message = decreased[0].render(locale="zh_CN")
    assert "12" in message and "10" in message and "2024年第二季度" in message
    assert current.increments["i15_fines"] == Decimal("0.25")

    with pytest.raises(InvalidReport) as refused, unit_of_work(session):
        reporting.submit(session, user, current, now=datetime(2024, 10, 1, tzinfo=UTC))
    assert ("i01_enterprises", "cumulative_decreased") in codes(refused.value.issues)
    assert refused.value.field == "explanations"

    current = view(session, user, "2024Q3")
    with unit_of_work(session):
        reporting.save(session, user, current, {**HEADER, "i01_enterprises": "15",
                                                "i15_fines": "2.75"})
        reporting.submit(session, user, current, now=datetime(2024, 10, 1, tzinfo=UTC))
    assert current.increments["i01_enterprises"] == 3


def test_drafts_are_no_baseline_and_year_figures_restart_in_january(session, assignment,
                                                                    people):
    user = people["va1"]
    with unit_of_work(session):
        reporting.save(session, user, view(session, user, "2024Q2"),
                       {**HEADER, "i01_enterprises": "50"})  # a draft only
    current = view(session, user, "2024Q3")
    with unit_of_work(session):
        _, issues = reporting.save(session, user, current, {**HEADER, "i01_enterprises": "4"})
    assert "cumulative_decreased" not in {i.code for i in issues}

    submitted_report(session, user, "2024Q4", {"i06_observations": "6"},
                     now=datetime(2025, 1, 3, tzinfo=UTC))
    january = view(session, user, "2025Q1")
    with unit_of_work(session):
        _, issues = reporting.save(session, user, january, {**HEADER, "i06_observations": "1"})
    assert issues == []
    assert january.increments["i06_observations"] == 1
