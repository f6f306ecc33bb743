"""The route API (``/api/v1/routes``): the school's Transitieroutes (page pagination, a fixed
number of statements per page), one route with its phases and follow-up check-ins
(``ETag: W/"<version>"``), changing it (``PATCH``, ``If-Match``), the exit that starts the
follow-up, and the follow-up check-ins: read and recorded by the school's staff and by the RMC
of the school's region, as on the HTML pages.

The same services and walls as :mod:`referrals.route_views`: another organisation's route is
404; every answer that shows the student reads it through :func:`referrals.route_service.decide_route`
(decided and audited, the API client as the actor), and a denied decision keeps its audit
event. Reading the check-ins needs ``referral_view`` (scope ``referrals:read``), not
``route_view``: the RMC (partner staff) reads them too, as its HTML check-in page does.
Recording a check-in needs no ``If-Match``: each is recorded once (a second time is 409), so
nothing can be overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from network.access import Category, Decision
from network.api import (
    ETAG_HEADER,
    NO_IF_MATCH,
    NOT_JSON,
    STALE,
    Blueprint,
    api_principal,
    body_doc,
    check_if_match,
    etag,
    if_match_doc,
    require_json,
)
from network.api import api_require as network_api_require
from network.audit import AuditAction
from network.db import db
from network.errors import ValidationFailed
from network.permissions import Permission, Principal
from network.web import keyring
from referrals import checkins, route_service
from referrals.api_common import BAD_INPUT, NO_SCOPE, NOT_FOUND, base_url, load_body
from referrals.api_schemas import (
    CheckInListSchema,
    CheckInSchema,
    PatchRouteArgs,
    RecordCheckInArgs,
    RouteDetailSchema,
    RouteExitArgs,
    RouteListArgs,
    RoutePageSchema,
)
from referrals.checkins import check_in_note, record_check_in
from referrals.models import CheckIn, Route, RoutePhase
from referrals.route_exit import record_structured_exit, route_exit
from referrals.tags import CheckinTag, RouteTag

bp = Blueprint("routes_api", __name__, url_prefix="/api/v1", description="Trajecten (Transitieroute) en nazorg")

_CLOSED = (409, "Het traject is afgesloten, of iemand anders wijzigde het tegelijk")
_NO_BASIS = (403, "Geen toegang, geen grondslag voor deze leerling, of de token mist de scope")


def api_require(permission: Permission) -> Callable:
    """:func:`network.api.api_require` with the route API's 403 message."""
    return network_api_require(permission, "U heeft geen toegang tot trajecten.")


def _decided(principal: Principal, route: Route, **kwargs: Any) -> Decision:
    """:func:`referrals.route_service.decide_route`; a denied decision (403) keeps its audit event."""
    return route_service.decide_route(db.session, principal, route, **kwargs)


def _route(principal: Principal, route_id: int, *, rmc: bool = False) -> Route:
    return route_service.find_route(db.session, principal, route_id, rmc=rmc)


def _item(route: Route, student_name: str | None, next_due, responsible_name: str | None) -> dict[str, Any]:
    return {"id": route.id, "phase": route.phase.value, "status": route.status.value,
            "student": {"id": str(route.student_id), "name": student_name},
            "responsible": ({"id": route.responsible_account_id, "name": responsible_name}
                            if route.responsible_account_id else None),
            "start_date": route.start_date, "expected_exit_date": route.expected_exit_date,
            "exit_date": route.exit_date, "startkwalificatie": route.startkwalificatie,
            "doelgroepregister_open": route.doelgroepregister_open,
            "followup_months": route.followup_months, "next_check_in_due": next_due,
            "closed_at": route.closed_at, "version": route.version}


def _check_in(check_in: CheckIn) -> dict[str, Any]:
    return {"id": check_in.id, "months": check_in.months, "due_date": check_in.due_date,
            "situation": check_in.situation.value if check_in.situation else None,
            "note": check_in_note(keyring(), check_in), "recorded_at": check_in.recorded_at,
            "recorded_by": check_in.recorded_by_name, "rmc_alerted_at": check_in.rmc_alerted_at,
            "attempts": [{"attempted_on": a.attempted_on, "method": a.method.value} for a in check_in.attempts]}


def _detail(route: Route, decision: Decision) -> dict[str, Any]:
    """The route as the decision allows: the name with contact data, programme and level with
    education data; the route's own facts (phases, check-ins) always."""
    student = route.student
    open_due = [c.due_date for c in route.check_ins if c.recorded_at is None]
    body = _item(route, student.full_name if decision.permits(Category.contact) else None,
                 min(open_due) if open_due else None, route.responsible.name if route.responsible else None)
    body["education"] = ({"programme": student.programme, "level": student.level.value if student.level else None}
                         if decision.permits(Category.education) else None)
    body["phases"] = [{"phase": p.phase.value, "planned_date": p.planned_date, "reached_date": p.reached_date}
                      for p in route.phases]
    body["check_ins"] = [_check_in(c) for c in route.check_ins]
    left = route_exit(db.session, route) if decision.permits(Category.education) else None
    body["exit"] = ({"way_out": left.way_out.value, "destination": left.destination.value,
                     "certificates": list(left.certificates)} if left is not None else None)
    return body


def _answer(route: Route, decision: Decision):
    db.session.flush()  # the new row version is the new ETag
    body, tag = _detail(route, decision), etag(route.version)
    return body, {"ETag": tag}


@bp.route("/routes", methods=["GET"])
@api_require(Permission.route_view)
@bp.arguments(RouteListArgs, location="query")
@bp.response(200, RoutePageSchema)
@bp.problems(BAD_INPUT, (401, "Niet ingelogd"), NO_SCOPE)
def list_routes(args):
    """De trajecten van de leerlingen van uw school, nieuwste eerst, per pagina (`page`,
    `per_page`). De naam van de leerling staat er alleen in met een grondslag."""
    principal = api_principal()
    page = route_service.list_routes(db.session, principal, status=args.get("status"), page=args["page"],
                                     per_page=args["per_page"])
    body = {"items": [_item(row.route, row.student_name, row.next_due, row.responsible_name) for row in page.items],
            "page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages}
    return body


@bp.route("/routes/<int:route_id>", methods=["GET"])
@api_require(Permission.route_view)
@bp.response(200, RouteDetailSchema, headers=ETAG_HEADER)
@bp.problems(_NO_BASIS, NOT_FOUND)
def get_route(route_id):
    """Eén traject: fase, data per fase, de verantwoordelijke en de nazorgcontacten."""
    principal = api_principal()
    route = _route(principal, route_id)
    decision = _decided(principal, route)
    body, tag = _detail(route, decision), etag(route.version)
    return body, {"ETag": tag}


def _route_changes(data: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body as :func:`referrals.route_service.update_route` takes it (``planned_<phase>``)."""
    changes = {key: data[key] for key in ("phase", "responsible_account_id", "expected_exit_date",
                                          "doelgroepregister_open") if key in data}
    for phase, dates in (data.get("phases") or {}).items():
        for kind in ("planned", "reached"):
            if f"{kind}_date" in dates:
                changes[f"{kind}_{RoutePhase(phase).value}"] = dates[f"{kind}_date"]
    return changes


_CHANGE_PROBLEMS = (BAD_INPUT, _NO_BASIS, NOT_FOUND, _CLOSED, STALE, NOT_JSON, NO_IF_MATCH)


@bp.route("/routes/<int:route_id>", methods=["PATCH"])
@api_require(Permission.route_manage)
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(PatchRouteArgs))
@bp.response(200, RouteDetailSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def update_route(route_id):
    """Wijzig de fase, de verantwoordelijke, de verwachte uitstroom of de data per fase; alleen
    wat u meestuurt verandert. Vereist `If-Match`."""
    principal = api_principal()
    route = _route(principal, route_id)
    require_json()
    check_if_match(route.version, "het traject")
    data = load_body(PatchRouteArgs)
    decision = _decided(principal, route, event_type=RouteTag.update, action=AuditAction.update)
    route_service.update_route(db.session, principal, route, _route_changes(data), expected_version=route.version)
    return _answer(route, decision)


@bp.route("/routes/<int:route_id>/exit", methods=["POST"])
@api_require(Permission.route_manage)
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(RouteExitArgs))
@bp.response(200, RouteDetailSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def record_exit(route_id):
    """De leerling verliet de school: het traject gaat in nazorg en de nazorgcontacten (na 3,
    6 en 12 maanden; 24 bij RMC-nazorg) worden gepland. Met `way_out` en `destination` wordt de
    uitstroom volledig vastgelegd (certificaten, retourticket); een bestemming die niet volgt uit
    de manier van uitstromen vraagt `confirm`. Vereist `If-Match`."""
    principal = api_principal()
    route = _route(principal, route_id)
    require_json()
    check_if_match(route.version, "het traject")
    data = load_body(RouteExitArgs)
    decision = _decided(principal, route, event_type=RouteTag.exit, action=AuditAction.update)
    if data.get("way_out") or data.get("destination"):
        data["startkwalificatie"] = {True: "ja", False: "nee"}.get(data["startkwalificatie"], "onbekend")
        record_structured_exit(db.session, principal, keyring(), route, data)
    else:
        checkins.record_exit(db.session, principal, route, data["exit_date"],
                             startkwalificatie=data["startkwalificatie"])
    return _answer(route, decision)


@bp.route("/routes/<int:route_id>/check-ins", methods=["GET"])
@api_require(Permission.referral_view)
@bp.response(200, CheckInListSchema)
@bp.problems(_NO_BASIS, NOT_FOUND)
def list_check_ins(route_id):
    """De nazorgcontacten van een traject (gepland en vastgelegd): voor de school en voor het
    RMC van de regio van de school."""
    principal = api_principal()
    route = _route(principal, route_id, rmc=True)
    _decided(principal, route, event_type=CheckinTag.list)
    body = {"items": [_check_in(c) for c in route.check_ins]}
    return body


@bp.route("/routes/<int:route_id>/check-ins", methods=["POST"])
@api_require(Permission.checkin_record)
@bp.doc(requestBody=body_doc(RecordCheckInArgs))
@bp.response(200, CheckInSchema)
@bp.problems(BAD_INPUT, _NO_BASIS, NOT_FOUND, (409, "Niet in de nazorg, of dit contact is al vastgelegd"),
          NOT_JSON)
def record_check_in_api(route_id):
    """Leg een nazorgcontact vast (`months`: welk contact; `situation`; een notitie). Uitgevallen
    of onbekend waarschuwt meteen het RMC van de regio; niet_bereikt (met `attempt_date` en
    `attempt_method`) is een contactpoging, de derde legt het contact vast en waarschuwt het RMC.
    Geen If-Match: elk contact wordt één keer vastgelegd (een tweede keer is 409)."""
    principal = api_principal()
    route = _route(principal, route_id, rmc=True)
    require_json()
    data = load_body(RecordCheckInArgs)
    check_in = next((c for c in route.check_ins if c.months == data["months"]), None)
    if check_in is None:
        raise ValidationFailed(errors={"months": [f"Voor dit traject is geen nazorgcontact na {data['months']} "
                                                  "maanden gepland."]})
    _decided(principal, route, event_type=CheckinTag.record, action=AuditAction.update)
    record_check_in(db.session, principal, keyring(), check_in, data, base_url=base_url())
    body = _check_in(check_in)
    return body


__all__ = ["bp"]
