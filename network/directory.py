"""Who is in the network: regions and organisations (accounts and memberships: :mod:`network.accounts`).

Plain service functions: they take the session and the acting :class:`Principal`, flush but
never commit, audit every change in the same transaction, and raise
:class:`~network.errors.ValidationFailed` (field -> Dutch messages) for input only the database
can judge, such as duplicates. The CLI acts as the system principal and may do everything.

Which role fits which organisation type (:data:`ROLE_ORGANISATION_TYPES`):

- school staff roles and ``student``: only in a school;
- ``partner_staff``: in every partner organisation (gemeente, UWV, WSP, RMC, SBB, ...), not in a
  school (school people have their own roles) and not in the hub;
- ``coordinator`` (the uitstroomcoördinator): in the hub, or at the RMC or gemeente that
  employs them in many regions;
- ``hub_admin``: only in the hub.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from stdnum.nl import brin as stdnum_brin

from network.audit import AuditAction, record
from network.db import escape_like
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import SCHOOL_STAFF_ROLES, Organisation, OrganisationType, Region, Role
from network.permissions import Permission, Principal, can_view_organisation
from network.tags import OrganisationTag, RegionTag

_PARTNER_TYPES = frozenset(OrganisationType) - {OrganisationType.school, OrganisationType.hub}

#: the organisation types in which a role may be held (see the module docstring)
ROLE_ORGANISATION_TYPES: dict[Role, frozenset[OrganisationType]] = {
    **{role: frozenset({OrganisationType.school}) for role in SCHOOL_STAFF_ROLES},
    Role.student: frozenset({OrganisationType.school}),
    Role.partner_staff: _PARTNER_TYPES,
    Role.coordinator: frozenset({OrganisationType.hub, OrganisationType.rmc, OrganisationType.gemeente}),
    Role.hub_admin: frozenset({OrganisationType.hub}),
}

_REGION_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
_KVK = re.compile(r"^\d{8}$")
_OIN = re.compile(r"^\d{20}$")
_ORGANISATION_FIELDS = ("name", "type", "brin", "kvk", "oin", "gemeente", "email", "phone", "website", "is_active")


def is_system_actor(actor: Principal) -> bool:
    return actor.account_id is None and actor.channel in ("cli", "job")


def require_permission(actor: Principal, permission: Permission) -> None:
    if not (is_system_actor(actor) or actor.has(permission)):
        raise Forbidden(_l("U mag dit niet beheren."))


def is_hub_wide(actor: Principal) -> bool:
    return is_system_actor(actor) or actor.role is Role.hub_admin


# -- identifiers ---------------------------------------------------------------------------

def clean_identifiers(type_: OrganisationType, *, brin: str | None = None, kvk: str | None = None,
                      oin: str | None = None) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Normalise and check BRIN, KvK and OIN for an organisation of ``type_``.

    A school needs a valid BRIN (and only a school has one); a werkgever needs a KvK number of
    8 digits (optional for the others); an OIN, where given, is 20 digits.
    Returns ``(cleaned, errors)``; the form schema and the services share this check.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str | None] = {"brin": None, "kvk": None, "oin": None}
    if type_ is OrganisationType.school:
        if not brin:
            errors["brin"] = [_l("Vul het BRIN-nummer van de school in.")]
        elif not stdnum_brin.is_valid(brin):
            errors["brin"] = [_l("Vul een geldig BRIN-nummer in: twee cijfers en twee letters, zoals 25LX.")]
        else:
            cleaned["brin"] = stdnum_brin.compact(brin)
    elif brin:
        errors["brin"] = [_l("Alleen een school heeft een BRIN-nummer.")]
    kvk = re.sub(r"[\s.]", "", kvk or "")
    if kvk and not _KVK.match(kvk):
        errors["kvk"] = [_l("Een KvK-nummer bestaat uit 8 cijfers.")]
    elif not kvk and type_ is OrganisationType.werkgever:
        errors["kvk"] = [_l("Vul het KvK-nummer van de werkgever in.")]
    cleaned["kvk"] = kvk or None
    oin = re.sub(r"\s", "", oin or "")
    if oin and not _OIN.match(oin):
        errors["oin"] = [_l("Een OIN bestaat uit 20 cijfers.")]
    cleaned["oin"] = oin or None
    return cleaned, errors


# -- regions -------------------------------------------------------------------------------

def create_region(session: Session, actor: Principal, *, name: str, code: str) -> Region:
    """Add a region (hub admin or CLI). ``code`` is short and URL-safe, e.g. ``waalrand``."""
    require_permission(actor, Permission.organisation_manage)
    name, code = name.strip(), code.strip().lower()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_l("Vul de naam van de regio in.")]
    if not _REGION_CODE.match(code):
        errors["code"] = [_l("Gebruik 2 tot 40 kleine letters, cijfers of streepjes, zoals 'waalrand'.")]
    if not errors:
        if session.scalar(select(Region.id).where(func.lower(Region.name) == name.lower())):
            errors["name"] = [_l("Er is al een regio met deze naam.")]
        if session.scalar(select(Region.id).where(Region.code == code)):
            errors["code"] = [_l("Er is al een regio met deze code.")]
    if errors:
        raise ValidationFailed(errors=errors)
    region = Region(name=name, code=code)
    session.add(region)
    session.flush()  # for the id in the audit event
    record(session, actor, action=AuditAction.create, event_type=RegionTag.create, object_type="region",
           object_id=region.id, detail={"code": code})
    return region


def list_regions(session: Session, actor: Principal) -> list[Region]:
    """The regions the actor may work in: all for the hub admin, otherwise their own."""
    query = select(Region).order_by(Region.name)
    if not is_hub_wide(actor):
        query = query.where(Region.id == actor.region_id)
    return list(session.scalars(query))


# -- organisations -------------------------------------------------------------------------

def _check_organisation(session: Session, organisation: Organisation, values: dict[str, Any]) -> dict[str, Any]:
    type_ = OrganisationType(values["type"])
    cleaned, errors = clean_identifiers(type_, brin=values.get("brin"), kvk=values.get("kvk"), oin=values.get("oin"))
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = [_l("Vul de naam van de organisatie in.")]
    elif session.scalar(select(Organisation.id).where(
            Organisation.region_id == values["region_id"], func.lower(Organisation.name) == name.lower(),
            Organisation.id != (organisation.id or -1))):
        errors["name"] = [_l("Er is in deze regio al een organisatie met deze naam.")]
    if cleaned["brin"] and "brin" not in errors and session.scalar(select(Organisation.id).where(
            Organisation.brin == cleaned["brin"], Organisation.id != (organisation.id or -1))):
        errors["brin"] = [_l("Er is al een school met dit BRIN-nummer.")]
    if errors:
        raise ValidationFailed(errors=errors)
    email = values.get("email")
    return {**values, **cleaned, "name": name, "type": type_, "email": email.strip().lower() if email else None}


def create_organisation(session: Session, actor: Principal, *, region: Region, name: str,
                        type: OrganisationType | str, brin: str | None = None, kvk: str | None = None,
                        oin: str | None = None, gemeente: str | None = None, email: str | None = None,
                        phone: str | None = None, website: str | None = None) -> Organisation:
    """Add an organisation to a region (hub admin or CLI); identifiers checked per type."""
    require_permission(actor, Permission.organisation_manage)
    organisation = Organisation()
    values = _check_organisation(session, organisation, dict(
        region_id=region.id, name=name, type=type, brin=brin, kvk=kvk, oin=oin, gemeente=gemeente,
        email=email, phone=phone, website=website))
    for key, value in values.items():
        setattr(organisation, key, value)
    organisation.region = region
    session.add(organisation)
    session.flush()  # for the id in the audit event
    record(session, actor, action=AuditAction.create, event_type=OrganisationTag.create,
           object_type="organisation", object_id=organisation.id,
           detail={"region": region.code, "type": organisation.type.value})
    return organisation


#: words that do not tell organisations apart ("Stichting X" and "X B.V." are the same X)
_NAME_NOISE = frozenset({"bv", "b.v.", "b.v", "nv", "n.v.", "vof", "v.o.f.", "stichting", "vereniging", "de", "het",
                         "van", "en", "&", "holding"})


def organisation_name_key(name: str) -> str:
    """The name as the duplicate check compares it: lower case, no punctuation or legal form."""
    words = re.findall(r"[\w&.]+", (name or "").lower())
    kept = [w.strip(".") for w in words if w not in _NAME_NOISE and w.strip(".") not in _NAME_NOISE]
    return " ".join(w for w in kept if w)


def find_similar_organisations(session: Session, *, region_id: int, name: str, kvk: str | None = None,
                               brin: str | None = None, exclude_id: int | None = None,
                               threshold: float = 0.85, limit: int = 5) -> list[tuple[Organisation, str]]:
    """Organisations that are probably the same as the one described: the same KvK number in
    the region, the same BRIN anywhere, or a very similar name in the region (equal after
    dropping legal forms and punctuation, one name inside the other, or a difflib ratio of at
    least ``threshold``). Returns ``(organisation, reason)`` pairs, most certain first; the
    reason is ``kvk``, ``brin`` or ``naam``. Reads only; the caller offers a merge."""
    found: dict[int, tuple[Organisation, str, float]] = {}

    def keep(organisation: Organisation, reason: str, score: float) -> None:
        if organisation.id != exclude_id and (organisation.id not in found or found[organisation.id][2] < score):
            found[organisation.id] = (organisation, reason, score)

    kvk = (kvk or "").replace(" ", "") or None
    if kvk:
        for organisation in session.scalars(select(Organisation).where(Organisation.kvk == kvk,
                                                                       Organisation.region_id == region_id)):
            keep(organisation, "kvk", 3.0)
    brin = (brin or "").replace(" ", "").upper() or None
    if brin:
        for organisation in session.scalars(select(Organisation).where(Organisation.brin == brin)):
            keep(organisation, "brin", 3.0)
    key = organisation_name_key(name)
    if key:
        rows = session.execute(select(Organisation.id, Organisation.name).where(Organisation.region_id == region_id))
        close = []
        for organisation_id, other_name in rows:
            other = organisation_name_key(other_name)
            if not other:
                continue
            if other == key:
                score = 2.0
            elif min(len(key), len(other)) >= 5 and (key in other or other in key):
                score = 1.5
            else:
                score = SequenceMatcher(None, key, other).ratio()
                if score < threshold:
                    continue
            close.append((organisation_id, score))
        close.sort(key=lambda item: -item[1])
        for organisation_id, score in close[:limit]:
            keep(session.get(Organisation, organisation_id), "naam", score)
    ranked = sorted(found.values(), key=lambda item: (-item[2], item[0].name))
    return [(organisation, reason) for organisation, reason, _score in ranked[:limit]]


def update_organisation(session: Session, actor: Principal, organisation: Organisation, *,
                        expected_version: int | None = None, **changes: Any) -> Organisation:
    """Change an organisation's details (hub admin or CLI).

    :param changes: any of name, type, brin, kvk, oin, gemeente, email, phone, website, is_active.
    :param expected_version: the version the editor saw; a different one is a :class:`Conflict`.
    A type change is refused while memberships exist that do not fit the new type.
    """
    require_permission(actor, Permission.organisation_manage)
    unknown = set(changes) - set(_ORGANISATION_FIELDS)
    if unknown:
        raise ValueError(f"unknown organisation fields: {sorted(unknown)}")
    if expected_version is not None and expected_version != organisation.version:
        raise Conflict(_l("Iemand anders heeft deze organisatie intussen gewijzigd. Laad de pagina opnieuw."))
    current = {key: getattr(organisation, key) for key in _ORGANISATION_FIELDS}
    values = _check_organisation(session, organisation, {**current, **changes, "region_id": organisation.region_id})
    if values["type"] != organisation.type:
        misfits = sorted({m.role.value for m in organisation.memberships
                          if values["type"] not in ROLE_ORGANISATION_TYPES[m.role]})
        if misfits:
            raise ValidationFailed(errors={"type": [
                _l("Deze soort past niet bij de rollen van de leden (%(roles)s).", roles=", ".join(misfits))]})
    changed = sorted(key for key in _ORGANISATION_FIELDS if key in values and values[key] != current[key])
    for key in changed:
        setattr(organisation, key, values[key])
    if changed:
        session.flush()
        record(session, actor, action=AuditAction.update, event_type=OrganisationTag.update,
               object_type="organisation", object_id=organisation.id, detail={"fields": changed})
    return organisation


def get_organisation(session: Session, actor: Principal, organisation_id: int) -> Organisation:
    """One organisation inside the actor's walls, else :class:`NotFound`."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not (is_system_actor(actor) or can_view_organisation(actor, organisation)):
        raise NotFound(_l("Deze organisatie bestaat niet, of u heeft er geen toegang toe."))
    return organisation


def list_organisations(session: Session, actor: Principal, *, type: OrganisationType | None = None,
                       region_id: int | None = None, q: str | None = None) -> list[Organisation]:
    """Organisations the actor may see: all for the hub admin, otherwise their own region."""
    query = select(Organisation).options(selectinload(Organisation.region)).order_by(Organisation.name)
    if not is_hub_wide(actor):
        query = query.where(Organisation.region_id == actor.region_id)
    elif region_id is not None:
        query = query.where(Organisation.region_id == region_id)
    if type is not None:
        query = query.where(Organisation.type == type)
    if q:
        query = query.where(Organisation.name.ilike(f"%{escape_like(q)}%", escape="\\"))
    return list(session.scalars(query))
