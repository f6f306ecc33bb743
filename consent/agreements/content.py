"""What an agreement holds, as data: the sections of the school-naar-werk-plan (seed 001,
appendix 4.1; seed 004) and of the privacy agreement, each a list of fields and repeating
rows. The edit forms, their marshmallow schemas (:mod:`consent.agreements.forms`), the
read-out, the print view and the diff between versions (here) all follow these lists.

A version's content is one JSON document ``{section code: {field code: value, rows code:
[{column: value}, ...]}}``; empty values are left out, so two versions that say the same thing
are the same document.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from consent.agreements.models import AgreementKind

TEXT, AREA, DATE, CHOICE, CHECKS = "text", "textarea", "date", "choice", "checks"
MAX_TEXT, MAX_AREA = 200, 4000

#: employee and occupational skills are scored onvoldoende / voldoende / goed
OVG = (("O", _l("Onvoldoende")), ("V", _l("Voldoende")), ("G", _l("Goed")))
SKILL_KINDS = (("werknemer", _l("Werknemersvaardigheid")), ("beroep", _l("Beroepsvaardigheid")))
AVG_ROLES = (
    ("verwerkingsverantwoordelijke", _l("Verwerkingsverantwoordelijke")),
    ("gezamenlijk-verwerkingsverantwoordelijke", _l("Gezamenlijk verwerkingsverantwoordelijke")),
    ("verwerker", _l("Verwerker")),
    ("betrokkene", _l("Betrokkene (de leerling)")),
)
BASIS_KINDS = (
    ("toestemming", _l("Toestemming van de leerling (AVG art. 6 lid 1a; art. 9 lid 2a)")),
    ("wettelijke-taak", _l("Wettelijke taak (AVG art. 6 lid 1c/e)")),
    ("overeenkomst", _l("Uitvoering van een overeenkomst (AVG art. 6 lid 1b)")),
)


@dataclass(frozen=True)
class Field:
    code: str
    label: Any
    kind: str = AREA
    hint: Any = None
    #: (value, label) pairs for CHOICE; for CHECKS and some CHOICE fields the view supplies
    #: them (``source``: "purposes", "categories", "parties")
    choices: tuple[tuple[str, Any], ...] = ()
    source: str | None = None
    #: must be filled in before the version can be offered for signature
    required_to_offer: bool = False

    @property
    def max_length(self) -> int:
        return MAX_AREA if self.kind == AREA else MAX_TEXT


@dataclass(frozen=True)
class Rows:
    """A repeating group (people involved, action points, ...): a table in the form, with a
    few empty rows to add to (no JavaScript needed); a row left empty is dropped."""

    code: str
    label: Any
    columns: tuple[Field, ...]
    hint: Any = None
    blank_rows: int = 2
    max_rows: int = 30
    required_to_offer: bool = False


@dataclass(frozen=True)
class Section:
    code: str
    title: Any
    items: tuple[Field | Rows, ...]
    intro: Any = None

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(i for i in self.items if isinstance(i, Field))

    @property
    def rows(self) -> tuple[Rows, ...]:
        return tuple(i for i in self.items if isinstance(i, Rows))


F = Field

PLAN_SECTIONS: tuple[Section, ...] = (
    Section("future", _l("Toekomstbeeld"), (
        F("goal", _l("Wat is jouw doel?"), hint=_l("In de woorden van de student.")),
        F("occupation", _l("Toekomstig beroep"), TEXT),
        F("steps", _l("Welke stappen zet je daarvoor?")),
    )),
    Section("people", _l("Betrokken personen"), (
        Rows("people", _l("Wie zijn erbij betrokken?"), (
            F("name", _l("Naam"), TEXT), F("relation", _l("Functie of relatie"), TEXT),
            F("contact", _l("Contactgegevens"), TEXT))),
    )),
    Section("experience", _l("Ervaring en netwerk"), (
        F("applying", _l("Sollicitatie-ervaring"), hint=_l("Cv, sollicitatietraining, gesprekken.")),
        F("network", _l("Netwerk"), hint=_l("Wie ken je die kan helpen bij werk?")),
        F("work", _l("Werkervaring"), hint=_l("Bijbaan, stages, vrijwilligerswerk.")),
    )),
    Section("jobs", _l("Mogelijke banen en bedrijven"), (
        Rows("jobs", _l("Banen en bedrijven die passen"), (
            F("job", _l("Baan"), TEXT), F("company", _l("Bedrijf"), TEXT),
            F("why", _l("Waarom past dit?"), TEXT))),
    )),
    Section("skills", _l("Vaardigheden"), (
        Rows("skills", _l("Werknemers- en beroepsvaardigheden"), (
            F("skill", _l("Vaardigheid"), TEXT), F("kind", _l("Soort"), CHOICE, choices=SKILL_KINDS),
            F("score", _l("Score"), CHOICE, choices=OVG), F("note", _l("Toelichting"), TEXT)),
            hint=_l("Score: O = onvoldoende, V = voldoende, G = goed.")),
    )),
    Section("internship", _l("Eindstage"), (
        F("company", _l("Bedrijf"), TEXT),
        F("role", _l("Functie"), TEXT),
        F("workplace_mentor", _l("Praktijkbegeleider"), TEXT),
        F("school_supervisor", _l("Begeleider vanuit school"), TEXT),
        F("start", _l("Begindatum"), DATE),
        F("end", _l("Einddatum"), DATE),
        F("goal_1", _l("Leerdoel 1"), TEXT),
        F("goal_2", _l("Leerdoel 2"), TEXT),
        F("goal_3", _l("Leerdoel 3"), TEXT),
    )),
    Section("support", _l("Ondersteuning en sterke kanten"), (
        F("support_need", _l("Ondersteuningsbehoefte voor werk"),
          hint=_l("Wat heb je nodig om goed te kunnen werken? Deel alleen wat nodig is.")),
        F("strengths", _l("Sterke kanten")),
        F("entitlements", _l("Voorzieningen"), hint=_l("Jobcoaching, beschut werk, zorg, doelgroepregister.")),
    )),
    Section("phases", _l("Fasen"), (
        F("school", _l("Schoolperiode"), hint=_l("Eindstage, vakken, loopbaanoriëntatie.")),
        F("transition", _l("Afronding en overgang")),
        F("after_school", _l("Na school"), hint=_l("Vervolgopleiding of werk: eerste baan, duurzaam werk.")),
    )),
    Section("extra_support", _l("Aanvullende ondersteuning"), (
        F("training", _l("Trainingen"), hint=_l("Bijvoorbeeld een empowermenttraining.")),
        F("coaching", _l("Coaching")),
        F("admin_help", _l("Hulp bij regelzaken")),
        F("broader_care", _l("Bredere zorg"), hint=_l("Wonen, gezondheid, schulden, justitie.")),
        F("other", _l("Overig")),
    )),
    Section("checks", _l("Checks & balances"), (
        F("contact_person", _l("Contactpersoon"), TEXT, required_to_offer=True),
        F("meetings", _l("Wanneer komen we bij elkaar?")),
        Rows("moments", _l("Kritische succesmomenten"), (
            F("date", _l("Datum"), DATE), F("what", _l("Wat is dan klaar?"), TEXT)),
            hint=_l("De contactpersoon krijgt op die dag een herinnering.")),
        F("fallback", _l("Terugvalstrategie: wat als een afspraak niet wordt nagekomen?"), required_to_offer=True),
        F("who_decides", _l("Wie beslist dan?"), TEXT, required_to_offer=True),
        F("objection", _l("Hoe maak je bezwaar?"), required_to_offer=True),
    )),
    Section("actions", _l("Actiepunten"), (
        Rows("actions", _l("Actiepunten"), (
            F("what", _l("Wat"), TEXT), F("who", _l("Wie"), TEXT), F("when", _l("Wanneer"), DATE))),
    )),
    Section("ownership", _l("Eigenaarschap"), (
        Rows("owners", _l("Wie is eigenaar van wat?"), (
            F("role", _l("Rol"), TEXT), F("who", _l("Wie"), TEXT))),
    )),
    Section("sharing", _l("Delen"), (
        F("shared_with", _l("Met wie wordt dit plan gedeeld?"),
          hint=_l("Het plan is vertrouwelijk. Delen met een organisatie vraagt een grondslag.")),
    )),
    Section("return_ticket", _l("Retourticket"), (
        F("certificate", _l("Certificaat of diploma"), TEXT),
        F("practice_statement", _l("Praktijkverklaring"), TEXT),
        F("later", _l("Later terug naar school"), hint=_l("Bijvoorbeeld later alsnog niveau 2.")),
    )),
)

PRIVACY_SECTIONS: tuple[Section, ...] = (
    Section("purposes", _l("Doelen"), (
        F("purposes", _l("Waarvoor worden gegevens gedeeld?"), required_to_offer=True),
    )),
    Section("flows", _l("Gegevensstromen"), (
        Rows("flows", _l("Wie deelt wat met wie, waarvoor en op welke grondslag?"), (
            F("recipient", _l("Ontvanger"), CHOICE, source="parties"),
            F("purpose", _l("Doel"), CHOICE, source="purposes"),
            F("categories", _l("Gegevens"), CHECKS, source="categories"),
            F("basis", _l("Grondslag"), CHOICE, choices=BASIS_KINDS)),
            required_to_offer=True, blank_rows=2),
    ), intro=_l("Elke stroom wordt vergeleken met de toestemmingen en wettelijke taken die in Schakel zijn "
                "vastgelegd.")),
    Section("retention", _l("Bewaren"), (
        F("retention", _l("Hoe lang worden de gegevens bewaard?"), required_to_offer=True),
        F("deletion", _l("Hoe worden ze daarna verwijderd?")),
    )),
    Section("plan_access", _l("Wie mag het plan zien"), (
        F("plan_readers", _l("Wie mag het school-naar-werk-plan inzien?"), CHECKS, source="parties"),
        F("notes", _l("Afspraken over inzage")),
    )),
)


def sections_for(kind: AgreementKind) -> tuple[Section, ...]:
    return PLAN_SECTIONS if kind is AgreementKind.plan else PRIVACY_SECTIONS


def find_section(kind: AgreementKind, code: str) -> Section | None:
    return next((s for s in sections_for(kind) if s.code == code), None)


# -- reading the content ------------------------------------------------------------------------

def missing_for_offer(kind: AgreementKind, content: dict[str, dict[str, Any]]) -> list[tuple[Section, Any]]:
    """The fields and row groups that must be filled in before a version can be signed."""
    missing = []
    for section in sections_for(kind):
        stored = content.get(section.code) or {}
        for item in section.items:
            if item.required_to_offer and not stored.get(item.code):
                missing.append((section, item))
    return missing


@dataclass
class Change:
    section: Any
    label: Any
    old: str | None
    new: str | None


def flatten(kind: AgreementKind, content: dict[str, Any], labels: dict[str, dict[str, str]] | None = None
            ) -> list[tuple[str, Any, Any, str]]:
    """The content as readable lines ``(key, section title, label, text)`` in form order, for
    the diff and the print view. ``labels`` turns codes into words per ``source``."""
    labels = labels or {}
    lines = []

    def text(item: Field, value: Any) -> str:
        names = dict(item.choices) if item.choices else labels.get(item.source or "", {})
        if isinstance(value, list):
            return ", ".join(str(names.get(v, v)) for v in value)
        return str(names.get(value, value)) if names else str(value)

    for section in sections_for(kind):
        stored = content.get(section.code) or {}
        for item in section.items:
            if isinstance(item, Field):
                if item.code in stored:
                    lines.append((f"{section.code}.{item.code}", section.title, item.label,
                                  text(item, stored[item.code])))
                continue
            for index, row in enumerate(stored.get(item.code) or []):
                cells = [f"{col.label}: {text(col, row[col.code])}" for col in item.columns if col.code in row]
                lines.append((f"{section.code}.{item.code}.{index}", section.title,
                              f"{item.label} {index + 1}", "; ".join(cells)))
    return lines


def diff(kind: AgreementKind, old: dict[str, Any], new: dict[str, Any], old_parties: list[dict[str, Any]],
         new_parties: list[dict[str, Any]], labels: dict[str, dict[str, str]] | None = None) -> list[Change]:
    """What changed between two versions, field by field (and party by party), in form order."""
    before = {key: (section, label, value) for key, section, label, value in flatten(kind, old, labels)}
    after = {key: (section, label, value) for key, section, label, value in flatten(kind, new, labels)}
    changes = []
    for key in list(dict.fromkeys([*before, *after])):
        b, a = before.get(key), after.get(key)
        if b and a and b[2] == a[2]:
            continue
        section, label = (a or b)[0], (a or b)[1]
        changes.append(Change(section, label, b[2] if b else None, a[2] if a else None))

    def party_text(p: dict[str, Any]) -> str:
        parts = [f"{p['name']} ({p['role']})"]
        if p.get("contact"):
            parts.append(str(_l("contact: %(c)s", c=p["contact"])))
        if p.get("commitment"):
            parts.append(str(_l("toezegging: %(t)s", t=p["commitment"])))
        return "; ".join(parts)

    old_p = {p["key"]: party_text(p) for p in old_parties}
    new_p = {p["key"]: party_text(p) for p in new_parties}
    for key in list(dict.fromkeys([*old_p, *new_p])):
        if old_p.get(key) != new_p.get(key):
            name = next(p["name"] for p in [*new_parties, *old_parties] if p["key"] == key)
            changes.append(Change(_l("Partijen en toezeggingen"), name, old_p.get(key), new_p.get(key)))
    return changes


def review_moments(content: dict[str, Any]) -> list[tuple[dt.date, str]]:
    """The dated critical success moments of a plan's checks & balances."""
    found = []
    for row in (content.get("checks") or {}).get("moments") or []:
        try:
            day = dt.date.fromisoformat(row.get("date", ""))
        except ValueError:
            continue
        found.append((day, row.get("what") or ""))
    return found


@dataclass
class Completeness:
    """Which sections hold anything, for the overview."""

    filled: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def completeness(kind: AgreementKind, content: dict[str, Any]) -> Completeness:
    result = Completeness()
    for section in sections_for(kind):
        (result.filled if content.get(section.code) else result.empty).append(section.code)
    return result

