"""Reports' numeric figures as rows the database adds up (report_values), backfilled

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_values',
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('field_key', sa.String(length=64), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('applies', sa.Boolean(), nullable=False),
        sa.Column('micros', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE',
                                name=op.f('fk_report_values_report_id_reports')),
        sa.PrimaryKeyConstraint('report_id', 'field_key', name=op.f('pk_report_values')),
    )
    op.create_index('ix_report_values_rollup', 'report_values',
                    ['assignment_id', 'period', 'unit_id', 'field_key', 'status', 'applies',
                     'micros'], unique=False)
    # The stored reports' figures, read once from their JSON documents (the record).
    from server.services.report_values import backfill
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_report_values_rollup', table_name='report_values')
    op.drop_table('report_values')
