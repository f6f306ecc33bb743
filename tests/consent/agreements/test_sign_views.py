"""Signing in the browser: the signer reads exactly the version, confirms who they are (password,
or a TOTP code for an account with a second factor; not again within ten minutes) and signs for
their party. Every refusal is a Dutch message on the page with its status and nothing signed;
a wrong password counts towards the lockout. A guardian signs for a 15-year-old; the
15-year-old cannot. Declining needs a reason."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from consent.agreements.access import find_agreement
from consent.agreements.models import AgreementSignature, SignatureMethod, SigningOrder, VersionStatus
from consent.agreements.service import save_section
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.identity import LoginPolicy, reauthenticate
from network.models import Account
from tests.conftest import post_form
from tests.consent.agreements._pages import (
    enable_totp,
    offered_plan,
    sign_url,
    tamper_content,
    version_row,
    young_account,
    young_plan,
)
from tests.consent.agreements._signed import party_keys, sign, snapshot
from tests.factories import PASSWORD, login


def _signatures(agreement_id, number=1) -> list[AgreementSignature]:
    return list(version_row(db.session, agreement_id, number).signatures)


def _events(event_type):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                              .order_by(AuditEvent.id)).all()


def _failures(account) -> int:
    db.session.expire_all()
    return db.session.get(Account, account.id).failed_logins


def _submit(client, agreement_id, data, *, number=1, partij="student"):
    return post_form(client, sign_url(agreement_id, number, partij), {"partij": partij, **data},
                     post_url=sign_url(agreement_id, number))


def test_the_student_reads_and_signs_with_the_password(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    login(client, world["student_account"])
    page = client.get(sign_url(agreement_id))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    version = version_row(session, agreement_id)
    # exactly this version: its number, hash, content with labels, and the parties' commitments
    assert version.content_hash in html and "versie 1" in html
    assert "Magazijnmedewerker" in html and "Als een afspraak niet wordt nagekomen" in html
    assert f"{world['gemeente'].name} begeleidt op de werkplek." in html
    assert f"Ik heb deze versie gelezen en onderteken namens {world['student'].full_name}" in html
    assert 'name="password"' in html and 'name="code"' not in html
    assert _events("agreement:view"), "the read of the version is decided and audited"

    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 302 and response.location.endswith(f"/plannen/{agreement_id}")
    [signature] = _signatures(agreement_id)
    assert signature.party_key == "student" and signature.method is SignatureMethod.password
    assert signature.version_hash == version.content_hash and signature.signature and signature.kid
    [reauth] = _events("auth:reauthenticate")
    assert reauth.outcome is AuditOutcome.success and reauth.account_id == world["student_account"].id
    with client.session_transaction() as s:
        assert s["reauth_method"] == "password"
        assert dt.datetime.fromisoformat(s["reauth_at"]) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def test_three_parties_sign_through_the_forms_and_the_plan_is_active(client, app, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    for account, key in ((world["student_account"], "student"), (world["mentor"], keys["school"]),
                         (world["partner"], keys["gemeente"])):
        browser = app.test_client()
        login(browser, account)
        response = _submit(browser, agreement_id, {"password": PASSWORD, "confirm": "1"}, partij=key)
        assert response.status_code == 302, response.get_data(as_text=True)
    assert version_row(session, agreement_id).status is VersionStatus.active


def test_within_ten_minutes_no_new_password_and_after_that_again(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    login(client, world["mentor"])
    school = party_keys(world)["school"]
    with client.session_transaction() as s:
        s["reauth_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)).isoformat()
        s["reauth_method"] = "password"
    html = client.get(sign_url(agreement_id, partij=school)).get_data(as_text=True)
    assert 'name="password"' in html  # stale: asked again
    response = _submit(client, agreement_id, {"confirm": "1"}, partij=school)
    assert response.status_code == 400
    assert "Vul uw wachtwoord in om te bevestigen dat u het bent." in response.get_data(as_text=True)
    assert _signatures(agreement_id) == []

    with client.session_transaction() as s:
        s["reauth_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=8)).isoformat()
        s["reauth_method"] = "totp"
    html = client.get(sign_url(agreement_id, partij=school)).get_data(as_text=True)
    assert 'name="password"' not in html and "al bevestigd wie u bent" in html
    response = _submit(client, agreement_id, {"confirm": "1"}, partij=school)
    assert response.status_code == 302
    [signature] = _signatures(agreement_id)
    assert signature.method is SignatureMethod.totp and signature.party_key == school
    assert _events("auth:reauthenticate") == []  # no new check was needed


def test_an_account_with_totp_signs_with_a_code(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    totp = enable_totp(session, keyring, world["student_account"])
    login(client, world["student_account"])
    html = client.get(sign_url(agreement_id)).get_data(as_text=True)
    assert 'name="code"' in html and 'name="password"' not in html
    wrong = "000000" if totp.now() != "000000" else "111111"
    response = _submit(client, agreement_id, {"code": wrong, "confirm": "1"})
    assert response.status_code == 400 and "Deze code klopt niet" in response.get_data(as_text=True)
    assert _failures(world["student_account"]) == 1
    assert _signatures(agreement_id) == []
    response = _submit(client, agreement_id, {"code": totp.now(), "confirm": "1"})
    assert response.status_code == 302
    [signature] = _signatures(agreement_id)
    assert signature.method is SignatureMethod.totp
    assert _failures(world["student_account"]) == 0
    # the same code cannot be used twice (as at login)
    assert reauthenticate(session, actors["student_account"], None, keyring,
                          session.get(Account, world["student_account"].id), code=totp.now(),
                          policy=LoginPolicy(), now=dt.datetime.now(dt.UTC)) is None


def test_a_wrong_password_is_refused_counted_and_audited_and_locks(client, app, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    login(client, world["student_account"])
    before = snapshot(agreement_id)
    response = _submit(client, agreement_id, {"password": "niet-mijn-wachtwoord", "confirm": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Uw wachtwoord klopt niet." in html
    assert 'aria-invalid="true"' in html and 'checked' in html  # the confirmation is kept
    assert snapshot(agreement_id) == before
    [failure] = _events("auth:reauthenticate")
    assert failure.outcome is AuditOutcome.failure and "niet-mijn" not in (failure.detail or "")
    assert _failures(world["student_account"]) == 1
    for _attempt in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        response = _submit(client, agreement_id, {"password": "nog-steeds-fout", "confirm": "1"})
    assert response.status_code == 403 and "tijdelijk geblokkeerd" in response.get_data(as_text=True)
    # locked: even the right password does not sign now
    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 403 and snapshot(agreement_id)["signatures"] == 0


def test_the_confirmation_is_required_and_no_password_is_checked_without_it(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    login(client, world["student_account"])
    response = _submit(client, agreement_id, {"password": PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vink aan dat u deze versie heeft gelezen en ondertekent." in html and "error-summary" in html
    assert _signatures(agreement_id) == [] and _events("auth:reauthenticate") == []


def test_a_superseded_version_is_refused(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    mentor = actors["mentor"]
    agreement, access = find_agreement(session, mentor, agreement_id)
    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    login(client, world["student_account"])
    page = client.get(sign_url(agreement_id))
    assert page.status_code == 409 and "vervangen door een nieuwere versie" in page.get_data(as_text=True)
    assert 'name="password"' not in page.get_data(as_text=True)
    before = snapshot(agreement_id)
    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 409 and "vervangen door een nieuwere versie" in response.get_data(as_text=True)
    assert snapshot(agreement_id) == before


def test_an_active_version_and_signing_twice_are_refused(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors, signers=("student", "school"))
    login(client, world["student_account"])
    assert _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"}).status_code == 302
    page = client.get(sign_url(agreement_id))
    assert page.status_code == 409 and "al gereageerd" in page.get_data(as_text=True)
    response = _submit(client, agreement_id, {"confirm": "1"})
    assert response.status_code == 409 and "al gereageerd" in response.get_data(as_text=True)
    assert len(_signatures(agreement_id)) == 1
    sign(session, keyring, actors["mentor"], agreement_id, 1, party_keys(world)["school"])
    page = client.get(sign_url(agreement_id))
    assert page.status_code == 409 and "al door alle partijen ondertekend" in page.get_data(as_text=True)


def test_signing_for_another_party_is_refused(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    school = party_keys(world)["school"]
    login(client, world["student_account"])
    page = client.get(sign_url(agreement_id, partij=school))
    assert page.status_code == 403 and "U kunt niet ondertekenen namens" in page.get_data(as_text=True)
    before = snapshot(agreement_id)
    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"}, partij=school)
    assert response.status_code == 403 and "U kunt niet ondertekenen namens" in response.get_data(as_text=True)
    assert snapshot(agreement_id) == before
    # a party that does not sign this version, or does not exist
    response = _submit(client, agreement_id, {"confirm": "1"}, partij="org-999999")
    assert response.status_code == 400 and "Deze partij ondertekent deze versie niet." in response.get_data(
        as_text=True)
    # an RMC that is not a party at all does not even see the agreement
    login(client, world["rmc_staff"])
    assert client.get(sign_url(agreement_id)).status_code == 404


def test_the_sequential_order_is_enforced(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors, order=SigningOrder.sequential,
                                signers=("school", "student", "gemeente"))
    login(client, world["student_account"])
    page = client.get(sign_url(agreement_id))
    assert page.status_code == 409 and "De volgorde is vastgelegd" in page.get_data(as_text=True)
    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 409 and _signatures(agreement_id) == []
    sign(session, keyring, actors["mentor"], agreement_id, 1, party_keys(world)["school"])
    assert _submit(client, agreement_id, {"confirm": "1"}).status_code == 302  # fresh from the try above


def test_content_changed_in_the_database_cannot_be_signed(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    tamper_content(agreement_id)
    login(client, world["student_account"])
    page = client.get(sign_url(agreement_id))
    html = page.get_data(as_text=True)
    assert page.status_code == 409 and "buiten Schakel gewijzigd" in html
    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 409 and _signatures(agreement_id) == []


def test_the_guardian_signs_for_a_student_of_15_who_cannot_sign_themself(client, app, session, keyring, world,
                                                                          actors):
    agreement_id = young_plan(session, keyring, world, actors)
    young = world["young"]
    own = young_account(session, world)
    login(client, own)
    page = client.get(sign_url(agreement_id))
    assert page.status_code == 403 and "U ondertekent deze versie niet" in page.get_data(as_text=True)
    response = _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 403 and _signatures(agreement_id) == []

    guardian = app.test_client()
    login(guardian, world["guardian"])
    html = guardian.get(sign_url(agreement_id)).get_data(as_text=True)
    assert f"onderteken namens {young.full_name} (als wettelijk vertegenwoordiger)" in html
    response = _submit(guardian, agreement_id, {"password": PASSWORD, "confirm": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    [signature] = _signatures(agreement_id)
    assert signature.party_key == "student" and signature.on_behalf_of == young.full_name
    assert signature.signer_name == "Ouder Jansen" and signature.signer_organisation is None


def test_decline_needs_a_reason_and_keeps_the_input(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    login(client, world["partner"])
    gemeente = party_keys(world)["gemeente"]
    before = snapshot(agreement_id)
    response = post_form(client, sign_url(agreement_id, partij=gemeente), {"partij": gemeente, "reason": "ok"},
                         post_url=sign_url(agreement_id, action="weigeren"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Geef een reden" in html and ">ok</textarea>" in html
    assert snapshot(agreement_id) == before
    response = post_form(client, sign_url(agreement_id, partij=gemeente),
                         {"partij": gemeente, "reason": "Wij kunnen de jobcoaching pas vanaf maart bieden."},
                         post_url=sign_url(agreement_id, action="weigeren"))
    assert response.status_code == 302
    [refusal] = _signatures(agreement_id)
    assert refusal.declined and refusal.decline_reason.startswith("Wij kunnen")
    assert version_row(session, agreement_id).status is VersionStatus.declined
    # declined: nobody signs this version any more
    login(client, world["student_account"])
    page = client.get(sign_url(agreement_id))
    assert page.status_code == 409 and "geweigerd" in page.get_data(as_text=True)


def test_a_partner_without_a_basis_is_refused_and_the_denial_is_audited(client, session, keyring, world, actors):
    from tests.consent.agreements._signed import offer
    from tests.consent.agreements.conftest import ready_plan

    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])  # no consent for the gemeente
    offer(session, keyring, actors["mentor"], agreement.id)
    login(client, world["partner"])
    response = client.get(sign_url(agreement.id))
    assert response.status_code == 403
    denied = [e for e in _events("agreement:view") if e.outcome is AuditOutcome.denied]
    assert denied and denied[-1].account_id == world["partner"].id


def test_someone_who_can_sign_for_two_parties_chooses_one(client, session, keyring, world, actors):
    """A mentor who is also the 15-year-old's guardian signs for the school and for the student."""
    from consent.lifecycle import add_representation

    agreement_id = young_plan(session, keyring, world, actors)
    add_representation(session, actors["mentor"], world["young"], email=world["mentor"].email, relation="ouder")
    session.commit()
    school = party_keys(world)["school"]
    login(client, world["mentor"])
    html = client.get(sign_url(agreement_id)).get_data(as_text=True)
    assert "Namens wie ondertekent u?" in html and 'name="password"' not in html
    assert sign_url(agreement_id, partij="student") in html and sign_url(agreement_id, partij=school) in html
    html = client.get(sign_url(agreement_id, partij="student")).get_data(as_text=True)
    assert "(als wettelijk vertegenwoordiger)" in html and 'name="password"' in html
    assert _submit(client, agreement_id, {"password": PASSWORD, "confirm": "1"}).status_code == 302
    assert _submit(client, agreement_id, {"confirm": "1"}, partij=school).status_code == 302
    assert version_row(session, agreement_id).status is VersionStatus.active
