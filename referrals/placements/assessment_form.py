"""The employer's assessment form in the seed's own words (seed 001, Toolbox Transitieroute,
"Stap 5 > Bijlage 5.4: Beoordelingsformulier werkontwikkeling"): the header, the eindoordeel,
the two scales, the six competence groups with their items, and the closing "meer aandacht"
items. The one place the form's structure lives: the page, the checks, the PDF and the
comparison read it, and tests/referrals/test_placements_assessment_form.py checks every item
of the seed has its place here.

The seed's items speak of "hij" (the example is a young man); they are kept as written, as
the brief asks. The werkprocessen are not here: they are the placement's own list
(:attr:`Placement.werkprocessen`); the seed's eight (an administrative function) are an example.

Score values are stable codes stored with the assessment; the labels are what people see.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

#: the header fields of the form, in its order (filled from the placement)
HEADER = (
    ("deelnemer", _l("Naam deelnemer")),
    ("bedrijf", _l("Naam bedrijf")),
    ("setting", _l("Setting")),
    ("functie", _l("Functie")),
    ("beoordelaar", _l("Naam beoordelaar")),
    ("begeleider", _l("Naam begeleider")),
    ("datum", _l("Datum beoordeling")),
)

#: the detailbeoordeling of the werkprocessen ("Werkprocessen tijdens de stage")
TASK_SCALE = (
    ("not_able", _l("Kan de taak niet uitvoeren")),
    ("guided", _l("Kan de taak uitvoeren onder begeleiding")),
    ("independent", _l("Kan de taak zelfstandig uitvoeren")),
    ("na", _l("n.v.t.")),
)

#: the competence items
COMPETENCE_SCALE = (
    ("not_shown", _l("Laat competentie niet zien")),
    ("when_directed", _l("Laat competentie zien na aansturing")),
    ("own_initiative", _l("Laat competentie zien op eigen initiatief")),
    ("na", _l("n.v.t.")),
)

TASK_VALUES = frozenset(code for code, _label in TASK_SCALE)
COMPETENCE_VALUES = frozenset(code for code, _label in COMPETENCE_SCALE)
#: the order of a scale, for the comparison (n.v.t. has none)
RANK = {"not_able": 0, "guided": 1, "independent": 2, "not_shown": 0, "when_directed": 1, "own_initiative": 2}


@dataclass(frozen=True)
class Item:
    #: "1a" … "6d": the group's number and the item's letter, as the form numbers them
    key: str
    letter: str
    text: str


@dataclass(frozen=True)
class Group:
    number: int
    title: str
    items: tuple[Item, ...]


def _group(number: int, title: str, *texts: str) -> Group:
    letters = "abcdefghij"
    return Group(number, title, tuple(Item(f"{number}{letters[i]}", letters[i], text) for i, text in enumerate(texts)))


#: the eindoordeel: two yes/no questions and two open ones (the seed's "Zo nee" and "Zo ja")
HIRE_QUESTION = _l("Zou u de deelnemer aannemen?")
DEVELOP_QUESTION = _l("Kan de deelnemer zich ontwikkelen in werkprocessen/beroepsrichting?")
IF_NOT_QUESTION = _l("Zo nee, in welke werkprocessen/beroepsrichting ziet u wel mogelijkheden?")
IF_SO_QUESTION = _l("Zo ja, wat moet de deelnemer echt ontwikkelen om een kans te maken op werk in deze "
                    "werkprocessen/beroepsrichting?")
YES_NO = (("ja", _l("Ja")), ("nee", _l("Nee")))

#: the competence groups of the detailbeoordeling, each item as the seed writes it (Dutch: the
#: form is the field's own; its texts are not translated)
GROUPS: tuple[Group, ...] = (
    _group(1, "Goed werknemerschap",
           "Hij volgt instructies op en houdt zich aan de regels van het bedrijf. Zoals op tijd komen, "
           "kledingvoorschriften, ziekmelding, mobiele telefoon.",
           "Hij past zich aan aan de bedrijfscultuur en past verschillende sociale regels toe. Zoals aanbieden "
           "van koffie, vragen naar het weekend, nemen van pauzes tegelijk met collega's.",
           "Hij plant en overlegt adequaat over vrije dagen en andere noodzakelijke afspraken "
           "(bijvoorbeeld voor een bezoek aan een arts).",
           "Hij toont initiatief door een actieve opstelling, aanbieden van hulp en vragen van opdrachten.",
           "Hij heeft voldoende tempo in het werk.",
           "Hij voert ook taken uit die naast de directe taakomschrijving vallen."),
    _group(2, "Omgaan met collega’s",
           "Hij spreekt met collega's tijdens werk of in pauzes. Informeert naar en toont interesse in anderen.",
           "Hij maakt werk af en koppelt dit terug naar collega/leidinggevende.",
           "Als hij zijn werk niet af krijgt, zegt hij dit aan collega/leidinggevende.",
           "Hij kan zich op een gepaste manier in een gesprek mengen als hij iets wil vragen/zeggen."),
    _group(3, "Omgaan met opdrachten",
           "Hij accepteert opdrachten en doet wat hem gevraagd wordt.",
           "Hij stelt vragen om duidelijk te krijgen wat hij moet doen (wie, wat, waar, wanneer, waarom).",
           "Hij vraagt zelf bevestiging om te weten of hij goed bezig is.",
           "Hij laat zich (zijn werk) corrigeren.",
           "Hij kan omgaan met kritiek/correctie en zet dit om in handelen.",
           "Hij geeft duidelijk en adequaat aan als hij iets (nog) niet kan/wil."),
    _group(4, "Omgaan met problemen",
           "Hij lost problemen zelf op, als dat mogelijk is.",
           "Hij vraagt om hulp of advies aan anderen om het probleem op te lossen."),
    _group(5, "Zorgdragen voor kwaliteit",
           "Hij werkt nauwkeurig en geconcentreerd.",
           "Hij gaat zorgvuldig om met materialen en procedures.",
           "Hij neemt initiatief om de kwaliteit van zijn werk te verbeteren.",
           "Hij is kritisch op het resultaat van zijn werk."),
    _group(6, "Plannen en organiseren",
           "Hij plant zijn taken (per dag, per week etc.).",
           "Hij stelt prioriteiten in af te ronden taken.",
           "Hij bereidt zijn werkzaamheden voor (als dit nodig is om de taak naar behoren uit te kunnen voeren).",
           "Hij houdt rekening met zijn energiehuishouding om een goede balans te vinden wat betreft "
           "belastbaarheid in werk en privé."),
)

ITEMS = {item.key: item for group in GROUPS for item in group.items}

#: "Ruimte voor suggesties en opmerkingen: Er moet meer aandacht besteed worden aan:"
ATTENTION_INTRO = "Er moet meer aandacht besteed worden aan:"
ATTENTION = (
    ("betrouwbaarheid", "Betrouwbaarheid (bv. op tijd zijn, afspraken nakomen, correcte afmelding)"),
    ("samenwerking", "Samenwerking (bv. groeten, overleggen, praatje maken met anderen)"),
    ("presentatie", "Presentatie/houding (bv. kleding, uiterlijk, houding)"),
    ("uiting", "Uiting geven aan wie je bent (bv. Wie ben je? Wat heb je? Wat kan je wel/niet? Wat heb je nodig?"),
    ("taakgericht", "Taakgericht communiceren (Wat moet ik doen? Hoe moet ik het doen? Kun je mij even helpen?)"),
)
ATTENTION_KEYS = frozenset(key for key, _text in ATTENTION)
ATTENTION_LABELS = dict(ATTENTION)

TASK_LABELS = dict(TASK_SCALE)
COMPETENCE_LABELS = dict(COMPETENCE_SCALE)
