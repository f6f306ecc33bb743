"""referrals: the warm hand-over at the exit of a route (issue 20, item 3)

Revision ID: c5a9e1d3f7b2
Revises: c4a9e2d71b58
Create Date: 2026-12-08 21:00:00

A referral can be the warm hand-over at the exit of its route (``at_exit``), with the signed
version of the school-naar-werk-plan it carries by reference (agreement id and version number).
Who takes over and what was agreed travel in the referral's encrypted details.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c5a9e1d3f7b2'
down_revision = 'c4a9e2d71b58'
branch_labels = None
depends_on = None


def _without_foreign_keys(change):
    """Run ``change``; on SQLite with foreign keys off. SQLite adds a foreign key by copying the
    ``referral`` table (batch mode); with foreign keys on, dropping the old table would delete its
    events, packets and the rest (ON DELETE CASCADE). The pragma does nothing inside a
    transaction, hence the autocommit block; the keys are checked when they are back on."""
    if op.get_bind().dialect.name != "sqlite":
        change()
        return
    with op.get_context().autocommit_block():
        _foreign_keys(False)
        change()
        _foreign_keys(True)


def _foreign_keys(on):
    bind = op.get_bind()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bool(bind.exec_driver_sql("PRAGMA foreign_keys").scalar()) is not on:
        raise RuntimeError("SQLite: the foreign keys pragma did not take effect")
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"SQLite: foreign keys broken after copying the tables: {broken[:5]}")


def upgrade():
    _without_foreign_keys(_upgrade)


def downgrade():
    _without_foreign_keys(_downgrade)


def _upgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_exit', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('plan_agreement_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('plan_version', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referral_plan_agreement_id_agreement'), 'agreement',
                                    ['plan_agreement_id'], ['id'], ondelete='SET NULL')


def _downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referral_plan_agreement_id_agreement'), type_='foreignkey')
        batch_op.drop_column('plan_version')
        batch_op.drop_column('plan_agreement_id')
        batch_op.drop_column('at_exit')
