"""The placement API's blueprint (``/api/v1``), declared apart so that its operations can live
in several modules (:mod:`.api`: the placements; :mod:`.api_contacts`: the stageprotocol's
contacts; :mod:`.api_assessments`: the employer's assessments) without importing each other.
"""

from __future__ import annotations

from network.api import Blueprint
from network.api import api_require as network_api_require
from network.permissions import Permission

bp = Blueprint("placements_api", __name__, url_prefix="/api/v1", description="Stages (BPV) op de route")

NO_BASIS = (403, "Geen toegang, geen grondslag voor deze leerling, of de token mist de scope")


def api_require(permission: Permission):
    return network_api_require(permission, "U heeft geen toegang tot stages.")
