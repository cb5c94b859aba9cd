"""The migrations build exactly the schema the models describe, and can be undone."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import server.models  # noqa: F401
from server import migrate
from server.db import Base, database


def test_migrated_schema_matches_the_models(app):
    engine = database(app).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_database_is_at_the_newest_revision(app):
    assert migrate.is_up_to_date(database(app).engine)


def test_downgrade_and_upgrade_again(empty_engine):
    """On a database of its own: every revision can be undone and redone."""
    engine = empty_engine
    migrate.upgrade(engine)
    assert {"units", "users", "login_attempts"} <= set(inspect(engine).get_table_names())
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert "units" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_the_roll_up_index_of_reports_is_added_and_taken_away(empty_engine):
    """0029 indexes reports for the roll-up; on SQLite a database that keeps planner
    statistics gets them for the new index too (without them SQLite scanned an
    assignment's reports for every child)."""
    from sqlalchemy import text

    engine = empty_engine
    migrate.upgrade(engine, "0028")
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:  # a table with rows (SQLite keeps no statistics of an empty one), analyzed
        with engine.begin() as connection:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            for unit_id in (1, 2, 3):
                connection.execute(text(
                    "INSERT INTO reports (assignment_id, unit_id, period, template_version_id,"
                    " status, revision, \"values\", remarks, explanations, late, created_at,"
                    " updated_at) VALUES (1, :unit, '2024Q3', 1, 'approved', 1, '{}', '',"
                    " '{}', 0, '2024-10-01', '2024-10-01')"), {"unit": unit_id})
            connection.execute(text("ANALYZE"))
    migrate.upgrade(engine, "0029")
    assert "ix_reports_rollup" in {i["name"] for i in inspect(engine).get_indexes("reports")}
    if sqlite:
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'ix_reports_rollup'")
            ).scalar() == 1
    migrate.downgrade(engine, "0028")
    assert "ix_reports_rollup" not in {i["name"] for i in inspect(engine).get_indexes("reports")}


def test_paths_get_fixed_width_ids_and_back(empty_engine):
    """0031 writes every stored path (units, their placements, the audit log) with ten-digit
    ids, so siblings sort as created; undone, the paths are as they were."""
    from sqlalchemy import text

    engine = empty_engine
    migrate.upgrade(engine, "0029")
    plain = {1: "/1/", 9: "/1/9/", 10: "/1/10/", 100: "/1/10/100/"}
    with engine.begin() as connection:
        for unit_id, path in plain.items():
            connection.execute(text(
                "INSERT INTO units (id, code, name, kind, path, depth, active) VALUES "
                "(:id, :code, 'U', 'town', :path, 0, :yes)"),
                {"id": unit_id, "code": f"U{unit_id}", "path": path, "yes": True})
            connection.execute(text(
                "INSERT INTO unit_placements (unit_id, path, depth) VALUES (:id, :path, 0)"),
                {"id": unit_id, "path": path})
        connection.execute(text(
            "INSERT INTO audit_events (at, kind, unit_id, unit_path, target, details, ip) "
            "VALUES ('2024-10-01', 'unit_moved', 100, '/1/10/100/', '', '{}', '')"))

    def stored():
        with engine.connect() as connection:
            return (dict(connection.execute(text("SELECT id, path FROM units")).all()),
                    dict(connection.execute(text(
                        "SELECT unit_id, path FROM unit_placements")).all()),
                    connection.execute(text("SELECT unit_path FROM audit_events")).scalar())

    migrate.upgrade(engine, "0031")
    units, placements, audited = stored()
    assert units == placements == {
        1: "/0000000001/", 9: "/0000000001/0000000009/", 10: "/0000000001/0000000010/",
        100: "/0000000001/0000000010/0000000100/"}
    assert audited == "/0000000001/0000000010/0000000100/"
    assert sorted(units, key=units.get) == [1, 9, 10, 100]  # 9 before 10 now
    migrate.downgrade(engine, "0029")
    assert stored() == (plain, plain, "/1/10/100/")
