"""Rows written in plain SQL at an older revision, for the tests of a migration that
fills something from them (the models know columns later migrations add)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text


def insert(connection: Connection, sql: str, **values) -> int:
    """Run an INSERT and answer the new row's id."""
    return connection.execute(text(sql + " RETURNING id"), values).scalar_one()


def village_and_template(connection: Connection, definition_json: str) -> tuple[int, int]:
    """A root village ``V`` and version 1 of template ``hazards``: their ids."""
    unit = insert(connection, "INSERT INTO units (code, name, kind, path, depth, active) "
                  "VALUES ('V', '村', 'village', '/1/', 0, :yes)", yes=True)
    version = insert(
        connection,
        "INSERT INTO template_versions (key, version, title, definition_json, checksum, "
        "origin, created_at, retired) VALUES ('hazards', 1, '隐患', :definition, 'x', "
        "'upload', :now, :no)", no=False, definition=definition_json,
        now=datetime(2024, 4, 1))
    return unit, version
