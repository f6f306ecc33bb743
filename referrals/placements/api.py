"""The placement API (``/api/v1/placements``): the school's placements (page pagination, a
fixed number of statements per page), one placement (``ETag: W/"<version>"``), registering one
on a route, changing it (``PATCH``, ``If-Match``: only what is sent changes) and moving its
status (``POST …/status``, ``If-Match``; a step the lifecycle does not allow is 409 with the
allowed ones). Partner systems hear of each change through the ``placement.*`` webhooks.

The same services and walls as the HTML pages (:mod:`referrals.placements.views`): another
organisation's placement is 404; every answer that shows the student reads it through
:func:`referrals.placements.access.decide_placement` (decided and audited, the API client as the
actor); a denied decision keeps its audit event. A POST honours ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from network.access import Category, Decision
from network.api import (
    ETAG_HEADER,
    NO_IF_MATCH,
    NOT_JSON,
    STALE,
    api_principal,
    body_doc,
    check_if_match,
    etag,
    if_match_doc,
)
from network.audit import AuditAction
from network.db import db
from network.errors import ValidationFailed
from network.permissions import Permission
from network.web import keyring
from referrals.api_common import BAD_INPUT, NO_SCOPE, NOT_FOUND, base_url, load_body
from referrals.placements.access import decide_placement, decide_route_placements, find_placement
from referrals.placements.api_blueprint import NO_BASIS, api_require, bp
from referrals.placements.api_schemas import (
    PlacementArgs,
    PlacementListArgs,
    PlacementPageSchema,
    PlacementSchema,
    StatusArgs,
    api_field_errors,
    to_service_data,
)
from referrals.placements.lifecycle import change_status
from referrals.placements.models import Placement
from referrals.placements.reads import school_placements
from referrals.placements.service import create_placement, learning_goals, update_placement
from referrals.route_service import find_route
from referrals.tags import PlacementTag

_CONFLICT = (409, "Een stap die de stage niet kan zetten (`allowed` noemt wat wel kan), een afgeronde stage of een "
                  "afgesloten traject")
_CHANGE_PROBLEMS = (BAD_INPUT, NO_BASIS, NOT_FOUND, _CONFLICT, STALE, NOT_JSON, NO_IF_MATCH)


def _body(placement: Placement, decision: Decision | None, student_name: str | None = None) -> dict[str, Any]:
    """The placement as the decision allows: the student's name with contact data; the learning
    goals (encrypted, from the plan) with the detail's decision only."""
    if decision is not None:
        student_name = placement.route.student.full_name if decision.permits(Category.contact) else None
    supervisor = placement.supervisor
    return {
        "id": placement.id, "uuid": str(placement.uuid), "route_id": placement.route_id,
        "student": {"id": str(placement.student_id), "name": student_name},
        "kind": placement.kind.value, "status": placement.status.value,
        "company": {"organisation_id": placement.organisation_id, "service_id": placement.service_id,
                    "proposal_id": placement.proposal_id, "name": placement.company_name},
        "function": placement.function,
        "trainer": {"name": placement.trainer_name, "function": placement.trainer_function,
                    "email": placement.trainer_email, "phone": placement.trainer_phone},
        "supervisor": {"id": supervisor.id, "name": supervisor.name} if supervisor else None,
        "start_date": placement.start_date, "end_date": placement.end_date, "started_on": placement.started_on,
        "ended_on": placement.ended_on, "end_reason": placement.end_reason,
        "hired": placement.hired,
        "schedule": {day: minutes / 60 for day, minutes in (placement.schedule or {}).items()},
        "with_coach": placement.with_coach, "coach_name": placement.coach_name,
        "learning_goals": learning_goals(keyring(), placement) if decision is not None else None,
        "werkprocessen": list(placement.werkprocessen or []), "version": placement.version,
    }


def _answer(placement: Placement, decision: Decision, status: int = 200):
    db.session.flush()  # the new row version is the new ETag
    headers = {"ETag": etag(placement.version)}
    if status == 201:
        headers["Location"] = url_for("placements_api.get_placement", placement_id=placement.id)
    return _body(placement, decision), status, headers


def _service_errors(run):
    """Run a service call; its field errors (named as the form names them) named as the body does."""
    try:
        return run()
    except ValidationFailed as exc:
        if exc.errors:
            raise ValidationFailed(exc.detail, errors=api_field_errors(exc.errors)) from None
        raise


@bp.route("/placements", methods=["GET"])
@api_require(Permission.route_view)
@bp.arguments(PlacementListArgs, location="query")
@bp.response(200, PlacementPageSchema)
@bp.problems(BAD_INPUT, (401, "Niet ingelogd"), NO_SCOPE)
def list_placements(args):
    """De stages van de leerlingen van uw school (lopende eerst), per pagina (`page`,
    `per_page`, `status`). De naam van de leerling staat er alleen in met een grondslag."""
    page = school_placements(db.session, api_principal(), status=args.get("status"), page=args["page"],
                             per_page=args["per_page"])
    return {"items": [_body(row.placement, None, row.student_name) for row in page.items],
            "page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages}


@bp.route("/placements/<int:placement_id>", methods=["GET"])
@api_require(Permission.route_view)
@bp.response(200, PlacementSchema, headers=ETAG_HEADER)
@bp.problems(NO_BASIS, NOT_FOUND)
def get_placement(placement_id):
    """Eén stage: het bedrijf, de praktijkopleider, de stagebegeleider, data, uren per dag,
    leerdoelen, werkprocessen en status."""
    principal = api_principal()
    placement = find_placement(db.session, principal, placement_id)
    decision = decide_placement(db.session, principal, placement)
    return _body(placement, decision), {"ETag": etag(placement.version)}


@bp.route("/routes/<int:route_id>/placements", methods=["POST"])
@api_require(Permission.route_manage)
@bp.doc(requestBody=body_doc(PlacementArgs))
@bp.response(201, PlacementSchema, headers=ETAG_HEADER)
@bp.problems(BAD_INPUT, NO_BASIS, NOT_FOUND, _CONFLICT, NOT_JSON)
def create(route_id):
    """Leg een stage vast op het traject van een leerling, bij een werkgever van de sociale
    kaart (`service_id`) of een voorgesteld bedrijf (`proposal`). Overlapt ze met een andere
    stage van de leerling, dan is `confirm_overlap: true` nodig."""
    principal = api_principal()
    route = find_route(db.session, principal, route_id)
    body = load_body(PlacementArgs)
    decision = decide_route_placements(db.session, principal, route, event_type=PlacementTag.create,
                                       action=AuditAction.create)
    placement = _service_errors(lambda: create_placement(db.session, principal, keyring(), route,
                                                         to_service_data(body), base_url=base_url()))
    return _answer(placement, decision, 201)


def _current(placement: Placement) -> dict[str, Any]:
    """The placement as a full :class:`PlacementArgs` body, for a PATCH to change parts of."""
    body = _body(placement, None)
    current = {key: body[key] for key in ("kind", "function", "start_date", "end_date", "schedule", "with_coach",
                                          "coach_name", "werkprocessen", "trainer")}
    current.update(service_id=placement.service_id, supervisor_account_id=placement.supervisor_account_id,
                   learning_goals=learning_goals(keyring(), placement))
    return current


@bp.route("/placements/<int:placement_id>", methods=["PATCH"])
@api_require(Permission.route_manage)
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(PlacementArgs))
@bp.response(200, PlacementSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def update(placement_id):
    """Wijzig een stage; alleen wat u meestuurt verandert (`trainer` als geheel). Vereist
    `If-Match`."""
    principal = api_principal()
    placement = find_placement(db.session, principal, placement_id)
    check_if_match(placement.version, "de stage")
    patch = load_body(PlacementArgs(partial=True))
    decision = decide_placement(db.session, principal, placement, event_type=PlacementTag.update,
                                action=AuditAction.update)
    body = {**_current(placement), **patch}
    _service_errors(lambda: update_placement(db.session, principal, keyring(), placement, to_service_data(body),
                                             expected_version=placement.version, base_url=base_url()))
    return _answer(placement, decision)


@bp.route("/placements/<int:placement_id>/status", methods=["POST"])
@api_require(Permission.route_manage)
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(StatusArgs))
@bp.response(200, PlacementSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def set_status(placement_id):
    """Zet een stage een stap verder: `running` (begonnen), `paused`, `completed` of
    `ended_early` (met `reason`). Een stap die niet kan is 409 met de stappen die wel kunnen.
    Vereist `If-Match`."""
    principal = api_principal()
    placement = find_placement(db.session, principal, placement_id)
    check_if_match(placement.version, "de stage")
    data = load_body(StatusArgs)
    decision = decide_placement(db.session, principal, placement, event_type=PlacementTag.status_change,
                                action=AuditAction.update)
    change_status(db.session, principal, placement, data["status"], reason=data.get("reason"),
                  on_date=data.get("on_date"), expected_version=placement.version, hired=data.get("hired"))
    return _answer(placement, decision)


__all__ = ["bp"]
