"""Spreadsheet import of the sociale kaart: check, preview, confirm.

:func:`stage_import` reads an upload (CSV or XLSX, the columns of seed 001 appendix 1.4),
checks every row the way the entry form does and stores the parsed rows in a
:class:`~socialmap.models.PendingImport`. Nothing reaches the entries until
:func:`confirm_import`, which re-checks each row and creates or updates the entries (with
their history and audit). Organisations are matched by name in the region; a new name that is
very like an existing organisation (or has its KvK number) is offered for merge: the editor
links it to the existing one or explicitly creates a new one (hub admin only).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.clock import utcnow
from network.directory import create_organisation, find_similar_organisations
from network.errors import Forbidden, NotFound
from network.models import Organisation, OrganisationType, Region
from network.permissions import Permission, Principal
from socialmap.entries import create_service, is_system, update_service
from socialmap.models import Category, PendingImport, Service
from socialmap.schemas import FIELD_LABELS, load_service
from socialmap.spreadsheet import read_rows
from socialmap.tags import SocialmapTag
from socialmap.vocab import CAPACITY_LABELS, ORGANISATION_TYPE_LABELS, STATUS_LABELS, TARGET_GROUPS

_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")
_PHONE = re.compile(r"\+?\d[\d ()-]{6,18}\d")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    organisations_created: list[str] = field(default_factory=list)


def _lookup(mapping: dict, text: str) -> Any:
    return mapping.get(text.strip().lower())


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n/]", text or "") if part.strip()]


def _vocabularies(session: Session) -> dict[str, dict[str, Any]]:
    categories = {}
    for category in session.scalars(select(Category)):
        categories[category.code.lower()] = category.code
        categories[category.name.lower()] = category.code
    return {
        "categories": categories,
        "target_groups": {**{k.lower(): k for k in TARGET_GROUPS},
                          **{v.lower(): k for k, v in TARGET_GROUPS.items()}},
        "capacity": {**{c.value: c.value for c in CAPACITY_LABELS},
                     **{v.lower(): c.value for c, v in CAPACITY_LABELS.items()}},
        "status": {**{s.value: s.value for s in STATUS_LABELS},
                   **{v.lower(): s.value for s, v in STATUS_LABELS.items()}},
        "types": {**{t.value: t.value for t in ORGANISATION_TYPE_LABELS},
                  **{v.lower(): t.value for t, v in ORGANISATION_TYPE_LABELS.items()}},
    }


def _contact_details(text: str) -> tuple[str | None, str | None, str]:
    """(e-mail, phone, rest) from the free-text "Contactgegevens" cell."""
    email_match = _EMAIL.search(text or "")
    email = email_match.group(0) if email_match else None
    rest = (text or "").replace(email, " ") if email else (text or "")
    phone_match = _PHONE.search(rest)
    phone = " ".join(phone_match.group(0).split()) if phone_match else None
    if phone:
        rest = rest.replace(phone_match.group(0), " ")
    return email, phone, " ".join(rest.replace(",", " ").replace(";", " ").split())


def _codes(cells: dict[str, str], column: str, mapping: dict[str, Any], problems: list[str]) -> list[str]:
    """The codes a cell lists (split on commas, semicolons, slashes, new lines); each value
    that is no known code or label is a problem."""
    found = []
    for part in _split(cells.get(column, "")):
        code = _lookup(mapping, part)
        if code is None:
            problems.append(_("Onbekende waarde in '%(column)s': %(value)s.", column=column, value=part))
        else:
            found.append(code)
    return sorted(set(found))


def _service_name(cells: dict[str, str], organisation: str) -> str:
    """The entry's name: the service, else the department, else the organisation with what it
    is approached for, else the organisation."""
    return (cells.get("Dienst") or cells.get("Afdeling")
            or (f"{organisation}: {cells.get('Waarvoor te benaderen')}" if cells.get("Waarvoor te benaderen") else "")
            or organisation)


def _coded_values(cells: dict[str, str], vocab: dict[str, dict[str, Any]], raw: dict[str, Any],
                  problems: list[str]) -> None:
    """Capacity and status, as their codes (a filled-in value that is neither is a problem)."""
    for column, key in (("Capaciteit", "capacity"), ("Status", "status")):
        if cells.get(column):
            value = _lookup(vocab[key], cells[column])
            if value is None:
                problems.append(_("Onbekende waarde in '%(column)s': %(value)s.", column=column, value=cells[column]))
            raw[key] = value


def _parse_row(cells: dict[str, str], vocab: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The raw form-like dict of one row (what :func:`load_service` checks) and its problems."""
    problems: list[str] = []
    organisation = cells.get("Organisatie", "")
    if not organisation:
        problems.append(_("De kolom Organisatie is leeg."))
    categories = _codes(cells, "Waarvoor te benaderen", vocab["categories"], problems)
    name = _service_name(cells, organisation)
    email, phone, rest = _contact_details(cells.get("Contactgegevens", ""))
    if rest and not (email or phone):
        problems.append(_("In 'Contactgegevens' staat geen e-mailadres of telefoonnummer: %(value)s.", value=rest))
    raw: dict[str, Any] = {
        "name": name[:200], "description": cells.get("Omschrijving") or None, "categories": categories,
        "department": cells.get("Afdeling") or None, "url": cells.get("Website") or None,
        "target_groups": _codes(cells, "Doelgroepen", vocab["target_groups"], problems),
        "gemeenten": cells.get("Gemeenten") or None,
        "is_internal": cells.get("Intern/extern", "").strip().lower() == "intern",
        "contacts": [{"name": cells.get("Contactpersoon", ""), "title": cells.get("Functie", ""),
                      "email": email or "", "phone": phone or ""}],
    }
    _coded_values(cells, vocab, raw, problems)
    if not cells.get("Contactpersoon") and (email or phone):
        # no person: the details are the service's general address and phone
        raw["contacts"] = []
        raw["email"], raw["phone"] = email, phone
    return raw, problems


def _field_problems(errors: dict[str, list[str]]) -> list[str]:
    labels = {**{k: str(v) for k, v in FIELD_LABELS.items()}, "contact-0-name": _("Contactpersoon"),
              "contact-0-email": _("Contactgegevens (e-mail)"), "contact-0-phone": _("Contactgegevens (telefoon)"),
              "contact-0-title": _("Functie")}
    return [f"{labels.get(key, key)}: {message}" for key, messages in errors.items() for message in messages]


def check_importer(actor: Principal) -> None:
    """Imports of the sociale kaart (spreadsheet and HSDS) are for the system (CLI) and editors
    with the import permission; :class:`Forbidden` otherwise."""
    if not (is_system(actor) or actor.has(Permission.socialmap_import)):
        raise Forbidden(_l("U mag de sociale kaart niet importeren."))


#: the columns the import reads, by their header in lower case
_COLUMNS = {c.lower(): c for c in ("Organisatie", "Soort organisatie", "Dienst", "Waarvoor te benaderen", "Afdeling",
                                   "Contactpersoon", "Functie", "Contactgegevens", "Intern/extern", "Doelgroepen",
                                   "Gemeenten", "Capaciteit", "Status", "Omschrijving", "Website", "Id", "KvK-nummer")}


def _service_id(cells: dict[str, str], problems: list[str]) -> str | None:
    """The HSDS id in the Id column (the row updates that entry), if any."""
    if not cells.get("Id"):
        return None
    try:
        return str(uuid.UUID(cells["Id"]))
    except ValueError:
        problems.append(_("De kolom Id bevat geen geldige id."))
        return None


def _check_row(cells: dict[str, str], vocab: dict[str, dict[str, Any]], line: int,
               seen: dict[tuple[str, str], int]) -> tuple[dict[str, Any], str, str | None, list[str]]:
    """One row: its raw entry, organisation name, service id and problems (a row with the same
    organisation and service as an earlier one is a problem; ``seen`` remembers the first)."""
    raw, problems = _parse_row(cells, vocab)
    _checked, field_errors = load_service(raw)
    problems += _field_problems(field_errors)
    org_name = " ".join(cells.get("Organisatie", "").split())
    key = (org_name.lower(), raw["name"].lower())
    if org_name and key in seen:
        problems.append(_("Dubbele regel: dezelfde organisatie en dienst als regel %(line)d.", line=seen[key]))
    seen.setdefault(key, line)
    return raw, org_name, _service_id(cells, problems), problems


def _flag_new_organisations(rows: list[dict[str, Any]], organisations: dict[str, dict[str, Any]]) -> None:
    """For an importer who may not add organisations: a row whose organisation is not in the
    region (nor like one there) is a problem."""
    for row in rows:
        info = organisations.get(row["organisation"].lower())
        if info and not info["match"] and not info["candidates"]:
            row["problems"].append(_("%(name)s staat nog niet in de regio. Vraag de hubbeheerder de organisatie "
                                     "toe te voegen, of gebruik de naam van een bestaande organisatie.",
                                     name=row["organisation"]))


def stage_import(session: Session, actor: Principal, region: Region, filename: str, content: bytes) -> PendingImport:
    """Check an upload and keep it as a pending import (see the module docstring).

    Raises :class:`socialmap.spreadsheet.SpreadsheetError` when the file as a whole is unusable.
    """
    check_importer(actor)
    file_format, header, data = read_rows(filename, content)
    columns = {name.lower(): index for index, name in enumerate(header) if name}
    vocab = _vocabularies(session)
    existing_orgs = {name.lower(): org_id for org_id, name in session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.region_id == region.id))}
    rows, seen, organisations = [], {}, {}
    errors = 0
    for line, row in enumerate(data, 2):
        cells = {_COLUMNS[key]: (row[index] if index < len(row) else "")
                 for key, index in columns.items() if key in _COLUMNS}
        raw, org_name, service_id, problems = _check_row(cells, vocab, line, seen)
        if org_name and org_name.lower() not in organisations:
            organisations[org_name.lower()] = _organisation_choice(
                session, region, org_name, existing_orgs, cells, vocab)
        errors += bool(problems)
        rows.append({"line": line, "organisation": org_name, "raw": raw, "service_id": service_id,
                     "problems": problems})
    if not can_create_organisations(actor):
        _flag_new_organisations(rows, organisations)
        errors = sum(1 for row in rows if row["problems"])
    pending = PendingImport(account_id=actor.account_id, region_id=region.id, filename=filename[:200],
                            file_format=file_format, row_count=len(rows), error_count=errors,
                            payload=json.dumps({"rows": rows, "organisations": organisations}, ensure_ascii=False))
    session.add(pending)
    session.flush()
    record(session, actor, action=AuditAction.create, event_type=SocialmapTag.import_stage,
           object_type="socialmap_pending_import", object_id=pending.id,
           detail={"rows": len(rows), "errors": errors, "format": file_format})
    return pending


def _organisation_choice(session: Session, region: Region, name: str, existing: dict[str, int],
                         cells: dict[str, str], vocab: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """How a name in the file maps to an organisation: an exact match, candidates to merge
    with, or new (with the type from "Soort organisatie")."""
    if name.lower() in existing:
        return {"name": name, "match": existing[name.lower()], "candidates": []}
    candidates = find_similar_organisations(session, region_id=region.id, name=name,
                                            kvk=cells.get("KvK-nummer") or None)
    type_code = _lookup(vocab["types"], cells.get("Soort organisatie", "")) or OrganisationType.other.value
    return {"name": name, "match": None, "type": type_code,
            "candidates": [{"id": org.id, "name": org.name, "reason": reason} for org, reason in candidates]}


def get_pending(session: Session, actor: Principal, import_id: uuid.UUID) -> PendingImport:
    """The actor's own pending import, else :class:`NotFound`."""
    pending = session.get(PendingImport, import_id)
    if pending is None or not (is_system(actor) or pending.account_id == actor.account_id):
        raise NotFound(_l("Deze import bestaat niet."))
    return pending


def preview(pending: PendingImport) -> dict[str, Any]:
    return json.loads(pending.payload)


def cancel_import(session: Session, actor: Principal, pending: PendingImport) -> None:
    """Drop a pending import; nothing was written to the entries."""
    check_importer(actor)
    pending.status, pending.decided_at, pending.payload = ("cancelled", utcnow(),
                                                           json.dumps({"rows": [], "organisations": {}}))
    record(session, actor, action=AuditAction.update, event_type=SocialmapTag.import_cancel,
           object_type="socialmap_pending_import", object_id=pending.id)


def confirm_import(session: Session, actor: Principal, pending: PendingImport, choices: dict[str, str], *,
                   now: dt.datetime | None = None) -> ImportResult:
    """Apply a pending import: rows without problems are created or updated; rows with
    problems are skipped. ``choices`` maps an organisation name (lower case) from the file to
    ``"<id>"`` (link to that existing organisation) or ``"nieuw"`` (create it).
    """
    check_importer(actor)
    if pending.status != "pending":
        raise NotFound(_l("Deze import is al afgehandeld."))
    now = now or utcnow()
    region = session.get(Region, pending.region_id)
    payload = preview(pending)
    result = ImportResult()
    resolved: dict[str, Organisation | None] = {}
    for key, info in payload["organisations"].items():
        resolved[key] = _resolve(session, actor, region, info, choices.get(key), result)
    for row in payload["rows"]:
        organisation = resolved.get(row["organisation"].lower())
        data, errors = load_service(row["raw"])
        if row["problems"] or errors or organisation is None:
            result.skipped += 1
            continue
        data.pop("version", None)
        data.pop("organisation_id", None)
        existing = None
        if row["service_id"]:
            existing = session.scalar(select(Service).where(Service.uuid == uuid.UUID(row["service_id"]),
                                                            Service.organisation_id == organisation.id))
        if existing is None:
            existing = session.scalar(select(Service).where(Service.organisation_id == organisation.id,
                                                            func.lower(Service.name) == data["name"].lower()))
        with session.begin_nested():
            if existing is None:
                create_service(session, actor, organisation, data, now=now,
                               service_uuid=uuid.UUID(row["service_id"]) if row["service_id"] and session.scalar(
                                   select(Service.id).where(Service.uuid == uuid.UUID(row["service_id"]))) is None
                               else None)
                result.created += 1
            else:
                update_service(session, actor, existing, data, counts_as_verification=True, now=now)
                result.updated += 1
    pending.status, pending.decided_at = "confirmed", now
    record(session, actor, action=AuditAction.update, event_type=SocialmapTag.import_confirm,
           object_type="socialmap_pending_import", object_id=pending.id,
           detail={"created": result.created, "updated": result.updated, "skipped": result.skipped})
    return result


def _resolve(session: Session, actor: Principal, region: Region, info: dict[str, Any], choice: str | None,
             result: ImportResult) -> Organisation | None:
    if info.get("match"):
        return session.get(Organisation, info["match"])
    candidate_ids = {str(c["id"]) for c in info.get("candidates") or []}
    if choice is None and candidate_ids:
        choice = str(info["candidates"][0]["id"])  # the default is to merge, never to double
    if choice and choice in candidate_ids:
        return session.get(Organisation, int(choice))
    if not can_create_organisations(actor):
        return None
    organisation = create_organisation(session, actor, region=region, name=info["name"][:200],
                                       type=_creatable_type(info.get("type")))
    result.organisations_created.append(organisation.name)
    return organisation


def _creatable_type(code: str | None) -> OrganisationType:
    """Schools need a BRIN and employers a KvK number, which the sheet does not carry: such
    an organisation starts as "overig" and the hub admin completes it."""
    type_ = OrganisationType(code or "other")
    return OrganisationType.other if type_ in (OrganisationType.school, OrganisationType.werkgever) else type_


def can_create_organisations(actor: Principal) -> bool:
    return is_system(actor) or actor.has(Permission.organisation_manage)
