"""Explanations (说明) beside flagged figures, kept with each revision

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: SQLite's batch mode would rebuild (drop)
    # tables that other tables reference, which fails with data in them.
    for table in ('reports', 'revisions'):
        op.add_column(table, sa.Column('explanations', JSON, nullable=False,
                                       server_default=sa.text("'{}'")))


def downgrade() -> None:
    for table in ('revisions', 'reports'):
        if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
            op.execute(f'ALTER TABLE {table} DROP COLUMN explanations')
        else:
            op.drop_column(table, 'explanations')
