"""Demo referrals for region Waalrand (``schakel demo seed``), made through the referral
service so packets, events, notifications and audit entries are real: one requested and
overdue (RMC), one accepted (WSP), one in progress after a warm hand-over (the gemeente's
jobcoach), one completed with outcome werk (RMC) and one draft (UWV).

Run after the core region, the sociale kaart and the demo consents (Daan's consent for
jobcoaching, Kevin's for begeleiding naar werk; the RMC works on its legal task). Idempotent:
nothing happens when the region already has referrals. Flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from network.crypto import Keyring
from network.models import Account, Membership, Organisation, Region, Student
from network.permissions import Acting, Principal, permissions_for
from referrals.models import Referral
from referrals.service import post_message
from referrals.states import ReferralStatus as S
from referrals.transitions import confirm_handover, record_handover, transition
from referrals.wizard_service import save_draft, send_referral
from socialmap.models import Service

REGION_CODE = "waalrand"


def _principal(session: Session, email: str) -> Principal | None:
    account = session.scalar(select(Account).where(Account.email == email))
    membership = account and session.scalar(
        select(Membership).where(Membership.account_id == account.id).order_by(Membership.id))
    if membership is None:
        return None
    org = membership.organisation
    acting = Acting(membership_id=membership.id, organisation_id=org.id, organisation_name=org.name,
                    organisation_type=org.type, region_id=org.region_id, role=membership.role)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=(acting,),
                     permissions=permissions_for(membership.role), channel="cli")


def _service(session: Session, region: Region, organisation: str, name: str) -> Service | None:
    return session.scalar(select(Service).join(Organisation, Organisation.id == Service.organisation_id).where(
        Organisation.region_id == region.id, Organisation.name == organisation, Service.name == name))


def _student(session: Session, first: str, last: str) -> Student | None:
    return session.scalar(select(Student).where(Student.first_name == first, Student.last_name == last))


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), dt.UTC)


def _details(reason: str, **extra: Any) -> dict[str, Any]:
    return {"reason": reason, **extra}


def seed_demo_referrals(session: Session, keyring: Keyring, today: dt.date) -> int:
    """Add the demo referrals unless region Waalrand has referrals already; returns how many
    were made (0 when skipped or when the region, its people or services are missing)."""
    region = session.scalar(select(Region).where(Region.code == REGION_CODE))
    if region is None:
        return 0
    in_region = select(Organisation.id).where(Organisation.region_id == region.id)
    if session.scalar(select(Referral.id).where(or_(Referral.from_organisation_id.in_(in_region),
                                                    Referral.to_organisation_id.in_(in_region))).limit(1)):
        return 0
    people = {key: _principal(session, email) for key, email in {
        "mentor": "j.devries@rocwaalrand.example", "zorg": "f.elamrani@rocwaalrand.example",
        "jobcoach": "l.verhoeven@waalstede.example", "wsp": "b.vanleeuwen@wsp-waalrand.example",
        "rmc": "n.visser@rmc-waalrand.example"}.items()}
    services = {"jobcoach": _service(session, region, "Gemeente Waalstede", "Jobcoach team jongeren"),
                "wsp": _service(session, region, "Werkgeversservicepunt Waalrand", "Werkgeversdienstverlening"),
                "rmc": _service(session, region, "RMC Waalrand", "Nazorg schoolverlaters"),
                "uwv": _service(session, region, "UWV Waalstede", "Arbeidsdeskundige jongeren")}
    students = {"daan": _student(session, "Daan", "Willems"), "kevin": _student(session, "Kevin", "Hermsen"),
                "lisa": _student(session, "Lisa", "van den Berg"), "yasmina": _student(session, "Yasmina", "Bouzid")}
    if None in (*people.values(), *services.values(), *students.values()):
        return 0

    def make(sender: str, student: str, service: str, purpose: str, kind: str, categories: list[str],
             details: dict[str, Any], sent_days_ago: int | None) -> Referral:
        day = today - dt.timedelta(days=sent_days_ago or 0)
        referral = save_draft(session, people[sender], keyring, students[student], {
            "service_id": services[service].id, "purpose": purpose, "type": kind, "categories": categories,
            "details": details}, now=_at(day, 9))
        if sent_days_ago is not None:
            send_referral(session, people[sender], keyring, referral, today=day, now=_at(day, 9))
        return referral

    # 1. requested and overdue: Lisa to the RMC (its legal task covers contact and education)
    make("zorg", "lisa", "rmc", "rmc-nazorg", "rmc", ["contactgegevens", "opleiding"],
         _details("Lisa stopt na dit schooljaar zonder diploma; wij willen haar warm overdragen aan het RMC.",
                  school_situation={"study_progress": "Veel verzuim sinds januari"}), 15)

    # 2. accepted: Kevin to the werkgeversservicepunt
    kevin = make("zorg", "kevin", "wsp", "begeleiding-naar-werk", "transitieroute", ["contactgegevens", "opleiding"],
                 _details("Kevin rondt medewerker groen af en zoekt een baan bij een hovenier in de regio.",
                          background={"motivation": "Wil graag buiten werken"}), 10)
    transition(session, people["wsp"], keyring, kevin, S.accepted, now=_at(today - dt.timedelta(days=8)))

    # 3. in progress after the warm hand-over: Daan to the gemeente's jobcoach
    daan = make("mentor", "daan", "jobcoach", "jobcoaching", "transitieroute",
                ["contactgegevens", "opleiding", "ondersteuningsbehoefte"],
                _details("Daan zoekt na zijn eindstage werk in de logistiek "
                         "en heeft een jobcoach nodig op de werkvloer.",
                         life_domains={"gezondheid": {"problem": True, "explanation": "Snel overprikkeld in drukte"}},
                         background={"barriers": "Autisme (ASS)", "last_diploma": "Entree (in opleiding)"}), 30)
    transition(session, people["jobcoach"], keyring, daan, S.accepted, now=_at(today - dt.timedelta(days=27)))
    record_handover(session, people["mentor"], keyring, daan, held_on=today - dt.timedelta(days=20),
                    present="Daan, zijn moeder, mentor Joost de Vries, jobcoach Lotte Verhoeven",
                    today=today, now=_at(today - dt.timedelta(days=20), 15))
    confirm_handover(session, people["jobcoach"], keyring, daan, now=_at(today - dt.timedelta(days=19)))
    post_message(session, people["jobcoach"], keyring, daan, "Eerste werkplekbezoek bij Logistiek Centrum "
                 "Waalhaven gehad; Daan start over twee weken met een proefplaatsing.",
                 now=_at(today - dt.timedelta(days=12)))

    # 4. completed with outcome werk: Yasmina, followed by the RMC
    yasmina = make("zorg", "yasmina", "rmc", "rmc-nazorg", "rmc", ["contactgegevens", "opleiding"],
                   _details("Yasmina verlaat school na de entreeopleiding; graag nazorg bij de stap naar werk."), 120)
    transition(session, people["rmc"], keyring, yasmina, S.accepted, now=_at(today - dt.timedelta(days=117)))
    record_handover(session, people["rmc"], keyring, yasmina, held_on=today - dt.timedelta(days=110),
                    present="Yasmina, zorgcoördinator Fatima El Amrani, trajectbegeleider Noor Visser",
                    today=today, now=_at(today - dt.timedelta(days=110), 14))
    transition(session, people["rmc"], keyring, yasmina, S.completed, outcome="werk",
               reason="Vast contract als assistent bakker bij Bakkerij Van Dalen.",
               now=_at(today - dt.timedelta(days=10)))

    # 5. a draft: Daan to UWV's arbeidsdeskundige (not sent yet)
    make("mentor", "daan", "uwv", "arbeidsdeskundig-onderzoek", "transitieroute", ["contactgegevens", "opleiding"],
         _details("Onderzoek naar de mogelijkheden voor de banenafspraak."), None)
    session.flush()
    return 5
