"""consent, referrals: legal tasks with the law's scope, configurable per region (issue 18, item 4)

Revision ID: 9e4b1f7a3c52
Revises: 7d3a5c2e8b41
Create Date: 2026-12-08 11:00:00

The RMC's legal task covers the young people who left school without a startkwalificatie (under
23), PrO and VSO pupils after their exit and the route follow-up the region configured; UWV's
covers students with an open doelgroepregister matter. consent_legal_task.scope names the scope
(the standard RMC and UWV tasks get theirs here; a task the hub admin added keeps none until
the admin gives it one); consent_region_task_scope holds a region's settings (no row: the
law's defaults). The route records whether the student left with a startkwalificatie and
whether a doelgroepregister step runs. No existing data breaks a rule here: the decision
narrows from the next request on.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9e4b1f7a3c52'
down_revision = '7d3a5c2e8b41'
branch_labels = None
depends_on = None


# SQLite: a batch (copy-and-move) change of these tables would drop and recreate them, and the
# drop deletes the rows that refer to them ON DELETE CASCADE (a legal task's categories; a route's
# phases, intakes and check-ins). So the columns are added (and dropped) in place, by SQL both
# engines speak, and nothing else of the tables changes.


def upgrade():
    op.execute("ALTER TABLE consent_legal_task ADD COLUMN scope VARCHAR(32) "
               "CONSTRAINT ck_consent_legal_task_legal_task_scope CHECK (scope IN ('rmc', 'uwv'))")
    op.execute("UPDATE consent_legal_task SET scope = 'rmc' WHERE organisation_type = 'rmc' AND code = 'rmc-nazorg'")
    op.execute("UPDATE consent_legal_task SET scope = 'uwv' "
               "WHERE organisation_type = 'uwv' AND code = 'uwv-doelgroepregister'")
    op.create_table('consent_region_task_scope',
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('rmc_leavers', sa.Boolean(), nullable=False),
    sa.Column('rmc_max_age', sa.Integer(), nullable=False),
    sa.Column('rmc_pro_vso', sa.Boolean(), nullable=False),
    sa.Column('rmc_route_followup', sa.Enum('none', 'rmc', 'all', name='rmc_route_followup', native_enum=False,
                                            create_constraint=True, length=32), nullable=False),
    sa.Column('uwv_open_referrals', sa.Boolean(), nullable=False),
    sa.Column('uwv_route_steps', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_name', sa.String(length=200), nullable=False),
    sa.CheckConstraint('rmc_max_age BETWEEN 16 AND 30',
                       name=op.f('ck_consent_region_task_scope_rmc_max_age_range')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_consent_region_task_scope_region_id_region'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('region_id', name=op.f('pk_consent_region_task_scope'))
    )
    op.add_column('referral_route', sa.Column('startkwalificatie', sa.Boolean(), nullable=True))
    op.add_column('referral_route', sa.Column('doelgroepregister_open', sa.Boolean(), nullable=False,
                                              server_default=sa.false()))


def downgrade():
    op.execute("ALTER TABLE referral_route DROP COLUMN doelgroepregister_open")
    op.execute("ALTER TABLE referral_route DROP COLUMN startkwalificatie")
    op.drop_table('consent_region_task_scope')
    op.execute("ALTER TABLE consent_legal_task DROP COLUMN scope")
