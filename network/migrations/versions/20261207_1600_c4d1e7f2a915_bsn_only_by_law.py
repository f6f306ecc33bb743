"""consent: the BSN only by law, never by consent (no schema change: a check of the data)

Revision ID: c4d1e7f2a915
Revises: b5e0c3a91d24
Create Date: 2026-12-07 16:00:00

Under UAVG art. 46 a BSN may be processed only where a law allows it; consent is no such basis.
From this release grant_consent and request_consent refuse the BSN category and the access
decision ignores it in a consent. A database that holds active consents or open requests
naming the BSN is not changed behind anyone's back: the upgrade stops and names them; withdraw
(or answer) them in Schakel, which gives the student a receipt and the audit log its event, and
run the upgrade again. A legal task that names the BSN (UWV's doelgroepregister) is untouched.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4d1e7f2a915'
down_revision = 'b5e0c3a91d24'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    consents = [row[0] for row in bind.execute(sa.text(
        "SELECT DISTINCT c.id FROM consent c JOIN consent_item i ON i.consent_id = c.id "
        "WHERE c.status = 'active' AND i.category = 'bsn' ORDER BY c.id"))]
    requests = [row[0] for row in bind.execute(sa.text(
        "SELECT id FROM consent_request WHERE status = 'open' AND "
        "(' ' || categories || ' ') LIKE '% bsn %' ORDER BY id"))]
    if consents or requests:
        named = []
        if consents:
            named.append("active consents " + ", ".join(map(str, consents[:50])))
        if requests:
            named.append("open consent requests " + ", ".join(map(str, requests[:50])))
        raise RuntimeError(
            f"The BSN may be shared only where a law allows it, never by consent (UAVG art. 46), but "
            f"{'; '.join(named)} name it. Withdraw those consents (and answer or withdraw those requests) in "
            f"Schakel, then run the upgrade again.")


def downgrade():
    pass
