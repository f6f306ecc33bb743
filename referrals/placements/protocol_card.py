"""The visitekaartje as a PDF (seed 001, Bijlage 5.2): one A4 page for the student and the
praktijkopleider with who to call in which situation. fpdf2's core fonts, text folded to
latin-1 by :func:`consent.agreements.pdf.pdf_text` (as the agreement's PDF does)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from consent.agreements.pdf import pdf_text
from referrals.placements.models import Placement
from referrals.placements.protocol_reads import Contact
from referrals.placements.states import KIND_LABELS


def render_card_pdf(placement: Placement, student_name: str | None, people: list[Contact]) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(str(_l("Visitekaartje stage"))))
    pdf.set_author("Schakel")
    pdf.set_creator("Schakel")
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: int = 10, style: str = "", height: int = 5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(str(_l("Visitekaartje stage")), 16, "B", 9)
    what = str(_l("%(kind)s bij %(company)s", kind=KIND_LABELS[placement.kind], company=placement.company_name))
    line(f"{student_name} - {what}" if student_name else what, 11)
    line(str(_l("Van %(start)s tot %(end)s", start=placement.start_date.strftime("%d-%m-%Y"),
                end=placement.end_date.strftime("%d-%m-%Y"))), 10)
    pdf.ln(4)
    line(str(_l("Wie belt u of bel je wanneer?")), 13, "B", 7)
    for person in people:
        pdf.ln(2)
        line(f"{person.role}: {person.name}", 11, "B", 6)
        if person.phone:
            line(str(_l("Telefoon: %(phone)s", phone=person.phone)))
        if person.email:
            line(str(_l("E-mail: %(email)s", email=person.email)))
        line(person.when, 10, "I")
    return bytes(pdf.output())
