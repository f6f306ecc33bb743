"""sociale kaart: services of organisations, contact points, locations, the "waarvoor te
benaderen" catalogue (seeded), tags, change history; and the full-text index per engine:
SQLite an FTS5 table kept in sync by triggers, PostgreSQL a generated tsvector column ('dutch')
with a GIN index plus pg_trgm indexes for typo tolerance (when the extension can be created).
The index objects are not in the models (network.models_index.UNMODELLED_*).

Revision ID: 037d14693e6f
Revises: 02f08f1e6142
Create Date: 2026-11-22 22:48:29.172430

"""
import uuid

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '037d14693e6f'
down_revision = '02f08f1e6142'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('socialmap_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_socialmap_category')),
    sa.UniqueConstraint('code', name=op.f('uq_socialmap_category_code')),
    sa.UniqueConstraint('uuid', name=op.f('uq_socialmap_category_uuid'))
    )
    op.create_table('socialmap_organisation',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('alternate_name', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_socialmap_organisation_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_socialmap_organisation')),
    sa.UniqueConstraint('uuid', name=op.f('uq_socialmap_organisation_uuid'))
    )
    op.create_table('socialmap_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('alternate_name', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('department', sa.String(length=120), nullable=True),
    sa.Column('url', sa.String(length=300), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_uuid', sa.Uuid(), nullable=True),
    sa.Column('minimum_age', sa.Integer(), nullable=True),
    sa.Column('maximum_age', sa.Integer(), nullable=True),
    sa.Column('eligibility_description', sa.Text(), nullable=True),
    sa.Column('area_postcodes', sa.String(length=500), nullable=True),
    sa.Column('opening_hours', sa.String(length=500), nullable=True),
    sa.Column('capacity', sa.Enum('plek', 'wachtlijst', 'eerst_overleg', 'vol', name='socialmap_capacity', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('capacity_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_internal', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('active', 'inactive', 'defunct', 'temporarily closed', name='socialmap_service_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('assured_date', sa.Date(), nullable=True),
    sa.Column('assurer_email', sa.String(length=254), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verify_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sector', sa.String(length=120), nullable=True),
    sa.Column('sbb_recognised', sa.Boolean(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_socialmap_service_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_socialmap_service')),
    sa.UniqueConstraint('uuid', name=op.f('uq_socialmap_service_uuid'))
    )
    with op.batch_alter_table('socialmap_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_socialmap_service_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_socialmap_service_status_verified', ['status', 'verified_at'], unique=False)

    op.create_table('socialmap_change',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('resource_type', sa.String(length=30), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_change_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_socialmap_change'))
    )
    with op.batch_alter_table('socialmap_change', schema=None) as batch_op:
        batch_op.create_index('ix_socialmap_change_service_time', ['service_id', 'changed_at'], unique=False)

    op.create_table('socialmap_contact',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_uuid', sa.Uuid(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_contact_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_socialmap_contact'))
    )
    with op.batch_alter_table('socialmap_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_socialmap_contact_service_id'), ['service_id'], unique=False)

    op.create_table('socialmap_service_category',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['socialmap_category.id'], name=op.f('fk_socialmap_service_category_category_id_socialmap_category'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_service_category_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'category_id', name=op.f('pk_socialmap_service_category'))
    )
    with op.batch_alter_table('socialmap_service_category', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_socialmap_service_category_category_id'), ['category_id'], unique=False)

    op.create_table('socialmap_service_location',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('location_uuid', sa.Uuid(), nullable=False),
    sa.Column('address_uuid', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_service_location_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_socialmap_service_location'))
    )
    with op.batch_alter_table('socialmap_service_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_socialmap_service_location_service_id'), ['service_id'], unique=False)

    op.create_table('socialmap_service_tag',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('vocabulary', sa.Enum('doelgroep', 'aanbod', 'gemeente', name='socialmap_tag_vocabulary', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['socialmap_service.id'], name=op.f('fk_socialmap_service_tag_service_id_socialmap_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'vocabulary', 'code', name=op.f('pk_socialmap_service_tag'))
    )
    with op.batch_alter_table('socialmap_service_tag', schema=None) as batch_op:
        batch_op.create_index('ix_socialmap_service_tag_lookup', ['vocabulary', 'code'], unique=False)

    _seed_categories()
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
    elif op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRESQL_SEARCH:
            op.execute(statement)
        _create_trigram_indexes()


# The default "waarvoor te benaderen" catalogue (seed 001, appendix 1.4), frozen as it was when
# this revision was written; socialmap.entries.ensure_default_categories holds the living copy.
_CATEGORIES = [
    ('8811d8ca-02be-55ec-b2f1-fd5a8ba74f2b', 'overleg', 'Overleg', 'Afstemmen over een student of een aanpak.', 1),
    ('5dffc659-0a85-50eb-a5e3-b3ac3741f276', 'begeleiding', 'Begeleiding', 'Begeleiding van de student naar en op werk.', 2),
    ('7053845e-5951-5de6-95a7-bfdae665ed1b', 'kennis', 'Kennis', 'Kennis en advies over regelingen, doelgroepen en werk.', 3),
    ('e95a4642-bf2d-5f52-91a9-93e8f5f9ba8f', 'werkgeversnetwerk', 'Werkgeversnetwerk', 'Contacten met werkgevers en vacatures.', 4),
    ('b44a34b2-14f6-552b-9b52-c6563a5e8f91', 'regelruimte', 'Regelruimte', 'Ruimte om van de regels af te wijken als dat nodig is.', 5),
    ('776095f0-364a-595e-a6d3-575d96badfe8', 'financiering', 'Financiering', 'Geld voor begeleiding, aanpassingen of loonkosten.', 6),
    ('a3a28336-9935-5417-a900-b3fad54c41a4', 'stageplaatsen', 'Stageplaatsen', 'Stage- en leerwerkplekken voor studenten.', 7),
]


def _seed_categories():
    table = sa.table("socialmap_category", sa.column("uuid", sa.Uuid()), sa.column("code", sa.String()),
                     sa.column("name", sa.String()), sa.column("description", sa.String()),
                     sa.column("position", sa.Integer()), sa.column("is_active", sa.Boolean()),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    for id_, code, name, description, position in _CATEGORIES:
        op.execute(table.insert().values(uuid=uuid.UUID(id_), code=code, name=name, description=description,
                                         position=position, is_active=True, created_at=sa.func.now()))


# SQLite: an external-content FTS5 table over (name, keywords, description) of
# socialmap_service, rowid = socialmap_service.id, kept in sync by triggers. No Dutch stemmer
# exists for FTS5: socialmap.search strips Dutch endings from the query and uses prefix terms
# (the prefix indexes make those index look-ups).
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE socialmap_search USING fts5(name, keywords, description, "
    "content='socialmap_service', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4')",
    "CREATE TRIGGER socialmap_search_ai AFTER INSERT ON socialmap_service BEGIN "
    "INSERT INTO socialmap_search(rowid, name, keywords, description) "
    "VALUES (new.id, new.name, new.keywords, new.description); END",
    "CREATE TRIGGER socialmap_search_ad AFTER DELETE ON socialmap_service BEGIN "
    "INSERT INTO socialmap_search(socialmap_search, rowid, name, keywords, description) "
    "VALUES ('delete', old.id, old.name, old.keywords, old.description); END",
    "CREATE TRIGGER socialmap_search_au AFTER UPDATE OF name, keywords, description ON socialmap_service BEGIN "
    "INSERT INTO socialmap_search(socialmap_search, rowid, name, keywords, description) "
    "VALUES ('delete', old.id, old.name, old.keywords, old.description); "
    "INSERT INTO socialmap_search(rowid, name, keywords, description) "
    "VALUES (new.id, new.name, new.keywords, new.description); END",
]

# PostgreSQL: a generated tsvector with the 'dutch' configuration, weighted name (A) >
# keywords, i.e. categories and the like (B) > description (C), and its GIN index.
_POSTGRESQL_SEARCH = [
    "ALTER TABLE socialmap_service ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('dutch'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('dutch'::regconfig, coalesce(keywords, '')), 'B') || "
    "setweight(to_tsvector('dutch'::regconfig, coalesce(description, '')), 'C')) STORED",
    "CREATE INDEX ix_socialmap_service_search ON socialmap_service USING gin (search_vector)",
]


def _create_trigram_indexes():
    """pg_trgm for typo tolerance, when this database lets us have it (socialmap.search checks
    for the extension and falls back to shortened prefixes without it)."""
    bind = op.get_bind()
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if not available:
        return
    op.execute("SAVEPOINT socialmap_trgm")
    try:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:  # no privilege: search works without it
        op.execute("ROLLBACK TO SAVEPOINT socialmap_trgm")
        return
    op.execute("RELEASE SAVEPOINT socialmap_trgm")
    op.execute("CREATE INDEX ix_socialmap_service_name_trgm ON socialmap_service USING gin (lower(name) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_socialmap_service_keywords_trgm ON socialmap_service "
               "USING gin (lower(keywords) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("socialmap_search_ai", "socialmap_search_ad", "socialmap_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS socialmap_search")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_socialmap_service_keywords_trgm")
        op.execute("DROP INDEX IF EXISTS ix_socialmap_service_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_socialmap_service_search")
        # pg_trgm stays: other features may use it, and dropping an extension is an operator's call
    with op.batch_alter_table('socialmap_service_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_socialmap_service_tag_lookup')

    op.drop_table('socialmap_service_tag')
    with op.batch_alter_table('socialmap_service_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_socialmap_service_location_service_id'))

    op.drop_table('socialmap_service_location')
    with op.batch_alter_table('socialmap_service_category', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_socialmap_service_category_category_id'))

    op.drop_table('socialmap_service_category')
    with op.batch_alter_table('socialmap_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_socialmap_contact_service_id'))

    op.drop_table('socialmap_contact')
    with op.batch_alter_table('socialmap_change', schema=None) as batch_op:
        batch_op.drop_index('ix_socialmap_change_service_time')

    op.drop_table('socialmap_change')
    with op.batch_alter_table('socialmap_service', schema=None) as batch_op:
        batch_op.drop_index('ix_socialmap_service_status_verified')
        batch_op.drop_index(batch_op.f('ix_socialmap_service_organisation_id'))

    op.drop_table('socialmap_service')
    op.drop_table('socialmap_organisation')
    op.drop_table('socialmap_category')
