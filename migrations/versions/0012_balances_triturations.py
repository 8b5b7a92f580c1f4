"""Balances with their daily checks, weighings that name one, intermediate materials and the
lots trituration batches make.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

from qa_app.database import create_append_only_triggers, drop_append_only_triggers
from qa_app.models.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "balance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("readability_mg", sa.Float(), nullable=False),
        sa.Column("repeatability_sd_mg", sa.Float(), nullable=False),
        sa.Column("capacity_g", sa.Float(), nullable=False),
        sa.Column("qualified_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("readability_mg > 0", name=op.f("ck_balance_positive_readability")),
        sa.CheckConstraint("repeatability_sd_mg > 0", name=op.f("ck_balance_positive_repeatability")),
        sa.CheckConstraint("capacity_g > 0", name=op.f("ck_balance_positive_capacity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance")),
        sa.UniqueConstraint("code", name=op.f("uq_balance_code")),
    )
    op.create_table(
        "balance_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("balance_id", sa.Integer(), nullable=False),
        sa.Column("nominal_mg", sa.Float(), nullable=False),
        sa.Column("observed_mg", sa.Float(), nullable=False),
        sa.Column("error_percent", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["balance_id"], ["balance.id"], name=op.f("fk_balance_check_balance_id_balance")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name=op.f("fk_balance_check_recorded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_check")),
    )
    op.create_index(op.f("ix_balance_check_balance_id"), "balance_check", ["balance_id"], unique=False)
    op.create_index("ix_balance_check_balance_date", "balance_check", ["balance_id", "local_date"], unique=False)
    create_append_only_triggers(op, "balance_check")

    with op.batch_alter_table("batch_component", schema=None) as batch_op:
        batch_op.add_column(sa.Column("balance_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("balance_minimum_mg", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_batch_component_balance_id"), ["balance_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_batch_component_balance_id_balance"), "balance", ["balance_id"], ["id"]
        )
    with op.batch_alter_table("material", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_material_known_kind"), type_="check")
        batch_op.create_check_constraint(
            "known_kind", "kind IN ('api', 'excipient', 'container', 'intermediate')"
        )
    with op.batch_alter_table("material_lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("produced_by_batch_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_material_lot_produced_by_batch_id"), ["produced_by_batch_id"]
        )
        batch_op.create_foreign_key(
            "fk_material_lot_produced_by_batch_id_batch", "batch", ["produced_by_batch_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("material_lot", schema=None) as batch_op:
        batch_op.drop_constraint("fk_material_lot_produced_by_batch_id_batch", type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_material_lot_produced_by_batch_id"), type_="unique")
        batch_op.drop_column("produced_by_batch_id")
    op.execute("DELETE FROM material WHERE kind = 'intermediate'")
    with op.batch_alter_table("material", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_material_known_kind"), type_="check")
        batch_op.create_check_constraint("known_kind", "kind IN ('api', 'excipient', 'container')")
    with op.batch_alter_table("batch_component", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_batch_component_balance_id_balance"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_batch_component_balance_id"))
        batch_op.drop_column("balance_minimum_mg")
        batch_op.drop_column("balance_id")
    drop_append_only_triggers(op, "balance_check")
    op.drop_index("ix_balance_check_balance_date", table_name="balance_check")
    op.drop_index(op.f("ix_balance_check_balance_id"), table_name="balance_check")
    op.drop_table("balance_check")
    op.drop_table("balance")
