"""Unit paths with fixed-width ids, so that siblings sort in the order they were created

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0031'
down_revision = '0029'
branch_labels = None
depends_on = None

DIGITS = 10  # server.models.units.ID_DIGITS when this migration was written
BATCH = 5000
# Every column holding a materialised path of unit ids.
COLUMNS = (('units', 'id', 'path'), ('unit_placements', 'id', 'path'),
           ('audit_events', 'id', 'unit_path'))


def _padded(path: str) -> str:
    return '/' + ''.join(f'{int(part):0{DIGITS}d}/' for part in path.strip('/').split('/')
                         if part)


def _plain(path: str) -> str:
    return '/' + ''.join(f'{int(part)}/' for part in path.strip('/').split('/') if part)


def _rewrite(change) -> None:
    """Each path rewritten by *change*, in batches of plain UPDATEs by id (Core: the
    models may have changed since)."""
    bind = op.get_bind()
    for table_name, key, column in COLUMNS:
        table = sa.table(table_name, sa.column(key, sa.Integer), sa.column(column, sa.String))
        statement = (sa.update(table).where(table.c[key] == sa.bindparam('k'))
                     .values({column: sa.bindparam('p')}))
        rows = bind.execute(sa.select(table.c[key], table.c[column])
                            .where(table.c[column].is_not(None))).all()
        changed = [{'k': row[0], 'p': change(row[1])} for row in rows
                   if change(row[1]) != row[1]]
        for start in range(0, len(changed), BATCH):
            bind.execute(statement, changed[start:start + BATCH])


def upgrade() -> None:
    _rewrite(_padded)


def downgrade() -> None:
    _rewrite(_plain)
