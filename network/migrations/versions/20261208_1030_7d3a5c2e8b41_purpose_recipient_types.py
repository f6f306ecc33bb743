"""consent: each purpose names the organisation types that may receive it (issue 18, item 3b)

Revision ID: 7d3a5c2e8b41
Revises: f41f5b18df59
Create Date: 2026-12-08 10:30:00

A consent or a legal task is for a recipient of a type the purpose names: no employer gets a
student's data for "Uitkering en regelzaken". The table consent_purpose_recipient_type holds
those types, seeded here with the standard catalogue's defaults; a purpose the hub admin added
gets every partner type (nothing changes for it until the admin narrows it).

A database that holds active consents, open consent requests or active legal tasks outside
those defaults is not changed behind anyone's back: the upgrade stops before it changes
anything and names them. Withdraw the consents (which gives the student a receipt and the
audit log its event), answer or withdraw the requests, switch the legal tasks off in Schakel,
and run the upgrade again.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7d3a5c2e8b41'
down_revision = 'f41f5b18df59'
branch_labels = None
depends_on = None

# A frozen snapshot of consent.catalogue.PURPOSE_RECIPIENTS as this revision was written.
DEFAULTS = {
    "begeleiding-naar-werk": ("gemeente", "uwv", "wsp", "rmc", "leerwerkloket", "mee", "zorg"),
    "jobcoaching": ("gemeente", "uwv", "mee", "zorg"),
    "stagebegeleiding": ("gemeente", "sbb", "leerwerkloket", "mee", "zorg", "werkgever"),
    "rmc-nazorg": ("rmc", "gemeente"),
    "uitkering-en-regelzaken": ("gemeente", "uwv", "mee"),
    "arbeidsdeskundig-onderzoek": ("uwv", "gemeente"),
    "doelgroepregister-aanvraag": ("uwv", "gemeente", "wsp"),
}
ALL_PARTNERS = ("gemeente", "uwv", "wsp", "rmc", "sbb", "leerwerkloket", "mee", "zorg", "werkgever", "other")
TYPES = ('school', 'gemeente', 'uwv', 'wsp', 'rmc', 'sbb', 'leerwerkloket', 'mee', 'zorg', 'werkgever', 'hub', 'other')


def _allowed(code: str) -> tuple[str, ...]:
    return DEFAULTS.get(code, ALL_PARTNERS)


def _breaking(bind) -> list[str]:
    """What the defaults would leave without a fitting recipient type, in words with the ids."""
    consents, requests, tasks = [], [], []
    for consent_id, code, org_type in bind.execute(sa.text(
            "SELECT c.id, p.code, o.type FROM consent c JOIN consent_purpose p ON p.id = c.purpose_id "
            "JOIN organisation o ON o.id = c.recipient_id WHERE c.status = 'active' ORDER BY c.id")):
        if org_type not in _allowed(code):
            consents.append(f"{consent_id} ({org_type} for {code})")
    for request_id, code, org_type in bind.execute(sa.text(
            "SELECT r.id, p.code, o.type FROM consent_request r JOIN consent_purpose p ON p.id = r.purpose_id "
            "JOIN organisation o ON o.id = r.recipient_id WHERE r.status = 'open' ORDER BY r.id")):
        if org_type not in _allowed(code):
            requests.append(f"{request_id} ({org_type} for {code})")
    for task_id, code, org_type in bind.execute(sa.text(
            "SELECT t.id, p.code, t.organisation_type FROM consent_legal_task t "
            "JOIN consent_purpose p ON p.id = t.purpose_id WHERE t.is_active ORDER BY t.id")):
        if org_type not in _allowed(code):
            tasks.append(f"{task_id} ({org_type} for {code})")
    named = []
    for words, ids in (("active consents", consents), ("open consent requests", requests),
                       ("active legal tasks", tasks)):
        if ids:
            named.append(f"{words} {', '.join(ids[:50])}")
    return named


def upgrade():
    bind = op.get_bind()
    named = _breaking(bind)
    if named:
        raise RuntimeError(
            "Each purpose now names the organisation types that may receive it, but "
            f"{'; '.join(named)} go to a type the purpose does not name. Withdraw those consents, answer or "
            "withdraw those requests and switch those legal tasks off in Schakel, then run the upgrade again.")
    op.create_table('consent_purpose_recipient_type',
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('organisation_type', sa.Enum(*TYPES, name='purpose_recipient_type', native_enum=False,
                                           create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purpose.id'],
                            name=op.f('fk_consent_purpose_recipient_type_purpose_id_consent_purpose'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('purpose_id', 'organisation_type', name=op.f('pk_consent_purpose_recipient_type'))
    )
    table = sa.table("consent_purpose_recipient_type", sa.column("purpose_id", sa.Integer),
                     sa.column("organisation_type", sa.String))
    rows = [{"purpose_id": purpose_id, "organisation_type": org_type}
            for purpose_id, code in bind.execute(sa.text("SELECT id, code FROM consent_purpose ORDER BY id"))
            for org_type in _allowed(code)]
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    op.drop_table('consent_purpose_recipient_type')
