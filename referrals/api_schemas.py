"""Schemas of the referral API (``/api/v1/referrals``): ``XxxArgs`` load (unknown fields are
refused), ``XxxSchema`` dump a whitelist of fields. The views hand them plain dicts built from
what the viewer may see (the student's name only with a basis for contact data; the packet
only through :func:`referrals.packet.read_packet`)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from network.schemas import BaseSchema
from referrals.exit_models import Destination, WayOut
from referrals.followup_models import ContactMethod
from referrals.models import RoutePhase, RouteStatus, Situation
from referrals.route_service import CHECK_IN_MONTHS
from referrals.signup import BACKGROUND, LIFE_DOMAINS, SCHOOL_SITUATION, SHAREABLE
from referrals.states import Outcome, ReferralStatus, ReferralType

STATUSES = [s.value for s in ReferralStatus]


def one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices), error="Kies een van: {choices}.")


class ApiArgs(BaseSchema):
    """A request body of the API: unknown fields are refused (400), in Dutch."""

    error_messages = {"unknown": "Onbekend veld.", "type": "Stuur een JSON-object."}


def _text(max_length: int, description: str | None = None) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_length),
                         metadata={"description": description} if description else {})


class LifeDomainArgs(ApiArgs):
    problem = fields.Boolean(load_default=False)
    explanation = _text(2000)


class CareWorkerArgs(ApiArgs):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    function = _text(200)
    organisation = _text(200)
    contact = _text(200)


SchoolSituationArgs = ApiArgs.from_dict({code: _text(2000) for code in SCHOOL_SITUATION}, name="SchoolSituationArgs")
BackgroundArgs = ApiArgs.from_dict({code: _text(2000) for code in BACKGROUND}, name="BackgroundArgs")


class ReferralDetailsArgs(ApiArgs):
    """The sign-up form (aanmeldformulier) as the wizard's ``details`` document."""

    reason = _text(4000, "De reden van de verwijzing; nodig om te versturen.")
    remarks = _text(4000)
    school_situation = fields.Nested(SchoolSituationArgs, allow_none=True)
    life_domains = fields.Dict(keys=fields.String(validate=one_of(list(LIFE_DOMAINS))),
                               values=fields.Nested(LifeDomainArgs), allow_none=True,
                               metadata={"description": "Per leefgebied: is er een probleem, met toelichting."})
    care_workers = fields.List(fields.Nested(CareWorkerArgs), allow_none=True, validate=validate.Length(max=10))
    background = fields.Nested(BackgroundArgs, allow_none=True)


class CreateReferralArgs(ApiArgs):
    """The body of ``POST /referrals``: what the wizard's draft takes, then (by default) send."""

    student_id = fields.UUID(required=True, metadata={"description": "Een leerling van uw school."})
    service_id = fields.Integer(required=True, metadata={"description": "De dienst op de sociale kaart."})
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=60),
                            metadata={"description": "Het doel (code uit de doelencatalogus, bv. `jobcoaching`)."})
    type = fields.String(load_default=ReferralType.transitieroute.value,
                         validate=one_of([t.value for t in ReferralType]))
    categories = fields.List(fields.String(validate=one_of([c.value for c in SHAREABLE])),
                             load_default=list, metadata={"description": "De gegevens die meegaan; de ontvanger "
                                                                         "moet er een grondslag voor hebben."})
    details = fields.Nested(ReferralDetailsArgs, load_default=None)
    response_due = fields.Date(allow_none=True, metadata={"description": "Een latere reactietermijn dan die van "
                                                                         "de dienst (alleen bij versturen)."})
    send = fields.Boolean(load_default=True, metadata={"description": "false: alleen een concept maken."})


class ReferralUpdateArgs(ApiArgs):
    """The body of ``POST /referrals/{id}/updates``."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    internal = fields.Boolean(load_default=False, metadata={
        "description": "true: een interne notitie, alleen zichtbaar voor uw eigen organisatie."})


class ReferralHandoverArgs(ApiArgs):
    """The body of ``POST /referrals/{id}/handover``."""

    held_on = fields.Date(required=True, metadata={"description": "De dag van het overdrachtsgesprek."})
    present = fields.String(required=True, validate=validate.Length(max=500),
                            metadata={"description": "Wie er bij het gesprek waren."})


class HandoverConfirmArgs(ApiArgs):
    """The body of ``POST /referrals/{id}/handover/confirmation``: empty (``{}``)."""


class ReferralOwnerArgs(ApiArgs):
    """The body of ``POST /referrals/{id}/owner``."""

    owner_account_id = fields.Integer(required=True, metadata={
        "description": "Het account van een medewerker van uw organisatie (partner)."})


class ReferralListArgs(BaseSchema):
    cursor = fields.String(validate=validate.Length(max=200),
                           metadata={"description": "De `next_cursor` van de vorige pagina."})
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                           metadata={"description": "Aantal verwijzingen per pagina (1-100)."})
    status = fields.String(validate=one_of(["open", *STATUSES]),
                           metadata={"description": "Alleen deze status, of `open` voor alles wat nog loopt."})


class TransitionArgs(ApiArgs):
    """The body of ``POST /referrals/{id}/transitions``."""

    status = fields.String(required=True, validate=one_of(STATUSES),
                           metadata={"description": "De nieuwe status (HL7 Gravity)."})
    reason = fields.String(allow_none=True, validate=validate.Length(max=500),
                           metadata={"description": "Verplicht voor rejected, cancelled, on-hold, failed en "
                                                    "entered-in-error."})
    outcome = fields.String(allow_none=True, validate=one_of([o.value for o in Outcome]),
                            metadata={"description": "Verplicht voor completed."})


class NamedSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class HandoverSchema(Schema):
    held_on = fields.Date(allow_none=True)
    present = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)


class PlanRefSchema(Schema):
    agreement_id = fields.String()
    version = fields.Integer()


class ReferralSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"enum": STATUSES})
    status_reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"enum": [o.value for o in Outcome]})
    type = fields.String()
    purpose = fields.String()
    version = fields.Integer(metadata={"description": "Rijversie; ook de ETag (`W/\"<versie>\"`)."})
    student_name = fields.String(allow_none=True,
                                 metadata={"description": "Alleen met een grondslag voor contactgegevens."})
    service = fields.Nested(NamedSchema)
    from_organisation = fields.Nested(NamedSchema)
    from_name = fields.String()
    to_organisation = fields.Nested(NamedSchema)
    owner = fields.Nested(NamedSchema, allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    response_due = fields.Date(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    handover = fields.Nested(HandoverSchema)
    at_exit = fields.Boolean(metadata={"description": "De warme overdracht bij uitstroom van het traject."})
    plan = fields.Nested(PlanRefSchema, allow_none=True,
                         metadata={"description": "De ondertekende planversie die de overdracht bij uitstroom "
                                                  "meekreeg (alleen een verwijzing)."})
    allowed_transitions = fields.List(fields.String(), metadata={"description": "Wat u nu mag."})


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Leeg op de laatste pagina."})


class PacketSchema(Schema):
    state = fields.String(metadata={"enum": ["open", "withdrawn", "denied", "none"],
                                    "description": "withdrawn: toestemming ingetrokken of verlopen, geen gegevens"})
    shared_categories = fields.List(fields.String())
    visible_categories = fields.List(fields.String())
    content = fields.Dict(allow_none=True, metadata={"description": "Alleen in state open: per categorie."})
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)


class EventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    body = fields.String(allow_none=True)
    internal = fields.Boolean(metadata={"description": "Interne notitie: alleen voor uw organisatie."})
    withheld = fields.Boolean(metadata={
        "description": "De tekst van de school (reden, bericht) is weggelaten: u heeft geen grondslag meer voor de "
                       "gegevens van de leerling. Uw eigen teksten blijven zichtbaar."})
    actor_name = fields.String()
    actor_organisation = fields.String(allow_none=True)


class ReferralDetailSchema(ReferralSchema):
    packet = fields.Nested(PacketSchema)
    events = fields.List(fields.Nested(EventSchema))
    school_text_withheld = fields.String(allow_none=True, metadata={
        "description": "Waarom de vrije tekst van de school ontbreekt (geen grondslag meer, bijvoorbeeld na het "
                       "intrekken van de toestemming); null als u alles ziet."})


# -- routes and check-ins (referrals/route_api.py) ----------------------------------------------

ROUTE_STATUSES = [s.value for s in RouteStatus]
PHASES = [p.value for p in RoutePhase]


class RouteListArgs(BaseSchema):
    status = fields.String(validate=one_of(ROUTE_STATUSES), metadata={"description": "Alleen deze status."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                              metadata={"description": "Aantal trajecten per pagina (1-100)."})


class PhaseDatesArgs(ApiArgs):
    planned_date = fields.Date(allow_none=True)
    reached_date = fields.Date(allow_none=True, metadata={"description": "Niet in de toekomst."})


class PatchRouteArgs(ApiArgs):
    """The body of ``PATCH /routes/{id}``: only the fields sent change."""

    phase = fields.String(validate=one_of(PHASES), metadata={
        "description": "De huidige fase; zonder bereikte datum krijgt die fase vandaag."})
    responsible_account_id = fields.Integer(metadata={"description": "Een medewerker van de school."})
    expected_exit_date = fields.Date()
    doelgroepregister_open = fields.Boolean(metadata={
        "description": "Er loopt een aanvraag voor het doelgroepregister (banenafspraak) als stap van het traject; "
                       "zolang dit aan staat dekt de wettelijke taak van UWV de leerling."})
    phases = fields.Dict(keys=fields.String(validate=one_of(PHASES)), values=fields.Nested(PhaseDatesArgs),
                         metadata={"description": "Per fase de geplande en bereikte datum (null wist)."})


class RouteExitArgs(ApiArgs):
    exit_date = fields.Date(required=True, metadata={"description": "De dag waarop de leerling de school verliet."})
    startkwalificatie = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "Verliet de leerling de school met een startkwalificatie (mbo 2 of hoger, havo, vwo)? "
                       "null: onbekend. Zonder (bekende) startkwalificatie dekt de wettelijke taak van het RMC de "
                       "jongere tot 23 jaar."})
    # the structured exit (issue 20): with a way out and a destination the exit is recorded as the
    # exit page records it; without them only the date and the startkwalificatie
    way_out = fields.String(load_default=None, allow_none=True, validate=one_of([w.value for w in WayOut]),
                            metadata={"description": "Hoe de leerling de school verliet (tussentijds: met reason)."})
    destination = fields.String(load_default=None, allow_none=True,
                                validate=one_of([d.value for d in Destination]),
                                metadata={"description": "Waar de leerling na school heen gaat."})
    reason = _text(500, "De reden van een tussentijdse uitstroom.")
    certificates = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=None,
                               allow_none=True, validate=validate.Length(max=20),
                               metadata={"description": "Behaalde certificaten, zoals VCA of heftruck."})
    next_school = _text(200, "De school van een vervolgopleiding of BBL.")
    retourticket = _text(2000, "Waarvoor de leerling later terug kan komen.")
    confirm = fields.Boolean(load_default=False, metadata={
        "description": "Bevestigt een bestemming die niet volgt uit de manier van uitstromen (anders 400 met "
                       "de vraag bij het veld confirm)."})


class RecordCheckInArgs(ApiArgs):
    """The body of ``POST /routes/{id}/check-ins``."""

    months = fields.Integer(required=True, validate=one_of(list(CHECK_IN_MONTHS)),
                            metadata={"description": "Welk nazorgcontact: na 3, 6, 12, 18 of 24 maanden."})
    situation = fields.String(required=True, validate=one_of([s.value for s in Situation]))
    note = _text(2000)
    attempt_date = fields.Date(load_default=None, metadata={
        "description": "Bij niet_bereikt: de dag van de contactpoging (de derde legt het contact vast en "
                       "waarschuwt het RMC)."})
    attempt_method = fields.String(load_default=None, validate=one_of([m.value for m in ContactMethod]))


class RouteStudentSchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True, metadata={"description": "Alleen met een grondslag voor contactgegevens."})


class RouteSchema(Schema):
    id = fields.Integer()
    phase = fields.String(metadata={"enum": PHASES})
    status = fields.String(metadata={"enum": ROUTE_STATUSES})
    student = fields.Nested(RouteStudentSchema)
    responsible = fields.Nested(NamedSchema, allow_none=True)
    start_date = fields.Date()
    expected_exit_date = fields.Date(allow_none=True)
    exit_date = fields.Date(allow_none=True)
    startkwalificatie = fields.Boolean(allow_none=True)
    doelgroepregister_open = fields.Boolean()
    followup_months = fields.Integer()
    next_check_in_due = fields.Date(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Integer(metadata={"description": "Rijversie; ook de ETag (`W/\"<versie>\"`)."})


class RoutePageSchema(Schema):
    items = fields.List(fields.Nested(RouteSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class PhaseSchema(Schema):
    phase = fields.String(metadata={"enum": PHASES})
    planned_date = fields.Date(allow_none=True)
    reached_date = fields.Date(allow_none=True)


class ContactAttemptSchema(Schema):
    attempted_on = fields.Date()
    method = fields.String(metadata={"enum": [m.value for m in ContactMethod]})


class CheckInSchema(Schema):
    id = fields.Integer()
    months = fields.Integer()
    due_date = fields.Date()
    situation = fields.String(allow_none=True, metadata={"enum": [s.value for s in Situation]})
    note = fields.String(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    rmc_alerted_at = fields.DateTime(allow_none=True)
    attempts = fields.List(fields.Nested(ContactAttemptSchema), metadata={
        "description": "Contactpogingen die niet lukten (niet_bereikt); de derde legt het contact vast."})


class CheckInListSchema(Schema):
    items = fields.List(fields.Nested(CheckInSchema))


class RouteEducationSchema(Schema):
    programme = fields.String(allow_none=True)
    level = fields.String(allow_none=True)


class RouteExitSchema(Schema):
    way_out = fields.String(metadata={"enum": [w.value for w in WayOut]})
    destination = fields.String(metadata={"enum": [d.value for d in Destination]})
    certificates = fields.List(fields.String())


class RouteDetailSchema(RouteSchema):
    exit = fields.Nested(RouteExitSchema, allow_none=True, metadata={
        "description": "De vastgelegde uitstroom; alleen met een grondslag voor opleidingsgegevens."})
    education = fields.Nested(RouteEducationSchema, allow_none=True,
                              metadata={"description": "Alleen met een grondslag voor opleidingsgegevens."})
    phases = fields.List(fields.Nested(PhaseSchema))
    check_ins = fields.List(fields.Nested(CheckInSchema))
