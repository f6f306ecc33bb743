"""The instruments of the move into work on a route (issue 20, item 4), service level: recording
with its rules, who reads which (the school all; a gemeente its own on a consent; UWV its own on
its legal task), the denials, the timeline, and the region's counts with small cells suppressed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from consent.service import grant_consent
from network import clock
from network.audit import AuditEvent, AuditOutcome
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import OrganisationType, Role, SchoolLevel
from referrals.checkins import record_exit
from referrals.instruments import instrument_access, instrument_note, record_instrument, route_instruments
from referrals.instruments_dashboard import SUPPRESSED, instrument_table
from referrals.instruments_models import Funder, Instrument, InstrumentKind, RegisterStatus
from referrals.models import RouteStatus
from referrals.route_service import open_route, update_route
from referrals.route_timeline import timeline
from tests.factories import OrganisationFactory, StudentFactory, make_member, principal_for

K = InstrumentKind


@pytest.fixture
def uwv(rworld):
    organisation = OrganisationFactory(region=rworld["region"], type=OrganisationType.uwv, name="UWV Testrand")
    return {"org": organisation, "staff": principal_for(make_member(Role.partner_staff, organisation,
                                                                    name="Arbeidsdeskundige Kok"))}


@pytest.fixture
def route(session, rworld, ractors):
    made = open_route(session, ractors["mentor"], rworld["student"], {})
    session.commit()
    return made


def _data(rworld, **overrides):
    data = {"kind": "jobcoach", "funder": "gemeente", "hours_per_week": 6, "start_date": clock.today(),
            "end_date": None, "arranged_by_organisation_id": rworld["gemeente"].id,
            "arranged_by_name": "Jobcoach Bakker", "evidence": "Beschikking JC-2026-1",
            "note": "Start in de logistiek."}
    data.update(overrides)
    return data


def _school_records(session, ractors, keyring, route, rworld, **overrides):
    access = instrument_access(session, ractors["mentor"], route.id)
    made = record_instrument(session, ractors["mentor"], keyring, access, _data(rworld, **overrides))
    session.commit()
    return made


def _consent_to_gemeente(session, keyring, rworld, categories=("contactgegevens", "school-naar-werk-plan")):
    grant_consent(session, principal_for(rworld["student_account"]), keyring, rworld["student"], {
        "recipient_id": rworld["gemeente"].id, "purpose_code": "begeleiding-naar-werk",
        "categories": list(categories), "explicit": []})
    session.commit()


def _count(session) -> int:
    return session.scalar(select(func.count(Instrument.id)))


def _last_audit(session, event_type):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                           .order_by(AuditEvent.id.desc())).first()


# -- recording ---------------------------------------------------------------------------------

def test_the_school_records_a_jobcoach_with_its_hours_and_the_note_encrypted(session, keyring, rworld, ractors,
                                                                            route):
    made = _school_records(session, ractors, keyring, route, rworld)
    assert made.kind is K.jobcoach and made.funder is Funder.gemeente and made.hours_per_week == 6
    assert made.register_status is None and made.recorded_by_name == "Mentor Jansen"
    assert "logistiek" not in (made.note_encrypted or "") and instrument_note(keyring, made) == "Start in de logistiek."
    audited = _last_audit(session, "instrument:record")
    assert audited.object_id == str(made.id) and audited.basis == "legal_task:onderwijstaak"
    assert json.loads(audited.detail)["kind"] == "jobcoach"


def test_fields_of_another_kind_are_not_kept(session, keyring, rworld, ractors, route):
    made = _school_records(session, ractors, keyring, route, rworld, kind="loonkostensubsidie",
                           register_status="geindiceerd")
    assert made.funder is None and made.hours_per_week is None and made.register_status is None


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"end_date": dt.date(2026, 1, 1), "start_date": dt.date(2026, 2, 1)}, "end_date", "vóór de startdatum"),
    ({"kind": "uitkering"}, "kind", "uit de lijst"),
    ({"hours_per_week": 0}, "hours_per_week", "van 1 tot en met 40"),
    ({"hours_per_week": 41}, "hours_per_week", "van 1 tot en met 40"),
    ({"hours_per_week": None}, "hours_per_week", "per week"),
    ({"funder": None}, "funder", "UWV of de gemeente"),
    ({"funder": "zorgverzekeraar"}, "funder", "betaalt"),
    ({"kind": "loonkostensubsidie", "evidence": None}, "evidence", "besluit"),
    ({"kind": "doelgroepregister", "register_status": None}, "register_status", "status"),
    ({"arranged_by_name": None}, "arranged_by_name", "geregeld"),
])
def test_bad_input_gets_a_dutch_field_error_and_nothing_is_written(session, keyring, rworld, ractors, route,
                                                                    overrides, field, words):
    access = instrument_access(session, ractors["mentor"], route.id)
    with pytest.raises(ValidationFailed) as refused:
        record_instrument(session, ractors["mentor"], keyring, access, _data(rworld, **overrides))
    assert words in " ".join(str(m) for m in refused.value.errors[field])
    session.rollback()
    assert _count(session) == 0


def test_an_organisation_of_another_region_did_not_arrange_it(session, keyring, rworld, ractors, route):
    access = instrument_access(session, ractors["mentor"], route.id)
    with pytest.raises(ValidationFailed) as refused:
        record_instrument(session, ractors["mentor"], keyring, access,
                          _data(rworld, arranged_by_organisation_id=rworld["far_gemeente"].id))
    assert "organisatie uit de regio" in str(refused.value.errors["arranged_by_organisation_id"][0])


def test_pro_and_vso_pupils_are_in_the_register_by_law_mbo_students_need_uwvs_decision(session, keyring, rworld,
                                                                                      ractors, route):
    register = {"kind": "doelgroepregister", "register_status": "geindiceerd", "evidence": None}
    access = instrument_access(session, ractors["mentor"], route.id)
    with pytest.raises(ValidationFailed) as refused:  # Sanne is an mbo student
        record_instrument(session, ractors["mentor"], keyring, access, _data(rworld, **register))
    assert "besluit" in str(refused.value.errors["evidence"][0])
    session.rollback()
    pupil = StudentFactory(school=rworld["school"], level=SchoolLevel.pro,
                           expected_exit_date=clock.today() + dt.timedelta(days=90))
    pro_route = open_route(session, ractors["mentor"], pupil, {})
    access = instrument_access(session, ractors["mentor"], pro_route.id)
    made = record_instrument(session, ractors["mentor"], keyring, access, _data(rworld, **register))
    assert made.register_status is RegisterStatus.geindiceerd and made.evidence is None
    # a request needs no decision yet
    access = instrument_access(session, ractors["mentor"], route.id)
    assert record_instrument(session, ractors["mentor"], keyring, access,
                             _data(rworld, kind="doelgroepregister", register_status="aangevraagd", evidence=None))


def test_a_closed_route_takes_no_instrument(session, keyring, rworld, ractors, route):
    route.status = RouteStatus.closed
    session.commit()
    access = instrument_access(session, ractors["mentor"], route.id)
    with pytest.raises(Conflict):
        record_instrument(session, ractors["mentor"], keyring, access, _data(rworld))


# -- who reads which ---------------------------------------------------------------------------

def _mixed(session, ractors, keyring, route, rworld, uwv):
    """One instrument of each law: the gemeente's, UWV's and the school's own."""
    lks = _school_records(session, ractors, keyring, route, rworld, kind="loonkostensubsidie")
    nrp = _school_records(session, ractors, keyring, route, rworld, kind="no_riskpolis", evidence=None,
                          arranged_by_organisation_id=uwv["org"].id)
    bbl = _school_records(session, ractors, keyring, route, rworld, kind="bpv_naar_bbl", evidence=None,
                          arranged_by_organisation_id=rworld["school"].id)
    return lks, nrp, bbl


def test_the_school_reads_all_of_them(session, keyring, rworld, ractors, route, uwv):
    made = _mixed(session, ractors, keyring, route, rworld, uwv)
    access = instrument_access(session, ractors["mentor"], route.id)
    assert {i.id for i in route_instruments(session, access)} == {i.id for i in made}
    assert _last_audit(session, "instrument:view").outcome is AuditOutcome.success


def test_a_gemeente_without_a_basis_sees_nothing_and_the_denial_is_audited(session, keyring, rworld, ractors, route,
                                                                          uwv):
    _mixed(session, ractors, keyring, route, rworld, uwv)
    # the jobcoaching consent of the world does not hold the plan: no basis for the instruments
    with pytest.raises(NotFound):
        instrument_access(session, ractors["jobcoach"], route.id)
    session.commit()
    audited = _last_audit(session, "instrument:view")
    assert audited.outcome is AuditOutcome.denied and audited.purpose == "begeleiding-naar-werk"


def test_a_gemeente_with_consent_reads_and_records_its_own_law_only(session, keyring, rworld, ractors, route, uwv):
    lks, _nrp, _bbl = _mixed(session, ractors, keyring, route, rworld, uwv)
    _consent_to_gemeente(session, keyring, rworld)
    access = instrument_access(session, ractors["jobcoach"], route.id)
    assert [i.id for i in route_instruments(session, access)] == [lks.id]
    assert access.decision.basis_label.startswith("consent:")
    made = record_instrument(session, ractors["jobcoach"], keyring, access, _data(rworld, kind="beschut_werk"))
    assert made.recorded_by_organisation_id == rworld["gemeente"].id
    session.commit()
    access = instrument_access(session, ractors["jobcoach"], route.id)
    with pytest.raises(ValidationFailed) as refused:  # UWV's instrument: not the gemeente's law
        record_instrument(session, ractors["jobcoach"], keyring, access, _data(rworld, kind="no_riskpolis"))
    assert "geen grondslag" in str(refused.value.errors["kind"][0])
    with pytest.raises(ValidationFailed):  # a jobcoach UWV pays for is UWV's
        record_instrument(session, ractors["jobcoach"], keyring, access, _data(rworld, funder="uwv"))


def test_uwv_reads_its_own_on_the_students_consent_not_on_its_task_alone(session, keyring, rworld, ractors, route,
                                                                          uwv):
    _lks, nrp, _bbl = _mixed(session, ractors, keyring, route, rworld, uwv)
    coach = _school_records(session, ractors, keyring, route, rworld, funder="uwv")
    update_route(session, ractors["mentor"], route, {"doelgroepregister_open": True})
    session.commit()
    with pytest.raises(NotFound):  # the doelgroepregister task covers contact data and the BSN, not the plan
        instrument_access(session, uwv["staff"], route.id)
    session.commit()
    grant_consent(session, principal_for(rworld["student_account"]), keyring, rworld["student"], {
        "recipient_id": uwv["org"].id, "purpose_code": "doelgroepregister-aanvraag",
        "categories": ["contactgegevens", "school-naar-werk-plan"], "explicit": []})
    session.commit()
    access = instrument_access(session, uwv["staff"], route.id)
    assert access.decision.basis_label.startswith("consent:")
    assert {i.id for i in route_instruments(session, access)} == {nrp.id, coach.id}


@pytest.mark.parametrize("who", ["far_coach", "rmc_staff", "far_mentor"])
def test_another_region_or_partner_without_basis_gets_not_found(session, keyring, rworld, ractors, route, uwv, who):
    _mixed(session, ractors, keyring, route, rworld, uwv)
    _consent_to_gemeente(session, keyring, rworld)  # to the region's gemeente, not the far one
    with pytest.raises(NotFound):
        instrument_access(session, ractors[who], route.id)
    with pytest.raises(NotFound):
        instrument_access(session, ractors[who], 10**9)


def test_the_timeline_shows_the_start_and_the_end(session, keyring, rworld, ractors, route):
    start = clock.today() - dt.timedelta(days=60)
    _school_records(session, ractors, keyring, route, rworld, start_date=start,
                    end_date=clock.today() - dt.timedelta(days=5))
    entries = [str(e.title) for e in timeline(session, ractors["mentor"], keyring, route).entries]
    assert "Instrument naar werk: Jobcoach" in entries and "Instrument naar werk beëindigd: Jobcoach" in entries


# -- the region's counts -----------------------------------------------------------------------

def test_the_region_counts_students_per_instrument_and_suppresses_small_cells(session, keyring, rworld, ractors):
    today = clock.today()
    for n in range(7):
        student = StudentFactory(school=rworld["school"], level=SchoolLevel.entree,
                                 expected_exit_date=today - dt.timedelta(days=30))
        made = open_route(session, ractors["mentor"], student, {"start_date": today - dt.timedelta(days=300)})
        record_exit(session, ractors["mentor"], made, today - dt.timedelta(days=30))
        access = instrument_access(session, ractors["mentor"], made.id)
        record_instrument(session, ractors["mentor"], keyring, access, _data(rworld, start_date=today - dt.timedelta(
            days=20), end_date=today - dt.timedelta(days=1) if n < 3 else None))
        if n < 2:
            record_instrument(session, ractors["mentor"], keyring, access,
                              _data(rworld, kind="loonkostensubsidie", start_date=today - dt.timedelta(days=10)))
        if n < 6:  # requested only: not counted
            record_instrument(session, ractors["mentor"], keyring, access,
                              _data(rworld, kind="doelgroepregister", register_status="aangevraagd"))
    # the same jobcoach twice for one student counts the student once; a future start not at all
    record_instrument(session, ractors["mentor"], keyring, access, _data(rworld, start_date=today - dt.timedelta(
        days=5)))
    record_instrument(session, ractors["mentor"], keyring, access,
                      _data(rworld, kind="werkplekaanpassing", start_date=today + dt.timedelta(days=10)))
    session.commit()
    table = instrument_table(session, rworld["region"].id, today)
    rows = {str(row[0]): row[1:] for row in table.rows}
    assert rows["Jobcoach"] == [7, SUPPRESSED]  # 4 still running: fewer than 5
    assert rows["Loonkostensubsidie"] == [SUPPRESSED, SUPPRESSED]
    assert rows["Doelgroepregister"] == [0, 0] and rows["Werkplekaanpassing"] == [0, 0]
    assert table.chart == [("Jobcoach", 7)]
    assert instrument_table(session, rworld["far"].id, today).rows == []  # another region: nothing


def test_ending_an_instrument_is_audited_and_checked(session, keyring, rworld, ractors, route):
    from referrals.instruments import end_instrument

    made = _school_records(session, ractors, keyring, route, rworld, start_date=clock.today() - dt.timedelta(days=9))
    access = instrument_access(session, ractors["mentor"], route.id)
    for day, words in ((None, "Vul de einddatum"), (made.start_date - dt.timedelta(days=1), "vóór de startdatum"),
                       (clock.today() + dt.timedelta(days=400), "jaar vooruit")):
        with pytest.raises(ValidationFailed) as refused:
            end_instrument(session, ractors["mentor"], access, made.id, day)
        assert words in str(refused.value.errors["end_date"][0])
    end_instrument(session, ractors["mentor"], access, made.id, clock.today())
    session.commit()
    assert session.get(Instrument, made.id).end_date == clock.today()
    assert json.loads(_last_audit(session, "instrument:end").detail)["previous"] is None
    with pytest.raises(NotFound):
        end_instrument(session, ractors["mentor"], access, 10**12, clock.today())
