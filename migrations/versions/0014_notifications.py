"""The notification outbox, and where notifications reach an account

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None

USER_COLUMNS = ('email', 'mobile', 'wecom_userid', 'notify_on_submission')


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite's batch mode would rebuild the referenced users table.
    op.add_column('users', sa.Column('email', sa.String(length=254), nullable=True))
    op.add_column('users', sa.Column('mobile', sa.String(length=32), nullable=True))
    op.add_column('users', sa.Column('wecom_userid', sa.String(length=64), nullable=True))
    op.add_column('users', sa.Column('notify_on_submission', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('assignment_key', sa.String(length=64), nullable=False),
        sa.Column('unit_code', sa.String(length=64), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('step', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'dead')",
                           name=op.f('ck_notifications_status_known')),
        sa.CheckConstraint("channel IN ('app', 'email', 'wecom', 'dingtalk', 'sms')",
                           name=op.f('ck_notifications_channel_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('channel', 'recipient', 'assignment_key', 'unit_code', 'period',
                            'kind', 'step', name='uq_notifications_idempotency'),
    )
    op.create_index('ix_notifications_status_next_try_at', 'notifications',
                    ['status', 'next_try_at'], unique=False)
    op.create_index('ix_notifications_user_id_channel_read_at', 'notifications',
                    ['user_id', 'channel', 'read_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notifications_user_id_channel_read_at', table_name='notifications')
    op.drop_index('ix_notifications_status_next_try_at', table_name='notifications')
    op.drop_table('notifications')
    for column in reversed(USER_COLUMNS):
        if op.get_bind().dialect.name == 'sqlite':  # 3.35+ drops a column in place
            op.execute(f'ALTER TABLE users DROP COLUMN {column}')
        else:
            op.drop_column('users', column)
