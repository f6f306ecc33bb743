"""Signing pages (``/plannen/<id>/versies/<n>/...``): review exactly the version to sign,
confirm who you are (password or TOTP, fresh), sign or decline; the printable view and PDF
with the verification code; the signed bundle download.

These pages are for every party, so they ask for a login, not a role: a guardian signing for a
student under 16 has no membership. The agreement's own walls (:func:`find_agreement`, 404)
and the access decision (:func:`read_agreement`, 403, audited) guard them; every page that
shows the version reads it through that decision first.

A fresh authentication is kept in the server-side session (``reauth_at``, UTC ISO, and
``reauth_method``) for :data:`~consent.agreements.signatures.FRESH_AUTH`: signing a second
version (or for a second party) within ten minutes needs no new password. Every refusal is
shown on the signing page itself, in Dutch, with its status (400, 403, 409) and nothing signed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent.agreements.access import Access, find_agreement, read_agreement
from consent.agreements.integrity import build_bundle
from consent.agreements.models import (
    Agreement,
    AgreementParty,
    AgreementVersion,
    PartyKind,
    SignatureMethod,
    VersionStatus,
)
from consent.agreements.overview import KIND_LABELS, METHOD_LABELS, ORDER_LABELS, VERSION_STATUS_LABELS
from consent.agreements.pdf import printable, render_pdf
from consent.agreements.signatures import (
    FRESH_AUTH,
    STATUS_MESSAGES,
    decline_version,
    find_version,
    sign_version,
    signing_capacity,
    signing_refusal,
)
from consent.tags import AgreementTag
from network import identity
from network.audit import AuditAction
from network.clock import utcnow
from network.crypto import DecryptionError
from network.db import db
from network.errors import Conflict, DomainError, Forbidden, ValidationFailed
from network.events import EventTag
from network.identity import LoginPolicy
from network.permissions import Principal
from network.web import current_principal, hasher, keyring, login_required_view

bp = Blueprint("agreement_signing", __name__, url_prefix="/plannen")

_VERSION = "/<uuid:agreement_id>/versies/<int:number>"


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the hub's public address (``BASE_URL``): what goes on paper, in a QR
    code or in a bundle must not depend on the host name this request came in on."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _find(agreement_id, number) -> tuple[Principal, Agreement, Access, AgreementVersion]:
    principal = current_principal()
    agreement, access = find_agreement(db.session, principal, agreement_id)
    return principal, agreement, access, find_version(agreement, number)


def _read(principal: Principal, agreement: Agreement, access: Access, **kwargs: Any) -> None:
    """Decide and audit the read; a denial is raised (its audit event stays: network.audit)."""
    read_agreement(db.session, principal, agreement, access, **kwargs)


# -- fresh authentication ------------------------------------------------------------------------

def fresh_authentication(now: dt.datetime) -> tuple[dt.datetime, SignatureMethod] | None:
    """The re-authentication kept in this session, if it is at most FRESH_AUTH old."""
    try:
        at = dt.datetime.fromisoformat(session["reauth_at"])
        method = SignatureMethod(session["reauth_method"])
    except (KeyError, TypeError, ValueError):
        return None
    if at.tzinfo is None or now - at > FRESH_AUTH or at > now:
        return None
    return at, method


def _remember_authentication(at: dt.datetime, method: str) -> None:
    session["reauth_at"] = at.isoformat()
    session["reauth_method"] = method


# -- the signing page ----------------------------------------------------------------------------

def _candidates(principal: Principal, agreement: Agreement, version: AgreementVersion) -> list[AgreementParty]:
    """The signing parties of this version the actor may sign for (signed already or not)."""
    return [p for p in version.parties
            if p.signs and signing_capacity(db.session, principal, agreement, p) is not None]


def _party_label(party: AgreementParty, on_behalf: bool) -> str:
    if party.kind is PartyKind.student and on_behalf:
        return _("%(name)s (als wettelijk vertegenwoordiger)", name=party.name)
    return party.name


def _choose(principal: Principal, agreement: Agreement, version: AgreementVersion,
            wanted: str | None) -> tuple[AgreementParty | None, list[AgreementParty], DomainError | None]:
    """The party to sign for (``?partij=`` or the only one), the choice when there are several,
    and why signing cannot happen now."""
    candidates = _candidates(principal, agreement, version)
    keys = {p.key: p for p in version.parties}
    if wanted:
        party = keys.get(wanted)
        if party is None:
            return None, [], ValidationFailed(_("Deze partij staat niet in deze versie."))
    else:
        open_ = [p for p in candidates if signing_refusal(db.session, principal, keyring(), agreement, version,
                                                          p.key) is None]
        if len(open_) > 1:
            return None, open_, None
        party = (open_ or candidates or [None])[0]
    if party is None:
        if version.status is not VersionStatus.awaiting:
            return None, [], Conflict(STATUS_MESSAGES.get(version.status, STATUS_MESSAGES[VersionStatus.superseded]))
        return None, [], Forbidden(_("U ondertekent deze versie niet: u bent geen ondertekenende partij, en ook "
                                     "niet de wettelijk vertegenwoordiger van een."))
    return party, [], signing_refusal(db.session, principal, keyring(), agreement, version, party.key)


def _message(error: DomainError) -> str:
    messages = [m for values in (error.errors or {}).values() for m in values]
    return str(error.detail) if error.detail else " ".join(messages) or error.title


def _page(principal: Principal, agreement: Agreement, access: Access, version: AgreementVersion, *,
          wanted: str | None, errors: dict | None = None, decline_errors: dict | None = None,
          values: dict | None = None, refusal: DomainError | None = None, status: int = 200):
    """Read (decided, audited) and show the version with the signing and declining forms."""
    _read(principal, agreement, access)
    party, choice, problem = _choose(principal, agreement, version, wanted)
    refusal = refusal or problem
    if refusal is not None and status < 400:
        status = refusal.status
    now = utcnow()
    capacity = signing_capacity(db.session, principal, agreement, party) if party is not None else None
    on_behalf = capacity is not None and capacity[1] is not None
    doc = printable(db.session, keyring(), agreement, version,
                    verify_url=external_url("agreement_verify.public", code=agreement.verify_code))
    html = render_template(
        "consent/agreements/sign.html", agreement=agreement, version=version, doc=doc, party=party, choice=choice,
        party_label=_party_label(party, on_behalf) if party else None, on_behalf=on_behalf,
        refusal=_message(refusal) if refusal else None, errors=errors or {}, decline_errors=decline_errors or {},
        values=values or {}, fresh=fresh_authentication(now) is not None,
        uses_code=current_user.totp_enabled, kind_label=KIND_LABELS[agreement.kind],
        status_label=VERSION_STATUS_LABELS[version.status], order_label=ORDER_LABELS[version.signing_order],
        method_labels=METHOD_LABELS, fresh_minutes=int(FRESH_AUTH.total_seconds() // 60))
    return html, status


@bp.route(_VERSION + "/ondertekenen", methods=["GET", "POST"])
@login_required_view
def sign(agreement_id, number):
    """Show exactly the version to sign; on POST: confirm who you are (unless that was done in
    the last ten minutes), then sign for the chosen party."""
    principal, agreement, access, version = _find(agreement_id, number)
    wanted = (request.values.get("partij") or "").strip() or None
    if request.method == "GET":
        return _page(principal, agreement, access, version, wanted=wanted)
    account = current_user._get_current_object()
    form = request.form
    now = utcnow()
    values = {"confirm": form.get("confirm", "")}
    errors: dict[str, list[str]] = {}
    secret_field = "code" if account.totp_enabled else "password"
    if not wanted:
        return _page(principal, agreement, access, version, wanted=None, status=400, values=values,
                     refusal=ValidationFailed(_("Kies namens welke partij u ondertekent.")))
    if form.get("confirm") != "1":
        errors["confirm"] = [_("Vink aan dat u deze versie heeft gelezen en ondertekent.")]
    fresh = fresh_authentication(now)
    if fresh is None and not form.get(secret_field, "").strip():
        errors[secret_field] = [_("Typ de zes cijfers die nu in uw authenticator-app staan.") if account.totp_enabled
                                else _("Vul uw wachtwoord in om te bevestigen dat u het bent.")]
    status = 400
    if not errors and fresh is None:
        policy = LoginPolicy.from_config(current_app.config)
        method = identity.reauthenticate(db.session, principal, hasher(), keyring(), account,
                                         password=form.get("password"), code=form.get("code"), policy=policy, now=now)
        if method is None:
            if account.locked_until is not None and account.locked_until > now:
                status = 403
                errors[secret_field] = [_("Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. "
                                          "Wacht %(n)d minuten en probeer het opnieuw.",
                                          n=current_app.config["LOGIN_LOCKOUT_MINUTES"])]
            else:
                errors[secret_field] = [_("Deze code klopt niet. Typ de zes cijfers die nu in uw authenticator-app "
                                          "staan.") if account.totp_enabled else _("Uw wachtwoord klopt niet.")]
        else:
            _remember_authentication(now, method)
            fresh = (now, SignatureMethod(method))
    if errors:
        return _page(principal, agreement, access, version, wanted=wanted, errors=errors, values=values,
                     status=status)
    try:
        sign_version(db.session, principal, keyring(), agreement, access, number, wanted,
                     authenticated_at=fresh[0], method=fresh[1], base_url=current_app.config["BASE_URL"])
    except DomainError as exc:
        db.session.rollback()
        return _page(principal, agreement, access, version, wanted=wanted, values=values, refusal=exc)
    flash(_("U heeft versie %(n)s ondertekend.", n=number), "success")
    return redirect(url_for("agreements.detail", agreement_id=agreement_id))


@bp.post(_VERSION + "/weigeren")
@login_required_view
def decline(agreement_id, number):
    """Decline to sign this version, with a reason (required)."""
    principal, agreement, access, version = _find(agreement_id, number)
    wanted = (request.form.get("partij") or "").strip() or None
    values = {"reason": request.form.get("reason", "")}
    if not wanted:
        return _page(principal, agreement, access, version, wanted=None, status=400, values=values,
                     refusal=ValidationFailed(_("Kies namens welke partij u weigert.")))
    try:
        decline_version(db.session, principal, keyring(), agreement, access, number, wanted,
                        reason=values["reason"], base_url=current_app.config["BASE_URL"])
    except ValidationFailed as exc:
        db.session.rollback()
        if set(exc.errors) <= {"reason"} and exc.errors:
            return _page(principal, agreement, access, version, wanted=wanted, values=values,
                         decline_errors=exc.errors, status=400)
        return _page(principal, agreement, access, version, wanted=wanted, values=values, refusal=exc)
    except DomainError as exc:
        db.session.rollback()
        return _page(principal, agreement, access, version, wanted=wanted, values=values, refusal=exc)
    flash(_("U heeft versie %(n)s niet ondertekend. De school krijgt uw reden.", n=number), "success")
    return redirect(url_for("agreements.detail", agreement_id=agreement_id))


# -- print, PDF, bundle --------------------------------------------------------------------------

def _export(agreement_id, number, event_type: EventTag):
    principal, agreement, access, version = _find(agreement_id, number)
    _read(principal, agreement, access, event_type=event_type, action=AuditAction.export)
    return agreement, version


def _printable(agreement: Agreement, version: AgreementVersion):
    return printable(db.session, keyring(), agreement, version,
                     verify_url=external_url("agreement_verify.public", code=agreement.verify_code))


@bp.get(_VERSION + "/afdruk")
@login_required_view
def print_view(agreement_id, number):
    """The version on paper: content, parties, signatures, hash, and the QR code to check it."""
    agreement, version = _export(agreement_id, number, AgreementTag.print)
    html = render_template("consent/agreements/print.html", doc=_printable(agreement, version),
                           agreement=agreement, version=version)
    return html


def _filename(agreement: Agreement, version: AgreementVersion, extension: str) -> str:
    kind = "plan" if agreement.kind.value == "plan" else "privacyafspraken"
    return f"{kind}-{agreement.verify_code}-v{version.number}.{extension}"


@bp.get(_VERSION + "/pdf")
@login_required_view
def pdf(agreement_id, number):
    """The same as the print page, as a PDF download."""
    agreement, version = _export(agreement_id, number, AgreementTag.pdf)
    body = render_pdf(_printable(agreement, version))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{_filename(agreement, version, "pdf")}"'})


@bp.get(_VERSION + "/bundel")
@login_required_view
def bundle(agreement_id, number):
    """The signed bundle (JSON) of an offered version: verifiable with only the published keys."""
    principal, agreement, access, version = _find(agreement_id, number)
    if version.content_hash is None:  # nothing to export: decided (and audited) as a view
        _read(principal, agreement, access)
        raise Conflict(_("Deze versie is nog niet ter ondertekening aangeboden; er is nog niets te controleren."))
    _read(principal, agreement, access, event_type=AgreementTag.bundle, action=AuditAction.export)
    try:
        body = build_bundle(keyring(), agreement, version, jwks_url=external_url("main.jwks"),
                            verify_url=external_url("agreement_verify.public", code=agreement.verify_code))
    except (DecryptionError, ValueError):
        raise Conflict(_("De inhoud van deze versie is beschadigd of buiten Schakel gewijzigd; er is geen bundel "
                         "te maken. Neem contact op met de beheerder.")) from None
    return Response(json.dumps(body, ensure_ascii=False, indent=2), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{_filename(agreement, version, "json")}"'})
