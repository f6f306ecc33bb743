"""The employer's assessment for a company with accounts in the hub (issue 19, item 4): sending
puts it in the company's list instead of e-mailing a link (even without the praktijkopleider's
address), the notification names no one, the list names no student, a staff member fills it in
logged in and signs it (audited as their account), the begeleidingsformulier shows only when the
student chose the praktijkopleider, and another company, a gemeente or a revoked one get nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network import clock
from network.audit import AuditEvent
from network.db import db
from network.models import OrganisationType, OutboxMessage, Role
from referrals.placements.assessment import revoke_link, send_link
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment
from referrals.placements.guidance import save_form, set_sharing
from referrals.placements.service import create_placement
from tests.conftest import csrf_from
from tests.factories import OrganisationFactory, login, make_member, principal_for
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)
from tests.referrals.test_placements_assessment import form_answers
from tests.referrals.test_placements_guidance import TEXTS

BASE = "http://schakel.test"


@pytest.fixture
def employer(session, pworld):
    account = make_member(Role.partner_staff, pworld["bakery"], name="Henk van Dalen")
    session.commit()
    return account


@pytest.fixture
def placement(session, keyring, pworld, pactors, employer):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                            placement_data(pworld, trainer_email=None))
    session.commit()
    return made


def _sent(session, keyring, pactors, placement):
    assessment, address = send_link(session, pactors["mentor"], keyring, placement, base_url=BASE)
    session.commit()
    return assessment, address.removeprefix(BASE)


def test_a_company_with_accounts_gets_it_in_the_hub_not_by_link(client, session, keyring, pworld, pactors,
                                                                 employer, placement):
    assessment, path = _sent(session, keyring, pactors, placement)
    assert assessment.in_inbox and assessment.token_hash is None and path == f"/stagebeoordelingen/{assessment.id}"
    assert assessment.sent_to == "Bakkerij Van Dalen"
    for mail in session.scalars(select(OutboxMessage)).all():  # the staff's notification: nobody named
        body = keyring.decrypt(mail.body_encrypted, mail.body_ref())
        assert mail.recipient == employer.email and "Sanne" not in mail.subject + body
    login(client, employer)
    listing = client.get("/stagebeoordelingen").get_data(as_text=True)
    assert "als Medewerker bakkerij" in listing and "Sanne" not in listing and "In te vullen vóór" in listing
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sanne" in html and "Visser" not in html and "Maakt deeg" in html
    refused = client.post(path, data={**form_answers(placement, signed_name=""), "csrf_token": csrf_from(html)})
    assert refused.status_code == 400 and "Typ uw naam als ondertekening." in refused.get_data(as_text=True)
    done = client.post(path, data={**form_answers(placement), "csrf_token": csrf_from(html)})
    assert done.status_code == 200 and "Dank u wel" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PlacementAssessment, assessment.id).status is AssessmentStatus.submitted
    submitted = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "placement:assessment-submit"))
    assert submitted.account_id == employer.id and submitted.channel == "web"
    opened = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:assessment-open")).all()
    assert opened and all(e.basis == "legal_task:stageovereenkomst" and e.account_id == employer.id for e in opened)
    again = client.get(path).get_data(as_text=True)
    assert "al ingevuld" in again and "Sanne" not in again


@pytest.mark.parametrize("shared", (["praktijkopleider"], ["slb"]))
def test_the_form_shows_for_the_companys_staff_only_when_the_student_chose_the_praktijkopleider(
        client, session, keyring, pworld, pactors, employer, placement, shared):
    student = make_member(Role.student, pworld["school"])
    pworld["student"].account_id = student.id
    session.commit()
    save_form(session, principal_for(student), keyring, pworld["student"], TEXTS, today=clock.today())
    set_sharing(session, principal_for(student), pworld["student"], shared, today=clock.today())
    session.commit()
    _assessment, path = _sent(session, keyring, pactors, placement)
    login(client, employer)
    html = client.get(path).get_data(as_text=True)
    assert ("Geef één opdracht tegelijk." in html) is (shared == ["praktijkopleider"])
    view = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "placement:guidance-link-view"))
    assert view.outcome.value == ("success" if shared == ["praktijkopleider"] else "denied")


def test_another_company_a_gemeente_and_a_revoked_one_get_nothing(client, session, keyring, pworld, pactors,
                                                                   employer, placement):
    assessment, path = _sent(session, keyring, pactors, placement)
    other_company = OrganisationFactory(region=pworld["region"], type=OrganisationType.werkgever)
    outsiders = (make_member(Role.partner_staff, other_company), make_member(Role.partner_staff, pworld["gemeente"]))
    for account in outsiders:
        login(client, account)
        assert client.get(path).status_code == 404
        assert "Bakkerij" not in client.get("/stagebeoordelingen").get_data(as_text=True)
    login(client, pworld["mentor"])
    assert client.get(path).status_code == 403  # school staff do not fill it in
    revoke_link(session, pactors["mentor"], db.session.get(PlacementAssessment, assessment.id))
    session.commit()
    login(client, employer)
    gone = client.get(path)
    assert gone.status_code == 410 and "Sanne" not in gone.get_data(as_text=True)
