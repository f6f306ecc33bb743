"""referrals: a follow-up check-in records that the young person wants to come back to school

Revision ID: e7b3c9a1d5f2
Revises: c5a9e1d3f7b2
Create Date: 2026-12-09 01:00:00

The retourticket at work (issue 20, item 2): "wil terug naar school" on a check-in tells the
school. A plain added column (SQLite adds it without copying the table).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b3c9a1d5f2'
down_revision = 'c5a9e1d3f7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('referral_check_in', sa.Column('wants_back', sa.Boolean(), server_default=sa.false(),
                                                 nullable=False))


def downgrade():
    """Dropping the column copies the table on SQLite: with foreign keys off, or the copy would
    delete the check-ins' contact attempts (ON DELETE CASCADE); checked when they are back on."""
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column('referral_check_in', 'wants_back')
        return
    bind = op.get_bind()
    with op.get_context().autocommit_block():
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        with op.batch_alter_table('referral_check_in', schema=None) as batch_op:
            batch_op.drop_column('wants_back')
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"SQLite: foreign keys broken after copying referral_check_in: {broken[:5]}")
