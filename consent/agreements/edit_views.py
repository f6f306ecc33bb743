"""The school's editing pages of an agreement (``/plannen/<id>/...``, ``agreement_manage``): the
section forms, the parties and their commitments, offering a version for signature, ending the
agreement, and the one-step fix of a sharing warning (ask the student for the missing consent).

A refused change (field errors or a conflict) rolls the unit of work back and re-renders the
form with what was typed (:func:`~consent.agreements.blueprint.attempt_change`).
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from consent.agreements.blueprint import (
    attempt_change,
    base_url,
    bp,
    content_or_conflict,
    open_agreement,
    render_page,
)
from consent.agreements.content import Field, Section, find_section
from consent.agreements.forms import (
    MAX_PARTY_ROWS,
    fixed_keys,
    form_values,
    load_section,
    offer_input,
    offer_values,
    party_errors,
    party_rows,
    party_values,
    posted_values,
    row_count,
)
from consent.agreements.lifecycle import end_agreement, offer_for_signature
from consent.agreements.models import VersionStatus
from consent.agreements.overview import (
    ORDER_LABELS,
    choices_for,
)
from consent.agreements.service import partner_choices, save_parties, save_section
from consent.agreements.sharing import request_missing_consent
from consent.tags import AgreementTag
from network.audit import AuditAction
from network.db import db
from network.errors import NotFound, ValidationFailed
from network.permissions import Permission
from network.web import keyring, redirect_to, require

#: the parties form shows this many empty rows to add a partner
BLANK_PARTY_ROWS = 2


# -- one section ------------------------------------------------------------------------------------

def _section_page(agreement, section: Section, values, errors, *, status=200, conflict=None):
    choices = choices_for(db.session, agreement)
    return render_page("consent/agreements/section.html", status, agreement=agreement, section=section, values=values,
                       errors=errors, conflict=conflict, options=choices.options,
                       row_counts={rows.code: row_count(rows, values) for rows in section.rows}, Field=Field)


@bp.route("/<uuid:agreement_id>/onderdeel/<section>", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def section(agreement_id, section):
    posted = request.method == "POST"
    principal, agreement, access = open_agreement(agreement_id, edit=True, event_type=AgreementTag.edit_form,
                                                  action=AuditAction.update if posted else AuditAction.read)
    found = find_section(agreement.kind, section)
    if found is None:
        raise NotFound(_("Dit onderdeel bestaat niet."))
    content = content_or_conflict(agreement.latest)
    if not posted:
        values = form_values(found, content.get(found.code) or {})
        values["row_version"] = str(agreement.row_version)
        return _section_page(agreement, found, values, {})
    values = posted_values(found, request.form)
    part, errors = load_section(found, request.form, choices_for(db.session, agreement).allowed)
    if errors:
        return _section_page(agreement, found, values, errors, status=400)
    _saved, refused = attempt_change(agreement_id, AgreementTag.edit_form, values, lambda: save_section(
        db.session, principal, keyring(), agreement, access, found.code, part,
        row_version=request.form.get("row_version")))
    if refused:
        return _section_page(refused.agreement, found, values, refused.errors, status=refused.status,
                             conflict=refused.conflict)
    return redirect_to("agreements.detail", _("'%(title)s' is opgeslagen.", title=found.title),
                               agreement_id=agreement.id)


# -- the parties ------------------------------------------------------------------------------------

def _parties_page(agreement, values, errors, *, status=200, conflict=None):
    used = [int(k.split("-")[1]) for k in values if k.startswith("parties-") and k.split("-")[1].isdigit()
            and values[k]]
    count = min(max(max(used, default=-1) + 1, len(agreement.latest.parties)) + BLANK_PARTY_ROWS, MAX_PARTY_ROWS)
    organisations = [(str(o.id), o.name) for o in partner_choices(db.session, agreement)]
    return render_page("consent/agreements/parties.html", status, agreement=agreement, values=values, errors=errors,
                       conflict=conflict, count=count, fixed=fixed_keys(agreement), organisations=organisations,
                       purposes=choices_for(db.session, agreement).options["purposes"],
                       names={p.key: p.name for p in agreement.latest.parties})


@bp.route("/<uuid:agreement_id>/partijen", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def parties(agreement_id):
    posted = request.method == "POST"
    principal, agreement, access = open_agreement(agreement_id, edit=True, event_type=AgreementTag.edit_form,
                                                  action=AuditAction.update if posted else AuditAction.read)
    if not posted:
        return _parties_page(agreement, party_values(agreement), {})
    values = request.form.to_dict()
    rows, indices = party_rows(agreement, request.form)
    _saved, refused = attempt_change(agreement_id, AgreementTag.edit_form, values, lambda: save_parties(
        db.session, principal, keyring(), agreement, access, rows, row_version=request.form.get("row_version")))
    if refused:
        return _parties_page(refused.agreement, values, party_errors(refused.errors, indices), status=refused.status,
                             conflict=refused.conflict)
    return redirect_to("agreements.detail", _("De partijen en hun toezeggingen zijn opgeslagen."),
                               agreement_id=agreement.id)


# -- offering for signature -------------------------------------------------------------------------

def _offer_page(agreement, values, errors, *, status=200, conflict=None):
    version = agreement.latest
    return render_page("consent/agreements/offer.html", status, agreement=agreement, version=version, values=values,
                       errors=errors, conflict=conflict, order_labels=ORDER_LABELS,
                       can_offer=version.status in (VersionStatus.draft, VersionStatus.declined),
                       fix_links=_fix_links(agreement, errors))


def _fix_links(agreement, errors: dict[str, list[str]]) -> dict[str, str]:
    """Where to fix each refusal: the section form (``checks.fallback``), the parties form
    (``party-<key>``), or the field on this page."""
    links = {}
    for key in errors:
        if "." in key:
            section = key.split(".", 1)[0]
            if find_section(agreement.kind, section) is not None:
                links[key] = url_for("agreements.section", agreement_id=agreement.id, section=section) + \
                    f"#f-{key.split('.', 1)[1]}"
                continue
        if key.startswith("party-"):
            links[key] = url_for("agreements.parties", agreement_id=agreement.id)
            continue
        links[key] = f"#f-{key}"
    return links


@bp.route("/<uuid:agreement_id>/aanbieden", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def offer(agreement_id):
    posted = request.method == "POST"
    principal, agreement, access = open_agreement(agreement_id, edit=True, event_type=AgreementTag.offer_form,
                                                  action=AuditAction.update if posted else AuditAction.read)
    if not posted:
        return _offer_page(agreement, offer_values(agreement), {})
    values, order, signers, errors = offer_input(agreement, request.form)
    if errors:
        return _offer_page(agreement, values, errors, status=400)
    version, refused = attempt_change(agreement_id, AgreementTag.offer_form, values, lambda: offer_for_signature(
        db.session, principal, keyring(), agreement, access, order=order, signers=signers,
        row_version=request.form.get("row_version"), base_url=base_url()))
    if refused:
        return _offer_page(refused.agreement, values, refused.errors, status=refused.status,
                           conflict=refused.conflict)
    return redirect_to("agreements.detail", _("Versie %(n)s is ter ondertekening aangeboden. Wie moet "
                                                      "tekenen, krijgt een bericht.", n=version.number),
                               agreement_id=agreement.id)


# -- ending -----------------------------------------------------------------------------------------

@bp.route("/<uuid:agreement_id>/beeindigen", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def end(agreement_id):
    posted = request.method == "POST"
    principal, agreement, access = open_agreement(agreement_id, edit=True, event_type=AgreementTag.end_form,
                                                  action=AuditAction.update if posted else AuditAction.read)
    if not posted:
        return render_page("consent/agreements/end.html", agreement=agreement, errors={}, conflict=None,
                           values={"row_version": str(agreement.row_version)})
    values = request.form.to_dict()
    _ended, refused = attempt_change(agreement_id, AgreementTag.end_form, values, lambda: end_agreement(
        db.session, principal, agreement, access, reason=request.form.get("reason") or "",
        row_version=request.form.get("row_version")))
    if refused:
        return render_page("consent/agreements/end.html", refused.status, agreement=refused.agreement,
                           errors=refused.errors, conflict=refused.conflict, values=values)
    return redirect_to("agreements.detail", _("De overeenkomst is beëindigd. Alle versies blijven leesbaar "
                                                      "en controleerbaar."), agreement_id=agreement.id)


# -- the one-step fix of a sharing warning ----------------------------------------------------------

@bp.post("/<uuid:agreement_id>/toestemming-vragen")
@require(Permission.agreement_manage)
def request_consent(agreement_id):
    principal, agreement, access = open_agreement(agreement_id, edit=True, event_type=AgreementTag.consent_request,
                                                  action=AuditAction.create)
    raw_org = (request.form.get("organisation_id") or "").strip()
    categories = " ".join(request.form.getlist("categories")).split()
    problem = None
    if not raw_org.isdigit() or not request.form.get("purpose") or not categories:
        problem = _("Kies de organisatie, het doel en de gegevens waarvoor u toestemming vraagt.")
    else:
        try:
            request_missing_consent(db.session, principal, keyring(), agreement, access,
                                    organisation_id=int(raw_org), purpose=request.form["purpose"],
                                    categories=categories)
        except ValidationFailed as exc:
            db.session.rollback()
            open_agreement(agreement_id, edit=True, event_type=AgreementTag.consent_request)
            problem = " ".join(m for messages in exc.errors.values() for m in messages) or str(exc.detail)
    if problem:
        flash(problem, "error")
        return redirect(url_for("agreements.detail", agreement_id=agreement_id) + "#delen")
    return redirect_to("agreements.detail", _("De vraag om toestemming staat klaar bij de leerling (onder 16 "
                                                      "jaar: de ouder of voogd)."), agreement_id=agreement.id)
