"""the outbox by status in id order

The admin outbox list filtered by status pages newest first by id, counts by status stop at
a cap, and the oldest waiting message is read off the front of its status: each is a range
of this index, so none grows with the table (a million rows answer like a hundred).

Revision ID: f6a8c9d0e1b2
Revises: d4e2b3c5f6a7
Create Date: 2026-11-28 17:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f6a8c9d0e1b2'
down_revision = 'd4e2b3c5f6a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_status_id', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_status_id')
