"""School staff and consent (``/leerlingen/<id>/toestemmingen``): who has a basis for which
category (before referring), record a consent given in person or on paper, ask the student
for consent, and record a parent or guardian."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consent.catalogue import LAW_ONLY_CODES, TYPE_WORDS
from consent.choices import choice_errors, recipient_choices, region_recipients, split_choice
from consent.export import export_json
from consent.lifecycle import (
    add_representation,
    cancel_request,
    end_representation,
    open_requests,
    request_consent,
)
from consent.measures import MEASURES, record_measure, who_decides
from consent.models import (
    Consent,
    ConsentReceipt,
    ConsentRequest,
    ConsentStatus,
    DataCategory,
    LegalTask,
    Relation,
    Representation,
)
from consent.receipts import receipt_document
from consent.schemas import GrantArgs, RepresentationArgs, RequestArgs, form_dict
from consent.service import consent_text, default_valid_until, grant_consent, withdraw_consent
from consent.tags import ConsentTag
from network import clock
from network.access import Category, bases_for_organisation
from network.audit import AuditAction
from network.clock import under_consent_age
from network.db import db
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.events import EventTag
from network.permissions import Permission, can_manage_student
from network.students import get_student
from network.web import current_principal, keyring, redirect_to, require, submit

bp = Blueprint("consent_staff", __name__)

RELATION_LABELS = {Relation.parent.value: _l("ouder"), Relation.guardian.value: _l("voogd"),
                   Relation.other.value: _l("andere wettelijk vertegenwoordiger"),
                   Relation.curator.value: _l("curator (curatele)"), Relation.mentor.value: _l("mentor (mentorschap)")}
CHANNEL_LABELS = {"in_person": _l("mondeling, in een gesprek"), "paper": _l("op papier, ondertekend")}


def _student(student_id, *, event_type: EventTag = ConsentTag.overview, action: AuditAction = AuditAction.read):
    """The student (404 outside the school's walls), read for referral (audited)."""
    principal = current_principal()
    student, _decision = get_student(db.session, principal, student_id, purpose="verwijzing",
                                     categories=[Category.contact, Category.education],
                                     event_type=event_type, action=action)
    if not can_manage_student(principal, student):
        raise Forbidden(_("Alleen de school van de leerling werkt met haar toestemmingen."))
    return principal, student


def _bases(student, organisations, categories):
    """Rows of "who has a basis for which category": active consents and legal tasks."""
    rows = [{"who": student.school.name, "purpose": _("Leerlingbegeleiding en verwijzing"),
             "basis": _("Wettelijke taak (onderwijs)"), "until": None,
             "categories": {Category.contact, Category.education, Category.bsn, Category.life_domains,
                            Category.plan}}]
    consents = db.session.scalars(select(Consent).where(Consent.student_id == student.id,
                                                        Consent.status == ConsentStatus.active)
                                  .options(selectinload(Consent.items))).all()
    for c in consents:
        rows.append({"who": c.recipient.name, "purpose": c.purpose.label, "until": c.valid_until,
                     "basis": _("Toestemming nr. %(id)s", id=c.id), "categories": set(c.categories)})
    tasks = db.session.scalars(select(LegalTask).where(LegalTask.is_active.is_(True))
                               .options(selectinload(LegalTask.items), selectinload(LegalTask.purpose))).all()
    for task in tasks:
        holders = [o for o in organisations if o.type == task.organisation_type]
        if task.own_region_only and not holders:
            continue
        basis, covered = task.label, set(task.categories)
        if task.scope is not None and holders:
            # the law covers some students only (the RMC's leavers, UWV's open matters): say
            # whether it covers this one now, as the decision would (nothing is read: no audit)
            covered = set(bases_for_organisation(db.session, holders[0], student, task.purpose.code,
                                                 task.categories).allowed)
            if not covered:
                basis = _("%(task)s: geldt nu niet voor deze leerling", task=task.label)
        rows.append({"who": ", ".join(o.name for o in holders) or TYPE_WORDS[task.organisation_type],
                     "purpose": task.purpose.label, "basis": basis, "until": None, "categories": covered})
    return rows


def _page(principal, student, *, values=None, errors=None, form=None, status=200):
    session = db.session
    today = clock.today()
    categories = session.scalars(select(DataCategory).order_by(DataCategory.sort_order)).all()
    organisations = region_recipients(session, student.school.region_id)
    ended = session.scalars(select(Consent).where(Consent.student_id == student.id,
                                                  Consent.status != ConsentStatus.active)
                            .order_by(Consent.given_at.desc())).all()
    representatives = session.scalars(select(Representation).where(
        Representation.student_id == student.id, Representation.ended_at.is_(None))).all()
    html = render_template(
        "consent/staff.html", law_only=LAW_ONLY_CODES, student=student, rows=_bases(student, organisations, categories),
        active=session.scalars(select(Consent).where(Consent.student_id == student.id,
                                                     Consent.status == ConsentStatus.active)
                               .order_by(Consent.given_at.desc())).all(),
        categories=categories, ended=ended, requests=open_requests(session, student),
        representatives=representatives, values=values or {}, errors=errors or {}, form=form,
        recipient_groups=recipient_choices(session, organisations),
        relation_options=[(k, v) for k, v in RELATION_LABELS.items() if k not in MEASURES],
        all_relation_options=list(RELATION_LABELS.items()), channel_options=list(CHANNEL_LABELS.items()),
        measure_options=[(k, v) for k, v in RELATION_LABELS.items() if k in MEASURES],
        under16=under_consent_age(student.date_of_birth, today), relation_labels=RELATION_LABELS,
        who=who_decides(session, student, today),
        text_example=consent_text(student_name=student.full_name, recipient_name="[organisatie]",
                                  purpose_label="[doel]", category_labels_=["[gegevens]"], valid_from=today,
                                  valid_until=default_valid_until(student, today)))
    return html, status


@bp.get("/leerlingen/<uuid:student_id>/toestemmingen")
@require(Permission.consent_view)
def overview(student_id):
    principal, student = _student(student_id)
    return _page(principal, student)


def _policy_url() -> str:
    return current_app.config.get("BASE_URL", "").rstrip("/") + "/mijn-gegevens/toestemmingen"


@bp.post("/leerlingen/<uuid:student_id>/toestemmingen")
@require(Permission.consent_record)
def record(student_id):
    principal, student = _student(student_id)
    raw = split_choice(form_dict(request.form))

    def record_consent(data):
        if not data.get("channel"):  # staff record what was given elsewhere: say how
            raise ValidationFailed(errors={"channel": [_("Kies hoe de toestemming is gegeven.")]})
        return grant_consent(db.session, principal, keyring(), student, data, policy_url=_policy_url())

    _done, errors = submit(GrantArgs, raw, record_consent)
    errors = choice_errors(errors)
    if not errors:
        return redirect_to("consent_staff.overview", _("De toestemming is vastgelegd."),
                                   student_id=student.id)
    principal, student = _student(student_id)
    return _page(principal, student, values=raw, errors=errors, form="record", status=400)


@bp.post("/leerlingen/<uuid:student_id>/toestemmingen/verzoek")
@require(Permission.consent_record)
def ask(student_id):
    principal, student = _student(student_id)
    raw = split_choice(form_dict(request.form))
    portal_url = current_app.config["BASE_URL"].rstrip("/") + "/mijn-gegevens/toestemmingen"
    _done, errors = submit(RequestArgs, raw,
                           lambda data: request_consent(db.session, principal, keyring(), student, data,
                                                        portal_url=portal_url))
    errors = choice_errors(errors)
    if not errors:
        return redirect_to("consent_staff.overview", _("De vraag om toestemming is verstuurd."),
                                   student_id=student.id)
    principal, student = _student(student_id)
    return _page(principal, student, values=raw, errors=errors, form="ask", status=400)


@bp.post("/leerlingen/<uuid:student_id>/vertegenwoordigers")
@require(Permission.consent_record)
def representative(student_id):
    principal, student = _student(student_id)
    raw = request.form.to_dict()
    measure = raw.get("relation") in {m.value for m in MEASURES}

    def add(data):
        if measure:
            return record_measure(db.session, principal, student, data, today=clock.today())
        return add_representation(db.session, principal, student, email=data["email"], relation=data["relation"])

    _done, errors = submit(RepresentationArgs, request.form, add)
    if not errors:
        return redirect_to("consent_staff.overview", _("De curatele of het mentorschap is vastgelegd.") if measure
                           else _("De ouder of voogd is vastgelegd."), student_id=student.id)
    principal, student = _student(student_id)
    return _page(principal, student, values=raw, errors=errors, form="measure" if measure else "representative",
                 status=400)


@bp.post("/toestemmingen/<int:consent_id>/intrekken-namens-leerling")
@require(Permission.consent_record)
def withdraw(consent_id):
    """The student (or parent) tells the school they withdraw: staff of the student's school
    record it with one POST, as the student could in the portal."""

    consent = db.session.get(Consent, consent_id)
    if consent is None:
        raise NotFound()
    principal, student = _student(consent.student_id)
    try:
        withdraw_consent(db.session, principal, keyring(), consent, policy_url=_policy_url())
    except Conflict:
        db.session.rollback()
    return redirect_to("consent_staff.overview", _("De toestemming is ingetrokken."), student_id=student.id)


@bp.post("/vertegenwoordigers/<int:representation_id>/beeindigen")
@require(Permission.consent_record)
def end_representative(representation_id):
    """End a parent's or guardian's representation with one POST (e.g. custody changed)."""
    representation = db.session.get(Representation, representation_id)
    if representation is None:
        raise NotFound()
    principal, student = _student(representation.student_id)
    try:
        end_representation(db.session, principal, representation)
    except Conflict:
        db.session.rollback()
    if representation.relation in MEASURES:
        return redirect_to("consent_staff.overview", _("De curatele of het mentorschap is beëindigd. Vanaf nu "
                                                       "beslist de leerling weer zelf."), student_id=student.id)
    return redirect_to("consent_staff.overview", _("De ouder of voogd is beëindigd. Vanaf nu handelt "
                                                           "dit account niet meer namens de leerling."),
                               student_id=student.id)


@bp.post("/toestemmingsverzoeken/<int:request_id>/intrekken")
@require(Permission.consent_record)
def cancel_ask(request_id):
    """Cancel an open request for consent (asked by mistake, or no longer needed)."""
    found = db.session.get(ConsentRequest, request_id)
    if found is None:
        raise NotFound()
    principal, student = _student(found.student_id)
    try:
        cancel_request(db.session, principal, found)
    except Conflict:
        db.session.rollback()
    return redirect_to("consent_staff.overview", _("De vraag om toestemming is ingetrokken."),
                               student_id=student.id)


@bp.get("/leerlingen/<uuid:student_id>/ontvangstbewijzen")
@require(Permission.consent_view)
def receipts(student_id):
    """All signed receipts of the student's consents, as one JSON file (each verifiable with
    the JWKS alone). A read of the student's data: decided and audited as an export."""
    _principal, student = _student(student_id, event_type=ConsentTag.receipts, action=AuditAction.export)
    found = db.session.scalars(select(ConsentReceipt).join(Consent, Consent.id == ConsentReceipt.consent_id)
                               .where(Consent.student_id == student.id)
                               .order_by(ConsentReceipt.created_at, ConsentReceipt.id)).all()
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    body = export_json({"jwks_uri": f"{base}/.well-known/jwks.json",
                        "receipts": [receipt_document(r.payload, r.key_id, r.signature) for r in found]})
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="ontvangstbewijzen-{clock.today().isoformat()}.json"'})
