"""Materials and lots, master formulas, storage units and the batch record.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('formula',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_formula')),
    sa.UniqueConstraint('code', name=op.f('uq_formula_code'))
    )
    op.create_table('lot_counter',
    sa.Column('prefix', sa.String(length=20), nullable=False),
    sa.Column('day', sa.String(length=6), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'day', name=op.f('pk_lot_counter'))
    )
    op.create_table('material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('api', 'excipient', 'container')", name=op.f('ck_material_known_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material')),
    sa.UniqueConstraint('code', name=op.f('uq_material_code'))
    )
    op.create_table('storage_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('condition', sa.String(length=20), nullable=False),
    sa.Column('min_c', sa.Float(), nullable=False),
    sa.Column('max_c', sa.Float(), nullable=False),
    sa.Column('alarm_delay_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("condition IN ('room', 'refrigerated', 'freezer')", name=op.f('ck_storage_unit_known_condition')),
    sa.CheckConstraint('min_c < max_c', name=op.f('ck_storage_unit_limits_in_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_unit')),
    sa.UniqueConstraint('code', name=op.f('uq_storage_unit_code'))
    )
    op.create_table('formula_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('formula_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('dosage_form', sa.String(length=30), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('authored_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'approved', 'superseded')", name=op.f('ck_formula_version_known_status')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_formula_version_approved_by_id_user')),
    sa.ForeignKeyConstraint(['authored_by_id'], ['user.id'], name=op.f('fk_formula_version_authored_by_id_user')),
    sa.ForeignKeyConstraint(['formula_id'], ['formula.id'], name=op.f('fk_formula_version_formula_id_formula')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_formula_version')),
    sa.UniqueConstraint('formula_id', 'version', name='uq_formula_version_number')
    )
    op.create_table('material_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=40), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('supplier_lot', sa.String(length=100), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('assay_percent', sa.Float(), nullable=True),
    sa.Column('assay_anhydrous_percent', sa.Float(), nullable=True),
    sa.Column('water_percent', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('quarantine', 'approved', 'rejected')", name=op.f('ck_material_lot_known_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_material_lot_decided_by_id_user')),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'], name=op.f('fk_material_lot_material_id_material')),
    sa.ForeignKeyConstraint(['received_by_id'], ['user.id'], name=op.f('fk_material_lot_received_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_lot')),
    sa.UniqueConstraint('barcode', name=op.f('uq_material_lot_barcode'))
    )
    with op.batch_alter_table('material_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_lot_material_id'), ['material_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_lot_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_lot_supplier_lot'), ['supplier_lot'], unique=False)

    op.create_table('batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.String(length=30), nullable=False),
    sa.Column('formula_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('dosage_form', sa.String(length=30), nullable=False),
    sa.Column('strength_mg', sa.Float(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('concentration', sa.Float(), nullable=True),
    sa.Column('dose_amount', sa.Float(), nullable=True),
    sa.Column('compounded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('compounded_by_id', sa.Integer(), nullable=False),
    sa.Column('api_lot_id', sa.Integer(), nullable=True),
    sa.Column('calculation', sa.JSON(), nullable=False),
    sa.Column('specification', sa.JSON(), nullable=False),
    sa.Column('bud', sa.Date(), nullable=False),
    sa.Column('bud_reason', sa.Text(), nullable=False),
    sa.Column('storage_unit_id', sa.Integer(), nullable=True),
    sa.Column('api_verified_by_id', sa.Integer(), nullable=True),
    sa.Column('api_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actual_yield', sa.Float(), nullable=True),
    sa.Column('yield_percent', sa.Float(), nullable=True),
    sa.Column('yield_deviation_reason', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('discard_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'quarantine', 'on_hold', 'awaiting_release', 'released', 'rejected', 'recalled', 'discarded')", name=op.f('ck_batch_known_status')),
    sa.ForeignKeyConstraint(['api_lot_id'], ['material_lot.id'], name=op.f('fk_batch_api_lot_id_material_lot')),
    sa.ForeignKeyConstraint(['api_verified_by_id'], ['user.id'], name=op.f('fk_batch_api_verified_by_id_user')),
    sa.ForeignKeyConstraint(['compounded_by_id'], ['user.id'], name=op.f('fk_batch_compounded_by_id_user')),
    sa.ForeignKeyConstraint(['formula_version_id'], ['formula_version.id'], name=op.f('fk_batch_formula_version_id_formula_version')),
    sa.ForeignKeyConstraint(['storage_unit_id'], ['storage_unit.id'], name=op.f('fk_batch_storage_unit_id_storage_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch')),
    sa.UniqueConstraint('lot_number', name=op.f('uq_batch_lot_number'))
    )
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_api_lot_id'), ['api_lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_bud'), ['bud'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_compounded_at'), ['compounded_at'], unique=False)
        batch_op.create_index('ix_batch_formula_status', ['formula_version_id', 'status'], unique=False)
        batch_op.create_index('ix_batch_formula_strength', ['formula_version_id', 'strength_mg'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_formula_version_id'), ['formula_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_storage_unit_id'), ['storage_unit_id'], unique=False)

    op.create_table('batch_component',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('material_lot_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('quantity_mg', sa.Float(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('theoretical_mg', sa.Float(), nullable=True),
    sa.Column('deviation_percent', sa.Float(), nullable=True),
    sa.Column('within_tolerance', sa.Boolean(), nullable=True),
    sa.Column('deviation_reason', sa.Text(), nullable=True),
    sa.Column('balance', sa.String(length=60), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_batch_component_batch_id_batch')),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'], name=op.f('fk_batch_component_material_id_material')),
    sa.ForeignKeyConstraint(['material_lot_id'], ['material_lot.id'], name=op.f('fk_batch_component_material_lot_id_material_lot')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_batch_component_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_component')),
    sa.UniqueConstraint('batch_id', 'material_lot_id', name='uq_batch_component_lot')
    )
    with op.batch_alter_table('batch_component', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_component_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_component_material_lot_id'), ['material_lot_id'], unique=False)

    op.create_table('batch_location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('storage_unit_id', sa.Integer(), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_batch_location_batch_id_batch')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_batch_location_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['storage_unit_id'], ['storage_unit.id'], name=op.f('fk_batch_location_storage_unit_id_storage_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_location'))
    )
    with op.batch_alter_table('batch_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_location_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_location_storage_unit_id'), ['storage_unit_id'], unique=False)

    op.create_table('weight_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('weights_mg', sa.JSON(), nullable=False),
    sa.Column('theoretical_mg', sa.Float(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_weight_check_batch_id_batch')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_weight_check_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weight_check'))
    )
    with op.batch_alter_table('weight_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_weight_check_batch_id'), ['batch_id'], unique=False)



def downgrade():
    with op.batch_alter_table('weight_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_weight_check_batch_id'))

    op.drop_table('weight_check')
    with op.batch_alter_table('batch_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_location_storage_unit_id'))
        batch_op.drop_index(batch_op.f('ix_batch_location_batch_id'))

    op.drop_table('batch_location')
    with op.batch_alter_table('batch_component', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_component_material_lot_id'))
        batch_op.drop_index(batch_op.f('ix_batch_component_batch_id'))

    op.drop_table('batch_component')
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_storage_unit_id'))
        batch_op.drop_index(batch_op.f('ix_batch_status'))
        batch_op.drop_index(batch_op.f('ix_batch_formula_version_id'))
        batch_op.drop_index('ix_batch_formula_strength')
        batch_op.drop_index('ix_batch_formula_status')
        batch_op.drop_index(batch_op.f('ix_batch_compounded_at'))
        batch_op.drop_index(batch_op.f('ix_batch_bud'))
        batch_op.drop_index(batch_op.f('ix_batch_api_lot_id'))

    op.drop_table('batch')
    with op.batch_alter_table('material_lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_lot_supplier_lot'))
        batch_op.drop_index(batch_op.f('ix_material_lot_status'))
        batch_op.drop_index(batch_op.f('ix_material_lot_material_id'))

    op.drop_table('material_lot')
    op.drop_table('formula_version')
    op.drop_table('storage_unit')
    op.drop_table('material')
    op.drop_table('lot_counter')
    op.drop_table('formula')
