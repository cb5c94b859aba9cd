"""Explanations (说明) beside flagged figures, kept with each revision

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    for table in ('reports', 'revisions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('explanations', JSON, nullable=False,
                                          server_default=sa.text("'{}'")))


def downgrade() -> None:
    for table in ('revisions', 'reports'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('explanations')
