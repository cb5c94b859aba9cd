"""Token expiry, revocation of disabled accounts' tokens, login throttling per address

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Tokens created before expiry existed get the default lifetime from the upgrade on,
# so no script stops working the moment the server is upgraded.
DEFAULT_DAYS = 90

tokens = sa.table(
    'api_tokens',
    sa.column('user_id', sa.Integer()),
    sa.column('revoked_at', sa.DateTime(timezone=True)),
    sa.column('expires_at', sa.DateTime(timezone=True)),
)
users = sa.table('users', sa.column('id', sa.Integer()), sa.column('active', sa.Boolean()))


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    now = datetime.now(UTC)
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None))
               .values(expires_at=now + timedelta(days=DEFAULT_DAYS)))
    # Disabling an account now revokes its tokens; do it for accounts disabled before.
    disabled = sa.select(users.c.id).where(users.c.active == sa.false())
    op.execute(tokens.update()
               .where(tokens.c.revoked_at.is_(None), tokens.c.user_id.in_(disabled))
               .values(revoked_at=now))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)

    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_ip_at', ['ip', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_ip_at')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
