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
