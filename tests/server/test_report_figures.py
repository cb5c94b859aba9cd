"""Each report's figures packed into one vector (reports.figures), what the roll-up reads.

The vector follows every write of the figures in the same transaction (saves, the
ORM, a change of the unit's tags); a workflow change leaves it as it is, the status
being on the same row. The migration that adds it fills it from the stored rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

import migration_rows
import pytest
from rollup_tree import (
    HEADER,
    KEY,
    POSTS,
    V1_FIELDS,
    V2_FIELDS,
    build,
    definition,
    roll_up,
    save,
    send,
)
from sqlalchemy import inspect, literal, select, text
from sqlalchemy.orm import undefer

from server import migrate
from server.db import unit_of_work
from server.models import Assignment, Report, ReportValue, Status, TemplateVersion, Unit
from server.services import assignments as assignment_service
from server.services import reporting, rollup
from server.services import templates as template_service
from server.services.report_values import BLANK, OFF, pack_rows, stored_fields, unpack
from server.services.units import set_tags


@pytest.fixture
def world(session, make_unit, make_user):
    return build(session, make_unit, make_user)


def from_rows(session, report: Report) -> bytes:
    """The vector of *report* as its rows in report_values give it."""
    rows = {row.field_key: {"micros": row.micros, "applies": row.applies} for row in
            session.scalars(select(ReportValue).where(ReportValue.report_id == report.id))}
    version = session.get(TemplateVersion, report.template_version_id)
    return pack_rows(rows.get(f.key) for f in stored_fields(version.definition))


def out_of_step(session) -> list[tuple[int, str]]:
    """The reports whose vector differs from their rows (unit, period)."""
    session.expire_all()
    reports = session.scalars(select(Report).options(undefer(Report.figures))).all()
    assert reports
    return [(r.unit_id, r.period) for r in reports if r.figures != from_rows(session, r)]


def decoded(session, world, unit: str, period: str) -> dict[str, tuple[int, int]]:
    """The unit's vector of *period*: field -> (millionths, flags)."""
    session.expire_all()
    report = session.scalar(select(Report).options(undefer(Report.figures)).where(
        Report.unit_id == world["units"][unit].id, Report.period == period))
    numbers, flags = unpack(report.figures)
    keys = [f.key for f in stored_fields(
        session.get(TemplateVersion, report.template_version_id).definition)]
    return {key: (numbers[at], flags[at]) for at, key in enumerate(keys)}


def test_a_save_packs_the_figures_and_the_workflow_leaves_them(world, session):
    save(session, world, "v1", "V1", "2024Q3", {"found": 5})
    assert decoded(session, world, "V1", "2024Q3") == {"found": (5_000_000, 0),
                                                       "rectified": (0, BLANK)}
    send(session, world, "v1", "V1", "2024Q3", {"found": 6, "rectified": 2})
    packed = decoded(session, world, "V1", "2024Q3")
    assert packed == {"found": (6_000_000, 0), "rectified": (2_000_000, 0)}
    town = world["users"]["t1-hz"]
    with unit_of_work(session):
        reporting.return_report(session, town,
                                reporting.load(session, town, KEY, "V1", "2024Q3"), "请核实")
    assert decoded(session, world, "V1", "2024Q3") == packed
    send(session, world, "v1", "V1", "2024Q3", {"found": 7, "rectified": 2},
         approve_by="t1-hz")
    assert decoded(session, world, "V1", "2024Q3")["found"] == (7_000_000, 0)
    with unit_of_work(session):
        reporting.unapprove(session, town, reporting.load(session, town, KEY, "V1", "2024Q3"),
                            "数字有误")
    assert decoded(session, world, "V1", "2024Q3")["found"] == (7_000_000, 0)
    assert out_of_step(session) == []


def test_every_write_of_a_whole_chain_keeps_the_vectors_in_step(world, session):
    """Saves, submissions, approvals and a new template version across two periods."""
    roll_up(session, world)
    assert out_of_step(session) == []


def test_a_report_written_through_the_orm_gets_its_vector(world, session):
    version = session.scalar(select(TemplateVersion).where(TemplateVersion.key == "hazards"))
    with unit_of_work(session):
        report = Report(assignment_id=world["assignment"].id, unit_id=world["units"]["V4"].id,
                        period="2024Q3", template_version_id=version.id,
                        status=Status.APPROVED, revision=1, values={"found": 9})
        session.add(report)
    assert decoded(session, world, "V4", "2024Q3") == {"found": (9_000_000, 0),
                                                       "rectified": (0, BLANK)}
    with unit_of_work(session):
        session.get(Report, report.id).values = {"found": 9, "rectified": 4}
    assert decoded(session, world, "V4", "2024Q3")["rectified"] == (4_000_000, 0)
    assert out_of_step(session) == []


def test_new_tags_repack_what_applies(world, session):
    """A field that applies only to units tagged 危化: tagging the unit makes it apply to
    its stored report (a blank now counted as one), untagging takes it out again."""
    tagged = {**POSTS, "applies_when": "unit_has('危化')"}
    with unit_of_work(session):
        template_service.publish(session, definition((*V1_FIELDS, tagged)), origin="upload")
        assignment_service.replace_version(session, world["assignment"],
                                           template_service.get_version(session, "hazards", 2),
                                           "2024Q3")
    send(session, world, "v1", "V1", "2024Q3", {"found": 5, "posts": 3}, approve_by="t1-hz")
    assert decoded(session, world, "V1", "2024Q3")["posts"] == (0, BLANK | OFF)
    with unit_of_work(session):
        set_tags(session, world["units"]["V1"], "危化")
    assert decoded(session, world, "V1", "2024Q3")["posts"] == (0, BLANK)
    assert rollup.rollup(session, world["assignment"], world["units"]["T1"],
                         "2024Q3").counts["posts"].blank == 1
    with unit_of_work(session):
        set_tags(session, world["units"]["V1"], [])
    assert decoded(session, world, "V1", "2024Q3")["posts"] == (0, BLANK | OFF)
    assert out_of_step(session) == []


def test_like_for_like_maps_the_figures_of_another_version_by_key(world, session):
    """2024Q4 is on version 2 (with posts); V2's latest approved report before it is on
    version 1, without posts: its found compares like for like, its posts are all new."""
    roll_up(session, world)
    send(session, world, "v1", "V1", "2024Q4", {"found": 6, "posts": 3}, approve_by="t1-hz")
    send(session, world, "v2", "V2", "2024Q4", {"found": 4, "posts": 1}, approve_by="t1-hz")
    rolled = rollup.rollup(session, world["assignment"], world["units"]["T1"], "2024Q4")
    assert rolled.values["found"] == 6 + 4 and rolled.values["posts"] == 3 + 1
    assert rolled.previous_values["found"] == 5 + 3
    assert rolled.previous_values["posts"] == 2
    assert rolled.increments["posts"] == 4 - 2
    falls = rollup.unit_falls(session, world["assignment"], world["units"]["T1"], "2024Q4")
    assert falls == []
    # 2025Q1: V2's found falls from 4 to 2 (a correction, explained), approved.
    user, town = world["users"]["v2"], world["users"]["t1-hz"]
    view = reporting.load(session, user, KEY, "V2", "2025Q1")
    with unit_of_work(session):
        reporting.save(session, user, view, {**HEADER, "found": 2, "posts": 1},
                       explanations={"found": "更正了重复统计"})
        reporting.submit(session, user, view, now=datetime(2025, 4, 2, tzinfo=UTC))
        reporting.approve(session, town, reporting.load(session, town, KEY, "V2", "2025Q1"),
                          acknowledged=True)
    falls = rollup.unit_falls(session, world["assignment"], world["units"]["T1"], "2025Q1")
    assert [(f.unit_id, f.field_key, f.value, f.previous, f.previous_period)
            for f in falls] == [(world["units"]["V2"].id, "found", 2, 4, "2024Q4")]
    rolled = rollup.rollup(session, world["assignment"], world["units"]["T1"], "2025Q1",
                           falls=True)
    assert rolled.falls == falls


def test_a_roll_up_in_a_new_session_reads_the_other_versions_first(world, session):
    """As in a new request, nothing loaded: V2's latest approved report before 2024Q4 is
    on version 1, which the roll-up reads before the reports stream (on PostgreSQL no
    statement can run on the connection while they do: one would be refused)."""
    roll_up(session, world)
    send(session, world, "v1", "V1", "2024Q4", {"found": 6, "posts": 3}, approve_by="t1-hz")
    send(session, world, "v2", "V2", "2024Q4", {"found": 4, "posts": 1}, approve_by="t1-hz")
    loaded = rollup.rollup(session, world["assignment"], world["units"]["T1"], "2024Q4")
    assignment_id, town_id = world["assignment"].id, world["units"]["T1"].id
    session.expunge_all()
    fresh = rollup.rollup(session, session.get(Assignment, assignment_id),
                          session.get(Unit, town_id), "2024Q4", falls=True)
    assert fresh.previous_values["found"] == 5 + 3 and fresh.increments["posts"] == 4 - 2
    assert (fresh.values, fresh.previous_values, fresh.falls) == (
        loaded.values, loaded.previous_values, [])


def test_no_statement_runs_on_a_connection_while_roll_up_rows_stream(session):
    """On PostgreSQL the driver holds the connection until the last streamed row, so a
    statement there would wait for ever: it is refused at once, on both databases, and
    the connection serves again once the rows are read (or the reading is abandoned)."""
    connection = session.connection()
    rows = rollup._rows(connection, select(literal(1)).union_all(select(literal(2))))
    first = next(rows)
    with pytest.raises(RuntimeError, match="streaming"):
        session.execute(select(literal(3)))
    assert [first, *rows] == [(1,), (2,)]
    assert session.execute(select(literal(3))).scalar() == 3
    abandoned = rollup._rows(connection, select(literal(1)).union_all(select(literal(2))))
    assert next(abandoned) == (1,)
    abandoned.close()
    assert session.execute(select(literal(4))).scalar() == 4


def test_the_migration_packs_the_stored_rows_and_can_be_undone(empty_engine):
    """Reports stored before 0030 get their vector from their rows; downgraded, the column
    goes; upgraded again, the same vectors."""
    migrate.upgrade(empty_engine, "0031")  # the revision 0030 follows
    with empty_engine.begin() as connection:
        def insert(sql: str, **values) -> int:
            return migration_rows.insert(connection, sql, **values)

        unit, version = migration_rows.village_and_template(
            connection, definition(V2_FIELDS).model_dump_json())
        assignment = insert(
            "INSERT INTO assignments (key, template_key, root_unit_id, consolidating_unit_id, "
            "unit_kinds, include_root, first_period, last_period, active, created_at, phases,"
            " shift_to_workday) VALUES ('a', 'hazards', :unit, :unit, '', :yes, '2024Q2',"
            " '2025Q4', :yes, :now, '[]', :no)", unit=unit, yes=True, no=False,
            now=datetime(2024, 4, 1))
        reports = [insert(
            "INSERT INTO reports (assignment_id, unit_id, period, template_version_id, status,"
            " revision, \"values\", remarks, explanations, late, created_at, updated_at) VALUES"
            " (:assignment, :unit, :period, :version, 'approved', 1, '{}', '', '{}', :no,"
            " :now, :now)", assignment=assignment, unit=unit, period=period, version=version,
            no=False, now=datetime(2024, 10, 1)) for period in ("2024Q2", "2024Q3")]
        rows = {"found": (True, 3_000_000), "rectified": (True, None), "posts": (False, None)}
        for key, (applies, micros) in rows.items():
            connection.execute(text(
                "INSERT INTO report_values (report_id, field_key, assignment_id, unit_id, "
                "period, status, applies, micros) VALUES (:report, :key, :assignment, :unit,"
                " '2024Q2', 'approved', :applies, :micros)"), dict(
                    report=reports[0], key=key, assignment=assignment, unit=unit,
                    applies=applies, micros=micros))
    migrate.upgrade(empty_engine, "0030")

    def vectors() -> dict[int, tuple[list[int], list[int]]]:
        with empty_engine.connect() as connection:
            found = {}
            for report_id, figures in connection.execute(text(
                    "SELECT id, figures FROM reports ORDER BY id")):
                numbers, flags = unpack(figures)
                found[report_id] = (list(numbers), list(flags))
            return found

    keys = [f.key for f in stored_fields(definition(V2_FIELDS))]
    first = vectors()
    assert dict(zip(keys, zip(*first[reports[0]], strict=True), strict=True)) == {
        "found": (3_000_000, 0), "rectified": (0, BLANK), "posts": (0, BLANK | OFF)}
    # A report without rows (never saved) has every field absent: counted nowhere.
    assert first[reports[1]][0] == [0, 0, 0] and BLANK not in first[reports[1]][1]
    migrate.downgrade(empty_engine, "0031")
    assert "figures" not in {c["name"] for c in inspect(empty_engine).get_columns("reports")}
    migrate.upgrade(empty_engine)
    assert vectors() == first
