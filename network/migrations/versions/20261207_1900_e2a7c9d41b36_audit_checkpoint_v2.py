"""audit: checkpoints sign where they start and a Merkle root of their events (version 2)

Revision ID: e2a7c9d41b36
Revises: c4d1e7f2a915
Create Date: 2026-12-07 19:00:00

A checkpoint now also signs ``first_seq`` (the event after the checkpoint before it, so a
removed checkpoint leaves a gap that ``schakel audit verify`` names) and ``root_hash``, the
RFC 9162 Merkle root over the leaves of the events it sealed (so one event can be proven to a
student). Checkpoints signed before keep their signature and are version 1; their
``first_seq`` is filled in here from the checkpoint before each (unsigned, as it was never
signed), their ``root_hash`` stays empty.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2a7c9d41b36'
down_revision = 'c4d1e7f2a915'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("audit_checkpoint") as batch:
        batch.add_column(sa.Column("first_seq", BigId, nullable=True))
        batch.add_column(sa.Column("root_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("version", sa.SmallInteger(), server_default="1", nullable=False))
    op.execute("UPDATE audit_checkpoint SET first_seq = 1 + coalesce("
               "(SELECT max(b.seq) FROM audit_checkpoint b WHERE b.seq < audit_checkpoint.seq), 0)")


def downgrade():
    with op.batch_alter_table("audit_checkpoint") as batch:
        batch.drop_column("version")
        batch.drop_column("root_hash")
        batch.drop_column("first_seq")
