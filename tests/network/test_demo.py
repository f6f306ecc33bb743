"""The demo region: complete, valid, idempotent, and never in production."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import func, select
from stdnum.nl import brin as stdnum_brin
from stdnum.nl import bsn as stdnum_bsn

from network.audit import AuditEvent
from network.clock import utcnow
from network.demo import DEMO_PASSWORD, REGION_CODE, demo_bsns
from network.demo_data import ACCOUNTS, ORGANISATIONS, STUDENTS
from network.models import (
    SCHOOL_STAFF_ROLES,
    Account,
    Membership,
    Organisation,
    OrganisationType,
    Region,
    Role,
    SchoolLevel,
    Student,
)
from network.passwords import make_hasher, password_problems, verify_password


def _seed(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _counts(session) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Region, Organisation, Account, Membership, Student, AuditEvent)}


def test_seed_creates_the_region_and_prints_every_login(app, session):
    output = _seed(app)
    assert "aangemaakt" in output
    assert DEMO_PASSWORD in output
    for spec in ACCOUNTS:
        assert spec.email in output
    assert "schakel demo totp" in output
    counts = _counts(session)
    assert counts["Region"] == 1
    assert counts["Organisation"] == len(ORGANISATIONS)
    assert counts["Account"] == counts["Membership"] == len(ACCOUNTS)
    assert counts["Student"] == len(STUDENTS) >= 12
    assert counts["AuditEvent"] > 0  # created through the services, which audit


def test_seed_twice_changes_nothing(app, session):
    _seed(app)
    before = _counts(session)
    versions = dict(session.execute(select(Account.email, Account.version)).all())
    students = dict(session.execute(select(Student.id, Student.version)).all())
    session.remove()

    output = _seed(app)
    assert "niets veranderd" in output
    assert DEMO_PASSWORD in output  # the logins are printed every time
    assert _counts(session) == before
    assert dict(session.execute(select(Account.email, Account.version)).all()) == versions
    assert dict(session.execute(select(Student.id, Student.version)).all()) == students


def test_organisations_are_complete_and_valid(app, session):
    _seed(app)
    region = session.execute(select(Region).where(Region.code == REGION_CODE)).scalar_one()
    orgs = list(session.scalars(select(Organisation).where(Organisation.region_id == region.id)))
    by_type: dict[OrganisationType, list[Organisation]] = {}
    for org in orgs:
        by_type.setdefault(org.type, []).append(org)
    for needed in (OrganisationType.hub, OrganisationType.gemeente, OrganisationType.uwv, OrganisationType.wsp,
                   OrganisationType.rmc, OrganisationType.sbb, OrganisationType.mee, OrganisationType.zorg):
        assert by_type.get(needed), f"no {needed} in the demo region"
    assert len(by_type[OrganisationType.gemeente]) == 3
    assert len(by_type[OrganisationType.school]) >= 4
    assert all(stdnum_brin.is_valid(school.brin) for school in by_type[OrganisationType.school])
    assert len(by_type[OrganisationType.werkgever]) >= 3
    assert all(org.kvk and len(org.kvk) == 8 and org.kvk.isdigit() for org in by_type[OrganisationType.werkgever])
    levels = {s.level for s in session.scalars(select(Student))}
    assert {SchoolLevel.entree, SchoolLevel.vso, SchoolLevel.pro} <= levels
    # made-up addresses only: nobody gets mail from a demo
    assert all(spec.email.endswith(".example") for spec in ACCOUNTS)
    assert all(org.email is None or org.email.endswith(".example") for org in orgs)


def test_every_role_has_a_demo_login_that_works(app, session):
    _seed(app)
    roles = {m.role for m in session.scalars(select(Membership))}
    assert roles == set(Role)
    assert SCHOOL_STAFF_ROLES <= roles
    partner_orgs = {m.organisation.type for m in session.scalars(
        select(Membership).where(Membership.role == Role.partner_staff))}
    assert {OrganisationType.gemeente, OrganisationType.uwv, OrganisationType.wsp, OrganisationType.rmc} <= partner_orgs
    hasher = make_hasher(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"])
    for spec in ACCOUNTS:
        account = session.execute(select(Account).where(Account.email == spec.email)).scalar_one()
        assert verify_password(hasher, account.password_hash, DEMO_PASSWORD)
        assert not password_problems(DEMO_PASSWORD, min_length=12, email=spec.email, name=spec.name)
    coordinator = session.execute(select(Membership).where(Membership.role == Role.coordinator)).scalar_one()
    assert coordinator.organisation.type is OrganisationType.hub


def test_student_account_is_linked_to_its_student(app, session):
    _seed(app)
    account = session.execute(select(Account).join(Membership).where(Membership.role == Role.student)).scalar_one()
    student = session.execute(select(Student).where(Student.account_id == account.id)).scalar_one()
    assert (student.first_name, student.last_name) == ("Daan", "Willems")
    assert student.school_id == account.memberships[0].organisation_id


def test_bsns_are_valid_and_encrypted(app, session, keyring):
    _seed(app)
    students = list(session.scalars(select(Student)))
    with_bsn = [s for s in students if s.bsn_encrypted]
    assert 0 < len(with_bsn) < len(students)
    for student in with_bsn:
        bsn = student.get_bsn(keyring)
        assert stdnum_bsn.is_valid(bsn)
        assert bsn not in student.bsn_encrypted
    assert len({s.get_bsn(keyring) for s in with_bsn}) == len(with_bsn)
    schools = {s.school_id for s in students}
    assert len(schools) == 4


def test_demo_bsns_pass_the_11_proef():
    bsns = demo_bsns(50)
    assert len(set(bsns)) == 50
    assert all(stdnum_bsn.is_valid(b) for b in bsns)
    assert demo_bsns(5) == demo_bsns(5)  # deterministic


def test_totp_prints_the_code_of_an_enrolled_demo_account(app, session, keyring):
    _seed(app)
    runner = app.test_cli_runner()
    email = next(spec.email for spec in ACCOUNTS if spec.role is Role.hub_admin)

    result = runner.invoke(args=["demo", "totp", email])
    assert result.exit_code != 0 and "authenticator" in result.output

    account = session.execute(select(Account).where(Account.email == email)).scalar_one()
    secret = pyotp.random_base32()
    account.totp_secret_encrypted = keyring.encrypt(secret, account.totp_ref())
    account.totp_enabled_at = utcnow()
    session.commit()
    result = runner.invoke(args=["demo", "totp", email.upper()])
    assert result.exit_code == 0, result.output
    code = result.output.strip()
    assert pyotp.TOTP(secret).verify(code, valid_window=1)


def test_totp_refuses_accounts_outside_the_demo(app, session):
    result = app.test_cli_runner().invoke(args=["demo", "totp", "someone@gemeente.example"])
    assert result.exit_code != 0
    assert "geen demo-account" in result.output


@pytest.mark.parametrize("command", [["demo", "seed"], ["demo", "totp", ACCOUNTS[0].email]])
def test_demo_refuses_in_production(app, session, monkeypatch, command):
    # The app's own setting, not a second production app: create_app binds module-level
    # extensions (talisman) whose options would then leak into the other tests.
    monkeypatch.setitem(app.config, "SCHAKEL_ENV", "production")
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code != 0
    assert "niet voor productie" in result.output
    assert session.scalar(select(func.count()).select_from(Region)) == 0


def test_expected_exit_dates_follow_the_seeding_day(app, session, keyring):
    from network.demo import seed_demo_region

    day = dt.date(2026, 9, 1)
    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=day)
    session.commit()
    exits = [s.expected_exit_date for s in session.scalars(select(Student))]
    assert all(day < exit_date <= dt.date(2028, 1, 1) for exit_date in exits)


def test_seeders_run_after_the_ones_they_build_on_whatever_the_import_order(app, session, monkeypatch):
    """Referrals need the consents (a werkgeversservicepunt has no other basis for Kevin) and the
    routes; the order once hung on which feature package was imported first, and an import sort
    broke ``schakel demo seed``. Registered backwards, the seed still works."""
    from network import demo

    backwards = dict(reversed(list(demo.DEMO_SEEDERS.items())))
    monkeypatch.setattr(demo, "DEMO_SEEDERS", backwards)
    order = [label for label, _ in demo.demo_seeders_in_order()]
    assert order.index("toestemmingen") < order.index("verwijzingen")
    assert order.index("trajecten") < order.index("verwijzingen")
    assert order.index("sociale-kaartregels") < order.index("trajecten")
    assert order.index("toestemmingen") < order.index("overeenkomsten")
    output = _seed(app)
    assert "verwijzingen" in output
