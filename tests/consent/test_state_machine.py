"""A hypothesis state machine over grant / withdraw / expire / read.

Invariants: no read ever succeeds without a basis (what is allowed is exactly what the active,
valid consents cover); a withdrawn or expired consent denies on the very next read; every
decision leaves exactly one audit event.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from consent.catalogue import seed_catalogues
from consent.lifecycle import expire_consents
from consent.models import Consent
from consent.service import grant_consent, withdraw_consent
from network import clock
from network.access import Category
from network.audit import AuditEvent
from network.db import db
from network.errors import ValidationFailed
from network.models import OrganisationType, Role
from tests.conftest import truncate_all
from tests.consent.conftest import born_years_ago
from tests.factories import (
    OrganisationFactory,
    RegionFactory,
    StudentFactory,
    make_member,
    principal_for,
)

C = Category
PURPOSES = ("jobcoaching", "stagebegeleiding")
CATEGORIES = (C.contact, C.education, C.support)
categories = st.sets(st.sampled_from(CATEGORIES), min_size=1)


def test_consent_state_machine(app):
    class ConsentMachine(RuleBasedStateMachine):
        @initialize()
        def world(self):
            truncate_all(app)
            self.ctx = app.app_context()
            self.ctx.push()
            self.session = db.session
            self.keyring = app.extensions["schakel.keyring"]
            seed_catalogues(self.session)
            self.session.commit()
            region, far = RegionFactory(), RegionFactory()
            school = OrganisationFactory(region=region, school=True)
            gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente)
            elsewhere = OrganisationFactory(region=far, type=OrganisationType.gemeente)
            me = make_member(Role.student, school)
            self.student = StudentFactory(school=school, account_id=me.id, date_of_birth=born_years_ago(17))
            self.gemeente_id = gemeente.id
            self.me = principal_for(me)
            self.partner = principal_for(make_member(Role.partner_staff, gemeente))
            self.outsider = principal_for(make_member(Role.partner_staff, elsewhere))
            #: purpose -> (consent id, categories) of the active consents
            self.active: dict[str, tuple[int, frozenset[Category]]] = {}

        def teardown(self):
            if hasattr(self, "ctx"):
                db.session.remove()
                self.ctx.pop()

        @rule(purpose=st.sampled_from(PURPOSES), cats=categories)
        def grant(self, purpose, cats):
            data = {"recipient_id": self.gemeente_id, "purpose_code": purpose, "categories": [c.value for c in cats],
                    "explicit": [C.support.value] if C.support in cats else []}
            try:
                consent = grant_consent(self.session, self.me, self.keyring, self.student, data)
            except ValidationFailed as exc:
                self.session.rollback()
                assert purpose in self.active, exc.errors  # only a duplicate is refused here
                return
            assert purpose not in self.active
            self.session.commit()
            self.active[purpose] = (consent.id, frozenset(cats))

        @rule(purpose=st.sampled_from(PURPOSES))
        def withdraw(self, purpose):
            if purpose not in self.active:
                return
            consent_id, cats = self.active.pop(purpose)
            withdraw_consent(self.session, self.me, self.keyring, self.session.get(Consent, consent_id))
            self.session.commit()
            self._read(self.partner, purpose, cats)  # the very next read is denied

        @rule(purpose=st.sampled_from(PURPOSES))
        def expire(self, purpose):
            if purpose not in self.active:
                return
            consent_id, cats = self.active.pop(purpose)
            consent = self.session.get(Consent, consent_id)
            consent.valid_from = clock.today() - dt.timedelta(days=2)
            consent.valid_until = clock.today() - dt.timedelta(days=1)
            self.session.commit()
            assert expire_consents(self.session) == 1
            self.session.commit()
            self._read(self.partner, purpose, cats)

        @rule(purpose=st.sampled_from(PURPOSES), cats=categories, outsider=st.booleans())
        def read(self, purpose, cats, outsider):
            self._read(self.outsider if outsider else self.partner, purpose, frozenset(cats))

        def _read(self, principal, purpose, cats):
            before = self.session.scalar(select(func.count()).select_from(AuditEvent))
            decision = db_decide(self.session, principal, self.student, purpose, cats)
            self.session.commit()
            after = self.session.scalar(select(func.count()).select_from(AuditEvent))
            assert after == before + 1
            if principal is self.outsider or purpose not in self.active:
                assert decision.allowed == frozenset()
                return
            consent_id, granted = self.active[purpose]
            assert decision.allowed == granted & cats
            if decision.allowed:
                assert decision.basis_label == f"consent:{consent_id}"

    run_state_machine_as_test(ConsentMachine, settings=settings(
        max_examples=30, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


def db_decide(session, principal, student, purpose, cats):
    from network.access import decide

    return decide(session, principal, student, purpose, cats)
