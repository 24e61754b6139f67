"""claim queued mail in order from an index

The claim sorted every due row on each call; this index holds them by status in claim
order (priority first, then the due time), and also serves what ix_mail_outbox_due did.

Revision ID: 147b956ce4ed
Revises: bf7456037b6c
Create Date: 2026-11-21 11:28:03.866193

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '147b956ce4ed'
down_revision = 'bf7456037b6c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(
            'ix_mail_outbox_queue',
            ['status', sa.literal_column('priority DESC'), 'next_attempt_at'],
            unique=False,
        )
        batch_op.drop_index('ix_mail_outbox_due')


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.drop_index('ix_mail_outbox_queue')
