"""The BSN only by law, never by consent (UAVG art. 46, issue 18): no consent and no request for
one names it, the forms do not offer it, a consent recorded before the rule gives no basis for
it, a legal task that names it still does, and the upgrade stops on data that breaks the rule."""

from __future__ import annotations

import re

import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from consent.catalogue import seed_catalogues
from consent.lifecycle import request_consent
from consent.models import ConsentItem, LegalTask
from consent.service import grant_consent, withdraw_consent
from network.access import Category, bases_for_organisation, decide
from network.db import db
from network.errors import ValidationFailed
from network.models import OrganisationType, Role
from tests.conftest import csrf_from
from tests.consent.conftest import grant_data
from tests.factories import OrganisationFactory, doelgroepregister_step, login, make_member

BSN_REFUSED = "Het burgerservicenummer (BSN) kan niet met toestemming gedeeld worden"
REGELZAKEN = {"purpose_code": "uitkering-en-regelzaken", "categories": ["contactgegevens", "bsn"]}


def _employer_with_staff(world):
    employer = world["employer"]
    return employer, make_member(Role.partner_staff, employer)


def test_a_student_cannot_consent_to_give_an_employer_their_bsn(session, world, actors, keyring):
    employer, _ = _employer_with_staff(world)
    with pytest.raises(ValidationFailed) as refused:
        grant_consent(session, actors["student_account"], keyring, world["student"],
                      grant_data(world, recipient_id=employer.id, **REGELZAKEN))
    assert any(BSN_REFUSED in str(m) for m in refused.value.errors["categories"])
    session.rollback()
    assert session.scalar(text("SELECT count(*) FROM consent")) == 0


def test_the_school_cannot_ask_for_consent_to_share_the_bsn(session, world, actors, keyring):
    with pytest.raises(ValidationFailed) as refused:
        request_consent(session, actors["mentor"], keyring, world["student"],
                        grant_data(world, **REGELZAKEN))
    assert any(BSN_REFUSED in str(m) for m in refused.value.errors["categories"])


def test_the_same_consent_without_the_bsn_is_fine(session, world, actors, keyring):
    # to the gemeente: an employer may not receive data for "Uitkering en regelzaken" at all
    # (tests/consent/test_purpose_recipients.py)
    consent = grant_consent(session, actors["student_account"], keyring, world["student"],
                            grant_data(world, purpose_code="uitkering-en-regelzaken", categories=["contactgegevens"]))
    assert consent.categories == frozenset({Category.contact})


def test_a_bsn_in_a_consent_recorded_before_the_rule_gives_no_basis(session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"],
                            grant_data(world, purpose_code="uitkering-en-regelzaken", categories=["contactgegevens"]))
    session.add(ConsentItem(consent_id=consent.id, category=Category.bsn.value))  # as an older release let it
    session.commit()
    decision = decide(session, actors["partner"], world["student"], "uitkering-en-regelzaken",
                      [Category.contact, Category.bsn])
    assert decision.permits(Category.contact) and not decision.permits(Category.bsn)
    found = bases_for_organisation(session, world["gemeente"], world["student"], "uitkering-en-regelzaken",
                                   frozenset({Category.bsn}))
    assert Category.bsn not in found.allowed


def test_a_legal_task_that_names_the_bsn_still_opens_it(session, world):
    uwv = OrganisationFactory(region=world["region"], type=OrganisationType.uwv, name="UWV Waalstede")
    assert session.query(LegalTask).filter_by(code="uwv-doelgroepregister").one()
    doelgroepregister_step(world["student"])  # UWV's task covers an open doelgroepregister matter
    found = bases_for_organisation(session, uwv, world["student"], "doelgroepregister-aanvraag",
                                   frozenset({Category.contact, Category.bsn}))
    assert Category.bsn in found.allowed


@pytest.mark.parametrize("page", ["portal", "staff"])
def test_the_consent_forms_do_not_offer_the_bsn(client, session, world, page):
    if page == "portal":
        login(client, world["student_account"])
        url = "/mijn-gegevens/toestemmingen"
    else:
        login(client, world["mentor"])
        url = f"/leerlingen/{world['student'].id}/toestemmingen"
    html = client.get(url).get_data(as_text=True)
    assert csrf_from(html)
    assert 'name="categories" value="contactgegevens"' in html  # the form is there
    assert not re.search(r'name="categories" value="bsn"', html)


def test_the_upgrade_names_consents_that_share_the_bsn_and_runs_once_they_are_withdrawn(session, world, actors,
                                                                                         keyring, caplog):
    seed_catalogues(session)
    consent = grant_consent(session, actors["student_account"], keyring, world["student"],
                            grant_data(world, purpose_code="uitkering-en-regelzaken", categories=["contactgegevens"]))
    session.add(ConsentItem(consent_id=consent.id, category=Category.bsn.value))
    session.commit()
    consent_id = consent.id
    session.remove()
    downgrade(revision="b5e0c3a91d24")
    try:
        with pytest.raises(SystemExit):  # flask-migrate: the error logged, exit status 1
            upgrade()
        assert f"active consents {consent_id} name it" in caplog.text, caplog.text
        db.session.remove()
        from consent.models import Consent

        withdraw_consent(db.session, actors["student_account"], keyring, db.session.get(Consent, consent_id))
        db.session.commit()
    finally:
        db.session.remove()
        upgrade()
    heads = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_heads()
    with db.engine.connect() as conn:  # through this migration to the newest
        assert [conn.scalar(text("SELECT version_num FROM alembic_version"))] == heads
