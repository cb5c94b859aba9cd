"""The calendar of days off administrators extend, due dates moved to working days, and
the table of background jobs

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch mode would rebuild the referenced assignments table.
    op.add_column('assignments', sa.Column('shift_to_workday', sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    op.create_table(
        'calendar_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('workday', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.String(length=100), nullable=False),
        sa.Column('reason_en', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_calendar_days_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
        sa.UniqueConstraint('day', name=op.f('uq_calendar_days_day')),
    )
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('params', sa.JSON().with_variant(
            postgresql.JSONB(), 'postgresql'), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=300), nullable=False),
        sa.Column('stored_as', sa.String(length=100), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name=op.f('ck_jobs_status_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_jobs_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    op.create_index('ix_jobs_user_id_created_at', 'jobs', ['user_id', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_jobs_user_id_created_at', table_name='jobs')
    op.drop_table('jobs')
    op.drop_table('calendar_days')
    if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
        op.execute('ALTER TABLE assignments DROP COLUMN shift_to_workday')
    else:
        op.drop_column('assignments', 'shift_to_workday')
