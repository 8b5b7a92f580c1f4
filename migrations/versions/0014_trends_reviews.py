"""Trend signals waiting for acknowledgement and signed annual product reviews.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

from qa_app.database import create_append_only_triggers, drop_append_only_triggers
from qa_app.models.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "trend_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("formula_id", sa.Integer(), nullable=False),
        sa.Column("strength_mg", sa.Float(), nullable=False),
        sa.Column("attribute", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "attribute IN ('assay', 'cu_av', 'weight_rsd', 'yield')",
            name=op.f("ck_trend_signal_known_attribute"),
        ),
        sa.CheckConstraint("rule BETWEEN 1 AND 4", name=op.f("ck_trend_signal_nelson_rule")),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["user.id"], name=op.f("fk_trend_signal_acknowledged_by_id_user")
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_trend_signal_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["formula_id"], ["formula.id"], name=op.f("fk_trend_signal_formula_id_formula")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trend_signal")),
        sa.UniqueConstraint(
            "formula_id", "strength_mg", "attribute", "rule", "batch_id", name="uq_trend_signal_once"
        ),
    )
    op.create_index(op.f("ix_trend_signal_batch_id"), "trend_signal", ["batch_id"], unique=False)
    op.create_index(op.f("ix_trend_signal_formula_id"), "trend_signal", ["formula_id"], unique=False)
    op.create_table(
        "product_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("formula_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("conclusions", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["formula_id"], ["formula.id"], name=op.f("fk_product_review_formula_id_formula")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_product_review_signature_id_signature")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user.id"], name=op.f("fk_product_review_signed_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_review")),
        sa.UniqueConstraint("formula_id", "year", name="uq_product_review_year"),
    )
    op.create_index(op.f("ix_product_review_formula_id"), "product_review", ["formula_id"], unique=False)
    create_append_only_triggers(op, "product_review")


def downgrade():
    drop_append_only_triggers(op, "product_review")
    op.drop_index(op.f("ix_product_review_formula_id"), table_name="product_review")
    op.drop_table("product_review")
    op.drop_index(op.f("ix_trend_signal_formula_id"), table_name="trend_signal")
    op.drop_index(op.f("ix_trend_signal_batch_id"), table_name="trend_signal")
    op.drop_table("trend_signal")
