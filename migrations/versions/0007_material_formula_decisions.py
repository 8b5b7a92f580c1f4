"""Row locks and four eyes on lots and formulas, API lot assay basis and monograph limits.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("material") as batch_op:
        batch_op.add_column(sa.Column("assay_min_percent", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("assay_max_percent", sa.Float(), nullable=True))
    with op.batch_alter_table("material_lot") as batch_op:
        batch_op.add_column(sa.Column("assay_basis", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("row_version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("formula_version") as batch_op:
        batch_op.add_column(sa.Column("row_version", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("formula_version") as batch_op:
        batch_op.drop_column("row_version")
    with op.batch_alter_table("material_lot") as batch_op:
        batch_op.drop_column("row_version")
        batch_op.drop_column("assay_basis")
    with op.batch_alter_table("material") as batch_op:
        batch_op.drop_column("assay_max_percent")
        batch_op.drop_column("assay_min_percent")
