"""Session versions per user, certificate verification codes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

"""

import base64
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _code() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=True))
    op.execute("UPDATE api_token SET session_version = 1 WHERE user_id IS NOT NULL")

    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_code", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    certificate = sa.table(
        "certificate", sa.column("id", sa.Integer), sa.column("verification_code", sa.String)
    )
    for (row_id,) in conn.execute(sa.select(certificate.c.id)).all():
        conn.execute(certificate.update().where(certificate.c.id == row_id).values(verification_code=_code()))
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.alter_column("verification_code", existing_type=sa.String(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_column("verification_code")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("session_version")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_version")
