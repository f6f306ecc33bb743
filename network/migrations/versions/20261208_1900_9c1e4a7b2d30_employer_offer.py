"""socialmap + referrals: the company side of the map (issue 19, item 5)

Revision ID: 9c1e4a7b2d30
Revises: 4b7d1e9c2a36
Create Date: 2026-12-08 18:00:00

An employer entry gains what schools ask of a stagebedrijf (places per placement kind,
adaptations, a trained praktijkopleider, functions and werkprocessen, BBL, SBB number,
banenafspraak / loonkostensubsidie) in a table of its own; a completed placement records
whether the company hired the student afterwards.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c1e4a7b2d30'
down_revision = '4b7d1e9c2a36'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('socialmap_employer_offer',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('adaptations', sa.JSON(), nullable=False),
    sa.Column('trained_trainer', sa.Boolean(), nullable=False),
    sa.Column('trained_since', sa.Date(), nullable=True),
    sa.Column('functions', sa.JSON(), nullable=False),
    sa.Column('bbl_possible', sa.Boolean(), nullable=False),
    sa.Column('sbb_number', sa.String(length=20), nullable=True),
    sa.Column('banenafspraak', sa.Boolean(), nullable=False),
    sa.Column('loonkostensubsidie', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_employer_offer_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', name=op.f('pk_socialmap_employer_offer'))
    )
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hired', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.drop_column('hired')
    op.drop_table('socialmap_employer_offer')
