"""The portal and the staff pages: grant and withdraw in one POST each, the access log, the
download, receipts that verify with the published key alone, and withdrawal that counts from
the partner's very next request."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid

from sqlalchemy import select

from consent.models import (
    Consent,
    ConsentReceipt,
    ConsentStatus,
    GivenBy,
    Representation,
)
from consent.receipts import verify_receipt
from consent.service import grant_consent
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.models import OutboxMessage, Role
from tests.conftest import csrf_from, post_form
from tests.consent.conftest import grant_data
from tests.factories import left_school, login, make_member

PORTAL = "/mijn-gegevens/toestemmingen"


def _grant(client, world, **extra):
    data = {"recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
            "categories": ["contactgegevens", "opleiding"], **extra}
    return post_form(client, PORTAL, data)


def test_student_sees_grants_and_withdraws_with_one_post_each(client, session, world):
    login(client, world["student_account"])
    html = client.get(PORTAL).get_data(as_text=True)
    assert "Wie mag wat zien" in html and "RMC-nazorg van schoolverlaters" in html  # legal task shown as such
    response = _grant(client, world)
    assert response.status_code == 302
    consent = session.scalar(select(Consent))
    assert consent.given_by is GivenBy.student and consent.channel.value == "portal"
    html = client.get(PORTAL).get_data(as_text=True)
    assert world["gemeente"].name in html and "Intrekken" in html
    token = csrf_from(html)
    response = client.post(f"{PORTAL}/{consent.id}/intrekken", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert session.get(Consent, consent.id).status is ConsentStatus.withdrawn
    assert session.scalar(select(OutboxMessage.recipient)) == "jongeren@gemeente.example"


def test_bad_grant_rerenders_with_dutch_errors_and_saves_nothing(client, session, world):
    login(client, world["student_account"])
    response = _grant(client, world, categories=["contactgegevens", "ondersteuningsbehoefte"],
                      recipient_id=world["far_gemeente"].id)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "uitdrukkelijke" in html and "regio" in html
    assert session.scalar(select(Consent)) is None


def test_withdrawal_counts_from_the_partners_next_request(client, app, session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    partner = app.test_client()
    login(partner, world["partner"])
    # the partner's read (through decide) is allowed now
    from network.access import Category, decide

    assert decide(session, actors["partner"], world["student"], "jobcoaching", [Category.contact]).allowed
    session.commit()
    login(client, world["student_account"])
    token = csrf_from(client.get(PORTAL).get_data(as_text=True))
    client.post(f"{PORTAL}/{consent.id}/intrekken", data={"csrf_token": token})
    db.session.expire_all()
    decision = decide(session, actors["partner"], world["student"], "jobcoaching", [Category.contact])
    session.commit()
    assert not decision.allowed
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last.outcome is AuditOutcome.denied and last.organisation_id == world["gemeente"].id


def test_receipt_downloads_and_verifies_with_the_public_jwks_alone(client, session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(
        world, categories=["contactgegevens", "ondersteuningsbehoefte"], explicit=["ondersteuningsbehoefte"]))
    session.commit()
    receipt_id = consent.receipts[0].id
    login(client, world["student_account"])
    document = client.get(f"/mijn-gegevens/ontvangstbewijzen/{receipt_id}").get_json()
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert verify_receipt(document, jwks)
    body = document["receipt"]
    for field in ("version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID",
                  "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"):
        assert field in body
    assert body["sensitive"] is True and body["consentReceiptID"] == str(receipt_id)
    assert "111222333" not in json.dumps(document) and world["student"].last_name not in json.dumps(document)
    assert body["services"][0]["purposes"][0]["termination"]
    tampered = json.loads(json.dumps(document))
    tampered["receipt"]["services"][0]["service"] = "Iemand anders"
    assert not verify_receipt(tampered, jwks)
    # somebody else's receipt does not exist for a partner
    partner = client.application.test_client()
    login(partner, world["partner"])
    assert partner.get(f"/mijn-gegevens/ontvangstbewijzen/{receipt_id}").status_code == 404


def test_access_log_shows_who_looked_and_pages_by_keyset(client, session, world, actors, keyring):
    from network.access import Category, decide

    grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    for _ in range(30):
        decide(session, actors["partner"], world["student"], "jobcoaching", [Category.contact])
    decide(session, actors["far_rmc_staff"], world["student"], "rmc-nazorg", [Category.contact])
    session.commit()
    login(client, world["student_account"])
    html = client.get("/mijn-gegevens/inzage").get_data(as_text=True)
    assert world["rmc"].name not in html and "RMC Elders" in html and "geweigerd" in html
    assert world["gemeente"].name in html and "jouw toestemming" in html
    assert "Oudere" in html
    next_url = next(part for part in html.split('"') if "na=" in part).replace("&amp;", "&")
    html2 = client.get(next_url).get_data(as_text=True)
    assert "Naar de nieuwste" in html2 and world["gemeente"].name in html2


def test_download_json_and_csv_hold_everything_and_are_audited(client, session, world, actors, keyring):
    grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    login(client, world["student_account"])
    response = client.get("/mijn-gegevens/download?formaat=json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["student"]["bsn"] == "111222333"  # unmasked for the student themself
    assert data["student"]["last_name"] == world["student"].last_name
    assert len(data["consents"]) == 1 and len(data["receipts"]) == 1
    assert any(e["event_type"] == "consent:grant" for e in data["access_log"])
    export_events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:export")).all()
    assert len(export_events) == 1 and export_events[0].action.value == "export"
    text = client.get("/mijn-gegevens/download?formaat=csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["onderdeel", "nr", "veld", "waarde"]
    assert ["leerling", "1", "bsn", "111222333"] in rows
    assert any(r[0] == "consents" for r in rows) and any(r[0] == "receipts" for r in rows)


def test_guardian_acts_for_the_under_16_with_on_behalf_of(client, session, world):
    login(client, world["mentor"])
    response = post_form(client, f"/leerlingen/{world['young'].id}/toestemmingen",
                         {"email": "ouder@example.org", "relation": "ouder"},
                         post_url=f"/leerlingen/{world['young'].id}/vertegenwoordigers")
    assert response.status_code == 302
    assert session.scalar(select(Representation)).relation.value == "ouder"
    guardian = client.application.test_client()
    login(guardian, world["guardian"])
    html = guardian.get(PORTAL).get_data(as_text=True)
    assert "ouder of voogd" in html and world["young"].first_name in html
    data = {"leerling": str(world["young"].id), "recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
            "categories": ["contactgegevens"]}
    assert post_form(guardian, PORTAL, data).status_code == 302
    consent = session.scalar(select(Consent))
    assert consent.given_by is GivenBy.representative and consent.representative_account_id == world["guardian"].id
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "consent:grant"))
    assert event.on_behalf_of == f"leerling:{world['young'].id}"
    data = guardian.get("/mijn-gegevens/download?formaat=json").get_json()
    assert data["student"]["id"] == str(world["young"].id)
    # the 17-year-old is not theirs to act for
    assert guardian.get(f"{PORTAL}?leerling={world['student'].id}").status_code == 404


def test_staff_overview_records_paper_consent_and_requests(client, session, world):
    login(client, world["mentor"])
    page = f"/leerlingen/{world['student'].id}/toestemmingen"
    html = client.get(page).get_data(as_text=True)
    assert "Wie heeft een grondslag voor welke categorie" in html and "RMC-nazorg van schoolverlaters" in html
    detail = client.get(f"/leerlingen/{world['student'].id}").get_data(as_text=True)
    assert page in detail
    response = post_form(client, page, {"recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
                                        "categories": ["contactgegevens"], "channel": "paper"})
    assert response.status_code == 302, response.get_data(as_text=True)
    consent = session.scalar(select(Consent))
    assert consent.channel.value == "paper" and consent.recorded_by_account_id == world["mentor"].id
    assert session.scalar(select(ConsentReceipt.consent_id)) == consent.id
    html = client.get(page).get_data(as_text=True)
    assert f"Toestemming nr. {consent.id}" in html
    response = post_form(client, page, {"recipient_id": world["gemeente"].id, "purpose_code": "stagebegeleiding",
                                        "categories": ["contactgegevens"]}, post_url=page + "/verzoek")
    assert response.status_code == 302
    login(client, world["student_account"])
    assert "Vragen om toestemming" in client.get(PORTAL).get_data(as_text=True)


def test_staff_representative_for_a_17_year_old_is_refused_in_dutch(client, session, world):
    login(client, world["mentor"])
    page = f"/leerlingen/{world['student'].id}/toestemmingen"
    response = post_form(client, page, {"recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
                                        "categories": ["contactgegevens"], "channel": "paper",
                                        "representative_name": "P. Jansen", "representative_relation": "ouder"})
    assert response.status_code == 400
    assert "17 jaar" in response.get_data(as_text=True)
    assert session.scalar(select(Consent)) is None


def test_account_without_student_sees_an_explanation(client, session, world):
    login(client, world["partner"])
    assert "geen gegevens van een leerling" in client.get(PORTAL).get_data(as_text=True)


def test_hub_admin_edits_the_catalogue(client, session, world):
    from network.models import OrganisationType
    from tests.factories import OrganisationFactory

    admin = make_member(Role.hub_admin, OrganisationFactory(region=world["region"], type=OrganisationType.hub))
    login(client, admin)
    assert "RMC-nazorg van schoolverlaters" in client.get("/beheer/grondslagen").get_data(as_text=True)
    url = "/beheer/grondslagen/categorieen/leefgebieden"
    response = post_form(client, url, {"label": "Leefgebieden (wonen, geld)", "description": "", "is_special": "true"})
    assert response.status_code == 302
    from consent.models import DataCategory

    db.session.expire_all()
    assert session.get(DataCategory, "leefgebieden").is_special


def test_partner_page_shows_only_what_decide_allows_and_nothing_after_withdrawal(client, app, session, world):
    login(client, world["student_account"])
    _grant(client, world)
    consent = session.scalar(select(Consent))
    partner = app.test_client()
    login(partner, world["partner"])
    assert f"Toestemming nr. {consent.id}" in partner.get("/gedeeld").get_data(as_text=True)
    url = f"/gedeeld/{world['student'].id}?doel=jobcoaching"
    html = partner.get(url).get_data(as_text=True)
    assert world["student"].email in html and "111222333" not in html and "***" not in html  # no BSN consent
    token = csrf_from(client.get(PORTAL).get_data(as_text=True))
    client.post(f"{PORTAL}/{consent.id}/intrekken", data={"csrf_token": token})
    denied, unknown_id = partner.get(url), str(uuid.uuid4())
    unknown = partner.get(f"/gedeeld/{unknown_id}?doel=jobcoaching")
    # without a basis the page answers exactly as for an unknown id: it does not tell that the student
    # exists (the pages differ only in the id, which the language switch carries back to the same URL,
    # and in the reference of the request that the error page shows)
    assert denied.status_code == unknown.status_code == 404
    html = denied.get_data(as_text=True)

    def same(page, student_id):  # the request reference and the (timestamped) CSRF token differ per request
        page = re.sub(r'name="csrf_token" value="[^"]*"', "CSRF", page.replace(student_id, "ID"))
        return re.sub(r"<code>[0-9a-f]{32}</code>", "REF", page)

    assert same(html, str(world["student"].id)) == same(unknown.get_data(as_text=True), unknown_id)
    assert world["student"].email not in html
    last = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:shared-view")
                           .order_by(AuditEvent.id.desc())).first()
    assert last.outcome is AuditOutcome.denied and last.basis is None  # the denial is still audited
    # a student of the same region with no basis at all: decided (denied), so the same 404
    assert partner.get(f"/gedeeld/{world['young'].id}").status_code == 404


def test_staff_withdraw_on_behalf_of_the_student_in_one_post(client, session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    login(client, world["mentor"])
    page = f"/leerlingen/{world['student'].id}/toestemmingen"
    assert "Geldige toestemmingen" in client.get(page).get_data(as_text=True)
    response = post_form(client, page, {}, post_url=f"/toestemmingen/{consent.id}/intrekken-namens-leerling")
    assert response.status_code == 302
    db.session.expire_all()
    assert session.get(Consent, consent.id).status is ConsentStatus.withdrawn
    assert session.get(Consent, consent.id).withdrawn_by_name == world["mentor"].name


def test_hub_admin_edits_a_legal_task_but_never_with_special_categories(client, session, world, actors):
    from consent.models import LegalTask
    from network.access import Category, decide
    from network.models import OrganisationType
    from tests.factories import OrganisationFactory

    admin = make_member(Role.hub_admin, OrganisationFactory(region=world["region"], type=OrganisationType.hub))
    login(client, admin)
    left_school(world["student"])  # the RMC's task covers a leaver without a startkwalificatie
    session.commit()
    task = session.scalar(select(LegalTask).where(LegalTask.code == "rmc-nazorg"))
    url = f"/beheer/grondslagen/wettelijke-taken/{task.id}"
    response = post_form(client, url, {"label": task.label, "categories": ["contactgegevens", "ondersteuningsbehoefte"],
                                       "own_region_only": "true", "is_active": "true"})
    assert response.status_code == 400 and "uitdrukkelijke toestemming" in response.get_data(as_text=True)
    response = post_form(client, url, {"label": task.label, "categories": ["contactgegevens"],
                                       "own_region_only": "true", "is_active": "true"})
    assert response.status_code == 302
    decision = decide(session, actors["rmc_staff"], world["student"], "rmc-nazorg",
                      [Category.contact, Category.education])
    assert decision.allowed == {Category.contact}  # the data, not code, decides


def test_staff_page_ids_are_unique(client, session):
    """Two forms on one page (record and ask) must not share field ids (labels would point at
    the wrong field for screen readers; WCAG 4.1.1/1.3.1)."""
    import re
    from collections import Counter

    from network.models import Role
    from tests.factories import (
        OrganisationFactory,
        RegionFactory,
        StudentFactory,
        login,
        make_member,
    )

    region = RegionFactory()
    school = OrganisationFactory(region=region, school=True)
    OrganisationFactory(region=region, type="gemeente", name="Gemeente Test")
    student = StudentFactory(school=school)
    login(client, make_member(Role.mentor, school))
    html = client.get(f"/leerlingen/{student.id}/toestemmingen").get_data(as_text=True)
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    assert 'id="f-ask-recipient_purpose"' in html and 'id="f-recipient_purpose"' in html
