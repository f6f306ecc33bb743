"""referrals: placements (internships and work placements on the route), their events, and the
companies proposed for the sociale kaart with them (issue 19, item 1)

Revision ID: a7e4c2d9f105
Revises: c3d9e5f1a284
Create Date: 2026-12-08 15:00:00

A school kept a student's internship in a spreadsheet; it is now a placement on the route: the
company (an employer entry of the sociale kaart, or a proposal of a new one), the
praktijkopleider, the school's stagebegeleider, dates, working days, learning goals (encrypted),
werkprocessen and a status with its history. A row version guards concurrent edits.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e4c2d9f105'
down_revision = 'c3d9e5f1a284'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('employer_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_account_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by_name', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kvk', sa.String(length=8), nullable=True),
    sa.Column('gemeente', sa.String(length=120), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('status', sa.Enum('pending', 'added', 'declined', name='employer_proposal_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_name', sa.String(length=200), nullable=True),
    sa.Column('decline_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['proposed_by_account_id'], ['account.id'], name=op.f('fk_employer_proposal_proposed_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_employer_proposal_region_id_region'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_employer_proposal_school_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_employer_proposal_service_id_socialmap_service'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employer_proposal'))
    )
    with op.batch_alter_table('employer_proposal', schema=None) as batch_op:
        batch_op.create_index('ix_employer_proposal_region_status', ['region_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_employer_proposal_school_id'), ['school_id'], unique=False)

    op.create_table('placement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('snuffelstage', 'bpv', 'eindstage', 'plaatsingsstage', 'leerbaan', 'proefplaatsing', name='placement_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('planned', 'running', 'paused', 'ended_early', 'completed', name='placement_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('function', sa.String(length=200), nullable=False),
    sa.Column('trainer_name', sa.String(length=200), nullable=False),
    sa.Column('trainer_function', sa.String(length=120), nullable=True),
    sa.Column('trainer_email', sa.String(length=254), nullable=True),
    sa.Column('trainer_phone', sa.String(length=40), nullable=True),
    sa.Column('supervisor_account_id', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('schedule', sa.JSON(), nullable=False),
    sa.Column('with_coach', sa.Boolean(), nullable=False),
    sa.Column('coach_name', sa.String(length=200), nullable=True),
    sa.Column('learning_goals_encrypted', sa.Text(), nullable=True),
    sa.Column('goals_agreement_id', sa.Uuid(), nullable=True),
    sa.Column('goals_agreement_version', sa.Integer(), nullable=True),
    sa.Column('werkprocessen', sa.JSON(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'ended_early') = (end_reason IS NOT NULL)", name=op.f('ck_placement_reason_iff_ended_early')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_placement_ends_after_start')),
    sa.CheckConstraint('organisation_id IS NOT NULL OR proposal_id IS NOT NULL', name=op.f('ck_placement_has_company')),
    sa.ForeignKeyConstraint(['goals_agreement_id'], ['agreement.id'], name=op.f('fk_placement_goals_agreement_id_agreement'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_placement_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposal_id'], ['employer_proposal.id'], name=op.f('fk_placement_proposal_id_employer_proposal'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['route_id'], ['referral_route.id'], name=op.f('fk_placement_route_id_referral_route'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_placement_school_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_placement_service_id_socialmap_service'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_placement_student_id_student'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_account_id'], ['account.id'], name=op.f('fk_placement_supervisor_account_id_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement')),
    sa.UniqueConstraint('uuid', name=op.f('uq_placement_uuid'))
    )
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_route_id'), ['route_id'], unique=False)
        batch_op.create_index('ix_placement_school_status', ['school_id', 'status', 'start_date'], unique=False)
        batch_op.create_index('ix_placement_student_status', ['student_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_supervisor_account_id'), ['supervisor_account_id'], unique=False)

    op.create_table('placement_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('created', 'transition', name='placement_event_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_status', sa.Enum('planned', 'running', 'paused', 'ended_early', 'completed', name='placement_event_from', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('to_status', sa.Enum('planned', 'running', 'paused', 'ended_early', 'completed', name='placement_event_to', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('actor_account_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['actor_account_id'], ['account.id'], name=op.f('fk_placement_event_actor_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['placement_id'], ['placement.id'], name=op.f('fk_placement_event_placement_id_placement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_event'))
    )
    with op.batch_alter_table('placement_event', schema=None) as batch_op:
        batch_op.create_index('ix_placement_event_placement', ['placement_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('placement_event', schema=None) as batch_op:
        batch_op.drop_index('ix_placement_event_placement')

    op.drop_table('placement_event')
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_supervisor_account_id'))
        batch_op.drop_index('ix_placement_student_status')
        batch_op.drop_index('ix_placement_school_status')
        batch_op.drop_index(batch_op.f('ix_placement_route_id'))
        batch_op.drop_index(batch_op.f('ix_placement_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_placement_organisation_id'))

    op.drop_table('placement')
    with op.batch_alter_table('employer_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employer_proposal_school_id'))
        batch_op.drop_index('ix_employer_proposal_region_status')

    op.drop_table('employer_proposal')
