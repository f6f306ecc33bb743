"""The referral API (``/api/v1/referrals``): make and send a referral, the inbox or the sent
list (cursor pagination), one referral with its packet and timeline (``ETag: W/"<version>"``),
transitions, updates and notes, the warm hand-over and its confirmation, and the owner.

Every write calls the same service as the HTML pages (:mod:`referrals.service`,
:mod:`referrals.wizard_service`, :mod:`referrals.transitions`), so a partner system (an OAuth
client acting as its organisation, ``account_id`` None: it is recorded under its name,
``API-client <naam>``) can do what a person can and nothing more. Reading a referral
needs ``referrals:read``; changing it also the write permission of the caller's side (the
receiver's ``referral_handle``, the sender's ``referral_create``: scope ``referrals:write``),
else 403 ``insufficient_scope``. A change of the referral row needs ``If-Match`` with its ETag
(428 without, 412 when stale); an update or note only appends to the timeline and leaves the
row (and its ETag) as it was, so it needs none.

Because a browser session also authenticates here, and the API is exempt from the HTML forms'
CSRF token, a change must come as ``Content-Type: application/json`` (415 otherwise): a
cross-site HTML form cannot send that, and a cross-site ``fetch`` with it needs a CORS
preflight this API never grants. Every error is RFC 9457 problem+json; unknown fields are 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import url_for
from sqlalchemy import select

from consent.models import Purpose
from network.access import Category
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
from network.api import api_require_any as network_api_require_any
from network.db import db
from network.errors import Forbidden, ValidationFailed
from network.models import Role
from network.oauth import insufficient_scope, raise_insufficient_scope
from network.permissions import Permission, Principal
from network.students import get_student
from network.web import keyring
from referrals.api_common import BAD_INPUT, NO_SCOPE, NOT_FOUND, base_url, load_body
from referrals.api_schemas import (
    CreateReferralArgs,
    EventSchema,
    HandoverConfirmArgs,
    ReferralDetailSchema,
    ReferralHandoverArgs,
    ReferralListArgs,
    ReferralOwnerArgs,
    ReferralPageSchema,
    ReferralUpdateArgs,
    TransitionArgs,
)
from referrals.inbox import InboxFilters, list_inbox, list_sent
from referrals.models import Referral
from referrals.packet import read_packet
from referrals.referral_timeline import WITHHELD_NOTICE, TimelineItem, event_body, school_text_fields, timeline
from referrals.service import RECEIVER, assign, get_referral, post_message, side_of
from referrals.signup import BACKGROUND, LIFE_DOMAINS, SCHOOL_SITUATION, empty_details
from referrals.states import ReferralStatus, allowed_for
from referrals.tags import ReferralTag
from referrals.transitions import confirm_handover, record_handover, transition
from referrals.wizard_service import save_draft, send_referral

bp = Blueprint("referrals_api", __name__, url_prefix="/api/v1", description="Verwijzingen")

PROBLEM = "application/problem+json"


def api_require(permission: Permission) -> Callable:
    """:func:`network.api.api_require` with the referral API's 403 message."""
    return network_api_require(permission, "U heeft geen toegang tot verwijzingen.")


#: a change: the receiver handles (``referral_handle``), the school as sender changes its own
#: (``referral_create``); both come with the scope ``referrals:write``. Which side the caller is
#: on is checked per referral in :func:`_for_write`.
api_require_write = network_api_require_any(Permission.referral_handle, Permission.referral_create,
                                            message="U heeft geen toegang tot verwijzingen.")


# -- reading -----------------------------------------------------------------------------------

def _named(obj, name_attr: str = "name") -> dict | None:
    return {"id": obj.id, "name": getattr(obj, name_attr)} if obj is not None else None


def _item(principal: Principal, referral: Referral, student_name: str | None, *,
          texts: dict[str, str | None] | None = None) -> dict[str, Any]:
    """One referral; ``texts``: its free-text fields as the viewer may see them (default: all)."""
    side = side_of(principal, referral)
    texts = texts if texts is not None else {"status_reason": referral.status_reason,
                                             "handover_present": referral.handover_present}
    return {
        "id": referral.id, "status": referral.status.value, "status_reason": texts["status_reason"],
        "outcome": referral.outcome.value if referral.outcome else None, "type": referral.type.value,
        "purpose": referral.purpose, "version": referral.version, "student_name": student_name,
        "service": _named(referral.service), "from_organisation": _named(referral.from_organisation),
        "from_name": referral.from_name, "to_organisation": _named(referral.to_organisation),
        "owner": _named(referral.owner), "created_at": referral.created_at, "sent_at": referral.sent_at,
        "response_due": referral.response_due, "answered_at": referral.answered_at, "closed_at": referral.closed_at,
        "handover": {"held_on": referral.handover_on, "present": texts["handover_present"],
                     "recorded_by": referral.handover_recorded_by_name,
                     "confirmed_at": referral.handover_confirmed_at,
                     "confirmed_by": referral.handover_confirmed_by_name},
        "at_exit": referral.at_exit,
        "plan": {"agreement_id": str(referral.plan_agreement_id), "version": referral.plan_version}
        if referral.plan_agreement_id else None,
        "allowed_transitions": [s.value for s in allowed_for(referral.status, side)] if side else [],
    }


def _event(item: TimelineItem) -> dict[str, Any]:
    event = item.event
    return {"id": event.id, "kind": event.kind.value, "at": event.at,
            "from_status": event.from_status.value if event.from_status else None,
            "to_status": event.to_status.value if event.to_status else None, "reason": item.reason,
            "body": item.body, "internal": item.internal, "withheld": item.withheld, "actor_name": event.actor_name,
            "actor_organisation": event.actor_organisation_name}


def _detail(principal: Principal, referral: Referral) -> dict[str, Any]:
    """The referral as ``principal`` may see it: the packet through read_packet (decided and
    audited), the timeline without other organisations' internal notes, and for a receiver with
    no basis left none of the school's free text (its own stays)."""
    packet = read_packet(db.session, principal, keyring(), referral)
    content = packet.content if packet.state == "open" else None
    name = (content.get("contactgegevens") or {}).get("name") if content else None
    school_text = packet.basis_remains
    events = [_event(item) for item in timeline(keyring(), referral, principal.organisation_id,
                                                 school_text=school_text)]
    texts = school_text_fields(referral, school_text=school_text)
    return {**_item(principal, referral, name, texts=texts), "events": events,
            "school_text_withheld": None if school_text else str(WITHHELD_NOTICE), "packet": {
        "state": packet.state, "shared_categories": packet.shared,
        "visible_categories": sorted(c.value for c in packet.allowed), "content": content,
        "withdrawn_at": packet.withdrawn_at, "withdrawn_reason": packet.withdrawn_reason}}


def _answer(principal: Principal, referral: Referral, *extra_headers: tuple[str, str]):
    """The referral after a change: flushed (its new row version is the new ETag), read as
    ``principal`` may see it, committed with the audit events of that read."""
    db.session.flush()  # the new row version is the new ETag
    body, headers = _detail(principal, referral), {"ETag": etag(referral.version), **dict(extra_headers)}
    return body, headers


@bp.route("/referrals", methods=["GET"])
@api_require(Permission.referral_view)
@bp.arguments(ReferralListArgs, location="query")
@bp.response(200, ReferralPageSchema)
@bp.problems(BAD_INPUT, (401, "Niet ingelogd"), NO_SCOPE)
def list_referrals(args):
    """Verwijzingen: voor een partner de inbox van de organisatie, voor een school de eigen
    verstuurde verwijzingen; nieuwste eerst, met cursorpaginering (`next_cursor`). De naam
    van de leerling staat er alleen in met een grondslag voor contactgegevens."""
    principal = api_principal()
    filters = InboxFilters(status=args.get("status"))
    if principal.role is Role.partner_staff:
        page = list_inbox(db.session, principal, filters, cursor=args.get("cursor"), per_page=args["limit"])
    elif principal.is_school_staff:
        page = list_sent(db.session, principal, filters, cursor=args.get("cursor"), per_page=args["limit"])
    else:
        raise Forbidden("U heeft geen toegang tot verwijzingen.")
    body = {"items": [_item(principal, row.referral, row.student_name, texts=_list_texts(principal, row))
                      for row in page.rows], "next_cursor": page.next_cursor}
    return body


#: a list item's free text where the receiver has no basis left: the list loads no events, so it
#: cannot tell the school's text from the receiver's own and leaves both out (the referral shows its own)
_NO_TEXT = {"status_reason": None, "handover_present": None}


def _list_texts(principal: Principal, row) -> dict[str, str | None] | None:
    """All free text of a list item (None), or none of it for a receiver whose decision for the
    student (made for the list, audited) found no basis."""
    if side_of(principal, row.referral) == RECEIVER and not (row.decision and row.decision.allowed):
        return _NO_TEXT
    return None


@bp.route("/referrals/<int:referral_id>", methods=["GET"])
@api_require(Permission.referral_view)
@bp.response(200, ReferralDetailSchema, headers=ETAG_HEADER)
@bp.problems(NOT_FOUND)
def get_referral_detail(referral_id):
    """Eén verwijzing met het overdrachtspakket (alleen wat u nu mag zien; na intrekken van
    de toestemming: `state` withdrawn en geen gegevens) en de tijdlijn."""
    principal = api_principal()
    referral = get_referral(db.session, principal, referral_id)
    body, tag = _detail(principal, referral), etag(referral.version)
    return body, {"ETag": tag}


# -- making and sending ------------------------------------------------------------------------

def _details(given: dict[str, Any] | None) -> dict[str, Any]:
    """The loaded ``details`` as the wizard's document (:func:`referrals.signup.empty_details`)."""
    details = empty_details()
    given = given or {}
    details["reason"] = given.get("reason") or ""
    details["remarks"] = given.get("remarks") or ""
    situation = given.get("school_situation") or {}
    details["school_situation"] = {code: situation.get(code) or "" for code in SCHOOL_SITUATION}
    domains = given.get("life_domains") or {}
    details["life_domains"] = {code: {"problem": bool((domains.get(code) or {}).get("problem")),
                                      "explanation": (domains.get(code) or {}).get("explanation") or ""}
                               for code in LIFE_DOMAINS}
    details["care_workers"] = [{name: row.get(name) or "" for name in ("name", "function", "organisation", "contact")}
                               for row in given.get("care_workers") or []]
    background = given.get("background") or {}
    details["background"] = {code: background.get(code) or "" for code in BACKGROUND}
    return details


@bp.route("/referrals", methods=["POST"])
@api_require(Permission.referral_create)
@bp.doc(requestBody=body_doc(CreateReferralArgs))
@bp.response(201, ReferralDetailSchema, headers={**ETAG_HEADER, "Location": {
    "description": "De verwijzing", "schema": {"type": "string"}}})
@bp.problems(BAD_INPUT, NO_SCOPE, (404, "De leerling bestaat niet of is niet van uw school"), NOT_JSON)
def create_referral():
    """Maak een verwijzing van een leerling van uw school naar een dienst op de sociale kaart
    en verstuur haar (school). Dezelfde gegevens als de verwijswizard: doel, soort, de gegevens
    die meegaan (de ontvanger moet er een grondslag voor hebben) en het aanmeldformulier
    (`details`). Met `"send": false` blijft het een concept: af te maken in de wizard, of te
    versturen met de transitie `requested`."""
    principal = api_principal()
    require_json()
    data = load_body(CreateReferralArgs)
    if not data["send"] and data.get("response_due"):
        raise ValidationFailed(errors={"response_due": ["Een reactietermijn hoort bij versturen (send: true)."]})
    active = select(Purpose.id).where(Purpose.code == data["purpose"], Purpose.is_active.is_(True))
    if db.session.scalar(active) is None:
        raise ValidationFailed(errors={"purpose": ["Onbekend doel; kies een code uit de doelencatalogus."]})
    # the wizard's read of the student: decided and audited, 404 outside the school
    student, _decision = get_student(db.session, principal, data["student_id"], purpose="verwijzing",
                                     categories=[Category.contact, Category.education], event_type=ReferralTag.create)
    ring = keyring()
    referral = save_draft(db.session, principal, ring, student, {
        "service_id": data["service_id"], "purpose": data["purpose"], "type": data["type"],
        "categories": data["categories"], "details": _details(data.get("details"))})
    if data["send"]:
        send_referral(db.session, principal, ring, referral, response_due=data.get("response_due"),
                      base_url=base_url())
    return _answer(principal, referral, ("Location", url_for(".get_referral_detail", referral_id=referral.id)))


# -- changing ------------------------------------------------------------------------------------

def _for_write(principal: Principal, referral_id: int) -> Referral:
    """The referral (404 outside the walls), if the caller may change it from its side (the
    receiver needs ``referral_handle``, the sender ``referral_create``; else 403, for a token
    without ``referrals:write`` ``insufficient_scope``), and the body is JSON (else 415)."""
    referral = get_referral(db.session, principal, referral_id)
    needed = Permission.referral_handle if side_of(principal, referral) == RECEIVER else Permission.referral_create
    if not principal.has(needed):
        if insufficient_scope(needed, principal):
            raise_insufficient_scope(needed)
        raise Forbidden("U mag deze verwijzing niet wijzigen.")
    require_json()
    return referral


_CHANGE_PROBLEMS = (BAD_INPUT, NO_SCOPE, NOT_FOUND,
                    (409, "Kan niet in de huidige status; `allowed` noemt wat wel kan"), STALE, NOT_JSON, NO_IF_MATCH)


@bp.route("/referrals/<int:referral_id>/transitions", methods=["POST"])
@api_require_write
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(TransitionArgs))
@bp.response(200, ReferralDetailSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def transition_referral(referral_id):
    """Zet een verwijzing in een nieuwe status (accepted, rejected met reden, on-hold,
    completed met uitkomst, ...). Vereist `If-Match` met de ETag; een verboden stap is 409
    met de toegestane statussen in `allowed`. Begeleiding starten (in-progress) vraagt eerst
    de bevestigde warme overdracht. `requested` verstuurt een concept (school), met dezelfde
    controles als de verwijswizard."""
    principal = api_principal()
    referral = _for_write(principal, referral_id)
    check_if_match(referral.version, "de verwijzing")
    data = load_body(TransitionArgs)
    if data["status"] == ReferralStatus.requested:  # sending a draft: the wizard's last step
        send_referral(db.session, principal, keyring(), referral, expected_version=referral.version,
                      base_url=base_url())
    else:
        transition(db.session, principal, keyring(), referral, data["status"], reason=data.get("reason"),
                   outcome=data.get("outcome"), expected_version=referral.version, base_url=base_url())
    return _answer(principal, referral)


@bp.route("/referrals/<int:referral_id>/updates", methods=["POST"])
@api_require_write
@bp.doc(requestBody=body_doc(ReferralUpdateArgs))
@bp.response(201, EventSchema)
@bp.problems(BAD_INPUT, NO_SCOPE, NOT_FOUND, (409, "De verwijzing is als foutief gemarkeerd"), NOT_JSON)
def post_update(referral_id):
    """Zet een bericht op de tijdlijn (de andere kant ziet het en krijgt een melding), of met
    `internal` een notitie alleen voor uw eigen organisatie. Geen If-Match: een bericht voegt
    alleen toe aan de tijdlijn en verandert de verwijzing (en haar ETag) niet."""
    principal = api_principal()
    referral = _for_write(principal, referral_id)
    data = load_body(ReferralUpdateArgs)
    event = post_message(db.session, principal, keyring(), referral, data["text"], internal=data["internal"],
                         base_url=base_url())
    db.session.flush()  # the event's id for the answer
    return _event(TimelineItem(event, event_body(keyring(), event), event.reason, event.internal_to is not None))


@bp.route("/referrals/<int:referral_id>/handover", methods=["POST"])
@api_require_write
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(ReferralHandoverArgs))
@bp.response(200, ReferralDetailSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def record_handover_api(referral_id):
    """Leg de warme overdracht vast (het overdrachtsgesprek: datum en wie erbij waren), na
    acceptatie. Door de ontvanger vastgelegd is die meteen bevestigd en start de begeleiding
    (in-progress); door de school vastgelegd wacht die op de bevestiging van de ontvanger."""
    principal = api_principal()
    referral = _for_write(principal, referral_id)
    check_if_match(referral.version, "de verwijzing")
    data = load_body(ReferralHandoverArgs)
    record_handover(db.session, principal, keyring(), referral, held_on=data["held_on"], present=data["present"],
                    expected_version=referral.version, base_url=base_url())
    return _answer(principal, referral)


@bp.route("/referrals/<int:referral_id>/handover/confirmation", methods=["POST"])
@api_require_write
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(HandoverConfirmArgs, required=False))
@bp.response(200, ReferralDetailSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def confirm_handover_api(referral_id):
    """De ontvanger bevestigt de warme overdracht die de school vastlegde; de begeleiding
    start (in-progress). Body: leeg of `{}`. Alleen de ontvangende organisatie (403 voor de school)."""
    principal = api_principal()
    referral = _for_write(principal, referral_id)
    check_if_match(referral.version, "de verwijzing")
    load_body(HandoverConfirmArgs)
    confirm_handover(db.session, principal, keyring(), referral, expected_version=referral.version,
                     base_url=base_url())
    return _answer(principal, referral)


@bp.route("/referrals/<int:referral_id>/owner", methods=["POST"])
@api_require_write
@bp.doc(parameters=[if_match_doc()], requestBody=body_doc(ReferralOwnerArgs))
@bp.response(200, ReferralDetailSchema, headers=ETAG_HEADER)
@bp.problems(*_CHANGE_PROBLEMS)
def assign_owner(referral_id):
    """Wijs de verwijzing toe aan een medewerker van de ontvangende organisatie (alleen de
    ontvanger; de toewijzing is een interne gebeurtenis op de tijdlijn)."""
    principal = api_principal()
    referral = _for_write(principal, referral_id)
    check_if_match(referral.version, "de verwijzing")
    data = load_body(ReferralOwnerArgs)
    assign(db.session, principal, keyring(), referral, data["owner_account_id"], expected_version=referral.version,
           base_url=base_url())
    return _answer(principal, referral)


__all__ = ["bp", "api_require"]
