"""The end of a route at school (issue 20, items 1 and 2), service level: the eindgesprek
(recorded encrypted by the school, read only through a decision, refused to another school and
to a partner) and the structured exit's rules (every bad input of the issue gets a Dutch field
message and writes nothing; a contradiction is asked about; a concurrent edit is caught)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session as PlainSession

from consent.agreements.models import AgreementKind
from consent.agreements.service import create_agreement
from network import clock
from network.access import Category
from network.audit import AuditEvent
from network.db import db
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import OrganisationType
from referrals.checkins import record_exit
from referrals.eindgesprek import eindgesprek_answers, read_back, record_eindgesprek, route_eindgesprekken
from referrals.exit_models import Destination, Eindgesprek, RouteExit, WayOut
from referrals.models import CheckIn, Route, RouteStatus
from referrals.route_exit import exit_details, plan_retourticket, record_structured_exit, route_exit
from referrals.route_service import add_months, decide_route, find_route, open_route
from referrals.route_timeline import timeline
from referrals.tags import EindgesprekTag
from tests.factories import OrganisationFactory
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


@pytest.fixture
def route(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["student"], {})
    made.start_date = add_months(clock.today(), -12)
    session.commit()
    return made


def _exit(**changes):
    data = {"exit_date": add_months(clock.today(), -1), "startkwalificatie": "ja", "way_out": "diploma",
            "reason": None, "certificates": "VCA\nHeftruck", "destination": "werk_met_ondersteuning",
            "next_school": None, "retourticket": "Later alsnog niveau 3", "confirm": False}
    return {**data, **changes}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# -- the eindgesprek ------------------------------------------------------------------------------

def test_the_eindgesprek_is_recorded_encrypted_with_the_regions_partners(session, route_world, route_actors, keyring,
                                                                       route):
    zorg = OrganisationFactory(region=route_world["region"], type=OrganisationType.zorg, name="Zorg Waalrand")
    made = record_eindgesprek(session, route_actors["mentor"], keyring, route, {
        "held_on": clock.today(), "still_to_learn": "Heftruck rijden", "alternative": "Uitzendbureau",
        "step": "sociale_onderneming", "student_words": "Ik wil bij de bakker blijven"},
        partners=[str(route_world["gemeente"].id), zorg.id, zorg.id])
    session.commit()
    assert "Heftruck" not in made.content_encrypted  # encrypted at rest
    answers = eindgesprek_answers(keyring, made)
    assert answers["still_to_learn"] == "Heftruck rijden" and answers["step"] == "sociale_onderneming"
    assert answers["partners"] == [route_world["gemeente"].id, zorg.id]
    shown = read_back(session, answers)
    assert shown["step"] == "Sociale onderneming" and "Zorg Waalrand" in shown["partners"]
    assert [q.code for q, _a in shown["rows"]] == ["still_to_learn", "alternative", "student_words"]
    audit = session.scalar(select(AuditEvent).where(AuditEvent.event_type == EindgesprekTag.record.value))
    assert audit.student_id == str(route.student_id) and "Heftruck" not in (audit.detail or "")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"held_on": None}, "held_on", "Vul de datum van het gesprek in."),
    ({"held_on": dt.date.today() + dt.timedelta(days=2)}, "held_on", "in de toekomst"),
    ({"held_on": dt.date(2000, 1, 1)}, "held_on", "vóór de start"),
    ({"student_words": "  "}, "student_words", "wat de student zelf zegt"),
])
def test_eindgesprek_bad_input_writes_nothing(session, route_actors, keyring, route, changes, field, message):
    data = {"held_on": clock.today(), "student_words": "Ik wil werken", **changes}
    with pytest.raises(ValidationFailed) as exc:
        record_eindgesprek(session, route_actors["mentor"], keyring, route, data)
    assert message in str(exc.value.errors[field][0])
    assert _count(session, Eindgesprek) == 0


def test_eindgesprek_partner_outside_the_region_is_refused(session, route_world, route_actors, keyring, route):
    far = OrganisationFactory(type=OrganisationType.gemeente)  # another region
    for partners in ([far.id], [route_world["other_school"].id], ["geen-getal"]):
        with pytest.raises(ValidationFailed) as exc:
            record_eindgesprek(session, route_actors["mentor"], keyring, route,
                               {"held_on": clock.today(), "student_words": "Ja"}, partners=partners)
        assert "Kies partners uit de lijst van de regio." in str(exc.value.errors["partners"][0])
    assert _count(session, Eindgesprek) == 0


@pytest.mark.parametrize("who", ["other_mentor", "partner", "rmc_staff"])
def test_only_the_routes_school_records_or_reads_the_eindgesprek(session, route_actors, keyring, route, who):
    with pytest.raises(NotFound):
        record_eindgesprek(session, route_actors[who], keyring, route, {"held_on": clock.today(),
                                                                        "student_words": "Ja"})
    with pytest.raises(NotFound):
        find_route(session, route_actors[who], route.id)
    assert _count(session, Eindgesprek) == 0


def test_reading_the_eindgesprek_is_decided_and_audited(session, route_actors, keyring, route):
    record_eindgesprek(session, route_actors["mentor"], keyring, route, {"held_on": clock.today(),
                                                                         "student_words": "Ja"})
    session.commit()
    decision = decide_route(session, route_actors["zorg"], route, event_type=EindgesprekTag.view,
                            categories=(Category.contact, Category.plan))
    assert decision.permits(Category.plan)
    read = session.scalar(select(AuditEvent).where(AuditEvent.event_type == EindgesprekTag.view.value))
    assert read is not None and read.purpose == "leerlingbegeleiding"
    assert len(route_eindgesprekken(session, route)) == 1
    kinds = [e.kind for e in timeline(session, route_actors["mentor"], keyring, route).entries]
    assert "eindgesprek" in kinds


def test_a_closed_route_takes_no_eindgesprek(session, route_actors, keyring, route):
    route.status = RouteStatus.closed
    session.commit()
    with pytest.raises(Conflict):
        record_eindgesprek(session, route_actors["mentor"], keyring, route, {"held_on": clock.today(),
                                                                             "student_words": "Ja"})


# -- the structured exit ---------------------------------------------------------------------------

def test_the_exit_is_stored_with_its_way_out_destination_and_check_ins(session, route_actors, keyring, route):
    found = record_structured_exit(session, route_actors["mentor"], keyring, route, _exit())
    session.commit()
    assert route.status is RouteStatus.followup and route.startkwalificatie is True
    assert [c.months for c in route.check_ins] == [3, 6, 12]
    assert found.way_out is WayOut.diploma and found.destination is Destination.werk_met_ondersteuning
    assert found.certificates == ["VCA", "Heftruck"] and "niveau 3" not in (found.details_encrypted or "")
    assert exit_details(keyring, found) == {"retourticket": "Later alsnog niveau 3"}
    entries = timeline(session, route_actors["mentor"], keyring, route).entries
    assert any("Werk met ondersteuning" in str(e.title) for e in entries)
    # a correction updates the same row and keeps the check-ins
    again = record_structured_exit(session, route_actors["mentor"], keyring, route,
                                   _exit(destination="bbl_leerbaan", certificates="VCA"))
    assert again.id == found.id and again.revision == 2 and again.certificates == ["VCA"]
    assert _count(session, CheckIn) == 3


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"exit_date": None}, "exit_date", "Vul de datum in"),
    ({"exit_date": dt.date(2000, 1, 1)}, "exit_date", "vóór de start van het traject"),
    ({"exit_date": clock.today() + dt.timedelta(days=45)}, "exit_date", "meer dan een maand in de toekomst"),
    ({"way_out": None}, "way_out", "Kies hoe de leerling de school verliet."),
    ({"destination": None}, "destination", "Kies waar de leerling na school heen gaat."),
    ({"way_out": "tussentijds", "reason": " "}, "reason", "Vul de reden van de tussentijdse uitstroom in."),
    ({"certificates": "\n".join(f"Certificaat {i}" for i in range(21))}, "certificates", "hoogstens 20"),
    ({"certificates": "x" * 101}, "certificates", "hoogstens 20"),
])
def test_exit_bad_input_gets_a_dutch_field_error_and_writes_nothing(session, route_actors, keyring, route, changes,
                                                                   field, message):
    with pytest.raises(ValidationFailed) as exc:
        record_structured_exit(session, route_actors["mentor"], keyring, route, _exit(**changes))
    assert message in str(exc.value.errors[field][0])
    session.rollback()
    assert _count(session, RouteExit) == 0 and _count(session, CheckIn) == 0
    assert session.get(Route, route.id).exit_date is None


def test_a_destination_that_contradicts_the_way_out_is_asked_about_then_stored(session, route_actors, keyring, route):
    data = _exit(way_out="tussentijds", reason="Gestopt om te werken", destination="vervolgopleiding",
                 startkwalificatie="nee")
    with pytest.raises(ValidationFailed) as exc:
        record_structured_exit(session, route_actors["mentor"], keyring, route, data)
    assert "tussentijds uit naar een vervolgopleiding" in str(exc.value.errors["confirm"][0])
    assert _count(session, RouteExit) == 0 and route.exit_date is None
    found = record_structured_exit(session, route_actors["mentor"], keyring, route, {**data, "confirm": True})
    assert found.contradiction_confirmed is True
    assert exit_details(keyring, found)["reason"] == "Gestopt om te werken"


def test_a_school_named_is_no_contradiction_and_a_startkwalificatie_with_a_certificate_is(session, route_actors,
                                                                                          keyring, route):
    found = record_structured_exit(session, route_actors["mentor"], keyring, route, _exit(
        way_out="tussentijds", reason="Overstap", destination="vervolgopleiding", next_school="ROC Rivierenland",
        startkwalificatie="nee"))
    assert found.contradiction_confirmed is False and exit_details(keyring, found)["next_school"] == "ROC Rivierenland"
    with pytest.raises(ValidationFailed) as exc:
        record_structured_exit(session, route_actors["mentor"], keyring, route, _exit(way_out="praktijkverklaring"))
    assert "Praktijkverklaring is geen startkwalificatie" in str(exc.value.errors["confirm"][0])


def test_a_stale_version_or_a_concurrent_exit_is_a_conflict(session, route_actors, keyring, route):
    with pytest.raises(Conflict):
        record_structured_exit(session, route_actors["mentor"], keyring, route, _exit(),
                               expected_version=route.version - 1)
    assert _count(session, RouteExit) == 0
    with PlainSession(db.engine) as other:  # a colleague saves the route in between
        other.get(Route, route.id).expected_exit_date = clock.today()
        other.commit()
    with pytest.raises(Conflict):
        record_structured_exit(session, route_actors["mentor"], keyring, route, _exit())
    session.rollback()
    assert _count(session, RouteExit) == 0


def test_another_school_or_a_partner_cannot_record_the_exit(session, route_actors, keyring, route):
    for who in ("other_mentor", "partner"):
        with pytest.raises(NotFound):
            record_structured_exit(session, route_actors[who], keyring, route, _exit())
    assert _count(session, RouteExit) == 0


def test_the_retourticket_is_prefilled_from_the_plan(session, route_world, route_actors, keyring, route):
    assert plan_retourticket(session, keyring, route) is None  # no plan
    plan = create_agreement(session, route_actors["mentor"], keyring, route_world["student"], AgreementKind.plan)
    version = plan.latest
    version.content_encrypted = keyring.encrypt(json.dumps({"checks": {"fallback": "Bel de mentor"}}),
                                                version.content_ref())
    assert plan_retourticket(session, keyring, route) == "Terugvalstrategie: Bel de mentor"
    version.content_encrypted = keyring.encrypt(json.dumps({"return_ticket": {
        "later": "Later alsnog niveau 2", "certificate": "VCA"}}), version.content_ref())
    assert plan_retourticket(session, keyring, route) == ("Certificaat of diploma: VCA\n"
                                                          "Later terug naar school: Later alsnog niveau 2")


def test_the_plain_exit_still_schedules_the_follow_up(session, route_actors, keyring, route):
    """The API's exit (date and startkwalificatie only) keeps working beside the structured one."""
    record_exit(session, route_actors["mentor"], route, add_months(clock.today(), -2))
    assert route_exit(session, route) is None and len(route.check_ins) == 3

