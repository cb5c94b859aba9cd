"""Reports' figures as rows the database adds up (report_values), and the roll-up over them.

The rows follow every save and every workflow change in the same transaction; the
migration that creates them fills them from the stored reports; the database
roll-up gives the figures the consolidation shows in a number of statements that
does not depend on the size of the subtree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import migration_rows
import pytest
from rollup_tree import HEADER, KEY, Q2_ON_TIME, Q3_ON_TIME, build, definition, roll_up, save, send
from sqlalchemy import delete, select, text
from statement_count import count_statements

from server import migrate
from server.db import unit_of_work
from server.models import (
    Assignment,
    Report,
    ReportEvent,
    ReportValue,
    Revision,
    Status,
    TemplateVersion,
    Unit,
)
from server.services import consolidation, parts, report_values, reporting, rollup
from server.services.report_values import backfill, from_micros, to_micros

AFTER_Q3_DEADLINE = datetime(2024, 11, 1, 2, tzinfo=UTC)


@pytest.fixture
def world(session, make_unit, make_user):
    return build(session, make_unit, make_user)


def stored(session, unit: Unit, period: str) -> dict[str, tuple[str, bool, int | None]]:
    """The unit's rows of *period*: field -> (status, applies, micros)."""
    report = session.scalar(select(Report).where(Report.unit_id == unit.id,
                                                 Report.period == period))
    return {row.field_key: (row.status, row.applies, row.micros) for row in session.scalars(
        select(ReportValue).where(ReportValue.report_id == report.id))}


def test_a_save_stores_each_number_and_the_workflow_moves_its_status(world, session):
    units = world["units"]
    save(session, world, "v1", "V1", "2024Q3", {"found": 5})
    assert stored(session, units["V1"], "2024Q3") == {
        "found": ("draft", True, 5_000_000), "rectified": ("draft", True, None)}
    send(session, world, "v1", "V1", "2024Q3", {"found": 6, "rectified": 2})
    assert stored(session, units["V1"], "2024Q3") == {
        "found": ("submitted", True, 6_000_000), "rectified": ("submitted", True, 2_000_000)}
    town = world["users"]["t1-hz"]
    with unit_of_work(session):
        reporting.approve(session, town, reporting.load(session, town, KEY, "V1", "2024Q3"))
    assert {s for s, _a, _m in stored(session, units["V1"], "2024Q3").values()} == {"approved"}
    with unit_of_work(session):
        reporting.unapprove(session, town, reporting.load(session, town, KEY, "V1", "2024Q3"),
                            "数字有误")
    report = session.scalar(select(Report).where(Report.unit_id == units["V1"].id,
                                                 Report.period == "2024Q3"))
    assert report.status != Status.APPROVED
    assert {s for s, _a, _m in stored(session, units["V1"], "2024Q3").values()} == {
        report.status}


def test_a_save_that_fails_leaves_the_rows_as_they_were(world, session):
    save(session, world, "v1", "V1", "2024Q3", {"found": 5})
    user = world["users"]["v1"]
    view = reporting.load(session, user, KEY, "V1", "2024Q3")
    with pytest.raises(reporting.StaleRevision), unit_of_work(session):
        reporting.save(session, user, view, {**HEADER, "found": 9}, expected_revision=0)
    session.expire_all()
    assert stored(session, world["units"]["V1"], "2024Q3")["found"][2] == 5_000_000


def test_saves_that_change_some_figures_keep_every_row_as_the_document_says(world, session):
    """A save writes again only the rows of figures that changed, and the report's packed
    vector only when one did: after saves that change one figure, only a text, or clear a
    figure, the rows are what the documents give and the vector what the rows give."""
    for values in ({"found": 5}, {"found": 5, "rectified": 2},
                   {"found": 5, "rectified": 2, "reporter": "李四"}, {"rectified": 2},
                   {"found": 7, "rectified": 1}):
        save(session, world, "v1", "V1", "2024Q3", values)
        session.expire_all()
        saved = stored(session, world["units"]["V1"], "2024Q3")
        assert saved == {"found": ("draft", True, to_micros(values.get("found"))),
                         "rectified": ("draft", True, to_micros(values.get("rectified")))}
        report = session.scalar(select(Report).where(Report.unit_id == world["units"]["V1"].id,
                                                     Report.period == "2024Q3"))
        fields = report_values.stored_fields(report.template_version.definition)
        assert report.figures == report_values.pack_rows(
            {"micros": saved[f.key][2], "applies": saved[f.key][1]} for f in fields)
    with unit_of_work(session):
        session.execute(delete(ReportValue))
        backfill(session.connection())
    assert stored(session, world["units"]["V1"], "2024Q3") == saved


def test_deleting_a_report_deletes_its_rows(world, session):
    save(session, world, "v1", "V1", "2024Q3", {"found": 5})
    with unit_of_work(session):
        session.execute(delete(Revision))
        session.execute(delete(ReportEvent))
        session.execute(delete(Report))
    assert session.scalar(select(ReportValue).limit(1)) is None


def test_numbers_round_trip_through_millionths():
    fld = definition().field("found")
    assert to_micros(7) == 7_000_000 and from_micros(fld, 7_000_000) == 7
    assert to_micros(None) is None and from_micros(fld, None) is None
    from decimal import Decimal
    assert to_micros(Decimal("2.125")) == 2_125_000
    assert to_micros(Decimal("0.0000005")) == 1  # beyond six places: rounded half up


def test_the_backfill_writes_the_rows_a_save_writes(world, session):
    roll_up(session, world)
    saved = {(r.report_id, r.field_key): (r.status, r.applies, r.micros)
             for r in session.scalars(select(ReportValue))}
    assert len(saved) > 20
    with unit_of_work(session):
        session.execute(delete(ReportValue))
        backfill(session.connection())
    again = {(r.report_id, r.field_key): (r.status, r.applies, r.micros)
             for r in session.scalars(select(ReportValue))}
    assert again == saved


def test_the_migration_fills_the_rows_from_stored_reports(empty_engine):
    """Reports stored before the table existed (at 0014) have their rows after 0017."""
    migrate.upgrade(empty_engine, "0014")
    # Plain SQL of the columns 0014 has: the models know columns of later migrations.
    with empty_engine.begin() as connection:
        def insert(sql: str, **values) -> int:
            return migration_rows.insert(connection, sql, **values)

        unit, version = migration_rows.village_and_template(
            connection, definition().model_dump_json())
        assignment = insert(
            "INSERT INTO assignments (key, template_key, root_unit_id, consolidating_unit_id, "
            "unit_kinds, include_root, first_period, last_period, active, created_at) VALUES "
            "('a', 'hazards', :unit, :unit, '[]', :yes, '2024Q2', '2025Q4', :yes, :now)",
            unit=unit, yes=True, now=datetime(2024, 4, 1))
        connection.execute(Report.__table__.insert(), [
            {"assignment_id": assignment, "unit_id": unit, "period": "2024Q2",
             "template_version_id": version, "status": "approved", "revision": 1,
             "values": {"found": 3, "rectified": None}, "remarks": "", "late": False,
             "explanations": {}},
            {"assignment_id": assignment, "unit_id": unit, "period": "2024Q3",
             "template_version_id": version, "status": "draft", "revision": 1,
             "values": {"found": "4"}, "remarks": "", "late": False, "explanations": {}}])
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT period, field_key, status, applies, micros FROM report_values "
            "ORDER BY period, field_key")).all()
    assert [tuple(r) for r in rows] == [
        ("2024Q2", "found", "approved", True, 3_000_000),
        ("2024Q2", "rectified", "approved", True, None),
        ("2024Q3", "found", "draft", True, 4_000_000),
        ("2024Q3", "rectified", "draft", True, None)]


# -- the roll-up ------------------------------------------------------------------------


def add_villages(session, world, town: str, count: int, start: int = 0) -> None:
    """*count* villages below *town*, each with an approved 2024Q3 report written directly
    (rows included, as a save writes them)."""
    from forms.applicability import applicability
    from server.services import report_values
    from server.services import units as unit_service

    assignment = world["assignment"]
    version = session.scalar(select(TemplateVersion).where(TemplateVersion.key == "hazards"))
    with unit_of_work(session):
        for n in range(start, start + count):
            village = unit_service.create_unit(session, f"X{n}", f"村{n}", "village",
                                               world["units"][town])
            values = {"found": n, "rectified": n // 2}
            report = Report(assignment_id=assignment.id, unit_id=village.id, period="2024Q3",
                            template_version_id=version.id, status=Status.APPROVED,
                            revision=1, values=values)
            session.add(report)
            session.flush()
            report_values.save(session, report, version.definition, values,
                               applicability(version.definition, frozenset(), values))


def test_the_roll_up_runs_as_many_statements_for_10_units_as_for_200(world, session):
    assignment, town = world["assignment"], world["units"]["T3"]

    def figures(fresh):
        rolled = rollup.rollup(fresh, fresh.get(Assignment, assignment.id),
                               fresh.get(Unit, town.id), "2024Q3")
        totals.append(rolled.values["found"])

    totals: list[int] = []
    add_villages(session, world, "T3", 10)
    small = count_statements(session, figures)
    add_villages(session, world, "T3", 190, start=10)
    large = count_statements(session, figures)
    assert totals == [sum(range(10)), sum(range(200))]
    assert large == small


def test_the_roll_up_keeps_one_compiled_statement_whatever_the_children(world, session):
    """The children's ids reach the database as one parameter or one array constant
    written in when the statement runs: rolling up ever other subtrees does not grow the
    engine's cache of compiled statements (nor the memory it holds)."""
    assignment, town = world["assignment"], world["units"]["T3"]
    cache = session.get_bind()._compiled_cache
    totals: list[int] = []

    def figures() -> None:
        totals.append(rollup.rollup(session, session.get(Assignment, assignment.id),
                                    session.get(Unit, town.id), "2024Q3").values["found"])

    add_villages(session, world, "T3", 12)
    figures()
    cached = len(cache)
    add_villages(session, world, "T3", 13, start=12)
    figures()
    assert totals == [sum(range(12)), sum(range(25))]
    assert len(cache) == cached


def test_the_roll_up_agrees_with_the_consolidation_of_the_reports(world, session):
    """Every level of the rolled-up tree: the database's figures equal what adding up the
    children's typed report values gives (forms.consolidation, over the same reports)."""
    from forms.consolidation import consolidate

    roll_up(session, world)
    # V4's own figure falls from 5 to 2: a fall the town's figures list.
    send(session, world, "v4", "V4", "2024Q2", {"found": 5}, approve_by="t3-hz", at=Q2_ON_TIME)
    village, town = world["users"]["v4"], world["users"]["t3-hz"]
    view = reporting.load(session, village, KEY, "V4", "2024Q3")
    with unit_of_work(session):
        reporting.save(session, village, view, {**HEADER, "found": 2}, remarks="已核实",
                       explanations={"found": "上期多报，已更正"})
        reporting.submit(session, village, view, now=Q3_ON_TIME)
    with unit_of_work(session):
        reporting.approve(session, town, reporting.load(session, town, KEY, "V4", "2024Q3"),
                          acknowledged=True)
    codes = {u.id: u.code for u in world["units"].values()}
    seen_falls = []
    for code, who in (("T1", "t1-hz"), ("T2", "t2-hz"), ("T3", "t3-hz"), ("CO1", "co1-hz"),
                      ("CITY", "city-hz")):
        for carry in (True, False):
            found = consolidation.figures(session, world["users"][who], KEY, code, "2024Q3",
                                          now=AFTER_Q3_DEADLINE, carry_forward=carry,
                                          include_submitted=code == "T2")
            # The Python consolidation of the same parts (the provenance's reports).
            python = consolidate(found.definition, _parts(found), "2024Q3").values
            db = rollup.rollup(session, found.assignment, found.unit, "2024Q3",
                               carry_forward=carry, include_submitted=code == "T2")
            numeric = {f.key for f in found.definition.numeric_fields()}
            assert {k: v for k, v in python.items() if k in numeric} == \
                {k: v for k, v in db.values.items() if k in numeric}, (code, carry)
            # 本期新增 is the figure shown less the like-for-like figure before it.
            for key, grown in found.increments.items():
                if grown is not None:
                    assert grown == found.values[key] - found.previous_values.get(key, 0), \
                        (code, key)
            falls = rollup.unit_falls(session, found.assignment, found.unit, "2024Q3",
                                      include_submitted=code == "T2")
            assert sorted((codes[f.unit_id], f.field_key, f.value, f.previous, f.previous_period)
                          for f in falls) == sorted(
                (f.unit_code, f.field_key, f.value, f.previous, f.previous_period)
                for f in found.falls), code
            # The roll-up finds the same falls in its own pass (what the page shows).
            assert rollup.rollup(session, found.assignment, found.unit, "2024Q3",
                                 carry_forward=carry, include_submitted=code == "T2",
                                 falls=True).falls == falls, (code, carry)
            assert sorted((f.unit_code, f.field_key, f.value) for f in
                          consolidation.unit_falls(session, found)) == sorted(
                (f.unit_code, f.field_key, f.value) for f in found.falls), code
            seen_falls += falls
            for key in ("found", "rectified"):
                # The parts behind the total, one a page, as the consolidation lists them.
                paged, offset = [], 0
                while offset is not None:
                    page = parts.parts_page(session, found.assignment, found.unit, "2024Q3", key,
                                            include_submitted=code == "T2",
                                            carry_forward=carry, offset=offset, limit=1)
                    paged += [(r.unit_code, r.value, r.revision, r.carried_from)
                              for r in page.rows]
                    offset = page.next_offset
                assert paged == [(p.unit_code, p.value, p.revision, p.carried_from)
                                 for p in found.result.provenance[key]], (code, carry, key)
                assert page.total == len(paged)
                python_counts, db_counts = found.coverage(key), db.counts[key]
                assert [getattr(db_counts, n) for n in COUNTS] == \
                    [getattr(python_counts, n) for n in COUNTS], (code, carry, key)
    assert {codes[f.unit_id] for f in seen_falls} == {"V4"}


COUNTS = ("applies", "reported", "carried", "blank", "off")


def _parts(found):
    """The children's reports behind *found* as forms.consolidation.ChildReport values."""
    from dataclasses import replace

    from forms.consolidation import ChildReport

    out = []
    for state in found.children:
        report = state.report
        if state.included:
            out.append(ChildReport(state.unit.code, state.unit.name, report.values,
                                   tags=state.unit.tags))
        elif state.carried_from:
            earlier = reporting_report(found, state.unit, state.carried_from)
            out.append(replace(ChildReport(state.unit.code, state.unit.name, earlier.values,
                                           tags=state.unit.tags),
                               carried_from=state.carried_from))
    return out


def reporting_report(found, unit, period):
    from sqlalchemy.orm import object_session

    return object_session(unit).scalar(select(Report).where(
        Report.unit_id == unit.id, Report.period == period,
        Report.assignment_id == found.assignment.id))


def test_like_for_like_before_takes_each_unit_s_own_latest_approved_figure(world, session):
    """本期新增 of a town: a village whose latest approved report is older than the period
    before counts with that figure; one whose figure of the period is blank counts with
    none (the figure before is not like for like)."""
    q2 = {"at": Q2_ON_TIME}
    send(session, world, "v1", "V1", "2024Q2", {"found": 2}, approve_by="t1-hz", **q2)
    send(session, world, "v2", "V2", "2024Q2", {"found": 1}, approve_by="t1-hz", **q2)
    send(session, world, "v2", "V2", "2024Q3", {"found": 3}, approve_by="t1-hz")
    # 2024Q4: V1 skipped 2024Q3 (its latest approved figure is 2024Q2's 2), V2 grows to 4.
    send(session, world, "v1", "V1", "2024Q4", {"found": 6}, approve_by="t1-hz")
    send(session, world, "v2", "V2", "2024Q4", {"found": 4}, approve_by="t1-hz")
    assignment, town = world["assignment"], world["units"]["T1"]
    rolled = rollup.rollup(session, assignment, town, "2024Q4")
    assert rolled.values["found"] == 10
    assert rolled.previous_values["found"] == 2 + 3
    assert rolled.increments["found"] == 10 - 5
    # V2's 2024Q4 figure left blank (still approved): V2 is out of the figure and out of
    # the like-for-like figure before; V1 alone remains on both sides.
    with unit_of_work(session):
        session.execute(ReportValue.__table__.update().where(
            ReportValue.unit_id == world["units"]["V2"].id, ReportValue.period == "2024Q4",
            ReportValue.field_key == "found").values(micros=None))
        # The report's packed vector follows its rows, as every write keeps it.
        report_values.repack(session.connection(), session.scalars(select(Report.id).where(
            Report.unit_id == world["units"]["V2"].id, Report.period == "2024Q4")))
    session.expire_all()
    rolled = rollup.rollup(session, assignment, town, "2024Q4")
    assert rolled.values["found"] == 6
    assert rolled.counts["found"].blank == 1
    assert rolled.previous_values["found"] == 2
    assert rolled.increments["found"] == 6 - 2
    # Unapproving V1's 2024Q4 report: it no longer counts, and carries 2024Q2's 2 forward.
    with unit_of_work(session):
        reviewer = world["users"]["t1-hz"]
        reporting.unapprove(session, reviewer,
                            reporting.load(session, reviewer, KEY, "V1", "2024Q4"), "数字有误")
    session.expire_all()
    rolled = rollup.rollup(session, assignment, town, "2024Q4")
    assert (rolled.counted, rolled.carried_units) == (1, 1)
    assert rolled.values["found"] == 2
