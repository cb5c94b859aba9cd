"""Initial schema: the organisation tree, accounts and login attempts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Byte-wise ordering of materialised paths on PostgreSQL (see server/models/units.py).
PATH_TYPE = sa.String(length=1000).with_variant(sa.String(length=1000, collation="C"),
                                                "postgresql")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", PATH_TYPE, nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=True),
        sa.Column("contact_phone", sa.String(length=50), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"],
                                name=op.f("fk_units_parent_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    op.create_index("ix_units_name", "units", ["name"])
    op.create_index(op.f("ix_units_parent_id"), "units", ["parent_id"])
    op.create_index(op.f("ix_units_path"), "units", ["path"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("session_token", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role = 'admin' OR unit_id IS NOT NULL",
                           name=op.f("ck_users_unit_required")),
        sa.CheckConstraint("role IN ('submitter', 'consolidator', 'admin')",
                           name=op.f("ck_users_role_known")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_users_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_unit_id"), "users", ["unit_id"])

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_at"), "login_attempts", ["at"])
    op.create_index("ix_login_attempts_username_ip_at", "login_attempts",
                    ["username", "ip", "at"])


def downgrade() -> None:
    op.drop_table("login_attempts")
    op.drop_table("users")
    op.drop_table("units")
