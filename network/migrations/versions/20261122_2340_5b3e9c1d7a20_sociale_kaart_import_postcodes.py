"""sociale kaart: pending spreadsheet imports (preview before confirm) and the parsed postcode
ranges of service areas (HSDS ``postcode`` filter).

Revision ID: 5b3e9c1d7a20
Revises: 037d14693e6f
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b3e9c1d7a20'
down_revision = '037d14693e6f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('socialmap_postcode_range',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('low', sa.Integer(), nullable=False),
    sa.Column('high', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_postcode_range_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'low', 'high', name=op.f('pk_socialmap_postcode_range'))
    )
    op.create_index('ix_socialmap_postcode_range_low_high', 'socialmap_postcode_range', ['low', 'high'], unique=False)
    op.create_table('socialmap_pending_import',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file_format', sa.String(length=10), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_socialmap_pending_import_region_id_region'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_socialmap_pending_import'))
    )
    op.create_index(op.f('ix_socialmap_pending_import_account_id'), 'socialmap_pending_import', ['account_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_socialmap_pending_import_account_id'), table_name='socialmap_pending_import')
    op.drop_table('socialmap_pending_import')
    op.drop_index('ix_socialmap_postcode_range_low_high', table_name='socialmap_postcode_range')
    op.drop_table('socialmap_postcode_range')
