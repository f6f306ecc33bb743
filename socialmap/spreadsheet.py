"""The sociale kaart as a spreadsheet, with the columns people use today (seed 001, appendix
1.4: Organisatie, Waarvoor te benaderen, Afdeling, Contactpersoon, Contactgegevens, …).

CSV for Dutch Excel: UTF-8 with a BOM, ``;`` as separator, and every cell that a spreadsheet
would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
prefixed with ``'`` (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from socialmap.models import Service, TagVocabulary
from socialmap.vocab import (
    CAPACITY_LABELS,
    ORGANISATION_TYPE_LABELS,
    STATUS_LABELS,
    TARGET_GROUPS,
)

COLUMNS = ("Organisatie", "Soort organisatie", "Dienst", "Waarvoor te benaderen", "Afdeling", "Contactpersoon",
           "Functie", "Contactgegevens", "Intern/extern", "Doelgroepen", "Gemeenten", "Capaciteit", "Status",
           "Omschrijving", "Website", "Laatst gecontroleerd", "Id")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text, defused when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def service_row(service: Service, *, include_personal: bool) -> list[str]:
    contact = service.contacts[0] if include_personal and service.contacts else None
    details = ", ".join(x for x in ((contact.email, contact.phone) if contact else (service.email, service.phone)) if x)
    return [
        service.organisation.name, ORGANISATION_TYPE_LABELS.get(service.organisation.type, ""), service.name,
        ", ".join(c.name for c in service.categories), service.department or "",
        contact.name if contact else "", (contact.title or "") if contact else "", details,
        "intern" if service.is_internal else "extern",
        ", ".join(TARGET_GROUPS.get(c, c) for c in service.tag_codes(TagVocabulary.target_group)),
        ", ".join(service.tag_codes(TagVocabulary.gemeente)),
        CAPACITY_LABELS[service.capacity] if service.capacity else "", STATUS_LABELS[service.status],
        service.description or "", service.url or "", service.verified_at.strftime("%d-%m-%Y"), str(service.uuid),
    ]


def csv_lines(services: Iterable[Service], *, include_personal: bool) -> Iterator[str]:
    """The CSV text in pieces (stream it): BOM, header, one line per entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    yield "\ufeff"
    writer.writerow(COLUMNS)
    for service in services:
        writer.writerow([safe_cell(v) for v in service_row(service, include_personal=include_personal)])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
