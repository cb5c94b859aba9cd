"""A reviewer's comments on single fields of a returned report

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'field_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('field_key', sa.String(length=100), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['report_events.id'], ondelete='CASCADE',
                                name=op.f('fk_field_comments_event_id_report_events')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_field_comments_report_id_reports')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_field_comments')),
    )
    op.create_index(op.f('ix_field_comments_event_id'), 'field_comments', ['event_id'],
                    unique=False)
    op.create_index(op.f('ix_field_comments_report_id'), 'field_comments', ['report_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_field_comments_report_id'), table_name='field_comments')
    op.drop_index(op.f('ix_field_comments_event_id'), table_name='field_comments')
    op.drop_table('field_comments')
