"""The sign-up form (aanmeldformulier, seed 001 appendices 2.2.2 and 2.2.3) as data: its
fields, the leefgebieden, and which data category each part belongs to, so the hand-over
packet holds exactly the categories that may be shared.

The form's contents are kept as one JSON document (``details``); :func:`snapshot` turns a
student plus that document into the packet for a set of allowed categories.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from network.access import Category
from network.crypto import Keyring
from network.models import Student

C = Category

#: leefgebied code -> (label, the data category its answer belongs to)
LIFE_DOMAINS: dict[str, tuple[Any, Category]] = {
    "onderwijs": (_l("Onderwijs"), C.life_domains),
    "thuis": (_l("Thuis/gezin"), C.life_domains),
    "huisvesting": (_l("Huisvesting"), C.life_domains),
    "vrije_tijd": (_l("Vrije tijd"), C.life_domains),
    "gezondheid": (_l("Gezondheid"), C.support),
    "werk": (_l("Werk/stage"), C.life_domains),
    "financien": (_l("Financiën"), C.life_domains),
    "gedrag": (_l("Gedrag"), C.support),
    "justitie": (_l("Politie/justitie"), C.justice),
    "overig": (_l("Overig"), C.life_domains),
}

#: school situation (seed 2.2.2: "schoolsituatie en ondernomen acties"): code -> label
SCHOOL_SITUATION: dict[str, Any] = {
    "study_progress": _l("Studievoortgang"),
    "behaviour_care": _l("Gedrag / zorg"),
    "study_choice": _l("Studiekeuze"),
}

#: background (seed 2.2.3): code -> (label, category)
BACKGROUND: dict[str, tuple[Any, Category]] = {
    "last_diploma": (_l("Laatste opleiding en/of behaald niveau/diploma"), C.education),
    "trajectory_support": (_l("Trajectbegeleiding (van wie?)"), C.support),
    "orthopedagogic_support": (_l("Begeleiding orthopedagogiek (van wie?)"), C.support),
    "barriers": (_l("Fysieke, cognitieve of gedragsbelemmeringen"), C.support),
    "doelgroepregister": (_l("Indicatie banenafspraak (doelgroepregister)"), C.support),
    "motivation": (_l("Motivatie van de student"), C.education),
    "barriers_programme": (_l("Belemmeringen in de opleiding, stage of loopbaan"), C.support),
}

#: the data categories a referral can share, in the order the wizard shows them
SHAREABLE = (C.contact, C.education, C.life_domains, C.support, C.justice, C.bsn)


def empty_details() -> dict[str, Any]:
    return {"reason": "", "school_situation": {k: "" for k in SCHOOL_SITUATION},
            "life_domains": {k: {"problem": False, "explanation": ""} for k in LIFE_DOMAINS},
            "care_workers": [], "background": {k: "" for k in BACKGROUND}, "remarks": ""}


def snapshot(student: Student, keyring: Keyring, details: dict[str, Any], categories: frozenset[Category], *,
             referrer: dict[str, str]) -> dict[str, Any]:
    """The hand-over packet: only what ``categories`` cover, keyed by category code. The reason for the referral and the
    referrer travel with the education category (the recipient cannot act without them).

    :param referrer: name, function, organisation, phone/e-mail of the referrer (not student data)
    """
    packet: dict[str, Any] = {"referrer": referrer, "categories": sorted(c.value for c in categories)}
    if C.contact in categories:
        packet[C.contact.value] = {
            "name": student.full_name, "date_of_birth": student.date_of_birth.isoformat(),
            "address": student.address, "postcode": student.postcode, "city": student.city,
            "phone": student.phone, "email": student.email, "parent_name": student.parent_name,
            "parent_email": student.parent_email, "parent_phone": student.parent_phone,
        }
    if C.education in categories:
        packet[C.education.value] = {
            "school": student.school.name, "programme": student.programme, "level": student.level.value,
            "expected_exit_date": student.expected_exit_date.isoformat() if student.expected_exit_date else None,
            "reason": details.get("reason") or "",
            "school_situation": {k: details.get("school_situation", {}).get(k, "") for k in SCHOOL_SITUATION},
            **{k: details.get("background", {}).get(k, "") for k, (_label, cat) in BACKGROUND.items()
               if cat is C.education},
        }
    domains = details.get("life_domains", {})
    for category in (C.life_domains, C.support, C.justice):
        if category in categories:
            part = {k: domains[k] for k, (_label, cat) in LIFE_DOMAINS.items() if cat is category and k in domains}
            if category is C.support:
                part = {"life_domains": part,
                        "background": {k: details.get("background", {}).get(k, "")
                                       for k, (_label, cat) in BACKGROUND.items() if cat is C.support},
                        "care_workers": details.get("care_workers", [])}
            elif category is C.life_domains:
                part = {"life_domains": part, "remarks": details.get("remarks", "")}
            else:
                part = {"life_domains": part}
            packet[category.value] = part
    if C.bsn in categories:
        packet[C.bsn.value] = student.get_bsn(keyring)
    return packet
