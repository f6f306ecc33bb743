"""The referral wizard through HTTP, as a mentor uses it: choose the student, find the service,
fill in the sign-up form, choose the data categories, preview, send. Each step saves the draft;
a double submit is one referral; bad input is refused with Dutch messages at the field and in
the summary, keeps what was typed, and sends nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from network import clock
from network.db import db
from network.models import OutboxMessage
from network.notifications import Notification
from referrals.models import HandoverPacket, Referral
from referrals.states import ReferralStatus as S
from referrals.wizard_service import read_details
from socialmap.models import ServiceStatus
from tests.conftest import csrf_from
from tests.factories import login

NEW = "/verwijzingen/nieuw"


def count(session, model, *where):
    db.session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(session, referral_id):
    db.session.expire_all()
    return session.get(Referral, referral_id)


def edit_url(referral_id, step):
    return f"/verwijzingen/{referral_id}/bewerken?stap={step}"


def token_of(html):
    return re.search(r'name="client_token" value="([^"]+)"', html).group(1)


def version_of(html):
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def step3_form(**overrides):
    form = {"stap": "3", "purpose": "jobcoaching", "type": "transitieroute",
            "reason": "Sanne zoekt na haar eindstage werk in de logistiek.",
            "ss-study_progress": "Op schema", "ld-gezondheid-problem": "1",
            "ld-gezondheid-explanation": "Snel overprikkeld", "ld-financien-problem": "1",
            "ld-financien-explanation": "Kleine schuld", "cw-0-name": "K. de Wit",
            "cw-0-function": "Ambulant begeleider",
            "cw-0-organisation": "MEE", "cw-0-contact": "06 11111111", "bg-barriers": "Autisme (ASS)",
            "remarks": "Graag snel contact", "ga": "verder"}
    form.update(overrides)
    return form


def post_step(client, referral_id, step, data):
    html = client.get(edit_url(referral_id, step)).get_data(as_text=True)
    return client.post(f"/verwijzingen/{referral_id}/bewerken",
                       data={"csrf_token": csrf_from(html), "version": version_of(html), **data})


def start(client, rworld, service=None):
    """Steps 1 and 2: the draft exists after the first POST. Returns (response, referral id)."""
    html = client.get(f"{NEW}?student={rworld['student'].id}&q=jobcoach").get_data(as_text=True)
    response = client.post(NEW, data={"csrf_token": csrf_from(html), "student": str(rworld["student"].id),
                                      "client_token": token_of(html),
                                      "service_id": str((service or rworld["service"]).id)})
    referral_id = db.session.scalar(select(func.max(Referral.id)))
    return response, referral_id


def draft_through_step4(client, rworld, categories=("contactgegevens", "opleiding", "ondersteuningsbehoefte")):
    response, referral_id = start(client, rworld)
    assert response.status_code == 302
    assert post_step(client, referral_id, 3, step3_form()).status_code == 302
    response = post_step(client, referral_id, 4, {"stap": "4", "categories": list(categories), "ga": "verder"})
    assert response.status_code == 302 and response.headers["Location"].endswith("stap=5")
    return referral_id


def send(client, referral_id, **data):
    html = client.get(edit_url(referral_id, 5)).get_data(as_text=True)
    return client.post(f"/verwijzingen/{referral_id}/versturen",
                       data={"csrf_token": csrf_from(html), "version": version_of(html), **data})


def test_full_wizard_saves_each_step_previews_and_sends_once(client, session, keyring, rworld):
    login(client, rworld["mentor"])
    # step 1: the school's students, and the link from the student page
    html = client.get(NEW).get_data(as_text=True)
    assert "Sanne Jobzoeker" in html and 'aria-current="step"' in html
    detail = client.get(f"/leerlingen/{rworld['student'].id}").get_data(as_text=True)
    assert f"/verwijzingen/nieuw?student={rworld['student'].id}" in detail
    # step 2: inline search on the sociale kaart (no own organisation, no inactive entries)
    html = client.get(f"{NEW}?student={rworld['student'].id}&q=jobcoach").get_data(as_text=True)
    assert "Jobcoaching jongeren" in html and "Gemeente Teststad" in html
    assert "Stagebureau" not in client.get(f"{NEW}?student={rworld['student'].id}").get_data(as_text=True)
    assert "Oude regeling" not in client.get(f"{NEW}?student={rworld['student'].id}&q=regeling").get_data(as_text=True)
    response, referral_id = start(client, rworld)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{referral_id}/bewerken?stap=3")
    referral = fresh(session, referral_id)
    assert referral.status is S.draft and referral.service_id == rworld["service"].id and referral.client_token
    # step 3: the sign-up form, saved as typed
    html = client.get(edit_url(referral_id, 3)).get_data(as_text=True)
    assert "Transitieroute" in html and "eindstage" in html and "<legend>Leefgebieden</legend>" in html
    assert post_step(client, referral_id, 3, step3_form()).status_code == 302
    db.session.expire_all()
    details = read_details(keyring, fresh(session, referral_id))
    assert details["life_domains"]["gezondheid"] == {"problem": True, "explanation": "Snel overprikkeld"}
    assert details["care_workers"][0]["organisation"] == "MEE" and details["background"]["barriers"] == "Autisme (ASS)"
    assert fresh(session, referral_id).purpose == "jobcoaching"
    html = client.get(edit_url(referral_id, 3)).get_data(as_text=True)
    assert "Snel overprikkeld" in html and "K. de Wit" in html  # back to the step: the input is there
    # step 4: categories with a basis are offered (pre-ticked), the others disabled with the way out
    html = client.get(edit_url(referral_id, 4)).get_data(as_text=True)
    assert re.search(r'value="contactgegevens"[^>]*checked', html)
    assert re.search(r'value="justitie"[^>]*disabled', html)
    assert "toestemming nr." in html and f"/leerlingen/{rworld['student'].id}/toestemmingen#h-record" in html
    response = post_step(client, referral_id, 4, {"stap": "4", "categories": ["contactgegevens", "opleiding",
                                                                               "ondersteuningsbehoefte"]})
    assert response.status_code == 302
    assert fresh(session, referral_id).category_list == ["contactgegevens", "ondersteuningsbehoefte", "opleiding"]
    # step 5: the preview shows what the recipient will see, and only that
    html = client.get(edit_url(referral_id, 5)).get_data(as_text=True)
    assert "Sanne Jobzoeker" in html and "Snel overprikkeld" in html and "Autisme (ASS)" in html
    assert "Kleine schuld" not in html  # financien belongs to leefgebieden: not shared
    assert "111222333" not in html
    # send: one referral, one packet, the receiver told
    response = send(client, referral_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/verwijzingen/{referral_id}")
    assert fresh(session, referral_id).status is S.requested
    assert count(session, HandoverPacket) == 1
    assert count(session, Notification, Notification.account_id == rworld["jobcoach"].id) == 1
    # the same send again (a double click, a reload): still one referral
    token = csrf_from(html)
    again = client.post(f"/verwijzingen/{referral_id}/versturen", data={"csrf_token": token,
                                                                      "version": version_of(html)})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/verwijzingen/{referral_id}")
    assert count(session, Referral) == 1 and count(session, HandoverPacket) == 1
    # a draft already sent is not edited any more: its page shows the state
    assert client.get(edit_url(referral_id, 3)).headers["Location"].endswith(f"/verwijzingen/{referral_id}")


def test_double_submit_of_the_first_step_is_one_draft(client, session, rworld):
    login(client, rworld["mentor"])
    html = client.get(f"{NEW}?student={rworld['student'].id}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(html), "student": str(rworld["student"].id), "client_token": token_of(html),
            "service_id": str(rworld["service"].id)}
    first, second = client.post(NEW, data=data), client.post(NEW, data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert count(session, Referral) == 1


def test_leaving_for_consent_keeps_the_draft_and_resumes(client, session, rworld):
    login(client, rworld["mentor"])
    response, referral_id = start(client, rworld)
    post_step(client, referral_id, 3, step3_form(ga="opslaan"))
    html = client.get("/verwijzingen/concepten").get_data(as_text=True)
    assert "Sanne Jobzoeker" in html and f"/verwijzingen/{referral_id}/bewerken?stap=4" in html
    assert "Verder" in html


def assert_refused(response, session, message, field_id):
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:2000]
    assert "error-summary" in html and f'#{field_id}"' in html and f'id="{field_id}"' in html
    assert html.count(message) >= 2, f"{message!r} should be at the field and in the summary"
    assert count(session, HandoverPacket) == 0 and count(session, OutboxMessage) == 0
    assert count(session, Notification) == 0
    return html


def test_send_without_reason_goes_back_to_the_form_with_the_input(client, session, rworld):
    login(client, rworld["mentor"])
    response, referral_id = start(client, rworld)
    post_step(client, referral_id, 3, step3_form(reason=""))
    post_step(client, referral_id, 4, {"stap": "4", "categories": ["contactgegevens", "opleiding"]})
    html = assert_refused(send(client, referral_id), session, "Vul de reden van de verwijzing in.", "f-reason")
    assert "Snel overprikkeld" in html and 'name="reason"' in html  # step 3, with what was typed
    assert fresh(session, referral_id).status is S.draft


def test_category_without_basis_is_refused_at_step_4_and_at_sending(client, session, rworld):
    login(client, rworld["mentor"])
    response, referral_id = start(client, rworld)
    post_step(client, referral_id, 3, step3_form())
    response = post_step(client, referral_id, 4, {"stap": "4", "categories": ["contactgegevens", "justitie"]})
    html = assert_refused(response, session, "geen grondslag", "f-categories")
    assert "Gemeente Teststad" in html
    assert fresh(session, referral_id).categories == ""  # nothing saved
    # the basis ends between step 4 and sending: the send is refused and leads back to step 4
    post_step(client, referral_id, 4, {"stap": "4", "categories": ["contactgegevens"]})
    post_step(client, referral_id, 3, step3_form(purpose="rmc-nazorg"))
    html = assert_refused(send(client, referral_id), session, "geen grondslag", "f-categories")
    assert "Welke gegevens deelt u?" in html


def test_inactive_and_own_organisation_services_are_refused(client, session, rworld):
    login(client, rworld["mentor"])
    for service, message in ((rworld["inactive"], "niet actief"), (rworld["own_service"], "eigen organisatie")):
        response, _id = start(client, rworld, service=service)
        html = assert_refused(response, session, message, "f-service_id")
        assert count(session, Referral) == 0
        assert 'name="client_token"' in html  # the same wizard, token kept
    # a service that became inactive after the draft was made: refused at sending, back to step 2
    referral_id = draft_through_step4(client, rworld)
    rworld["service"].status = ServiceStatus.inactive
    db.session.commit()
    assert_refused(send(client, referral_id), session, "niet actief", "f-service_id")


def test_past_due_date_is_refused_and_kept(client, session, rworld):
    login(client, rworld["mentor"])
    referral_id = draft_through_step4(client, rworld)
    past = (clock.today() - dt.timedelta(days=3)).isoformat()
    html = assert_refused(send(client, referral_id, response_due=past), session,
                          "De reactietermijn kan niet in het verleden liggen.", "f-response_due")
    assert f'value="{past}"' in html
    later = clock.today() + dt.timedelta(days=20)
    assert send(client, referral_id, response_due=later.isoformat()).status_code == 302
    assert fresh(session, referral_id).response_due == later


def test_invalid_form_input_speaks_dutch(client, session, rworld):
    login(client, rworld["mentor"])
    response, referral_id = start(client, rworld)
    response = post_step(client, referral_id, 3, step3_form(purpose="", **{"cw-1-function": "Jobcoach"}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vul de naam van de hulpverlener in." in html or "Kies het doel van de verwijzing." in html
    assert "Snel overprikkeld" in html


@pytest.mark.parametrize("who, status", [("jobcoach", 403), ("far_mentor", 404)])
def test_others_cannot_use_the_wizard_of_a_draft(client, session, rworld, who, status):
    login(client, rworld["mentor"])
    response, referral_id = start(client, rworld)
    client.post("/uitloggen")
    other = client.application.test_client()
    login(other, rworld[who])
    assert other.get(edit_url(referral_id, 3)).status_code == status
    assert other.get(f"{NEW}?student={rworld['student'].id}").status_code == status
    other.get("/")  # a session for the CSRF token
    assert other.post(f"/verwijzingen/{referral_id}/versturen").status_code in (status, 400)
    assert fresh(session, referral_id).status is S.draft


def test_delete_a_draft(client, session, rworld):
    login(client, rworld["mentor"])
    response, referral_id = start(client, rworld)
    html = client.get("/verwijzingen/concepten").get_data(as_text=True)
    response = client.post(f"/verwijzingen/{referral_id}/verwijderen",
                           data={"csrf_token": csrf_from(html), "version": version_of(html)})
    assert response.status_code == 302
    referral = fresh(session, referral_id)
    assert referral.status is S.cancelled and referral.status_reason == "concept verwijderd"
    assert count(session, Notification) == 0  # the receiver never saw the draft
    assert f"/verwijzingen/{referral_id}/bewerken" not in client.get("/verwijzingen/concepten").get_data(as_text=True)


def test_the_service_response_time_is_editable_and_sets_the_default_deadline(client, session, rworld):
    from socialmap.models import Service

    service = rworld["service"]
    partner = client.application.test_client()
    login(partner, rworld["jobcoach"])
    url = f"/sociale-kaart/diensten/{service.uuid}/bewerken"
    html = partner.get(url).get_data(as_text=True)
    assert 'name="response_days" value="5"' in html and "Reactietermijn in werkdagen" in html
    form = {"csrf_token": csrf_from(html), "version": version_of(html), "name": service.name, "status": "active",
            "response_days": "0"}
    response = partner.post(url, data=form)
    assert response.status_code == 400 and "tussen 1 en 60" in response.get_data(as_text=True)
    assert partner.post(url, data={**form, "response_days": "10"}).status_code == 302
    db.session.expire_all()
    assert session.get(Service, service.id).response_days == 10
    login(client, rworld["mentor"])
    referral_id = draft_through_step4(client, rworld)
    assert "10 werkdagen" in client.get(edit_url(referral_id, 5)).get_data(as_text=True)
