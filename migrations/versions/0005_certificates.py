"""Release decisions, certificates of analysis, their numbering and ZIP exports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

from qa_app.database import create_append_only_triggers, drop_append_only_triggers

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# A signed release, rejection or recall is a record: never edited or deleted.
APPEND_ONLY = ("batch_decision",)


def upgrade():
    op.create_table(
        "certificate_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_certificate_counter")),
    )
    op.create_table(
        "batch_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('released', 'rejected', 'recalled')", name=op.f("ck_batch_decision_known_decision")
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_batch_decision_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_batch_decision_decided_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_batch_decision_signature_id_signature")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_decision")),
    )
    with op.batch_alter_table("batch_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_decision_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('valid', 'superseded', 'revoked')", name=op.f("ck_certificate_known_status")
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_certificate_batch_id_batch")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user.id"], name=op.f("fk_certificate_issued_by_id_user")),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["user.id"], name=op.f("fk_certificate_revoked_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_certificate_signature_id_signature")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["certificate.id"], name=op.f("fk_certificate_supersedes_id_certificate")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("batch_id", "version", name="uq_certificate_batch_version"),
        sa.UniqueConstraint("number", name=op.f("uq_certificate_number")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_sha256"), ["sha256"], unique=False)

    op.create_table(
        "certificate_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("up_to_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("last_certificate_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_certificate_export_known_status")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_certificate_export_requested_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_export")),
    )
    for table in APPEND_ONLY:
        create_append_only_triggers(op, table)


def downgrade():
    for table in APPEND_ONLY:
        drop_append_only_triggers(op, table)
    op.drop_table("certificate_export")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_sha256"))
        batch_op.drop_index(batch_op.f("ix_certificate_issued_at"))
        batch_op.drop_index(batch_op.f("ix_certificate_batch_id"))
    op.drop_table("certificate")
    with op.batch_alter_table("batch_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_decision_batch_id"))
    op.drop_table("batch_decision")
    op.drop_table("certificate_counter")
