"""Agreement pages for the school (``/plannen``): the list, a new plan or privacy agreement,
the overview, the section forms, the parties, offering for signature, versions and the
difference between two, ending, and the one-step fix of a sharing warning."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agreements", __name__, url_prefix="/plannen")
