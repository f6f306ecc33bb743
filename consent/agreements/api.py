"""The agreements API (``/api/v1/agreements``)."""

from __future__ import annotations

from network.api import Blueprint

bp = Blueprint("agreements_api", __name__, url_prefix="/api/v1", description="Overeenkomsten (plannen)")
