"""The Dutch vocabularies of the sociale kaart, as plain Dutch strings.

The strings are the msgids: templates translate them with ``_(label)``, and the search index
and the HSDS taxonomies use the Dutch text itself (``N_`` only marks them for extraction).
The "waarvoor te benaderen" categories are data (:class:`socialmap.models.Category`); the
default set is :data:`DEFAULT_CATEGORIES`.
"""

from __future__ import annotations

import uuid

from network.models import OrganisationType
from socialmap.models import CapacityStatus, ServiceStatus


def N_(text: str) -> str:
    return text


#: (code, name, description): seed 001 appendix 1.4
DEFAULT_CATEGORIES = (
    ("overleg", N_("Overleg"), N_("Afstemmen over een student of een aanpak.")),
    ("begeleiding", N_("Begeleiding"), N_("Begeleiding van de student naar en op werk.")),
    ("kennis", N_("Kennis"), N_("Kennis en advies over regelingen, doelgroepen en werk.")),
    ("werkgeversnetwerk", N_("Werkgeversnetwerk"), N_("Contacten met werkgevers en vacatures.")),
    ("regelruimte", N_("Regelruimte"), N_("Ruimte om van de regels af te wijken als dat nodig is.")),
    ("financiering", N_("Financiering"), N_("Geld voor begeleiding, aanpassingen of loonkosten.")),
    ("stageplaatsen", N_("Stageplaatsen"), N_("Stage- en leerwerkplekken voor studenten.")),
)

CAPACITY_LABELS = {
    CapacityStatus.plek: N_("Plek"),
    CapacityStatus.wachtlijst: N_("Wachtlijst"),
    CapacityStatus.eerst_overleg: N_("Eerst overleg"),
    CapacityStatus.vol: N_("Vol"),
}

STATUS_LABELS = {
    ServiceStatus.active: N_("Actief"),
    ServiceStatus.inactive: N_("Niet actief"),
    ServiceStatus.defunct: N_("Opgeheven"),
    ServiceStatus.temporarily_closed: N_("Tijdelijk gesloten"),
}

TARGET_GROUPS = {
    "entree": N_("Entree (mbo niveau 1)"),
    "pro": N_("Praktijkonderwijs (PrO)"),
    "vso": N_("Voortgezet speciaal onderwijs (VSO)"),
    "mbo2": N_("mbo niveau 2"),
    "mbo3": N_("mbo niveau 3"),
    "mbo4": N_("mbo niveau 4"),
    "doelgroepregister": N_("Doelgroepregister (banenafspraak)"),
    "vsv": N_("Voortijdig schoolverlaters"),
}

OFFERS = {
    "aangepaste_werkplek": N_("Aangepaste werkplek"),
    "coaching_op_de_werkvloer": N_("Coaching op de werkvloer"),
    "opbouw_tijd_inhoud": N_("Opbouw in tijd en inhoud"),
    "baanperspectief": N_("Perspectief op een baan"),
    "ervaring_doelgroep": N_("Ervaring met de doelgroep"),
}

#: the kinds of internship place an employer offers (issue 19, item 5): the same codes as
#: ``referrals.placements.states.PlacementKind`` (socialmap does not import referrals; a test
#: keeps the two equal), so a company's places and its placements meet on one code
PLACE_KINDS = {
    "snuffelstage": N_("Snuffelstage"),
    "bpv": N_("BPV (stage)"),
    "eindstage": N_("Eindstage"),
    "plaatsingsstage": N_("Plaatsingsstage"),
    "leerbaan": N_("Leerbaan (BBL)"),
    "proefplaatsing": N_("Proefplaatsing"),
}

#: the adaptations a workplace offers (seed 002: what schools ask of a stagebedrijf): code ->
#: label; :data:`ADAPTATION_WORDS` are the words of a support need each one answers (the
#: matching of referrals.placements shows which word matched)
ADAPTATIONS = {
    "vaste_begeleider": N_("Vaste begeleider op de werkvloer"),
    "vaste_werkplek": N_("Vaste werkplek en vaste taken"),
    "dagplanning": N_("Vooraf een dagplanning"),
    "rustige_werkplek": N_("Rustige werkplek met weinig prikkels"),
    "aangepaste_werktijden": N_("Aangepaste werktijden of minder uren"),
    "instructie_in_stappen": N_("Instructies in kleine stappen, met plaatjes"),
    "fysieke_aanpassing": N_("Fysiek aangepaste werkplek"),
    "jobcoach_welkom": N_("Jobcoach welkom op de werkvloer"),
}
ADAPTATION_WORDS = {
    "vaste_begeleider": ("vaste begeleider", "begeleider", "begeleiding", "aanspreekpunt"),
    "vaste_werkplek": ("vaste plek", "vaste werkplek", "vaste taken", "structuur", "duidelijkheid"),
    "dagplanning": ("vooraf weten", "planning", "dagprogramma", "voorspelbaar"),
    "rustige_werkplek": ("rust", "prikkel", "drukte", "geluid", "overprikkel"),
    "aangepaste_werktijden": ("minder uren", "werktijden", "korte dagen", "energie", "vermoeid", "pauze"),
    "instructie_in_stappen": ("stappen", "instructie", "uitleg", "plaatjes", "lezen", "taal"),
    "fysieke_aanpassing": ("rolstoel", "fysiek", "lichamelijk", "hulpmiddel", "tillen", "rug"),
    "jobcoach_welkom": ("jobcoach", "jobcoaching"),
}

ORGANISATION_TYPE_LABELS = {
    OrganisationType.school: N_("School"),
    OrganisationType.gemeente: N_("Gemeente"),
    OrganisationType.uwv: N_("UWV"),
    OrganisationType.wsp: N_("Werkgeversservicepunt"),
    OrganisationType.rmc: N_("RMC"),
    OrganisationType.sbb: N_("SBB"),
    OrganisationType.leerwerkloket: N_("Leerwerkloket"),
    OrganisationType.mee: N_("MEE"),
    OrganisationType.zorg: N_("Zorg"),
    OrganisationType.werkgever: N_("Werkgever"),
    OrganisationType.hub: N_("Regionale hub"),
    OrganisationType.other: N_("Overig"),
}

# -- HSDS taxonomies: stable ids, derived from one namespace ---------------------------------

HSDS_NAMESPACE = uuid.UUID("6f1c3a52-8e0b-4b7e-9a55-3c1d2f0e7a10")


def stable_uuid(*parts: object) -> uuid.UUID:
    """A UUID that is the same on every hub for the same parts (taxonomy terms, derived ids)."""
    return uuid.uuid5(HSDS_NAMESPACE, "/".join(str(p) for p in parts))


#: code -> (name, description) of the taxonomies the hub publishes
TAXONOMIES = {
    "waarvoor-te-benaderen": (N_("Waarvoor te benaderen"),
                              N_("Waarvoor een school een organisatie kan benaderen (sociale kaart, seed 001).")),
    "doelgroep": (N_("Doelgroep"), N_("Voor welke studenten een dienst bedoeld is.")),
    "aanbod-werkgever": (N_("Aanbod werkgever"),
                         N_("Wat een werkgever studenten met een ondersteuningsbehoefte biedt.")),
    "capaciteit": (N_("Capaciteit"), N_("Of er nu plek is; de waarde is de datum van de stand.")),
    "organisatiesoort": (N_("Soort organisatie"), N_("De soort organisatie in de route van school naar werk.")),
    "kenmerk": (N_("Kenmerk"), N_("Overige kenmerken van een dienst; de waarde staat in het attribuut.")),
}

#: the "kenmerk" terms: code -> name
FEATURES = {
    "afdeling": N_("Afdeling"),
    "sector": N_("Sector"),
    "sbb-erkend": N_("Erkend leerbedrijf (SBB)"),
    "intern": N_("Interne dienst van de school"),
}


def taxonomy_id(code: str) -> uuid.UUID:
    return stable_uuid("taxonomy", code)


def term_id(taxonomy: str, code: str) -> uuid.UUID:
    return stable_uuid("term", taxonomy, code)
