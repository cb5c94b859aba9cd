"""Each unit's reports of an assignment with their status, indexed for the roll-up

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The roll-up reads which children are counted and each one's latest approved period
    # from the index alone, never the wide rows with their JSON documents.
    op.create_index('ix_reports_rollup', 'reports',
                    ['assignment_id', 'unit_id', 'period', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_rollup', table_name='reports')
