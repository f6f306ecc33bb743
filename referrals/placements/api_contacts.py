"""The stageprotocol's contacts in the placement API (issue 19, items 2 and 6):

- ``GET /placements/{id}/contacts``: the placement's contacts, planned and recorded (due date,
  kind, status, late or not); what was recorded (free text, stored encrypted) only where the
  decision allows the student's education data. One decision and its audit event
  (``placement:contact-view``) for the whole list: a fixed number of statements however many
  contacts there are. ``ETag``: the placement's row version.
- ``POST /placements/{id}/contacts/{contact_id}/record``: record a planned contact through
  :func:`referrals.placements.protocol.record_contact` (the service the page uses), guarded by
  ``If-Match`` on the placement's row version (a placement paused, ended or re-dated since the
  caller read it is 412) and ``Idempotency-Key``; a contact that is already recorded or that
  lapsed is 409. Partner systems hear of it through the ``placement.contact_recorded`` webhook.

The walls and decision are the placement's (:mod:`referrals.placements.access`): another
school's placement or contact is 404, a partner 403.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from network import clock
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
from network.errors import Conflict, ValidationFailed
from network.permissions import Permission
from network.web import keyring
from referrals.api_common import BAD_INPUT, NOT_FOUND, load_body
from referrals.placements.access import decide_placement, find_placement
from referrals.placements.api_blueprint import NO_BASIS, api_require, bp
from referrals.placements.api_followup_schemas import (
    ContactListSchema,
    ContactRecordArgs,
    ContactSchema,
    contact_field_errors,
    contact_service_data,
)
from referrals.placements.models import Placement
from referrals.placements.protocol import (
    EVALUATION_TOPICS,
    contact_notes,
    find_contact,
    placement_contacts,
    record_contact,
)
from referrals.placements.protocol_models import ContactStatus, PlacementContact
from referrals.tags import PlacementTag

_CONFLICT = (409, "Het contact is al vastgelegd of vervallen, de stage is afgerond of het traject is afgesloten")
NOT_OPEN = {ContactStatus.done: _l("Dit contact is al vastgelegd."),
            ContactStatus.cancelled: _l("Dit contact is vervallen (de stage is gepauzeerd of beëindigd). Leg een "
                                        "ander contact vast op de pagina van de stage.")}


def contact_body(contact: PlacementContact, decision: Decision, today=None) -> dict[str, Any]:
    """One contact as the API shows it; the free text only with the education data allowed."""
    today = today or clock.today()
    shows_text = decision.permits(Category.education)
    notes = None
    if shows_text and contact.status is ContactStatus.done:
        stored = contact_notes(keyring(), contact)
        notes = {"agreed": stored.get("agreed"), "follow_up": stored.get("follow_up"),
                 "topics": {topic: stored.get(topic) for topic in EVALUATION_TOPICS}}
    return {
        "id": contact.id, "uuid": str(contact.uuid), "placement_id": contact.placement_id,
        "kind": contact.kind.value, "sequence": contact.sequence, "status": contact.status.value,
        "due_date": contact.due_date, "planned_date": contact.planned_date,
        "late": contact.status is ContactStatus.planned and contact.due_date is not None and contact.due_date < today,
        "moved": contact.move_reason is not None, "move_reason": contact.move_reason if shows_text else None,
        "done_on": contact.done_on, "with_whom": contact.with_whom.value if contact.with_whom else None,
        "how": contact.how.value if contact.how else None, "recorded_by": contact.recorded_by_name,
        "recorded_at": contact.recorded_at, "notes": notes,
    }


@bp.route("/placements/<int:placement_id>/contacts", methods=["GET"])
@api_require(Permission.route_view)
@bp.response(200, ContactListSchema, headers=ETAG_HEADER)
@bp.problems(NO_BASIS, NOT_FOUND)
def list_contacts(placement_id):
    """De contacten van het stageprotocol van een stage: gepland (met de uiterste datum, ook
    als ze te laat zijn), vastgelegd en vervallen. Wat er is vastgelegd staat er alleen in met
    een grondslag. De ETag is die van de stage (voor `If-Match` bij het vastleggen)."""
    principal = api_principal()
    placement = find_placement(db.session, principal, placement_id)
    decision = decide_placement(db.session, principal, placement, event_type=PlacementTag.contact_view)
    today = clock.today()
    items = [contact_body(contact, decision, today) for contact in placement_contacts(db.session, placement)]
    return ({"placement_id": placement.id, "version": placement.version, "items": items},
            {"ETag": etag(placement.version)})


def _record(principal, placement: Placement, contact: PlacementContact, body: dict[str, Any]) -> None:
    if contact.status is not ContactStatus.planned:
        raise Conflict(str(NOT_OPEN[contact.status]))
    try:
        record_contact(db.session, principal, keyring(), placement, contact_service_data(body), contact=contact)
    except ValidationFailed as exc:
        if exc.errors:
            raise ValidationFailed(exc.detail, errors=contact_field_errors(exc.errors)) from None
        raise


@bp.route("/placements/<int:placement_id>/contacts/<int:contact_id>/record", methods=["POST"])
@api_require(Permission.route_manage)
@bp.doc(parameters=[if_match_doc("de stage")], requestBody=body_doc(ContactRecordArgs))
@bp.response(200, ContactSchema, headers=ETAG_HEADER)
@bp.problems(BAD_INPUT, NO_BASIS, NOT_FOUND, _CONFLICT, STALE, NOT_JSON, NO_IF_MATCH)
def record_planned_contact(placement_id, contact_id):
    """Leg een gepland contact vast: de datum (`done_on`), met wie (`with_whom`), hoe (`how`),
    wat is afgesproken (`agreed`), vervolgacties (`follow_up`) en bij een evaluatie de
    onderwerpen (`topics`). Vereist `If-Match` met de ETag van de stage. Een contact dat al is
    vastgelegd of is vervallen is 409."""
    principal = api_principal()
    placement = find_placement(db.session, principal, placement_id)
    contact = find_contact(db.session, placement, contact_id)
    check_if_match(placement.version, "de stage")
    body = load_body(ContactRecordArgs)
    decision = decide_placement(db.session, principal, placement, event_type=PlacementTag.contact_record,
                                action=AuditAction.create)
    _record(principal, placement, contact, body)
    return contact_body(contact, decision), {"ETag": etag(placement.version)}


__all__ = ["bp"]
