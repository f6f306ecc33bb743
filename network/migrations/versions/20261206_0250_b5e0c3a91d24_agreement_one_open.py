"""agreements: at most one open (not ended) agreement of each kind per student (a partial unique index)

Revision ID: b5e0c3a91d24
Revises: 8a41d2c7e9f3
Create Date: 2026-12-06 02:50:00

create_agreement refused a second open plan (or privacy agreement) for a student by reading
first; two started at the same moment (a double click on "Plan maken", two mentors at once)
both passed that check and both were made. The index makes the database refuse the second. A
database that already holds such pairs is not changed behind anyone's back: the upgrade stops
and names them, and all but one of each are ended in Schakel first.
"""
import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b5e0c3a91d24'
down_revision = '8a41d2c7e9f3'
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'ended'")


def upgrade():
    open_ones: dict[tuple, list[str]] = {}
    for agreement_id, *key in op.get_bind().execute(sa.text(
            "SELECT id, student_id, kind FROM agreement WHERE status <> 'ended' ORDER BY created_at, id")):
        open_ones.setdefault(tuple(key), []).append(str(uuid.UUID(str(agreement_id))))  # SQLite: hex
    duplicates = [ids for ids in open_ones.values() if len(ids) > 1]
    if duplicates:
        listed = "; ".join("agreements " + ", ".join(ids) for ids in duplicates[:20])
        raise RuntimeError(
            f"{len(duplicates)} time(s) a student has more than one open agreement of the same kind ({listed}). "
            f"End all but one of each in Schakel, then run the upgrade again.")
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.create_index('ux_agreement_one_open', ['student_id', 'kind'], unique=True,
                              postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_index('ux_agreement_one_open', postgresql_where=OPEN, sqlite_where=OPEN)
