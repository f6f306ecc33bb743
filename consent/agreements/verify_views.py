"""Verification by anyone: ``/controle/<code>`` (no login, no student data) and checking an
uploaded bundle against the published keys.

Both are public and rate-limited per client address (``VERIFY_RATE_LIMIT``), so codes cannot
be guessed in bulk. They read no student and show no content: see
:mod:`consent.agreements.verification`.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from consent.agreements.verification import (
    MAX_BUNDLE_BYTES,
    UNKNOWN_CODE,
    check_bundle,
    find_by_code,
    normalise_code,
    parse_bundle,
    public_report,
)
from network.db import db
from network.errors import NotFound, ValidationFailed
from network.extensions import limiter
from network.web import keyring

bp = Blueprint("agreement_verify", __name__)

verify_limit = limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])


def _lookup_page(*, values=None, errors=None, check=None, status=200):
    return render_template("consent/agreements/verify_lookup.html", values=values or {}, errors=errors or {},
                           check=check, max_kb=MAX_BUNDLE_BYTES // 1024), status


@bp.get("/controle/<code>")
@verify_limit
def public(code):
    """An agreement's versions and signatures, verified now; no names, no content."""
    try:
        agreement = find_by_code(db.session, code)
    except NotFound:
        return _lookup_page(values={"code": code}, errors={"code": [str(UNKNOWN_CODE)]}, status=404)
    if normalise_code(code) != code:
        return redirect(url_for("agreement_verify.public", code=agreement.verify_code))
    return render_template("consent/agreements/verify.html", report=public_report(db.session, keyring(), agreement))


@bp.route("/controle", methods=["GET", "POST"])
@verify_limit
def lookup():
    """Type a code (to the public page), or paste or upload a bundle to check it."""
    if request.method == "GET":
        code = normalise_code(request.args.get("code"))
        if "code" in request.args:
            if not code:
                return _lookup_page(errors={"code": [_("Vul de controlecode in.")]}, status=400)
            return redirect(url_for("agreement_verify.public", code=code))
        return _lookup_page()
    upload = request.files.get("bestand")
    pasted = request.form.get("bundle", "")
    values = {"bundle": pasted[:MAX_BUNDLE_BYTES]}
    try:
        if upload is not None and upload.filename:
            raw = upload.stream.read(MAX_BUNDLE_BYTES + 1)
        else:
            raw = pasted
        check = check_bundle(db.session, keyring(), parse_bundle(raw))
    except ValidationFailed as exc:
        return _lookup_page(values=values, errors=exc.errors, status=400)
    return _lookup_page(values=values, check=check)
