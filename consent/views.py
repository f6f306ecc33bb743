"""The student portal (``/mijn-gegevens``): who may see what, grant and withdraw (one POST
each, on the same screen), who looked at my data, and download my data. A parent or guardian
of a student under 16 uses the same pages for that student (audited on behalf of them).

Every page is a read of the student's own data through :func:`network.access.decide`
(purpose ``inzage``), so the GET views commit their audit event.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from consent.catalogue import LAW_ONLY_CODES
from consent.choices import choice_errors, recipient_choices, region_recipients, split_choice
from consent.export import as_subject, collect_export, export_csv, export_json
from consent.labels import action_label, basis_label, outcome_label, role_label
from consent.lifecycle import open_requests
from consent.measures import may_decide, representing, who_decides
from consent.models import (
    Consent,
    ConsentReceipt,
    ConsentStatus,
    DataCategory,
    LegalTask,
    Purpose,
)
from consent.receipts import receipt_document
from consent.schemas import GrantArgs, form_dict
from consent.service import (
    CONSENT_TEXT_VERSION,
    category_labels,
    consent_text,
    default_valid_until,
    grant_consent,
    students_for_account,
    withdraw_consent,
)
from consent.tags import ConsentTag
from network import clock
from network.access import PURPOSE_LABELS, Category, decide
from network.audit import AuditEvent
from network.audit_proof import inclusion_proof
from network.clock import AMSTERDAM
from network.db import db
from network.errors import Conflict, Forbidden, NotFound
from network.events import EventTag
from network.web import (
    current_principal,
    keyring,
    login_required_view,
    redirect_to,
    submit,
)

bp = Blueprint("consent", __name__)


@bp.app_template_filter("label_of")
def label_of(code) -> str:
    """A category code in words (from the catalogue; cached per request)."""

    labels = g.get("consent_category_labels")
    if labels is None:
        labels = g.consent_category_labels = category_labels(db.session)
    return labels.get(str(code), str(code))


@bp.app_template_global("acting_relation")
def acting_relation(student) -> str | None:
    """How the signed-in account acts for ``student`` in the portal (``curator``, ``mentor``,
    ``ouder``...), for the notice every portal page shows a representative; one statement."""
    found = representing(db.session, current_principal().account_id, student, clock.today())
    return found.relation.value if found is not None else None


PER_PAGE = 25


def _policy_url() -> str:
    return current_app.config.get("BASE_URL", "").rstrip("/") + "/mijn-gegevens/toestemmingen"


def portal_subject(student_id: str | None = None):
    """(principal, student, role, choices) for this request; student None when the account
    acts for no student. A given ``leerling`` outside the account's reach is a 404."""
    principal = current_principal()
    choices = students_for_account(db.session, principal.account_id, clock.today())
    wanted = student_id or request.values.get("leerling")
    if wanted:
        found = [(s, r) for s, r in choices if str(s.id) == wanted]
        if not found:
            raise NotFound(_("Deze leerling bestaat niet, of u heeft er geen toegang toe."))
        student, role = found[0]
    elif choices:
        student, role = choices[0]
    else:
        return principal, None, None, choices
    return as_subject(principal, student, role), student, role, choices


def portal_read(actor, student, event_type: EventTag):
    """The portal's read of the student's own data (purpose ``inzage``), decided and audited;
    every page of the student's portal, the features' too, goes through it."""
    decision = decide(db.session, actor, student, "inzage", list(Category), event_type=event_type)
    if not decision.allowed:
        raise Forbidden(_("U heeft geen toegang tot deze gegevens."))
    return decision


def portal_empty():
    """The portal's page for an account that acts for no student."""
    return render_template("consent/empty.html")


@bp.get("/mijn-gegevens")
@login_required_view
def home():
    return redirect(url_for("consent.portal", **request.args))


def _portal_page(actor, student, role, choices, *, values=None, errors=None, status=200):
    session = db.session
    today = clock.today()
    consents = session.scalars(select(Consent).where(Consent.student_id == student.id)
                               .options(selectinload(Consent.items), selectinload(Consent.receipts))
                               .order_by(Consent.given_at.desc())).all()
    active = [c for c in consents if c.status is ConsentStatus.active]
    ended = [c for c in consents if c.status is not ConsentStatus.active]
    categories = session.scalars(select(DataCategory).order_by(DataCategory.sort_order)).all()
    labels = {str(c.code): c.label for c in categories}
    organisations = region_recipients(session, student.school.region_id)
    tasks = session.scalars(select(LegalTask).where(LegalTask.is_active.is_(True))
                            .options(selectinload(LegalTask.items), selectinload(LegalTask.purpose))).all()
    legal = []
    for task in tasks:
        holders = [o for o in organisations if o.type == task.organisation_type] if task.own_region_only else []
        legal.append((task, holders))
    requests = open_requests(session, student)
    acting_for = representing(session, actor.account_id, student, today) if role == "representative" else None
    on_behalf = (actor.name, acting_for.relation) if acting_for is not None else None
    who = who_decides(session, student, today)
    request_texts = {
        r.id: consent_text(student_name=student.full_name, recipient_name=r.recipient.name,
                           purpose_label=r.purpose.label, category_labels_=[labels.get(c, c) for c in r.category_list],
                           valid_from=today, valid_until=default_valid_until(student, today), on_behalf=on_behalf)
        for r in requests}
    html = render_template(
        "consent/portal.html", law_only=LAW_ONLY_CODES, student=student, role=role, choices=choices,
        active=active, ended=ended,
        labels=labels, categories=categories, organisations=organisations, legal=legal,
        requests=requests, request_texts=request_texts, recipient_groups=recipient_choices(session, organisations),
        values=values or {}, errors=errors or {},
        default_until=default_valid_until(student, today), text_version=CONSENT_TEXT_VERSION,
        who=who, may_withdraw={c.id for c in active if may_decide(role, acting_for, who.measure, c.categories)},
        special={str(c.code) for c in categories if c.is_special})
    return html, status


@bp.get("/mijn-gegevens/toestemmingen")
@login_required_view
def portal():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    portal_read(actor, student, ConsentTag.portal)
    return _portal_page(actor, student, role, choices)


@bp.post("/mijn-gegevens/toestemmingen")
@login_required_view
def grant():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty(), 404
    raw = split_choice(form_dict(request.form))

    def give(data):
        data["channel"] = None  # the portal: the student (or guardian) gives it themself
        data.pop("representative_name", None)
        data.pop("representative_relation", None)
        return grant_consent(db.session, actor, keyring(), student, data, policy_url=_policy_url())

    _done, errors = submit(GrantArgs, raw, give)
    errors = choice_errors(errors)
    if not errors:
        return redirect_to("consent.portal", _("Je toestemming is vastgelegd. Je kunt hem altijd "
                                                           "weer intrekken."), leerling=student.id)
    portal_read(actor, student, ConsentTag.portal)
    return _portal_page(actor, student, role, choices, values=raw, errors=errors, status=400)


def _own_consent(consent_id: int):
    """The consent (and the acting principal) if it belongs to a student this account acts for."""
    consent = db.session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(_("Deze toestemming bestaat niet, of u heeft er geen toegang toe."))
    actor, student, _role, _choices = portal_subject(str(consent.student_id))
    if student is None:
        raise NotFound(_("Deze toestemming bestaat niet, of u heeft er geen toegang toe."))
    return actor, consent


@bp.post("/mijn-gegevens/toestemmingen/<int:consent_id>/intrekken")
@login_required_view
def withdraw(consent_id):
    actor, consent = _own_consent(consent_id)
    student_id = consent.student_id
    try:
        withdraw_consent(db.session, actor, keyring(), consent, policy_url=_policy_url())
    except Conflict:
        db.session.rollback()
        return redirect(url_for("consent.portal", leerling=student_id))
    return redirect_to("consent.portal", _("De toestemming is ingetrokken. Vanaf nu ziet de organisatie "
                                                   "deze gegevens niet meer."), leerling=student_id)


@bp.get("/mijn-gegevens/ontvangstbewijzen/<uuid:receipt_id>")
@login_required_view
def receipt(receipt_id):
    found = db.session.get(ConsentReceipt, receipt_id)
    if found is None:
        raise NotFound()
    actor, consent = _own_consent(found.consent_id)
    portal_read(actor, consent.student, ConsentTag.receipt)
    body = export_json(receipt_document(found.payload, found.key_id, found.signature))
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="ontvangstbewijs-{found.id}.json"'})


def _cursor(value: str | None):
    if not value:
        return None
    try:
        stamp, event_id = value.rsplit("~", 1)
        return dt.datetime.fromisoformat(stamp), int(event_id)
    except ValueError:
        return None


@bp.get("/mijn-gegevens/inzage")
@login_required_view
def access_log():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    portal_read(actor, student, ConsentTag.access_log)
    query = select(AuditEvent).where(AuditEvent.student_id == str(student.id))
    if student.account_id is not None:  # not the student's own visits to the portal
        query = query.where(or_(AuditEvent.account_id.is_(None), AuditEvent.account_id != student.account_id))
    cursor = _cursor(request.args.get("na"))
    if cursor:
        query = query.where(or_(AuditEvent.occurred_at < cursor[0],
                                and_(AuditEvent.occurred_at == cursor[0], AuditEvent.id < cursor[1])))
    events = db.session.scalars(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                                .limit(PER_PAGE + 1)).all()
    more = len(events) > PER_PAGE
    events = events[:PER_PAGE]
    next_cursor = f"{events[-1].occurred_at.isoformat()}~{events[-1].id}" if more else None
    purposes = {code: str(label) for code, label in PURPOSE_LABELS.items()}
    purposes.update({p.code: p.label for p in db.session.scalars(select(Purpose))})
    html = render_template("consent/access_log.html", student=student, role=role, choices=choices, events=events,
                           next_cursor=next_cursor, purposes=purposes, basis_label=basis_label,
                           role_label=role_label, action_label=action_label, outcome_label=outcome_label,
                           tz=AMSTERDAM, first_page=cursor is None)
    return html


@bp.get("/mijn-gegevens/inzage/<int:event_id>/bewijs")
@login_required_view
def access_proof(event_id):
    """The proof that one line of "wie heeft mijn gegevens bekeken" is in the sealed audit log
    (network.audit_proof), as a file; a page saying to come back while it is not sealed yet."""
    student_id = db.session.scalar(select(AuditEvent.student_id).where(AuditEvent.id == event_id))
    if not student_id:
        raise NotFound()
    actor, student, role, choices = portal_subject(student_id)  # another student's event: 404
    if student is None:
        raise NotFound()
    portal_read(actor, student, ConsentTag.access_proof)
    proof = inclusion_proof(db.session, keyring(), event_id)
    if proof is None:
        return render_template("consent/access_proof_pending.html", student=student, role=role, choices=choices)
    return Response(json.dumps(proof, indent=2, ensure_ascii=False), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="bewijs-inzage-{event_id}.json"'})


@bp.get("/mijn-gegevens/download")
@login_required_view
def download():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    fmt = request.args.get("formaat")
    if fmt not in ("json", "csv"):
        portal_read(actor, student, ConsentTag.download_page)  # the page names the student: a read too
        html = render_template("consent/download.html", student=student, role=role, choices=choices)
        return html
    data = collect_export(db.session, actor, keyring(), student, role=role)
    stamp = clock.today().isoformat()
    if fmt == "json":
        return Response(export_json(data), mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="mijn-gegevens-{stamp}.json"'})
    return Response(export_csv(data), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="mijn-gegevens-{stamp}.csv"'})

