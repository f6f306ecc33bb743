"""The employer's assessment (issue 19, item 4): the personal link (valid, expired, revoked,
reused after the submission, opened under another placement, unknown), a score outside the
form's scale, the submission that makes it read-only, sending refused without an e-mail
address, the praktijkopleider's open and submit audited by name on channel ``link``, the
result on the placement page and as PDF (decided and audited), the comparison with an earlier
assessment, and the denials (another school, a student, a partner)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pypdf
import pytest
import time_machine
from sqlalchemy import select

from network.audit import AuditEvent
from network.clock import utcnow
from network.db import db
from network.errors import NotFound, ValidationFailed
from network.models import OutboxMessage, Role
from referrals.placements.assessment import check_link, send_link, submit_assessment
from referrals.placements.assessment_form import ITEMS
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment
from referrals.placements.assessment_reads import comparison, earlier_assessments
from referrals.placements.service import create_placement
from referrals.route_service import open_route
from tests.conftest import csrf_from
from tests.factories import StudentFactory, login, make_member, principal_for
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

BASE = "http://schakel.test"


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    return made


def _send(session, keyring, actor, placement, **kwargs):
    assessment, link = send_link(session, actor, keyring, placement, base_url=BASE, **kwargs)
    session.commit()
    return assessment, link.removeprefix(BASE)


def answers(placement, **overrides) -> dict:
    data = {"werkprocessen": {str(i): "independent" for i, _w in enumerate(placement.werkprocessen)},
            "competences": {key: "own_initiative" for key in ITEMS}, "hire": "ja", "develop": "ja",
            "if_not": "", "if_so": "Tempo maken bij drukte", "toelichting": "Komt altijd op tijd.",
            "attention": ["samenwerking"], "confirm": True, "signed_name": "Henk van Dalen"}
    data.update(overrides)
    return data


def form_answers(placement, **overrides) -> dict:
    data = {f"wp_{i}": "guided" for i, _w in enumerate(placement.werkprocessen)}
    data.update({f"c_{key}": "when_directed" for key in ITEMS})
    data.update(hire="ja", develop="nee", if_not="Logistiek", if_so="", toelichting="Vriendelijk en rustig.",
                attention=["betrouwbaarheid", "taakgericht"], confirm="ja", signed_name="Henk van Dalen")
    data.update(overrides)
    return data


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


# -- the link, as a service ---------------------------------------------------------------------

def test_the_link_is_a_random_token_stored_as_its_hash_and_mailed(session, keyring, app, pactors, placement):
    assessment, link = _send(session, keyring, pactors["mentor"], placement)
    token = _token(link)
    assert link == f"/stagebeoordeling/{placement.uuid}/{token}" and len(token) >= 40
    assert assessment.token_hash != token and token not in (assessment.token_hash or "")
    assert check_link(session, placement.uuid, token).state == "ok"
    mail = session.scalars(select(OutboxMessage)).one()
    body = keyring.decrypt(mail.body_encrypted, mail.body_ref())
    assert mail.recipient == "henk@bakkerij.example" and token in body and "Sanne" in mail.subject
    assert "Visser" not in body  # the first name only
    assert token not in str([e.detail for e in session.scalars(select(AuditEvent))])


def test_the_link_expires(session, keyring, pactors, placement):
    assessment, link = _send(session, keyring, pactors["mentor"], placement, link_days=30)
    with time_machine.travel(assessment.expires_at + dt.timedelta(minutes=1), tick=False):
        assert check_link(session, placement.uuid, _token(link)).state == "expired"
    with time_machine.travel(assessment.expires_at - dt.timedelta(minutes=1), tick=False):
        assert check_link(session, placement.uuid, _token(link)).state == "ok"


def test_sending_again_replaces_the_token(session, keyring, pactors, placement):
    first, old = _send(session, keyring, pactors["mentor"], placement)
    second, new = _send(session, keyring, pactors["mentor"], placement)
    assert first.id == second.id
    assert check_link(session, placement.uuid, _token(old)).state == "invalid"
    assert check_link(session, placement.uuid, _token(new)).state == "ok"


def test_a_link_opened_under_another_placement_or_unknown_is_invalid(session, keyring, pworld, pactors, placement):
    other_route = open_route(session, pactors["mentor"], StudentFactory(school=pworld["school"]), {})
    other = create_placement(session, pactors["mentor"], keyring, other_route, placement_data(pworld))
    session.commit()
    _a, link = _send(session, keyring, pactors["mentor"], placement)
    assert check_link(session, other.uuid, _token(link)).state == "invalid"
    assert check_link(session, placement.uuid, "geen-geldig-token").state == "invalid"
    assert check_link(session, placement.uuid, "").state == "invalid"


def test_sending_is_refused_without_an_email_address(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                            placement_data(pworld, trainer_email=None))
    session.commit()
    with pytest.raises(ValidationFailed) as refused:
        send_link(session, pactors["mentor"], keyring, made, base_url=BASE)
    assert "geen e-mailadres van de praktijkopleider" in str(refused.value.detail)
    session.rollback()
    assert session.scalar(select(PlacementAssessment)) is None and session.scalar(select(OutboxMessage)) is None


def test_another_school_cannot_send(session, keyring, pactors, placement):
    with pytest.raises(NotFound):
        send_link(session, pactors["other_mentor"], keyring, placement, base_url=BASE)


def test_a_score_outside_the_scale_is_refused_and_nothing_is_written(session, keyring, pactors, placement):
    assessment, _link = _send(session, keyring, pactors["mentor"], placement)
    bad = answers(placement, competences={**answers(placement)["competences"], "1a": "uitstekend"},
                  werkprocessen={"0": "7"}, hire="misschien", confirm=False, signed_name="")
    with pytest.raises(ValidationFailed) as refused:
        submit_assessment(session, pactors["mentor"], keyring, assessment, bad)
    errors = refused.value.errors
    assert errors["c_1a"] == ["Kies een van de antwoorden van het formulier."]
    assert errors["wp_0"] == ["Kies een van de antwoorden van het formulier."]
    assert errors["wp_1"] == ["Kies een antwoord."]
    assert errors["hire"] == ["Kies een van de antwoorden van het formulier."]
    assert "confirm" in errors and "signed_name" in errors
    session.rollback()
    assert session.get(PlacementAssessment, assessment.id).status is AssessmentStatus.requested


def test_submission_signs_closes_and_encrypts(session, keyring, pactors, placement):
    assessment, link = _send(session, keyring, pactors["mentor"], placement)
    submit_assessment(session, pactors["mentor"], keyring, assessment, answers(placement))
    session.commit()
    assert assessment.status is AssessmentStatus.submitted and assessment.signed_name == "Henk van Dalen"
    assert assessment.company_name == "Bakkerij Van Dalen" and assessment.function == "Medewerker bakkerij"
    assert assessment.assessor_name == "Henk van Dalen" and assessment.would_hire is True
    assert "Komt altijd op tijd" not in assessment.texts_encrypted
    assert check_link(session, placement.uuid, _token(link)).state == "submitted"
    with pytest.raises(Exception, match="al ingevuld"):
        submit_assessment(session, pactors["mentor"], keyring, assessment, answers(placement))


# -- the praktijkopleider's page ------------------------------------------------------------------

def test_the_praktijkopleider_opens_and_submits_without_an_account(client, session, keyring, pactors, placement):
    _a, link = _send(session, keyring, pactors["mentor"], placement)
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Beoordelingsformulier werkontwikkeling" in html and "Sanne" in html and "Visser" not in html
    assert "Maakt deeg" in html and "Hij heeft voldoende tempo in het werk." in html and "n.v.t." in html
    assert "Zou u de deelnemer aannemen?" in html
    refused = client.post(link, data={**form_answers(placement, c_2a="heel goed", signed_name=""),
                                      "csrf_token": csrf_from(html)})
    again = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Kies een van de antwoorden van het formulier." in again
    assert "Vriendelijk en rustig." in again  # what was typed stays
    done = client.post(link, data={**form_answers(placement), "csrf_token": csrf_from(again)})
    assert done.status_code == 200 and "Dank u wel" in done.get_data(as_text=True)
    db.session.expire_all()
    assessment = db.session.scalar(select(PlacementAssessment))
    assert assessment.status is AssessmentStatus.submitted and assessment.can_develop is False
    by_link = db.session.scalars(select(AuditEvent).where(AuditEvent.channel == "link").order_by(AuditEvent.id)).all()
    # the page's read is decided each time it shows the student (the form, and again after the
    # refused submission), under the school's stageovereenkomst; then the submission
    assert [e.event_type for e in by_link] == ["placement:assessment-open", "placement:assessment-open",
                                               "placement:assessment-submit"]
    assert [e.basis for e in by_link[:2]] == ["legal_task:stageovereenkomst"] * 2
    assert all(e.student_id == str(placement.student_id) for e in by_link)
    assert all(e.account_name.startswith("Henk van Dalen, praktijkopleider bij") and e.account_id is None
               for e in by_link)
    # used: the thanks only, nothing of the student, and no second submission
    used = client.get(link)
    text = used.get_data(as_text=True)
    assert used.status_code == 200 and "al ingevuld" in text and "Sanne" not in text and "Maakt deeg" not in text
    assert client.post(link, data={**form_answers(placement), "csrf_token": csrf_from(again)}).status_code == 200


def test_the_page_without_csrf_is_refused(client, session, keyring, pactors, placement):
    _a, link = _send(session, keyring, pactors["mentor"], placement)
    assert client.post(link, data=form_answers(placement)).status_code == 400
    assert db.session.scalar(select(PlacementAssessment)).status is AssessmentStatus.requested


def test_expired_revoked_wrong_and_unknown_links_show_no_data(client, session, keyring, pactors, pworld, placement):
    assessment, link = _send(session, keyring, pactors["mentor"], placement)
    with time_machine.travel(assessment.expires_at + dt.timedelta(hours=1), tick=False):
        gone = client.get(link)
    assert gone.status_code == 410 and "verlopen" in gone.get_data(as_text=True)
    other_route = open_route(session, pactors["mentor"], StudentFactory(school=pworld["school"]), {})
    other = create_placement(session, pactors["mentor"], keyring, other_route, placement_data(pworld))
    session.commit()
    wrong = client.get(f"/stagebeoordeling/{other.uuid}/{_token(link)}")
    unknown = client.get(f"/stagebeoordeling/{placement.uuid}/geen-geldig-token")
    for response in (wrong, unknown):
        assert response.status_code == 404 and "niet geldig" in response.get_data(as_text=True)
    login(client, pworld["mentor"])
    page = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    revoke = client.post(f"/trajecten/stages/{placement.id}/beoordeling/{assessment.id}/intrekken",
                         data={"csrf_token": csrf_from(page)})
    assert revoke.status_code == 302
    client.get("/uitloggen")
    revoked = client.get(link)
    text = revoked.get_data(as_text=True)
    assert revoked.status_code == 410 and "ingetrokken" in text
    for response in (gone, wrong, unknown, revoked):
        body = response.get_data(as_text=True)
        assert "Sanne" not in body and "Maakt deeg" not in body and "Bakkerij" not in body


# -- the school's side ------------------------------------------------------------------------------

def test_the_mentor_sends_from_the_placement_page(client, session, pworld, placement):
    login(client, pworld["mentor"])
    page = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    assert "Link voor de beoordeling versturen" in page
    sent = client.post(f"/trajecten/stages/{placement.id}/beoordeling", data={"csrf_token": csrf_from(page)},
                       follow_redirects=True)
    html = sent.get_data(as_text=True)
    assert "De link voor de beoordeling is verstuurd naar henk@bakkerij.example." in html
    assert "Nog niet ingevuld." in html and "Link intrekken" in html


def test_the_page_refuses_to_send_without_an_address(client, session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                            placement_data(pworld, trainer_email=None))
    session.commit()
    login(client, pworld["mentor"])
    page = client.get(f"/trajecten/stages/{made.id}").get_data(as_text=True)
    refused = client.post(f"/trajecten/stages/{made.id}/beoordeling", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 400
    assert "geen e-mailadres van de praktijkopleider ingevuld" in refused.get_data(as_text=True)
    assert db.session.scalar(select(PlacementAssessment)) is None


def _submitted(session, keyring, actor, placement, **overrides):
    assessment, _link = _send(session, keyring, actor, placement)
    submit_assessment(session, actor, keyring, assessment, answers(placement, **overrides))
    session.commit()
    return assessment


def test_the_result_is_read_only_decided_audited_and_a_pdf(client, session, keyring, pworld, pactors, placement):
    assessment = _submitted(session, keyring, pactors["mentor"], placement)
    login(client, pworld["mentor"])
    detail = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    url = f"/trajecten/stages/{placement.id}/beoordeling/{assessment.id}"
    assert url in detail and "Link intrekken" not in detail
    html = client.get(url).get_data(as_text=True)
    assert "Sanne Visser" in html and "Komt altijd op tijd." in html and "Tempo maken bij drukte" in html
    assert "Laat competentie zien op eigen initiatief" in html and "Samenwerking (bv. groeten" in html
    assert 'type="radio"' not in html and "<textarea" not in html  # read-only: nothing to change
    assert "Scores overnemen in het plan" in html
    assert not re.search(r"\b(own_initiative|independent|submitted)\b", html)
    pdf = client.get(url + "/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Beoordelingsformulier werkontwikkeling" in text and "Sanne Visser" in text
    assert "Hij heeft voldoende tempo in het werk." in text and "Komt altijd op tijd." in text
    assert "Henk van Dalen" in text
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:assessment-view")).all()
    assert len(views) == 2 and all(e.student_id == str(placement.student_id) for e in views)


def test_the_result_compares_with_the_earlier_assessment(session, keyring, pworld, pactors, placement):
    first = _submitted(session, keyring, pactors["mentor"], placement,
                       competences={key: "when_directed" for key in ITEMS}, werkprocessen={"0": "guided", "1": "na"})
    with time_machine.travel(utcnow() + dt.timedelta(days=60), tick=False):
        second = _submitted(session, keyring, pactors["mentor"], placement,
                            competences={**{key: "when_directed" for key in ITEMS}, "1a": "own_initiative",
                                         "1b": "not_shown"})
    earlier = earlier_assessments(session, second)
    assert [a.id for a in earlier] == [first.id] and earlier_assessments(session, first) == []
    rows = comparison(second, earlier)
    group_one = rows["competences"][0][1]
    assert group_one[0].trend == "up" and group_one[1].trend == "down" and group_one[2].trend == "same"
    assert group_one[0].earlier == ("Laat competentie zien na aansturing",)
    assert rows["werkprocessen"][0].trend == "up" and rows["werkprocessen"][1].trend is None


@pytest.mark.parametrize("who", ["other_mentor", "partner", "student"])
def test_denials(app, client, session, keyring, pworld, pactors, placement, who, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # the posts reach the views
    assessment = _submitted(session, keyring, pactors["mentor"], placement)
    account = make_member(Role.student, pworld["school"]) if who == "student" else pworld[who]
    session.commit()
    login(client, account)
    base = f"/trajecten/stages/{placement.id}/beoordeling"
    for response in (client.get(f"{base}/{assessment.id}"), client.get(f"{base}/{assessment.id}/pdf"),
                     client.post(base), client.post(f"{base}/{assessment.id}/intrekken")):
        assert response.status_code in (403, 404), response.status_code
        assert "Komt altijd op tijd" not in response.get_data(as_text=True)
    assert principal_for(account).name  # the actor exists; nothing was sent for it
    assert session.scalar(select(PlacementAssessment.id).where(PlacementAssessment.id != assessment.id)) is None


def test_the_student_reads_the_submitted_assessment_in_the_portal(client, session, keyring, pworld, pactors,
                                                                   placement):
    _submitted(session, keyring, pactors["mentor"], placement)
    account = make_member(Role.student, pworld["school"])
    pworld["student"].account_id = account.id
    session.commit()
    login(client, account)
    response = client.get("/mijn-gegevens/stagebeoordelingen")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Beoordelingen van mijn stages" in html
    assert "Bakkerij Van Dalen" in html and "Komt altijd op tijd." in html and "Beoordeeld door Henk van Dalen." in html
    assert "Laat competentie zien op eigen initiatief" in html and not re.search(r"\bown_initiative\b", html)
    reads = db.session.scalars(select(AuditEvent).where(
        AuditEvent.event_type == "placement:assessment-student-view")).all()
    assert len(reads) == 1 and reads[0].student_id == str(placement.student_id)
    # a student of the school without placements sees none of it
    other = make_member(Role.student, pworld["school"])
    StudentFactory(school=pworld["school"], account_id=other.id)
    session.commit()
    login(client, other)
    html = client.get("/mijn-gegevens/stagebeoordelingen").get_data(as_text=True)
    assert "Er is nog geen beoordeling van je stage ingevuld." in html and "Komt altijd op tijd" not in html


def test_the_scores_are_copied_into_the_plan_with_the_source(client, session, keyring, pworld, pactors, placement):
    from consent.agreements.access import find_agreement
    from consent.agreements.models import AgreementKind
    from consent.agreements.overview import latest_content
    from consent.agreements.service import create_agreement, save_section

    assessment = _submitted(session, keyring, pactors["mentor"], placement,
                            werkprocessen={"0": "guided", "1": "na"},
                            competences={**{key: "own_initiative" for key in ITEMS}, "1e": "not_shown"})
    login(client, pworld["mentor"])
    url = f"/trajecten/stages/{placement.id}/beoordeling/{assessment.id}"
    page = client.get(url).get_data(as_text=True)
    refused = client.post(url + "/naar-plan", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 409 and "geen open school-naar-werk-plan" in refused.get_data(as_text=True)
    plan = create_agreement(session, pactors["mentor"], keyring, pworld["student"], AgreementKind.plan)
    agreement, access = find_agreement(session, pactors["mentor"], plan.id)
    save_section(session, pactors["mentor"], keyring, agreement, access, "skills", {"skills": [
        {"skill": "Maakt deeg", "kind": "beroep", "score": "O", "note": "Schoolpraktijk"},
        {"skill": "Rekenen", "kind": "beroep", "score": "V", "note": ""}]})
    session.commit()
    done = client.post(url + "/naar-plan", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "De scores staan in de vaardigheden van het plan" in done.get_data(as_text=True)
    db.session.expire_all()
    agreement, _access = find_agreement(db.session, pactors["mentor"], plan.id)
    rows = latest_content(keyring, agreement.latest)["skills"]["skills"]
    by_skill = {row["skill"]: row for row in rows}
    assert by_skill["Maakt deeg"]["score"] == "V" and "Bakt brood" not in by_skill  # n.v.t. is not copied
    assert by_skill["Rekenen"] == {"skill": "Rekenen", "kind": "beroep", "score": "V", "note": ""}
    assert by_skill["Goed werknemerschap"]["score"] == "O" and by_skill["Plannen en organiseren"]["score"] == "G"
    assert by_skill["Goed werknemerschap"]["kind"] == "werknemer"
    assert all(row["note"].startswith("Beoordeling praktijkopleider Henk van Dalen") for row in rows
               if row["skill"] != "Rekenen")
    assert len(rows) == 8  # 2 werkprocessen rows (one replaced) + Rekenen + six groups - Bakt brood (n.v.t.)
    copied = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:assessment-to-plan",
                                                         AuditEvent.object_type == "placement_assessment")).all()
    assert len(copied) == 1


def test_the_public_page_is_rate_limited(app, client, monkeypatch, placement):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    url = f"/stagebeoordeling/{placement.uuid}/geraden-token"
    statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
