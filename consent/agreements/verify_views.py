"""Verification by anyone: ``/controle/<code>`` (no login, no student data) and checking an
uploaded bundle against the published keys."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agreement_verify", __name__)
