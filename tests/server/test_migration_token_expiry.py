"""Upgrading a database that already has tokens: they get an expiry, and the tokens of
accounts disabled before the upgrade are revoked (disabling revokes them from now on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Integer, column, select, table, text

from server import migrate


def test_existing_tokens_get_an_expiry_and_disabled_accounts_lose_theirs(empty_engine):
    migrate.upgrade(empty_engine, "0003")
    created = datetime(2024, 1, 1, tzinfo=UTC)
    with empty_engine.begin() as connection:
        for user_id, name, active in ((1, "ann", True), (2, "bob", False)):
            connection.execute(text(
                "INSERT INTO users (id, username, password_hash, role, active, session_token,"
                " created_at) VALUES (:id, :name, 'x', 'admin', :active, :token, :created)"),
                {"id": user_id, "name": name, "active": active, "token": name * 4,
                 "created": created})
            connection.execute(text(
                "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at)"
                " VALUES (:id, :id, '', :prefix, :hash, :created)"),
                {"id": user_id, "prefix": f"tb_{name}", "hash": name * 16, "created": created})
    before = datetime.now(UTC)
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        tokens = table("api_tokens", column("id", Integer()),
                       column("expires_at", DateTime(timezone=True)),
                       column("revoked_at", DateTime(timezone=True)))
        rows = {row.id: row for row in connection.execute(select(tokens))}

    def utc(moment):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    for row in rows.values():
        assert before + timedelta(days=89) < utc(row.expires_at) < before + timedelta(days=91)
    assert rows[1].revoked_at is None
    assert rows[2].revoked_at is not None
    migrate.downgrade(empty_engine, "0003")
    migrate.upgrade(empty_engine)
