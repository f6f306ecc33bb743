"""After a withdrawal the partner sees the school's free text of that referral only where a basis
remains; its own notes stay (issue 18, the last edge of item 5). The school's messages, the
reasons it gave and who it wrote was at the warm hand-over name the student: without a basis the
receiver's page and the API leave them out with a Dutch line saying why, the read is audited as
a denial, and the partner's own messages and internal notes stay visible. Where another basis
remains (a legal task) the text stays. The upgrade gives existing events their organisation."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from consent.service import grant_consent, withdraw_consent
from network import clock
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from referrals import wizard_service as ws
from referrals.models import EventKind, Referral, ReferralEvent
from referrals.service import post_message
from referrals.states import ReferralStatus as S
from referrals.transitions import record_handover, transition
from tests.factories import login
from tests.referrals.conftest import draft_data, signup
from tests.referrals.test_task_scopes import _leave
from tests.socialmap.conftest import add_service

API = "/api/v1/referrals"
SCHOOL_MESSAGE = "Sanne Jobzoeker is vandaag weer in paniek geraakt op stage."
PRESENT = "Sanne Jobzoeker, haar moeder en mentor Jansen"
OWN_UPDATE = "Kennismaking met de jobcoach is gepland."
OWN_NOTE = "Interne notitie: bellen met de werkgever."
WITHHELD = "De school schreef hier iets over de leerling. U ziet het niet meer"
NOTICE = "Daarom ziet u wat de school bij deze verwijzing over de leerling schreef niet meer."


@pytest.fixture
def busy(session, keyring, rworld, ractors):
    """A referral to the gemeente's jobcoach on the student's consent, accepted, with a message
    of the school, the school's record of the hand-over, and the jobcoach's own update and note."""
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    post_message(session, ractors["mentor"], keyring, referral, SCHOOL_MESSAGE)
    record_handover(session, ractors["mentor"], keyring, referral, held_on=clock.today() - dt.timedelta(days=1),
                    present=PRESENT)
    post_message(session, ractors["jobcoach"], keyring, referral, OWN_UPDATE)
    post_message(session, ractors["jobcoach"], keyring, referral, OWN_NOTE, internal=True)
    session.commit()
    return referral


def _page(client, rworld, referral) -> str:
    login(client, rworld["jobcoach"])
    response = client.get(f"/inbox/{referral.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_with_the_consent_the_partner_reads_the_schools_text(client, session, rworld, busy):
    html = _page(client, rworld, busy)
    assert SCHOOL_MESSAGE in html and PRESENT in html and OWN_UPDATE in html and OWN_NOTE in html
    assert WITHHELD not in html and NOTICE not in html


def test_after_the_withdrawal_the_schools_text_is_gone_and_the_partners_own_stays(client, session, keyring,
                                                                                   rworld, ractors, busy):
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    html = _page(client, rworld, busy)
    assert SCHOOL_MESSAGE not in html and PRESENT not in html and "Sanne" not in html
    assert WITHHELD in html and NOTICE in html
    assert OWN_UPDATE in html and OWN_NOTE in html  # the partner's own notes stay
    # the read is decided and audited as a denial
    read = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "referral:packet",
                                                    AuditEvent.organisation_id == rworld["gemeente"].id)
                           .order_by(AuditEvent.id.desc())).first()
    assert read.outcome is AuditOutcome.denied and read.student_id == str(rworld["student"].id)
    # the school still reads everything on its own referral
    login(client, rworld["mentor"])
    sent = client.get(f"/verwijzingen/{busy.id}").get_data(as_text=True)
    assert SCHOOL_MESSAGE in sent and OWN_UPDATE in sent


def test_the_api_leaves_out_the_schools_text_and_says_why(client, session, keyring, rworld, ractors, busy):
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    login(client, rworld["jobcoach"])
    body = client.get(f"{API}/{busy.id}").get_json()
    assert NOTICE in body["school_text_withheld"]
    assert body["handover"]["present"] is None and body["handover"]["held_on"]
    school = [e for e in body["events"] if e["kind"] == "update" and e["withheld"]]
    assert len(school) == 1 and school[0]["body"] is None and school[0]["actor_organisation"] == "ROC Testrand"
    own = {e["body"] for e in body["events"] if e["kind"] in ("update", "note") and not e["withheld"]}
    assert own == {OWN_UPDATE, OWN_NOTE}
    assert "Sanne" not in str(body) and "Jobzoeker" not in str(client.get(API).get_json())
    # with the consent given again, the text is back (a basis remains: nothing is deleted)
    grant_consent(session, ractors["student_account"], keyring, rworld["student"], {
        "recipient_id": rworld["gemeente"].id, "purpose_code": "jobcoaching", "categories": ["contactgegevens"]})
    session.commit()
    body = client.get(f"{API}/{busy.id}").get_json()
    assert body["school_text_withheld"] is None and SCHOOL_MESSAGE in {e["body"] for e in body["events"]}


def test_the_schools_reason_for_a_status_is_withheld_but_the_partners_own_reason_is_not(
        session, keyring, rworld, ractors):
    from referrals.referral_timeline import school_text_fields

    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    transition(session, ractors["jobcoach"], keyring, referral, S.rejected, reason="Geen plek bij onze jobcoaches")
    other = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"],
                          draft_data(rworld, details=signup(reason="Tweede poging")))
    ws.send_referral(session, ractors["mentor"], keyring, other)
    transition(session, ractors["mentor"], keyring, other, S.cancelled, reason="Sanne Jobzoeker is verhuisd")
    session.commit()
    assert school_text_fields(referral, school_text=False)["status_reason"] == "Geen plek bij onze jobcoaches"
    assert school_text_fields(other, school_text=False)["status_reason"] is None
    assert school_text_fields(other)["status_reason"] == "Sanne Jobzoeker is verhuisd"


def test_where_a_legal_task_remains_the_schools_text_stays(client, session, keyring, rworld, ractors):
    """The RMC's referral rests on its legal task and on a consent for the leefgebieden: the
    withdrawal wipes the packet (the consent was part of it), but the legal task remains, so
    the school's text stays readable."""
    _leave(session, ractors, rworld["student"])  # a leaver: inside the RMC's task
    consent = grant_consent(session, ractors["student_account"], keyring, rworld["student"], {
        "recipient_id": rworld["rmc"].id, "purpose_code": "rmc-nazorg", "categories": ["leefgebieden"]})
    service = add_service(rworld["rmc"], "Nazorg schoolverlaters")
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], {
        "service_id": service.id, "purpose": "rmc-nazorg", "type": "rmc",
        "categories": ["contactgegevens", "opleiding", "leefgebieden"], "details": signup()})
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    post_message(session, ractors["mentor"], keyring, referral, SCHOOL_MESSAGE)
    session.commit()
    assert "legal_task:rmc-nazorg" in referral.packet.basis and f"consent:{consent.id}" in referral.packet.basis
    withdraw_consent(session, ractors["student_account"], keyring, consent)
    session.commit()
    login(client, rworld["rmc_staff"])
    html = client.get(f"/inbox/{referral.id}").get_data(as_text=True)
    assert "de gedeelde gegevens zijn verwijderd" in html  # the packet is wiped
    assert SCHOOL_MESSAGE in html and WITHHELD not in html and NOTICE not in html


def test_other_organisations_and_bad_ids_still_get_nothing(client, session, keyring, rworld, ractors, busy):
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    login(client, rworld["far_coach"])
    for url in (f"/inbox/{busy.id}", f"{API}/{busy.id}", "/inbox/99999999999", f"{API}/abc"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert SCHOOL_MESSAGE not in response.get_data(as_text=True)
    # the partner's own note after the withdrawal: an empty one is refused in Dutch, nothing saved
    login(client, rworld["jobcoach"])
    response = client.post(f"{API}/{busy.id}/updates", json={"text": "   ", "internal": True})
    assert response.status_code == 400
    assert {(e["field"], e["message"]) for e in response.get_json()["errors"]} == {("text", "Vul dit veld in.")}
    assert session.scalar(select(ReferralEvent.id).where(ReferralEvent.referral_id == busy.id,
                                                         ReferralEvent.body_encrypted.is_(None),
                                                         ReferralEvent.kind == EventKind.note)) is None


def test_the_upgrade_gives_existing_events_their_organisation(session, rworld, busy):
    referral_id = busy.id
    session.remove()
    downgrade(revision="9e4b1f7a3c52")
    db.session.remove()
    upgrade()
    events = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)).all()
    by_kind = {(e.kind, e.actor_name): e.actor_organisation_id for e in events}
    referral = db.session.get(Referral, referral_id)
    assert by_kind[(EventKind.update, "Mentor Jansen")] == referral.from_organisation_id
    assert by_kind[(EventKind.handover, "Mentor Jansen")] == referral.from_organisation_id
    assert by_kind[(EventKind.update, "Jobcoach Bakker")] == referral.to_organisation_id
    assert by_kind[(EventKind.note, "Jobcoach Bakker")] == referral.to_organisation_id
