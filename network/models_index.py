"""Every module that declares tables, so Alembic and the tests see the whole schema.
Features add their ``models`` module here (by name: network imports no feature at load)."""

import importlib

MODEL_MODULES = ("network.models", "network.audit")


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
