"""Legal tasks with the law's scope (issue 18, item 4). The RMC's task covers young people who
left school (an exit recorded, or reported as voortijdig schoolverlater) without a
startkwalificatie and under 23, PrO and VSO pupils after their exit, and the route follow-up
the region configured; UWV's covers students with an open doelgroepregister matter (a referral
or a route step). Outside that the decision is "no basis", audited as a denial; each region
sets the parts as data; the statement count of a list stays fixed; the upgrade keeps the rows."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, func, select, text

from consent.models import LegalTask, LegalTaskCategory, RegionTaskScope, RouteFollowup
from consent.task_scopes import update_region_settings
from network import access, clock
from network.access import Category, bases_for_organisation, decide, decide_many
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.errors import ValidationFailed
from network.models import OrganisationType, Role, SchoolLevel, Student
from referrals import wizard_service as ws
from referrals.checkins import record_exit
from referrals.models import CheckIn, Referral, Route, RoutePhaseDate
from referrals.route_service import open_route, update_route
from referrals.states import ReferralStatus as S
from referrals.states import ReferralType
from referrals.transitions import transition
from tests.conftest import post_form
from tests.factories import (
    OrganisationFactory,
    StudentFactory,
    bearer,
    get_token,
    login,
    make_api_client,
    make_member,
    principal_for,
)
from tests.referrals.conftest import born_years_ago, signup
from tests.socialmap.conftest import add_service

RMC = "rmc-nazorg"
DGR = "doelgroepregister-aanvraag"
RMC_CATS = [Category.contact, Category.education]
UWV_CATS = [Category.contact, Category.bsn]


@pytest.fixture
def uwv(rworld):
    organisation = OrganisationFactory(region=rworld["region"], type=OrganisationType.uwv, name="UWV Testrand")
    staff = make_member(Role.partner_staff, organisation, name="Arbeidsdeskundige Kok")
    return {"org": organisation, "staff": principal_for(staff),
            "service": add_service(organisation, "Beoordeling doelgroepregister")}


def _leave(session, ractors, student, *, days_ago: int = 30, startkwalificatie: bool | None = None):
    """The school records the exit on the student's route (opened first), through the services."""
    route = session.scalar(select(Route).where(Route.student_id == student.id))
    if route is None:
        exit_day = clock.today() - dt.timedelta(days=days_ago)
        route = open_route(session, ractors["mentor"], student, {"expected_exit_date": exit_day,
                                                                 "start_date": exit_day - dt.timedelta(days=300)})
    record_exit(session, ractors["mentor"], route, clock.today() - dt.timedelta(days=days_ago),
                startkwalificatie=startkwalificatie)
    session.commit()
    return route


def _last_decision(session, purpose):
    return session.scalars(select(AuditEvent).where(AuditEvent.purpose == purpose, AuditEvent.object_type == "student")
                           .order_by(AuditEvent.id.desc())).first()


def _rmc(session, ractors, student):
    decision = decide(session, ractors["rmc_staff"], student, RMC, RMC_CATS)
    session.commit()
    return decision


# -- the RMC -------------------------------------------------------------------------------------

def test_the_rmc_has_no_basis_for_a_pupil_still_at_school_and_the_denial_is_audited(session, rworld, ractors):
    """The issue's case: a current pupil with no route, no exit and no referral."""
    decision = _rmc(session, ractors, rworld["student"])
    assert decision.allowed == frozenset() and decision.bases == ()
    audited = _last_decision(session, RMC)
    assert audited.outcome is AuditOutcome.denied and audited.basis is None
    assert audited.student_id == str(rworld["student"].id) and audited.organisation_id == rworld["rmc"].id
    assert not bases_for_organisation(session, rworld["rmc"], rworld["student"], RMC, RMC_CATS).allowed


@pytest.mark.parametrize(("startkwalificatie", "covered"), [(False, True), (None, True), (True, False)])
def test_the_rmc_reads_a_leaver_not_known_to_have_a_startkwalificatie(session, rworld, ractors, startkwalificatie,
                                                                      covered):
    _leave(session, ractors, rworld["student"], startkwalificatie=startkwalificatie)
    decision = _rmc(session, ractors, rworld["student"])
    assert (decision.allowed == set(RMC_CATS)) is covered
    assert decision.basis_label == ("legal_task:rmc-nazorg" if covered else None)
    assert _last_decision(session, RMC).outcome is (AuditOutcome.success if covered else AuditOutcome.denied)


def test_an_exit_not_yet_reached_is_no_exit(session, rworld, ractors):
    route = _leave(session, ractors, rworld["student"])
    route.exit_date = clock.today() + dt.timedelta(days=10)  # as a correction of the date could leave it
    session.commit()
    assert not _rmc(session, ractors, rworld["student"]).allowed


def test_the_age_limit_is_the_regions(session, rworld, ractors):
    older = StudentFactory(school=rworld["school"], date_of_birth=born_years_ago(24), level=SchoolLevel.mbo2)
    _leave(session, ractors, older)
    assert not _rmc(session, ractors, older).allowed  # the law: under 23
    admin = principal_for(make_member(Role.hub_admin, rworld["hub"]))
    update_region_settings(session, admin, rworld["region"], {
        "rmc_leavers": True, "rmc_max_age": 25, "rmc_pro_vso": True, "rmc_route_followup": "rmc",
        "uwv_open_referrals": True, "uwv_route_steps": True})
    session.commit()
    assert _rmc(session, ractors, older).allowed == set(RMC_CATS)
    [changed] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:task-scope-update")).all()
    assert changed.object_id == str(rworld["region"].id) and '"rmc_max_age":25' in changed.detail


def test_a_report_to_the_rmc_opens_its_task_and_a_cancelled_one_closes_it(session, keyring, rworld, ractors):
    """The sign-up form's kind "RMC" is the report of a voortijdig schoolverlater: the school can
    send it (the draft counts, so the RMC has a basis for what it shares), and a report taken
    back reports nothing."""
    service = add_service(rworld["rmc"], "Nazorg schoolverlaters")
    student = rworld["student"]
    referral = ws.save_draft(session, ractors["mentor"], keyring, student, {
        "service_id": service.id, "purpose": RMC, "type": "rmc", "categories": ["contactgegevens", "opleiding"],
        "details": signup(reason="Sanne stopt met de opleiding zonder diploma.")})
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    session.commit()
    assert _rmc(session, ractors, student).allowed == set(RMC_CATS)
    transition(session, ractors["mentor"], keyring, referral, S.cancelled, reason="Toch niet gestopt")
    session.commit()
    assert not _rmc(session, ractors, student).allowed


def test_a_referral_to_the_rmc_of_another_kind_is_no_report(session, keyring, rworld, ractors):
    service = add_service(rworld["rmc"], "Nazorg schoolverlaters")
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], {
        "service_id": service.id, "purpose": RMC, "type": "transitieroute",
        "categories": ["contactgegevens", "opleiding"], "details": signup()})
    with pytest.raises(ValidationFailed) as refused:
        ws.send_referral(session, ractors["mentor"], keyring, referral)
    assert "geen grondslag" in refused.value.errors["categories"][0]


@pytest.mark.parametrize("level", [SchoolLevel.pro, SchoolLevel.vso])
def test_pro_and_vso_pupils_after_their_exit_whatever_their_age(session, rworld, ractors, level):
    pupil = StudentFactory(school=rworld["school"], date_of_birth=born_years_ago(26), level=level)
    assert not _rmc(session, ractors, pupil).allowed  # still at school
    _leave(session, ractors, pupil, startkwalificatie=True)
    assert _rmc(session, ractors, pupil).allowed == set(RMC_CATS)


def test_the_route_follow_up_the_region_configured(session, rworld, ractors):
    """Graduates (a startkwalificatie) are outside the law's first group; the region decides
    which routes in follow-up the RMC still follows: by default those with two years of RMC
    follow-up (entree), or all, or none."""
    entree = StudentFactory(school=rworld["school"], date_of_birth=born_years_ago(24), level=SchoolLevel.entree)
    mbo3 = StudentFactory(school=rworld["school"], date_of_birth=born_years_ago(20), level=SchoolLevel.mbo3)
    assert _leave(session, ractors, entree, startkwalificatie=True).followup_months == 24
    assert _leave(session, ractors, mbo3, startkwalificatie=True).followup_months == 12
    admin = principal_for(make_member(Role.hub_admin, rworld["hub"]))
    seen = {}
    for followup in ("rmc", "all", "none"):
        update_region_settings(session, admin, rworld["region"], {
            "rmc_leavers": True, "rmc_max_age": 23, "rmc_pro_vso": True, "rmc_route_followup": followup,
            "uwv_open_referrals": True, "uwv_route_steps": True})
        session.commit()
        decisions = decide_many(session, ractors["rmc_staff"], [entree, mbo3], RMC, RMC_CATS)
        session.commit()
        seen[followup] = {s.level.value for s in (entree, mbo3) if decisions[s.id].allowed}
    assert seen == {"rmc": {"entree"}, "all": {"entree", "mbo3"}, "none": set()}


def test_a_long_term_the_region_sets_does_not_widen_the_rmcs_task(session, rworld, ractors):
    """RMC follow-up is an entree route's or one with an RMC or School-ex referral; a region that
    follows its mbo leavers for two years does not thereby put them under the RMC's task."""
    from referrals.followup_terms import set_region_term

    coordinator = principal_for(make_member(Role.coordinator, rworld["hub"]))
    set_region_term(session, coordinator, rworld["region"].id, "mbo3", "24")
    session.commit()
    mbo3 = StudentFactory(school=rworld["school"], date_of_birth=born_years_ago(20), level=SchoolLevel.mbo3)
    assert _leave(session, ractors, mbo3, startkwalificatie=True).followup_months == 24
    assert not _rmc(session, ractors, mbo3).allowed  # region default: RMC follow-up routes only
    session.add(Referral(student_id=mbo3.id, from_organisation_id=rworld["school"].id,
                         to_organisation_id=rworld["rmc"].id, service_id=add_service(rworld["rmc"], "Nazorg").id,
                         purpose="rmc-nazorg", type=ReferralType.rmc, status=S.requested, from_name="Mentor"))
    session.commit()
    assert _rmc(session, ractors, mbo3).allowed


def test_a_region_can_switch_the_leavers_off(session, rworld, ractors):
    _leave(session, ractors, rworld["student"])
    admin = principal_for(make_member(Role.hub_admin, rworld["hub"]))
    update_region_settings(session, admin, rworld["region"], {
        "rmc_leavers": False, "rmc_max_age": 23, "rmc_pro_vso": True, "rmc_route_followup": "rmc",
        "uwv_open_referrals": True, "uwv_route_steps": True})
    session.commit()
    assert not _rmc(session, ractors, rworld["student"]).allowed


def test_the_rmcs_api_client_reads_only_students_in_scope(client, session, rworld, ractors, app, monkeypatch):
    """The issue's case through the API: purpose=rmc-nazorg no longer opens any student."""
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    api_client, secret = make_api_client(rworld["rmc"], ["students:read"], name="RMC-systeem")
    session.commit()
    headers = bearer(get_token(client, api_client, secret))
    url = f"/api/v1/students/{rworld['student'].id}?purpose={RMC}"
    assert client.get(url, headers=headers).status_code == 404  # no basis: as if not there
    assert _last_decision(session, RMC).outcome is AuditOutcome.denied
    _leave(session, ractors, rworld["student"])
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.get_json()["access"][0]["basis"] == "legal_task:rmc-nazorg"


# -- UWV -----------------------------------------------------------------------------------------

def _uwv(session, uwv, student):
    decision = decide(session, uwv["staff"], student, DGR, UWV_CATS)
    session.commit()
    return decision


def test_uwv_has_no_basis_without_an_open_doelgroepregister_matter(session, rworld, uwv):
    decision = _uwv(session, uwv, rworld["student"])
    assert decision.allowed == frozenset()
    audited = _last_decision(session, DGR)
    assert audited.outcome is AuditOutcome.denied and audited.basis is None


def test_an_open_referral_for_the_doelgroepregister_opens_uwvs_task_until_it_closes(session, keyring, rworld,
                                                                                     ractors, uwv):
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], {
        "service_id": uwv["service"].id, "purpose": DGR, "type": "transitieroute",
        "categories": ["contactgegevens", "bsn"], "details": signup(reason="Aanvraag doelgroepregister.")})
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    session.commit()
    decision = _uwv(session, uwv, rworld["student"])
    assert decision.allowed == set(UWV_CATS) and decision.basis_label == "legal_task:uwv-doelgroepregister"
    transition(session, uwv["staff"], keyring, referral, S.rejected, reason="Geen indicatie nodig")
    session.commit()
    assert not _uwv(session, uwv, rworld["student"]).allowed


def test_a_running_doelgroepregister_step_on_the_route_opens_uwvs_task(session, rworld, ractors, uwv):
    student = rworld["student"]
    route = open_route(session, ractors["mentor"], student, {})
    session.commit()
    assert not _uwv(session, uwv, student).allowed
    assert update_route(session, ractors["mentor"], route, {"doelgroepregister_open": True}) == [
        "doelgroepregister_open"]
    session.commit()
    assert _uwv(session, uwv, student).allowed == set(UWV_CATS)
    admin = principal_for(make_member(Role.hub_admin, rworld["hub"]))
    update_region_settings(session, admin, rworld["region"], {
        "rmc_leavers": True, "rmc_max_age": 23, "rmc_pro_vso": True, "rmc_route_followup": "rmc",
        "uwv_open_referrals": True, "uwv_route_steps": False})
    session.commit()
    assert not _uwv(session, uwv, student).allowed  # the region counts only referrals


def test_the_route_page_sets_the_step_and_the_exit_records_the_startkwalificatie(client, session, rworld,
                                                                                  ractors):
    route = open_route(session, ractors["mentor"], rworld["student"], {})
    session.commit()
    login(client, rworld["mentor"])
    page = f"/trajecten/{route.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'name="doelgroepregister_open"' in html
    assert 'name="startkwalificatie" value="nee"' in client.get(f"{page}/uitstroom").get_data(as_text=True)
    form = {"phase": route.phase.value, "responsible_account_id": str(route.responsible_account_id),
            "expected_exit_date": route.expected_exit_date.isoformat(), "doelgroepregister_open": "true",
            "version": str(route.version)}
    assert post_form(client, page, form, post_url=f"{page}/bewerken").status_code == 302
    exit_form = {"exit_date": clock.today().isoformat(), "way_out": "diploma",
                 "destination": "werk_zonder_ondersteuning"}
    response = post_form(client, f"{page}/uitstroom", {**exit_form, "startkwalificatie": "misschien"})
    assert response.status_code == 400 and "Kies of de leerling een startkwalificatie heeft." in response.get_data(
        as_text=True)
    response = post_form(client, f"{page}/uitstroom", {**exit_form, "startkwalificatie": "nee"})
    assert response.status_code == 302
    db.session.expire_all()
    route = session.get(Route, route.id)
    assert route.doelgroepregister_open is True and route.startkwalificatie is False and route.exit_date


# -- the hub admin: the settings are data; impossible ones are refused ------------------------------

@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"rmc_max_age": "40"}, "rmc_max_age", "Kies een leeftijd van 16 tot en met 30 jaar"),
    ({"rmc_max_age": "drieëntwintig"}, "rmc_max_age", "Vul een heel getal in."),
    ({"rmc_leavers": None, "rmc_pro_vso": None, "rmc_route_followup": "none"}, "rmc_leavers",
     "Zo valt geen enkele jongere onder de wettelijke taak van het RMC"),
    ({"uwv_open_referrals": None, "uwv_route_steps": None}, "uwv_open_referrals",
     "Zo valt geen enkele leerling onder de wettelijke taak van UWV"),
    ({"rmc_route_followup": "iedereen"}, "rmc_route_followup", "Kies welke trajecten in de nazorg"),
])
def test_admin_page_refuses_impossible_settings_in_dutch_and_saves_nothing(client, session, rworld, changes, field,
                                                                          message):
    login(client, make_member(Role.hub_admin, rworld["hub"]))
    url = f"/beheer/grondslagen/reikwijdte/{rworld['region'].id}"
    form = {"rmc_leavers": "true", "rmc_max_age": "23", "rmc_pro_vso": "true", "rmc_route_followup": "rmc",
            "uwv_open_referrals": "true", "uwv_route_steps": "true", **changes}
    response = post_form(client, url, {k: v for k, v in form.items() if v is not None})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and html.count(message) == 2, html  # the summary and the field
    assert f'href="#f-{field}"' in html
    if field == "rmc_max_age":
        assert f'value="{changes["rmc_max_age"]}"' in html  # the input is kept
    assert session.scalar(select(func.count()).select_from(RegionTaskScope)) == 0
    assert not session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:task-scope-update")).all()


def test_admin_sees_the_defaults_and_saves_a_regions_settings(client, session, rworld):
    login(client, make_member(Role.hub_admin, rworld["hub"]))
    html = client.get("/beheer/grondslagen/reikwijdte").get_data(as_text=True)
    assert rworld["region"].name in html and "tot 23 jaar" in html
    url = f"/beheer/grondslagen/reikwijdte/{rworld['region'].id}"
    form = client.get(url).get_data(as_text=True)
    assert 'id="f-rmc_leavers" name="rmc_leavers" value="true" checked' in form and 'value="23"' in form
    response = post_form(client, url, {"rmc_leavers": "true", "rmc_max_age": "21", "rmc_route_followup": "all",
                                       "uwv_route_steps": "true"})
    assert response.status_code == 302
    row = session.get(RegionTaskScope, rworld["region"].id)
    assert (row.rmc_max_age, row.rmc_pro_vso, row.rmc_route_followup, row.uwv_open_referrals) == (
        21, False, RouteFollowup.all, False)


def test_the_legal_task_form_names_its_scope(client, session, rworld):
    login(client, make_member(Role.hub_admin, rworld["hub"]))
    task = session.scalar(select(LegalTask).where(LegalTask.code == "rmc-nazorg"))
    html = client.get(f"/beheer/grondslagen/wettelijke-taken/{task.id}").get_data(as_text=True)
    assert '<option value="rmc" selected>' in html
    catalogue = client.get("/beheer/grondslagen").get_data(as_text=True)
    assert "Schoolverlaters zonder startkwalificatie" in catalogue


# -- fixed statements, fail closed -----------------------------------------------------------------

def test_the_rmcs_list_costs_the_same_statements_for_5_or_50_students(session, rworld, ractors):
    students = [StudentFactory(school=rworld["school"], date_of_birth=born_years_ago(19)) for _ in range(50)]
    session.commit()
    for student in students[::3]:  # a third of them left school
        _leave(session, ractors, student)
    ids = [s.id for s in students]
    counts = []
    statements: list[str] = []

    def listener(*args):
        statements.append(args[2])

    for size in (5, 50):
        # loaded as a list page loads them (one query, before the decision)
        loaded = {s.id: s for s in session.scalars(select(Student).where(Student.id.in_(ids[:size])))}
        page = [loaded[i] for i in ids[:size]]
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            decisions = decide_many(session, ractors["rmc_staff"], page, RMC, RMC_CATS)
            session.flush()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        session.commit()
        assert {s.id for s in page if decisions[s.id].allowed} == set(ids[:size:3])
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 5, counts  # consents, legal tasks, regions, the scope, the audit insert


def test_a_failing_scope_check_denies_and_is_audited_as_a_failure(session, rworld, ractors, monkeypatch):
    _leave(session, ractors, rworld["student"])

    def broken(session, students):
        raise RuntimeError("routes unreadable")

    monkeypatch.setitem(access._scopes, "rmc", broken)
    assert not _rmc(session, ractors, rworld["student"]).allowed
    assert _last_decision(session, RMC).outcome is AuditOutcome.failure
    listed = decide_many(session, ractors["rmc_staff"], [rworld["student"]], RMC, RMC_CATS)
    session.commit()
    assert not listed[rworld["student"].id].allowed
    assert _last_decision(session, RMC).outcome is AuditOutcome.failure
    monkeypatch.delitem(access._scopes, "rmc")  # nobody checks the scope: no basis either
    assert not _rmc(session, ractors, rworld["student"]).allowed


# -- the upgrade keeps every row -------------------------------------------------------------------

def test_the_upgrade_adds_the_scopes_and_keeps_every_row(session, rworld, ractors):
    """On SQLite a copy-and-move change of consent_legal_task or referral_route would delete the
    rows that refer to them ON DELETE CASCADE; the columns are added in place instead."""
    route_id = _leave(session, ractors, rworld["student"]).id

    def counts():
        return (session.scalar(select(func.count()).select_from(LegalTaskCategory)),
                session.scalar(select(func.count()).select_from(RoutePhaseDate)),
                session.scalar(select(func.count(CheckIn.id))))

    before = counts()
    assert all(before), before
    session.remove()
    downgrade(revision="7d3a5c2e8b41")
    try:
        with db.engine.connect() as conn:
            assert "scope" not in {c["name"] for c in db.inspect(conn).get_columns("consent_legal_task")}
    finally:
        db.session.remove()
        upgrade()
    assert counts() == before
    scopes = dict(session.execute(select(LegalTask.code, LegalTask.scope)).all())
    assert {code: str(scope) for code, scope in scopes.items()} == {"rmc-nazorg": "rmc",
                                                                    "uwv-doelgroepregister": "uwv"}
    fresh = session.get(Route, route_id)
    assert fresh.doelgroepregister_open is False and fresh.startkwalificatie is None  # not known before
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM referral_route WHERE doelgroepregister_open IS NULL")) == 0


def test_the_schools_basis_table_says_whether_the_rmcs_task_covers_the_student_now(client, session, rworld,
                                                                                    ractors):
    login(client, rworld["mentor"])
    page = f"/leerlingen/{rworld['student'].id}/toestemmingen"
    assert "RMC-nazorg van schoolverlaters: geldt nu niet voor deze leerling" in client.get(page).get_data(
        as_text=True)
    _leave(session, ractors, rworld["student"])
    html = client.get(page).get_data(as_text=True)
    assert "RMC-nazorg van schoolverlaters" in html and "geldt nu niet" not in html
