"""The placement pages' blueprint, declared apart so that its view modules add routes to it
without importing each other:

- :mod:`referrals.placements.views`: the school's pages (``/trajecten/stages``, a route's
  new placement, a placement with its status form, the edit form);
- :mod:`referrals.placements.proposal_views`: the map's editors' answers to proposed companies
  (``/stagebedrijven/voorstellen``).

The app factory imports both and registers :data:`bp`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("placements", __name__)
