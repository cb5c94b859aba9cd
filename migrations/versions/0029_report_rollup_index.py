"""Each unit's reports of an assignment with their status, indexed for the roll-up

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The roll-up reads which children are counted and each one's latest approved period
    # from the index alone, never the wide rows with their JSON documents.
    op.create_index('ix_reports_rollup', 'reports',
                    ['assignment_id', 'unit_id', 'period', 'status'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        # A database that keeps planner statistics gets them for the new index too:
        # without them SQLite takes it for ten rows an assignment and scans those rows for
        # every child instead of looking each child up.
        op.execute('ANALYZE reports')


def downgrade() -> None:
    op.drop_index('ix_reports_rollup', table_name='reports')
