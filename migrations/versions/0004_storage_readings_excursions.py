"""Temperature readings with their hourly sums, excursions, dispositions and device tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

from qa_app.database import create_append_only_triggers, drop_append_only_triggers

revision = "0004"
down_revision = '0003'
branch_labels = None
depends_on = None

# Readings, their uploads and signed dispositions are records: never edited or deleted.
APPEND_ONLY = ("reading_upload", "reading", "disposition")


def upgrade():
    op.create_table('excursion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('storage_unit_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reading_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Float(), nullable=False),
    sa.Column('min_c', sa.Float(), nullable=False),
    sa.Column('max_c', sa.Float(), nullable=False),
    sa.Column('mkt_c', sa.Float(), nullable=True),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledgement', sa.Text(), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.CheckConstraint("classification IN ('allowable', 'needs_disposition')", name=op.f('ck_excursion_known_classification')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user.id'], name=op.f('fk_excursion_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['storage_unit_id'], ['storage_unit.id'], name=op.f('fk_excursion_storage_unit_id_storage_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_excursion'))
    )
    with op.batch_alter_table('excursion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_excursion_start'), ['start'], unique=False)
        batch_op.create_index(batch_op.f('ix_excursion_storage_unit_id'), ['storage_unit_id'], unique=False)

    op.create_table('reading_hour',
    sa.Column('storage_unit_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum_c', sa.Float(), nullable=False),
    sa.Column('min_c', sa.Float(), nullable=False),
    sa.Column('max_c', sa.Float(), nullable=False),
    sa.Column('intervals', sa.Integer(), nullable=False),
    sa.Column('sum_w', sa.Float(), nullable=False),
    sa.Column('sum_w_exp', sa.Float(), nullable=False),
    sa.Column('median_interval', sa.Float(), nullable=True),
    sa.Column('max_interval', sa.Float(), nullable=True),
    sa.Column('max_interval_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_interval_exp', sa.Float(), nullable=True),
    sa.Column('second_interval', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['storage_unit_id'], ['storage_unit.id'], name=op.f('fk_reading_hour_storage_unit_id_storage_unit')),
    sa.PrimaryKeyConstraint('storage_unit_id', 'hour', name=op.f('pk_reading_hour'))
    )
    op.create_table('reading_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('storage_unit_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('api', 'device', 'csv', 'manual')", name=op.f('ck_reading_upload_known_source')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_reading_upload_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['storage_unit_id'], ['storage_unit.id'], name=op.f('fk_reading_upload_storage_unit_id_storage_unit')),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_reading_upload_token_id_api_token')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reading_upload'))
    )
    with op.batch_alter_table('reading_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reading_upload_storage_unit_id'), ['storage_unit_id'], unique=False)

    op.create_table('disposition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('excursion_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('covered_min_c', sa.Float(), nullable=False),
    sa.Column('covered_max_c', sa.Float(), nullable=False),
    sa.CheckConstraint("decision IN ('acceptable', 'reject')", name=op.f('ck_disposition_known_decision')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_disposition_batch_id_batch')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_disposition_decided_by_id_user')),
    sa.ForeignKeyConstraint(['excursion_id'], ['excursion.id'], name=op.f('fk_disposition_excursion_id_excursion')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_disposition_signature_id_signature')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposition'))
    )
    with op.batch_alter_table('disposition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposition_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disposition_excursion_id'), ['excursion_id'], unique=False)

    op.create_table('reading',
    sa.Column('storage_unit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('temperature_c', sa.Float(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['storage_unit_id'], ['storage_unit.id'], name=op.f('fk_reading_storage_unit_id_storage_unit')),
    sa.ForeignKeyConstraint(['upload_id'], ['reading_upload.id'], name=op.f('fk_reading_upload_id_reading_upload')),
    sa.PrimaryKeyConstraint('storage_unit_id', 'at', name=op.f('pk_reading'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage_unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('label', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_token_storage_unit_id'), ['storage_unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_token_storage_unit_id_storage_unit'), 'storage_unit', ['storage_unit_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_api_token_created_by_id_user'), 'user', ['created_by_id'], ['id'])

    for table in APPEND_ONLY:
        create_append_only_triggers(op, table)


def downgrade():
    for table in APPEND_ONLY:
        drop_append_only_triggers(op, table)
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_token_created_by_id_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_api_token_storage_unit_id_storage_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_token_storage_unit_id'))
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('label')
        batch_op.drop_column('storage_unit_id')

    op.drop_table('reading')
    with op.batch_alter_table('disposition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposition_excursion_id'))
        batch_op.drop_index(batch_op.f('ix_disposition_batch_id'))

    op.drop_table('disposition')
    with op.batch_alter_table('reading_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reading_upload_storage_unit_id'))

    op.drop_table('reading_upload')
    op.drop_table('reading_hour')
    with op.batch_alter_table('excursion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_excursion_storage_unit_id'))
        batch_op.drop_index(batch_op.f('ix_excursion_start'))

    op.drop_table('excursion')
