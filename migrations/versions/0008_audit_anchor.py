"""Keyed HMAC on audit events, SQLite REPLACE hole closed.

Events written before this revision keep no seal of their own. When their chain verifies,
the upgrade appends one sealed ``audit.sealed`` event that vouches for them through the chain
(with the audit key of the application running the upgrade); a broken chain is left for
``flask audit verify`` to name.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

from qa_app.database import create_replace_guard, drop_replace_guard
from qa_app.services.audit import audit_key, seal_on_upgrade

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def append_only_tables() -> list[str]:
    """Every table that carries the append-only UPDATE trigger (SQLite)."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name = tbl_name || '_no_update'"
        )
    )
    return sorted(row[0] for row in rows)


def upgrade():
    op.add_column("audit_event", sa.Column("seal", sa.String(length=64), nullable=True))
    op.add_column("audit_chain_head", sa.Column("seal", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for table in append_only_tables():
            create_replace_guard(op, table)
    seal_on_upgrade(op.get_bind(), audit_key(), "database upgrade")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in append_only_tables():
            drop_replace_guard(op, table)
    # Plain ALTER TABLE … DROP COLUMN: a batch copy would lose the append-only triggers.
    op.drop_column("audit_chain_head", "seal")
    op.drop_column("audit_event", "seal")
