"""The begeleidingsformulier's pages (issue 19, item 3): the student writes it and chooses its
readers in the portal (bad input and a concurrent save keep what was typed), school staff read
it only in a role the student ticked (403 with nothing shown otherwise), the praktijkopleider
sees it on the assessment link's page only when chosen, and the student's access log names
every reader, the praktijkopleider by name, with the purpose and basis in words."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network import clock
from network.audit import AuditEvent
from network.db import db
from network.models import Role
from referrals.placements.assessment import link_principal, send_link, submit_assessment
from referrals.placements.guidance import find_form, save_form, set_sharing
from referrals.placements.lifecycle import change_status
from referrals.placements.service import create_placement
from tests.conftest import csrf_from
from tests.factories import login, make_member, principal_for
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)
from tests.referrals.test_placements_assessment import answers
from tests.referrals.test_placements_guidance import TEXTS

PAGE = "/mijn-gegevens/begeleidingsformulier"


@pytest.fixture
def student_account(session, pworld):
    account = make_member(Role.student, pworld["school"])
    pworld["student"].account_id = account.id
    session.commit()
    return account


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    return made


def _written(session, keyring, account, student, shared):
    actor = principal_for(account)
    save_form(session, actor, keyring, student, TEXTS, today=clock.today())
    set_sharing(session, actor, student, shared, today=clock.today())
    session.commit()


def test_the_student_writes_and_shares_it_in_the_portal(client, session, student_account, pworld):
    login(client, student_account)
    page = client.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Mijn begeleidingsformulier" in html
    assert "Schrijf eerst je begeleidingsformulier" in html and 'name="shared_with"' not in html
    # nothing written: a Dutch field error, and the class typed is kept
    refused = client.post(PAGE, data={"klas": "BPV2B", "csrf_token": csrf_from(html)})
    again = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Schrijf bij minstens één vraag iets." in again and 'value="BPV2B"' in again
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.event_type == "placement:guidance-save")) is None
    saved = client.post(PAGE, data={**TEXTS, "version": "", "csrf_token": csrf_from(again)})
    assert saved.status_code == 302
    html = client.get(PAGE).get_data(as_text=True)
    assert "Ik heb autisme. Drukte maakt me moe." in html and "Je begeleidingsformulier is opgeslagen." in html
    assert 'name="shared_with"' in html and "je praktijkopleider op je stageplek" in html
    shared = client.post(f"{PAGE}/delen", data={"shared_with": ["slb", "praktijkopleider"],
                                                "csrf_token": csrf_from(html)})
    assert shared.status_code == 302
    html = client.get(PAGE).get_data(as_text=True)
    assert "Dit mag je formulier nu lezen: SLB&#39;er of mentor, praktijkopleider." in html
    assert find_form(db.session, pworld["student"]).shared_with == ["slb", "praktijkopleider"]
    # taking every tick away is one step too
    client.post(f"{PAGE}/delen", data={"csrf_token": csrf_from(html)})
    assert find_form(db.session, pworld["student"]).shared_with == []


def test_a_save_by_someone_else_in_between_is_a_conflict_that_keeps_the_text(client, session, keyring, pworld,
                                                                              student_account):
    login(client, student_account)
    client.post(PAGE, data={**TEXTS, "version": "", "csrf_token": csrf_from(client.get(PAGE).get_data(as_text=True))})
    html = client.get(PAGE).get_data(as_text=True)  # the page carries the version it was opened at
    save_form(session, principal_for(student_account), keyring, pworld["student"], {**TEXTS, "tips": "Op de telefoon"},
              today=clock.today())
    session.commit()
    version = find_form(db.session, pworld["student"]).version - 1
    clash = client.post(PAGE, data={**TEXTS, "tips": "Mijn nieuwe tip", "version": str(version),
                                    "csrf_token": csrf_from(html)})
    text = clash.get_data(as_text=True)
    assert clash.status_code == 409 and "Iemand anders heeft het formulier intussen opgeslagen" in text
    assert "Mijn nieuwe tip" in text


def test_staff_read_it_only_in_a_role_the_student_chose(client, session, keyring, pworld, student_account,
                                                        placement):
    _written(session, keyring, student_account, pworld["student"], ["slb"])
    url = f"/trajecten/stages/{placement.id}/begeleidingsformulier"
    login(client, pworld["mentor"])
    detail = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    assert "De leerling deelt het formulier met: SLB&#39;er of mentor." in detail
    assert "Begeleidingsformulier lezen" in detail
    page = client.get(url)
    assert page.status_code == 200 and "Geef één opdracht tegelijk." in page.get_data(as_text=True)
    bpv = make_member(Role.bpv_begeleider, pworld["school"])
    login(client, bpv)
    detail = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    assert "U kunt het niet lezen" in detail and "Begeleidingsformulier lezen" not in detail
    refused = client.get(url)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "niet met u gedeeld" in text and "autisme" not in text
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:guidance-view")
                               .order_by(AuditEvent.id)).all()
    assert [(e.account_id, e.outcome.value) for e in reads] == [(pworld["mentor"].id, "success"), (bpv.id, "denied")]
    login(client, pworld["other_mentor"])
    assert client.get(url).status_code == 404  # another school: not even that it exists


def test_the_praktijkopleider_sees_it_on_the_link_only_when_chosen(client, session, keyring, pworld, pactors,
                                                                   student_account, placement):
    _written(session, keyring, student_account, pworld["student"], ["praktijkopleider"])
    _assessment, link = send_link(session, pactors["mentor"], keyring, placement, base_url="http://schakel.test")
    session.commit()
    link = link.removeprefix("http://schakel.test")
    html = client.get(link).get_data(as_text=True)
    assert "Begeleidingsformulier van Sanne" in html and "Geef één opdracht tegelijk." in html
    assert "Laat het niet aan anderen lezen." in html  # colleagues were not ticked
    set_sharing(session, principal_for(student_account), pworld["student"], ["slb"], today=clock.today())
    session.commit()
    html = client.get(link).get_data(as_text=True)  # the very next request
    assert "Beoordelingsformulier werkontwikkeling" in html
    assert "autisme" not in html and "opdracht tegelijk" not in html
    # the student's access log names the praktijkopleider, why and on what basis, in words
    login(client, student_account)
    log = client.get("/mijn-gegevens/inzage").get_data(as_text=True)
    assert "Henk van Dalen, praktijkopleider bij Bakkerij Van Dalen (persoonlijke link)" in log
    assert "je begeleidingsformulier voor je stage" in log and "geweigerd" in log
    assert "jouw keuze: je deelt je begeleidingsformulier met deze persoon" in log
    assert "De stageovereenkomst van je school met je stagebedrijf" in log
    assert "Schakel (systeem)" not in log and "sharing:" not in log and "stageovereenkomst</td>" not in log


def test_the_download_holds_the_placements_the_assessment_and_the_form(client, session, keyring, pworld, pactors,
                                                                       student_account, placement):
    _written(session, keyring, student_account, pworld["student"], ["slb"])
    change_status(session, pactors["mentor"], placement, "running")  # plans the stageprotocol's contacts
    assessment, _link = send_link(session, pactors["mentor"], keyring, placement, base_url="http://schakel.test")
    submit_assessment(session, link_principal(pactors["mentor"], assessment), keyring, assessment, answers(placement))
    session.commit()
    login(client, student_account)
    data = client.get("/mijn-gegevens/download?formaat=json").get_json()
    assert [p["company"] for p in data["placements"]] == ["Bakkerij Van Dalen"]
    assert data["placements"][0]["praktijkopleider"] == "Henk van Dalen"
    assert data["placement_assessments"][0]["toelichting"] == "Komt altijd op tijd."
    assert data["guidance_form"][0]["kenmerken"] == TEXTS["kenmerken"]
    assert data["guidance_form"][0]["shared_with"] == ["slb"]
    assert {c["kind"] for c in data["placement_contacts"]} >= {"first_call_student", "first_call_trainer", "visit"}
    csv = client.get("/mijn-gegevens/download?formaat=csv").get_data(as_text=True)
    assert "guidance_form;1;kenmerken;Ik heb autisme. Drukte maakt me moe." in csv
    assert "placement_assessments;1;toelichting;Komt altijd op tijd." in csv
