"""referrals: the eindgesprek and the structured exit of a route (issue 20, items 1 and 2)

Revision ID: b3f7e0a2c9d4
Revises: 9c1e4a7b2d30
Create Date: 2026-12-08 20:00:00

A route gains its eindgesprek (seed 004; answers encrypted) and a structured exit beside the
exit date: the way out, the destination, certificates gained and, encrypted, the reason of an
early leave, the school of a vervolgopleiding and the retourticket.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'b3f7e0a2c9d4'
down_revision = '9c1e4a7b2d30'
branch_labels = None
depends_on = None

WAY_OUT = ('diploma', 'mbo_certificaat', 'praktijkverklaring', 'entree_diploma', 'tussentijds')
DESTINATION = ('werk_zonder_ondersteuning', 'werk_met_ondersteuning', 'bbl_leerbaan', 'vervolgopleiding',
               'beschut_werk', 'dagbesteding', 'uitkering', 'werkzoekend', 'onbekend')


def upgrade():
    op.create_table('referral_eindgesprek',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('content_encrypted', sa.Text(), nullable=False),
    sa.Column('recorded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_account_id'], ['account.id'], name=op.f('fk_referral_eindgesprek_recorded_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['route_id'], ['referral_route.id'], name=op.f('fk_referral_eindgesprek_route_id_referral_route'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_eindgesprek'))
    )
    with op.batch_alter_table('referral_eindgesprek', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_eindgesprek_route_id'), ['route_id'], unique=False)

    op.create_table('referral_route_exit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('way_out', sa.Enum(*WAY_OUT, name='route_exit_way_out', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('destination', sa.Enum(*DESTINATION, name='route_exit_destination', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('certificates', sa.JSON(), nullable=False),
    sa.Column('details_encrypted', sa.Text(), nullable=True),
    sa.Column('contradiction_confirmed', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_account_id'], ['account.id'], name=op.f('fk_referral_route_exit_recorded_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['route_id'], ['referral_route.id'], name=op.f('fk_referral_route_exit_route_id_referral_route'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_route_exit')),
    sa.UniqueConstraint('route_id', name=op.f('uq_referral_route_exit_route_id'))
    )


def downgrade():
    op.drop_table('referral_route_exit')
    with op.batch_alter_table('referral_eindgesprek', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_eindgesprek_route_id'))
    op.drop_table('referral_eindgesprek')
