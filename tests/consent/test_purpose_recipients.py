"""Each purpose names the organisation types that may receive it (issue 18, item 3b): a consent,
a request for one or a legal task outside that is refused in Dutch; a consent outside it that
is already in the database gives no basis (audited as a denial); the hub admin keeps the types
as data and cannot make an impossible combination; the consent forms offer only the pairs that
fit; and the upgrade stops on existing consents that break the rule, naming them."""

from __future__ import annotations

import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text, update

from consent.catalogue import PURPOSE_RECIPIENTS
from consent.catalogue_admin import create_legal_task, update_legal_task, update_purpose
from consent.lifecycle import request_consent
from consent.models import Consent, ConsentRequest, LegalTask, Purpose, PurposeRecipientType
from consent.service import grant_consent, withdraw_consent
from network.access import Category, bases_for_organisation, decide
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.errors import ValidationFailed
from network.models import OrganisationType, Role
from tests.conftest import head_revision, post_form
from tests.consent.conftest import grant_data
from tests.factories import OrganisationFactory, login, make_member, principal_for

T = OrganisationType
REGELZAKEN = "uitkering-en-regelzaken"
REFUSED = ("Bakkerij Van Dalen is een werkgever. Voor 'Uitkering en regelzaken' mag alleen een gemeente, UWV of MEE "
           "gegevens krijgen.")
BEFORE = "f41f5b18df59"


def _purpose(session, code: str) -> Purpose:
    return session.scalar(select(Purpose).where(Purpose.code == code))


def _admin(world):
    hub = OrganisationFactory(region=world["region"], type=T.hub)
    return make_member(Role.hub_admin, hub)


# -- the rule in the services --------------------------------------------------------------------

def test_the_catalogue_names_who_may_receive_each_purpose(session, world):
    for code, types in PURPOSE_RECIPIENTS.items():
        assert _purpose(session, code).recipient_types == frozenset(types), code
    assert T.werkgever not in _purpose(session, REGELZAKEN).recipient_types
    assert all(T.school not in types and T.hub not in types for types in PURPOSE_RECIPIENTS.values())


def test_a_student_cannot_consent_to_give_an_employer_data_for_uitkering(session, world, actors, keyring):
    with pytest.raises(ValidationFailed) as refused:
        grant_consent(session, actors["student_account"], keyring, world["student"],
                      grant_data(world, recipient_id=world["employer"].id, purpose_code=REGELZAKEN,
                                 categories=["contactgegevens"]))
    assert [REFUSED in str(m) for m in refused.value.errors["recipient_id"]] == [True]
    session.rollback()
    assert session.scalar(select(func.count(Consent.id))) == 0


def test_nor_can_the_school_record_or_ask_for_it(session, world, actors, keyring):
    data = grant_data(world, recipient_id=world["employer"].id, purpose_code=REGELZAKEN,
                      categories=["contactgegevens"], channel="paper")
    with pytest.raises(ValidationFailed) as recorded:
        grant_consent(session, actors["mentor"], keyring, world["student"], data)
    with pytest.raises(ValidationFailed) as asked:
        request_consent(session, actors["mentor"], keyring, world["student"], data)
    for refused in (recorded, asked):
        assert REFUSED in str(refused.value.errors["recipient_id"][0])
    session.rollback()
    assert session.scalar(select(func.count(ConsentRequest.id))) == 0


def test_the_same_employer_for_the_internship_and_the_gemeente_for_uitkering_are_fine(session, world, actors,
                                                                                      keyring):
    internship = grant_consent(session, actors["student_account"], keyring, world["student"],
                               grant_data(world, recipient_id=world["employer"].id, purpose_code="stagebegeleiding",
                                          categories=["contactgegevens"]))
    income = grant_consent(session, actors["student_account"], keyring, world["student"],
                           grant_data(world, purpose_code=REGELZAKEN, categories=["contactgegevens"]))
    session.commit()
    employer_staff = principal_for(make_member(Role.partner_staff, world["employer"]))
    assert decide(session, employer_staff, world["student"], "stagebegeleiding",
                  [Category.contact]).basis_label == f"consent:{internship.id}"
    assert decide(session, actors["partner"], world["student"], REGELZAKEN,
                  [Category.contact]).basis_label == f"consent:{income.id}"


def test_a_consent_outside_the_rule_already_in_the_database_gives_no_basis(session, world, actors, keyring):
    """A row made before the rule (or by hand): the decision itself checks the recipient's
    type, so it is "no basis", audited as a denial, in every form of the decision."""
    consent = grant_consent(session, actors["student_account"], keyring, world["student"],
                            grant_data(world, recipient_id=world["employer"].id, purpose_code="stagebegeleiding",
                                       categories=["contactgegevens"]))
    session.execute(update(Consent).where(Consent.id == consent.id).values(purpose_id=_purpose(session, REGELZAKEN).id))
    session.commit()
    employer_staff = principal_for(make_member(Role.partner_staff, world["employer"]))
    decision = decide(session, employer_staff, world["student"], REGELZAKEN, [Category.contact])
    session.commit()
    assert decision.allowed == frozenset() and decision.bases == ()
    event = session.scalars(select(AuditEvent).where(AuditEvent.purpose == REGELZAKEN)
                            .order_by(AuditEvent.id.desc())).first()
    assert event.outcome is AuditOutcome.denied and event.basis is None
    assert not bases_for_organisation(session, world["employer"], world["student"], REGELZAKEN,
                                      [Category.contact]).allowed


# -- the hub admin: the types are data; impossible combinations are refused ------------------------

def test_admin_cannot_add_a_legal_task_for_a_type_the_purpose_does_not_name(session, world):
    admin = principal_for(_admin(world))
    data = {"organisation_type": "werkgever", "purpose_id": _purpose(session, REGELZAKEN).id,
            "code": "werkgever-regelzaken", "label": "Regelzaken door de werkgever", "categories": ["contactgegevens"],
            "is_active": True}
    with pytest.raises(ValidationFailed) as refused:
        create_legal_task(session, admin, data)
    assert "Een werkgever mag geen gegevens krijgen voor het doel 'Uitkering en regelzaken'" in str(
        refused.value.errors["organisation_type"][0])
    session.rollback()
    assert session.scalar(select(LegalTask.id).where(LegalTask.code == "werkgever-regelzaken")) is None
    # the same task for the gemeente is fine
    assert create_legal_task(session, admin, {**data, "organisation_type": "gemeente", "code": "gemeente-regelzaken"})


def test_a_type_in_use_cannot_be_taken_from_a_purpose_and_is_named(session, world, actors, keyring):
    admin = principal_for(_admin(world))
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    jobcoaching = _purpose(session, "jobcoaching")
    data = {"label": jobcoaching.label, "categories": [c.value for c in jobcoaching.categories], "is_active": True,
            "organisation_types": ["uwv", "mee", "zorg"]}  # without the gemeente
    with pytest.raises(ValidationFailed) as refused:
        update_purpose(session, admin, jobcoaching, data)
    message = str(refused.value.errors["organisation_types"][0])
    assert "Geldige toestemmingen voor dit doel gaan nog naar een gemeente" in message
    assert f"nr. {consent.id}" in message
    session.rollback()
    assert T.gemeente in _purpose(session, "jobcoaching").recipient_types
    # once the consent is withdrawn, the gemeente can go; from then on it cannot get a new one
    withdraw_consent(session, actors["student_account"], keyring, consent)
    update_purpose(session, admin, _purpose(session, "jobcoaching"), data)
    session.commit()
    assert _purpose(session, "jobcoaching").recipient_types == {T.uwv, T.mee, T.zorg}
    with pytest.raises(ValidationFailed):
        grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))


def test_a_legal_task_cannot_be_switched_on_for_a_type_the_purpose_dropped(session, world):
    admin = principal_for(_admin(world))
    task = session.scalar(select(LegalTask).where(LegalTask.code == "rmc-nazorg"))
    base = {"label": task.label, "legal_reference": task.legal_reference, "own_region_only": True,
            "categories": ["contactgegevens"]}
    update_legal_task(session, admin, task, {**base, "is_active": False})
    rmc = _purpose(session, "rmc-nazorg")
    update_purpose(session, admin, rmc, {"label": rmc.label, "categories": [c.value for c in rmc.categories],
                                         "is_active": True, "organisation_types": ["gemeente"]})
    session.commit()
    with pytest.raises(ValidationFailed) as refused:
        update_legal_task(session, admin, task, {**base, "is_active": True})
    assert "Een RMC mag geen gegevens krijgen voor het doel 'RMC-nazorg'" in str(refused.value.errors["is_active"][0])


@pytest.mark.parametrize(("types", "message"), [
    ([], "Kies minstens één soort organisatie"),
    (["school", "gemeente"], "Een school of de regionale hub krijgt geen gegevens"),
    (["hub"], "Een school of de regionale hub krijgt geen gegevens"),
    (["bakker"], "Onbekende soort organisatie"),
])
def test_admin_page_refuses_impossible_recipient_types_in_dutch(client, session, world, types, message):
    login(client, _admin(world))
    purpose = _purpose(session, "jobcoaching")
    response = post_form(client, f"/beheer/grondslagen/doelen/{purpose.id}",
                         {"label": "Jobcoaching op de werkplek", "categories": ["contactgegevens"],
                          "organisation_types": types, "is_active": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert 'value="Jobcoaching op de werkplek"' in html  # the input is kept
    db.session.expire_all()
    assert session.get(Purpose, purpose.id).recipient_types == frozenset(PURPOSE_RECIPIENTS["jobcoaching"])


def test_admin_sees_and_edits_who_may_receive_a_purpose(client, session, world):
    login(client, _admin(world))
    html = client.get("/beheer/grondslagen").get_data(as_text=True)
    assert "Wie mag ze krijgen" in html and "Gemeente, UWV, MEE" in html
    purpose = _purpose(session, REGELZAKEN)
    form = client.get(f"/beheer/grondslagen/doelen/{purpose.id}").get_data(as_text=True)
    assert 'name="organisation_types" value="gemeente" checked' in form
    assert 'name="organisation_types" value="werkgever">' in form
    assert 'value="school"' not in form and 'value="hub"' not in form
    response = post_form(client, f"/beheer/grondslagen/doelen/{purpose.id}",
                         {"label": purpose.label, "categories": ["contactgegevens"], "is_active": "true",
                          "organisation_types": ["gemeente", "uwv", "mee", "leerwerkloket"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert _purpose(session, REGELZAKEN).recipient_types == {T.gemeente, T.uwv, T.mee, T.leerwerkloket}
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:purpose-update")).all()
    assert '"leerwerkloket"' in event.detail


# -- the forms offer only what fits ------------------------------------------------------------------

@pytest.mark.parametrize("page", ["portal", "staff"])
def test_the_consent_forms_offer_only_fitting_recipients_and_purposes(client, session, world, page):
    login(client, world["student_account"] if page == "portal" else world["mentor"])
    url = "/mijn-gegevens/toestemmingen" if page == "portal" else f"/leerlingen/{world['student'].id}/toestemmingen"
    html = client.get(url).get_data(as_text=True)
    employer, gemeente = world["employer"].id, world["gemeente"].id
    assert '<optgroup label="Bakkerij Van Dalen">' in html
    assert f'value="{employer}:stagebegeleiding"' in html
    assert f'value="{employer}:{REGELZAKEN}"' not in html and f'value="{employer}:jobcoaching"' not in html
    assert f'value="{gemeente}:{REGELZAKEN}"' in html
    assert f'value="{world["rmc"].id}:rmc-nazorg"' in html and f'value="{world["rmc"].id}:jobcoaching"' not in html
    assert f'value="{world["far_gemeente"].id}:' not in html  # another region's organisation


def test_the_portal_grants_with_the_combined_choice(client, session, world):
    login(client, world["student_account"])
    response = post_form(client, "/mijn-gegevens/toestemmingen",
                         {"recipient_purpose": f"{world['employer'].id}:stagebegeleiding",
                          "categories": ["contactgegevens"]})
    assert response.status_code == 302
    consent = session.scalar(select(Consent))
    assert consent.recipient_id == world["employer"].id and consent.purpose.code == "stagebegeleiding"


def test_a_posted_pair_that_does_not_fit_is_refused_at_the_choice(client, session, world):
    """A form made before the rule (or by hand) still posts the pair: refused, with the message
    at the one field that chooses both, and nothing saved."""
    login(client, world["student_account"])
    response = post_form(client, "/mijn-gegevens/toestemmingen",
                         {"recipient_purpose": f"{world['employer'].id}:{REGELZAKEN}",
                          "categories": ["contactgegevens"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and html.count(REFUSED) == 2
    assert 'href="#f-recipient_purpose"' in html and 'id="f-recipient_purpose"' in html
    assert session.scalar(select(func.count(Consent.id))) == 0


# -- the upgrade stops on consents that break the rule ------------------------------------------------

def test_the_upgrade_names_consents_outside_the_rule_and_runs_once_they_are_withdrawn(session, world, actors,
                                                                                       keyring, caplog):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"],
                            grant_data(world, recipient_id=world["employer"].id, purpose_code="stagebegeleiding",
                                       categories=["contactgegevens"]))
    # as an older release let it: the employer, for uitkering en regelzaken
    session.execute(update(Consent).where(Consent.id == consent.id).values(purpose_id=_purpose(session, REGELZAKEN).id))
    session.commit()
    consent_id = consent.id
    session.remove()
    downgrade(revision=BEFORE)
    try:
        with pytest.raises(SystemExit):  # flask-migrate: the error logged, exit status 1
            upgrade()
        assert re.search(rf"active consents {consent_id} \(werkgever for {REGELZAKEN}\) go to a type", caplog.text), \
            caplog.text
        with db.engine.connect() as conn:  # stopped before it changed anything
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == BEFORE
        assert "consent_purpose_recipient_type" not in db.inspect(db.engine).get_table_names()
        db.session.remove()
        withdraw_consent(db.session, actors["student_account"], keyring, db.session.get(Consent, consent_id))
        db.session.commit()
    finally:
        db.session.remove()
        upgrade()
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    seeded = {(code, str(t)) for code, t in db.session.execute(
        select(Purpose.code, PurposeRecipientType.organisation_type)
        .join(PurposeRecipientType, PurposeRecipientType.purpose_id == Purpose.id))}
    assert (REGELZAKEN, "gemeente") in seeded and (REGELZAKEN, "werkgever") not in seeded
    assert ("stagebegeleiding", "werkgever") in seeded
