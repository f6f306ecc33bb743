"""Every module that declares tables, so Alembic and the tests see the whole schema.
Features add their ``models`` module here (by name: network imports no feature at load)."""

import importlib

MODEL_MODULES = ("network.models", "network.audit", "network.audit_chain", "network.notifications", "network.oauth",
                 "network.webhooks", "network.idempotency", "consent.models", "socialmap.models", "referrals.models",
                 "consent.agreements.models", "referrals.placements.models", "referrals.exit_models",
                 "referrals.followup_models")

#: database objects that migrations make by hand and no model declares: the sociale kaart's
#: full-text index (SQLite: an FTS5 table and its shadow tables; PostgreSQL: a generated
#: tsvector column and GIN indexes). Autogenerate and the model check leave them alone.
UNMODELLED_TABLE_PREFIXES = ("socialmap_search",)
UNMODELLED_COLUMNS = {("socialmap_service", "search_vector")}
UNMODELLED_INDEXES = {"ix_socialmap_service_search", "ix_socialmap_service_name_trgm",
                      "ix_socialmap_service_keywords_trgm"}



#: the feature packages: importing one registers its jobs, encrypted columns, access bases and
#: demo data with the core. ``create_app`` imports them through the views; what must run without
#: the app (``schakel doctor``) calls :func:`import_features`.
FEATURE_PACKAGES = ("consent", "consent.agreements", "socialmap", "referrals")


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


def import_features() -> None:
    for name in FEATURE_PACKAGES:
        importlib.import_module(name)


def include_name(name, type_, parent_names) -> bool:
    """Alembic ``include_name`` hook: skip unmodelled tables before they are reflected."""
    return not (type_ == "table" and name and name.startswith(UNMODELLED_TABLE_PREFIXES))


def include_unmodelled(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic ``include_object`` part for :data:`UNMODELLED_COLUMNS` and :data:`UNMODELLED_INDEXES`."""
    if type_ == "column" and reflected and (obj.table.name, name) in UNMODELLED_COLUMNS:
        return False
    if type_ == "index" and name in UNMODELLED_INDEXES:
        return False
    return include_name(name, type_, {})
