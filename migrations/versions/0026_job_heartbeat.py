"""The heartbeat of a running background job, so one whose worker died can be failed

Revision ID: 0026
Revises: 0019
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0026'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN of a nullable column works on SQLite without a table rebuild.
    op.add_column('jobs', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
