"""Reminder policies on assignments, opting out of reminders, and the 一键催报 audit

Revision ID: 0018
Revises: 0021
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0018'
down_revision = '0021'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite's batch mode would rebuild tables others reference.
    # NULL policy: the defaults (server.services.reminders.DEFAULT_POLICY).
    op.add_column('assignments', sa.Column('reminder_policy', JSON, nullable=True))
    op.add_column('users', sa.Column('reminders_opt_out', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_table(
        'reminder_chases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE',
                                name=op.f('fk_reminder_chases_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE',
                                name=op.f('fk_reminder_chases_unit_id_units')),
        sa.ForeignKeyConstraint(['by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_reminder_chases_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_chases')),
    )
    op.create_index('ix_reminder_chases_lookup', 'reminder_chases',
                    ['assignment_id', 'period', 'unit_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_reminder_chases_lookup', table_name='reminder_chases')
    op.drop_table('reminder_chases')
    for table, column in (('users', 'reminders_opt_out'), ('assignments', 'reminder_policy')):
        if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
