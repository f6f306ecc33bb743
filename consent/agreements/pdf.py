"""The printable agreement: one version as the print page and the PDF show it (title, student,
version number and status, the whole content, the parties with their commitments, who signed
when, the version hash, and the verification code with a QR code of the public verification
page), so a paper copy can be checked by anyone.

:func:`printable` gathers it from an agreement the caller already found and read (decided and
audited); :func:`render_pdf` lays it out with fpdf2's core fonts. Those speak latin-1 only, so
:func:`pdf_text` folds every other character to its closest latin-1 form (NFKD: "ł" → "l",
"–" → "-") or "?", and a PDF never fails on what someone typed.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import segno
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from consent.agreements.content import flatten
from consent.agreements.models import Agreement, AgreementVersion
from consent.agreements.overview import KIND_LABELS, METHOD_LABELS, VERSION_STATUS_LABELS, labels_for
from consent.agreements.service import content_of
from network.crypto import DecryptionError, Keyring


@dataclass
class Line:
    section: str
    label: str
    text: str


@dataclass
class Signed:
    party: str
    role: str
    signer: str
    organisation: str | None
    on_behalf_of: str | None
    signed_at: dt.datetime
    method: str
    kid: str | None
    declined: bool
    reason: str | None


@dataclass
class Printable:
    """One version, ready to print."""

    agreement: Agreement
    version: AgreementVersion
    title: str
    kind: str
    student_name: str
    status: str
    #: the content as readable lines; None when it cannot be decrypted (changed in the database)
    lines: list[Line] | None
    parties: list[Any]
    signatures: list[Signed]
    hash: str | None
    code: str
    verify_url: str
    qr_data_uri: str
    sections: list[tuple[str, list[Line]]] = field(default_factory=list)


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error="m")


def qr_svg_data_uri(url: str) -> str:
    """The QR code of ``url`` as an SVG ``data:`` URI (the CSP allows ``img-src data:``)."""
    return qr_code(url).svg_data_uri(scale=4, border=2)


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def printable(session: Session, keyring: Keyring, agreement: Agreement, version: AgreementVersion, *,
              verify_url: str) -> Printable:
    """The printable form of ``version`` (the caller has read the agreement: decided, audited)."""
    try:
        content = content_of(keyring, version)
    except (DecryptionError, ValueError):
        content = None
    lines = None
    sections: list[tuple[str, list[Line]]] = []
    if content is not None:
        lines = [Line(str(section), str(label), str(text))
                 for _key, section, label, text in flatten(agreement.kind, content, labels_for(session, agreement))]
        for line in lines:
            if not sections or sections[-1][0] != line.section:
                sections.append((line.section, []))
            sections[-1][1].append(line)
    names = {p.key: p.name for p in version.parties}
    signatures = [Signed(party=names.get(s.party_key, s.party_key), role=s.role, signer=s.signer_name,
                         organisation=s.signer_organisation, on_behalf_of=s.on_behalf_of, signed_at=s.signed_at,
                         method=str(METHOD_LABELS.get(s.method, s.method)), kid=s.kid, declined=s.declined,
                         reason=s.decline_reason) for s in version.signatures]
    return Printable(agreement=agreement, version=version, title=agreement.title,
                     kind=str(KIND_LABELS[agreement.kind]), student_name=agreement.student.full_name,
                     status=str(VERSION_STATUS_LABELS[version.status]), lines=lines, parties=list(version.parties),
                     signatures=signatures, hash=version.content_hash, code=agreement.verify_code,
                     verify_url=verify_url, qr_data_uri=qr_svg_data_uri(verify_url), sections=sections)


# -- PDF ---------------------------------------------------------------------------------------

_REPLACEMENTS = {"\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201c": '"', "\u201d": '"', "\u201e": '"',
                 "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u20ac": "EUR", "\u2022": "-",
                 "\u00a0": " ", "\t": "    ", "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D",
                 "\u0131": "i", "\u0153": "oe", "\u0152": "OE"}


def pdf_text(value: Any) -> str:
    """``value`` as text the PDF core fonts can show: latin-1 as is, anything else folded to
    its closest latin-1 form (NFKD without accents), else "?"; control characters dropped."""
    out = []
    for char in str(value if value is not None else ""):
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        elif char == "\n" or (char.isprintable() and ord(char) < 256):
            out.append(char)
        elif char.isprintable():
            folded = "".join(c for c in unicodedata.normalize("NFKD", char)
                             if not unicodedata.combining(c) and ord(c) < 256 and c.isprintable())
            out.append(folded or "?")
    return "".join(out)


@functools.cache
def _pdf_class() -> type:
    """fpdf2 (with fontTools and Pillow, ~40 MB per process) is imported on the first PDF, not
    when the hub starts: most workers never make one (issue 8, RSS per worker)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class _Pdf(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, pdf_text(self.footer_text), align="L")
            self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    return _Pdf


def _when(value: dt.datetime | None) -> str:
    return format_datetime(value, "short") if value else "-"


def render_pdf(doc: Printable) -> bytes:
    """The PDF of a printable version: the same information as the print page, with the QR
    code image of the verification page and the hash."""
    # fpdf2 loads with the first PDF, not with the hub (see _pdf_class)
    from fpdf.enums import XPos, YPos

    pdf = _pdf_class()(format="A4")
    pdf.footer_text = str(_l("%(title)s, versie %(n)s. Controleer op %(url)s", title=doc.title,
                             n=doc.version.number, url=doc.verify_url))
    pdf.set_title(pdf_text(f"{doc.title} - versie {doc.version.number}"))
    pdf.set_author("Schakel")
    pdf.set_creator("Schakel")
    pdf.set_auto_page_break(True, margin=18)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(width, 7, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=10)

    def pair(label: str, value: Any) -> None:
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(width, 5, pdf_text(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(width, 5, pdf_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    heading(f"{doc.title}", 16)
    pdf.set_font("Helvetica", size=10)
    pair(str(_l("Soort")), doc.kind)
    pair(str(_l("Leerling")), doc.student_name)
    pair(str(_l("Versie")), f"{doc.version.number} ({doc.status})")
    pair(str(_l("Aangeboden ter ondertekening")), _when(doc.version.offered_at))
    pair(str(_l("Hash van deze versie (SHA-256)")), doc.hash or str(_l("nog niet aangeboden: geen hash")))

    if doc.lines is None:
        heading(str(_l("Inhoud")))
        pdf.multi_cell(width, 5, pdf_text(_l("De inhoud van deze versie is beschadigd of buiten Schakel gewijzigd; "
                                             "hij kan niet worden getoond.")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for section, lines in doc.sections:
        heading(section)
        for line in lines:
            pair(line.label, line.text)

    heading(str(_l("Partijen en toezeggingen")))
    for party in doc.parties:
        signs = _l("tekent") if party.signs else _l("tekent niet")
        pair(f"{party.name} ({party.role}, {signs})", party.commitment or "-")

    heading(str(_l("Handtekeningen")))
    if not doc.signatures:
        pdf.multi_cell(width, 5, pdf_text(_l("Nog niemand heeft deze versie ondertekend.")),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for signed in doc.signatures:
        who = signed.signer + (f", {signed.organisation}" if signed.organisation else "")
        if signed.on_behalf_of:
            who += str(_l(", namens %(name)s", name=signed.on_behalf_of))
        if signed.declined:
            text = str(_l("Geweigerd door %(who)s op %(when)s. Reden: %(reason)s", who=who,
                          when=_when(signed.signed_at), reason=signed.reason or "-"))
        else:
            text = str(_l("Ondertekend door %(who)s op %(when)s, %(method)s. Sleutel: %(kid)s", who=who,
                          when=_when(signed.signed_at), method=signed.method, kid=signed.kid or "-"))
        pair(f"{signed.party} ({signed.role})", text)

    heading(str(_l("Controleren")))
    pdf.multi_cell(width, 5, pdf_text(_l("Iedereen kan controleren of deze versie echt zo is ondertekend: ga naar "
                                         "%(url)s of scan de QR-code. Controlecode: %(code)s",
                                         url=doc.verify_url, code=doc.code)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    if pdf.get_y() + 45 > pdf.h - 18:
        pdf.add_page()
    pdf.image(io.BytesIO(qr_png(doc.verify_url)), w=40, h=40,
              alt_text=pdf_text(_l("QR-code naar de controlepagina %(url)s", url=doc.verify_url)))
    pdf.ln(2)
    pdf.set_font("Courier", size=9)
    pdf.multi_cell(width, 5, pdf_text(f"{_l('Controlecode')}: {doc.code}\nSHA-256: {doc.hash or '-'}"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())

