"""The school side's HTML blueprint for referrals (``/verwijzingen``), declared apart so that its
view modules add routes to it without importing each other: :mod:`referrals.views` (the
wizard and drafts) and :mod:`referrals.sent_views` (sent referrals and their pages). The app
factory imports both and registers :data:`bp`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("referrals", __name__, url_prefix="/verwijzingen")
