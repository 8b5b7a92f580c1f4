"""The reason given for a new capsule weight check after a failed one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("weight_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("weight_check", schema=None) as batch_op:
        batch_op.drop_column("reason")
