"""The sociale kaart as a spreadsheet, with the columns people use today (seed 001, appendix
1.4: Organisatie, Waarvoor te benaderen, Afdeling, Contactpersoon, Contactgegevens, …).

CSV for Dutch Excel: UTF-8 with a BOM, ``;`` as separator, and every cell that a spreadsheet
would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
prefixed with ``'`` (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator

import xlsxwriter
from flask_babel import gettext as _

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


def xlsx_file(services: Iterable[Service], path: str, *, include_personal: bool) -> None:
    """Write the entries as an Excel workbook to ``path`` (XlsxWriter in constant-memory mode:
    rows go to disk as they come). Every cell is written as text, and defused as in the CSV,
    so that a later save as CSV stays harmless too."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("Sociale kaart")
    bold = workbook.add_format({"bold": True})
    for column, title in enumerate(COLUMNS):
        sheet.write_string(0, column, title, bold)
    sheet.freeze_panes(1, 0)
    for row, service in enumerate(services, 1):
        for column, value in enumerate(service_row(service, include_personal=include_personal)):
            sheet.write_string(row, column, safe_cell(value))
    workbook.close()


# -- reading an upload -----------------------------------------------------------------------

#: the columns an import needs (seed 001, appendix 1.4); the others of :data:`COLUMNS` are optional
REQUIRED_COLUMNS = ("Organisatie", "Waarvoor te benaderen", "Afdeling", "Contactpersoon", "Contactgegevens")
MAX_ROWS = 10_000
MAX_BYTES = 10 * 1024 * 1024


class SpreadsheetError(Exception):
    """The file as a whole cannot be read; ``message`` says why, in Dutch."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _unsafe_prefix_removed(text: str) -> str:
    """Undo :func:`safe_cell`: ``'=A1`` as exported comes back as ``=A1``."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def read_rows(filename: str, content: bytes) -> tuple[str, list[str], list[list[str]]]:
    """(format, header, data rows) of an uploaded CSV or XLSX file, every cell as stripped text.

    Raises :class:`SpreadsheetError` with a Dutch message for an empty or too big file, a CSV
    that is not UTF-8, a damaged workbook, missing columns or more than :data:`MAX_ROWS` rows.
    """

    if not content:
        raise SpreadsheetError(_("Het bestand is leeg."))
    if len(content) > MAX_BYTES:
        raise SpreadsheetError(_("Het bestand is groter dan 10 MB. Splits het op in kleinere bestanden."))
    is_xlsx = content[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    rows = _xlsx_rows(content) if is_xlsx else _csv_rows(content)
    header: list[str] = []
    for row in rows:
        if any(row):
            header = [cell.strip() for cell in row]
            break
    if not header:
        raise SpreadsheetError(_("Het bestand heeft geen kopregel met kolomnamen."))
    known = {c.lower() for c in header}
    missing = [c for c in REQUIRED_COLUMNS if c.lower() not in known]
    if missing:
        raise SpreadsheetError(_("Deze kolommen ontbreken: %(columns)s. De eerste regel moet de kolomnamen bevatten, "
                                 "zoals in de export.", columns=", ".join(missing)))
    data: list[list[str]] = []
    for row in rows:
        if not any(row):
            continue
        data.append([_unsafe_prefix_removed(cell.strip()) for cell in row])
        if len(data) > MAX_ROWS:
            raise SpreadsheetError(_("Het bestand heeft meer dan 10.000 regels. Splits het op in kleinere bestanden."))
    return ("xlsx" if is_xlsx else "csv"), header, data


def _csv_rows(content: bytes) -> Iterator[list[str]]:

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError(_("Het bestand is niet in UTF-8 opgeslagen. Kies in Excel 'Opslaan als' en dan "
                                 "'CSV UTF-8 (door lijstscheidingsteken gescheiden)'.")) from None
    if "\x00" in text:
        raise SpreadsheetError(_("Dit is geen CSV- of Excel-bestand (.csv of .xlsx)."))
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return iter([[cell for cell in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)])


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    # openpyxl (~200 modules, ~8 MB per process) loads on the first uploaded .xlsx, not when the hub
    # starts: only the import page reads Excel files (as fpdf2 in consent.agreements.pdf)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise SpreadsheetError(_("Dit Excel-bestand is beschadigd of geen .xlsx-bestand. Sla het opnieuw op als "
                                 "Excel-werkmap (.xlsx).")) from None
    sheet = workbook.worksheets[0]
    if (sheet.max_row or 0) > MAX_ROWS + 1:
        workbook.close()
        raise SpreadsheetError(_("Het bestand heeft meer dan 10.000 regels. Splits het op in kleinere bestanden."))

    def cells():
        try:
            for row in sheet.iter_rows(values_only=True):
                yield ["" if v is None else (v.strftime("%d-%m-%Y") if hasattr(v, "strftime") else str(v))
                       for v in row]
        finally:
            workbook.close()

    return iter(list(cells()))
