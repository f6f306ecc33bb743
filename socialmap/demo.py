"""The sociale kaart of the demo region Waalrand (``network.demo``): about forty made-up
entries over every organisation type, employers included, with contacts at ``.example``
addresses, capacities, target groups and a few stale entries so the freshness dashboard has
something to show; the employers' entries carry what schools ask of a stagebedrijf (places,
adaptations, functions and werkprocessen, ...: :data:`EMPLOYER_OFFERS`). Idempotent: an entry is
looked up by organisation and name first, and an offer is added only where there is none."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock
from network.models import Organisation, Region
from network.permissions import system_principal
from socialmap.employer_offer import save_offer
from socialmap.entries import create_service, ensure_default_categories
from socialmap.models import CapacityStatus, Service

REGION_CODE = "waalrand"

C = CapacityStatus
# (organisation name, service name, categories, extra fields, contact (name, title) or None, days since verified)
ENTRIES: tuple[tuple[str, str, tuple[str, ...], dict, tuple[str, str] | None, int], ...] = (
    ("Schakel Waalrand", "Uitstroomcoördinatie Transitieroute", ("overleg", "kennis", "werkgeversnetwerk"),
     {"description": "Het centrale aanspreekpunt tussen school, student, gemeente, RMC en werkgevers in de route "
                     "van school naar werk.", "target_groups": ["entree", "mbo2", "pro", "vso"]},
     ("Eva Mulder", "Uitstroomcoördinator"), 20),
    ("ROC Waalrand", "Stagebureau ROC Waalrand", ("stageplaatsen", "werkgeversnetwerk"),
     {"is_internal": True, "department": "Stagebureau", "description": "Zoekt en bewaakt stageplaatsen (BPV) "
      "voor studenten van alle niveaus."}, ("Sanne Bakker", "BPV-begeleider"), 40),
    ("ROC Waalrand", "Jobfinder entree", ("begeleiding", "werkgeversnetwerk"),
     {"is_internal": True, "department": "Jobfinder", "target_groups": ["entree"],
      "description": "Helpt entreestudenten aan een baan of leerbaan na de opleiding."},
     ("Joost de Vries", "Jobfinder"), 10),
    ("ROC Waalrand", "Team passend onderwijs", ("overleg", "kennis", "begeleiding"),
     {"is_internal": True, "department": "Team passend onderwijs",
      "description": "Extra ondersteuning in de opleiding en bij de overstap naar stage en werk."},
     ("Fatima El Amrani", "Zorgcoördinator"), 200),
    ("Lindecollege mbo", "Stagecoördinatie Lindecollege", ("stageplaatsen",),
     {"is_internal": True, "department": "Stagecoördinatie", "target_groups": ["mbo2", "mbo3", "mbo4"]},
     ("Mirjam Dekker", "Stagecoördinator"), 60),
    ("Lindecollege mbo", "Loopbaanbegeleiding en decanaat", ("kennis", "overleg"),
     {"is_internal": True, "department": "Decanaat"}, ("Ruben Jansen", "Decaan"), 90),
    ("VSO De Brug", "Stage en uitstroom VSO", ("stageplaatsen", "begeleiding"),
     {"is_internal": True, "target_groups": ["vso"], "minimum_age": 16, "maximum_age": 20}, None, 30),
    ("Praktijkschool Bergakker", "Praktijkroute en stagebegeleiding", ("stageplaatsen", "begeleiding"),
     {"is_internal": True, "target_groups": ["pro"]}, None, 15),
    ("Praktijkschool Bergakker", "Nazorg oud-leerlingen", ("begeleiding",),
     {"is_internal": True, "target_groups": ["pro"],
      "description": "Contact met oud-leerlingen tot een jaar na school."},
     None, 250),
    ("Gemeente Waalstede", "Jobcoach team jongeren", ("begeleiding", "regelruimte"),
     {"department": "Team jongeren", "gemeenten": ["Waalstede"],
      "target_groups": ["entree", "pro", "vso", "doelgroepregister"],
      "capacity": C.wachtlijst, "description": "De jobcoach begeleidt jongeren met een ondersteuningsbehoefte op de "
      "werkplek, tijdens de eindstage en in de eerste baan."}, ("Lotte Verhoeven", "Jobcoach"), 25),
    ("Gemeente Waalstede", "Werk en inkomen jongeren", ("financiering", "regelruimte", "kennis"),
     {"department": "Werk en inkomen", "gemeenten": ["Waalstede"], "description": "Uitkering, loonkostensubsidie, "
      "no-riskpolis en werkplekaanpassingen voor jongeren."}, None, 70),
    ("Gemeente Waalstede", "Leerplicht en VSV Waalstede", ("overleg",),
     {"department": "VSV", "gemeenten": ["Waalstede"], "target_groups": ["vsv"], "maximum_age": 23}, None, 120),
    ("Gemeente Waalstede", "Schuldhulpverlening jongeren Waalstede", ("begeleiding",),
     {"gemeenten": ["Waalstede"], "maximum_age": 27, "capacity": C.plek,
      "description": "Hulp bij schulden, geldzaken en een budgetplan."}, None, 45),
    ("Gemeente Linderveen", "Team jongeren Linderveen", ("begeleiding", "regelruimte", "financiering"),
     {"department": "Team jongeren", "gemeenten": ["Linderveen"]}, ("Ahmed Yilmaz", "Consulent jongeren"), 35),
    ("Gemeente Linderveen", "Beschut werk Linderveen", ("financiering", "werkgeversnetwerk"),
     {"gemeenten": ["Linderveen"], "target_groups": ["pro", "vso"], "capacity": C.eerst_overleg,
      "description": "Werk in een beschutte omgeving voor wie dat met begeleiding kan."}, None, 80),
    ("Gemeente Linderveen", "Leerplicht Linderveen", ("overleg",),
     {"department": "Leerplicht", "gemeenten": ["Linderveen"], "target_groups": ["vsv"]}, None, 190),
    ("Gemeente Bergakker", "Werkcoach jongeren Bergakker", ("begeleiding",),
     {"gemeenten": ["Bergakker"], "capacity": C.plek}, None, 50),
    ("Gemeente Bergakker", "Schulddienstverlening Bergakker", ("begeleiding", "kennis"),
     {"gemeenten": ["Bergakker"], "description": "Ondersteuning bij schulden en geldzorgen."}, None, 100),
    ("UWV Waalstede", "Arbeidsdeskundige jongeren", ("kennis", "overleg"),
     {"department": "Arbeidsdeskundige", "description": "Onderzoek naar arbeidsvermogen en advies over "
      "voorzieningen zoals een jobcoach of werkplekaanpassing."}, ("Karin Smit", "Arbeidsdeskundige"), 30),
    ("UWV Waalstede", "Beoordeling Doelgroepregister", ("kennis", "financiering"),
     {"target_groups": ["doelgroepregister", "pro", "vso"], "minimum_age": 15}, None, 60),
    ("UWV Waalstede", "Wajong en jobcoaching", ("financiering", "begeleiding"),
     {"target_groups": ["doelgroepregister"]}, None, 210),
    ("Werkgeversservicepunt Waalrand", "Werkgeversdienstverlening", ("werkgeversnetwerk",),
     {"description": "Brengt werkgevers en werkzoekenden samen; vacatures en banenafspraak."},
     ("Bas van Leeuwen", "Accountmanager werkgevers"), 20),
    ("Werkgeversservicepunt Waalrand", "Matching banenafspraak", ("werkgeversnetwerk", "stageplaatsen"),
     {"target_groups": ["doelgroepregister"], "capacity": C.plek}, None, 40),
    ("RMC Waalrand", "RMC-trajectbegeleiding", ("begeleiding", "overleg"),
     {"target_groups": ["vsv"], "maximum_age": 23, "description": "Begeleiding van voortijdig schoolverlaters "
      "terug naar school of naar werk."}, ("Noor Visser", "Trajectbegeleider RMC"), 15),
    ("RMC Waalrand", "Nazorg schoolverlaters", ("overleg",),
     {"target_groups": ["entree", "vsv"],
      "description": "Twee jaar contact met schoolverlaters zonder startkwalificatie."},
     None, 75),
    ("SBB regio Waalrand", "Adviseur praktijkleren", ("stageplaatsen", "kennis", "werkgeversnetwerk"),
     {"department": "Adviseur praktijkleren"}, None, 55),
    ("SBB regio Waalrand", "Erkende leerbedrijven zoeken", ("stageplaatsen",), {"url": "https://sbb.example"},
     None, 65),
    ("Leerwerkloket Waalrand", "Loopbaanadvies en EVC", ("kennis", "begeleiding"), {}, None, 85),
    ("Leerwerkloket Waalrand", "Leerwerktrajecten", ("werkgeversnetwerk", "financiering"), {}, None, 95),
    ("MEE Waalrand", "Cliëntondersteuning jongeren", ("begeleiding", "kennis"),
     {"target_groups": ["pro", "vso", "entree"], "capacity": C.wachtlijst}, None, 35),
    ("MEE Waalrand", "Geldzaken en schulden jongeren", ("begeleiding",),
     {"description": "Hulp bij schulden, toeslagen en een overzicht van de geldzaken."}, None, 140),
    ("Zorggroep De Linde", "Ambulante begeleiding jongeren", ("begeleiding",),
     {"capacity": C.vol, "description": "Begeleiding thuis bij wonen, dagbesteding en werk."}, None, 50),
    ("Zorggroep De Linde", "Trainingshuis zelfstandig wonen", ("begeleiding",), {"capacity": C.wachtlijst}, None, 300),
    ("Bakkerij Van Dalen", "Leerwerkplek bakkerij", ("stageplaatsen",),
     {"sector": "Food", "sbb_recognised": True, "offers": ["coaching_op_de_werkvloer", "opbouw_tijd_inhoud"],
      "target_groups": ["entree", "pro"], "capacity": C.plek}, ("Henk van Dalen", "Praktijkopleider"), 30),
    ("Hoveniersbedrijf Groenrijk", "Stageplaatsen groen", ("stageplaatsen",),
     {"sector": "Groen", "sbb_recognised": True, "offers": ["aangepaste_werkplek", "ervaring_doelgroep"],
      "target_groups": ["pro", "vso", "mbo2"], "capacity": C.plek}, None, 45),
    ("Hoveniersbedrijf Groenrijk", "Leerbaan hovenier", ("stageplaatsen",),
     {"sector": "Groen", "offers": ["baanperspectief", "opbouw_tijd_inhoud"]}, None, 45),
    ("Logistiek Centrum Waalhaven", "Stage orderpicken", ("stageplaatsen",),
     {"sector": "Logistiek", "sbb_recognised": True, "offers": ["aangepaste_werkplek", "coaching_op_de_werkvloer"],
      "target_groups": ["entree", "mbo2"], "capacity": C.eerst_overleg}, ("Yvonne Peters", "Teamleider magazijn"), 20),
    ("Logistiek Centrum Waalhaven", "Werkplek banenafspraak magazijn", ("stageplaatsen",),
     {"sector": "Logistiek", "offers": ["baanperspectief", "ervaring_doelgroep"],
      "target_groups": ["doelgroepregister"]},
     None, 220),
    ("Zorgcentrum Bergweide", "Stage zorg en welzijn", ("stageplaatsen",),
     {"sector": "Zorg en welzijn", "sbb_recognised": True, "offers": ["coaching_op_de_werkvloer"],
      "target_groups": ["mbo2", "mbo3"]}, None, 60),
    ("Zorgcentrum Bergweide", "Facilitaire leerwerkplek", ("stageplaatsen",),
     {"sector": "Facilitair", "offers": ["opbouw_tijd_inhoud", "baanperspectief"], "target_groups": ["entree", "pro"]},
     None, 60),
    ("Bakkerij Van Dalen", "Stage lunchroom: keuken en bediening", ("stageplaatsen",),
     {"sector": "Horeca", "sbb_recognised": True, "offers": ["coaching_op_de_werkvloer", "ervaring_doelgroep",
                                                             "baanperspectief"],
      "target_groups": ["entree", "pro", "vso"], "capacity": C.plek,
      "description": "Stage in de keuken of de bediening van de lunchroom, met een vaste praktijkbegeleider."},
     ("Mehmet Kaya", "Chef lunchroom en praktijkbegeleider"), 10),
)


def _offer(places: dict[str, int], adaptations: list[str], functions: dict[str, list[str]], *,
           trained_since: dt.date | None = None, bbl: bool = False, sbb: str | None = None,
           banenafspraak: bool = False, loonkostensubsidie: bool = False) -> dict:
    return {"places": places, "adaptations": sorted(adaptations), "trained_trainer": trained_since is not None,
            "trained_since": trained_since,
            "functions": [{"name": name, "werkprocessen": steps} for name, steps in functions.items()],
            "bbl_possible": bbl, "sbb_recognised": sbb is not None, "sbb_number": sbb or None,
            "banenafspraak": banenafspraak, "loonkostensubsidie": loonkostensubsidie, "version": None}


#: (organisation, entry) -> what the company offers as a stagebedrijf (issue 19, item 5)
EMPLOYER_OFFERS = {
    ("Logistiek Centrum Waalhaven", "Stage orderpicken"): _offer(
        {"snuffelstage": 1, "bpv": 2, "eindstage": 2},
        ["vaste_begeleider", "vaste_werkplek", "dagplanning", "jobcoach_welkom"],
        {"Orderpicker": ["Verzamelt orders met de handscanner", "Controleert en verpakt orders",
                         "Houdt de werkplek en het magazijn opgeruimd", "Meldt tekorten en schade aan de teamleider"],
         "Medewerker expeditie": ["Laadt en lost vrachtwagens", "Controleert de vrachtbrieven"]},
        trained_since=dt.date(2023, 9, 1), sbb="10023456", banenafspraak=True, loonkostensubsidie=True),
    ("Bakkerij Van Dalen", "Leerwerkplek bakkerij"): _offer(
        {"snuffelstage": 2, "bpv": 1, "leerbaan": 1}, ["vaste_begeleider", "instructie_in_stappen"],
        {"Bakkerijmedewerker": ["Weegt en kneedt deeg", "Bakt brood en banket af",
                                "Houdt de werkplek schoon volgens de hygiëneregels"]},
        trained_since=dt.date(2021, 2, 1), bbl=True, sbb="10078912"),
    ("Hoveniersbedrijf Groenrijk", "Stageplaatsen groen"): _offer(
        {"bpv": 2, "eindstage": 2, "leerbaan": 1},
        ["aangepaste_werktijden", "instructie_in_stappen", "jobcoach_welkom"],
        {"Medewerker groen": ["Onderhoudt borders en gazons", "Snoeit heesters onder begeleiding",
                              "Gebruikt en onderhoudt gereedschap"]},
        bbl=True, sbb="10034567", banenafspraak=True),
    ("Zorgcentrum Bergweide", "Facilitaire leerwerkplek"): _offer(
        {"snuffelstage": 1, "bpv": 1}, ["aangepaste_werktijden"],
        {"Medewerker facilitair": ["Maakt bedden op", "Brengt maaltijden rond", "Sorteert linnengoed"]},
        trained_since=dt.date(2019, 5, 1), loonkostensubsidie=True),
}


def _seed_offers(session: Session, actor, organisations: dict[str, Organisation]) -> None:
    """The demo employers' offers, where an entry has none yet."""
    for (org_name, service_name), data in EMPLOYER_OFFERS.items():
        organisation = organisations.get(org_name)
        service = organisation and session.scalar(select(Service).where(
            Service.organisation_id == organisation.id, Service.name == service_name))
        if service is not None and service.employer_offer is None:
            save_offer(session, actor, service, dict(data))


def _email(name: str, organisation: Organisation) -> str:
    local = name.lower().replace(" ", ".").replace("é", "e")
    domain = organisation.name.lower().replace(" ", "").replace("é", "e")[:24]
    return f"{local}@{domain}.example"


def seed_demo_socialmap(session: Session, today: dt.date | None = None) -> int:
    """Create the missing demo entries of region Waalrand (run ``seed_demo_region`` first);
    flush, never commit. Returns the number of entries created."""
    today = today or clock.today()
    actor = system_principal(channel="cli", name="demo seed")
    ensure_default_categories(session)
    region = session.scalar(select(Region).where(Region.code == REGION_CODE))
    if region is None:
        return 0
    organisations = {o.name: o
                     for o in session.scalars(select(Organisation).where(Organisation.region_id == region.id))}
    created = 0
    for org_name, service_name, categories, extra, contact, age in ENTRIES:
        organisation = organisations.get(org_name)
        if organisation is None or session.scalar(select(Service.id).where(
                Service.organisation_id == organisation.id, Service.name == service_name)):
            continue
        data = {"name": service_name, "categories": list(categories), **extra}
        if contact:
            data["contacts"] = [{"name": contact[0], "title": contact[1], "email": _email(contact[0], organisation),
                                 "phone": organisation.phone}]
        when = dt.datetime.combine(today - dt.timedelta(days=age), dt.time(9, 0), dt.UTC)
        create_service(session, actor, organisation, data, now=when,
                       assurer_email=data.get("contacts", [{}])[0].get("email"))
        created += 1
    session.flush()
    _seed_offers(session, actor, organisations)
    session.flush()
    return created
