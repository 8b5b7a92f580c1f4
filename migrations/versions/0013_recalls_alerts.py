"""Lot recalls, people's e-mail and alert choices, and the alert outbox.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

from qa_app.models.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("material_lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recalled_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recalled_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("recall_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_material_lot_recalled_by_id_user"), "user", ["recalled_by_id"], ["id"]
        )
        batch_op.drop_constraint(batch_op.f("ck_material_lot_known_status"), type_="check")
        batch_op.create_check_constraint(
            "known_status", "status IN ('quarantine', 'approved', 'rejected', 'recalled')"
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "user_alert",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "kind IN ('excursion', 'oos', 'trend_signal', 'lot_expiring', 'batch_near_bud')",
            name=op.f("ck_user_alert_known_kind"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_user_alert_user_id_user")),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_user_alert")),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('excursion', 'oos', 'trend_signal', 'lot_expiring', 'batch_near_bud')",
            name=op.f("ck_alert_known_kind"),
        ),
        sa.CheckConstraint("status IN ('pending', 'sent')", name=op.f("ck_alert_known_status")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_alert_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("user_id", "kind", "cause", name="uq_alert_once_per_cause"),
    )
    op.create_index(op.f("ix_alert_user_id"), "alert", ["user_id"], unique=False)
    op.create_index("ix_alert_status_next", "alert", ["status", "next_attempt_at"], unique=False)


def downgrade():
    op.drop_index("ix_alert_status_next", table_name="alert")
    op.drop_index(op.f("ix_alert_user_id"), table_name="alert")
    op.drop_table("alert")
    op.drop_table("user_alert")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("email")
    op.execute("UPDATE material_lot SET status = 'rejected' WHERE status = 'recalled'")
    with op.batch_alter_table("material_lot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_material_lot_known_status"), type_="check")
        batch_op.create_check_constraint("known_status", "status IN ('quarantine', 'approved', 'rejected')")
        batch_op.drop_constraint(batch_op.f("fk_material_lot_recalled_by_id_user"), type_="foreignkey")
        batch_op.drop_column("recall_reason")
        batch_op.drop_column("recalled_at")
        batch_op.drop_column("recalled_by_id")
