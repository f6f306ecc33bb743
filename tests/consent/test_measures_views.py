"""Curatele and mentorschap on the pages: school staff record the measure with the court
decision (bad input: Dutch errors, typed values kept, nothing written), the curator acts in the
portal "namens" the student, and the student reads who decides about their data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from consent.models import Consent, GivenBy, Relation, Representation
from network import clock
from network.audit import AuditEvent
from network.models import Role
from tests.conftest import csrf_from, post_form
from tests.consent.conftest import born_years_ago
from tests.factories import AccountFactory, StudentFactory, login, make_member

PORTAL = "/mijn-gegevens/toestemmingen"


def _adult(world, years=25):
    account = make_member(Role.student, world["school"])
    student = StudentFactory(school=world["school"], account_id=account.id, date_of_birth=born_years_ago(years),
                             first_name="Sanne")
    return student, account


def _record(client, world, student, **overrides):
    data = {"relation": "curator", "email": "curator@example.org", "court": "Rechtbank Gelderland",
            "decision_date": (clock.today() - dt.timedelta(days=100)).isoformat(),
            "decision_reference": "C/05/998877", **overrides}
    return post_form(client, f"/leerlingen/{student.id}/toestemmingen", data,
                     post_url=f"/leerlingen/{student.id}/vertegenwoordigers")


def test_staff_record_a_curatele_and_the_curator_acts_in_the_portal(client, session, world):
    curator = AccountFactory(name="Curator De Wit", email="curator@example.org")
    student, student_account = _adult(world)
    session.commit()
    login(client, world["mentor"])
    assert "Curatele of mentorschap" in client.get(f"/leerlingen/{student.id}/toestemmingen").get_data(as_text=True)
    assert _record(client, world, student).status_code == 302
    measure = session.scalar(select(Representation))
    assert measure.relation is Relation.curator and measure.decision_reference == "C/05/998877"
    html = client.get(f"/leerlingen/{student.id}/toestemmingen").get_data(as_text=True)
    assert "zaaknummer C/05/998877" in html and "Curator De Wit" in html
    assert "Deze leerling staat onder curatele: de curator (Curator De Wit) geeft de toestemming" in html

    own = client.application.test_client()
    login(own, curator)
    html = own.get(PORTAL).get_data(as_text=True)
    assert "Wie beslist over je gegevens" in html and "Je staat onder curatele" in html and "Sanne" in html
    assert "Ik geef namens" in html and "U bekijkt dit als curator van Sanne" in html
    assert "ouder of voogd van Sanne" not in html
    data = {"leerling": str(student.id), "recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
            "categories": ["contactgegevens"]}
    assert post_form(own, PORTAL, data).status_code == 302
    consent = session.scalar(select(Consent))
    assert consent.given_by is GivenBy.representative and consent.representative_relation is Relation.curator
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "consent:grant"))
    assert event.on_behalf_of == f"leerling:{student.id}"

    login(client, student_account)
    html = client.get(PORTAL).get_data(as_text=True)
    assert "Je staat onder curatele" in html and "Rechtbank Gelderland" in html
    assert "toestemming van Curator De Wit (je curator)" in html and "Vraag het je curator" in html
    assert f"{PORTAL}/{consent.id}/intrekken" not in html  # no button the service would refuse
    refused = post_form(client, PORTAL, {**data, "purpose_code": "stagebegeleiding"})
    assert refused.status_code == 400 and "onder curatele" in refused.get_data(as_text=True)
    token = csrf_from(client.get(PORTAL).get_data(as_text=True))
    assert client.post(f"{PORTAL}/{consent.id}/intrekken", data={"csrf_token": token}).status_code == 403
    assert session.scalar(select(func.count()).select_from(Consent)) == 1

    login(client, world["mentor"])  # the school ends the measure: the student decides again
    page = f"/leerlingen/{student.id}/toestemmingen"
    ended = post_form(client, page, {}, post_url=f"/vertegenwoordigers/{measure.id}/beeindigen",
                      follow_redirects=True)
    assert "beslist de leerling weer zelf" in ended.get_data(as_text=True)
    assert own.get(f"{PORTAL}?leerling={student.id}").status_code == 404
    login(client, student_account)
    assert "Je beslist zelf wie je gegevens mag zien" in client.get(PORTAL).get_data(as_text=True)


def test_mentorschap_reads_in_b1_for_the_student(client, session, world):
    AccountFactory(name="Mentor Bakker", email="mentor@example.org")
    student, student_account = _adult(world, 31)
    session.commit()
    login(client, world["mentor"])
    response = _record(client, world, student, relation="mentor", email="mentor@example.org",
                       ends_on=(clock.today() + dt.timedelta(days=300)).isoformat())
    assert response.status_code == 302
    login(client, student_account)
    html = client.get(PORTAL).get_data(as_text=True)
    assert "Je staat onder mentorschap" in html and "Over je andere gegevens beslis je zelf" in html
    assert "Daarna beslis je weer zelf" in html


def test_bad_measure_on_the_page_keeps_the_typed_values_and_writes_nothing(client, session, world):
    AccountFactory(name="Curator De Wit", email="curator@example.org")
    student, _account = _adult(world)
    session.commit()
    login(client, world["mentor"])
    future = (clock.today() + dt.timedelta(days=10)).isoformat()
    response = _record(client, world, student, decision_date=future, decision_reference="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "ligt in de toekomst" in html and "Vul het zaaknummer van de uitspraak in" in html
    assert 'value="Rechtbank Gelderland"' in html and f'value="{future}"' in html
    assert session.scalar(select(Representation)) is None

    response = _record(client, world, world["student"])  # 17: curatele is for adults
    assert response.status_code == 400 and "alleen voor volwassenen" in response.get_data(as_text=True)
    assert session.scalar(select(Representation)) is None
