"""The sociale kaart's HTML blueprint, declared apart so that its view modules add routes to it
without importing each other: :mod:`socialmap.views` (search, entries, capacity, freshness,
categories, the CSV export) and :mod:`socialmap.bulk_views` (the spreadsheet import, the XLSX
export, the employer matcher, the HSDS download). The app factory imports both and registers
:data:`bp`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("socialmap", __name__)

#: entries per page of a list
PER_PAGE = 20
