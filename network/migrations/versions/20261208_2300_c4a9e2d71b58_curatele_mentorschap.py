"""consent: curatele and mentorschap (issue 20, item 8)

Revision ID: c4a9e2d71b58
Revises: d4a8c1f6e203
Create Date: 2026-12-08 21:00:00

A representation may be a curator or mentor appointed by the kantonrechter for an adult, with
the court decision as evidence (court, date, reference) and an optional end date; a consent may
be given by one. The relation columns' CHECK constraints gain the two values; the evidence is
required by a CHECK for those relations, and the end may not lie before the decision.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c4a9e2d71b58'
down_revision = 'd4a8c1f6e203'
branch_labels = None
depends_on = None

OLD = ('ouder', 'voogd', 'andere_vertegenwoordiger')
NEW = OLD + ('curator', 'mentor')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _without_foreign_keys(change):
    """Run ``change``; on SQLite with foreign keys off.

    SQLite changes a CHECK by copying the table (batch mode): with foreign keys on, dropping the
    old ``consent`` table would delete its items and receipts (ON DELETE CASCADE). So they are
    off while the tables are copied (SQLite's own procedure for other table changes) and checked
    when they are back on. The pragma does nothing inside a transaction, hence the autocommit
    block (SQLite's DDL is not transactional in Alembic anyway)."""
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
    with op.batch_alter_table('consent_representation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('court', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decision_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('decision_reference', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.drop_constraint(op.f('ck_consent_representation_representation_relation'), type_='check')
        batch_op.create_check_constraint(op.f('ck_consent_representation_representation_relation'),
                                         sa.text(_in('relation', NEW)))
        batch_op.create_check_constraint(op.f('ck_consent_representation_measure_evidence'), sa.text(
            "relation NOT IN ('curator', 'mentor') OR (court IS NOT NULL AND decision_date IS NOT NULL "
            "AND decision_reference IS NOT NULL)"))
        batch_op.create_check_constraint(op.f('ck_consent_representation_measure_range'),
                                         sa.text("ends_on IS NULL OR ends_on >= decision_date"))
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_consent_representative_relation'), type_='check')
        batch_op.create_check_constraint(op.f('ck_consent_representative_relation'),
                                         sa.text(_in('representative_relation', NEW)))


def _downgrade():
    op.execute("DELETE FROM consent_representation WHERE relation IN ('curator', 'mentor')")
    op.execute("UPDATE consent SET representative_relation = 'andere_vertegenwoordiger' "
               "WHERE representative_relation IN ('curator', 'mentor')")
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_consent_representative_relation'), type_='check')
        batch_op.create_check_constraint(op.f('ck_consent_representative_relation'),
                                         sa.text(_in('representative_relation', OLD)))
    with op.batch_alter_table('consent_representation', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_consent_representation_measure_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_consent_representation_measure_evidence'), type_='check')
        batch_op.drop_constraint(op.f('ck_consent_representation_representation_relation'), type_='check')
        batch_op.create_check_constraint(op.f('ck_consent_representation_representation_relation'),
                                         sa.text(_in('relation', OLD)))
        batch_op.drop_column('ends_on')
        batch_op.drop_column('decision_reference')
        batch_op.drop_column('decision_date')
        batch_op.drop_column('court')
