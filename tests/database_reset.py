"""Emptying the test database between tests, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Engine, text

from server.db import Base, database


def empty_all_tables(app_or_engine: Flask | Engine) -> None:
    """Every table emptied, and ids counted from 1 again on both databases.

    SQLite gives the next row max(id) + 1, so its ids restart once the tables are
    empty; PostgreSQL's sequences are restarted to match. Otherwise a test's ids would
    depend on the tests run before it in its worker (with /1/99/ sorting after /1/100/
    as text), and parallel workers run tests in no fixed order.
    """
    engine = database(app_or_engine).engine if isinstance(app_or_engine, Flask) else app_or_engine
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        if connection.dialect.name == "postgresql":
            connection.execute(text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = current_schema()"))
