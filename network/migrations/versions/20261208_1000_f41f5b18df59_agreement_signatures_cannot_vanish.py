"""agreements: signatures that cannot vanish (each names the ones before it; the audit log records each)

Revision ID: f41f5b18df59
Revises: e2a7c9d41b36
Create Date: 2026-12-08 10:00:00

A signature row deleted directly in the database, with the version's status set back to
"awaiting", went unnoticed: the signatures left all verified (issue 18). From this release a
signature's statement names the signatures already on the version (the new column
``agreement_signature.previous`` keeps that list, so the statement can be rebuilt), and every
signature and refusal is recorded in the hash-chained audit log as an ``agreement:signature``
event, which verification holds the rows against.

The signatures made before have no ``previous`` (their statements stay as signed, and valid).
So that deleting one of them is noticed from now on too, the upgrade records an
``agreement:signature`` event for every signature and refusal in the database, by the system
(``detail.backfilled``); the audit seal job chains and signs them as any other event. It
records what the database holds at the upgrade: a row already deleted before it is not
brought back. The downgrade drops the column and leaves the events: the log is append-only.
"""
import datetime as dt
import json
import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f41f5b18df59'
down_revision = 'e2a7c9d41b36'
branch_labels = None
depends_on = None

AUDIT_EVENT = sa.table(
    'audit_event',
    sa.column('occurred_at', sa.DateTime(timezone=True)), sa.column('action', sa.String),
    sa.column('event_type', sa.String), sa.column('outcome', sa.String), sa.column('account_name', sa.String),
    sa.column('channel', sa.String), sa.column('object_type', sa.String), sa.column('object_id', sa.String),
    sa.column('student_id', sa.String), sa.column('detail', sa.Text),
)


def _canonical(data):
    """RFC 8785 JSON of strings, integers and booleans (as network.audit.canonical writes it)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upgrade():
    with op.batch_alter_table('agreement_signature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous', sa.JSON(), nullable=True))
    rows = op.get_bind().execute(sa.text(
        "SELECT a.id, a.student_id, v.number, s.party_key, s.declined FROM agreement_signature s "
        "JOIN agreement_version v ON v.id = s.version_id JOIN agreement a ON a.id = v.agreement_id "
        "ORDER BY s.id")).all()
    now = dt.datetime.now(dt.UTC)
    events = [{
        "occurred_at": now, "action": "C", "event_type": "agreement:signature", "outcome": "success",
        "account_name": "systeem", "channel": "cli", "object_type": "agreement",
        "object_id": str(uuid.UUID(str(agreement_id))),  # SQLite keeps the hex without dashes
        "student_id": str(uuid.UUID(str(student_id))),
        "detail": _canonical({"version": int(number), "party": party, "declined": bool(declined),
                              "backfilled": True}),
    } for agreement_id, student_id, number, party, declined in rows]
    if events:
        op.get_bind().execute(AUDIT_EVENT.insert(), events)


def downgrade():
    with op.batch_alter_table('agreement_signature', schema=None) as batch_op:
        batch_op.drop_column('previous')
