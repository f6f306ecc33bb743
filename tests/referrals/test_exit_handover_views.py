"""The warm hand-over at exit in the browser (issue 20, item 3): the exit page links to it, the
form keeps the input with Dutch messages (no basis, an unsigned plan version) and writes nothing,
a good form sends the referral; both sides see the new lead contact and what was agreed, the
receiver confirms in its inbox; the route page warns while a hand-over is missing and /regio
counts it per school without names."""

from __future__ import annotations

from sqlalchemy import func, select

from network import clock
from network.db import db
from referrals.models import Referral
from referrals.states import ReferralStatus
from referrals.transitions import transition
from tests.conftest import post_form
from tests.factories import login
from tests.referrals.test_exit_handover import _plan, _route, plan_choice


def _form(rworld, **changes):
    data = {"service_id": str(rworld["service"].id), "purpose": "jobcoaching",
            "categories": ["contactgegevens", "opleiding"], "lead_name": "Jobcoach Bakker",
            "lead_function": "Jobcoach Participatiewet", "agreed": "Start op de werkplek in week 2"}
    return {**data, **changes}


def _referrals() -> int:
    return db.session.scalar(select(func.count()).select_from(Referral))


def test_the_school_makes_the_handover_from_the_exit_page(client, session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    agreement = _plan(session, rworld)
    login(client, rworld["mentor"])
    detail = client.get(f"/trajecten/{route.id}").get_data(as_text=True)
    assert "hoort een warme overdracht bij uitstroom" in detail
    assert "Warme overdracht bij uitstroom ontbreekt" in client.get("/trajecten").get_data(as_text=True)
    exit_page = client.get(f"/trajecten/{route.id}/uitstroom").get_data(as_text=True)
    page = f"/trajecten/{route.id}/uitstroom/overdracht"
    assert page in exit_page
    html = client.get(page).get_data(as_text=True)
    assert "Jobcoaching jongeren" in html and "versie 1" in html and "versie 2" not in html
    bad = post_form(client, page, _form(rworld, plan=plan_choice(agreement.id, 2)))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "niet door alle partijen ondertekend" in text and "week 2" in text
    assert _referrals() == 0
    done = post_form(client, page, _form(rworld, plan=plan_choice(agreement.id, 1)))
    assert done.status_code == 302
    made = db.session.scalar(select(Referral))
    assert made.at_exit and made.plan_version == 1
    sent = client.get(f"/verwijzingen/{made.id}").get_data(as_text=True)
    assert "Warme overdracht bij uitstroom" in sent and "Jobcoach Participatiewet" in sent and "versie 1" in sent
    detail = client.get(f"/trajecten/{route.id}").get_data(as_text=True)
    assert "hoort een warme overdracht bij uitstroom" not in detail and f"/verwijzingen/{made.id}" in detail
    assert "Warme overdracht bij uitstroom ontbreekt" not in client.get("/trajecten").get_data(as_text=True)
    # the receiver sees who takes over and what was agreed; the school records the overdrachtsgesprek
    # and the receiver confirms it in its inbox, as any referral's warm hand-over
    transition(session, ractors["jobcoach"], keyring, made, ReferralStatus.accepted)
    session.commit()
    recorded = post_form(client, f"/verwijzingen/{made.id}", {"held_on": clock.today().isoformat(),
                                                              "present": "Sanne, mentor, jobcoach"},
                         post_url=f"/verwijzingen/{made.id}/overdracht")
    assert recorded.status_code == 302
    login(client, rworld["jobcoach"])
    assert "Warme overdracht bij uitstroom" in client.get("/inbox").get_data(as_text=True)
    inbox = client.get(f"/inbox/{made.id}").get_data(as_text=True)
    assert "Warme overdracht bij uitstroom" in inbox and "Start op de werkplek in week 2" in inbox
    assert "Jobcoach Participatiewet" in inbox
    confirmed = post_form(client, f"/inbox/{made.id}", {}, post_url=f"/inbox/{made.id}/overdracht/bevestigen")
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Referral, made.id).status is ReferralStatus.in_progress
    login(client, rworld["mentor"])
    detail = client.get(f"/trajecten/{route.id}").get_data(as_text=True)
    assert "overdracht bevestigd door Jobcoach Bakker" in detail


def test_no_basis_is_a_dutch_error_and_nothing_is_written(client, session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors, student_key="other_student")
    login(client, rworld["mentor"])
    page = f"/trajecten/{route.id}/uitstroom/overdracht"
    bad = post_form(client, page, _form(rworld))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "geen grondslag" in html and "Jobcoach Bakker" in html
    assert _referrals() == 0


def test_outsiders_get_not_found(client, session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    for who in ("far_mentor", "jobcoach"):
        login(client, rworld[who])
        assert client.get(f"/trajecten/{route.id}/uitstroom/overdracht").status_code in (403, 404)


def test_the_region_counts_missing_handovers_per_school(client, session, keyring, rworld, ractors):
    _route(session, keyring, rworld, ractors)
    login(client, rworld["coordinator"])
    html = client.get(f"/regio/?regio={rworld['region'].id}").get_data(as_text=True)
    assert "Uitgestroomd zonder warme overdracht, per school" in html and rworld["school"].name in html
    assert "Sanne" not in html
    csv = client.get(f"/regio/export.csv?tabel=overdracht_uitstroom&regio={rworld['region'].id}")
    assert csv.status_code == 200 and rworld["school"].name in csv.get_data(as_text=True)


def test_the_api_says_a_referral_is_the_handover_at_exit_with_its_plan_version(session, keyring, rworld, ractors):
    from referrals.api import _item
    from referrals.exit_handover import make_exit_handover
    from tests.referrals.test_exit_handover import _data

    route = _route(session, keyring, rworld, ractors)
    agreement = _plan(session, rworld)
    made = make_exit_handover(session, ractors["mentor"], keyring, route,
                              _data(rworld, plan=plan_choice(agreement.id, 1)), categories=["contactgegevens"])
    session.commit()
    item = _item(ractors["jobcoach"], made, None)
    assert item["at_exit"] is True and item["plan"] == {"agreement_id": str(agreement.id), "version": 1}
