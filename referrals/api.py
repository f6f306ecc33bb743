"""The referral API (``/api/v1/referrals``): the inbox or the sent list (cursor pagination),
one referral with its packet and timeline (``ETag: W/"<version>"``), and transitions guarded by
``If-Match``.

Authenticated by the browser session for now (partner OAuth comes with its own issue); an
anonymous call is 401. Because a cookie travels with cross-site requests and the API is exempt
from the HTML forms' CSRF token, a change must come as ``Content-Type: application/json``
(415 otherwise): a cross-site HTML form cannot send that, and a cross-site ``fetch`` with it
needs a CORS preflight this API never grants. Every error is RFC 9457 problem+json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from marshmallow import ValidationError
from sqlalchemy import select

from network.api import Blueprint
from network.api import api_require as network_api_require
from network.db import db
from network.errors import (
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
    problem_response,
)
from network.models import Organisation, Role
from network.permissions import Permission, Principal
from network.web import current_principal, keyring
from referrals.api_schemas import (
    ProblemSchema,
    ReferralDetailSchema,
    ReferralListArgs,
    ReferralPageSchema,
    TransitionArgs,
)
from referrals.events import event_body, visible_events
from referrals.inbox import InboxFilters, list_inbox, list_sent
from referrals.models import Referral
from referrals.packet import read_packet
from referrals.service import get_referral, side_of, transition
from referrals.states import allowed_for

bp = Blueprint("referrals_api", __name__, url_prefix="/api/v1", description="Verwijzingen")

_PROBLEM = "application/problem+json"


def api_require(permission: Permission) -> Callable:
    """:func:`network.api.api_require` with the referral API's 403 message."""
    return network_api_require(permission, "U heeft geen toegang tot verwijzingen.")


def _etag(referral: Referral) -> str:
    return f'W/"{referral.version}"'


def _named(obj, name_attr: str = "name") -> dict | None:
    return {"id": obj.id, "name": getattr(obj, name_attr)} if obj is not None else None


def _item(principal: Principal, referral: Referral, student_name: str | None) -> dict[str, Any]:
    side = side_of(principal, referral)
    return {
        "id": referral.id, "status": referral.status.value, "status_reason": referral.status_reason,
        "outcome": referral.outcome.value if referral.outcome else None, "type": referral.type.value,
        "purpose": referral.purpose, "version": referral.version, "student_name": student_name,
        "service": _named(referral.service), "from_organisation": _named(referral.from_organisation),
        "from_name": referral.from_name, "to_organisation": _named(referral.to_organisation),
        "owner": _named(referral.owner), "created_at": referral.created_at, "sent_at": referral.sent_at,
        "response_due": referral.response_due, "answered_at": referral.answered_at, "closed_at": referral.closed_at,
        "handover": {"held_on": referral.handover_on, "present": referral.handover_present,
                     "recorded_by": referral.handover_recorded_by_name,
                     "confirmed_at": referral.handover_confirmed_at,
                     "confirmed_by": referral.handover_confirmed_by_name},
        "allowed_transitions": [s.value for s in allowed_for(referral.status, side)] if side else [],
    }


def _detail(principal: Principal, referral: Referral) -> dict[str, Any]:
    """The referral as ``principal`` may see it: the packet through read_packet (decided and
    audited), the timeline without other organisations' internal notes."""
    packet = read_packet(db.session, principal, keyring(), referral)
    content = packet.content if packet.state == "open" else None
    name = (content.get("contactgegevens") or {}).get("name") if content else None
    ring = keyring()
    events = [{"id": e.id, "kind": e.kind.value, "at": e.at, "from_status": e.from_status.value if e.from_status else None,
               "to_status": e.to_status.value if e.to_status else None, "reason": e.reason,
               "body": event_body(ring, e), "internal": e.internal_to is not None, "actor_name": e.actor_name,
               "actor_organisation": e.actor_organisation_name}
              for e in visible_events(referral, principal.organisation_id)]
    return {**_item(principal, referral, name), "events": events, "packet": {
        "state": packet.state, "shared_categories": packet.shared,
        "visible_categories": sorted(c.value for c in packet.allowed), "content": content,
        "withdrawn_at": packet.withdrawn_at, "withdrawn_reason": packet.withdrawn_reason}}


@bp.route("/referrals", methods=["GET"])
@api_require(Permission.referral_view)
@bp.arguments(ReferralListArgs, location="query")
@bp.response(200, ReferralPageSchema)
@bp.alt_response(401, schema=ProblemSchema, content_type=_PROBLEM, description="Niet ingelogd")
def list_referrals(args):
    """Verwijzingen: voor een partner de inbox van de organisatie, voor een school de eigen
    verstuurde verwijzingen; nieuwste eerst, met cursorpaginering (`next_cursor`). De naam
    van de leerling staat er alleen in met een grondslag voor contactgegevens."""
    principal = current_principal()
    filters = InboxFilters(status=args.get("status"))
    if principal.role is Role.partner_staff:
        page = list_inbox(db.session, principal, filters, cursor=args.get("cursor"), per_page=args["limit"])
    elif principal.is_school_staff:
        page = list_sent(db.session, principal, filters, cursor=args.get("cursor"), per_page=args["limit"])
    else:
        raise Forbidden("U heeft geen toegang tot verwijzingen.")
    organisations = {r.referral.from_organisation_id for r in page.rows} | {r.referral.to_organisation_id
                                                                          for r in page.rows}
    if organisations:  # one query for the page's organisations instead of one each
        db.session.scalars(select(Organisation).where(Organisation.id.in_(organisations))).all()
    body = {"items": [_item(principal, row.referral, row.student_name) for row in page.rows],
            "next_cursor": page.next_cursor}
    db.session.commit()  # the audit events of the page's access decisions
    return body


@bp.route("/referrals/<int:referral_id>", methods=["GET"])
@api_require(Permission.referral_view)
@bp.response(200, ReferralDetailSchema, headers={"ETag": {"description": 'W/"<versie>" voor If-Match',
                                                          "schema": {"type": "string"}}})
@bp.alt_response(404, schema=ProblemSchema, content_type=_PROBLEM, description="Niet gevonden")
def get_referral_detail(referral_id):
    """Eén verwijzing met het overdrachtspakket (alleen wat u nu mag zien; na intrekken van
    de toestemming: `state` withdrawn en geen gegevens) en de tijdlijn."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    body, etag = _detail(principal, referral), _etag(referral)
    db.session.commit()  # the audit event of the packet read
    return body, {"ETag": etag}


_IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
             "description": 'De ETag van de verwijzing zoals u die las (W/"<versie>").'}


@bp.route("/referrals/<int:referral_id>/transitions", methods=["POST"])
@api_require(Permission.referral_view)
@bp.doc(parameters=[_IF_MATCH],
        requestBody={"required": True, "content": {"application/json": {"schema": TransitionArgs}}})
@bp.response(200, ReferralDetailSchema, headers={"ETag": {"description": "De nieuwe versie",
                                                          "schema": {"type": "string"}}})
@bp.alt_response(400, schema=ProblemSchema, content_type=_PROBLEM, description="Ongeldige invoer")
@bp.alt_response(404, schema=ProblemSchema, content_type=_PROBLEM, description="Niet gevonden")
@bp.alt_response(409, schema=ProblemSchema, content_type=_PROBLEM,
                 description="Deze stap kan niet vanuit de huidige status; `allowed` noemt wat wel kan")
@bp.alt_response(412, schema=ProblemSchema, content_type=_PROBLEM, description="If-Match klopt niet (meer)")
@bp.alt_response(415, schema=ProblemSchema, content_type=_PROBLEM, description="Geen application/json")
@bp.alt_response(428, schema=ProblemSchema, content_type=_PROBLEM, description="If-Match ontbreekt")
def transition_referral(referral_id):
    """Zet een verwijzing in een nieuwe status (accepted, rejected met reden, on-hold,
    completed met uitkomst, ...). Vereist `If-Match` met de ETag; een verboden stap is 409
    met de toegestane statussen in `allowed`."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    if request.mimetype != "application/json":
        return problem_response(415, detail="Stuur de gegevens als JSON (Content-Type: application/json).")
    if "If-Match" not in request.headers:
        raise PreconditionRequired(f"Stuur If-Match met de ETag van de verwijzing ({_etag(referral)}).")
    if not (request.if_match.star_tag or request.if_match.contains_weak(str(referral.version))):
        raise PreconditionFailed("De verwijzing is intussen gewijzigd; haal haar opnieuw op.",
                                 current_version=referral.version)
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ValidationFailed("Stuur een JSON-object.", errors={"body": ["Stuur een JSON-object."]})
    try:
        data = TransitionArgs().load(raw)
    except ValidationError as exc:
        raise ValidationFailed(errors={field: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
                                       for field, messages in exc.normalized_messages().items()}) from None
    transition(db.session, principal, keyring(), referral, data["status"], reason=data.get("reason"),
               outcome=data.get("outcome"), expected_version=referral.version,
               base_url=current_app.config.get("BASE_URL", ""))
    db.session.flush()  # the new row version is the new ETag
    body, etag = _detail(principal, referral), _etag(referral)
    db.session.commit()
    return body, {"ETag": etag}


__all__ = ["bp", "api_require"]
