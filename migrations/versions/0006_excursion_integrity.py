"""Late readings, back-dated moves, beyond-allowance and data-gap excursions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("gap_minutes", sa.Float(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.drop_column("gap_minutes")
        batch_op.drop_column("reason")
