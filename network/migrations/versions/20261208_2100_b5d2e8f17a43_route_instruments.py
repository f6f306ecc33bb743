"""referrals, consent: the instruments of the move into work on a route (issue 20, item 4)

Revision ID: b5d2e8f17a43
Revises: b3f7e0a2c9d4
Create Date: 2026-12-08 20:00:00

referral_instrument holds the doelgroepregister status, banenafspraak job, loonwaardebepaling,
loonkostensubsidie, loonkostenvoordeel, no-riskpolis, jobcoach (funder, hours), werkplekaanpassing,
beschut-werk indication and BPV place turned into a job of a route, with dates, who arranged it
and the evidence the law asks for. A consent for the doelgroepregister purpose may now include the
plan category, so UWV reads the instruments of its own law (doelgroepregister, banenafspraak,
no-riskpolis, loonkostenvoordeel, its own jobcoach) on the student's consent; UWV's legal task is
not widened. No existing row breaks a rule here.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b5d2e8f17a43'
down_revision = 'b3f7e0a2c9d4'
branch_labels = None
depends_on = None

KINDS = ('doelgroepregister', 'banenafspraakbaan', 'loonwaardebepaling', 'loonkostensubsidie', 'loonkostenvoordeel',
         'no_riskpolis', 'jobcoach', 'werkplekaanpassing', 'beschut_werk', 'bpv_naar_bbl')
PLAN = 'school-naar-werk-plan'
DRP_PURPOSE = "SELECT id FROM consent_purpose WHERE code = 'doelgroepregister-aanvraag'"


def upgrade():
    op.create_table('referral_instrument',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum(*KINDS, name='instrument_kind', native_enum=False, create_constraint=True,
                              length=32), nullable=False),
    sa.Column('register_status', sa.Enum('aangevraagd', 'geindiceerd', 'niet_geindiceerd',
                                         name='instrument_register', native_enum=False, create_constraint=True,
                                         length=32), nullable=True),
    sa.Column('funder', sa.Enum('uwv', 'gemeente', name='instrument_funder', native_enum=False,
                                create_constraint=True, length=32), nullable=True),
    sa.Column('hours_per_week', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('arranged_by_organisation_id', sa.Integer(), nullable=False),
    sa.Column('arranged_by_name', sa.String(length=200), nullable=False),
    sa.Column('evidence', sa.String(length=200), nullable=True),
    sa.Column('note_encrypted', sa.Text(), nullable=True),
    sa.Column('recorded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('recorded_by_organisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date',
                       name=op.f('ck_referral_instrument_end_after_start')),
    sa.CheckConstraint('hours_per_week IS NULL OR hours_per_week BETWEEN 1 AND 40',
                       name=op.f('ck_referral_instrument_hours_range')),
    sa.ForeignKeyConstraint(['route_id'], ['referral_route.id'],
                            name=op.f('fk_referral_instrument_route_id_referral_route'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['arranged_by_organisation_id'], ['organisation.id'],
                            name=op.f('fk_referral_instrument_arranged_by_organisation_id_organisation'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_account_id'], ['account.id'],
                            name=op.f('fk_referral_instrument_recorded_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_organisation_id'], ['organisation.id'],
                            name=op.f('fk_referral_instrument_recorded_by_organisation_id_organisation'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_instrument'))
    )
    op.create_index('ix_referral_instrument_route', 'referral_instrument', ['route_id', 'start_date'])
    op.create_index('ix_referral_instrument_kind', 'referral_instrument', ['kind', 'start_date'])
    op.execute("INSERT INTO consent_purpose_category (purpose_id, category) "
               f"SELECT id, '{PLAN}' FROM ({DRP_PURPOSE}) AS purpose WHERE NOT EXISTS (SELECT 1 FROM "
               f"consent_purpose_category c WHERE c.purpose_id = purpose.id AND c.category = '{PLAN}') "
               f"AND EXISTS (SELECT 1 FROM consent_data_category d WHERE d.code = '{PLAN}')")


def downgrade():
    op.execute(f"DELETE FROM consent_purpose_category WHERE category = '{PLAN}' AND purpose_id IN ({DRP_PURPOSE})")
    op.drop_index('ix_referral_instrument_kind', table_name='referral_instrument')
    op.drop_index('ix_referral_instrument_route', table_name='referral_instrument')
    op.drop_table('referral_instrument')
