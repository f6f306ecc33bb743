"""The submitted assessment as a PDF: the seed's "Beoordelingsformulier werkontwikkeling" with
the header, the eindoordeel, the detailbeoordeling (with the latest earlier score beside each
item when there is one), the "meer aandacht" items, the toelichting and the assessor's
confirmation. fpdf2's core fonts, text folded by :func:`consent.agreements.pdf.pdf_text`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from consent.agreements.pdf import pdf_text
from referrals.placements.assessment_form import (
    ATTENTION_INTRO,
    ATTENTION_LABELS,
    DEVELOP_QUESTION,
    HIRE_QUESTION,
    IF_NOT_QUESTION,
    IF_SO_QUESTION,
)
from referrals.placements.assessment_models import PlacementAssessment
from referrals.placements.assessment_reads import TRENDS

EARLIER = _l("eerder")


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else str(_l("Ja") if value else _l("Nee"))


def render_assessment_pdf(assessment: PlacementAssessment, student_name: str | None, texts: dict,
                          rows: dict, earlier_count: int) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    title = "Beoordelingsformulier werkontwikkeling"
    pdf.set_title(title)
    pdf.set_author("Schakel")
    pdf.set_creator("Schakel")
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: int = 10, style: str = "", height: int = 5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(title, 16, "B", 9)
    header = ((_l("Naam deelnemer"), student_name or "—"), (_l("Naam bedrijf"), assessment.company_name),
              (_l("Setting"), assessment.setting), (_l("Functie"), assessment.function),
              (_l("Naam beoordelaar"), assessment.assessor_name), (_l("Naam begeleider"), assessment.supervisor_name),
              (_l("Datum beoordeling"), assessment.assessed_on.strftime("%d-%m-%Y") if assessment.assessed_on else ""))
    for label, value in header:
        line(f"{label}: {value or '—'}")
    pdf.ln(3)
    line(str(_l("Eindoordeel")), 13, "B", 7)
    line(f"{HIRE_QUESTION} {_yes_no(assessment.would_hire)}")
    line(f"{DEVELOP_QUESTION} {_yes_no(assessment.can_develop)}")
    for question, key in ((IF_NOT_QUESTION, "if_not"), (IF_SO_QUESTION, "if_so")):
        if texts.get(key):
            line(str(question), 10, "B")
            line(texts[key])
    pdf.ln(3)
    line(str(_l("Detailbeoordeling")), 13, "B", 7)
    if earlier_count:
        line(str(_l("Tussen haakjes: de vorige beoordeling en of de score nu hoger, lager of gelijk is.")), 9, "I")

    def scored(label: str, row) -> None:
        text = f"{label} {row.text}: {row.current}"
        if row.earlier:
            trend = f", {TRENDS[row.trend]}" if row.trend else ""
            text += f" ({EARLIER}: {row.earlier[-1]}{trend})"
        line(text, 9)

    line(str(_l("Werkprocessen tijdens de stage")), 11, "B", 6)
    for row in rows["werkprocessen"]:
        scored(row.label, row)
    for group, group_rows in rows["competences"]:
        line(f"{group.number}. {group.title}", 11, "B", 6)
        for row in group_rows:
            scored(row.label, row)
    pdf.ln(3)
    line(str(_l("Ruimte voor suggesties en opmerkingen")), 13, "B", 7)
    line(ATTENTION_INTRO, 10, "B")
    for key in assessment.attention or []:
        line(f"- {ATTENTION_LABELS[key]}")
    if not assessment.attention:
        line("—")
    line(str(_l("Toelichting:")), 10, "B")
    line(texts.get("toelichting") or "—")
    pdf.ln(3)
    signed = assessment.submitted_at.strftime("%d-%m-%Y") if assessment.submitted_at else ""
    line(str(_l("Bevestigd door %(name)s (\"ik bevestig dat dit mijn beoordeling is\") op %(date)s.",
                name=assessment.signed_name, date=signed)), 10, "I")
    return bytes(pdf.output())
