"""The blank and non-applying figures of report_values, indexed on their own

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0028'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A partial index: the roll-up takes these few figures' earlier values back out of
    # its like-for-like sums without reading the period's other rows.
    op.create_index('ix_report_values_gaps', 'report_values',
                    ['assignment_id', 'period', 'unit_id', 'field_key'], unique=False,
                    sqlite_where=sa.text('micros IS NULL OR applies = 0'),
                    postgresql_where=sa.text('micros IS NULL OR NOT applies'))


def downgrade() -> None:
    op.drop_index('ix_report_values_gaps', table_name='report_values')
