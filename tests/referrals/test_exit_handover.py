"""The warm hand-over at exit (issue 20, item 3), service level: made from the route's exit as a
referral marked ``at_exit`` (the wizard's basis check and packet), carrying only a signed plan
version, the new lead contact and what was agreed (encrypted); refused without a basis or with an
unsigned version, writing nothing; confirmed by the receiver as the referral hand-over is; and the
uitstroomcoördinator's flag: routes whose destination needs a hand-over that none carries."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from consent.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementStatus,
    AgreementVersion,
    VersionStatus,
)
from network import clock
from network.audit import AuditEvent
from network.errors import Conflict, NotFound, ValidationFailed
from referrals.exit_handover import (
    exit_handover_details,
    make_exit_handover,
    missing_handover_counts,
    needs_exit_handover,
    plan_choice,
    route_exit_handovers,
    signed_plan_versions,
)
from referrals.models import HandoverPacket, Referral
from referrals.route_exit import record_structured_exit
from referrals.route_service import add_months, open_route
from referrals.states import ReferralStatus
from referrals.tags import ExitTag
from referrals.transitions import confirm_handover, record_handover, transition


def _route(session, keyring, rworld, ractors, student_key="student", destination="werk_met_ondersteuning"):
    route = open_route(session, ractors["mentor"], rworld[student_key], {})
    route.start_date = add_months(clock.today(), -12)
    session.flush()
    record_structured_exit(session, ractors["mentor"], keyring, route, {
        "exit_date": add_months(clock.today(), -1), "startkwalificatie": "nee", "way_out": "entree_diploma",
        "reason": None, "certificates": "VCA", "destination": destination, "next_school": "Da Vinci",
        "retourticket": None, "confirm": True})
    session.commit()
    return route


def _plan(session, rworld, student_key="student"):
    """A plan with version 1 signed by every party (then superseded) and version 2 still awaiting."""
    now = dt.datetime.now(dt.UTC)
    agreement = Agreement(kind=AgreementKind.plan, student_id=rworld[student_key].id, school_id=rworld["school"].id,
                          title="School-naar-werk-plan", status=AgreementStatus.active,
                          verify_code=uuid.uuid4().hex[:12])
    agreement.versions = [
        AgreementVersion(number=1, status=VersionStatus.superseded, content_encrypted="x", created_by_name="M",
                         activated_at=now - dt.timedelta(days=30)),
        AgreementVersion(number=2, status=VersionStatus.awaiting, content_encrypted="x", created_by_name="M")]
    session.add(agreement)
    session.commit()
    return agreement


def _data(rworld, **changes):
    data = {"service_id": rworld["service"].id, "purpose": "jobcoaching", "plan": None,
            "lead_name": "Jobcoach Bakker", "lead_function": "jobcoach Participatiewet",
            "agreed": "Eerste gesprek op de werkplek in week 2; de mentor blijft drie maanden bereikbaar."}
    return {**data, **changes}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


CATS = ["contactgegevens", "opleiding"]


def test_the_handover_at_exit_is_a_sent_referral_with_the_signed_plan_and_the_agreements(session, keyring, rworld,
                                                                                      ractors):
    route = _route(session, keyring, rworld, ractors)
    agreement = _plan(session, rworld)
    assert [v.number for _a, v in signed_plan_versions(session, route)] == [1]
    assert needs_exit_handover(session, route)
    made = make_exit_handover(session, ractors["mentor"], keyring, route,
                              _data(rworld, plan=plan_choice(agreement.id, 1)), categories=CATS)
    session.commit()
    assert made.at_exit and made.route_id == route.id and made.status is ReferralStatus.requested
    assert (made.plan_agreement_id, made.plan_version) == (agreement.id, 1)
    assert made.to_organisation_id == rworld["gemeente"].id and made.packet is not None
    assert "Bakker" not in (made.details_encrypted or "")  # encrypted at rest
    shown = exit_handover_details(keyring, made)
    assert shown["lead_name"] == "Jobcoach Bakker" and "week 2" in shown["agreed"]
    assert route_exit_handovers(session, route) == [made]
    assert not needs_exit_handover(session, route)
    audit = session.scalar(select(AuditEvent).where(AuditEvent.event_type == ExitTag.handover.value))
    assert audit.student_id == str(route.student_id) and "Bakker" not in (audit.detail or "")


def test_the_receiver_confirms_it_as_the_referral_handover_is_recorded(session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    made = make_exit_handover(session, ractors["mentor"], keyring, route, _data(rworld), categories=CATS)
    transition(session, ractors["jobcoach"], keyring, made, ReferralStatus.accepted)
    record_handover(session, ractors["mentor"], keyring, made, held_on=clock.today(),
                    present="Sanne, mentor, jobcoach")
    confirm_handover(session, ractors["jobcoach"], keyring, made)
    session.commit()
    assert made.handover_confirmed_by_name == "Jobcoach Bakker" and made.status is ReferralStatus.in_progress
    assert not needs_exit_handover(session, route)


def test_an_unsigned_plan_version_is_refused_and_nothing_is_written(session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    agreement = _plan(session, rworld)
    for plan, message in ((plan_choice(agreement.id, 2), "niet door alle partijen ondertekend"),
                          (plan_choice(uuid.uuid4(), 1), "uit de lijst"), ("onzin", "uit de lijst")):
        with pytest.raises(ValidationFailed) as exc:
            make_exit_handover(session, ractors["mentor"], keyring, route, _data(rworld, plan=plan), categories=CATS)
        assert message in exc.value.errors["plan"][0]
    assert _count(session, Referral) == 0 and _count(session, HandoverPacket) == 0


def test_an_organisation_without_a_basis_for_the_data_is_refused_and_nothing_is_written(session, keyring, rworld,
                                                                                       ractors):
    route = _route(session, keyring, rworld, ractors, student_key="other_student")  # no consent to the gemeente
    with pytest.raises(ValidationFailed) as exc:
        make_exit_handover(session, ractors["mentor"], keyring, route, _data(rworld), categories=CATS)
    assert "geen grondslag" in exc.value.errors["categories"][0]
    assert _count(session, Referral) == 0 and _count(session, HandoverPacket) == 0
    assert needs_exit_handover(session, route)


@pytest.mark.parametrize(("changes", "categories", "field"), [
    ({"service_id": 0}, CATS, "service_id"),
    ({"purpose": "geen-doel"}, CATS, "purpose"),
    ({"lead_name": "  "}, CATS, "lead_name"),
    ({"agreed": ""}, CATS, "agreed"),
    ({}, [], "categories"),
    ({}, ["bsn-nummer"], "categories"),
])
def test_bad_input_gets_a_dutch_field_message(session, keyring, rworld, ractors, changes, categories, field):
    route = _route(session, keyring, rworld, ractors)
    with pytest.raises(ValidationFailed) as exc:
        make_exit_handover(session, ractors["mentor"], keyring, route, _data(rworld, **changes),
                           categories=categories)
    assert exc.value.errors[field]
    assert _count(session, Referral) == 0


def test_a_service_outside_the_region_is_refused(session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    with pytest.raises(ValidationFailed) as exc:
        make_exit_handover(session, ractors["mentor"], keyring, route,
                           _data(rworld, service_id=rworld["far_service"].id), categories=CATS)
    assert "partner in de regio" in exc.value.errors["service_id"][0]


def test_only_the_routes_school_makes_it_and_only_after_the_exit(session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    for who in ("far_mentor", "jobcoach"):
        with pytest.raises(NotFound):
            make_exit_handover(session, ractors[who], keyring, route, _data(rworld), categories=CATS)
    fresh = open_route(session, ractors["mentor"], rworld["other_student"], {})
    session.commit()
    with pytest.raises(Conflict):
        make_exit_handover(session, ractors["mentor"], keyring, fresh, _data(rworld), categories=CATS)
    assert _count(session, Referral) == 0


def test_the_flag_counts_routes_per_school_without_names(session, keyring, rworld, ractors):
    needing = _route(session, keyring, rworld, ractors)
    _route(session, keyring, rworld, ractors, student_key="other_student", destination="vervolgopleiding")
    region = rworld["region"].id
    assert missing_handover_counts(session, region) == [(rworld["school"].name, 1)]
    assert missing_handover_counts(session, rworld["far"].id) == []
    made = make_exit_handover(session, ractors["mentor"], keyring, needing, _data(rworld), categories=CATS)
    session.commit()
    assert missing_handover_counts(session, region) == []
    transition(session, ractors["jobcoach"], keyring, made, ReferralStatus.rejected, reason="Geen plek")
    session.commit()
    assert missing_handover_counts(session, region) == [(rworld["school"].name, 1)]  # a rejected one does not count


def test_a_double_submit_makes_one_handover(session, keyring, rworld, ractors):
    route = _route(session, keyring, rworld, ractors)
    first = make_exit_handover(session, ractors["mentor"], keyring, route, _data(rworld, client_token="t" * 32),
                               categories=CATS)
    session.commit()
    again = make_exit_handover(session, ractors["mentor"], keyring, route, _data(rworld, client_token="t" * 32),
                               categories=CATS)
    session.commit()
    assert again.id == first.id and _count(session, Referral) == 1
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.event_type == ExitTag.handover.value)).all()) == 1
