"""The consents API: a student's consents and one consent (``/api/v1/students/{id}/consents``,
``/api/v1/consents/{id}``), recording a consent given in person or on paper, and recording a
withdrawal the student told the school.

What each caller sees is what its HTML pages show (:mod:`consent.reads`): school staff all
consents of their own school's students (the student read decided and audited), a partner the
consents given to its organisation, withdrawn and expired ones included, each read audited.
Recording is for the student's school (``consent_record``), through the same service as the
staff form (:func:`consent.service.grant_consent`): the current text version, the channel, and
the recorder (``API-client <name>``) are the evidence. Students withdraw themselves in the
portal; the school can record a withdrawal it was told, as on its page. Writes come as
``application/json`` (415 otherwise); every error is RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from consent.api_schemas import ConsentListSchema, ConsentRecordArgs, ConsentSchema
from consent.models import Consent
from consent.reads import find_consent, staff_student, student_consents
from consent.service import CONSENT_TEXT_VERSION, grant_consent, withdraw_consent
from consent.tags import ConsentTag
from network.api import NOT_JSON, Blueprint, api_require, api_require_any, body_doc, json_body
from network.db import db
from network.errors import ValidationFailed
from network.permissions import Permission, Principal
from network.schemas import BaseSchema
from network.web import current_principal, keyring

bp = Blueprint("consents_api", __name__, url_prefix="/api/v1", description="Toestemmingen")

_NO_ACCESS = "U heeft geen toegang tot toestemmingen via de API."


def _policy_url() -> str:
    return current_app.config.get("BASE_URL", "").rstrip("/") + "/mijn-gegevens/toestemmingen"


def _body(principal: Principal, consent: Consent) -> dict[str, Any]:
    body = {"id": consent.id, "student_id": consent.student_id,
            "recipient": {"id": consent.recipient.id, "name": consent.recipient.name},
            "purpose": {"code": consent.purpose.code, "label": consent.purpose.label},
            "categories": [{"category": item.category, "explicit": item.explicit} for item in consent.items],
            "status": consent.status.value, "valid_from": consent.valid_from, "valid_until": consent.valid_until,
            "given_by": consent.given_by.value, "channel": consent.channel.value,
            "text_version": consent.text_version, "text_hash": consent.text_hash,
            "recorded_by": consent.recorded_by_name, "given_at": consent.given_at,
            "withdrawn_at": consent.withdrawn_at, "expired_at": consent.expired_at}
    if principal.is_school_staff:  # the representative's name is for the school that recorded it
        body["representative_name"] = consent.representative_name
        body["representative_relation"] = consent.representative_relation.value \
            if consent.representative_relation else None
    return body


@bp.route("/students/<uuid:student_id>/consents", methods=["GET"])
@api_require_any(Permission.consent_view, Permission.consent_shared_view, message=_NO_ACCESS)
@bp.response(200, ConsentListSchema)
@bp.problems((401, "Niet ingelogd"), (403, "Geen toegang (of een token zonder scope `consents:read`)"),
           (404, "Niet gevonden (of geen toegang)"))
def list_student_consents(student_id):
    """De toestemmingen van een leerling, nieuwste eerst: voor de school van de leerling alle,
    voor een partner die aan zijn eigen organisatie (ook ingetrokken en verlopen). Elke inzage
    wordt gelogd."""
    principal = current_principal()
    consents = student_consents(db.session, principal, student_id)
    body = {"items": [_body(principal, c) for c in consents]}
    return body


@bp.route("/consents/<int:consent_id>", methods=["GET"])
@api_require_any(Permission.consent_view, Permission.consent_shared_view, message=_NO_ACCESS)
@bp.response(200, ConsentSchema)
@bp.problems((401, "Niet ingelogd"), (403, "Geen toegang (of een token zonder scope `consents:read`)"),
           (404, "Niet gevonden (of geen toegang)"))
def get_consent(consent_id):
    """Eén toestemming (bijvoorbeeld na de webhook "toestemming ingetrokken": `status` is dan
    `withdrawn`). Voor de school van de leerling en voor de organisatie die haar kreeg."""
    principal = current_principal()
    consent = find_consent(db.session, principal, consent_id)
    body = _body(principal, consent)
    return body


@bp.route("/students/<uuid:student_id>/consents", methods=["POST"])
@api_require(Permission.consent_record, _NO_ACCESS)
@bp.doc(requestBody=body_doc(ConsentRecordArgs))
@bp.response(201, ConsentSchema, headers={"Location": {"description": "De nieuwe toestemming",
                                                       "schema": {"type": "string"}}})
@bp.problems((400, "Ongeldige invoer (per veld), of een andere tekstversie dan de huidige"), (401, "Niet ingelogd"),
           (403, "Geen toegang (alleen de school van de leerling legt toestemming vast)"),
           (404, "Niet gevonden (of geen toegang)"), NOT_JSON)
def record_consent(student_id):
    """Leg een toestemming vast die de leerling (of onder de 16 de wettelijk vertegenwoordiger)
    persoonlijk of op papier gaf, zoals de school dat op haar pagina doet. Bewaard worden de
    versie en de hash van de precieze tekst, het kanaal en wie het vastlegde (deze client); de
    leerling krijgt een ondertekend ontvangstbewijs."""
    principal = current_principal()
    student = staff_student(db.session, principal, student_id, event_type=ConsentTag.record_form)
    data = json_body(ConsentRecordArgs())
    if data.pop("text_version", None) not in (None, CONSENT_TEXT_VERSION):
        raise ValidationFailed(errors={"text_version": [
            f"De huidige tekstversie is {CONSENT_TEXT_VERSION}; toon de leerling die tekst en stuur haar versie."]})
    consent = grant_consent(db.session, principal, keyring(), student, data, policy_url=_policy_url())
    body = _body(principal, consent)
    return body, 201, {"Location": f"/api/v1/consents/{consent.id}"}


@bp.route("/consents/<int:consent_id>/withdrawal", methods=["POST"])
@api_require(Permission.consent_record, _NO_ACCESS)
@bp.doc(requestBody=body_doc({"type": "object", "additionalProperties": False},
                             description="Een leeg JSON-object `{}`."))
@bp.response(200, ConsentSchema)
@bp.problems((400, "Ongeldige invoer"), (401, "Niet ingelogd"),
           (403, "Geen toegang (alleen de school van de leerling)"), (404, "Niet gevonden (of geen toegang)"),
           (409, "Deze toestemming is al ingetrokken of verlopen"), NOT_JSON)
def withdraw(consent_id):
    """Leg vast dat de leerling (of de ouder) de toestemming bij de school introk, zoals de
    school dat op haar pagina doet. Vanaf het volgende verzoek geldt zij nergens meer; de
    ontvanger krijgt bericht."""
    principal = current_principal()
    consent = find_consent(db.session, principal, consent_id, event_type=ConsentTag.withdraw_form)
    json_body(BaseSchema())  # no fields: anything sent is refused
    withdraw_consent(db.session, principal, keyring(), consent, policy_url=_policy_url())
    body = _body(principal, consent)
    return body
