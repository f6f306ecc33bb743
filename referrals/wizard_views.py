"""The pages of the referral wizard: what each step shows (the search on the sociale kaart, the
sign-up form, the categories with their basis, the preview) and where a field lives, so an
error found at sending leads back to the right step. Used by :mod:`referrals.views`."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consent.models import DataCategory, Purpose
from network import clock
from network.access import SPECIAL_CATEGORIES, Category, decide
from network.crypto import Keyring
from network.db import db
from network.errors import ValidationFailed
from network.web import current_principal, keyring
from referrals.schemas import (
    CARE_WORKER_ROWS,
    LIFE_DOMAIN_HINTS,
    TYPE_LABELS,
    packet_vocab,
    signup_values,
)
from referrals.signup import BACKGROUND, LIFE_DOMAINS, SCHOOL_SITUATION, SHAREABLE, snapshot
from referrals.tags import ReferralTag
from referrals.wizard_service import read_details, shareable_categories
from referrals.workdays import DEFAULT_RESPONSE_DAYS, add_working_days
from socialmap.entries import list_categories
from socialmap.models import Service
from socialmap.search import SearchQuery, search_services
from socialmap.vocab import CAPACITY_LABELS

STEPS = {1: _l("Leerling"), 2: _l("Dienst"), 3: _l("Aanmelding"), 4: _l("Gegevens"), 5: _l("Controleren en versturen")}
SEARCH_PER_PAGE = 10
#: parts of the packet that hold only what the school typed in this draft (not read from the
#: student's record), so the preview shows them whatever the school's own basis covers
DRAFT_ONLY = frozenset({Category.support, Category.justice})


def step_of(field: str) -> int:
    """The wizard step that holds ``field``."""
    if field == "service_id":
        return 2
    if field == "categories":
        return 4
    if field in ("response_due", "version"):
        return 5
    return 3


def resume_step(keys: Keyring, referral) -> int:
    """Where a draft continues: the first step that is not done."""
    if referral.service_id is None:
        return 2
    if not referral.purpose or not (read_details(keys, referral).get("reason") or "").strip():
        return 3
    if not referral.categories:
        return 4
    return 5


def active_purposes() -> list[Purpose]:
    return list(db.session.scalars(select(Purpose).where(Purpose.is_active.is_(True)).order_by(Purpose.sort_order)
                                   .options(selectinload(Purpose.needed), selectinload(Purpose.recipients))))


def fitting_purposes(referral) -> list[Purpose]:
    """The active purposes the chosen service's organisation may receive (all of them while no
    service is chosen): step 3 offers only these."""
    recipient = referral.service.organisation if referral.service is not None else None
    return [p for p in active_purposes() if recipient is None or recipient.type in p.recipient_types]


def _category_labels() -> dict[str, str]:
    return {c.code.value: c.label for c in db.session.scalars(select(DataCategory))}


def check_categories(referral, student, chosen: list[str]) -> None:
    """Step 4's rule: at least one category, and each with a basis for the recipient."""
    if not chosen:
        raise ValidationFailed(errors={"categories": [_("Kies welke gegevens u deelt.")]})
    if referral.service is None or not referral.purpose:
        return  # save_draft and sending report what is missing
    bases = shareable_categories(db.session, student, referral.service.organisation, referral.purpose)
    labels = _category_labels()
    missing = [labels.get(code, code) for code in chosen if code in bases and bases[Category(code)] is None]
    if missing:
        raise ValidationFailed(errors={"categories": [_(
            "Voor %(cats)s heeft %(org)s geen grondslag: leg eerst toestemming vast of vraag erom.",
            cats=", ".join(missing), org=referral.service.organisation.name)]})


# -- step 2: the sociale kaart -----------------------------------------------------------------

def _search(args) -> tuple[Any, dict[str, Any]]:
    principal = current_principal()
    text = args.get("q", "").strip()[:100]
    category = args.get("categorie") or None
    page = args.get("pagina", 1, type=int) or 1
    query = SearchQuery(text=text, category=category,
                        conditions=(Service.organisation_id != principal.organisation_id,))
    result = search_services(db.session, query, page=page, per_page=SEARCH_PER_PAGE)
    return result, {"q": text, "categorie": category or "", "pagina": page}


def _service_context(chosen_id: Any) -> dict[str, Any]:
    result, search = _search(request.args)
    chosen = None
    try:
        chosen = db.session.get(Service, int(chosen_id)) if chosen_id not in (None, "") else None
    except (TypeError, ValueError):
        chosen = None
    return {"result": result, "search": search, "chosen": chosen, "capacity_labels": CAPACITY_LABELS,
            "service_categories": [(c.code, _(c.name)) for c in list_categories(db.session)]}


def render_new_service_step(student, values: dict[str, Any], errors: dict[str, list[str]], status: int = 200):
    """Step 2 before the draft exists (the first POST makes it)."""
    context = _service_context(values.get("service_id"))
    html = render_template("referrals/wizard/service.html", step=2, steps=STEPS, referral=None, student=student,
                           values=values, errors=errors, step_of=step_of, **context)
    return html, status


# -- any step of a draft -----------------------------------------------------------------------

def render_step(step: int, referral, student, values: dict[str, Any] | None, errors: dict[str, list[str]], *,
                status: int = 200, **extra: Any):
    """Step ``step`` of a draft; ``values`` None: as saved."""
    builders = {2: _service_step, 3: _signup_step, 4: _categories_step, 5: _preview_step}
    template, context = builders[step](referral, student, values)
    html = render_template(f"referrals/wizard/{template}.html", step=step, steps=STEPS, referral=referral,
                           student=student, errors=errors, step_of=step_of, **context, **extra)
    return html, status


def _service_step(referral, student, values):
    values = values if values is not None else {"service_id": referral.service_id}
    values.setdefault("version", referral.version)
    return "service", {"values": values, **_service_context(values.get("service_id"))}


def _signup_step(referral, student, values):
    if values is None:
        values = signup_values(read_details(keyring(), referral))
        values.update(purpose=referral.purpose, type=referral.type.value)
    values.setdefault("version", referral.version)
    return "signup", {
        "values": values, "purposes": fitting_purposes(referral), "type_labels": TYPE_LABELS,
        "school_situation": SCHOOL_SITUATION, "life_domains": {k: label for k, (label, _c) in LIFE_DOMAINS.items()},
        "life_domain_hints": LIFE_DOMAIN_HINTS, "background": {k: label for k, (label, _c) in BACKGROUND.items()},
        "care_worker_rows": CARE_WORKER_ROWS,
    }


def _basis_text(refs: str | None) -> str:
    parts = []
    for ref in (refs or "").split(","):
        kind, _sep, name = ref.partition(":")
        if kind == "consent":
            parts.append(_("toestemming nr. %(id)s", id=name))
        elif kind == "legal_task":
            parts.append(_("wettelijke taak (%(name)s)", name=name))
    return ", ".join(parts)


def _categories_step(referral, student, values):
    rows, chosen = [], []
    recipient = referral.service.organisation if referral.service else None
    if recipient is not None and referral.purpose:
        bases = shareable_categories(db.session, student, recipient, referral.purpose)
        purpose = next((p for p in active_purposes() if p.code == referral.purpose), None)
        if values is not None:
            chosen = list(values.get("categories") or [])
        elif referral.categories:
            chosen = referral.category_list
        else:  # pre-ticked: what the purpose needs and the recipient may receive
            chosen = [c.value for c in SHAREABLE if purpose and c in purpose.categories and bases.get(c)]
        labels = _category_labels()
        for category in SHAREABLE:
            refs = bases.get(category)
            rows.append({"code": category.value, "label": labels.get(category.value, category.value),
                         "basis": _basis_text(refs) if refs else None, "special": category in SPECIAL_CATEGORIES,
                         "checked": category.value in chosen})
    values = dict(values or {}, categories=chosen)
    values.setdefault("version", referral.version)
    return "categories", {"values": values, "rows": rows, "recipient": recipient}


def _preview_step(referral, student, values):

    principal = current_principal()
    chosen = frozenset(Category(c) for c in referral.category_list)
    decision = decide(db.session, principal, student, "verwijzing", chosen or [Category.contact],
                      event_type=ReferralTag.preview)
    shown = frozenset(c for c in chosen if decision.permits(c) or c in DRAFT_ONLY)
    referrer = {"name": referral.from_name, "organisation": referral.from_organisation.name,
                "email": referral.from_account.email if referral.from_account else ""}
    content = snapshot(student, keyring(), read_details(keyring(), referral), shown, referrer=referrer)
    if Category.bsn.value in content:  # never shown in full on a page (DESIGN.md: shown masked)
        content[Category.bsn.value] = student.masked_bsn(keyring())
    service = referral.service
    days = (service.response_days if service else None) or DEFAULT_RESPONSE_DAYS
    values = values if values is not None else {}
    values.setdefault("version", referral.version)
    labels = _category_labels()
    return "preview", {"values": values, "content": content, "v": packet_vocab(labels),
                       "chosen_labels": [labels.get(c, c) for c in referral.category_list],
                       "details": read_details(keyring(), referral), "type_labels": TYPE_LABELS,
                       "purpose": next((p for p in active_purposes() if p.code == referral.purpose), None),
                       "default_due": add_working_days(clock.today(), days), "days": days,
                       "hidden": sorted(c.value for c in chosen - shown)}
