"""Template drafts of the web designer

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'template_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template_key', sa.String(length=64), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=True),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('definition_json', sa.Text(), nullable=False),
        sa.Column('import_json', sa.Text(), nullable=True),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_template_drafts_created_by_id_users')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_template_drafts_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_template_drafts')),
    )
    with op.batch_alter_table('template_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_drafts_template_key'), ['template_key'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('template_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_drafts_template_key'))
    op.drop_table('template_drafts')
