"""email-first sign-up: account mail requests resolved by the senders, emailed codes

Sign-up, resend and reset forms record only that a mail was asked for an address; the
senders decide what to send. Accounts made before this change and never confirmed stay:
they cannot log in, and a new sign-up link or a reset completes them.

Revision ID: d4e2b3c5f6a7
Revises: e5f3c4d6a7b8
Create Date: 2026-11-28 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e2b3c5f6a7'
down_revision = 'e5f3c4d6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'account_mail_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('code_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


    op.create_table(
        'email_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('seed', sa.String(length=64), nullable=False),
        sa.Column('armed_for', sa.String(length=64), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('email_code')
    op.drop_table('account_mail_request')
