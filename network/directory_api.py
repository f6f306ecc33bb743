"""The public directory of the hub in the JSON API: its regions and active organisations
(``/api/v1/regions``, ``/api/v1/organisations``), without authentication."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from network.api import Blueprint
from network.db import db
from network.models import Organisation, OrganisationType, Region

bp = Blueprint("directory", __name__, url_prefix="/api/v1", description="Regio's en organisaties (openbaar)")


class RegionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String()
    name = fields.String()


class OrganisationQueryArgs(Schema):
    class Meta:
        ordered = True

    type = fields.String(validate=validate.OneOf([t.value for t in OrganisationType]),
                         metadata={"description": "Soort organisatie"})
    region = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "Regiocode"})


class OrganisationSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    type = fields.Enum(OrganisationType, by_value=True)
    region = fields.Function(lambda o: o.region.code)
    gemeente = fields.String(allow_none=True)
    brin = fields.String(allow_none=True)
    kvk = fields.String(allow_none=True)
    website = fields.String(allow_none=True)


@bp.route("/regions")
@bp.response(200, RegionSchema(many=True))
def list_regions():
    """Alle regio's van de hub."""
    return db.session.execute(select(Region).order_by(Region.name)).scalars().all()


@bp.route("/organisations")
@bp.arguments(OrganisationQueryArgs, location="query")
@bp.response(200, OrganisationSchema(many=True))
def list_organisations(args):
    """Actieve organisaties in het netwerk, te filteren op soort en regio."""
    query = select(Organisation).join(Region).where(Organisation.is_active.is_(True)).order_by(Organisation.name)
    if "type" in args:
        query = query.where(Organisation.type == OrganisationType(args["type"]))
    if "region" in args:
        query = query.where(Region.code == args["region"])
    return db.session.execute(query).scalars().all()
