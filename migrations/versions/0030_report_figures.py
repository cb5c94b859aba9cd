"""Each report's numeric figures packed into one vector on its row (reports.figures)

Revision ID: 0030
Revises: 0031
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reports', sa.Column('figures', sa.LargeBinary(), nullable=True))
    # Every stored report's vector from its rows in report_values (the same figures, in
    # the order of its template version's stored fields), in batches of reports.
    from server.services.report_values import repack
    repack(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
        op.execute('ALTER TABLE reports DROP COLUMN figures')
    else:
        op.drop_column('reports', 'figures')
