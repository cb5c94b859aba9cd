"""Phases on assignments: the template's phases adjusted or extended per assignment

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite's batch mode would rebuild a table others reference.
    op.add_column('assignments', sa.Column('phases', JSON, nullable=False,
                                           server_default=sa.text("'[]'")))
    op.add_column('assignments', sa.Column('due_phase', sa.String(64), nullable=True))


def downgrade() -> None:
    for column in ('due_phase', 'phases'):
        if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
            op.execute(f'ALTER TABLE assignments DROP COLUMN {column}')
        else:
            op.drop_column('assignments', column)
