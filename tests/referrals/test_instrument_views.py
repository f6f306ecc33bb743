"""The instruments pages (``/trajecten/<id>/instrumenten``), the route page's section and the
region's dashboard table: they render, keep the typed values with Dutch errors on bad input, and
show nothing to a partner without a basis."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from consent.service import grant_consent
from network import clock
from network.models import OrganisationType, Role, SchoolLevel
from referrals.checkins import record_exit
from referrals.instruments import instrument_access, record_instrument
from referrals.instruments_models import Instrument
from referrals.route_service import open_route
from tests.conftest import csrf_from, post_form
from tests.factories import OrganisationFactory, StudentFactory, login, make_member, principal_for


@pytest.fixture
def route(session, rworld, ractors):
    made = open_route(session, ractors["mentor"], rworld["student"], {})
    session.commit()
    return made


def _form(rworld, **overrides):
    form = {"kind": "jobcoach", "funder": "gemeente", "hours_per_week": "8", "start_date": clock.today().isoformat(),
            "end_date": "", "arranged_by_organisation_id": str(rworld["gemeente"].id),
            "arranged_by_name": "Jobcoach Bakker", "evidence": "Beschikking JC-7", "note": "Twee dagen per week."}
    form.update(overrides)
    return form


def test_the_school_records_one_and_sees_it_on_the_route_page(client, session, rworld, route):
    login(client, rworld["mentor"])
    url = f"/trajecten/{route.id}/instrumenten"
    page = client.get(url)
    assert page.status_code == 200 and "Instrument vastleggen" in page.get_data(as_text=True)
    response = post_form(client, url, _form(rworld))
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    detail = client.get(f"/trajecten/{route.id}").get_data(as_text=True)
    assert "Instrumenten naar werk" in detail and "Jobcoach" in detail and "8 uur per week" in detail
    assert "Gemeente Teststad" in detail and "jobcoach" not in detail.replace("Jobcoach", "")  # no code shown
    timeline = client.get(f"/trajecten/{route.id}/tijdlijn").get_data(as_text=True)
    assert "Instrument naar werk: Jobcoach" in timeline


def test_bad_input_keeps_what_was_typed_with_dutch_errors(client, session, rworld, route):
    login(client, rworld["mentor"])
    url = f"/trajecten/{route.id}/instrumenten"
    response = post_form(client, url, _form(rworld, hours_per_week="45", start_date="2026-03-01",
                                            end_date="2026-02-01", note="Mijn getypte notitie"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "van 1 tot en met 40" in html and "vóór de startdatum" in html
    assert "Mijn getypte notitie" in html and 'value="45"' in html
    assert session.scalar(select(func.count(Instrument.id))) == 0
    unknown = post_form(client, url, _form(rworld, kind="uitkering"))
    assert unknown.status_code == 400 and "Kies een instrument uit de lijst" in unknown.get_data(as_text=True)


def test_a_gemeente_without_a_basis_gets_not_found_and_with_consent_sees_its_own(client, session, keyring, rworld,
                                                                                ractors, route):
    access = instrument_access(session, ractors["mentor"], route.id)
    record_instrument(session, ractors["mentor"], keyring, access, {
        "kind": "bpv_naar_bbl", "start_date": clock.today(), "arranged_by_organisation_id": rworld["school"].id,
        "arranged_by_name": "Stagebureau"})
    session.commit()
    login(client, rworld["jobcoach"])
    url = f"/trajecten/{route.id}/instrumenten"
    assert client.get(url).status_code == 404
    assert client.get(f"/trajecten/{route.id}").status_code == 403  # the route page is the school staff's
    grant_consent(session, principal_for(rworld["student_account"]), keyring, rworld["student"], {
        "recipient_id": rworld["gemeente"].id, "purpose_code": "begeleiding-naar-werk",
        "categories": ["contactgegevens", "school-naar-werk-plan"], "explicit": []})
    session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Sanne Jobzoeker" in page and "BOL naar BBL" not in page and "nog geen instrument" in page
    assert "Fasen en nazorg" not in page  # no links into the school's route pages
    response = post_form(client, url, _form(rworld, kind="loonkostensubsidie"))
    assert response.status_code == 302
    refused = post_form(client, url, _form(rworld, kind="no_riskpolis"))
    assert refused.status_code == 400 and "geen grondslag" in refused.get_data(as_text=True)
    login(client, rworld["far_coach"])
    assert client.get(url).status_code == 404


def test_pro_pupils_get_the_register_by_law_as_default(client, session, rworld, ractors):
    pupil = StudentFactory(school=rworld["school"], level=SchoolLevel.pro,
                           expected_exit_date=clock.today() + dt.timedelta(days=90))
    made = open_route(session, ractors["mentor"], pupil, {})
    session.commit()
    login(client, rworld["mentor"])
    html = client.get(f"/trajecten/{made.id}/instrumenten").get_data(as_text=True)
    assert 'id="f-register_status-geindiceerd" name="register_status" value="geindiceerd" checked' in html
    assert "volgens de wet" in html


def test_the_region_dashboard_counts_with_small_cells_suppressed(client, session, keyring, rworld, ractors):
    today = clock.today()
    for _n in range(6):
        student = StudentFactory(school=rworld["school"], expected_exit_date=today - dt.timedelta(days=40))
        made = open_route(session, ractors["mentor"], student, {"start_date": today - dt.timedelta(days=300)})
        record_exit(session, ractors["mentor"], made, today - dt.timedelta(days=40))
        access = instrument_access(session, ractors["mentor"], made.id)
        record_instrument(session, ractors["mentor"], keyring, access, {
            "kind": "no_riskpolis", "start_date": today - dt.timedelta(days=30),
            "arranged_by_organisation_id": rworld["school"].id, "arranged_by_name": "Stagebureau"})
        if _n == 0:
            record_instrument(session, ractors["mentor"], keyring, access, {
                "kind": "beschut_werk", "start_date": today - dt.timedelta(days=30), "evidence": "Besluit BW-1",
                "arranged_by_organisation_id": rworld["gemeente"].id, "arranged_by_name": "Werkbedrijf"})
    session.commit()
    login(client, rworld["coordinator"])
    html = client.get("/regio/").get_data(as_text=True)
    assert "Aan het werk met een instrument" in html and "minder dan 5" in html
    csv = client.get("/regio/export.csv?tabel=instrumenten").get_data().decode("utf-8-sig")
    assert "No-riskpolis;6;6" in csv and "Indicatie beschut werk;minder dan 5;minder dan 5" in csv
    assert str(rworld["student"].id) not in html and "Sanne" not in html


def test_uwv_staff_see_their_own_once_the_student_consents(client, session, keyring, rworld, ractors, route):
    uwv = OrganisationFactory(region=rworld["region"], type=OrganisationType.uwv, name="UWV Testrand")
    staff = make_member(Role.partner_staff, uwv, name="Arbeidsdeskundige Kok")
    access = instrument_access(session, ractors["mentor"], route.id)
    record_instrument(session, ractors["mentor"], keyring, access, {
        "kind": "doelgroepregister", "register_status": "aangevraagd", "start_date": clock.today(),
        "arranged_by_organisation_id": uwv.id, "arranged_by_name": "Team doelgroepregister"})
    session.commit()
    login(client, staff)
    url = f"/trajecten/{route.id}/instrumenten"
    route.doelgroepregister_open = True
    session.commit()
    assert client.get(url).status_code == 404  # UWV's task alone does not cover the plan
    grant_consent(session, principal_for(rworld["student_account"]), keyring, rworld["student"], {
        "recipient_id": uwv.id, "purpose_code": "doelgroepregister-aanvraag",
        "categories": ["contactgegevens", "school-naar-werk-plan"], "explicit": []})
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert "Doelgroepregister: Aangevraagd" in html


def test_the_page_speaks_english_when_asked(client, session, keyring, rworld, ractors, route):
    access = instrument_access(session, ractors["mentor"], route.id)
    record_instrument(session, ractors["mentor"], keyring, access, {
        "kind": "jobcoach", "funder": "uwv", "hours_per_week": 3, "start_date": clock.today(),
        "evidence": "JC-1", "arranged_by_organisation_id": rworld["gemeente"].id, "arranged_by_name": "Coach"})
    session.commit()
    login(client, rworld["mentor"])
    url = f"/trajecten/{route.id}/instrumenten"
    token = csrf_from(client.get(url).get_data(as_text=True))
    assert client.post("/taal", data={"locale": "en", "next": url, "csrf_token": token}).status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "Instruments into work of" in html and "Job coach (paid by UWV, 3 hours per week)" in html
    assert "Record an instrument" in html and "Instrumenten naar werk" not in html


def test_the_gemeentes_inbox_leads_to_the_routes_instruments(client, session, keyring, rworld, ractors, route):
    from referrals import wizard_service as ws
    from tests.referrals.conftest import draft_data

    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    session.commit()
    assert referral.route_id == route.id
    login(client, rworld["jobcoach"])
    html = client.get(f"/inbox/{referral.id}").get_data(as_text=True)
    assert f'href="/trajecten/{route.id}/instrumenten"' in html
    login(client, rworld["mentor"])  # the school has its own way in: the route page
    assert "Bekijk of leg vast" not in client.get(f"/verwijzingen/{referral.id}").get_data(as_text=True)


def test_an_end_date_is_set_afterwards_and_refused_before_the_start(client, session, keyring, rworld, ractors, route):
    start = clock.today() - dt.timedelta(days=30)
    access = instrument_access(session, ractors["mentor"], route.id)
    made = record_instrument(session, ractors["mentor"], keyring, access, {
        "kind": "bpv_naar_bbl", "start_date": start, "arranged_by_organisation_id": rworld["school"].id,
        "arranged_by_name": "Stagebureau"})
    session.commit()
    login(client, rworld["mentor"])
    url = f"/trajecten/{route.id}/instrumenten"
    end_url = f"{url}/{made.id}/einde"
    early = (start - dt.timedelta(days=1)).isoformat()
    refused = post_form(client, url, {"end_date": early}, post_url=end_url)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "vóór de startdatum" in html and f'value="{early}"' in html
    session.expire_all()
    assert session.get(Instrument, made.id).end_date is None
    done = post_form(client, url, {"end_date": clock.today().isoformat()}, post_url=end_url)
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Instrument, made.id).end_date == clock.today()
    assert post_form(client, url, {"end_date": clock.today().isoformat()},
                     post_url=f"{url}/{made.id + 1}/einde").status_code == 404
    assert client.get(f"/trajecten/{route.id}").status_code == 200  # the route page's section has no end forms


def test_a_gemeente_cannot_end_the_schools_own_instrument(client, session, keyring, rworld, ractors, route):
    access = instrument_access(session, ractors["mentor"], route.id)
    made = record_instrument(session, ractors["mentor"], keyring, access, {
        "kind": "bpv_naar_bbl", "start_date": clock.today(), "arranged_by_organisation_id": rworld["school"].id,
        "arranged_by_name": "Stagebureau"})
    grant_consent(session, principal_for(rworld["student_account"]), keyring, rworld["student"], {
        "recipient_id": rworld["gemeente"].id, "purpose_code": "begeleiding-naar-werk",
        "categories": ["contactgegevens", "school-naar-werk-plan"], "explicit": []})
    session.commit()
    login(client, rworld["jobcoach"])
    url = f"/trajecten/{route.id}/instrumenten"
    response = post_form(client, url, {"end_date": clock.today().isoformat()}, post_url=f"{url}/{made.id}/einde")
    assert response.status_code == 404


def test_the_page_costs_the_same_statements_for_2_or_30_instruments(client, session, keyring, rworld, ractors,
                                                                     route):
    from tests.referrals.test_inbox_queries import count_statements

    def add(n):
        access = instrument_access(session, ractors["mentor"], route.id)
        for _ in range(n):
            record_instrument(session, ractors["mentor"], keyring, access, {
                "kind": "werkplekaanpassing", "funder": "uwv", "start_date": clock.today(), "evidence": "WA-1",
                "arranged_by_organisation_id": rworld["gemeente"].id, "arranged_by_name": "Coach", "note": "Stoel"})
        session.commit()

    login(client, rworld["mentor"])
    url = f"/trajecten/{route.id}/instrumenten"
    add(2)
    client.get(url)  # the first request of a session loads what later ones have at hand
    small = count_statements(lambda: client.get(url))
    add(28)
    big = count_statements(lambda: client.get(url))
    assert big == small, (small, big)
