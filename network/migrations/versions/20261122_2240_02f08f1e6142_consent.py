"""consent: catalogues (data categories, purposes, legal tasks), consents with their items,
signed receipts, consent requests and guardian representations; seeds the standard catalogues

Revision ID: 02f08f1e6142
Revises: f908445a58d4
Create Date: 2026-11-22 22:40:53.186684

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '02f08f1e6142'
down_revision = 'f908445a58d4'
branch_labels = None
depends_on = None


# The standard catalogues as they were when this revision was written (a frozen snapshot:
# consent.catalogue.seed_catalogues holds the living copy, for tests and demo data).
_CATEGORIES = [
    ("contactgegevens", "Contactgegevens", "Naam, geboortedatum, adres, telefoon en e-mail; contact van ouders.", False, 1),
    ("opleiding", "Opleiding en voortgang", "School, opleiding, niveau, verwachte einddatum en voortgang.", False, 2),
    ("leefgebieden", "Leefgebieden", "Hoe het gaat met wonen, geld, thuis, vrije tijd en werk.", False, 3),
    ("ondersteuningsbehoefte", "Ondersteuningsbehoefte en gezondheid",
     "Welke hulp of aanpassing je nodig hebt, en gezondheid (bijzonder gegeven, AVG art. 9).", True, 4),
    ("justitie", "Justitie", "Contact met politie of justitie (strafrechtelijk gegeven, AVG art. 10).", True, 5),
    ("school-naar-werk-plan", "School-naar-werk-plan", "Je plan: doelen, stappen, afspraken en wie wat doet.", False, 6),
    ("bsn", "Burgerservicenummer (BSN)", "Je BSN; alleen als de wet het gebruik toestaat.", False, 7),
]
_PURPOSES = [
    (1, "begeleiding-naar-werk", "Begeleiding naar werk", "Hulp bij het vinden en houden van werk na school.",
     ["contactgegevens", "opleiding", "leefgebieden", "ondersteuningsbehoefte", "justitie", "school-naar-werk-plan"]),
    (2, "jobcoaching", "Jobcoaching", "Een jobcoach helpt je op je werkplek.",
     ["contactgegevens", "opleiding", "ondersteuningsbehoefte", "school-naar-werk-plan"]),
    (3, "stagebegeleiding", "Stagebegeleiding", "Begeleiding tijdens je (eind)stage.",
     ["contactgegevens", "opleiding", "ondersteuningsbehoefte", "school-naar-werk-plan"]),
    (4, "rmc-nazorg", "RMC-nazorg", "Het RMC houdt contact met je als je school verlaat, tot twee jaar erna.",
     ["contactgegevens", "opleiding", "leefgebieden"]),
    (5, "uitkering-en-regelzaken", "Uitkering en regelzaken", "Hulp bij inkomen, uitkering en andere regelzaken.",
     ["contactgegevens", "opleiding", "leefgebieden", "bsn"]),
    (6, "arbeidsdeskundig-onderzoek", "Arbeidsdeskundig onderzoek", "Onderzoek naar wat voor werk bij je past.",
     ["contactgegevens", "opleiding", "ondersteuningsbehoefte", "school-naar-werk-plan", "bsn"]),
    (7, "doelgroepregister-aanvraag", "Aanvraag doelgroepregister", "Aanvraag voor het doelgroepregister (banenafspraak).",
     ["contactgegevens", "opleiding", "ondersteuningsbehoefte", "bsn"]),
]
_LEGAL_TASKS = [
    (1, "rmc", 4, "rmc-nazorg", "RMC-nazorg van schoolverlaters",
     "Wettelijke taak van het RMC (Wet educatie en beroepsonderwijs, Leerplichtwet 1969)", True,
     ["contactgegevens", "opleiding"]),
    (2, "uwv", 7, "uwv-doelgroepregister", "Beoordeling doelgroepregister door UWV",
     "Wettelijke taak van UWV (Wet banenafspraak; gebruik BSN: Wet algemene bepalingen BSN art. 10)", False,
     ["contactgegevens", "bsn"]),
]


def _seed():
    category = sa.table("consent_data_category", sa.column("code", sa.String), sa.column("label", sa.String),
                        sa.column("description", sa.String), sa.column("is_special", sa.Boolean),
                        sa.column("sort_order", sa.Integer))
    purpose = sa.table("consent_purpose", sa.column("id", sa.Integer), sa.column("code", sa.String),
                       sa.column("label", sa.String), sa.column("description", sa.String),
                       sa.column("is_active", sa.Boolean), sa.column("sort_order", sa.Integer))
    purpose_category = sa.table("consent_purpose_category", sa.column("purpose_id", sa.Integer),
                                sa.column("category", sa.String))
    task = sa.table("consent_legal_task", sa.column("id", sa.Integer), sa.column("organisation_type", sa.String),
                    sa.column("purpose_id", sa.Integer), sa.column("code", sa.String), sa.column("label", sa.String),
                    sa.column("legal_reference", sa.String), sa.column("description", sa.String),
                    sa.column("own_region_only", sa.Boolean), sa.column("is_active", sa.Boolean))
    task_category = sa.table("consent_legal_task_category", sa.column("legal_task_id", sa.Integer),
                             sa.column("category", sa.String))
    op.bulk_insert(category, [dict(code=c, label=l, description=d, is_special=s, sort_order=o)
                              for c, l, d, s, o in _CATEGORIES])
    op.bulk_insert(purpose, [dict(id=i, code=c, label=l, description=d, is_active=True, sort_order=i)
                             for i, c, l, d, _ in _PURPOSES])
    op.bulk_insert(purpose_category, [dict(purpose_id=i, category=cat) for i, *_, cats in _PURPOSES for cat in cats])
    op.bulk_insert(task, [dict(id=i, organisation_type=t, purpose_id=p, code=c, label=l, legal_reference=r,
                               description="", own_region_only=own, is_active=True)
                          for i, t, p, c, l, r, own, _ in _LEGAL_TASKS])
    op.bulk_insert(task_category, [dict(legal_task_id=i, category=cat) for i, *_, cats in _LEGAL_TASKS for cat in cats])
    if op.get_bind().dialect.name == "postgresql":
        # explicit ids above: move the sequences past them
        op.execute("SELECT setval('consent_purpose_id_seq', (SELECT max(id) FROM consent_purpose))")
        op.execute("SELECT setval('consent_legal_task_id_seq', (SELECT max(id) FROM consent_legal_task))")


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('consent_data_category',
    sa.Column('code', sa.Enum('contactgegevens', 'opleiding', 'bsn', 'leefgebieden', 'ondersteuningsbehoefte', 'justitie', 'school-naar-werk-plan', name='data_category', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('is_special', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_consent_data_category'))
    )
    op.create_table('consent_purpose',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_purpose')),
    sa.UniqueConstraint('code', name=op.f('uq_consent_purpose_code'))
    )
    op.create_table('consent_legal_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_type', sa.Enum('school', 'gemeente', 'uwv', 'wsp', 'rmc', 'sbb', 'leerwerkloket', 'mee', 'zorg', 'werkgever', 'hub', 'other', name='legal_task_org_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=160), nullable=False),
    sa.Column('legal_reference', sa.String(length=300), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('own_region_only', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purpose.id'], name=op.f('fk_consent_legal_task_purpose_id_consent_purpose'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_legal_task')),
    sa.UniqueConstraint('organisation_type', 'purpose_id', 'code', name=op.f('uq_consent_legal_task_organisation_type_purpose_id_code'))
    )
    with op.batch_alter_table('consent_legal_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_legal_task_purpose_id'), ['purpose_id'], unique=False)

    op.create_table('consent_purpose_category',
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['category'], ['consent_data_category.code'], name=op.f('fk_consent_purpose_category_category_consent_data_category'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purpose.id'], name=op.f('fk_consent_purpose_category_purpose_id_consent_purpose'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('purpose_id', 'category', name=op.f('pk_consent_purpose_category'))
    )
    op.create_table('consent_legal_task_category',
    sa.Column('legal_task_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['category'], ['consent_data_category.code'], name=op.f('fk_consent_legal_task_category_category_consent_data_category'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['legal_task_id'], ['consent_legal_task.id'], name=op.f('fk_consent_legal_task_category_legal_task_id_consent_legal_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('legal_task_id', 'category', name=op.f('pk_consent_legal_task_category'))
    )
    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'withdrawn', 'expired', name='consent_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('given_by', sa.Enum('student', 'representative', name='consent_given_by', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('representative_name', sa.String(length=200), nullable=True),
    sa.Column('representative_relation', sa.Enum('ouder', 'voogd', 'andere_vertegenwoordiger', name='representative_relation', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('representative_account_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('portal', 'in_person', 'paper', name='consent_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('text_version', sa.String(length=40), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('recorded_by_organisation_id', sa.Integer(), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_name', sa.String(length=200), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("given_by <> 'representative' OR representative_name IS NOT NULL", name=op.f('ck_consent_representative_named')),
    sa.CheckConstraint('valid_until >= valid_from', name=op.f('ck_consent_valid_range')),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purpose.id'], name=op.f('fk_consent_purpose_id_consent_purpose'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recipient_id'], ['organisation.id'], name=op.f('fk_consent_recipient_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_account_id'], ['account.id'], name=op.f('fk_consent_recorded_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_organisation_id'], ['organisation.id'], name=op.f('fk_consent_recorded_by_organisation_id_organisation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['representative_account_id'], ['account.id'], name=op.f('fk_consent_representative_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_consent_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ix_consent_lookup', ['student_id', 'recipient_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_purpose_id'), ['purpose_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index('ix_consent_status_until', ['status', 'valid_until'], unique=False)

    op.create_table('consent_representation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('relation', sa.Enum('ouder', 'voogd', 'andere_vertegenwoordiger', name='representation_relation', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('recorded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_consent_representation_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_account_id'], ['account.id'], name=op.f('fk_consent_representation_recorded_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_consent_representation_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_representation')),
    sa.UniqueConstraint('account_id', 'student_id', name=op.f('uq_consent_representation_account_id_student_id'))
    )
    with op.batch_alter_table('consent_representation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_representation_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_representation_student_id'), ['student_id'], unique=False)

    op.create_table('consent_item',
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('explicit', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['category'], ['consent_data_category.code'], name=op.f('fk_consent_item_category_consent_data_category'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_item_consent_id_consent'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('consent_id', 'category', name=op.f('pk_consent_item'))
    )
    op.create_table('consent_receipt',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('grant', 'withdraw', name='receipt_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_receipt_consent_id_consent'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_receipt'))
    )
    with op.batch_alter_table('consent_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_receipt_consent_id'), ['consent_id'], unique=False)

    op.create_table('consent_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('categories', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', 'cancelled', name='consent_request_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('requested_by_account_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_request_consent_id_consent'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purpose.id'], name=op.f('fk_consent_request_purpose_id_consent_purpose'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recipient_id'], ['organisation.id'], name=op.f('fk_consent_request_recipient_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by_account_id'], ['account.id'], name=op.f('fk_consent_request_requested_by_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_consent_request_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_request'))
    )
    with op.batch_alter_table('consent_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_request_student_id'), ['student_id'], unique=False)

    # ### end Alembic commands ###
    _seed()


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('consent_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_request_student_id'))

    op.drop_table('consent_request')
    with op.batch_alter_table('consent_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_receipt_consent_id'))

    op.drop_table('consent_receipt')
    op.drop_table('consent_item')
    with op.batch_alter_table('consent_representation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_representation_student_id'))
        batch_op.drop_index(batch_op.f('ix_consent_representation_account_id'))

    op.drop_table('consent_representation')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_status_until')
        batch_op.drop_index(batch_op.f('ix_consent_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_consent_purpose_id'))
        batch_op.drop_index('ix_consent_lookup')

    op.drop_table('consent')
    op.drop_table('consent_legal_task_category')
    op.drop_table('consent_purpose_category')
    with op.batch_alter_table('consent_legal_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_legal_task_purpose_id'))

    op.drop_table('consent_legal_task')
    op.drop_table('consent_purpose')
    op.drop_table('consent_data_category')
    # ### end Alembic commands ###
