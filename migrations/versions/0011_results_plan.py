"""Results within the retest plan: the retests run when an investigation closed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # How many retests an investigation's plan had used when it closed: after a laboratory
    # cause it still grants one replacement result when none is left (domain.md §5).
    with op.batch_alter_table("investigation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retests_at_close", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("investigation", schema=None) as batch_op:
        batch_op.drop_column("retests_at_close")
