"""Demo consents for ``schakel demo seed`` (after the core demo data): the catalogues, a consent
Daan gave in the portal, one a school recorded on paper, and an open request. Idempotent:
looked up by student × recipient × purpose first."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.catalogue import seed_catalogues
from consent.lifecycle import request_consent
from consent.models import Consent, ConsentRequest, Purpose
from consent.service import grant_consent
from network.crypto import Keyring
from network.models import Account, Membership, Organisation, Student
from network.permissions import Acting, Principal, permissions_for


def _principal(session: Session, email: str) -> Principal | None:
    account = session.scalar(select(Account).where(Account.email == email))
    if account is None:
        return None
    membership = session.scalar(select(Membership).where(Membership.account_id == account.id).order_by(Membership.id))
    acting = None
    if membership is not None:
        org = membership.organisation
        acting = Acting(membership_id=membership.id, organisation_id=org.id, organisation_name=org.name,
                        organisation_type=org.type, region_id=org.region_id, role=membership.role)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=(acting,) if acting else (),
                     permissions=permissions_for(acting.role if acting else None), channel="cli")


def _student(session: Session, first: str, last: str) -> Student | None:
    return session.scalar(select(Student).where(Student.first_name == first, Student.last_name == last))


def _org(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def seed_demo_consents(session: Session, keyring: Keyring, today: dt.date) -> int:
    """Add the demo consents that are missing; returns how many were added. Flushes only."""
    seed_catalogues(session)
    added = 0
    plans = [
        # (student, actor e-mail, recipient, purpose, categories, explicit, channel)
        (("Daan", "Willems"), "daan.willems@student.rocwaalrand.example", "Gemeente Waalstede", "jobcoaching",
         ["contactgegevens", "opleiding", "ondersteuningsbehoefte", "school-naar-werk-plan"],
         ["ondersteuningsbehoefte"], None),
        (("Kevin", "Hermsen"), "f.elamrani@rocwaalrand.example", "Werkgeversservicepunt Waalrand",
         "begeleiding-naar-werk", ["contactgegevens", "opleiding"], [], "paper"),
    ]
    for (first, last), email, recipient_name, purpose_code, categories, explicit, channel in plans:
        student, actor, recipient = _student(session, first, last), _principal(session, email), _org(session,
                                                                                                        recipient_name)
        purpose = session.scalar(select(Purpose).where(Purpose.code == purpose_code))
        if None in (student, actor, recipient, purpose):
            continue
        if session.scalar(select(Consent.id).where(Consent.student_id == student.id,
                                                   Consent.recipient_id == recipient.id,
                                                   Consent.purpose_id == purpose.id)) is not None:
            continue
        grant_consent(session, actor, keyring, student, {
            "recipient_id": recipient.id, "purpose_code": purpose_code, "categories": categories,
            "explicit": explicit, "channel": channel}, today=today)
        added += 1
    daan, mentor, uwv = (_student(session, "Daan", "Willems"), _principal(session, "j.devries@rocwaalrand.example"),
                         _org(session, "UWV Waalstede"))
    if None not in (daan, mentor, uwv) and session.scalar(select(ConsentRequest.id).where(
            ConsentRequest.student_id == daan.id, ConsentRequest.recipient_id == uwv.id)) is None:
        request_consent(session, mentor, keyring, daan, {"recipient_id": uwv.id,
                                                         "purpose_code": "arbeidsdeskundig-onderzoek",
                                                         "categories": ["contactgegevens", "opleiding"]})
        added += 1
    session.flush()
    return added
