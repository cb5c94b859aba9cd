"""Unit tags (危化, 粉尘涉爆, ...) that scope which duties of a plan apply to a unit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unit_tags',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('tag', sa.String(length=20), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE',
                                name=op.f('fk_unit_tags_unit_id_units')),
        sa.PrimaryKeyConstraint('unit_id', 'tag', name=op.f('pk_unit_tags')),
    )
    op.create_index('ix_unit_tags_tag', 'unit_tags', ['tag'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_unit_tags_tag', table_name='unit_tags')
    op.drop_table('unit_tags')
