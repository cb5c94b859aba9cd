"""One audit log, and the pinyin initials of unit names for the unit picker

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0021'
down_revision = '0017'
branch_labels = None
depends_on = None

PathString = sa.String(1000).with_variant(sa.String(1000, collation='C'), 'postgresql')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('unit_path', PathString, nullable=True),
        sa.Column('target', sa.String(length=300), nullable=False),
        sa.Column('details', JSON, nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_audit_events_actor_id_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_audit_events_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    op.create_index('ix_audit_events_actor_id_at', 'audit_events', ['actor_id', 'at'])
    op.create_index('ix_audit_events_kind_at', 'audit_events', ['kind', 'at'])
    op.create_index('ix_audit_events_unit_path', 'audit_events', ['unit_path'])
    # Plain ADD COLUMN: SQLite's batch mode would rebuild a table others reference.
    op.add_column('units', sa.Column('initials', sa.String(length=200), nullable=False,
                                     server_default=''))
    _fill_initials()


def _fill_initials() -> None:
    """The initials of the units that exist already, as the application computes them."""
    from pypinyin import Style, lazy_pinyin

    connection = op.get_bind()
    units = sa.table('units', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('initials', sa.String))
    rows = connection.execute(sa.select(units.c.id, units.c.name)).all()
    changes = []
    for unit_id, name in rows:
        letters = "".join(part[:1] for part in lazy_pinyin(name or "", style=Style.FIRST_LETTER,
                                                          errors=lambda text: list(text)))
        changes.append({"unit_id": unit_id, "initials": letters.lower()[:200]})
    if changes:
        connection.execute(units.update().where(units.c.id == sa.bindparam('unit_id'))
                           .values(initials=sa.bindparam('initials')), changes)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
        op.execute('ALTER TABLE units DROP COLUMN initials')
    else:
        op.drop_column('units', 'initials')
    op.drop_index('ix_audit_events_unit_path', table_name='audit_events')
    op.drop_index('ix_audit_events_kind_at', table_name='audit_events')
    op.drop_index('ix_audit_events_actor_id_at', table_name='audit_events')
    op.drop_index('ix_audit_events_at', table_name='audit_events')
    op.drop_table('audit_events')
