"""Demo agreements for ``schakel demo seed``: Daan's school-naar-werk-plan, signed by Daan, his
mentor and the gemeente's jobcoach (active, version 1), and his privacy agreement, offered and
signed by the school, waiting for the gemeente, with a flow to UWV that no basis covers yet (so
the consistency warning shows). Idempotent: skipped when Daan already has a plan."""

from __future__ import annotations

import copy
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.agreements.access import access_of
from consent.agreements.lifecycle import offer_for_signature
from consent.agreements.models import Agreement, AgreementKind, SignatureMethod, SigningOrder
from consent.agreements.service import create_agreement, save_parties, save_section
from consent.agreements.signatures import sign_version
from consent.demo import _org, _principal, _student
from network.clock import utcnow
from network.crypto import Keyring

PLAN = {
    "future": {"goal": "Na mijn entreeopleiding een vaste baan in een magazijn, met begeleiding in het begin.",
               "occupation": "Magazijnmedewerker", "steps": "Eindstage afmaken, proefplaatsing, dan een contract."},
    "people": {"people": [{"name": "Joost de Vries", "relation": "Mentor", "contact": "j.devries@rocwaalrand.example"},
                          {"name": "Lotte Verhoeven", "relation": "Jobcoach gemeente", "contact": "14 0487"},
                          {"name": "Moeder", "relation": "Ouder", "contact": "via school"}]},
    "experience": {"applying": "Cv gemaakt in de les; één sollicitatiegesprek geoefend.",
                   "network": "Oom werkt bij een transportbedrijf.",
                   "work": "Bijbaan bij de supermarkt (vakken vullen), stage bij Logistiek Centrum Waalhaven."},
    "jobs": {"jobs": [{"job": "Orderpicker", "company": "Logistiek Centrum Waalhaven",
                       "why": "Kent het bedrijf van de stage; vaste taken en een rustige hal."}]},
    "skills": {"skills": [{"skill": "Op tijd komen", "kind": "werknemer", "score": "G"},
                          {"skill": "Samenwerken", "kind": "werknemer", "score": "V"},
                          {"skill": "Scanner en orderlijst gebruiken", "kind": "beroep", "score": "V"},
                          {"skill": "Heftruck rijden", "kind": "beroep", "score": "O",
                           "note": "Cursus volgt in de eindstage"}]},
    "internship": {"company": "Logistiek Centrum Waalhaven", "role": "Orderpicker",
                   "workplace_mentor": "Henk Arts", "school_supervisor": "Sanne Bakker",
                   "goal_1": "Zelfstandig orders verzamelen", "goal_2": "Heftruckcertificaat halen"},
    "support": {"support_need": "Een vaste plek en vaste begeleider; vooraf weten wat er die dag gebeurt.",
                "strengths": "Nauwkeurig, betrouwbaar, houdt van structuur.",
                "entitlements": "Jobcoaching via de gemeente."},
    "checks": {"contact_person": "Joost de Vries (mentor)", "meetings": "Elke zes weken, op school of op het werk.",
               "fallback": "Als een afspraak niet wordt nagekomen, belt de mentor binnen een week alle partijen en "
                           "plannen we samen een gesprek.",
               "who_decides": "Daan beslist samen met de mentor; bij verschil van mening de zorgcoördinator.",
               "objection": "Bezwaar kan bij de klachtencommissie van ROC Waalrand."},
    "actions": {"actions": [{"what": "Heftruckcursus aanvragen", "who": "Sanne Bakker"},
                            {"what": "Kennismaken met de jobcoach op de werkplek", "who": "Lotte Verhoeven"}]},
    "sharing": {"shared_with": "Daan, ROC Waalrand en de jobcoach van Gemeente Waalstede."},
    "return_ticket": {"practice_statement": "Praktijkverklaring orderpicker",
                      "later": "Later alsnog niveau 2 logistiek via de BBL."},
}


def seed_demo_agreements(session: Session, keyring: Keyring, today: dt.date) -> int:
    """Add Daan's plan and privacy agreement (see the module text); returns how many were made."""
    daan = _student(session, "Daan", "Willems")
    if daan is None or session.scalar(select(Agreement.id).where(Agreement.student_id == daan.id)) is not None:
        return 0
    mentor = _principal(session, "j.devries@rocwaalrand.example")
    jobcoach = _principal(session, "l.verhoeven@waalstede.example")
    student = _principal(session, "daan.willems@student.rocwaalrand.example")
    gemeente, uwv = _org(session, "Gemeente Waalstede"), _org(session, "UWV Waalstede")
    if None in (mentor, jobcoach, student, gemeente, uwv):
        return 0
    now = utcnow()
    content = copy.deepcopy(PLAN)
    content["checks"]["moments"] = [{"date": (today + dt.timedelta(days=days)).isoformat(), "what": label}
                                    for days, label in ((30, "Eindstage halverwege: evaluatie"),
                                                        (90, "Heftruckcertificaat gehaald"))]

    plan = create_agreement(session, mentor, keyring, daan, AgreementKind.plan, now=now)
    session.flush()
    access = access_of(session, mentor, plan)
    for code, part in content.items():
        save_section(session, mentor, keyring, plan, access, code, part, now=now)
    school_key = f"org-{daan.school_id}"
    commitments = {
        "student": ("leerling", None, "Ik kom mijn afspraken na, meld het als het niet goed gaat en doe mee aan de "
                                      "gesprekken."),
        school_key: ("school", None, "De mentor begeleidt de eindstage, regelt de heftruckcursus en houdt het plan "
                                     "bij; na school blijft de school een jaar bereikbaar (retourticket)."),
    }
    rows = [{"key": key, "role": role, "purpose": purpose, "commitment": text,
             "contact": "Joost de Vries, mentor" if key == school_key else None}
            for key, (role, purpose, text) in commitments.items()]
    rows.append({"organisation_id": gemeente.id, "role": "jobcoach gemeente", "purpose": "jobcoaching",
                 "contact": "Lotte Verhoeven, jobcoach team jongeren",
                 "commitment": "De jobcoach begeleidt Daan op de werkplek vanaf de proefplaatsing, eerst wekelijks."})
    save_parties(session, mentor, keyring, plan, access, rows, now=now)
    offer_for_signature(session, mentor, keyring, plan, access, order=SigningOrder.parallel,
                        signers=["student", school_key, f"org-{gemeente.id}"], now=now)
    session.flush()
    for actor, key in ((student, "student"), (mentor, school_key), (jobcoach, f"org-{gemeente.id}")):
        sign_version(session, actor, keyring, plan, access_of(session, actor, plan), 1, key, authenticated_at=now,
                     method=SignatureMethod.password, now=now)
        session.flush()

    privacy = create_agreement(session, mentor, keyring, daan, AgreementKind.privacy, now=now)
    session.flush()
    access = access_of(session, mentor, privacy)
    save_parties(session, mentor, keyring, privacy, access, [
        {"key": "student", "role": "betrokkene", "commitment": "Ik weet wie wat van mij deelt en waarom."},
        {"key": school_key, "role": "verwerkingsverantwoordelijke",
         "commitment": "De school deelt alleen wat in deze afspraken staat."},
        {"organisation_id": gemeente.id, "role": "verwerkingsverantwoordelijke", "purpose": "jobcoaching",
         "commitment": "De gemeente gebruikt de gegevens alleen voor de jobcoaching."},
        {"organisation_id": uwv.id, "role": "verwerkingsverantwoordelijke", "purpose": "arbeidsdeskundig-onderzoek",
         "commitment": "UWV gebruikt de gegevens alleen voor het arbeidsdeskundig onderzoek."},
    ], now=now)
    for code, part in {
        "purposes": {"purposes": "Jobcoaching op de werkplek en een arbeidsdeskundig onderzoek voor de banenafspraak."},
        "flows": {"flows": [
            {"recipient": f"org-{gemeente.id}", "purpose": "jobcoaching", "basis": "toestemming",
             "categories": ["contactgegevens", "ondersteuningsbehoefte", "opleiding", "school-naar-werk-plan"]},
            {"recipient": f"org-{uwv.id}", "purpose": "arbeidsdeskundig-onderzoek", "basis": "toestemming",
             "categories": ["contactgegevens", "opleiding", "school-naar-werk-plan"]}]},
        "retention": {"retention": "Tot twee jaar na het verlaten van school; daarna verwijderd.",
                      "deletion": "Schakel verwijdert de gegevens automatisch; partners verwijderen hun kopie."},
        "plan_access": {"plan_readers": ["student", school_key, f"org-{gemeente.id}"]},
    }.items():
        save_section(session, mentor, keyring, privacy, access, code, part, now=now)
    offer_for_signature(session, mentor, keyring, privacy, access, order=SigningOrder.sequential,
                        signers=[school_key, f"org-{gemeente.id}", f"org-{uwv.id}"], now=now)
    session.flush()
    sign_version(session, mentor, keyring, privacy, access, 1, school_key, authenticated_at=now,
                 method=SignatureMethod.password, now=now)
    session.flush()
    return 2
