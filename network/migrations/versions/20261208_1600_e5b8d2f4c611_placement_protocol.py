"""referrals: the stageprotocol's contacts of a placement and the schools' protocol settings
(issue 19, item 2)

Revision ID: e5b8d2f4c611
Revises: a7e4c2d9f105
Create Date: 2026-12-08 16:00:00

When a placement starts the hub plans its contacts (first-day calls, the visit within two
weeks, evaluations every N weeks), unique per placement, kind and sequence; the protocol job
stamps reminders and escalations on them. Free text is encrypted. A school may set the
evaluation interval and the working days before escalation.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b8d2f4c611'
down_revision = 'a7e4c2d9f105'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('placement_protocol_setting',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_weeks', sa.Integer(), nullable=False),
    sa.Column('escalate_after_working_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_placement_protocol_setting_school_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('school_id', name=op.f('pk_placement_protocol_setting'))
    )
    op.create_table('placement_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_account_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('first_call_student', 'first_call_trainer', 'visit', 'evaluation', 'other', name='placement_contact_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'done', 'cancelled', name='placement_contact_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('planned_date', sa.Date(), nullable=True),
    sa.Column('move_reason', sa.String(length=500), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('with_whom', sa.Enum('student', 'trainer', 'both', 'others', name='placement_contact_with', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('how', sa.Enum('phone', 'workplace', 'school', 'video', 'email', name='placement_contact_how', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('notes_encrypted', sa.Text(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['placement_id'], ['placement.id'], name=op.f('fk_placement_contact_placement_id_placement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_placement_contact_school_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_account_id'], ['account.id'], name=op.f('fk_placement_contact_supervisor_account_id_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_contact')),
    sa.UniqueConstraint('placement_id', 'kind', 'sequence', name='uq_placement_contact_key'),
    sa.UniqueConstraint('uuid', name=op.f('uq_placement_contact_uuid'))
    )
    with op.batch_alter_table('placement_contact', schema=None) as batch_op:
        batch_op.create_index('ix_placement_contact_school', ['school_id', 'status', 'due_date'], unique=False)
        batch_op.create_index('ix_placement_contact_status_due', ['status', 'due_date'], unique=False)
        batch_op.create_index('ix_placement_contact_supervisor', ['supervisor_account_id', 'status', 'due_date'], unique=False)



def downgrade():
    with op.batch_alter_table('placement_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_placement_contact_supervisor')
        batch_op.drop_index('ix_placement_contact_status_due')
        batch_op.drop_index('ix_placement_contact_school')

    op.drop_table('placement_contact')
    op.drop_table('placement_protocol_setting')
