"""Results, OOS investigations and result invalidations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

from qa_app.database import create_append_only_triggers, drop_append_only_triggers

revision = "0003"
down_revision = '0002'
branch_labels = None
depends_on = None


# Results are never edited or deleted; an invalidation is a record of its own (domain.md §5).
APPEND_ONLY = ("result", "result_invalidation")


def upgrade():
    op.create_table('result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('test_key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('values', sa.JSON(), nullable=True),
    sa.Column('text_value', sa.Text(), nullable=True),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('analyst', sa.String(length=200), nullable=False),
    sa.Column('tested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('evaluation', sa.JSON(), nullable=False),
    sa.Column('stage1_result_id', sa.Integer(), nullable=True),
    sa.Column('retest_of_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('entered', 'imported', 'api')", name=op.f('ck_result_known_source')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_result_batch_id_batch')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_result_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['stage1_result_id'], ['result.id'], name=op.f('fk_result_stage1_result_id_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result'))
    )
    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_result_batch_test', ['batch_id', 'test_key'], unique=False)

    op.create_table('investigation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('test_key', sa.String(length=40), nullable=False),
    sa.Column('retests_allowed', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assignable_cause', sa.String(length=20), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('conclusion', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.CheckConstraint("phase IN ('I', 'II')", name=op.f('ck_investigation_known_phase')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_investigation_known_status')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_investigation_batch_id_batch')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_investigation_closed_by_id_user')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user.id'], name=op.f('fk_investigation_opened_by_id_user')),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_investigation_result_id_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_investigation')),
    sa.UniqueConstraint('result_id', name=op.f('uq_investigation_result_id'))
    )
    with op.batch_alter_table('investigation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_investigation_batch_id'), ['batch_id'], unique=False)

    op.create_table('result_invalidation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('investigation_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('invalidated_by_id', sa.Integer(), nullable=False),
    sa.Column('invalidated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invalidated_by_id'], ['user.id'], name=op.f('fk_result_invalidation_invalidated_by_id_user')),
    sa.ForeignKeyConstraint(['investigation_id'], ['investigation.id'], name=op.f('fk_result_invalidation_investigation_id_investigation')),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_result_invalidation_result_id_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_invalidation')),
    sa.UniqueConstraint('result_id', name=op.f('uq_result_invalidation_result_id'))
    )

    # result.retest_of_id and investigation.result_id point at each other: the first link is
    # added once both tables exist (batch mode recreates the table on SQLite).
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_result_retest_of_id_investigation"), "investigation", ["retest_of_id"], ["id"]
        )
    for table in APPEND_ONLY:
        create_append_only_triggers(op, table)

def downgrade():
    for table in APPEND_ONLY:
        drop_append_only_triggers(op, table)
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_result_retest_of_id_investigation"), type_="foreignkey")
    op.drop_table('result_invalidation')
    with op.batch_alter_table('investigation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_investigation_batch_id'))

    op.drop_table('investigation')
    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.drop_index('ix_result_batch_test')
        batch_op.drop_index(batch_op.f('ix_result_batch_id'))

    op.drop_table('result')
