"""School staff end a guardian's representation, cancel an open request and download a
student's receipts; the hub admin adds purposes and legal tasks (never with special categories).
Each change is one POST, audited; bad input is refused in Dutch with the input kept."""

from __future__ import annotations

from sqlalchemy import func, select

from consent.lifecycle import add_representation, request_consent
from consent.models import (
    ConsentRequest,
    LegalTask,
    Purpose,
    Representation,
    RequestStatus,
)
from consent.receipts import verify_receipt
from consent.service import grant_consent, withdraw_consent
from network.access import Category, decide
from network.audit import AuditAction, AuditEvent
from network.db import db
from network.models import OrganisationType, Role
from tests.conftest import post_form
from tests.consent.conftest import grant_data
from tests.factories import OrganisationFactory, login, make_member, principal_for

PORTAL = "/mijn-gegevens/toestemmingen"


def _events(session, event_type):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)).all()


def _admin(client, world):
    admin = make_member(Role.hub_admin, OrganisationFactory(region=world["region"], type=OrganisationType.hub))
    login(client, admin)
    return admin


# -- school staff --------------------------------------------------------------------------

def test_staff_end_a_representation_and_the_guardian_no_longer_acts(client, app, session, world, actors):
    young = world["young"]
    representation = add_representation(session, actors["mentor"], young, email="ouder@example.org",
                                        relation="ouder")
    session.commit()
    guardian = app.test_client()
    login(guardian, world["guardian"])
    assert young.first_name in guardian.get(PORTAL).get_data(as_text=True)
    login(client, world["mentor"])
    page = f"/leerlingen/{young.id}/toestemmingen"
    assert "Beëindigen" in client.get(page).get_data(as_text=True)
    end_url = f"/vertegenwoordigers/{representation.id}/beeindigen"
    assert post_form(client, page, {}, post_url=end_url).status_code == 302
    db.session.expire_all()
    assert session.get(Representation, representation.id).ended_at is not None
    [event] = _events(session, "consent:representative-end")
    assert event.student_id == str(young.id) and event.account_id == world["mentor"].id
    # from the very next request: no portal for that student, and no basis in decide
    assert "geen gegevens van een leerling" in guardian.get(PORTAL).get_data(as_text=True)
    assert not decide(session, principal_for(world["guardian"]), young, "inzage", [Category.contact]).allowed
    # a second end changes nothing and does not crash
    assert post_form(client, page, {}, post_url=end_url).status_code == 302
    assert len(_events(session, "consent:representative-end")) == 1


def test_staff_of_another_school_cannot_end_a_representation(client, session, world, actors):
    representation = add_representation(session, actors["mentor"], world["young"], email="ouder@example.org",
                                        relation="ouder")
    session.commit()
    other = make_member(Role.mentor, OrganisationFactory(region=world["region"], school=True))
    login(client, other)
    response = post_form(client, "/dashboard", {}, post_url=f"/vertegenwoordigers/{representation.id}/beeindigen")
    assert response.status_code == 404
    db.session.expire_all()
    assert session.get(Representation, representation.id).ended_at is None


def test_staff_cancel_an_open_request_and_it_leaves_the_portal(client, app, session, world, actors, keyring):
    request = request_consent(session, actors["mentor"], keyring, world["student"], grant_data(world))
    session.commit()
    student = app.test_client()
    login(student, world["student_account"])
    assert "vraagt" in student.get(PORTAL).get_data(as_text=True).lower()
    login(client, world["mentor"])
    page = f"/leerlingen/{world['student'].id}/toestemmingen"
    assert "Vraag intrekken" in client.get(page).get_data(as_text=True)
    cancel_url = f"/toestemmingsverzoeken/{request.id}/intrekken"
    assert post_form(client, page, {}, post_url=cancel_url).status_code == 302
    db.session.expire_all()
    assert session.get(ConsentRequest, request.id).status is RequestStatus.cancelled
    assert "Vraag intrekken" not in client.get(page).get_data(as_text=True)
    [event] = _events(session, "consent:request-cancel")
    assert event.object_id == str(request.id) and event.student_id == str(world["student"].id)
    # cancelling again (or an answered request) is refused quietly: nothing changes
    assert post_form(client, page, {}, post_url=cancel_url).status_code == 302
    assert len(_events(session, "consent:request-cancel")) == 1


def test_staff_download_a_students_receipts_verifiable_with_the_jwks(client, session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    withdraw_consent(session, actors["student_account"], keyring, consent)
    session.commit()
    login(client, world["mentor"])
    response = client.get(f"/leerlingen/{world['student'].id}/ontvangstbewijzen")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    bundle = response.get_json()
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert [d["receipt"]["consentReceiptID"] for d in bundle["receipts"]] == [str(r.id) for r in consent.receipts]
    assert all(verify_receipt(document, jwks) for document in bundle["receipts"])
    [event] = _events(session, "consent:receipts")
    assert event.action is AuditAction.export and event.student_id == str(world["student"].id)
    # the school's walls: another school's staff get a 404
    other = make_member(Role.mentor, OrganisationFactory(region=world["region"], school=True))
    login(client, other)
    assert client.get(f"/leerlingen/{world['student'].id}/ontvangstbewijzen").status_code == 404


# -- hub admin: new purposes and legal tasks --------------------------------------------------

def test_hub_admin_adds_a_purpose(client, session, world, actors, keyring):
    _admin(client, world)
    url = "/beheer/grondslagen/doelen/nieuw"
    assert "Doel toevoegen" in client.get("/beheer/grondslagen").get_data(as_text=True)
    response = post_form(client, url, {"code": "leerwerktraject", "label": "Leerwerktraject",
                                       "description": "Werken en leren tegelijk.",
                                       "categories": ["contactgegevens", "opleiding"],
                                       "organisation_types": ["gemeente", "leerwerkloket"], "is_active": "true"})
    assert response.status_code == 302
    purpose = session.scalar(select(Purpose).where(Purpose.code == "leerwerktraject"))
    assert purpose.categories == {Category.contact, Category.education} and purpose.is_active
    assert purpose.recipient_types == {OrganisationType.gemeente, OrganisationType.leerwerkloket}
    assert _events(session, "consent:purpose-create")[0].object_id == str(purpose.id)
    # usable at once: a consent for it
    grant_consent(session, actors["student_account"], keyring, world["student"],
                  grant_data(world, purpose_code="leerwerktraject", categories=["contactgegevens"]))


def test_a_bad_new_purpose_is_refused_in_dutch_with_the_input_kept(client, session, world):
    _admin(client, world)
    url = "/beheer/grondslagen/doelen/nieuw"
    before = session.scalar(select(func.count(Purpose.id)))
    cases = [
        ({"code": "Leer werk!", "label": "Leerwerktraject", "categories": ["opleiding"]}, "kleine letters"),
        ({"code": "jobcoaching", "label": "Nog eens jobcoaching", "categories": ["opleiding"]}, "al een doel"),
        ({"code": "leerwerktraject", "label": "Leerwerktraject"}, "minstens één soort gegevens"),
        ({"code": "leerwerktraject", "label": "", "categories": ["opleiding"]}, "Naam"),
    ]
    for data, message in cases:
        response = post_form(client, url, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, data
        assert message in html, (message, data)
        if data["label"]:
            assert f'value="{data["label"]}"' in html  # the input is kept
    assert session.scalar(select(func.count(Purpose.id))) == before
    assert not _events(session, "consent:purpose-create")


def test_hub_admin_adds_a_legal_task_never_with_special_categories(client, session, world):
    _admin(client, world)
    url = "/beheer/grondslagen/wettelijke-taken/nieuw"
    purpose = session.scalar(select(Purpose).where(Purpose.code == "begeleiding-naar-werk"))
    base = {"organisation_type": "wsp", "purpose_id": str(purpose.id), "code": "wsp-bemiddeling",
            "label": "Bemiddeling door het WSP", "legal_reference": "Participatiewet art. 7",
            "own_region_only": "true", "is_active": "true"}
    before = session.scalar(select(func.count(LegalTask.id)))
    for categories, message in [(["contactgegevens", "ondersteuningsbehoefte"], "uitdrukkelijke toestemming"),
                                (["contactgegevens", "justitie"], "uitdrukkelijke toestemming"),
                                (["bsn"], "alleen gegevens omvatten die het doel"),
                                ([], "minstens één soort gegevens")]:
        response = post_form(client, url, {**base, "categories": categories})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and message in html, categories
        assert 'value="wsp-bemiddeling"' in html and 'value="wsp" selected' in html  # input kept
    response = post_form(client, url, {**base, "organisation_type": "school", "categories": ["contactgegevens"]})
    assert response.status_code == 400 and "geen school of hub" in response.get_data(as_text=True)
    duplicate = {**base, "organisation_type": "rmc", "code": "rmc-nazorg",
                 "purpose_id": str(session.scalar(select(Purpose.id).where(Purpose.code == "rmc-nazorg"))),
                 "categories": ["contactgegevens"]}
    response = post_form(client, url, duplicate)
    assert response.status_code == 400 and "bestaat al" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(LegalTask.id))) == before
    response = post_form(client, url, {**base, "categories": ["contactgegevens", "opleiding"]})
    assert response.status_code == 302
    task = session.scalar(select(LegalTask).where(LegalTask.code == "wsp-bemiddeling"))
    assert task.categories == {Category.contact, Category.education} and task.own_region_only
    assert _events(session, "consent:legal-task-create")[0].object_id == str(task.id)
    # the data decides: a WSP of the student's region now has a basis, without consent
    wsp = make_member(Role.partner_staff, OrganisationFactory(region=world["region"], type=OrganisationType.wsp))
    decision = decide(session, principal_for(wsp), world["student"], "begeleiding-naar-werk",
                      [Category.contact, Category.support])
    assert decision.allowed == {Category.contact} and decision.basis_label == "legal_task:wsp-bemiddeling"


def test_editing_a_purpose_to_no_categories_is_refused(client, session, world):
    _admin(client, world)
    purpose = session.scalar(select(Purpose).where(Purpose.code == "jobcoaching"))
    response = post_form(client, f"/beheer/grondslagen/doelen/{purpose.id}",
                         {"label": "Jobcoaching op de werkplek", "is_active": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "minstens één soort gegevens" in html
    assert 'value="Jobcoaching op de werkplek"' in html
    db.session.expire_all()
    assert session.get(Purpose, purpose.id).label == "Jobcoaching" and purpose.categories
