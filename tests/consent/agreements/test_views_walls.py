"""Who sees an agreement page, the tamper warning, and the cost of the overview.

Walls: another school's staff and a partner that is not a party get a 404; a partner that is a
party but has no basis gets a 403 that is audited as denied; the student reads their own plan
in plain words without edit buttons; a guardian of a 15-year-old reads the child's plan. A
change made directly in the database to signed content or to a signature shows as a red
warning on the overview. The overview costs the same few statements for 1 or 8 versions."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from consent.agreements.access import find_agreement
from consent.agreements.lifecycle import offer_for_signature
from consent.agreements.models import (
    AgreementKind,
    AgreementSignature,
    AgreementVersion,
    SignatureMethod,
    SigningOrder,
)
from consent.agreements.service import create_agreement, save_section
from consent.agreements.signatures import sign_version
from consent.lifecycle import add_representation
from consent.models import Consent, ConsentStatus
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.models import Role
from tests.consent.agreements.conftest import give_plan_consent, ready_plan
from tests.factories import OrganisationFactory, login, make_member, principal_for


@pytest.fixture
def plan(session, keyring, world, actors):
    return ready_plan(session, keyring, world, actors, world["gemeente"])


def offer(session, keyring, actors, agreement_id):
    agreement, access = find_agreement(session, actors["mentor"], agreement_id)
    offer_for_signature(session, actors["mentor"], keyring, agreement, access, order=SigningOrder.parallel,
                        signers=[p.key for p in agreement.latest.parties])
    session.commit()


def sign(session, keyring, actor, agreement_id, number, party_key, fresh):
    agreement, access = find_agreement(session, actor, agreement_id)
    sign_version(session, actor, keyring, agreement, access, number, party_key, authenticated_at=fresh,
                 method=SignatureMethod.password)
    session.commit()


@pytest.fixture
def signed(session, keyring, world, actors, plan, fresh):
    """The plan offered and signed by the student, the school and the gemeente: active."""
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    offer(session, keyring, actors, plan.id)
    for name, key in (("student_account", "student"), ("mentor", f"org-{world['school'].id}"),
                      ("partner", f"org-{world['gemeente'].id}")):
        sign(session, keyring, actors[name], plan.id, 1, key, fresh)
    return plan


def test_other_schools_staff_and_a_partner_that_is_no_party_get_404(client, session, world, plan):
    other_school = OrganisationFactory(region=world["region"], school=True)
    login(client, make_member(Role.mentor, other_school))
    for path in ("", "/versies/1", "/verschil", "/onderdeel/future", "/partijen", "/aanbieden", "/beeindigen"):
        assert client.get(f"/plannen/{plan.id}{path}").status_code == 404, path
    login(client, world["rmc_staff"])  # a partner in the region, not a party
    for path in ("", "/versies/1", "/verschil"):
        assert client.get(f"/plannen/{plan.id}{path}").status_code == 404, path
    assert client.get(f"/plannen/{plan.id}/onderdeel/future").status_code == 403  # no agreement_manage at all


def test_a_partner_party_without_a_basis_is_refused_and_the_refusal_is_audited(client, session, world, plan):
    login(client, world["partner"])
    response = client.get(f"/plannen/{plan.id}")
    assert response.status_code == 403
    assert "geen grondslag" in response.get_data(as_text=True)
    denied = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:view")).all()
    assert [(e.outcome, str(e.student_id)) for e in denied] == [(AuditOutcome.denied, str(world["student"].id))]


def test_a_partner_party_with_consent_reads_the_plan_without_edit_buttons(client, session, keyring, world, actors,
                                                                          plan):
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    offer(session, keyring, actors, plan.id)
    login(client, world["partner"])
    html = client.get(f"/plannen/{plan.id}").get_data(as_text=True)
    assert "/onderdeel/" not in html and "/aanbieden" not in html and "/beeindigen" not in html
    assert f"versies/1/ondertekenen?partij=org-{world['gemeente'].id}" in html  # signs for its own organisation
    assert "partij=student" not in html


def test_the_student_reads_their_own_plan_in_plain_words(client, session, keyring, world, actors, plan):
    offer(session, keyring, actors, plan.id)
    login(client, world["student_account"])
    response = client.get(f"/plannen/{plan.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Jouw plan</h1>" in html and "Wat staat erin?" in html and "Wie doen er mee?" in html
    assert "/onderdeel/" not in html and "/partijen" not in html and "/beeindigen" not in html
    assert "Delen zonder grondslag" not in html
    assert "Lees en onderteken versie 1" in html and "versies/1/ondertekenen?partij=student" in html
    assert client.get(f"/plannen/{plan.id}/versies/1").status_code == 200
    assert client.get(f"/plannen/{plan.id}/onderdeel/future").status_code == 403


def test_the_guardian_of_a_fifteen_year_old_reads_the_childs_plan(client, session, keyring, world, actors):
    young = world["young"]
    add_representation(session, actors["mentor"], young, email="ouder@example.org", relation="ouder")
    agreement = create_agreement(session, actors["mentor"], keyring, young, AgreementKind.plan)
    session.commit()
    login(client, world["guardian"])
    response = client.get(f"/plannen/{agreement.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Het plan van {young.full_name}" in html and "/onderdeel/" not in html
    listing = client.get("/plannen").get_data(as_text=True)
    assert f"/plannen/{agreement.id}" in listing and young.full_name in listing
    assert 'href="/plannen"' in listing  # the guardian has the nav entry too
    view = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:view")).one()
    assert view.outcome is AuditOutcome.success and view.on_behalf_of == f"leerling:{young.id}"


def test_a_change_to_signed_content_in_the_database_shows_a_red_warning(client, session, keyring, world, signed):
    login(client, world["mentor"])
    html = client.get(f"/plannen/{signed.id}").get_data(as_text=True)
    assert "In orde:" in html and "de controle is mislukt" not in html
    version = session.scalar(select(AgreementVersion).where(AgreementVersion.agreement_id == signed.id))
    token = version.content_encrypted
    middle = len(token) // 2
    changed = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]  # one character
    session.execute(update(AgreementVersion).where(AgreementVersion.id == version.id)
                    .values(content_encrypted=changed))
    session.commit()
    response = client.get(f"/plannen/{signed.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Waarschuwing: de controle is mislukt" in html and 'role="alert"' in html
    assert "ontsleutelen mislukt" in html and "Let op: versie 1 klopt niet meer." in html
    assert "In orde:" not in html


def test_a_changed_signer_name_in_the_database_shows_a_red_warning(client, session, keyring, world, signed):
    session.execute(update(AgreementSignature).where(AgreementSignature.party_key == "student")
                    .values(signer_name="M. Vervalst"))
    session.commit()
    login(client, world["mentor"])
    html = client.get(f"/plannen/{signed.id}").get_data(as_text=True)
    assert "Waarschuwing: de controle is mislukt" in html
    assert "handtekening van M. Vervalst" in html and "de handtekening past niet bij de inhoud" in html
    version = client.get(f"/plannen/{signed.id}/versies/1").get_data(as_text=True)
    assert "Let op: versie 1 klopt niet meer." in version


# -- the cost of the overview ------------------------------------------------------------------

def view_statements(app, client, url) -> list[str]:
    """The statements the overview's view function issues (rendering and commit included),
    except the menu's unread-notification count that every page has. The login plumbing (the
    server-side session, the account, its memberships) runs before the view and is not counted."""
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    original = app.view_functions["agreements.detail"]

    def counted(**kwargs):
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            return original(**kwargs)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)

    app.view_functions["agreements.detail"] = counted
    try:
        response = client.get(url)
    finally:
        app.view_functions["agreements.detail"] = original
    assert response.status_code == 200
    return [s for s in statements if "FROM notification" not in s]


def grow(session, keyring, world, actors, agreement_id, versions: int, fresh):
    """Offer, sign for the school, edit: a new version each round."""
    school = f"org-{world['school'].id}"
    for round_ in range(versions - 1):
        offer(session, keyring, actors, agreement_id)
        sign(session, keyring, actors["mentor"], agreement_id, round_ + 1, school, fresh)
        agreement, access = find_agreement(session, actors["mentor"], agreement_id)
        save_section(session, actors["mentor"], keyring, agreement, access, "future", {"goal": f"Doel {round_}"})
        session.commit()


def test_the_overview_costs_the_same_few_statements_for_one_or_eight_versions(app, client, session, keyring, world,
                                                                               actors, fresh):
    small = ready_plan(session, keyring, world, actors, world["gemeente"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    offer(session, keyring, actors, small.id)
    sign(session, keyring, actors["mentor"], small.id, 1, f"org-{world['school'].id}", fresh)
    big = plan_of_another_student(session, keyring, world, actors)
    grow(session, keyring, world, actors, big.id, 8, fresh)
    offer(session, keyring, actors, big.id)
    assert len(session.get(type(big), big.id).versions) == 8
    login(client, world["mentor"])
    one = view_statements(app, client, f"/plannen/{small.id}")
    eight = view_statements(app, client, f"/plannen/{big.id}")
    assert len(one) == len(eight) <= 10, (len(one), len(eight), eight)
    # a page with a sharing warning also looks for open consent requests and the categories' labels
    session.execute(update(Consent).values(status=ConsentStatus.withdrawn))
    session.commit()
    warned_one = view_statements(app, client, f"/plannen/{small.id}")
    warned_eight = view_statements(app, client, f"/plannen/{big.id}")
    assert len(warned_one) == len(warned_eight) == len(one) + 2 <= 10  # the target for the plan page
    login(client, world["student_account"])  # the student's own plan: no sharing check
    assert len(view_statements(app, client, f"/plannen/{small.id}")) <= len(one)


def test_the_overview_costs_the_same_for_one_or_three_partners(app, client, session, keyring, world, actors):
    """The consistency check asks for every partner's basis at once, so more partners on the
    plan cost no more statements."""
    one_partner = plan_of_another_student(session, keyring, world, actors)
    three = ready_plan(session, keyring, world, actors, world["gemeente"], world["rmc"],
                       OrganisationFactory(region=world["region"], name="MEE Voorbeeld"))
    assert len(three.latest.parties) == 5
    session.execute(update(Consent).values(status=ConsentStatus.withdrawn))  # both pages show warnings
    session.commit()
    login(client, world["mentor"])
    counted_one = view_statements(app, client, f"/plannen/{one_partner.id}")
    counted_three = view_statements(app, client, f"/plannen/{three.id}")
    assert len(counted_three) == len(counted_one) <= 10, (len(counted_one), len(counted_three))


def plan_of_another_student(session, keyring, world, actors):
    """:func:`ready_plan` for another 17-year-old of the school, who consents like the first."""
    from consent.agreements.service import save_parties
    from consent.service import grant_consent
    from tests.consent.agreements.conftest import CHECKS, party_rows
    from tests.consent.conftest import born_years_ago, grant_data
    from tests.factories import StudentFactory

    account = make_member(Role.student, world["school"])
    student = StudentFactory(school=world["school"], account_id=account.id, date_of_birth=born_years_ago(17))
    grant_consent(session, principal_for(account), keyring, student, grant_data(
        world, categories=["contactgegevens", "school-naar-werk-plan"]))
    mentor = actors["mentor"]
    agreement = create_agreement(session, mentor, keyring, student, AgreementKind.plan)
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "checks", dict(CHECKS))
    save_parties(session, mentor, keyring, agreement, access, party_rows(agreement, world["gemeente"]))
    session.commit()
    return agreement
