"""Signing pages (``/plannen/<id>/versies/<n>/...``): review exactly the version to sign,
confirm who you are (password or TOTP, fresh), sign or decline; the printable view and PDF
with the verification code; the signed bundle download."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agreement_signing", __name__, url_prefix="/plannen")
