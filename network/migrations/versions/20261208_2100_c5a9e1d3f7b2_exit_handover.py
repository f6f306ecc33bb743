"""referrals: the warm hand-over at the exit of a route (issue 20, item 3)

Revision ID: c5a9e1d3f7b2
Revises: b3f7e0a2c9d4
Create Date: 2026-12-08 21:00:00

A referral can be the warm hand-over at the exit of its route (``at_exit``), with the signed
version of the school-naar-werk-plan it carries by reference (agreement id and version number).
Who takes over and what was agreed travel in the referral's encrypted details.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c5a9e1d3f7b2'
down_revision = 'b3f7e0a2c9d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_exit', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('plan_agreement_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('plan_version', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referral_plan_agreement_id_agreement'), 'agreement',
                                    ['plan_agreement_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referral_plan_agreement_id_agreement'), type_='foreignkey')
        batch_op.drop_column('plan_version')
        batch_op.drop_column('plan_agreement_id')
        batch_op.drop_column('at_exit')
