"""The agreements API: one agreement with its versions (``/api/v1/agreements/{id}``), the signed
bundle of a version, a partner system signing with its organisation's registered Ed25519 key,
and the public verification (by code, or of a bundle).

A partner system calls it with an OAuth2 token of its organisation (``agreements:read`` to
read, ``agreements:sign`` to sign; network.oauth), a person with the browser session; an
anonymous call is 401. The list holds the agreements the caller's organisation is a party of
(a school: its own). The walls are the agreement's own (404), every read of its content is
decided and audited (403 when denied). A change must come as
``Content-Type: application/json`` (415 otherwise), so a cross-site form cannot post one. The
verification endpoints are public and rate-limited like ``/controle``. Every error is RFC 9457
problem+json.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from consent.agreements.access import Access, find_agreement, list_agreements, read_agreement
from consent.agreements.api_schemas import (
    AgreementListArgs,
    AgreementPageSchema,
    AgreementSchema,
    BundleSchema,
    BundleVerificationSchema,
    SignArgs,
    SignatureSchema,
    VerificationSchema,
)
from consent.agreements.documents import entry_hash, statement_for
from consent.agreements.integrity import build_bundle, previous_for
from consent.agreements.models import Agreement, AgreementSignature, AgreementVersion
from consent.agreements.overview import agreement_rows
from consent.agreements.service import content_of
from consent.agreements.sign_views import external_url
from consent.agreements.signatures import find_version, sign_with_organisation_key
from consent.agreements.verification import check_bundle, find_by_code, parse_bundle, public_report
from consent.agreements.verify_views import verify_limit
from consent.tags import AgreementTag
from network.api import NOT_JSON, Blueprint, api_require, body_doc, json_body, require_json
from network.audit import AuditAction
from network.crypto import DecryptionError
from network.db import db
from network.errors import Conflict, NotFound
from network.permissions import Permission, Principal
from network.web import current_principal, keyring

bp = Blueprint("agreements_api", __name__, url_prefix="/api/v1", description="Overeenkomsten (plannen)")

_NO_ACCESS = "U heeft geen toegang tot overeenkomsten via de API."


def _find(agreement_id: Any, number: Any = None) -> tuple[Principal, Agreement, Access, AgreementVersion | None]:
    principal = current_principal()
    agreement, access = find_agreement(db.session, principal, agreement_id)
    return principal, agreement, access, find_version(agreement, number) if number is not None else None


def _read(principal: Principal, agreement: Agreement, access: Access, **kwargs: Any) -> None:
    read_agreement(db.session, principal, agreement, access, **kwargs)


def _signature(row: AgreementSignature, agreement: Agreement) -> dict[str, Any]:
    stmt = statement_for(row, agreement.id, row.version.number, row.version_hash)
    return {"party": row.party_key, "role": row.role, "declined": row.declined, "decline_reason": row.decline_reason,
            "signer_name": row.signer_name, "signer_organisation": row.signer_organisation,
            "on_behalf_of": row.on_behalf_of, "method": row.method.value, "signed_at": row.signed_at,
            "version_hash": row.version_hash, "kid": row.kid, "signature": row.signature, "previous": row.previous,
            "hash": None if row.declined else entry_hash(stmt, row.kid, row.signature)}


def _version(version: AgreementVersion, agreement: Agreement) -> dict[str, Any]:
    return {"number": version.number, "status": version.status.value, "hash": version.content_hash,
            "signing_order": version.signing_order.value, "offered_at": version.offered_at,
            "activated_at": version.activated_at,
            "parties": [{"key": p.key, "kind": p.kind.value, "organisation_id": p.organisation_id, "name": p.name,
                         "role": p.role, "purpose": p.purpose, "contact": p.contact, "commitment": p.commitment,
                         "signs": p.signs, "position": p.position} for p in version.parties],
            "signatures": [_signature(s, agreement) for s in version.signatures],
            "previous": previous_for(agreement, version)}


@bp.route("/agreements", methods=["GET"])
@api_require(Permission.agreement_view, _NO_ACCESS)
@bp.arguments(AgreementListArgs, location="query")
@bp.response(200, AgreementPageSchema)
@bp.problems((400, "Ongeldige invoer"), (401, "Niet ingelogd"),
           (403, "Geen toegang (of een token zonder scope `agreements:read`)"))
def list_agreements_api(args):
    """De overeenkomsten (plannen en privacyafspraken) waarvan uw organisatie een partij is, of
    voor een school die van de eigen leerlingen; laatst gewijzigd eerst, met paginering (`page`,
    `per_page`; `next_page` is leeg op de laatste pagina). Zonder inhoud; de naam van de leerling
    alleen met een grondslag (beslist en gelogd)."""
    principal = current_principal()
    page, per_page = args["page"], args["per_page"]
    found = list_agreements(db.session, principal, limit=per_page + 1, offset=(page - 1) * per_page)
    rows = agreement_rows(db.session, principal, found[:per_page])
    body = {"items": [{"id": row.agreement.id, "kind": row.agreement.kind.value, "title": row.agreement.title,
                       "status": row.agreement.status.value, "student_id": row.agreement.student_id,
                       "student_name": row.student_name, "updated_at": row.agreement.updated_at,
                       "latest_version": {"number": row.latest.number, "status": row.latest.status.value,
                                          "hash": row.latest.content_hash},
                       "awaiting_your_signature": row.to_sign} for row in rows],
            "page": page, "per_page": per_page, "next_page": page + 1 if len(found) > per_page else None}
    return body


@bp.route("/agreements/<uuid:agreement_id>", methods=["GET"])
@api_require(Permission.agreement_view, _NO_ACCESS)
@bp.response(200, AgreementSchema)
@bp.problems((401, "Niet ingelogd"), (403, "Geen grondslag om de overeenkomst in te zien"),
           (404, "Niet gevonden (of geen toegang)"))
def get_agreement(agreement_id):
    """Een overeenkomst (plan of privacyafspraken) met alle versies, hun status, hash, partijen
    en handtekeningen, en de inhoud van de nieuwste aangeboden versie. Elke inzage wordt
    beslist (toestemming of wettelijke taak) en gelogd."""
    principal, agreement, access, _none = _find(agreement_id)
    _read(principal, agreement, access, event_type=AgreementTag.view)
    offered = next((v for v in reversed(agreement.versions) if v.content_hash is not None), None)
    content = None
    if offered is not None:
        try:
            content = content_of(keyring(), offered)
        except (DecryptionError, ValueError):
            content = None
    body = {"id": agreement.id, "kind": agreement.kind.value, "title": agreement.title,
            "status": agreement.status.value, "verify_code": agreement.verify_code,
            "verify_url": external_url("agreement_verify.public", code=agreement.verify_code),
            "versions": [_version(v, agreement) for v in agreement.versions],
            "content_version": offered.number if offered is not None else None, "content": content}
    return body


@bp.route("/agreements/<uuid:agreement_id>/versions/<int:number>/bundle", methods=["GET"])
@api_require(Permission.agreement_view, _NO_ACCESS)
@bp.response(200, BundleSchema)
@bp.problems((401, "Niet ingelogd"), (403, "Geen grondslag om de overeenkomst in te zien"),
           (404, "Niet gevonden (of geen toegang)"),
           (409, "Deze versie is nog niet aangeboden, of de inhoud is beschadigd"))
def get_bundle(agreement_id, number):
    """De ondertekende bundel van een aangeboden versie: het canonieke document, de hash en
    de handtekeningen met hun verklaringen; te controleren met alleen `/.well-known/jwks.json`."""
    principal, agreement, access, version = _find(agreement_id, number)
    if version.content_hash is None:  # nothing to export: decided (and audited) as a view
        _read(principal, agreement, access)
        raise Conflict("Deze versie is nog niet ter ondertekening aangeboden; er is nog niets te controleren.")
    _read(principal, agreement, access, event_type=AgreementTag.bundle, action=AuditAction.export)
    try:
        body = build_bundle(keyring(), agreement, version, jwks_url=external_url("main.jwks"),
                            verify_url=external_url("agreement_verify.public", code=agreement.verify_code))
    except (DecryptionError, ValueError):
        raise Conflict("De inhoud van deze versie is beschadigd of buiten Schakel gewijzigd.") from None
    return body


@bp.route("/agreements/<uuid:agreement_id>/versions/<int:number>/signatures", methods=["POST"])
@api_require(Permission.agreement_sign, _NO_ACCESS)
@bp.doc(requestBody=body_doc(SignArgs))
@bp.response(201, SignatureSchema)
@bp.problems((400, "Ongeldige invoer: onbekende of ingetrokken sleutel (`kid`), een handtekening die niet klopt "
                 "(`signature`), een tijdstip te ver van nu (`signed_at`)"),
           (401, "Niet ingelogd"), (403, "U kunt niet namens deze partij ondertekenen"),
           (404, "Overeenkomst, versie of partij niet gevonden"),
           (409, "Deze versie wacht niet (meer) op handtekeningen, of deze partij tekende al"), NOT_JSON)
def sign_version_with_key(agreement_id, number):
    """Onderteken een versie namens uw organisatie met haar eigen geregistreerde Ed25519-sleutel.
    Stuur de handtekening over de verklaring `{agreement, version, version_hash, party, role,
    signer: {name, organisation, on_behalf_of: null}, time, method: "organisation-key",
    previous}` in RFC 8785-JSON (zie de README). `previous` is de lijst `previous` van de versie
    zoals `GET /agreements/{id}` die nu geeft: de handtekeningen die er al op staan, zodat geen
    ervan later ongemerkt kan verdwijnen. Een verklaring zonder `previous` (de vorm van voor
    issue 18) wordt nog aanvaard. De hub controleert de handtekening voor hij haar bewaart."""
    principal, agreement, access, version = _find(agreement_id, number)
    # whatever the answer, it is about this student's agreement: decided (and audited) first,
    # on its own, so a refusal below keeps it; signing decides again, as the change it is
    _read(principal, agreement, access)
    data = json_body(SignArgs)
    if all(p.key != data["party"] for p in version.parties):
        raise NotFound("Deze partij staat niet in deze versie.")
    row = sign_with_organisation_key(db.session, principal, keyring(), agreement, access, number, data["party"],
                                     signer_name=data["signer_name"], signed_at=data["signed_at"],
                                     kid=data["kid"], signature=data["signature"],
                                     base_url=current_app.config["BASE_URL"])
    return _signature(row, agreement)


@bp.route("/agreement-verifications/<code>", methods=["GET"])
@verify_limit
@bp.response(200, VerificationSchema)
@bp.problems((404, "Onbekende controlecode"), (429, "Te veel verzoeken"))
def get_verification(code):
    """Openbaar: controleer een overeenkomst met haar controlecode (van de afdruk of QR-code).
    Per aangeboden versie de status, de hash en per handtekening de rol, wie tekende (een
    organisatie, of `leerling` / `wettelijk vertegenwoordiger`), het tijdstip, de sleutel en of
    zij klopt. Geen namen, geen inhoud."""
    report = public_report(db.session, keyring(), find_by_code(db.session, code))
    return {"code": report.code, "kind": report.kind, "valid": report.valid,
            "versions": [{"number": v.number, "status": v.status, "hash": v.hash, "valid": v.valid,
                          "complete": v.complete, "problems": v.problems, "missing": v.missing,
                          "signatures": [vars(s) for s in v.signatures]} for v in report.versions]}


@bp.route("/agreement-bundles/verify", methods=["POST"])
@verify_limit
@bp.doc(requestBody=body_doc(BundleSchema))
@bp.response(200, BundleVerificationSchema)
@bp.problems((400, "Geen bundel van Schakel (het antwoord noemt wat er mis is)"), NOT_JSON,
           (429, "Te veel verzoeken"))
def verify_bundle_upload():
    """Openbaar: controleer een ondertekende bundel met alleen de gepubliceerde sleutels. Het
    antwoord zegt of de inhoud bij de hash past, welke handtekeningen kloppen, wie nog
    ontbreekt, en of er een handtekening uit de bundel (of uit Schakel) verdwenen is: volgens
    een latere handtekening, het zegel van de bundel of het logboek van Schakel. Zo'n bundel is
    niet geldig (`valid: false`), met de reden in `problems`."""
    require_json()
    check = check_bundle(db.session, keyring(), parse_bundle(request.get_data()))
    report = check.report
    return {"valid": report.ok, "complete": report.complete, "hash": report.hash, "problems": report.problems,
            "signatures": [{"party": s.party, "role": s.role, "kid": s.kid, "valid": s.ok, "problem": s.problem}
                           for s in report.signatures],
            "missing": [str(key) for key in report.missing], "vanished": [v.party for v in report.vanished],
            "seal": report.seal, "later": report.later, "note": check.note}
