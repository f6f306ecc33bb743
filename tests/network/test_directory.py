"""The directory services: regions, organisations, accounts and memberships."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.accounts import (
    add_membership,
    create_account,
    deactivate_account,
    get_account,
    list_accounts,
    reactivate_account,
)
from network.audit import AuditEvent
from network.directory import (
    clean_identifiers,
    create_organisation,
    create_region,
    get_organisation,
    list_organisations,
    update_organisation,
)
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import Account, Organisation, OrganisationType, Role, WebSession
from network.passwords import make_hasher, verify_password
from network.permissions import system_principal
from tests.factories import OrganisationFactory, RegionFactory, make_member, principal_for

HASHER = make_hasher(1, 1024)


@pytest.fixture
def hub(session):
    region = RegionFactory(code="waalrand", name="Waalrand")
    hub = OrganisationFactory(region=region, type=OrganisationType.hub, name="Schakel Waalrand")
    admin = make_member(Role.hub_admin, hub)
    return principal_for(admin), region, hub


def events(session, event_type):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)).all()


def test_create_region_validates_and_audits(session, hub):
    actor, _, _ = hub
    region = create_region(session, actor, name="Rijk van Nijmegen", code="RvN")
    assert region.code == "rvn"
    with pytest.raises(ValidationFailed) as exc:
        create_region(session, actor, name="rijk van nijmegen", code="rvn")
    assert set(exc.value.errors) == {"name", "code"}
    with pytest.raises(ValidationFailed) as exc:
        create_region(session, actor, name="X", code="met spatie")
    assert "code" in exc.value.errors
    assert len(events(session, "region:create")) == 1


@pytest.mark.parametrize(("type_", "ids", "field"), [
    (OrganisationType.school, {}, "brin"),
    (OrganisationType.school, {"brin": "ABCD"}, "brin"),
    (OrganisationType.gemeente, {"brin": "25LX"}, "brin"),
    (OrganisationType.werkgever, {}, "kvk"),
    (OrganisationType.werkgever, {"kvk": "1234567"}, "kvk"),
    (OrganisationType.uwv, {"oin": "123"}, "oin"),
])
def test_identifier_rules(type_, ids, field):
    _, errors = clean_identifiers(type_, **ids)
    assert field in errors


def test_identifiers_are_normalised():
    cleaned, errors = clean_identifiers(OrganisationType.werkgever, kvk="1234 5678", oin="0000 0000 1234 5678 9000")
    assert not errors and cleaned == {"brin": None, "kvk": "12345678", "oin": "00000000123456789000"}
    cleaned, errors = clean_identifiers(OrganisationType.school, brin="25lx")
    assert not errors and cleaned["brin"] == "25LX"


def test_create_organisation(session, hub):
    actor, region, _ = hub
    school = create_organisation(session, actor, region=region, name="ROC Nijmegen", type="school", brin="25lx",
                                 email="Info@ROC.nl")
    assert school.brin == "25LX" and school.email == "info@roc.nl" and school.type is OrganisationType.school
    with pytest.raises(ValidationFailed) as exc:
        create_organisation(session, actor, region=region, name="roc nijmegen", type="school", brin="25LX")
    assert set(exc.value.errors) == {"name", "brin"}
    other = RegionFactory()
    # the same name is fine in another region
    create_organisation(session, actor, region=other, name="ROC Nijmegen", type="gemeente")
    assert [e.detail for e in events(session, "organisation:create")][0] == '{"region":"waalrand","type":"school"}'


def test_only_hub_admin_or_cli_manages(session, hub):
    _, region, _ = hub
    rmc = OrganisationFactory(region=region, type=OrganisationType.rmc)
    coordinator = principal_for(make_member(Role.coordinator, rmc))
    with pytest.raises(Forbidden):
        create_organisation(session, coordinator, region=region, name="X", type="gemeente")
    organisation = create_organisation(session, system_principal(), region=region, name="X", type="gemeente")
    assert organisation.id


def test_update_organisation(session, hub):
    actor, region, _ = hub
    organisation = OrganisationFactory(region=region, type=OrganisationType.gemeente)
    update_organisation(session, actor, organisation, expected_version=organisation.version, phone="024 123 45 67")
    session.commit()
    assert organisation.version == 2
    with pytest.raises(Conflict):
        update_organisation(session, actor, organisation, expected_version=1, phone="024 000 00 00")
    assert events(session, "organisation:update")[0].detail == '{"fields":["phone"]}'


def test_type_change_must_fit_members(session, hub):
    actor, region, _ = hub
    school = OrganisationFactory(region=region, school=True)
    make_member(Role.mentor, school)
    with pytest.raises(ValidationFailed) as exc:
        update_organisation(session, actor, school, type="gemeente", brin=None)
    assert "type" in exc.value.errors


def test_create_account_and_memberships(session, hub):
    actor, region, _ = hub
    school = OrganisationFactory(region=region, school=True)
    account = create_account(session, actor, email=" Joke@ROC.nl ", name="Joke", password="lange-zin-met-woorden-7",
                             hasher=HASHER)
    assert account.email == "joke@roc.nl"
    assert verify_password(HASHER, account.password_hash, "lange-zin-met-woorden-7")
    with pytest.raises(ValidationFailed) as exc:
        create_account(session, actor, email="JOKE@roc.nl", name="Joke 2")
    assert "email" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        create_account(session, actor, email="b@roc.nl", name="B", password="welkom", hasher=HASHER)
    assert "password" in exc.value.errors
    no_password = create_account(session, actor, email="c@roc.nl", name="C")
    assert no_password.password_hash is None

    add_membership(session, actor, account=account, organisation=school, role=Role.mentor, title="SLB'er")
    with pytest.raises(ValidationFailed) as exc:
        add_membership(session, actor, account=account, organisation=school, role=Role.mentor)
    assert "role" in exc.value.errors
    assert [e.event_type for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "account:create", "account:create", "membership:create"]
    assert "password" not in (session.scalars(select(AuditEvent)).first().detail or "").replace("password_set", "")


@pytest.mark.parametrize(("role", "type_", "fits"), [
    (Role.mentor, OrganisationType.school, True),
    (Role.mentor, OrganisationType.gemeente, False),
    (Role.student, OrganisationType.school, True),
    (Role.student, OrganisationType.uwv, False),
    (Role.partner_staff, OrganisationType.uwv, True),
    (Role.partner_staff, OrganisationType.school, False),
    (Role.partner_staff, OrganisationType.hub, False),
    (Role.coordinator, OrganisationType.hub, True),
    (Role.coordinator, OrganisationType.rmc, True),
    (Role.coordinator, OrganisationType.wsp, False),
    (Role.hub_admin, OrganisationType.hub, True),
    (Role.hub_admin, OrganisationType.gemeente, False),
])
def test_role_fits_organisation_type(session, hub, role, type_, fits):
    actor, region, _ = hub
    organisation = OrganisationFactory(region=region, type=type_, **({"school": True} if type_ == "school" else {}))
    account = create_account(session, actor, email="x@y.nl", name="X")
    if fits:
        assert add_membership(session, actor, account=account, organisation=organisation, role=role).id
    else:
        with pytest.raises(ValidationFailed) as exc:
            add_membership(session, actor, account=account, organisation=organisation, role=role)
        assert "role" in exc.value.errors


def test_deactivate_revokes_sessions(session, hub, app):
    actor, region, _ = hub
    target = make_member(Role.partner_staff, OrganisationFactory(region=region))
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = str(target.id)
    assert session.scalar(select(WebSession).where(WebSession.account_id == target.id))
    deactivate_account(session, actor, target)
    session.commit()
    assert not session.get(Account, target.id).is_active
    assert session.scalar(select(WebSession).where(WebSession.account_id == target.id)) is None
    assert events(session, "account:deactivate")[0].detail == '{"sessions_ended":1}'
    reactivate_account(session, actor, target)
    assert target.is_active
    with pytest.raises(ValidationFailed):
        deactivate_account(session, actor, session.get(Account, actor.account_id))


def test_lists_respect_tenant_walls(session, hub):
    admin, region, hub_org = hub
    other_region = RegionFactory()
    own = OrganisationFactory(region=region, name="Gemeente Nijmegen")
    foreign = OrganisationFactory(region=other_region, name="Gemeente Elders")
    coordinator_account = make_member(Role.coordinator, hub_org, name="Coördinator")
    coordinator = principal_for(coordinator_account)
    own_member = make_member(Role.partner_staff, own, name="Binnen")
    foreign_member = make_member(Role.partner_staff, foreign, name="Buiten")

    assert {o.id for o in list_organisations(session, coordinator)} == {hub_org.id, own.id}
    assert {o.id for o in list_organisations(session, admin)} >= {hub_org.id, own.id, foreign.id}
    assert {a.id for a in list_accounts(session, coordinator).items} == {
        admin.account_id, coordinator_account.id, own_member.id}
    assert list_accounts(session, admin).total == 4
    assert [a.name for a in list_accounts(session, admin, q="buit").items] == ["Buiten"]

    assert get_organisation(session, coordinator, own.id) is own
    with pytest.raises(NotFound):
        get_organisation(session, coordinator, foreign.id)
    assert get_account(session, coordinator, own_member.id).id == own_member.id
    with pytest.raises(NotFound):
        get_account(session, coordinator, foreign_member.id)
    assert get_account(session, admin, foreign_member.id)
    with pytest.raises(Forbidden):
        list_accounts(session, principal_for(own_member))


def _recorder(statements: list[str]):
    """A ``before_cursor_execute`` listener that appends each statement to ``statements``."""

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    return listener


def test_list_accounts_uses_fixed_number_of_queries(session, hub, app):
    from sqlalchemy import event

    from network.db import db

    admin, region, _ = hub
    organisation = OrganisationFactory(region=region)
    for _ in range(12):
        make_member(Role.partner_staff, organisation)
    counts = []
    for per_page in (3, 12):
        statements: list[str] = []
        listener = _recorder(statements)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            session.expire_all()
            page = list_accounts(session, admin, per_page=per_page)
            for account in page.items:
                [m.organisation.name for m in account.memberships]
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_cli_creates_organisation_and_account(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["org", "create", "ROC Nijmegen", "--type", "school", "--brin", "25LX",
                                 "--region", "waalrand", "--region-name", "Waalrand"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["org", "create", "ROC Twee", "--type", "school", "--brin", "25LX",
                                 "--region", "waalrand"])
    assert result.exit_code != 0 and "brin" in result.output
    school = session.scalar(select(Organisation).where(Organisation.brin == "25LX"))
    result = runner.invoke(args=["account", "create", "Mentor@ROC.nl", "--name", "Mentor", "--org", str(school.id),
                                 "--role", "mentor"])
    assert result.exit_code == 0, result.output
    account = session.scalar(select(Account).where(Account.email == "mentor@roc.nl"))
    assert [m.role for m in account.memberships] == [Role.mentor]
    result = runner.invoke(args=["account", "create", "x@roc.nl", "--name", "X", "--org", str(school.id),
                                 "--role", "hub_admin"])
    assert result.exit_code != 0 and "role" in result.output
    assert session.scalar(select(Account).where(Account.email == "x@roc.nl")) is None
    assert {e.channel for e in session.scalars(select(AuditEvent))} == {"cli"}
