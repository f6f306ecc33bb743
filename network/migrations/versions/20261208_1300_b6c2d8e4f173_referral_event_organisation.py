"""referrals: each referral event names the organisation its actor acted for (issue 18, item 5)

Revision ID: b6c2d8e4f173
Revises: 9e4b1f7a3c52
Create Date: 2026-12-08 13:00:00

After a withdrawal the receiving partner sees the school's free text of a referral (its
messages, the reasons it gave) only where a basis remains, and its own notes always. To tell
the school's text from the partner's own, an event records the organisation it was written for.
Existing events get it from the organisation name they stored, matched against the referral's
sender and receiver; an event that matches neither (a job, a renamed organisation) keeps none
and counts as not the receiver's own. (On SQLite the batch copy-and-move of referral_event is
safe: no table refers to it, so its drop deletes nothing else.)
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b6c2d8e4f173'
down_revision = '9e4b1f7a3c52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referral_event_actor_organisation_id_organisation'), 'organisation',
                                    ['actor_organisation_id'], ['id'], ondelete='SET NULL')
    for side in ("from_organisation_id", "to_organisation_id"):
        op.execute(
            f"UPDATE referral_event SET actor_organisation_id = ("
            f"SELECT r.{side} FROM referral r JOIN organisation o ON o.id = r.{side} "
            f"WHERE r.id = referral_event.referral_id AND o.name = referral_event.actor_organisation_name) "
            f"WHERE actor_organisation_id IS NULL")


def downgrade():
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referral_event_actor_organisation_id_organisation'),
                                 type_='foreignkey')
        batch_op.drop_column('actor_organisation_id')
