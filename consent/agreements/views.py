"""Agreement pages for the school (``/plannen``): the list, a new plan or privacy agreement,
the overview, the section forms, the parties, offering for signature, versions and the
difference between two, ending, and the one-step fix of a sharing warning.

Every page that shows an agreement finds it inside the actor's walls (404 outside), decides
and audits the read (403 when denied, and the denial is committed), and commits after the
GET. The overview, the versions and the diff are login-only pages with the agreement's own
walls: a guardian has no role, yet reads the plan of a child under 16. The editing pages need
``agreement_manage`` (the school). After a failed form the unit of work is rolled back, so the
agreement is found and read again to re-render it with what was typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from consent.agreements.access import find_agreement, list_agreements, read_agreement, require_editor
from consent.agreements.content import Field, Section, find_section, flatten, sections_for
from consent.agreements.content import diff as content_diff
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
from consent.agreements.models import AgreementKind, AgreementStatus, VersionStatus
from consent.agreements.overview import (
    EVENT_LABELS,
    METHOD_LABELS,
    ORDER_LABELS,
    STATUS_LABELS,
    VERSION_STATUS_LABELS,
    agreement_rows,
    choices_for,
    kind_label,
    labels_for,
    latest_content,
    open_agreement_id,
    overview,
)
from consent.agreements.service import create_agreement, parties_as_dicts, partner_choices, save_parties, save_section
from consent.agreements.sharing import request_missing_consent
from consent.agreements.signatures import find_version, verify_agreement
from consent.tags import AgreementTag
from network.access import Category
from network.audit import AuditAction
from network.clock import AMSTERDAM
from network.db import db
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.events import EventTag
from network.permissions import Permission, can_manage_student
from network.students import PURPOSE_GUIDANCE, get_student
from network.web import current_principal, keyring, login_required_view, redirect_to, require

bp = Blueprint("agreements", __name__, url_prefix="/plannen")

#: the list shows at most this many agreements (newest change first)
LIST_LIMIT = 200
#: the parties form shows this many empty rows to add a partner
BLANK_PARTY_ROWS = 2


@bp.app_template_filter("agreement_time")
def agreement_time(moment: dt.datetime | None) -> str:
    """A UTC time as Dutch wall-clock time (``23-11-2026 14:05``)."""
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") if moment else ""


def _base_url() -> str:
    return current_app.config.get("BASE_URL", "")


def _open(agreement_id: Any, *, edit: bool = False, event_type: EventTag = AgreementTag.view,
          action: AuditAction = AuditAction.read):
    """The agreement inside the actor's walls (404), for an editing page one the actor's school
    may still change (403/409), read through ``read_agreement`` (audited; 403 when denied)."""
    principal = current_principal()
    agreement, access = find_agreement(db.session, principal, agreement_id)
    if edit:
        require_editor(access, agreement)
    read_agreement(db.session, principal, agreement, access, event_type=event_type, action=action)
    return principal, agreement, access


class Refusal(NamedTuple):
    """A service refused a change: the agreement loaded again (decided and audited anew), the
    field errors (400) or the conflict message (409)."""

    agreement: Any
    errors: dict[str, list[str]]
    conflict: str | None
    status: int


def _attempt(agreement_id: Any, event_type: EventTag, values: dict[str, Any],
             action: Callable[[], Any]) -> tuple[Any, Refusal | None]:
    """Run one service call. On :class:`ValidationFailed` or :class:`Conflict` roll the unit of
    work back and reopen the agreement, so the form re-renders with what was typed (after a
    conflict with the current ``row_version``, so a second save goes through)."""
    try:
        return action(), None
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        _principal, agreement, _access = _open(agreement_id, edit=True, event_type=event_type)
        if isinstance(exc, Conflict):
            values["row_version"] = str(agreement.row_version)
            return None, Refusal(agreement, {}, str(exc.detail), 409)
        return None, Refusal(agreement, exc.errors, None, 400)


def _render(template: str, status: int = 200, **context: Any):
    """Render, then commit the audit events of the reads the page made."""
    html = render_template(template, kind_label=kind_label, status_labels=STATUS_LABELS,
                           version_status_labels=VERSION_STATUS_LABELS, **context)
    return html, status


def _content_or_conflict(version) -> dict[str, Any]:
    content = latest_content(keyring(), version)
    if content is None:
        raise Conflict(_("De inhoud van versie %(n)s is beschadigd of buiten Schakel gewijzigd; wijzigen kan niet. "
                         "Neem contact op met de beheerder.", n=version.number))
    return content


# -- the list and a new agreement ------------------------------------------------------------------

@bp.get("")
@login_required_view
def index():
    principal = current_principal()
    rows = agreement_rows(db.session, principal, list_agreements(db.session, principal, limit=LIST_LIMIT))
    return _render("consent/agreements/list.html", rows=rows, limit=LIST_LIMIT)


@bp.route("/nieuw/<uuid:student_id>", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def new(student_id):
    principal = current_principal()
    student, decision = get_student(db.session, principal, student_id, purpose=PURPOSE_GUIDANCE,
                                   categories=[Category.contact], event_type=AgreementTag.new_form)
    if not can_manage_student(principal, student):
        raise Forbidden(_("Alleen de school van de leerling maakt een plan of privacyafspraken."))
    raw = request.values.get("soort") or ""
    kind = AgreementKind(raw) if raw in {k.value for k in AgreementKind} else None
    existing = open_agreement_id(db.session, student, kind) if kind is not None else None
    if existing is not None:
        flash(_("Deze leerling heeft al een %(kind)s; u ziet die hieronder.", kind=kind_label(kind).lower()), "info")
        return redirect(url_for("agreements.detail", agreement_id=existing))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if kind is None:
            errors["soort"] = [_("Kies wat u wilt maken: een school-naar-werk-plan of privacyafspraken.")]
        else:
            try:
                made = create_agreement(db.session, principal, keyring(), student, kind)
            except Conflict as exc:  # made by a colleague a moment ago
                db.session.rollback()
                flash(str(exc.detail), "info")
                return redirect(url_for("agreements.detail", agreement_id=exc.extra["agreement"]))
            return redirect_to("agreements.detail", _("De %(kind)s is aangemaakt (versie 1, concept). Vul de "
                                                              "onderdelen in.", kind=kind_label(kind).lower()),
                                       agreement_id=made.id)
    others = agreement_rows(db.session, principal, list_agreements(db.session, principal, student=student))
    return _render("consent/agreements/new.html", 400 if errors else 200, student=student, decision=decision,
                   Category=Category, values={"soort": raw}, errors=errors, others=others, kinds=list(AgreementKind))


# -- the overview ------------------------------------------------------------------------------------

@bp.get("/<uuid:agreement_id>")
@login_required_view
def detail(agreement_id):
    principal, agreement, access = _open(agreement_id)
    info = overview(db.session, principal, keyring(), agreement, access)
    return _render("consent/agreements/detail.html", agreement=agreement, access=access, info=info,
                   can_edit=_can_edit(principal, access, agreement), event_labels=EVENT_LABELS,
                   method_labels=METHOD_LABELS, order_labels=ORDER_LABELS, sections=sections_for(agreement.kind),
                   party_names={p.key: p.name for v in agreement.versions for p in v.parties})


def _can_edit(principal, access, agreement) -> bool:
    return access.is_school and principal.has(Permission.agreement_manage) and \
        agreement.status is not AgreementStatus.ended


# -- one section -------------------------------------------------------------------------------------

def _section_page(agreement, section: Section, values, errors, *, status=200, conflict=None):
    choices = choices_for(db.session, agreement)
    return _render("consent/agreements/section.html", status, agreement=agreement, section=section, values=values,
                   errors=errors, conflict=conflict, options=choices.options,
                   row_counts={rows.code: row_count(rows, values) for rows in section.rows}, Field=Field)


@bp.route("/<uuid:agreement_id>/onderdeel/<section>", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def section(agreement_id, section):
    posted = request.method == "POST"
    principal, agreement, access = _open(agreement_id, edit=True, event_type=AgreementTag.edit_form,
                                         action=AuditAction.update if posted else AuditAction.read)
    found = find_section(agreement.kind, section)
    if found is None:
        raise NotFound(_("Dit onderdeel bestaat niet."))
    content = _content_or_conflict(agreement.latest)
    if not posted:
        values = form_values(found, content.get(found.code) or {})
        values["row_version"] = str(agreement.row_version)
        return _section_page(agreement, found, values, {})
    values = posted_values(found, request.form)
    part, errors = load_section(found, request.form, choices_for(db.session, agreement).allowed)
    if errors:
        return _section_page(agreement, found, values, errors, status=400)
    _saved, refused = _attempt(agreement_id, AgreementTag.edit_form, values, lambda: save_section(
        db.session, principal, keyring(), agreement, access, found.code, part,
        row_version=request.form.get("row_version")))
    if refused:
        return _section_page(refused.agreement, found, values, refused.errors, status=refused.status,
                             conflict=refused.conflict)
    return redirect_to("agreements.detail", _("'%(title)s' is opgeslagen.", title=found.title),
                               agreement_id=agreement.id)


# -- the parties -------------------------------------------------------------------------------------

def _parties_page(agreement, values, errors, *, status=200, conflict=None):
    used = [int(k.split("-")[1]) for k in values if k.startswith("parties-") and k.split("-")[1].isdigit()
            and values[k]]
    count = min(max(max(used, default=-1) + 1, len(agreement.latest.parties)) + BLANK_PARTY_ROWS, MAX_PARTY_ROWS)
    organisations = [(str(o.id), o.name) for o in partner_choices(db.session, agreement)]
    return _render("consent/agreements/parties.html", status, agreement=agreement, values=values, errors=errors,
                   conflict=conflict, count=count, fixed=fixed_keys(agreement), organisations=organisations,
                   purposes=choices_for(db.session, agreement).options["purposes"],
                   names={p.key: p.name for p in agreement.latest.parties})


@bp.route("/<uuid:agreement_id>/partijen", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def parties(agreement_id):
    posted = request.method == "POST"
    principal, agreement, access = _open(agreement_id, edit=True, event_type=AgreementTag.edit_form,
                                         action=AuditAction.update if posted else AuditAction.read)
    if not posted:
        return _parties_page(agreement, party_values(agreement), {})
    values = request.form.to_dict()
    rows, indices = party_rows(agreement, request.form)
    _saved, refused = _attempt(agreement_id, AgreementTag.edit_form, values, lambda: save_parties(
        db.session, principal, keyring(), agreement, access, rows, row_version=request.form.get("row_version")))
    if refused:
        return _parties_page(refused.agreement, values, party_errors(refused.errors, indices), status=refused.status,
                             conflict=refused.conflict)
    return redirect_to("agreements.detail", _("De partijen en hun toezeggingen zijn opgeslagen."),
                               agreement_id=agreement.id)


# -- offering for signature --------------------------------------------------------------------------

def _offer_page(agreement, values, errors, *, status=200, conflict=None):
    version = agreement.latest
    return _render("consent/agreements/offer.html", status, agreement=agreement, version=version, values=values,
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
    principal, agreement, access = _open(agreement_id, edit=True, event_type=AgreementTag.offer_form,
                                         action=AuditAction.update if posted else AuditAction.read)
    if not posted:
        return _offer_page(agreement, offer_values(agreement), {})
    values, order, signers, errors = offer_input(agreement, request.form)
    if errors:
        return _offer_page(agreement, values, errors, status=400)
    version, refused = _attempt(agreement_id, AgreementTag.offer_form, values, lambda: offer_for_signature(
        db.session, principal, keyring(), agreement, access, order=order, signers=signers,
        row_version=request.form.get("row_version"), base_url=_base_url()))
    if refused:
        return _offer_page(refused.agreement, values, refused.errors, status=refused.status,
                           conflict=refused.conflict)
    return redirect_to("agreements.detail", _("Versie %(n)s is ter ondertekening aangeboden. Wie moet "
                                                      "tekenen, krijgt een bericht.", n=version.number),
                               agreement_id=agreement.id)


# -- versions and the difference between two -----------------------------------------------------------

@bp.get("/<uuid:agreement_id>/versies/<int:number>")
@login_required_view
def version(agreement_id, number):
    principal, agreement, access = _open(agreement_id, event_type=AgreementTag.version_view)
    found = find_version(agreement, number)
    content = latest_content(keyring(), found)
    labels = labels_for(db.session, agreement)
    lines = _grouped(flatten(agreement.kind, content, labels)) if content is not None else None
    report = None
    if found.content_hash is not None:
        report = next((r for r in verify_agreement(db.session, keyring(), agreement) if r.number == found.number),
                      None)
    return _render("consent/agreements/version.html", agreement=agreement, access=access, version=found,
                   lines=lines, report=report, labels=labels, method_labels=METHOD_LABELS, order_labels=ORDER_LABELS)


def _grouped(lines) -> list[tuple[str, list[tuple[str, str]]]]:
    """Flattened content lines as (section title, [(label, text)]) in form order."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for _key, section_title, label, text in lines:
        if not groups or groups[-1][0] != str(section_title):
            groups.append((str(section_title), []))
        groups[-1][1].append((str(label), text))
    return groups


@bp.get("/<uuid:agreement_id>/verschil")
@login_required_view
def diff(agreement_id):
    principal, agreement, access = _open(agreement_id, event_type=AgreementTag.diff_view)
    numbers = [v.number for v in agreement.versions]
    new = request.args.get("naar", type=int) or numbers[-1]
    old = request.args.get("van", type=int) or (new - 1 if new - 1 in numbers else None)
    error, changes, damaged = None, None, []
    if len(numbers) < 2:
        error = _("Er is nog maar één versie; er is niets te vergelijken.")
    elif old not in numbers or new not in numbers or old == new:
        error = _("Kies twee verschillende versies die bestaan.")
    else:
        before, after = find_version(agreement, old), find_version(agreement, new)
        old_content, new_content = latest_content(keyring(), before), latest_content(keyring(), after)
        damaged = [v.number for v, c in ((before, old_content), (after, new_content)) if c is None]
        if not damaged:
            changes = content_diff(agreement.kind, old_content, new_content, parties_as_dicts(before),
                                   parties_as_dicts(after), labels_for(db.session, agreement))
    return _render("consent/agreements/diff.html", 400 if error and len(numbers) >= 2 else 200, agreement=agreement,
                   access=access, numbers=numbers, old=old, new=new, error=error, changes=changes, damaged=damaged)


# -- ending ---------------------------------------------------------------------------------------------

@bp.route("/<uuid:agreement_id>/beeindigen", methods=["GET", "POST"])
@require(Permission.agreement_manage)
def end(agreement_id):
    posted = request.method == "POST"
    principal, agreement, access = _open(agreement_id, edit=True, event_type=AgreementTag.end_form,
                                         action=AuditAction.update if posted else AuditAction.read)
    if not posted:
        return _render("consent/agreements/end.html", agreement=agreement, errors={}, conflict=None,
                       values={"row_version": str(agreement.row_version)})
    values = request.form.to_dict()
    _ended, refused = _attempt(agreement_id, AgreementTag.end_form, values, lambda: end_agreement(
        db.session, principal, agreement, access, reason=request.form.get("reason") or "",
        row_version=request.form.get("row_version")))
    if refused:
        return _render("consent/agreements/end.html", refused.status, agreement=refused.agreement,
                       errors=refused.errors, conflict=refused.conflict, values=values)
    return redirect_to("agreements.detail", _("De overeenkomst is beëindigd. Alle versies blijven leesbaar "
                                                      "en controleerbaar."), agreement_id=agreement.id)


# -- the one-step fix of a sharing warning ----------------------------------------------------------------

@bp.post("/<uuid:agreement_id>/toestemming-vragen")
@require(Permission.agreement_manage)
def request_consent(agreement_id):
    principal, agreement, access = _open(agreement_id, edit=True, event_type=AgreementTag.consent_request,
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
            _open(agreement_id, edit=True, event_type=AgreementTag.consent_request)
            problem = " ".join(m for messages in exc.errors.values() for m in messages) or str(exc.detail)
    if problem:
        flash(problem, "error")
        return redirect(url_for("agreements.detail", agreement_id=agreement_id) + "#delen")
    return redirect_to("agreements.detail", _("De vraag om toestemming staat klaar bij de leerling (onder 16 "
                                                      "jaar: de ouder of voogd)."), agreement_id=agreement.id)
