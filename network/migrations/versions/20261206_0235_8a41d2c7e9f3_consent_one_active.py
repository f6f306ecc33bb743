"""consent: at most one active consent per student, recipient and purpose (a partial unique index)

Revision ID: 8a41d2c7e9f3
Revises: 3c1f0a9e5b27
Create Date: 2026-12-06 02:35:00

grant_consent refused a second active consent for the same recipient and purpose by reading
first; two grants at the same moment (a double click on the portal) both passed that check and
both were recorded. The index makes the database refuse the second. A database that already
holds such pairs is not changed behind anyone's back: the upgrade stops and names them, and
one of each pair is withdrawn in Schakel (which gives its receipt and audit event) first.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8a41d2c7e9f3'
down_revision = '3c1f0a9e5b27'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status = 'active'")


def upgrade():
    active: dict[tuple, list[int]] = {}
    for consent_id, *key in op.get_bind().execute(sa.text(
            "SELECT id, student_id, recipient_id, purpose_id FROM consent WHERE status = 'active' ORDER BY id")):
        active.setdefault(tuple(key), []).append(consent_id)
    duplicates = [ids for ids in active.values() if len(ids) > 1]
    if duplicates:
        listed = "; ".join("consents " + ", ".join(map(str, ids)) for ids in duplicates[:20])
        raise RuntimeError(
            f"{len(duplicates)} time(s) a student has more than one active consent for the same recipient and "
            f"purpose ({listed}). Withdraw all but one of each in Schakel, then run the upgrade again.")
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ux_consent_one_active', ['student_id', 'recipient_id', 'purpose_id'], unique=True,
                              postgresql_where=ACTIVE, sqlite_where=ACTIVE)


def downgrade():
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ux_consent_one_active', postgresql_where=ACTIVE, sqlite_where=ACTIVE)
