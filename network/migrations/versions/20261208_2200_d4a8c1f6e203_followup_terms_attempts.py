"""referrals: follow-up that lasts two years: the region's follow-up term per school level, and
"niet bereikt" contact attempts on a check-in (issue 20, item 5)

Revision ID: d4a8c1f6e203
Revises: b5d2e8f17a43
Create Date: 2026-12-08 21:00:00

Two new tables (referral_followup_term, referral_contact_attempt) and one value added to the
check-in's situation (niet_bereikt). The situation is a VARCHAR(32) with a CHECK constraint
(network.models.str_enum), so only the constraint changes: dropped and created again with the
new value on PostgreSQL; on SQLite the table is copied in batch mode with the new constraint.
No row changes; every stored value stays valid. The downgrade refuses while a check-in holds
niet_bereikt (it would fail the old constraint): nothing is rewritten behind anyone's back.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4a8c1f6e203'
down_revision = 'b5d2e8f17a43'
branch_labels = None
depends_on = None

OLD = ('werkend', 'opleiding', 'uitkering', 'dagbesteding', 'onbekend', 'uitgevallen')
NEW = (*OLD, 'niet_bereikt')
LEVELS = ('entree', 'mbo2', 'mbo3', 'mbo4', 'pro', 'vso', 'other')
METHODS = ('telefoon', 'email', 'brief', 'huisbezoek')
CONSTRAINT = 'ck_referral_check_in_check_in_situation'


def _situation(values):
    return sa.Enum(*values, name='check_in_situation', native_enum=False, create_constraint=True, length=32)


def _check(values):
    return 'situation IN (' + ', '.join(f"'{v}'" for v in values) + ')'


def _set_situations(values):
    with op.batch_alter_table('referral_check_in', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_='check')
        batch_op.create_check_constraint(op.f(CONSTRAINT), _check(values))


def upgrade():
    op.create_table('referral_followup_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum(*LEVELS, name='followup_term_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('updated_by_name', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('months BETWEEN 6 AND 36', name=op.f('ck_referral_followup_term_months_range')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_referral_followup_term_region_id_region'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_followup_term')),
    sa.UniqueConstraint('region_id', 'level', name=op.f('uq_referral_followup_term_region_id_level'))
    )
    op.create_table('referral_contact_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('attempted_on', sa.Date(), nullable=False),
    sa.Column('method', sa.Enum(*METHODS, name='contact_attempt_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_in_id'], ['referral_check_in.id'], name=op.f('fk_referral_contact_attempt_check_in_id_referral_check_in'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_contact_attempt'))
    )
    with op.batch_alter_table('referral_contact_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_contact_attempt_check_in_id'), ['check_in_id'], unique=False)
    _set_situations(NEW)


def downgrade():
    held = op.get_bind().scalar(sa.text("SELECT count(*) FROM referral_check_in WHERE situation = 'niet_bereikt'"))
    if held:
        raise RuntimeError(f"{held} check-ins hold the situation niet_bereikt, which the older schema does not know. "
                           "Nothing was changed.")
    _set_situations(OLD)
    with op.batch_alter_table('referral_contact_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_contact_attempt_check_in_id'))
    op.drop_table('referral_contact_attempt')
    op.drop_table('referral_followup_term')
