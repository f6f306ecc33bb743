"""HSDS 3.0 import: services with their organisations, contacts and locations from an HSDS
document (see :func:`socialmap.hsds_schema.hsds_objects` for the shapes), keeping their ids.

The rules are the spreadsheet import's (:mod:`socialmap.imports`) where they apply:

- Who: the system (the CLI) or an editor with the import permission; only who may make
  organisations (the system, the hub admin) has new ones made.
- Organisations are matched by their HSDS id, else as the spreadsheet matches them
  (:func:`network.directory.find_similar_organisations`: the same KvK number in the region, the
  same BRIN, a very similar name in the region): a duplicate is linked, never doubled, and the
  report says to which organisation and why. Otherwise a new one is made in the given region.
  The import never edits an organisation that exists; it only records its HSDS id once.
- Services are matched by their HSDS id and updated, or created with that id. An update takes
  only the fields the document has (a list page's location without an address leaves the
  address alone; a file without contact persons leaves the persons alone) and is no
  verification; the assured date, assurer, last modification and metadata history are
  taken as the source has them. What the hub does not model is dropped (see
  :mod:`socialmap.hsds`). A service that fits is reported created, updated (with the fields) or
  unchanged.
- Each service is checked in full before anything of it is written; one that fails is refused
  with its reasons, and nothing of it is written.
- Audit: the entries' and organisations' own events (``socialmap:service:create`` and
  ``:update``, ``organisation:create``), and one ``socialmap:import:hsds`` with the figures.

Flush, never commit: the caller's unit of work commits once, or rolls back (a dry run).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.clock import utcnow
from network.directory import create_organisation, find_similar_organisations
from network.errors import ValidationFailed
from network.models import Organisation, OrganisationType, Region
from network.permissions import Principal
from socialmap.entries import can_edit_service, create_service, ensure_profile, name_taken, update_service
from socialmap.hsds_read import EMAIL, ServiceEntry, identifier, organisation_type, read_service, services_in
from socialmap.imports import can_create_organisations, check_importer
from socialmap.models import Category, Contact, OrganisationProfile, Service, ServiceChange, ServiceLocation
from socialmap.tags import SocialmapTag
from socialmap.vocab import term_id

CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
#: how :func:`find_similar_organisations` matched, in the report's words
_MATCHED_BY = {"kvk": "zelfde KvK-nummer", "brin": "zelfde BRIN", "naam": "(bijna) dezelfde naam"}
_ORGANISATION_FIELDS = {"name": "naam", "brin": "BRIN", "kvk": "KvK-nummer", "oin": "OIN", "email": "e-mail",
                        "website": "website", "type": "soort"}


# -- the report ------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What the import did, or would do, with one service or organisation of the file."""

    #: HSDS id, or the name when the file gives no id
    key: str
    name: str
    #: created, updated, unchanged or refused
    result: str
    #: refused: why; updated: what changed; an organisation: which one it was linked to
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    services: list[Outcome] = field(default_factory=list)
    organisations: list[Outcome] = field(default_factory=list)
    #: names of the hub organisations that a differently identified one in the file was linked to
    organisations_linked: list[str] = field(default_factory=list)

    def _keys(self, result: str) -> list[str]:
        return [outcome.key for outcome in self.services if outcome.result == result]

    @property
    def created(self) -> list[str]:
        return self._keys(CREATED)

    @property
    def updated(self) -> list[str]:
        return self._keys(UPDATED)

    @property
    def unchanged(self) -> list[str]:
        return self._keys(UNCHANGED)

    @property
    def errors(self) -> dict[str, list[str]]:
        """Refused services: key -> reasons."""
        return {outcome.key: outcome.notes for outcome in self.services if outcome.result == REFUSED}

    @property
    def organisations_created(self) -> list[str]:
        return [outcome.name for outcome in self.organisations if outcome.result == CREATED]

    def figures(self) -> dict[str, dict[str, int]]:
        """``{"services": {"created": n, ...}, "organisations": {...}}``, every result counted."""
        def count(outcomes: list[Outcome]) -> dict[str, int]:
            return {result: sum(1 for o in outcomes if o.result == result)
                    for result in (CREATED, UPDATED, UNCHANGED, REFUSED)}
        return {"services": count(self.services), "organisations": count(self.organisations)}


# -- the import ------------------------------------------------------------------------------

def import_document(session: Session, actor: Principal, region: Region, document: Any, *,
                    source: str | None = None, now: dt.datetime | None = None) -> ImportReport:
    """Import an HSDS document into ``region`` by the rules in the module docstring; flush,
    never commit. Raises :class:`socialmap.hsds_schema.NotHsds` for JSON that is no HSDS.

    :param source: where the document came from (a file name), for the audit event.
    """
    check_importer(actor)
    pairs, loose = services_in(document)
    run = _Import(session, actor, region, now or utcnow())
    for raw, org in pairs:
        run.service(raw, org)
    run.finish(loose)
    session.flush()
    record(session, actor, action=AuditAction.execute, event_type=SocialmapTag.import_hsds, object_type="region",
           object_id=region.id, detail={"source": source, **{
               f"{kind}_{result}": count for kind, counts in run.report.figures().items()
               for result, count in counts.items()}})
    return run.report


def _org_key(org: dict) -> str:
    return str(org.get("id") or (org.get("name") or "").strip().lower())


def _org_name(org: dict) -> str:
    return (org.get("name") or "").strip()[:200]


class _Import:
    """One run: the services one by one, each organisation resolved once."""

    def __init__(self, session: Session, actor: Principal, region: Region, now: dt.datetime):
        self.session, self.actor, self.region, self.now = session, actor, region, now
        self.report = ImportReport()
        #: organisation key -> the hub organisation, or why there is none
        self.organisations: dict[str, Organisation | list[str]] = {}
        self.seen: dict[str, dict] = {}

    def service(self, raw: dict, org: dict | None) -> None:
        key, name = str(raw.get("id") or raw.get("name") or "?"), str(raw.get("name") or "")
        try:
            entry = read_service(raw)
            found = self._find_organisation(org) if isinstance(org, dict) else None
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            return self._refuse(key, name, [f"onleesbaar: {exc}"])
        if not isinstance(org, dict):
            entry.problems.append("de organisatie ontbreekt")
        if entry.problems:
            return self._refuse(key, name, entry.problems)
        existing = self.session.scalar(select(Service).where(Service.uuid == entry.uuid))
        problems = self._write_problems(entry, existing, found)
        if problems:
            return self._refuse(key, name, problems)
        organisation = found or self._make_organisation(org)
        if not isinstance(organisation, Organisation):
            return self._refuse(key, name, organisation)
        self._record_hsds_id(org, organisation)
        self._write(entry, existing, organisation)

    def finish(self, loose: list[dict]) -> None:
        """Report the organisations of the file that are neither in the hub nor made: their
        services were all refused, or they came without any."""
        for key, org in self.seen.items():
            if key not in self.organisations or isinstance(self.organisations[key], list):
                reasons = self.organisations.get(key) or ["geen van haar diensten is ingelezen"]
                self.report.organisations.append(Outcome(key, _org_name(org), REFUSED, list(reasons)))
        for org in loose:
            self.report.organisations.append(Outcome(
                _org_key(org), _org_name(org), REFUSED,
                ["heeft geen diensten in het bestand (organisaties komen alleen met hun diensten mee)"]))

    def _refuse(self, key: str, name: str, reasons: list[str]) -> None:
        self.report.services.append(Outcome(key, name, REFUSED, reasons))

    # -- organisations ---------------------------------------------------------------------

    def _find_organisation(self, org: dict) -> Organisation | None:
        """The organisation already in the hub (by HSDS id, else as the spreadsheet import
        matches), reported once as linked; None when the file's organisation is new."""
        key = _org_key(org)
        self.seen.setdefault(key, org)
        if key in self.organisations:
            known = self.organisations[key]
            return known if isinstance(known, Organisation) else None
        org_uuid = uuid.UUID(org["id"]) if org.get("id") else None
        if org_uuid:
            profile = self.session.scalar(select(OrganisationProfile).where(OrganisationProfile.uuid == org_uuid))
            if profile is not None:
                return self._linked(key, org, profile.organisation, "id")
        candidates = find_similar_organisations(self.session, region_id=self.region.id, name=_org_name(org),
                                                kvk=identifier(org, "kvk"), brin=identifier(org, "brin"))
        if candidates:
            organisation, reason = candidates[0]  # the most certain one: merge, never double
            self.report.organisations_linked.append(organisation.name)
            return self._linked(key, org, organisation, reason)
        return None

    def _linked(self, key: str, org: dict, organisation: Organisation, reason: str) -> Organisation:
        self.organisations[key] = organisation
        note = (f"al in de hub (id {organisation.id})" if reason == "id" else
                f"gekoppeld aan {organisation.name} (id {organisation.id}): {_MATCHED_BY[reason]}")
        self.report.organisations.append(Outcome(key, _org_name(org), UNCHANGED, [note]))
        return organisation

    def _record_hsds_id(self, org: dict, organisation: Organisation) -> None:
        """A linked organisation without a sociale-kaart profile keeps the file's HSDS id."""
        if self.session.get(OrganisationProfile, organisation.id) is not None:
            return
        ensure_profile(self.session, organisation, hsds_id=uuid.UUID(org["id"]) if org.get("id") else None)
        outcome = next(o for o in self.report.organisations if o.key == _org_key(org))
        outcome.result = UPDATED
        outcome.notes.append("HSDS-id vastgelegd")

    def _make_organisation(self, org: dict) -> Organisation | list[str]:
        """A new organisation in the region, or why not (nothing is written then)."""
        key = _org_key(org)
        if key in self.organisations:
            return self.organisations[key]
        if not can_create_organisations(self.actor):
            reasons = [f"{_org_name(org)} staat nog niet in de regio en u mag geen organisaties toevoegen"]
        else:
            try:
                organisation = self._create_organisation(org)
            except ValidationFailed as exc:
                reasons = [f"organisatie {_ORGANISATION_FIELDS.get(name, name)}: {message}"
                           for name, messages in exc.errors.items() for message in messages] or [str(exc)]
            else:
                self.organisations[key] = organisation
                self.report.organisations.append(Outcome(key, organisation.name, CREATED,
                                                         [f"nieuw in regio {self.region.code}"]))
                return organisation
        self.organisations[key] = reasons
        return reasons

    def _create_organisation(self, org: dict) -> Organisation:
        brin, kvk = identifier(org, "brin"), identifier(org, "kvk")
        type_ = organisation_type(org)
        if (type_ is OrganisationType.school and not brin) or (type_ is OrganisationType.werkgever and not kvk):
            type_ = OrganisationType.other  # the hub admin completes it, as after a spreadsheet import
        email = org.get("email") if EMAIL.match(org.get("email") or "") else None
        organisation = create_organisation(self.session, self.actor, region=self.region, name=_org_name(org),
                                           type=type_, brin=brin, kvk=kvk, oin=identifier(org, "oin"), email=email,
                                           website=org.get("website") or None)
        profile = ensure_profile(self.session, organisation, hsds_id=uuid.UUID(org["id"]) if org.get("id") else None)
        profile.description = org.get("description")
        profile.alternate_name = org.get("alternate_name")
        return organisation

    # -- services --------------------------------------------------------------------------

    def _write_problems(self, entry: ServiceEntry, existing: Service | None,
                        organisation: Organisation | None) -> list[str]:
        """Why the service cannot be written (checked before anything of it is); an existing
        entry stays with its own organisation, a new one goes to ``organisation`` (None: new)."""
        taken = self._ids_of_others(entry, existing)
        if taken:
            return taken
        target = existing.organisation if existing is not None else organisation
        if target is None:
            return []
        if not can_edit_service(self.actor, target):
            return [f"u mag de diensten van {target.name} niet bewerken"]
        name = entry.data["name"]
        if (existing is None or name != existing.name) and name_taken(self.session, target, name, existing):
            return [f"{target.name} heeft al een andere dienst met de naam {name!r}"]
        return []

    def _ids_of_others(self, entry: ServiceEntry, existing: Service | None) -> list[str]:
        """Contact and location ids are the hub's keys too: one that belongs to another
        service (in the hub, or earlier in the file) cannot be this one's."""
        own = existing.id if existing is not None else None
        problems = []
        for key, model, label in (("contacts", Contact, "contactpersoon"), ("locations", ServiceLocation, "locatie")):
            for item in entry.data.get(key) or []:
                row = self.session.get(model, item["id"])
                if row is not None and row.service_id != own:
                    problems.append(f"{label} {item['id']} hoort al bij een andere dienst")
        return problems

    def _write(self, entry: ServiceEntry, existing: Service | None, organisation: Organisation) -> None:
        data = dict(entry.data)
        if "categories" in data:
            data["categories"] = _ensure_categories(self.session, data["categories"])
        key = str(entry.uuid)
        if existing is None:
            service = create_service(self.session, self.actor, organisation, data, service_uuid=entry.uuid,
                                     now=self.now)
            _apply_provenance(self.session, service, entry.provenance)
            self.report.services.append(Outcome(key, service.name, CREATED, [f"bij {organisation.name}"]))
            return
        if "contacts" in data:
            data["contacts"] = _complete(data["contacts"], existing.contacts, _CONTACT_KEYS)
        if "locations" in data:
            data["locations"] = _complete(data["locations"], existing.locations, _LOCATION_KEYS)
        changed = update_service(self.session, self.actor, existing, data, counts_as_verification=False,
                                 audit_unchanged=False, now=self.now)
        provenance = _apply_provenance(self.session, existing, entry.provenance)
        if provenance:
            record(self.session, self.actor, action=AuditAction.update, event_type=SocialmapTag.service_update,
                   object_type="socialmap_service", object_id=existing.uuid, detail={"fields": provenance})
        notes = sorted(set(changed) | set(provenance))
        if existing.organisation_id != organisation.id:
            notes.append(f"blijft bij {existing.organisation.name} (een import verhuist geen diensten)")
        self.report.services.append(Outcome(key, existing.name, UPDATED if changed or provenance else UNCHANGED,
                                            notes))


def _ensure_categories(session: Session, wanted: list[tuple[str, dict]]) -> list[str]:
    """The codes of the file's "waarvoor te benaderen" terms; a term the hub lacks is added."""
    codes = []
    for code, term in wanted:
        if session.scalar(select(Category.id).where(Category.code == code)) is None:
            term_uuid = uuid.UUID(term["id"]) if term.get("id") else term_id("waarvoor-te-benaderen", code)
            session.add(Category(uuid=term_uuid, code=code[:40], name=(term.get("name") or code)[:80],
                                 description=term.get("description"), position=99, is_active=True))
        codes.append(code)
    return codes


def _apply_provenance(session: Session, service: Service, provenance: dict[str, Any]) -> list[str]:
    """Take the source's assured date, assurer, phone id, metadata history and last
    modification; returns what differed."""
    changed = []
    assured = provenance["assured_date"]
    if assured is not None and service.assured_date != assured:
        service.assured_date = assured
        service.verified_at = dt.datetime.combine(assured, dt.time(), dt.UTC)
        changed.append("assured_date")
    for name in ("assurer_email", "phone_uuid"):
        if provenance[name] is not None and getattr(service, name) != provenance[name]:
            setattr(service, name, provenance[name])
            changed.append(name)
    added = [entry for entry in provenance["history"] if session.get(ServiceChange, entry["id"]) is None]
    for entry in added:
        session.add(ServiceChange(service_id=service.id,
                                  **{**entry, "changed_at": entry["changed_at"] or service.updated_at}))
    if added:
        changed.append("metadata")
    session.flush()  # the entry's own UPDATE first: its onupdate would stamp updated_at after ours
    modified = provenance["last_modified"]
    if modified is not None and service.updated_at != modified:
        # a plain UPDATE: the model's onupdate would stamp the import time instead
        session.execute(Service.__table__.update().where(Service.id == service.id).values(updated_at=modified))
        session.expire(service, ["updated_at"])
        changed.append("last_modified")
    return changed


_CONTACT_KEYS = ("name", "title", "email", "phone", "phone_uuid")
_LOCATION_KEYS = ("name", "address", "postal_code", "city", "description", "location_uuid", "address_uuid")


def _complete(items: list[dict], rows: list, keys: tuple[str, ...]) -> list[dict]:
    """Contacts or places of a partial document (a list page's location has no address)
    completed with what the hub has for the same id: what the file leaves out stays."""
    by_id = {row.id: row for row in rows}
    return [{**{key: getattr(by_id[item["id"]], key) for key in keys}, **item} if item["id"] in by_id else item
            for item in items]
