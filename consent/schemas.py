"""Form and export schemas of the consent package (Dutch messages via network.schemas)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from consent.models import Channel, Relation, RouteFollowup, TaskScope
from network.access import Category
from network.schemas import FormSchema

_CATEGORY = fields.String(validate=validate.OneOf([c.value for c in Category], error=_l("Onbekende soort gegevens.")))


class GrantArgs(FormSchema):
    """A consent given in the portal, or recorded by school staff (``channel`` and the
    representative fields are for staff only; the portal view drops them)."""

    recipient_id = fields.Integer(required=True)
    purpose_code = fields.String(required=True, validate=validate.Length(max=60))
    categories = fields.List(_CATEGORY, load_default=list)
    explicit = fields.List(_CATEGORY, load_default=list)
    valid_from = fields.Date(load_default=None)
    valid_until = fields.Date(load_default=None)
    channel = fields.String(load_default=None, validate=validate.OneOf(
        [Channel.in_person.value, Channel.paper.value], error=_l("Kies hoe de toestemming is gegeven.")))
    representative_name = fields.String(load_default=None, validate=validate.Length(max=200))
    representative_relation = fields.String(load_default=None, validate=validate.OneOf(
        [r.value for r in Relation], error=_l("Kies de relatie tot de leerling.")))


class RequestArgs(FormSchema):
    recipient_id = fields.Integer(required=True)
    purpose_code = fields.String(required=True, validate=validate.Length(max=60))
    categories = fields.List(_CATEGORY, load_default=list)


class RepresentationArgs(FormSchema):
    """A parent or guardian, or a curator or mentor with the court decision (the decision's
    fields are checked in :func:`consent.measures.record_measure`, which names what is missing)."""

    email = fields.Email(required=True)
    relation = fields.String(required=True, validate=validate.OneOf([r.value for r in Relation],
                                                                      error=_l("Kies de relatie tot de leerling.")))
    court = fields.String(load_default=None, validate=validate.Length(max=200))
    decision_date = fields.Date(load_default=None)
    decision_reference = fields.String(load_default=None, validate=validate.Length(max=100))
    ends_on = fields.Date(load_default=None)


class PurposeEditArgs(FormSchema):
    label = fields.String(required=True, validate=validate.Length(min=2, max=120))
    description = fields.String(load_default="", allow_none=True, validate=validate.Length(max=500))
    categories = fields.List(_CATEGORY, load_default=list)
    #: the organisation types that may receive the purpose's data (checked in the service)
    organisation_types = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list)
    is_active = fields.Boolean(load_default=False)


class CategoryEditArgs(FormSchema):
    label = fields.String(required=True, validate=validate.Length(min=2, max=120))
    description = fields.String(load_default="", allow_none=True, validate=validate.Length(max=500))
    is_special = fields.Boolean(load_default=False)


def form_dict(form) -> dict:
    """A submitted form as a dict, with the repeated checkbox fields as lists."""
    data = form.to_dict()
    for name in ("categories", "explicit", "organisation_types"):
        data[name] = form.getlist(name)
    return {key: value for key, value in data.items() if key != "csrf_token"}


class LegalTaskEditArgs(FormSchema):
    label = fields.String(required=True, validate=validate.Length(min=2, max=160))
    legal_reference = fields.String(load_default="", allow_none=True, validate=validate.Length(max=300))
    categories = fields.List(_CATEGORY, load_default=list)
    own_region_only = fields.Boolean(load_default=False)
    #: whom the law covers (empty: every student within the region rule)
    scope = fields.String(load_default=None, validate=validate.OneOf(
        ["alle", *(s.value for s in TaskScope)], error=_l("Kies voor welke leerlingen de taak geldt.")))
    is_active = fields.Boolean(load_default=False)


class RegionScopeArgs(FormSchema):
    """A region's settings of the legal tasks' scopes (checked together in the service)."""

    rmc_leavers = fields.Boolean(load_default=False)
    rmc_max_age = fields.Integer(required=True, error_messages={"required": _l("Vul een leeftijd in.")})
    rmc_pro_vso = fields.Boolean(load_default=False)
    rmc_route_followup = fields.String(required=True, validate=validate.OneOf(
        [f.value for f in RouteFollowup], error=_l("Kies welke trajecten in de nazorg onder de taak vallen.")))
    uwv_open_referrals = fields.Boolean(load_default=False)
    uwv_route_steps = fields.Boolean(load_default=False)


class PurposeCreateArgs(PurposeEditArgs):
    """A new purpose: the edit fields plus its code (format and uniqueness: the service)."""

    code = fields.String(required=True, validate=validate.Length(max=60))


class LegalTaskCreateArgs(LegalTaskEditArgs):
    """A new legal task: the edit fields plus organisation type, purpose and code (checked in
    the service, which also refuses special categories)."""

    organisation_type = fields.String(required=True, validate=validate.Length(max=32))
    purpose_id = fields.Integer(required=True)
    code = fields.String(required=True, validate=validate.Length(max=60))
