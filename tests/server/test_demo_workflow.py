"""The living demo: assignments per plan, reports in every state, figures that make sense.

The demo is loaded as of one fixed moment, 20 February 2025 in Shanghai: then
2024Q4 of the quarterly plans is the latest period past its deadline and
2025Q1 is running.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from demo_loaded import NOW, PASSWORD, prepared_demo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms.definition import CumulativeSpan
from forms.issues import unexplained
from forms.periods import Period, is_late
from forms.validation import same_span
from forms.values import loads_values
from server.db import database
from server.demo import DemoSummary, load_demo, workflow
from server.models import Role, Unit
from server.models.reporting import (
    Assignment,
    AssignmentVersion,
    Report,
    ReportEvent,
    Revision,
    Status,
    StoredFile,
)
from server.services import assignments as assignment_service
from server.services import consolidation, owing, reporting, subtree
from server.services.accounts import get_user

pytestmark = pytest.mark.slow  # builds the whole demo, twice

DECREASE = workflow.DECREASE
OVERRIDE = workflow.OVERRIDE


@dataclass
class Demo:
    session: Session
    summary: DemoSummary


@pytest.fixture(scope="module")
def loaded(migrated, tmp_path_factory) -> Iterator[Demo]:
    """The demo, loaded once for the module: the tests only read it."""
    with (prepared_demo(migrated, tmp_path_factory, "en") as (app, summary),
          app.test_request_context(headers={"Accept-Language": "en"}),
          Session(database(app).engine, expire_on_commit=False) as session,
          pytest.MonkeyPatch.context() as patch):
        patch.setattr(workflow, "utcnow", lambda: NOW)
        yield Demo(session, summary)


@pytest.fixture
def demo(loaded: Demo) -> DemoSummary:
    return loaded.summary


@pytest.fixture
def session(loaded: Demo) -> Session:
    loaded.session.rollback()
    return loaded.session


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the database stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reports_of(session, key: str) -> list[Report]:
    return session.scalars(
        select(Report).join(Assignment).where(Assignment.key == key)
        .order_by(Report.unit_id, Report.period)).all()


def latest_events(session, report: Report, action: str) -> list[ReportEvent]:
    return session.scalars(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.action == action)
        .order_by(ReportEvent.id)).all()


def row_counts(session) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Assignment, AssignmentVersion, Report, Revision, ReportEvent,
                          StoredFile)}


def test_every_template_goes_to_its_plans_jurisdiction(demo, session):
    found = {
        a.key: (a.root_unit.code, a.consolidating_unit.code, a.kinds, a.include_root,
                {u.kind for u in session.scalars(owing.owing_today(a))})
        for a in assignment_service.list_assignments(session)
    }
    assert found == {
        "chidian-progress": ("CHIDIAN", "CHIDIAN", [], True,
                             {"town", "department", "village", "community", "company"}),
        "xuefeng-progress": ("XUEFENG", "XUEFENG", [], False, {"office", "company"}),
        "jicui-progress": ("JICUI", "JICUI", [], False, {"department", "village", "company"}),
        "jicui-roster": ("JICUI-D01", "JICUI", [], True, {"department"}),
        "cangyuan-progress": ("CANGYUAN", "CANGYUAN", ["company"], False, {"company"}),
        "cangyuan-plan": ("CANGYUAN", "CANGYUAN", ["company"], False, {"company"}),
        "siping-summary": ("SIPING", "SIPING", ["bureau"], True, {"bureau"}),
        "cangyuan-accidents": ("CANGYUAN", "CANGYUAN", ["company"], False, {"company"}),
        "siping-important": ("SIPING", "SIPING", ["bureau"], False, {"bureau"}),
    }
    siping = assignment_service.get_assignment(session, "siping-summary")
    assert [u.code for u in session.scalars(owing.owing_today(siping))] == [
        "SIPING", "SIPING-SHUANGLIAO", "SIPING-LISHU", "SIPING-YITONG", "SIPING-TIEXI",
        "SIPING-TIEDONG"]


def test_the_latest_periods_hold_every_state(demo, session):
    chidian = assignment_service.get_assignment(session, "chidian-progress")
    units = session.scalars(owing.owing_today(chidian)).all()
    reports = {(r.unit.code, r.period): r for r in reports_of(session, "chidian-progress")}

    latest = [reports.get((u.code, "2024Q4")) for u in units]
    statuses = {r.status for r in latest if r}
    assert statuses == {Status.DRAFT, Status.SUBMITTED, Status.RETURNED, Status.APPROVED}
    assert any(r and r.late and r.status == Status.SUBMITTED for r in latest)
    missing = [u for u, r in zip(units, latest, strict=True) if r is None]
    assert 1 <= len(missing) <= len(units) // 5  # the 催报 list: a few, not many

    # The running quarter has drafts only; nothing of it can be submitted yet.
    running = {r.status for (_code, period), r in reports.items() if period == "2025Q1"}
    assert running == {Status.DRAFT}

    # A missing unit sees its overdue report first on its own page.
    leaf = next(u for u in missing if not subtree.child_units(session, chidian, u))
    task = reporting.tasks_for_unit(session, leaf, now=NOW)[0]
    assert (task.period, task.status, task.overdue) == ("2024Q4", Status.NOT_STARTED, True)

    # Older quarters are settled: every unit reported and was approved.
    older = [r.status for (_code, period), r in reports.items() if period == "2024Q2"]
    assert older == [Status.APPROVED] * len(units)

    for report in (r for r in latest if r and r.status == Status.RETURNED):
        comment = latest_events(session, report, "returned")[-1].comment
        assert len(comment) > 10  # says what to correct


def test_every_jurisdiction_has_work_to_chase_and_to_review(demo, session):
    for key in ("chidian-progress", "xuefeng-progress", "jicui-progress",
                "cangyuan-progress", "siping-summary"):
        statuses = {r.status for r in reports_of(session, key)}
        assert {Status.SUBMITTED, Status.APPROVED, Status.RETURNED} <= statuses, key
    plans = reports_of(session, "cangyuan-plan")
    assert len(plans) == 11 and {r.status for r in plans} == {Status.APPROVED}
    [roster] = reports_of(session, "jicui-roster")
    assert roster.status == Status.APPROVED and len(roster.values["members"]) >= 8


def test_cumulative_figures_only_go_down_in_the_returned_report(demo, session):
    decreases = []
    for assignment in assignment_service.list_assignments(session):
        by_unit = defaultdict(list)
        for report in reports_of(session, assignment.key):
            by_unit[report.unit.code].append(report)
        for code, reports in by_unit.items():
            for before, after in zip(reports, reports[1:], strict=False):
                definition = after.template_version.definition
                for fld in definition.cumulative_fields():
                    old, new = before.values.get(fld.key), after.values.get(fld.key)
                    if old is None or new is None:
                        continue
                    span = same_span(fld, Period.parse(after.period),
                                     Period.parse(before.period))
                    if span and new < old:
                        decreases.append((assignment.key, code, after.period, fld.key,
                                          after.status))
                    if fld.cumulative_span is CumulativeSpan.YEAR and not span:
                        assert new <= old + 10 ** 6  # restarted in January: any value
    assert decreases == [(DECREASE.assignment, DECREASE.unit, "2024Q4", DECREASE.field,
                          Status.RETURNED)]


def test_the_deliberate_decrease_is_returned_with_the_reason(demo, session):
    admin = get_user(session, "admin")
    view = reporting.load(session, admin, DECREASE.assignment, DECREASE.unit, "2024Q4")
    before = reporting.load(session, admin, DECREASE.assignment, DECREASE.unit, "2024Q3")
    low, high = view.values[DECREASE.field], before.values[DECREASE.field]
    assert low < high

    comment = latest_events(session, view.report, "returned")[-1].comment
    assert f"{low}人次" in comment and f"{high}人次" in comment and "2024年第三季度" in comment
    issues = [(i.field, i.code) for i in reporting.issues_for(view)]
    assert (DECREASE.field, "cumulative_decreased") in issues

    # The period before was caught up late, explained, and approved.
    assert (before.status, before.report.late) == (Status.APPROVED, True)
    assert before.report.remarks
    first_submission = latest_events(session, before.report, "submitted")[0]
    assert utc(first_submission.created_at) > utc(view.report.submitted_at)


def test_the_demo_sees_each_report_as_the_service_does(demo, session):
    """For speed the demo builds report views from memory: they must match reporting.load."""
    admin = get_user(session, "admin")
    assignment = assignment_service.get_assignment(session, DECREASE.assignment)
    unit = session.scalar(select(Unit).where(Unit.code == DECREASE.unit))
    reports = workflow._Reports(session, assignment, admin, NOW)
    made = {r.period: (r, loads_values(r.template_version.definition, r.values))
            for r in reports_of(session, assignment.key) if r.unit_id == unit.id}

    def seen(view):
        # The template by what it is: the service's view holds its assignment plan's.
        return (view.report, (view.template.id, view.template.version), view.values,
                view.previous, view.previous_values, view.following, view.due)

    for period in reports.periods:
        loaded = reporting.load(session, admin, assignment.key, unit.code, period)
        assert seen(reports._view(unit, period, made)) == seen(loaded), period


def test_submitted_reports_pass_the_checks_they_were_submitted_under(demo, session):
    admin = get_user(session, "admin")
    for key in ("chidian-progress", "siping-summary", "cangyuan-plan", "jicui-roster"):
        for report in reports_of(session, key):
            if report.status not in (Status.SUBMITTED, Status.APPROVED):
                continue
            view = reporting.load(session, admin, key, report.unit.code, report.period)
            issues = reporting.issues_for(view)
            assert not [i for i in issues if i.is_error], (key, report.unit.code, issues)
            # warnings are explained: a flagged figure beside it, any other in the remarks
            assert unexplained(issues, report.explanations or {}, report.remarks) == ([], []), (
                key, report.unit.code, report.period, issues)


def test_moments_people_and_lateness_are_consistent(demo, session):
    for report in session.scalars(select(Report)):
        due = assignment_service.due_date(report.assignment, report.period)
        assert utc(report.created_at) <= utc(report.updated_at) <= NOW
        submissions = latest_events(session, report, "submitted")
        if submissions:
            assert report.late == is_late(due, submissions[0].created_at)
        for event in session.scalars(select(ReportEvent).where(
                ReportEvent.report_id == report.id)):
            assert utc(event.created_at) <= NOW
            if event.action in ("saved", "submitted"):
                assert event.actor.unit_id == report.unit_id
            elif report.unit_id == report.assignment.consolidating_unit_id:
                assert event.actor.role == Role.ADMIN  # nobody in the tree is above it
            else:
                assert event.actor.role == Role.CONSOLIDATOR
                assert event.actor.unit_id == report.assignment.consolidating_unit_id
    late = session.scalar(select(func.count()).select_from(Report).where(Report.late))
    assert 0 < late < session.scalar(select(func.count()).select_from(Report)) / 4


def test_texts_figures_and_documents_read_like_real_reports(demo, session):
    report = next(r for r in reports_of(session, "chidian-progress")
                  if r.status == Status.APPROVED and r.values.get("i05_trainees"))
    values = report.values
    assert values["reporter"] == report.unit.contact_name
    assert values["phone"] == report.unit.contact_phone
    assert f"累计{values['i05_trainees']}人次" in values["i05_progress"]
    assert all(values[f"{item}_measures"].endswith("。") for item in ("i01", "i10", "i21"))

    plan = reports_of(session, "cangyuan-plan")[0]
    document = session.scalar(select(StoredFile).where(
        StoredFile.token == plan.values["plan_file"]["id"]))
    assert document.unit_id == plan.unit_id
    assert plan.unit.name in document.data.decode("utf-8")
    assert plan.values["special_certified"] == plan.values["special_operators"]


def test_loading_again_adds_nothing(demo, session):
    counts = row_counts(session)
    assert counts["Assignment"] == 9 and counts["Report"] > 300
    assert demo.reports.assignments == 9 and demo.reports.reports == counts["Report"]
    again = load_demo(session, PASSWORD)
    assert row_counts(session) == counts
    assert again.reports.describe() == "Demo reports: nothing to add."


def test_the_summary_line_counts_what_was_made(demo, session):
    count = {status: session.scalar(select(func.count()).select_from(Report)
                                    .where(Report.status == status)) for status in Status}
    late = session.scalar(select(func.count()).select_from(Report).where(Report.late))
    assert demo.reports.describe() == (
        f"Demo reports: {demo.reports.reports} in 9 assignments: {count['draft']} drafts, "
        f"{count['submitted']} submitted, {count['returned']} returned, "
        f"{count['approved']} approved; {late} submitted late.")


def snapshot(session) -> list[tuple]:
    rows = session.execute(
        select(Assignment.key, Unit.code, Report.period, Report.status, Report.revision,
               Report.late, Report.values, Report.submitted_at)
        .join(Assignment, Report.assignment_id == Assignment.id)
        .join(Unit, Report.unit_id == Unit.id)
        .order_by(Assignment.key, Unit.code, Report.period)).all()
    # Attachments get an unguessable token each time; everything else is the same.
    return [(*row[:6], {k: v for k, v in row.values.items() if k != "plan_file"},
             utc(row.submitted_at) if row.submitted_at else None) for row in rows]


def test_the_same_day_gives_the_same_demo(demo, session):
    first = snapshot(session)
    for model in (ReportEvent, Revision, Report, StoredFile, AssignmentVersion, Assignment):
        session.query(model).delete()
    session.commit()
    workflow.load_workflow(session, now=NOW)
    assert snapshot(session) == first


def test_offices_roll_up_the_units_below_them(demo, session):
    """Companies → villages → 池店镇, and county bureaus → 四平市工信局: every settled
    office report is exactly what its children's approved reports add up to."""
    admin = get_user(session, "admin")
    chains = 0
    for key, top in (("chidian-progress", "CHIDIAN"), ("siping-summary", "SIPING")):
        assignment = assignment_service.get_assignment(session, key)
        offices = [u for u in session.scalars(owing.owing_today(assignment))
                   if subtree.child_units(session, assignment, u)]
        assert top in [u.code for u in offices]
        settled = [r for r in reports_of(session, key)
                   if r.unit in offices and r.status == Status.APPROVED]
        assert {r.unit.code for r in settled} >= {top}, key
        for report in settled:
            found = consolidation.figures(session, admin, key, report.unit.code, report.period)
            overridden = {m.field_key: m.difference for m in found.mismatches}
            if overridden:  # the one deliberate override, below
                assert overridden == {OVERRIDE.field: -OVERRIDE.amount}, report.unit.code
            assert found.missing == [], (report.unit.code, report.period)
            own = loads_values(report.template_version.definition, report.values)
            for fld in found.definition.numeric_fields():
                expected = found.values.get(fld.key)
                if fld.key in overridden:
                    expected -= OVERRIDE.amount
                assert own.get(fld.key) == expected, (report.unit.code, fld.key)
            # The office's progress texts are its own narrative of the rolled-up figures.
            trainees = own.get("i05_trainees")
            if trainees:
                assert f"累计{trainees}人次" in own["i05_progress"]
            if report.unit.code == top:
                chains += sum(1 for child in found.children if child.consolidates)
    assert chains > 0  # some village that rolls up companies counts in the town's figures


def test_one_office_figure_differs_from_its_children_and_is_flagged_above(demo, session):
    admin = get_user(session, "admin")
    found = consolidation.figures(session, admin, OVERRIDE.assignment, "CHIDIAN", "2024Q3")
    [mismatch] = found.mismatches
    assert (mismatch.field_key, mismatch.difference, mismatch.depth) == (
        OVERRIDE.field, -OVERRIDE.amount, 1)
    office = reporting.load(session, admin, OVERRIDE.assignment, mismatch.unit.code, "2024Q3")
    assert office.status == Status.APPROVED and "重复统计" in office.report.remarks
    warnings = [(i.field, i.code) for i in reporting.issues_for(office)]
    assert warnings == [(OVERRIDE.field, "differs_from_children")]


def test_the_demo_shows_rates_and_tallies(demo, session):
    """池店镇's rectification rate is recomputed from its rolled-up figures; 四平市工信局
    sees how many county bureaus set up a task force, and which (every counted bureau
    once)."""
    admin = get_user(session, "admin")
    town = consolidation.figures(session, admin, "chidian-progress", "CHIDIAN", "2024Q3")
    found, rectified = town.values["i09_hazards_found"], town.values["i09_hazards_rectified"]
    assert found > 0
    assert town.values["i09_rectified_rate"] == round(Decimal(rectified) * 100 / found, 2)
    city = consolidation.figures(session, admin, "siping-summary", "SIPING", "2024H2")
    tally = {e.option: [p.unit_code for p in e.units]
             for e in city.result.tallies["g1_task_force"]}
    counted = [c.unit.code for c in city.included]
    assert counted and sorted(tally["yes"] + tally["no"] + tally[""]) == sorted(counted)


def test_the_demo_shows_targets_and_phases(demo, session):
    """Chidian's office sees its targets judged on its figures in the campaign phase; a
    Jicui unit's stock of old hazards goes down from its first report."""
    from forms.targets import TargetStatus
    from server.services import targets

    admin = get_user(session, "admin")
    found = consolidation.figures(session, admin, OVERRIDE.assignment, "CHIDIAN", "2024Q4")
    judged = {p.field.key: p for p in targets.for_consolidation(session, found, now=NOW)}
    assert {"i04_covered", "i06_drills", "i09_principal_checks", "i10_stock_rectified",
            "i13_benchmarks"} <= set(judged)
    assert all(p.status is not TargetStatus.NO_DATA for p in judged.values())
    assert targets.phase_now(found.definition, NOW).name == "专项治理"

    stock = session.scalars(
        select(Report).join(Assignment).where(Assignment.template_key == "jicui-progress")
        .order_by(Report.unit_id, Report.period)).all()
    by_unit = defaultdict(list)
    for report in stock:
        if report.status in (Status.SUBMITTED, Status.APPROVED):
            value = report.values.get("i07_2_stock")
            if value is not None:
                by_unit[report.unit_id].append(int(value))
    assert by_unit
    for series in by_unit.values():
        assert series == sorted(series, reverse=True)
    assert any(series[-1] < series[0] for series in by_unit.values())


def test_the_demo_shows_events_as_they_arrived(demo, session):
    accidents = reports_of(session, "cangyuan-accidents")
    assert len(accidents) == 2 and {r.period for r in accidents} == {"event-1"}
    assert sorted(r.status for r in accidents) == [Status.APPROVED, Status.SUBMITTED]
    assert all(r.event["attachments"][0]["content_type"] == "image/png" and not r.late
               for r in accidents)
    important = reports_of(session, "siping-important")
    assert [r.status for r in important] == [Status.APPROVED]
