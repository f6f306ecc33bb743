"""Agreement pages for the school (``/plannen``) that start or show agreements: the list, a new
plan or privacy agreement, the overview, versions and the difference between two.

The editing pages are in :mod:`consent.agreements.edit_views`; the blueprint, and how every
page opens an agreement inside its walls, in :mod:`consent.agreements.blueprint`.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from consent.agreements.access import list_agreements
from consent.agreements.blueprint import bp, open_agreement, render_page
from consent.agreements.content import diff as content_diff
from consent.agreements.content import flatten, sections_for
from consent.agreements.integrity import verify_agreement
from consent.agreements.models import AgreementKind, AgreementStatus
from consent.agreements.overview import (
    EVENT_LABELS,
    METHOD_LABELS,
    ORDER_LABELS,
    agreement_rows,
    kind_label,
    labels_for,
    latest_content,
    open_agreement_id,
    overview,
)
from consent.agreements.service import create_agreement, parties_as_dicts
from consent.agreements.signatures import find_version
from consent.tags import AgreementTag
from network.access import Category
from network.db import db
from network.errors import Conflict, Forbidden
from network.permissions import Permission, can_manage_student
from network.students import PURPOSE_GUIDANCE, get_student
from network.web import current_principal, keyring, login_required_view, redirect_to, require

#: the list shows at most this many agreements (newest change first)
LIST_LIMIT = 200


# -- the list and a new agreement ------------------------------------------------------------------

@bp.get("")
@login_required_view
def index():
    principal = current_principal()
    rows = agreement_rows(db.session, principal, list_agreements(db.session, principal, limit=LIST_LIMIT))
    return render_page("consent/agreements/list.html", rows=rows, limit=LIST_LIMIT)


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
    return render_page("consent/agreements/new.html", 400 if errors else 200, student=student, decision=decision,
                       Category=Category, values={"soort": raw}, errors=errors, others=others,
                       kinds=list(AgreementKind))


# -- the overview ------------------------------------------------------------------------------------

@bp.get("/<uuid:agreement_id>")
@login_required_view
def detail(agreement_id):
    principal, agreement, access = open_agreement(agreement_id)
    info = overview(db.session, principal, keyring(), agreement, access)
    return render_page("consent/agreements/detail.html", agreement=agreement, access=access, info=info,
                       can_edit=_can_edit(principal, access, agreement), event_labels=EVENT_LABELS,
                       method_labels=METHOD_LABELS, order_labels=ORDER_LABELS, sections=sections_for(agreement.kind),
                       party_names={p.key: p.name for v in agreement.versions for p in v.parties})


def _can_edit(principal, access, agreement) -> bool:
    return access.is_school and principal.has(Permission.agreement_manage) and \
        agreement.status is not AgreementStatus.ended


# -- versions and the difference between two -----------------------------------------------------------

@bp.get("/<uuid:agreement_id>/versies/<int:number>")
@login_required_view
def version(agreement_id, number):
    principal, agreement, access = open_agreement(agreement_id, event_type=AgreementTag.version_view)
    found = find_version(agreement, number)
    content = latest_content(keyring(), found)
    labels = labels_for(db.session, agreement)
    lines = _grouped(flatten(agreement.kind, content, labels)) if content is not None else None
    # a draft too: one reset from "offered" shows through the audit log's record of its signatures
    report = next((r for r in verify_agreement(db.session, keyring(), agreement) if r.number == found.number), None)
    return render_page("consent/agreements/version.html", agreement=agreement, access=access, version=found,
                       lines=lines, report=report, labels=labels, method_labels=METHOD_LABELS,
                       order_labels=ORDER_LABELS)


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
    principal, agreement, access = open_agreement(agreement_id, event_type=AgreementTag.diff_view)
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
    return render_page("consent/agreements/diff.html", 400 if error and len(numbers) >= 2 else 200, agreement=agreement,
                       access=access, numbers=numbers, old=old, new=new, error=error, changes=changes, damaged=damaged)
