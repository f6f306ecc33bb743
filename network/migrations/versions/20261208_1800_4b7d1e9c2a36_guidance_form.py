"""referrals: the student's begeleidingsformulier (issue 19, item 3); the assessment's channel

Revision ID: 4b7d1e9c2a36
Revises: 3e3aab6d5d90
Create Date: 2026-12-08 18:00:00

One form per student, its texts encrypted (special-category data), and the student's choice of
who reads it (a plain list that the access decision asks on every read). The employer's
assessment gains its channel: the personal link (as before) or the company's inbox in the hub.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b7d1e9c2a36'
down_revision = '3e3aab6d5d90'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('guidance_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('texts_encrypted', sa.Text(), nullable=False),
    sa.Column('shared_with', sa.JSON(), nullable=False),
    sa.Column('shared_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('written_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_guidance_form_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guidance_form')),
    sa.UniqueConstraint('student_id', name=op.f('uq_guidance_form_student_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_guidance_form_uuid'))
    )
    with op.batch_alter_table('placement_assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='link', nullable=False))


def downgrade():
    with op.batch_alter_table('placement_assessment', schema=None) as batch_op:
        batch_op.drop_column('channel')
    op.drop_table('guidance_form')
