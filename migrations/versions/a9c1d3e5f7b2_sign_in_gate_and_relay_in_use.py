"""sign-in gate and relay in use

mail_sign_in: one row per relay and login, shared by every sender of every process, so a
wrong password (or a refused token) is tried at most once per backoff step. mail_relay:
which relay the senders use (the primary, or the fallback since when and why).

Revision ID: a9c1d3e5f7b2
Revises: f6a8c9d0e1b2
Create Date: 2026-11-28 18:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a9c1d3e5f7b2'
down_revision = 'f6a8c9d0e1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_sign_in',
        sa.Column('relay', sa.String(length=600), nullable=False),
        sa.Column('proven', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_try_at', sa.DateTime(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('relay'),
    )
    op.create_table(
        'mail_relay',
        sa.Column('primary', sa.String(length=300), nullable=False),
        sa.Column('in_use', sa.String(length=300), nullable=False),
        sa.Column('since', sa.DateTime(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('primary'),
    )


def downgrade():
    op.drop_table('mail_relay')
    op.drop_table('mail_sign_in')
