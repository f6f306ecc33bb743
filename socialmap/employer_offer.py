"""The company side of an employer entry (issue 19, item 5; seed 002 and seed 001 appendix 5.2
"stagebedrijven"): what schools ask of a stagebedrijf, typed by the entry's editors.

- :func:`parse_offer` turns the form (or any mapping of strings) into ``data``, or Dutch field
  errors; nothing is written then;
- :func:`save_offer` writes ``data`` on the entry, for whoever may edit the entry today
  (:func:`socialmap.entries.can_edit_service`: the organisation's own staff, the region's
  uitstroomcoördinator, the hub admin), with a line per changed field in the entry's history
  and one audit event, and announces the entry changed (the ``socialmap.service.changed``
  webhook), all in the caller's transaction.

Only entries of organisations of type ``werkgever`` carry it. What the hub computes of a company
(its placements, who was hired, the employers' own feedback) is not typed here: it lives with the
placements (``referrals.placements.employer_profile``), which socialmap does not import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.errors import Conflict, Forbidden, NotFound
from network.models import OrganisationType
from network.permissions import Principal
from network.signals import socialmap_service_changed
from socialmap.entries import can_edit_service
from socialmap.entry_changes import EntryHistory
from socialmap.models import EmployerOffer, Service
from socialmap.tags import SocialmapTag
from socialmap.vocab import ADAPTATIONS, PLACE_KINDS

#: rows of the functions table on the form (a few empty ones to add to, no JavaScript needed)
FUNCTION_ROWS = 6
MAX_PLACES = 99
MAX_WERKPROCESSEN = 20
MAX_TEXT = 200

NOT_AN_EMPLOYER = _l("Alleen een werkgever op de sociale kaart heeft gegevens als stagebedrijf.")
CONFLICT = _l("Iemand anders heeft deze dienst intussen gewijzigd. Laad de pagina opnieuw.")
#: the flags of the form, and their names in the entry's history
FLAGS = ("trained_trainer", "bbl_possible", "sbb_recognised", "banenafspraak", "loonkostensubsidie")
#: the fields of the offer, in the order the history shows them
OFFER_FIELDS = ("places", "adaptations", "trained_trainer", "trained_since", "functions", "bbl_possible",
                "sbb_number", "banenafspraak", "loonkostensubsidie")


def is_employer_entry(service: Service) -> bool:
    return service.organisation.type is OrganisationType.werkgever


def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "on", "ja", "true", "y", "yes")


def _places(form: Mapping[str, Any], errors: dict[str, list]) -> dict[str, int]:
    places = {}
    for code in PLACE_KINDS:
        raw = str(form.get(f"places-{code}") or "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) > MAX_PLACES:
            errors[f"places-{code}"] = [_l("Vul een aantal plaatsen in van 0 tot en met 99.")]
        elif int(raw):
            places[code] = int(raw)
    return places


def _since(raw: str, trained: bool, today: dt.date, errors: dict[str, list]) -> dt.date | None:
    if not raw:
        return None
    if not trained:
        errors["trained_since"] = [_l("Vul 'sinds' alleen in als de praktijkopleider is opgeleid.")]
        return None
    try:
        since = dt.date.fromisoformat(raw)
    except ValueError:
        errors["trained_since"] = [_l("Vul een datum in, bijvoorbeeld 2024-03-01.")]
        return None
    if since > today:
        errors["trained_since"] = [_l("De datum kan niet in de toekomst liggen.")]
    elif since.year < 1950:
        errors["trained_since"] = [_l("Vul een datum na 1950 in.")]
    return since


def _functions(form: Mapping[str, Any], errors: dict[str, list]) -> list[dict[str, Any]]:
    functions = []
    for index in range(FUNCTION_ROWS):
        name = str(form.get(f"function-{index}-name") or "").strip()
        lines = [line.strip() for line in str(form.get(f"function-{index}-werkprocessen") or "").splitlines()]
        werkprocessen = [line for line in lines if line]
        if not name and not werkprocessen:
            continue
        if not name:
            errors[f"function-{index}-name"] = [_l("Geef de functie een naam, of maak de werkprocessen leeg.")]
        elif len(name) > MAX_TEXT:
            errors[f"function-{index}-name"] = [_l("Houd de naam korter dan 200 tekens.")]
        if len(werkprocessen) > MAX_WERKPROCESSEN:
            errors[f"function-{index}-werkprocessen"] = [_l("Ten hoogste 20 werkprocessen per functie.")]
        elif any(len(line) > MAX_TEXT for line in werkprocessen):
            errors[f"function-{index}-werkprocessen"] = [_l("Houd elk werkproces korter dan 200 tekens.")]
        functions.append({"name": name, "werkprocessen": werkprocessen})
    names = [f["name"].lower() for f in functions if f["name"]]
    if len(names) != len(set(names)):
        errors.setdefault("function-0-name", []).append(_l("Elke functie staat er maar één keer in."))
    return functions


def parse_offer(form: Mapping[str, Any], *, today: dt.date | None = None
                ) -> tuple[dict[str, Any] | None, dict[str, list]]:
    """The form's fields as ``data`` for :func:`save_offer`, or ``(None, errors)`` with a Dutch
    message per field (``places-<kind>``, ``adaptations``, ``trained_since``,
    ``function-<n>-name``, ``function-<n>-werkprocessen``, ``sbb_number``, ``version``)."""
    today = today or clock.today()
    errors: dict[str, list] = {}
    getlist = getattr(form, "getlist", None)
    adaptations = getlist("adaptations") if getlist else list(form.get("adaptations") or [])
    unknown = sorted(set(adaptations) - set(ADAPTATIONS))
    if unknown:
        errors["adaptations"] = [_l("Kies aanpassingen uit de lijst.")]
    data: dict[str, Any] = {name: _flag(form.get(name)) for name in FLAGS}
    data["places"] = _places(form, errors)
    data["adaptations"] = sorted(set(adaptations) & set(ADAPTATIONS))
    data["trained_since"] = _since(str(form.get("trained_since") or "").strip(), data["trained_trainer"], today,
                                   errors)
    data["functions"] = _functions(form, errors)
    number = str(form.get("sbb_number") or "").strip()
    if number and not data["sbb_recognised"]:
        errors["sbb_number"] = [_l("Een SBB-nummer hoort bij een erkend leerbedrijf: vink de erkenning aan.")]
    elif number and (len(number) > 20 or not number.isalnum()):
        errors["sbb_number"] = [_l("Een SBB-nummer bestaat uit cijfers (en letters), ten hoogste 20 tekens.")]
    data["sbb_number"] = number or None
    raw_version = str(form.get("version") or "").strip()
    if raw_version and not raw_version.isdigit():
        errors["version"] = [_l("Laad de pagina opnieuw.")]
    data["version"] = int(raw_version) if raw_version.isdigit() else None
    return (None, errors) if errors else (data, {})


def offer_values(service: Service) -> dict[str, Any]:
    """The form's values for the entry as it is."""
    offer = service.employer_offer or EmployerOffer(places={}, adaptations=[], functions=[])
    values: dict[str, Any] = {f"places-{code}": str(n) for code, n in (offer.places or {}).items()}
    values.update(adaptations=list(offer.adaptations or []), trained_trainer=bool(offer.trained_trainer),
                  trained_since=offer.trained_since.isoformat() if offer.trained_since else "",
                  bbl_possible=bool(offer.bbl_possible), sbb_recognised=service.sbb_recognised,
                  sbb_number=offer.sbb_number or "", banenafspraak=bool(offer.banenafspraak),
                  loonkostensubsidie=bool(offer.loonkostensubsidie), version=str(service.version))
    for index, function in enumerate((offer.functions or [])[:FUNCTION_ROWS]):
        values[f"function-{index}-name"] = function.get("name", "")
        values[f"function-{index}-werkprocessen"] = "\n".join(function.get("werkprocessen") or [])
    return values


def _history_text(name: str, value: Any) -> Any:
    """How a field reads in the entry's history (labels, not codes)."""
    if name == "places":
        return [f"{PLACE_KINDS[code]}: {n}" for code, n in sorted((value or {}).items())] or None
    if name == "adaptations":
        return [ADAPTATIONS.get(code, code) for code in value or []] or None
    if name == "functions":
        return [f"{f['name']} ({len(f['werkprocessen'])})" for f in value or []] or None
    return value


def save_offer(session: Session, actor: Principal, service: Service, data: dict[str, Any], *,
               now: dt.datetime | None = None) -> list[str]:
    """Write ``data`` (from :func:`parse_offer`) on ``service``; returns the changed fields.

    :raises Forbidden: the actor may not edit the entry.
    :raises NotFound: the entry is not an employer's.
    :raises Conflict: ``data["version"]`` is not the entry's version (someone saved in between).
    """
    if not can_edit_service(actor, service.organisation):
        raise Forbidden(_l("U mag deze dienst niet bewerken."))
    if not is_employer_entry(service):
        raise NotFound(NOT_AN_EMPLOYER)
    expected = data.get("version")
    if expected is not None and expected != service.version:
        raise Conflict(CONFLICT)
    now = now or utcnow()
    history = EntryHistory(session, actor, service, now)
    offer = service.employer_offer
    if offer is None:
        offer = service.employer_offer = EmployerOffer(places={}, adaptations=[], functions=[], trained_trainer=False,
                                                       bbl_possible=False, banenafspraak=False,
                                                       loonkostensubsidie=False)
    for name in OFFER_FIELDS:
        old, new = getattr(offer, name), data.get(name)
        if old != new:
            history.add("employer", service.uuid, "update", name, _history_text(name, old), _history_text(name, new))
            setattr(offer, name, new)
    if service.sbb_recognised != data["sbb_recognised"]:
        history.add("service", service.uuid, "update", "sbb_recognised", service.sbb_recognised,
                    data["sbb_recognised"])
        service.sbb_recognised = data["sbb_recognised"]
    changed = history.fields
    if changed:
        offer.updated_at = service.updated_at = now
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=SocialmapTag.employer_update,
           object_type="socialmap_service", object_id=service.uuid, detail={"fields": sorted(set(changed))})
    if changed:
        socialmap_service_changed.send(service, session=session)
    return changed
