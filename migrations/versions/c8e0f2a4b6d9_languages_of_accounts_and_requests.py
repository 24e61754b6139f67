"""languages of accounts and of account mail requests

users.locale: the language chosen on the account page (NULL: follow the browser).
account_mail_request.locale: the language of the page that asked, so a sender writes the
email (a pending sign-up's included) in it.

Revision ID: c8e0f2a4b6d9
Revises: b7d9e1f3a5c7
Create Date: 2026-11-28 19:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c8e0f2a4b6d9'
down_revision = 'b7d9e1f3a5c7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))
    with op.batch_alter_table('account_mail_request') as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('account_mail_request') as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('locale')
