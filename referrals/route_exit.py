"""The structured exit of a route (issue 20, item 2): the date and startkwalificatie (on the
route, where the follow-up clock and the RMC's legal task read them), the way out, the
certificates gained, the destination and the retourticket carried over from the plan.

Bad input gets every field's Dutch message and writes nothing; a destination that does not
follow from the way out is asked about (the recorder confirms it), never silently stored; a
concurrent edit is caught by the route's row version. Same conventions as
:mod:`referrals.route_service`: flush, never commit, audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from consent.agreements.models import Agreement, AgreementKind
from consent.agreements.overview import latest_content
from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, ValidationFailed
from network.permissions import Principal
from network.schemas import FormSchema
from referrals.checkins import exit_date_errors, record_exit
from referrals.exit_models import Destination, RouteExit, WayOut
from referrals.models import Route
from referrals.route_schemas import STARTKWALIFICATIE_ANSWERS
from referrals.route_service import CONFLICT_MESSAGE, PURPOSE_SCHOOL, SCHOOL_BASIS, require_route_manager
from referrals.tags import ExitTag

WAY_OUT_LABELS = {
    WayOut.diploma.value: _l("Diploma"),
    WayOut.mbo_certificaat.value: _l("Mbo-certificaat"),
    WayOut.praktijkverklaring.value: _l("Praktijkverklaring"),
    WayOut.entree_diploma.value: _l("Entreediploma"),
    WayOut.tussentijds.value: _l("Tussentijdse uitstroom (zonder diploma)"),
}
DESTINATION_LABELS = {
    Destination.werk_zonder_ondersteuning.value: _l("Werk zonder ondersteuning"),
    Destination.werk_met_ondersteuning.value: _l("Werk met ondersteuning (bijvoorbeeld een jobcoach)"),
    Destination.bbl_leerbaan.value: _l("BBL of leerbaan"),
    Destination.vervolgopleiding.value: _l("Vervolgopleiding"),
    Destination.beschut_werk.value: _l("Beschut werk"),
    Destination.dagbesteding.value: _l("Dagbesteding"),
    Destination.uitkering.value: _l("Uitkering"),
    Destination.werkzoekend.value: _l("Werkzoekend"),
    Destination.onbekend.value: _l("Onbekend"),
}
#: ways out that are no startkwalificatie on their own (a "yes" with them is asked about)
NO_STARTKWALIFICATIE = frozenset({WayOut.mbo_certificaat, WayOut.praktijkverklaring, WayOut.entree_diploma,
                                  WayOut.tussentijds})
MAX_CERTIFICATES, MAX_CERTIFICATE = 20, 100
MAX_TEXT = 2000


class StructuredExitArgs(FormSchema):
    exit_date = fields.Date(required=True, error_messages={
        "required": _l("Vul de datum in waarop de leerling de school verliet.")})
    startkwalificatie = fields.String(load_default="onbekend", validate=validate.OneOf(
        list(STARTKWALIFICATIE_ANSWERS), error=_l("Kies of de leerling een startkwalificatie heeft.")))
    way_out = fields.String(load_default=None, validate=validate.OneOf(
        list(WAY_OUT_LABELS), error=_l("Kies hoe de leerling de school verliet.")))
    reason = fields.String(load_default=None, validate=validate.Length(
        max=500, error=_l("Houd de reden korter dan 500 tekens.")))
    certificates = fields.String(load_default=None)
    destination = fields.String(load_default=None, validate=validate.OneOf(
        list(DESTINATION_LABELS), error=_l("Kies waar de leerling na school heen gaat.")))
    next_school = fields.String(load_default=None, validate=validate.Length(
        max=200, error=_l("Houd de naam van de school korter dan 200 tekens.")))
    retourticket = fields.String(load_default=None, validate=validate.Length(
        max=MAX_TEXT, error=_l("Houd het retourticket korter dan %(max)s tekens.", max=MAX_TEXT)))
    confirm = fields.Boolean(load_default=False)
    version = fields.Integer(load_default=None)


def certificate_list(text: Any) -> list[str]:
    """One certificate a line (or comma-separated), stripped, without repeats."""
    if isinstance(text, (list, tuple)):
        items = [str(t) for t in text]
    else:
        items = str(text or "").replace(",", "\n").splitlines()
    result: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in result:
            result.append(item)
    return result


def contradictions(data: dict[str, Any]) -> list[Any]:
    """What does not follow from the way out and is asked about before it is stored."""
    way_out, destination = data.get("way_out"), data.get("destination")
    found = []
    if destination == Destination.vervolgopleiding and not (data.get("next_school") or "").strip():
        if way_out == WayOut.tussentijds:
            found.append(_l("De leerling stroomt tussentijds uit naar een vervolgopleiding, maar er is geen school "
                            "genoemd. Klopt dat?"))
        else:
            found.append(_l("Er is geen school van de vervolgopleiding genoemd. Klopt dat?"))
    if data.get("startkwalificatie") == "ja" and way_out in NO_STARTKWALIFICATIE:
        found.append(_l("%(way)s is geen startkwalificatie, maar er staat dat de leerling er een heeft (bijvoorbeeld "
                        "van een eerdere opleiding). Klopt dat?", way=WAY_OUT_LABELS[way_out]))
    return found


def _errors(route: Route, data: dict[str, Any], today: dt.date) -> dict[str, list[Any]]:
    errors = exit_date_errors(route, data.get("exit_date"), today)
    if not data.get("way_out"):
        errors["way_out"] = [_l("Kies hoe de leerling de school verliet.")]
    elif data["way_out"] == WayOut.tussentijds and not (data.get("reason") or "").strip():
        errors["reason"] = [_l("Vul de reden van de tussentijdse uitstroom in.")]
    if not data.get("destination"):
        errors["destination"] = [_l("Kies waar de leerling na school heen gaat.")]
    certificates = certificate_list(data.get("certificates"))
    if len(certificates) > MAX_CERTIFICATES or any(len(c) > MAX_CERTIFICATE for c in certificates):
        errors["certificates"] = [_l("Noem hoogstens %(n)s certificaten, elk korter dan %(max)s tekens.",
                                     n=MAX_CERTIFICATES, max=MAX_CERTIFICATE)]
    if not errors and not data.get("confirm") and (asked := contradictions(data)):
        errors["confirm"] = asked
    return errors


def record_structured_exit(session: Session, actor: Principal, keyring: Keyring, route: Route,
                           data: dict[str, Any], *, expected_version: int | None = None,
                           today: dt.date | None = None) -> RouteExit:
    """Record (or correct) the exit of ``route``: the date and startkwalificatie go to the route
    and schedule the follow-up check-ins (:func:`referrals.checkins.record_exit`); the way out,
    the reason of an early leave, the certificates, the destination (with the school of a
    vervolgopleiding) and the retourticket go to its :class:`RouteExit`.

    :param data: loaded :class:`StructuredExitArgs` (``startkwalificatie`` as ja/nee/onbekend;
        ``confirm``: the recorder confirmed what :func:`contradictions` asked).
    :raises ValidationFailed: every field's message; nothing is written.
    :raises Conflict: the route is closed, or someone saved in between (``expected_version``).
    """
    today = today or clock.today()
    require_route_manager(actor, route)
    if expected_version is not None and route.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    if errors := _errors(route, data, today):
        raise ValidationFailed(errors=errors)
    way_out, destination = WayOut(data["way_out"]), Destination(data["destination"])
    details = {key: data[key].strip() for key in ("reason", "next_school", "retourticket")
               if (data.get(key) or "").strip()}
    if way_out is not WayOut.tussentijds:
        details.pop("reason", None)
    certificates = certificate_list(data.get("certificates"))
    asked = bool(contradictions(data))
    try:
        record_exit(session, actor, route, data["exit_date"],
                    startkwalificatie=STARTKWALIFICATIE_ANSWERS[data.get("startkwalificatie") or "onbekend"],
                    today=today)
        found = session.scalar(select(RouteExit).where(RouteExit.route_id == route.id))
        if found is None:
            found = RouteExit(route_id=route.id, revision=0)
            session.add(found)
        found.way_out, found.destination, found.certificates = way_out, destination, certificates
        found.details_encrypted = (keyring.encrypt(json.dumps(details, ensure_ascii=False, sort_keys=True),
                                                   found.details_ref()) if details else None)
        found.contradiction_confirmed = asked
        found.recorded_by_account_id, found.recorded_by_name = actor.account_id, actor.name
        found.revision = (found.revision or 0) + 1
        route.updated_at = utcnow()  # raises the route's row version: a concurrent exit or edit is caught
        session.flush()  # the row-version check runs here, and the exit's id for the audit event
    except StaleDataError as exc:
        raise Conflict(CONFLICT_MESSAGE) from exc
    record(session, actor, action=AuditAction.update, event_type=ExitTag.record, object_type="route_exit",
           object_id=found.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"route_id": route.id, "way_out": way_out.value, "destination": destination.value,
                   "certificates": len(certificates), "confirmed": asked, "revision": found.revision,
                   "texts": sorted(details)})
    return found


def route_exit(session: Session, route: Route) -> RouteExit | None:
    return session.scalar(select(RouteExit).where(RouteExit.route_id == route.id))


def exit_details(keyring: Keyring, found: RouteExit | None) -> dict[str, str]:
    """The encrypted texts of an exit: ``reason``, ``next_school`` and ``retourticket`` as given."""
    if found is None or not found.details_encrypted:
        return {}
    return json.loads(keyring.decrypt(found.details_encrypted, found.details_ref()))


#: the plan's sections carried into the retourticket: (section, field, label)
PLAN_RETURN_FIELDS = (
    ("return_ticket", "certificate", _l("Certificaat of diploma")),
    ("return_ticket", "practice_statement", _l("Praktijkverklaring")),
    ("return_ticket", "later", _l("Later terug naar school")),
)


def plan_retourticket(session: Session, keyring: Keyring, route: Route) -> str | None:
    """The retourticket of the student's school-naar-werk-plan (the version in force, else the
    newest), as text to prefill the exit with; its fall-back strategy when it has no
    retourticket; None without a plan. The caller has decided the plan category."""
    agreement = session.scalar(select(Agreement).where(
        Agreement.student_id == route.student_id, Agreement.school_id == route.school_id,
        Agreement.kind == AgreementKind.plan).order_by(Agreement.created_at.desc()).limit(1))
    if agreement is None or not agreement.versions:
        return None
    content = latest_content(keyring, agreement.active_version or agreement.latest) or {}
    lines = [f"{label}: {value}" for section, name, label in PLAN_RETURN_FIELDS
             if isinstance(value := (content.get(section) or {}).get(name), str) and value.strip()]
    if not lines and isinstance(fallback := (content.get("checks") or {}).get("fallback"), str) and fallback.strip():
        lines = [f"{_l('Terugvalstrategie')}: {fallback}"]
    return "\n".join(lines) or None
