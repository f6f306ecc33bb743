"""Schemas of the agreements API (``/api/v1/agreements``, ``/api/v1/agreement-verifications``,
``/api/v1/agreement-bundles``): ``SignArgs`` loads (unknown fields refused), the others dump
plain dicts the views build from what the caller may see."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from consent.agreements.models import AgreementKind, AgreementStatus, SignatureMethod, SigningOrder, VersionStatus
from network.schemas import BaseSchema

_TIME = "Geef het tijdstip in RFC 3339 met tijdzone, in UTC, bijvoorbeeld 2026-12-04T10:15:00Z."


class SignArgs(BaseSchema):
    """The body of ``POST /agreements/{id}/versions/{number}/signatures``: a partner system's
    Ed25519 signature over the statement of this version (its shape: README, "Verifying a signed
    agreement"; ``method`` is ``organisation-key``, ``signer.on_behalf_of`` null)."""

    party = fields.String(required=True, validate=validate.Length(min=1, max=40),
                          metadata={"description": "De sleutel van de partij, bijvoorbeeld `org-12`."})
    signer_name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                                metadata={"description": "Wie namens de organisatie ondertekent."})
    signed_at = fields.AwareDateTime(required=True, error_messages={"invalid": _TIME, "invalid_awareness": _TIME},
                                     metadata={"description": "Het tijdstip in de verklaring (UTC, hele seconden); "
                                                              "hoogstens 5 minuten van nu."})
    kid = fields.String(required=True, validate=validate.Length(min=1, max=80),
                        metadata={"description": "De sleutel-id van de geregistreerde sleutel van uw organisatie."})
    signature = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"description": "Ed25519-handtekening (base64url) over de RFC 8785-JSON "
                                                       "van de verklaring."})


class AgreementListArgs(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000),
                          metadata={"description": "Paginanummer (vanaf 1)."})
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                              metadata={"description": "Aantal overeenkomsten per pagina (1-100)."})


class LatestVersionSchema(Schema):
    number = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in VersionStatus]})
    hash = fields.String(allow_none=True)


class AgreementItemSchema(Schema):
    id = fields.UUID()
    kind = fields.String(metadata={"enum": [k.value for k in AgreementKind]})
    title = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in AgreementStatus]})
    student_id = fields.UUID()
    student_name = fields.String(allow_none=True, metadata={"description": "Alleen met een grondslag voor "
                                                                          "contactgegevens."})
    updated_at = fields.DateTime()
    latest_version = fields.Nested(LatestVersionSchema)
    awaiting_your_signature = fields.Boolean(metadata={
        "description": "Uw organisatie kan nu (een partij van) de nieuwste versie ondertekenen."})


class AgreementPageSchema(Schema):
    items = fields.List(fields.Nested(AgreementItemSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    next_page = fields.Integer(allow_none=True, metadata={"description": "Leeg op de laatste pagina."})


class PartySchema(Schema):
    key = fields.String()
    kind = fields.String(metadata={"enum": ["student", "organisation"]})
    organisation_id = fields.Integer(allow_none=True)
    name = fields.String()
    role = fields.String()
    purpose = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    commitment = fields.String(metadata={"description": "De eigen toezegging van de partij (ondertekend)."})
    signs = fields.Boolean()
    position = fields.Integer()


class SignatureSchema(Schema):
    party = fields.String()
    role = fields.String()
    declined = fields.Boolean()
    decline_reason = fields.String(allow_none=True)
    signer_name = fields.String()
    signer_organisation = fields.String(allow_none=True)
    on_behalf_of = fields.String(allow_none=True, metadata={"description": "Bij een wettelijk vertegenwoordiger."})
    method = fields.String(metadata={"enum": [m.value for m in SignatureMethod]})
    signed_at = fields.DateTime()
    version_hash = fields.String()
    kid = fields.String(allow_none=True)
    signature = fields.String(allow_none=True)
    previous = fields.List(fields.Dict(), allow_none=True, metadata={
        "description": "De handtekeningen die al op de versie stonden toen deze werd gezet, zoals de verklaring ze "
                       "noemt (`{party, hash}`); leeg bij een weigering en bij een handtekening van voor issue 18."})
    hash = fields.String(allow_none=True, metadata={
        "description": "SHA-256 van de RFC 8785-JSON van `{statement, kid, signature}`: zo noemt een latere "
                       "handtekening (en het zegel van een bundel) deze. Leeg bij een weigering."})


class ChainLinkSchema(Schema):
    party = fields.String()
    hash = fields.String()


class VersionSchema(Schema):
    number = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in VersionStatus]})
    hash = fields.String(allow_none=True, metadata={"description": "SHA-256 van het canonieke versiedocument; "
                                                                   "leeg zolang de versie een concept is."})
    signing_order = fields.String(metadata={"enum": [o.value for o in SigningOrder]})
    offered_at = fields.DateTime(allow_none=True)
    activated_at = fields.DateTime(allow_none=True)
    parties = fields.List(fields.Nested(PartySchema))
    signatures = fields.List(fields.Nested(SignatureSchema))
    previous = fields.List(fields.Nested(ChainLinkSchema), metadata={
        "description": "Wat de volgende handtekening in haar verklaring als `previous` noemt: de handtekeningen "
                       "die er nu op staan, in volgorde."})


class AgreementSchema(Schema):
    id = fields.UUID()
    kind = fields.String(metadata={"enum": [k.value for k in AgreementKind]})
    title = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in AgreementStatus]})
    verify_code = fields.String()
    verify_url = fields.String()
    versions = fields.List(fields.Nested(VersionSchema))
    content_version = fields.Integer(allow_none=True, metadata={
        "description": "De nieuwste aangeboden versie, waarvan `content` de inhoud is."})
    content = fields.Dict(allow_none=True, metadata={
        "description": "De inhoud van die versie; leeg als er nog niets is aangeboden of de inhoud beschadigd is."})


class BundleEntrySchema(Schema):
    statement = fields.Dict(metadata={"description": "De ondertekende verklaring."})
    kid = fields.String(allow_none=True)
    signature = fields.String(allow_none=True)


class SealSchema(Schema):
    statement = fields.Dict(metadata={"description": "`{format: schakel-bundle-seal/1, agreement, version, "
                                                     "version_hash, signatures: [{party, hash}], time}`"})
    kid = fields.String()
    signature = fields.String()


class BundleSchema(Schema):
    """A signed bundle (``schakel-agreement-bundle/1``), checkable with only the JWK Set."""

    format = fields.String()
    document = fields.Dict()
    hash = fields.String()
    hash_algorithm = fields.String()
    signature_algorithm = fields.String()
    status = fields.String()
    signatures = fields.List(fields.Nested(BundleEntrySchema))
    seal = fields.Nested(SealSchema, metadata={
        "description": "Het zegel van Schakel: welke handtekeningen de bundel had toen Schakel hem maakte."})
    jwks = fields.String()
    verify = fields.String(allow_none=True)


class PublicSignatureSchema(Schema):
    party = fields.String()
    role = fields.String()
    signed_by = fields.String(metadata={
        "description": "De organisatie, of `leerling` / `wettelijk vertegenwoordiger`."})
    time = fields.String()
    kid = fields.String(allow_none=True)
    valid = fields.Boolean()
    problem = fields.String(allow_none=True)


class PublicVersionSchema(Schema):
    number = fields.Integer()
    status = fields.String(allow_none=True, metadata={
        "enum": [s.value for s in VersionStatus],
        "description": "Leeg voor een versie die volgens het logboek bestond en uit Schakel verwijderd is."})
    hash = fields.String(allow_none=True)
    valid = fields.Boolean()
    complete = fields.Boolean(metadata={"description": "Geldig en door alle partijen ondertekend."})
    problems = fields.List(fields.String())
    signatures = fields.List(fields.Nested(PublicSignatureSchema))
    missing = fields.List(fields.String())


class VerificationSchema(Schema):
    """The public verification of an agreement: no names, no content."""

    code = fields.String()
    kind = fields.String(metadata={"enum": [k.value for k in AgreementKind]})
    valid = fields.Boolean()
    versions = fields.List(fields.Nested(PublicVersionSchema))


class BundleSignatureCheckSchema(Schema):
    party = fields.String()
    role = fields.String()
    kid = fields.String(allow_none=True)
    valid = fields.Boolean()
    problem = fields.String(allow_none=True)


class BundleVerificationSchema(Schema):
    valid = fields.Boolean(metadata={"description": "De inhoud past bij de hash, elke handtekening klopt en er is geen "
                                                   "handtekening verdwenen."})
    complete = fields.Boolean(metadata={"description": "Geldig en door alle partijen ondertekend."})
    hash = fields.String(allow_none=True)
    problems = fields.List(fields.String(), metadata={"description": "Waarom de bundel niet geldig is, in woorden."})
    signatures = fields.List(fields.Nested(BundleSignatureCheckSchema))
    missing = fields.List(fields.String(), metadata={"description": "Partijen (sleutels) zonder geldige handtekening."})
    vanished = fields.List(fields.String(), metadata={
        "description": "Partijen (sleutels) van wie een handtekening bestond die er niet meer is: een latere "
                       "handtekening, het zegel of het logboek van Schakel noemt haar."})
    seal = fields.String(metadata={"enum": ["none", "valid", "invalid"], "description": (
        "Het zegel van Schakel: `none` bij een bundel van voor het zegel (of zonder), anders of het klopt.")})
    later = fields.List(fields.String(), metadata={
        "description": "Partijen (sleutels) die na het maken van de bundel in Schakel tekenden (geen fout)."})
    note = fields.String(allow_none=True, metadata={"description": "Die nieuwere handtekeningen in woorden."})
