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
