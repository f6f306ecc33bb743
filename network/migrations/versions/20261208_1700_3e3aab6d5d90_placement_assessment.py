"""referrals: the employer's assessment of a placement (issue 19, item 4)

Revision ID: 3e3aab6d5d90
Revises: e5b8d2f4c611
Create Date: 2026-12-08 17:00:00

The praktijkopleider fills in the seed's "Beoordelingsformulier werkontwikkeling" through a
personal link: only the token's SHA-256 is stored (unique), with its expiry and revocation.
Scores are plain codes; the assessor's free text is encrypted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e3aab6d5d90'
down_revision = 'e5b8d2f4c611'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('placement_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'submitted', name='placement_assessment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('sent_to', sa.String(length=254), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_by_name', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_name', sa.String(length=200), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('setting', sa.String(length=120), nullable=True),
    sa.Column('function', sa.String(length=200), nullable=True),
    sa.Column('assessor_name', sa.String(length=200), nullable=True),
    sa.Column('supervisor_name', sa.String(length=200), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=True),
    sa.Column('would_hire', sa.Boolean(), nullable=True),
    sa.Column('can_develop', sa.Boolean(), nullable=True),
    sa.Column('werkproces_scores', sa.JSON(), nullable=False),
    sa.Column('competence_scores', sa.JSON(), nullable=False),
    sa.Column('attention', sa.JSON(), nullable=False),
    sa.Column('texts_encrypted', sa.Text(), nullable=True),
    sa.Column('signed_name', sa.String(length=200), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['placement_id'], ['placement.id'], name=op.f('fk_placement_assessment_placement_id_placement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_placement_assessment_school_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_placement_assessment_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_assessment')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_placement_assessment_token_hash')),
    sa.UniqueConstraint('uuid', name=op.f('uq_placement_assessment_uuid'))
    )
    with op.batch_alter_table('placement_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_assessment_placement_id'), ['placement_id'], unique=False)
        batch_op.create_index('ix_placement_assessment_student', ['student_id', 'status', 'submitted_at'], unique=False)



def downgrade():
    with op.batch_alter_table('placement_assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_placement_assessment_student')
        batch_op.drop_index(batch_op.f('ix_placement_assessment_placement_id'))

    op.drop_table('placement_assessment')
