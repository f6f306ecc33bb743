"""agreements: the school-naar-werk-plan and the privacy agreement per student, with versions,
parties, Ed25519 signatures, events and review moments; organisations' registered public keys.

Revision ID: 64ecce5ccc00
Revises: 94c953c20de5
Create Date: 2026-12-04 15:09:45.786010

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '64ecce5ccc00'
down_revision = '94c953c20de5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organisation_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=80), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_key_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_key')),
    sa.UniqueConstraint('kid', name=op.f('uq_organisation_key_kid'))
    )
    with op.batch_alter_table('organisation_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_key_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('agreement',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('plan', 'privacy', name='agreement_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('draft', 'awaiting', 'active', 'ended', name='agreement_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('verify_code', sa.String(length=16), nullable=False),
    sa.Column('created_by_account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_account_id'], ['account.id'], name=op.f('fk_agreement_created_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_agreement_school_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_agreement_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement')),
    sa.UniqueConstraint('verify_code', name=op.f('uq_agreement_verify_code'))
    )
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_student_id'), ['student_id'], unique=False)
        batch_op.create_index('ix_agreement_student_kind', ['student_id', 'kind'], unique=False)

    op.create_table('agreement_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_agreement_event_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_agreement_event_agreement_id_agreement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_event'))
    )
    with op.batch_alter_table('agreement_event', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_event_agreement_time', ['agreement_id', 'occurred_at'], unique=False)

    op.create_table('agreement_review_moment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('contact_account_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_agreement_review_moment_agreement_id_agreement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_account_id'], ['account.id'], name=op.f('fk_agreement_review_moment_contact_account_id_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_review_moment'))
    )
    with op.batch_alter_table('agreement_review_moment', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_review_due', ['due_date', 'reminded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_review_moment_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'awaiting', 'active', 'superseded', 'declined', 'ended', name='agreement_version_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('content_encrypted', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('signing_order', sa.Enum('parallel', 'sequential', name='agreement_signing_order', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_by_account_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_agreement_version_agreement_id_agreement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_account_id'], ['account.id'], name=op.f('fk_agreement_version_created_by_account_id_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_version')),
    sa.UniqueConstraint('agreement_id', 'number', name=op.f('uq_agreement_version_agreement_id_number'))
    )
    with op.batch_alter_table('agreement_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_version_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('student', 'organisation', name='agreement_party_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=120), nullable=False),
    sa.Column('purpose', sa.String(length=60), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('commitment', sa.Text(), nullable=False),
    sa.Column('signs', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_agreement_party_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['version_id'], ['agreement_version.id'], name=op.f('fk_agreement_party_version_id_agreement_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_party')),
    sa.UniqueConstraint('version_id', 'key', name=op.f('uq_agreement_party_version_id_key'))
    )
    with op.batch_alter_table('agreement_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_party_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_party_version_id'), ['version_id'], unique=False)

    op.create_table('agreement_signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('party_key', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=120), nullable=False),
    sa.Column('declined', sa.Boolean(), nullable=False),
    sa.Column('decline_reason', sa.String(length=1000), nullable=True),
    sa.Column('signer_account_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signer_organisation', sa.String(length=200), nullable=True),
    sa.Column('on_behalf_of', sa.String(length=200), nullable=True),
    sa.Column('method', sa.Enum('password', 'totp', 'organisation-key', name='agreement_signature_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_hash', sa.String(length=64), nullable=False),
    sa.Column('kid', sa.String(length=80), nullable=True),
    sa.Column('signature', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['signer_account_id'], ['account.id'], name=op.f('fk_agreement_signature_signer_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['agreement_version.id'], name=op.f('fk_agreement_signature_version_id_agreement_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_signature')),
    sa.UniqueConstraint('version_id', 'party_key', name=op.f('uq_agreement_signature_version_id_party_key'))
    )
    with op.batch_alter_table('agreement_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_signature_version_id'), ['version_id'], unique=False)



def downgrade():
    with op.batch_alter_table('agreement_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_signature_version_id'))

    op.drop_table('agreement_signature')
    with op.batch_alter_table('agreement_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_party_version_id'))
        batch_op.drop_index(batch_op.f('ix_agreement_party_organisation_id'))

    op.drop_table('agreement_party')
    with op.batch_alter_table('agreement_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_version_agreement_id'))

    op.drop_table('agreement_version')
    with op.batch_alter_table('agreement_review_moment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_review_moment_agreement_id'))
        batch_op.drop_index('ix_agreement_review_due')

    op.drop_table('agreement_review_moment')
    with op.batch_alter_table('agreement_event', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_event_agreement_time')

    op.drop_table('agreement_event')
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_student_kind')
        batch_op.drop_index(batch_op.f('ix_agreement_student_id'))
        batch_op.drop_index(batch_op.f('ix_agreement_school_id'))

    op.drop_table('agreement')
    with op.batch_alter_table('organisation_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_key_organisation_id'))

    op.drop_table('organisation_key')
