"""The catalogues: purposes, data categories and legal-task bases, as data.

:func:`seed_catalogues` puts the standard entries in place (idempotent: existing rows keep
the hub admin's edits). The first migration seeds the same entries for a fresh install.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.models import (
    DataCategory,
    LegalTask,
    LegalTaskCategory,
    Purpose,
    PurposeCategory,
    PurposeRecipientType,
    TaskScope,
)
from network.access import Category
from network.models import OrganisationType

C = Category
T = OrganisationType

#: code -> (label, description, special, order)
CATEGORIES: dict[Category, tuple[str, str, bool, int]] = {
    C.contact: ("Contactgegevens", "Naam, geboortedatum, adres, telefoon en e-mail; contact van ouders.", False, 1),
    C.education: ("Opleiding en voortgang", "School, opleiding, niveau, verwachte einddatum en voortgang.", False, 2),
    C.life_domains: ("Leefgebieden", "Hoe het gaat met wonen, geld, thuis, vrije tijd en werk.", False, 3),
    C.support: ("Ondersteuningsbehoefte en gezondheid",
                "Welke hulp of aanpassing je nodig hebt, en gezondheid (bijzonder gegeven, AVG art. 9).", True, 4),
    C.justice: ("Justitie", "Contact met politie of justitie (strafrechtelijk gegeven, AVG art. 10).", True, 5),
    C.plan: ("School-naar-werk-plan", "Je plan: doelen, stappen, afspraken en wie wat doet.", False, 6),
    C.bsn: ("Burgerservicenummer (BSN)", "Je BSN; alleen als de wet het gebruik toestaat.", False, 7),
}

#: what only a law can open, never a consent: the BSN may be processed only where a law allows
#: it (UAVG art. 46, Wet algemene bepalingen BSN), and consent is no such basis. A legal task
#: may name it (UWV's doelgroepregister); a consent or a request for one may not.
LAW_ONLY: frozenset[Category] = frozenset({C.bsn})
LAW_ONLY_CODES: tuple[str, ...] = tuple(sorted(c.value for c in LAW_ONLY))

#: code -> (label, description, categories the purpose needs)
PURPOSES: dict[str, tuple[str, str, tuple[Category, ...]]] = {
    "begeleiding-naar-werk": ("Begeleiding naar werk", "Hulp bij het vinden en houden van werk na school.",
                              (C.contact, C.education, C.life_domains, C.support, C.justice, C.plan)),
    "jobcoaching": ("Jobcoaching", "Een jobcoach helpt je op je werkplek.",
                    (C.contact, C.education, C.support, C.plan)),
    "stagebegeleiding": ("Stagebegeleiding", "Begeleiding tijdens je (eind)stage.",
                         (C.contact, C.education, C.support, C.plan)),
    "rmc-nazorg": ("RMC-nazorg", "Het RMC houdt contact met je als je school verlaat, tot twee jaar erna.",
                   (C.contact, C.education, C.life_domains)),
    "uitkering-en-regelzaken": ("Uitkering en regelzaken", "Hulp bij inkomen, uitkering en andere regelzaken.",
                                (C.contact, C.education, C.life_domains, C.bsn)),
    "arbeidsdeskundig-onderzoek": ("Arbeidsdeskundig onderzoek", "Onderzoek naar wat voor werk bij je past.",
                                   (C.contact, C.education, C.support, C.plan, C.bsn)),
    "doelgroepregister-aanvraag": ("Aanvraag doelgroepregister", "Aanvraag voor het doelgroepregister (banenafspraak).",
                                   (C.contact, C.education, C.support, C.bsn, C.plan)),
}

#: purpose -> the organisation types that may receive its data (DOMAIN.md, who does what): the
#: gemeente (Participatiewet: jobcoach, income, regelzaken), UWV (Wajong, doelgroepregister,
#: arbeidsdeskundige), the WSP (employers, placement, banenafspraak), the RMC (leavers), the
#: leerwerkloket, SBB (learning companies), MEE and care (begeleiding, regelzaken) and the
#: (learning) company only for the internship. The hub admin edits these; they are data.
PURPOSE_RECIPIENTS: dict[str, tuple[OrganisationType, ...]] = {
    "begeleiding-naar-werk": (T.gemeente, T.uwv, T.wsp, T.rmc, T.leerwerkloket, T.mee, T.zorg),
    "jobcoaching": (T.gemeente, T.uwv, T.mee, T.zorg),
    "stagebegeleiding": (T.gemeente, T.sbb, T.leerwerkloket, T.mee, T.zorg, T.werkgever),
    "rmc-nazorg": (T.rmc, T.gemeente),
    "uitkering-en-regelzaken": (T.gemeente, T.uwv, T.mee),
    "arbeidsdeskundig-onderzoek": (T.uwv, T.gemeente),
    "doelgroepregister-aanvraag": (T.uwv, T.gemeente, T.wsp),
}
#: never a recipient of a consent or legal task: the school works under its own educational
#: task (network.access), the hub holds no student data of its own
NOT_RECIPIENTS = frozenset({T.school, T.hub})
RECIPIENT_TYPES: tuple[OrganisationType, ...] = tuple(t for t in OrganisationType if t not in NOT_RECIPIENTS)


#: an organisation type as a word inside a sentence ("alleen een gemeente, UWV of MEE")
TYPE_WORDS = {T.gemeente: _l("gemeente"), T.uwv: "UWV", T.wsp: _l("werkgeversservicepunt"), T.rmc: "RMC",
              T.sbb: "SBB", T.leerwerkloket: _l("leerwerkloket"), T.mee: "MEE", T.zorg: _l("zorgaanbieder"),
              T.werkgever: _l("werkgever"), T.other: _l("andere organisatie"), T.school: _l("school"),
              T.hub: _l("regionale hub")}


def type_words(types) -> str:
    """Organisation types in words, in the catalogue's order (``gemeente, UWV of MEE``)."""
    wanted = set(types)
    words = [str(TYPE_WORDS[t]) for t in OrganisationType if t in wanted]
    if len(words) < 2:
        return "".join(words)
    return str(_l("%(some)s of %(last)s", some=", ".join(words[:-1]), last=words[-1]))


#: (organisation type, purpose, code) -> (label, legal reference, own region only, the law's scope,
#: categories). The scope is checked per student on every decision (consent.models.TaskScope):
#: the RMC's task covers leavers without a startkwalificatie, not a pupil still at school; UWV's
#: covers a student with an open doelgroepregister matter, not every student. (It does not cover the
#: plan category: UWV reads the route's instruments, and a plan it is party to, on the student's
#: consent for the doelgroepregister, which may include the plan.)
LEGAL_TASKS: dict[tuple[OrganisationType, str, str], tuple[str, str, bool, TaskScope | None, tuple[Category, ...]]] = {
    (OrganisationType.rmc, "rmc-nazorg", "rmc-nazorg"): (
        "RMC-nazorg van schoolverlaters",
        "Wettelijke taak van het RMC (Wet educatie en beroepsonderwijs, Leerplichtwet 1969)",
        True, TaskScope.rmc, (C.contact, C.education)),
    (OrganisationType.uwv, "doelgroepregister-aanvraag", "uwv-doelgroepregister"): (
        "Beoordeling doelgroepregister door UWV",
        "Wettelijke taak van UWV (Wet banenafspraak; gebruik BSN: Wet algemene bepalingen BSN art. 10)",
        False, TaskScope.uwv, (C.contact, C.bsn)),
}


def seed_catalogues(session: Session) -> None:
    """Add the standard categories, purposes and legal tasks that are missing. Flushes."""
    existing = set(session.scalars(select(DataCategory.code)))
    for code, (label, description, special, order) in CATEGORIES.items():
        if code not in existing:
            session.add(DataCategory(code=code, label=label, description=description, is_special=special,
                                     sort_order=order))
    session.flush()  # the purposes' category rows refer to these
    purposes = {p.code: p for p in session.scalars(select(Purpose))}
    for order, (code, (label, description, needed)) in enumerate(PURPOSES.items(), start=1):
        if code not in purposes:
            purpose = purposes[code] = Purpose(code=code, label=label, description=description, sort_order=order,
                                               is_active=True)
            purpose.needed = [PurposeCategory(category=c.value) for c in needed]
            purpose.recipients = [PurposeRecipientType(organisation_type=t) for t in PURPOSE_RECIPIENTS[code]]
            session.add(purpose)
    session.flush()  # ids for the legal tasks
    tasks = {(t.organisation_type, t.purpose_id, t.code) for t in session.scalars(select(LegalTask))}
    for (org_type, purpose_code, code), (label, reference, own_region, scope, cats) in LEGAL_TASKS.items():
        purpose = purposes[purpose_code]
        if (org_type, purpose.id, code) not in tasks:
            session.add(LegalTask(organisation_type=org_type, purpose_id=purpose.id, code=code, label=label,
                                  legal_reference=reference, description="", own_region_only=own_region, scope=scope,
                                  is_active=True, items=[LegalTaskCategory(category=c.value) for c in cats]))
    session.flush()
