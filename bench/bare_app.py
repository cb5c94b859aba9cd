"""The floor of an API save: a bare Flask app doing one insert per PUT.

``bench/load.py --bare`` serves it with the same gunicorn settings as the
application, and its savers talk to it exactly as to the report API: GET answers
the latest revision of the report (one ``SELECT``), PUT inserts the value as the
next revision (one ``INSERT``, committed before the answer) and answers it, and
``/history`` lists the rows for the audit. No accounts, no validation, no
ORM: what is left is Flask, the database driver and one statement per request.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

from server.db import make_engine

TABLE = "bare_saves"
COLUMNS = "unit VARCHAR(64) NOT NULL, number INTEGER NOT NULL, value VARCHAR(200) NOT NULL"
CREATE = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
              f"{COLUMNS})",
    "postgresql": f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER GENERATED ALWAYS AS "
                  f"IDENTITY PRIMARY KEY, {COLUMNS})",
}
REPORT = "/api/v1/reports/<assignment>/<unit>/<period>"


def engine_for(url: str):
    """An engine as the application's on SQLite (``server.db.make_engine``: WAL mode, a
    busy timeout, a process's writers queued); PostgreSQL's pings each connection it
    takes from the pool."""
    if url.startswith("sqlite"):
        return make_engine(url)
    return create_engine(url, pool_pre_ping=True)


def create_table(url: str) -> None:
    """The table the bare app inserts into (created once, before the workers start)."""
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(text(CREATE[engine.dialect.name]))
    engine.dispose()


def create_bare_app() -> Flask:
    app = Flask(__name__)
    engine = engine_for(os.environ["DATABASE_URL"])

    def latest(connection, unit: str) -> int:
        return connection.execute(text(f"SELECT count(*) FROM {TABLE} WHERE unit = :unit"),
                                  {"unit": unit}).scalar_one()

    @app.get("/api/v1/openapi.json")
    def ready():  # what load.py asks to know the server answers
        return jsonify(openapi="3.1.0")

    @app.get(REPORT)
    def get_report(assignment: str, unit: str, period: str):
        with engine.connect() as connection:
            return jsonify(revision=latest(connection, unit))

    @app.put(REPORT)
    def put_report(assignment: str, unit: str, period: str):
        value = request.get_json()["values"]["reporter"]
        number = int(request.headers["If-Match"].strip('"')) + 1
        with engine.begin() as connection:
            connection.execute(text(f"INSERT INTO {TABLE} (unit, number, value) "
                                    "VALUES (:unit, :number, :value)"),
                               {"unit": unit, "number": number, "value": value})
        return jsonify(revision=number, values={"reporter": value})

    @app.get(REPORT + "/history")
    def history(assignment: str, unit: str, period: str):
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT number, value FROM {TABLE} "
                                           "WHERE unit = :unit ORDER BY id"), {"unit": unit})
            return jsonify(revisions=[{"number": n, "values": {"reporter": v}} for n, v in rows])

    return app


if "DATABASE_URL" in os.environ and os.environ.get("TIANBAO_BARE") == "1":
    app = create_bare_app()
