"""Demo placements for ``schakel demo seed`` (after the routes, Daan's plan and the sociale
kaart): placements in every state at the demo employers, so a newcomer sees them at once.

- Daan: a running eindstage at Logistiek Centrum Waalhaven (the learning goals from his plan,
  with a jobcoach at the start) and a completed snuffelstage at Bakkerij Van Dalen before it;
- Yasmina: a planned BPV in the lunchroom of Bakkerij Van Dalen (the praktijkopleider has no
  e-mail address: the warning shows);
- Mohammed: a paused BPV at Logistiek Centrum Waalhaven;
- Sem: a snuffelstage at Zorgcentrum Bergweide, ended early with a reason;
- Kevin: a completed eindstage at Hoveniersbedrijf Groenrijk and, after school, a running leerbaan;
- Jesse: a planned proefplaatsing at a company not on the map yet, proposed to the
  uitstroomcoördinator (Eva Mulder sees it at ``/stagebedrijven/voorstellen``).

The running placements have their stageprotocol's contacts (planned when they started): Daan's
first-day calls are recorded and the visit is late; Kevin's leerbaan has its calls, the visit and
the first evaluation recorded and the second evaluation late; Mohammed's paused BPV shows them
cancelled (vervallen). Kevin's completed eindstage was assessed by Gert Groen through the personal link, and Groenrijk
hired him afterwards (the leerbaan): the company's page counts it.
Daan wrote his begeleidingsformulier and shares it with his SLB'er, BPV-docent and praktijkopleider.

Made through the same services the pages use; idempotent (a student with a placement is left alone).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from network.clock import AMSTERDAM
from network.crypto import Keyring
from network.models import Organisation, Student
from referrals.demo import staff_principal
from referrals.models import Route
from referrals.placements.assessment import link_principal, send_link, submit_assessment
from referrals.placements.assessment_form import ATTENTION, ITEMS
from referrals.placements.guidance import ShareWith, find_form, save_form, set_sharing
from referrals.placements.lifecycle import change_status
from referrals.placements.models import Placement
from referrals.placements.protocol import placement_contacts, record_contact
from referrals.placements.protocol_models import ContactKind as CK
from referrals.placements.service import create_placement, plan_internship
from referrals.placements.states import PlacementKind as K
from referrals.placements.states import PlacementStatus as S
from socialmap.models import Service

ORDERPICKEN = ["Verzamelt orders met de handscanner", "Controleert en verpakt orders",
               "Houdt de werkplek en het magazijn opgeruimd", "Meldt tekorten en schade aan de teamleider"]
LUNCHROOM = ["Bereidt eenvoudige lunchgerechten", "Ontvangt gasten en neemt bestellingen op",
             "Ruimt af en houdt de keuken schoon"]
GROEN = ["Onderhoudt borders en gazons", "Snoeit heesters onder begeleiding", "Gebruikt en onderhoudt gereedschap"]

#: (first, last name, staff e-mail, entry (company, entry name), kind, function, praktijkopleider
#: (name, function, e-mail, phone), days from today to the start and the end, steps (status, days
#: from today, reason), extra fields)
DEMO_PLACEMENTS: tuple[tuple, ...] = (
    ("Daan", "Willems", "j.devries@rocwaalrand.example", ("Bakkerij Van Dalen", "Leerwerkplek bakkerij"),
     K.snuffelstage, "Meelopen in de bakkerij", ("Henk van Dalen", "Praktijkopleider", None, "0487 512 345"),
     -190, -186, [(S.running, -190, None), (S.completed, -186, None)], {"werkprocessen": []}),
    ("Daan", "Willems", "j.devries@rocwaalrand.example", ("Logistiek Centrum Waalhaven", "Stage orderpicken"),
     K.eindstage, "Orderpicker", ("Yvonne Peters", "Teamleider magazijn", "yvonne.peters@logistiekcentrum.example",
                                  "0487 534 567"),
     -35, 90, [(S.running, -35, None)], {"werkprocessen": ORDERPICKEN, "with_coach": True,
                                         "coach_name": "Lotte Verhoeven, jobcoach Gemeente Waalstede"}),
    ("Yasmina", "Bouzid", "f.elamrani@rocwaalrand.example",
     ("Bakkerij Van Dalen", "Stage lunchroom: keuken en bediening"), K.bpv, "Medewerker lunchroom",
     ("Mehmet Kaya", "Chef lunchroom", None, "0487 512 345"), 21, 140, [],
     {"werkprocessen": LUNCHROOM, "learning_goals": ["Gasten vriendelijk te woord staan",
                                                     "Hygiëneregels in de keuken toepassen"]}),
    ("Mohammed", "Aydin", "m.dekker@lindecollege.example", ("Logistiek Centrum Waalhaven", "Stage orderpicken"),
     K.bpv, "Teamleider magazijn (in opleiding)",
     ("Yvonne Peters", "Teamleider magazijn", "yvonne.peters@logistiekcentrum.example", "0487 534 567"),
     -42, 60, [(S.running, -42, None), (S.paused, -7, None)], {"werkprocessen": ORDERPICKEN}),
    ("Sem", "Gerritsen", "i.peters@vsodebrug.example", ("Zorgcentrum Bergweide", "Facilitaire leerwerkplek"),
     K.snuffelstage, "Medewerker facilitair", ("Ria Janssen", "Hoofd facilitair", None, "0486 545 678"),
     -20, 10, [(S.running, -20, None), (S.ended_early, -12, "De werkplek bleek te druk voor Sem; we zoeken samen "
                                                               "een rustigere plek.")], {}),
    ("Kevin", "Hermsen", "j.devries@rocwaalrand.example", ("Hoveniersbedrijf Groenrijk", "Stageplaatsen groen"),
     K.eindstage, "Medewerker groen", ("Gert Groen", "Uitvoerder", "gert@groenrijk.example", "0488 523 456"),
     -300, -130, [(S.running, -300, None), (S.completed, -130, None)], {"werkprocessen": GROEN}),
    ("Kevin", "Hermsen", "j.devries@rocwaalrand.example", ("Hoveniersbedrijf Groenrijk", "Leerbaan hovenier"),
     K.leerbaan, "Hovenier (BBL)", ("Gert Groen", "Uitvoerder", "gert@groenrijk.example", "0488 523 456"),
     -100, 265, [(S.running, -100, None)], {"werkprocessen": GROEN}),
    ("Jesse", "Martens", "r.jansen@lindecollege.example", None, K.proefplaatsing, "Medewerker ICT-servicedesk",
     ("Ilse Vermeulen", "Eigenaar", "ilse@computerhulpdelinde.example", None), 14, 75, [],
     {"proposal_name": "Computerhulp De Linde", "proposal_gemeente": "Linderveen",
      "proposal_note": "Kleine ICT-winkel met reparatie en servicedesk; wil graag een proefplaatsing bieden."}),
)
#: recorded contacts per (first name, placement kind): (kind, sequence, how, with whom, what was agreed, topics)
DEMO_CONTACTS: dict[tuple[str, K], tuple[tuple, ...]] = {
    ("Daan", K.eindstage): (
        (CK.first_call_student, 1, "phone", "student", "Daan is goed begonnen; hij vond de handscanner lastig. "
         "Afgesproken: hij vraagt Yvonne om uitleg in de pauze.", {}),
        (CK.first_call_trainer, 1, "phone", "trainer", "Yvonne is tevreden over de eerste dag. Lotte (jobcoach) is "
         "de eerste week elke ochtend mee.", {}),
    ),
    ("Kevin", K.leerbaan): (
        (CK.first_call_student, 1, "phone", "student", "Eerste dag goed verlopen.", {}),
        (CK.first_call_trainer, 1, "phone", "trainer", "Gert belt bij vragen de stagebegeleider.", {}),
        (CK.visit, 1, "workplace", "both", "Bezoek op de werkplek: Kevin werkt netjes, soms te snel.", {}),
        (CK.evaluation, 1, "workplace", "both", "Eerste evaluatie: goed op weg.",
         {"criteria": "Onderhoudt borders zelfstandig; snoeien nog onder begeleiding.",
          "future_profile": "Hovenier, 32 uur per week.",
          "vacancy": "Groenrijk overweegt Kevin na de leerbaan aan te nemen.",
          "workplace": "Klein team, buiten werken, vaste ploeg."}),
    ),
}
#: the week of every demo placement: three days of six hours
WEEK = {"ma": 360, "di": 360, "do": 360}


def _entry(session: Session, company: tuple[str, str] | None) -> Service | None:
    if company is None:
        return None
    return session.scalar(select(Service).join(Organisation, Organisation.id == Service.organisation_id)
                          .where(Organisation.name == company[0], Service.name == company[1]))


def _data(session, actor, keyring, route, row, today: dt.date) -> dict[str, Any] | None:
    _first, _last, _email, company, kind, function, trainer, start, end, _steps, extra = row
    service = _entry(session, company)
    if company is not None and service is None:
        return None
    data: dict[str, Any] = {
        "kind": kind, "service_id": service.id if service else None, "function": function,
        "trainer_name": trainer[0], "trainer_function": trainer[1], "trainer_email": trainer[2],
        "trainer_phone": trainer[3], "supervisor_account_id": actor.account_id,
        "start_date": today + dt.timedelta(days=start), "end_date": today + dt.timedelta(days=end),
        "schedule": dict(WEEK), "with_coach": False, "learning_goals": [], **extra}
    if kind is K.eindstage and start > -60:  # the current eindstage: its goals come from the plan
        plan = plan_internship(session, actor, keyring, route.student)
        if plan is not None:
            data.update(learning_goals=plan.goals, goals_agreement_id=plan.agreement_id,
                        goals_agreement_version=plan.version)
    return data


def seed_demo_placements(session: Session, keyring: Keyring, today: dt.date) -> int:
    """Add the demo placements of students who have none yet; returns how many were added."""
    added, done = 0, set()
    for row in DEMO_PLACEMENTS:
        first, last, email, steps = row[0], row[1], row[2], row[9]
        student = session.scalar(select(Student).where(Student.first_name == first, Student.last_name == last))
        route = student and session.scalar(select(Route).where(Route.student_id == student.id))
        actor = staff_principal(session, email)
        if route is None or actor is None or actor.organisation_id != route.school_id:
            continue
        if student.id not in done and session.scalar(select(Placement.id).where(Placement.student_id == student.id)):
            continue  # seeded before
        done.add(student.id)
        data = _data(session, actor, keyring, route, row, today)
        if data is None:
            continue
        placement = create_placement(session, actor, keyring, route, data)
        for status, days, reason in steps:
            # Kevin's eindstage became a job: the leerbaan at the same company (item 5's "hired afterwards")
            hired = True if (first, placement.kind, status) == ("Kevin", K.eindstage, S.completed) else None
            change_status(session, actor, placement, status, reason=reason, on_date=today + dt.timedelta(days=days),
                          today=today, hired=hired)
        _record_contacts(session, actor, keyring, placement, DEMO_CONTACTS.get((first, placement.kind), ()), today)
        if (first, placement.kind, placement.status) == ("Kevin", K.eindstage, S.completed):
            _assessed(session, actor, keyring, placement, today)
        added += 1
    _guidance_form(session, keyring, today)
    session.flush()
    return added


#: Daan's begeleidingsformulier, in his own words (seed 001, Bijlage 5.3.2)
DAAN_FORM = {
    "klas": "Entree 1B",
    "kenmerken": "Ik heb ADHD. Als het druk en lawaaiig is, raak ik snel afgeleid en vergeet ik dingen.",
    "compenserend": "Ik werk hard en snel als ik weet wat ik moet doen. Ik ben goed met de handscanner.",
    "belemmerend": "Veel opdrachten tegelijk. Als plannen op het laatste moment veranderen, word ik onrustig.",
    "presteer": "ik aan het begin van de dag weet wat ik ga doen, en één vast aanspreekpunt heb.",
    "tips": "Geef mij één opdracht tegelijk en laat me hem even herhalen. Zeg het gewoon als iets niet goed gaat.",
}


def _guidance_form(session: Session, keyring: Keyring, today: dt.date) -> None:
    """Daan (who has a student account) wrote his begeleidingsformulier with his mentor and shares it
    with his SLB'er, his BPV-docent and the praktijkopleider of his eindstage; written by his own
    account through the services the portal uses. Left alone when he wrote one before."""
    student = session.scalar(select(Student).where(Student.first_name == "Daan", Student.last_name == "Willems"))
    own = staff_principal(session, "daan.willems@student.rocwaalrand.example")
    if student is None or own is None or student.account_id != own.account_id or find_form(session, student):
        return
    save_form(session, own, keyring, student, DAAN_FORM, today=today)
    set_sharing(session, own, student, [ShareWith.slb, ShareWith.bpv_docent, ShareWith.praktijkopleider], today=today)


def _assessed(session: Session, actor, keyring: Keyring, placement: Placement, today: dt.date) -> None:
    """Kevin's completed eindstage was assessed by its praktijkopleider through the personal link
    (on the day it ended), so the result, its PDF and the student's own view have something to show."""
    when = dt.datetime.combine(placement.ended_on or today, dt.time(15, 0), tzinfo=AMSTERDAM)
    assessment, _link = send_link(session, actor, keyring, placement, base_url=_base_url(), now=when)
    scores = {key: ("when_directed" if index % 4 == 0 else "own_initiative") for index, key in enumerate(ITEMS)}
    submit_assessment(session, link_principal(actor, assessment), keyring, assessment, {
        "werkprocessen": {"0": "independent", "1": "guided", "2": "independent"}, "competences": scores,
        "hire": "ja", "develop": "ja", "if_not": "",
        "if_so": "Zelfstandig snoeien en zijn tempo afstemmen op het team.",
        "toelichting": "Kevin is betrouwbaar en komt altijd op tijd. Hij vraagt om hulp als hij iets niet weet.",
        "attention": [ATTENTION[0][0]], "confirm": True, "signed_name": "Gert Groen"}, now=when)


def _base_url() -> str:
    return current_app.config.get("BASE_URL", "") if has_app_context() else ""


def _record_contacts(session: Session, actor, keyring: Keyring, placement: Placement, rows: tuple, today: dt.date):
    """Record the demo's contacts on the day each was planned; the others stay open (and late)."""
    planned = {(c.kind, c.sequence): c for c in placement_contacts(session, placement)}
    for kind, sequence, how, with_whom, agreed, topics in rows:
        contact = planned.get((kind, sequence))
        if contact is None or contact.due_date is None or contact.due_date > today:
            continue
        record_contact(session, actor, keyring, placement, {"done_on": contact.due_date, "how": how,
                                                             "with_whom": with_whom, "agreed": agreed, **topics},
                       contact=contact, today=today)
