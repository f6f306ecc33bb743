"""The school's pages of sent referrals: the list with filters and cursor pagination, the
referral's page (status, receiver, deadlines, the packet as the school sees it, the timeline),
the warm hand-over, updates, cancel and entered-in-error, and a stale version shown as a
conflict, never overwritten. Others get 403/404."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from network import clock
from network.db import db
from network.notifications import Notification
from referrals import service as rs
from referrals import transitions as rt
from referrals import wizard_service as ws
from referrals.models import EventKind, Referral
from referrals.referral_timeline import add_event
from referrals.states import ReferralStatus as S
from tests.conftest import csrf_from
from tests.factories import login
from tests.referrals.conftest import draft_data


def sent(session, keyring, rworld, ractors, **overrides):
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld, **overrides))
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    session.commit()
    return referral


def fresh(referral_id):
    db.session.expire_all()
    return db.session.get(Referral, referral_id)


def page_form(client, url):
    html = client.get(url).get_data(as_text=True)
    return html, csrf_from(html), re.search(r'name="version" value="(\d+)"', html).group(1)


def test_detail_shows_state_packet_timeline_and_deadlines(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    rs.post_message(session, ractors["jobcoach"], keyring, referral, "We bellen Sanne deze week")
    rs.post_message(session, ractors["jobcoach"], keyring, referral, "Intern: eerst de mentor", internal=True)
    add_event(session, keyring, referral, EventKind.escalation, ractors["jobcoach"], reason="Niet op tijd beantwoord")
    session.commit()
    login(client, rworld["mentor"])
    response = client.get(f"/verwijzingen/{referral.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sanne Jobzoeker" in html and "Verstuurd, wacht op antwoord" in html
    assert "Jobcoaching jongeren" in html and "Gemeente Teststad" in html
    assert referral.response_due.strftime("%d-%m-%Y") in html
    assert "Herinneringen en escalaties" in html and "Niet op tijd beantwoord" in html
    # the packet as the school sees it: its own basis covers contact and education, not health
    assert "Sanne zoekt na haar eindstage werk" in html and "Snel overprikkeld" not in html
    assert "hier niet getoond" in html and "Ondersteuningsbehoefte en gezondheid" in html
    assert "We bellen Sanne deze week" in html and "Intern: eerst de mentor" not in html
    assert "Verwijzing intrekken" in html and "Warme overdracht vastleggen" not in html


def test_list_filters_and_pages_with_a_cursor(client, session, keyring, rworld, ractors, monkeypatch):
    from referrals import sent_views

    monkeypatch.setattr(sent_views, "PER_PAGE", 2)
    made = [sent(session, keyring, rworld, ractors) for _i in range(3)]
    colleague_draft = ws.save_draft(session, ractors["colleague"], keyring, rworld["student"], draft_data(rworld))
    session.commit()
    login(client, rworld["mentor"])
    html = client.get("/verwijzingen").get_data(as_text=True)
    assert "Volgende pagina" in html and f"nr. {colleague_draft.id}" in html
    next_url = re.search(r'href="([^"]*cursor=[^"]*)"', html).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert f"nr. {made[0].id}" in second and "Volgende pagina" not in second
    mine = client.get("/verwijzingen?van=me").get_data(as_text=True)
    assert f"nr. {colleague_draft.id}" not in mine
    drafts = client.get("/verwijzingen?status=draft").get_data(as_text=True)
    assert f"nr. {colleague_draft.id}" in drafts and f"nr. {made[2].id}" not in drafts


def test_cancel_needs_a_reason_and_keeps_the_input(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["mentor"])
    html, token, version = page_form(client, f"/verwijzingen/{referral.id}")
    response = client.post(f"/verwijzingen/{referral.id}/intrekken", data={"csrf_token": token, "version": version,
                                                                          "reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and html.count("Geef een reden op.") >= 2 and "#f-cancel-reason" in html
    assert fresh(referral.id).status is S.requested
    response = client.post(f"/verwijzingen/{referral.id}/intrekken",
                           data={"csrf_token": token, "version": version, "reason": "Student verhuist"})
    assert response.status_code == 302
    assert fresh(referral.id).status is S.cancelled
    assert db.session.scalar(select(Notification).where(Notification.kind == "referral:cancelled")) is not None


def test_stale_version_is_a_conflict_with_the_current_state(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["mentor"])
    html, token, version = page_form(client, f"/verwijzingen/{referral.id}")
    rt.transition(session, ractors["jobcoach"], keyring, fresh(referral.id), S.accepted)  # meanwhile
    session.commit()
    response = client.post(f"/verwijzingen/{referral.id}/intrekken",
                           data={"csrf_token": token, "version": version, "reason": "Dubbel verwezen"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Iemand anders heeft deze verwijzing intussen gewijzigd" in html and "Geaccepteerd" in html
    assert 'value="Dubbel verwezen"' in html  # what was typed is kept
    assert fresh(referral.id).status is S.accepted


def test_handover_update_and_entered_in_error(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    session.commit()
    login(client, rworld["mentor"])
    html, token, version = page_form(client, f"/verwijzingen/{referral.id}")
    assert "Warme overdracht vastleggen" in html
    future = (clock.today() + dt.timedelta(days=5)).isoformat()
    response = client.post(f"/verwijzingen/{referral.id}/overdracht",
                           data={"csrf_token": token, "version": version, "held_on": future, "present": "Sanne"})
    assert response.status_code == 400 and "in de toekomst" in response.get_data(as_text=True)
    response = client.post(f"/verwijzingen/{referral.id}/overdracht",
                           data={"csrf_token": token, "version": version, "held_on": clock.today().isoformat(),
                                 "present": "Sanne, mentor Jansen, jobcoach Bakker"})
    assert response.status_code == 302
    assert fresh(referral.id).handover_present == "Sanne, mentor Jansen, jobcoach Bakker"
    assert "wacht op bevestiging" in client.get(f"/verwijzingen/{referral.id}").get_data(as_text=True)
    response = client.post(f"/verwijzingen/{referral.id}/bericht", data={"csrf_token": token, "text": ""})
    assert response.status_code == 400 and "Schrijf een bericht." in response.get_data(as_text=True)
    response = client.post(f"/verwijzingen/{referral.id}/bericht",
                           data={"csrf_token": token, "text": "Sanne heeft een stageplek gevonden"})
    assert response.status_code == 302
    assert "Sanne heeft een stageplek gevonden" in client.get(f"/verwijzingen/{referral.id}").get_data(as_text=True)
    html, token, version = page_form(client, f"/verwijzingen/{referral.id}")
    response = client.post(f"/verwijzingen/{referral.id}/foutief",
                           data={"csrf_token": token, "version": version, "reason": "Verkeerde leerling"})
    assert response.status_code == 302 and fresh(referral.id).status is S.entered_in_error
    html = client.get(f"/verwijzingen/{referral.id}").get_data(as_text=True)
    assert "Ten onrechte ingevoerd" in html and "Verwijzing intrekken" not in html


def test_a_closed_referral_answers_with_what_is_allowed(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.rejected, reason="Geen plek")
    session.commit()
    login(client, rworld["mentor"])
    html = client.get(f"/verwijzingen/{referral.id}").get_data(as_text=True)
    response = client.post(f"/verwijzingen/{referral.id}/intrekken",
                           data={"csrf_token": csrf_from(html), "reason": "Toch niet"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Ten onrechte ingevoerd" in html and "Afgewezen" in html


@pytest.mark.parametrize("who, status", [("jobcoach", 403), ("far_mentor", 404), ("rmc_staff", 403),
                                         ("coordinator", 403)])
def test_others_cannot_see_the_school_page(client, session, keyring, rworld, ractors, who, status):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld[who])
    assert client.get(f"/verwijzingen/{referral.id}").status_code == status
    assert client.get("/verwijzingen").status_code == (403 if status == 403 else 200)
    if who == "far_mentor":
        assert f"nr. {referral.id}" not in client.get("/verwijzingen").get_data(as_text=True)
