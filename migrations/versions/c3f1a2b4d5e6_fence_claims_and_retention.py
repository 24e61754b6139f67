"""fence claims with a generation, and mark account mail whose body goes once sent

Every claim bumps `claim_generation`, and every later change of the claimed row checks
it together with the owner: a sender whose lease ran out and was taken over changes
nothing. `sensitive` mail (account links) loses its body in the statement that marks
it sent.

Revision ID: c3f1a2b4d5e6
Revises: 147b956ce4ed
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3f1a2b4d5e6'
down_revision = '147b956ce4ed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('claim_generation', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column('sensitive', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_column('sensitive')
        batch_op.drop_column('claim_generation')
