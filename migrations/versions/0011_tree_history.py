"""A tree with history (units' reporting dates, dated placements) and closed periods

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PathString = sa.String(1000).with_variant(sa.String(1000, collation='C'), 'postgresql')


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite's batch mode would rebuild a table others reference.
    op.add_column('units', sa.Column('reports_from', sa.Date(), nullable=True))
    op.add_column('units', sa.Column('stops_on', sa.Date(), nullable=True))
    op.create_table(
        'unit_placements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('path', PathString, nullable=False),
        sa.Column('depth', sa.Integer(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE',
                                name=op.f('fk_unit_placements_unit_id_units')),
        sa.ForeignKeyConstraint(['parent_id'], ['units.id'],
                                name=op.f('fk_unit_placements_parent_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_placements')),
    )
    op.create_index(op.f('ix_unit_placements_unit_id'), 'unit_placements', ['unit_id'])
    op.create_index(op.f('ix_unit_placements_path'), 'unit_placements', ['path'])
    # Every existing unit has stood where it is since the beginning.
    op.execute('INSERT INTO unit_placements (unit_id, parent_id, path, depth) '
               'SELECT id, parent_id, path, depth FROM units')
    op.create_table(
        'period_closures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reopened_by_id', sa.Integer(), nullable=True),
        sa.Column('reopen_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_period_closures_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_period_closures_unit_id_units')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'],
                                name=op.f('fk_period_closures_closed_by_id_users')),
        sa.ForeignKeyConstraint(['reopened_by_id'], ['users.id'],
                                name=op.f('fk_period_closures_reopened_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_period_closures')),
    )
    op.create_index('ix_period_closures_lookup', 'period_closures',
                    ['assignment_id', 'period', 'unit_id'])


def downgrade() -> None:
    op.drop_index('ix_period_closures_lookup', table_name='period_closures')
    op.drop_table('period_closures')
    op.drop_index(op.f('ix_unit_placements_path'), table_name='unit_placements')
    op.drop_index(op.f('ix_unit_placements_unit_id'), table_name='unit_placements')
    op.drop_table('unit_placements')
    for column in ('stops_on', 'reports_from'):
        if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
            op.execute(f'ALTER TABLE units DROP COLUMN {column}')
        else:
            op.drop_column('units', column)
