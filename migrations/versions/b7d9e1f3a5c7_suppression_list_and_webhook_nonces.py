"""suppression list and webhook nonces

mail_suppression: one row per address that hard-bounced, was reported as bounced or
complaining by a sending service (suppressed while `active`), or soft-bounced (counted).
mail_suppression_event: each suppression and lift, for the admin page's history.
webhook_nonce: each provider post's nonce, kept until the post would be stale (replays).

Revision ID: b7d9e1f3a5c7
Revises: a9c1d3e5f7b2
Create Date: 2026-11-28 19:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d9e1f3a5c7'
down_revision = 'a9c1d3e5f7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_suppression',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=True),
        sa.Column('source', sa.String(length=32), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('since', sa.DateTime(), nullable=True),
        sa.Column('soft_bounces', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_soft_bounce_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('address'),
    )
    op.create_table(
        'mail_suppression_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=320), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('mail_suppression_event', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_mail_suppression_event_address'), ['address'], unique=False
        )
    op.create_table(
        'webhook_nonce',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('provider', 'digest', name='uq_webhook_nonce'),
    )
    with op.batch_alter_table('webhook_nonce', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_nonce_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_nonce', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_nonce_expires_at'))
    op.drop_table('webhook_nonce')
    with op.batch_alter_table('mail_suppression_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_suppression_event_address'))
    op.drop_table('mail_suppression_event')
    op.drop_table('mail_suppression')
