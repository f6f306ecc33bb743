"""The students API (``/api/v1/students``): a school's own students, and for a partner
organisation the students who gave it a basis (:mod:`network.student_reads`).

Every student listed or read is decided by ``consent.decide`` and audited with the caller (an
API client: ``API-client <name>``, channel ``api``) as the actor. A body holds only what the
decision allows: a field of a category without a basis is left out, a BSN is never shown in
full (masked, and only with a basis for it). A student outside the walls, or one the
organisation has no basis for, is 404. Every error is RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from network.access import Category
from network.api import NO_NUL, Blueprint, api_require_any
from network.db import db
from network.models import SchoolLevel
from network.permissions import Permission
from network.schemas import BaseSchema
from network.student_reads import Shown, list_students_for, read_student_for
from network.web import current_principal, keyring

bp = Blueprint("students_api", __name__, url_prefix="/api/v1", description="Leerlingen")

_NO_ACCESS = "U heeft geen toegang tot leerlingen via de API."

#: the fields of a student per data category (the BSN apart: masked)
CONTACT_FIELDS = ("first_name", "last_name", "date_of_birth", "email", "phone", "address", "postcode", "city",
                  "parent_name", "parent_email", "parent_phone")
EDUCATION_FIELDS = ("programme", "level", "expected_exit_date")
LIST_FIELDS = {Category.contact: ("first_name", "last_name", "date_of_birth"), Category.education: EDUCATION_FIELDS}


class StudentListArgs(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000),
                          metadata={"description": "Paginanummer (vanaf 1)."})
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                              metadata={"description": "Aantal leerlingen per pagina (1-100)."})
    q = fields.String(validate=[validate.Length(max=100), NO_NUL],
                      metadata={"description": "Alleen voor een school: zoek op woorden uit de naam."})


class StudentReadArgs(BaseSchema):
    purpose = fields.String(validate=[validate.Length(min=1, max=60), NO_NUL], metadata={
        "description": "Het doel waarvoor u leest (bijvoorbeeld `jobcoaching`). Een school leest standaard voor "
                       "`leerlingbegeleiding`; een partner zonder doel krijgt alles waarvoor zijn organisatie een "
                       "grondslag heeft."})


class StudentSchoolSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class StudentAccessSchema(Schema):
    purpose = fields.String()
    allowed = fields.List(fields.String(metadata={"enum": [c.value for c in Category]}),
                          metadata={"description": "De categorieën die u voor dit doel mag zien."})
    basis = fields.String(allow_none=True, metadata={"description": "De grondslag: `consent:<id>` of "
                                                                    "`legal_task:<code>`."})


_ONLY_WITH = "Alleen met een grondslag voor {}."


class StudentItemSchema(Schema):
    """A student in a list: name and date of birth (contact), programme (education)."""

    id = fields.UUID()
    first_name = fields.String(metadata={"description": _ONLY_WITH.format("contactgegevens")})
    last_name = fields.String(metadata={"description": _ONLY_WITH.format("contactgegevens")})
    date_of_birth = fields.Date(metadata={"description": _ONLY_WITH.format("contactgegevens")})
    school_id = fields.Integer(metadata={"description": _ONLY_WITH.format("opleidingsgegevens")})
    programme = fields.String(allow_none=True, metadata={"description": _ONLY_WITH.format("opleidingsgegevens")})
    level = fields.String(metadata={"enum": [level.value for level in SchoolLevel],
                                    "description": _ONLY_WITH.format("opleidingsgegevens")})
    expected_exit_date = fields.Date(allow_none=True, metadata={"description": _ONLY_WITH.format("opleidingsgegevens")})
    purposes = fields.List(fields.String(), metadata={"description": "De doelen waarvoor u een grondslag heeft."})


class StudentPageSchema(Schema):
    items = fields.List(fields.Nested(StudentItemSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "Het aantal leerlingen met een grondslag (alle pagina's)."})
    pages = fields.Integer()


class StudentSchema(Schema):
    """One student: only the fields of the categories the decision allows."""

    id = fields.UUID()
    school = fields.Nested(StudentSchoolSchema, metadata={"description": _ONLY_WITH.format("opleidingsgegevens")})
    first_name = fields.String()
    last_name = fields.String()
    date_of_birth = fields.Date()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    parent_name = fields.String(allow_none=True)
    parent_email = fields.String(allow_none=True)
    parent_phone = fields.String(allow_none=True)
    programme = fields.String(allow_none=True)
    level = fields.String(metadata={"enum": [level.value for level in SchoolLevel]})
    expected_exit_date = fields.Date(allow_none=True)
    bsn_masked = fields.String(allow_none=True, metadata={
        "description": "Het BSN gemaskeerd (alleen de laatste drie cijfers), alleen met een grondslag voor het BSN; "
                       "nooit volledig."})
    access = fields.List(fields.Nested(StudentAccessSchema),
                         metadata={"description": "Per doel: wat u mag zien en waarom."})


def _value(value: Any) -> Any:
    return value.value if isinstance(value, SchoolLevel) else value


def _item(shown: Shown) -> dict[str, Any]:
    body: dict[str, Any] = {"id": shown.student.id, "purposes": list(shown.purposes)}
    for category, names in LIST_FIELDS.items():
        if category in shown.allowed:
            body.update({name: _value(getattr(shown.student, name)) for name in names})
    if Category.education in shown.allowed:
        body["school_id"] = shown.student.school_id
    return body


def _detail(shown: Shown) -> dict[str, Any]:
    student = shown.student
    body: dict[str, Any] = {"id": student.id, "access": [
        {"purpose": d.purpose, "allowed": sorted(c.value for c in d.allowed), "basis": d.basis_label}
        for d in shown.decisions]}
    if Category.contact in shown.allowed:
        body.update({name: getattr(student, name) for name in CONTACT_FIELDS})
    if Category.education in shown.allowed:
        body.update({name: _value(getattr(student, name)) for name in EDUCATION_FIELDS})
        body["school"] = {"id": student.school.id, "name": student.school.name}
    if Category.bsn in shown.allowed:
        body["bsn_masked"] = student.masked_bsn(keyring())
    return body


@bp.route("/students", methods=["GET"])
@api_require_any(Permission.student_list, Permission.student_shared_view, message=_NO_ACCESS)
@bp.arguments(StudentListArgs, location="query")
@bp.response(200, StudentPageSchema)
@bp.problems((400, "Ongeldige invoer"), (401, "Niet ingelogd"), (403, "Geen toegang (of een token zonder scope "
                                                                      "`students:read`)"))
def list_students(args):
    """Leerlingen: voor een school de eigen leerlingen, voor een partner de leerlingen die zijn
    organisatie een grondslag gaven (toestemming). Op naam, met paginering (`page`, `per_page`).
    Per leerling alleen naam, geboortedatum en opleiding, en alleen met een grondslag; elke
    getoonde leerling wordt beslist en gelogd."""
    result = list_students_for(db.session, current_principal(), q=args.get("q"), page=args["page"],
                               per_page=args["per_page"])
    body = {"items": [_item(shown) for shown in result.items], "page": result.page, "per_page": result.per_page,
            "total": result.total, "pages": result.pages}
    return body


@bp.route("/students/<uuid:student_id>", methods=["GET"])
@api_require_any(Permission.student_view, Permission.student_shared_view, message=_NO_ACCESS)
@bp.arguments(StudentReadArgs, location="query")
@bp.response(200, StudentSchema)
@bp.problems((400, "Ongeldige invoer"), (401, "Niet ingelogd"),
           (403, "Geen toegang (of een token zonder scope `students:read`)"),
           (404, "Niet gevonden, of geen grondslag (meer)"))
def get_student(args, student_id):
    """Eén leerling, met alleen de gegevens waarvoor u nu een grondslag heeft (een ingetrokken
    toestemming telt vanaf het volgende verzoek). Het BSN staat er hoogstens gemaskeerd in.
    Elke inzage wordt beslist en gelogd, ook een geweigerde."""
    shown = read_student_for(db.session, current_principal(), student_id, purpose=args.get("purpose"))
    body = _detail(shown)
    return body

