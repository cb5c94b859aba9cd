"""Event reports: the time, place and attachments of each event, on reports and revisions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (see 0008: batch mode would rebuild tables).
    op.add_column('reports', sa.Column('event_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('event', JSON, nullable=True))
    op.add_column('revisions', sa.Column('event', JSON, nullable=True))
    op.create_index('ix_reports_event_at', 'reports', ['event_at'])


def downgrade() -> None:
    op.drop_index('ix_reports_event_at', table_name='reports')
    columns = (('revisions', 'event'), ('reports', 'event'), ('reports', 'event_at'))
    for table, column in columns:
        if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
