"""Signing rules at the service layer: the order of signing, who may sign for whom (the legal
representative for a student under 16, a partner only for its own organisation, school staff
only of the student's school), and bad input refused with a clear message and nothing half
written (no signature row, no event, statuses unchanged, even when the caller commits)."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from sqlalchemy import select

from consent.agreements.access import find_agreement
from consent.agreements.integrity import verify_agreement
from consent.agreements.lifecycle import end_agreement, offer_for_signature
from consent.agreements.models import (
    AgreementKind,
    AgreementSignature,
    SignatureMethod,
    SigningOrder,
    VersionStatus,
)
from consent.agreements.service import create_agreement, save_parties, save_section
from consent.agreements.signatures import (
    decline_version,
    sign_version,
    sign_with_organisation_key,
    signable_parties,
    signing_capacity,
)
from consent.lifecycle import add_representation
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.keys import revoke_organisation_key
from network.models import OrganisationKey, Role
from network.notifications import Notification
from tests.consent.agreements._signed import (
    offer,
    partner_statement,
    party_keys,
    register_key,
    reload,
    sign,
    sign_statement,
    signed_plan,
    snapshot,
    utcnow,
)
from tests.consent.agreements.conftest import CHECKS, born_years_ago, give_plan_consent, party_rows, ready_plan
from tests.factories import OrganisationFactory, StudentFactory, make_member, principal_for


def _refused(session, agreement_id, error, call, *, match=None, commit=True):
    """``call()`` raises ``error`` and leaves the agreement exactly as it was, even when the
    caller commits afterwards (a view commits after a denial so the audit keeps it)."""
    before = snapshot(agreement_id)
    with pytest.raises(error) as info:
        call()
    if commit:
        session.commit()
    else:
        session.rollback()
    assert snapshot(agreement_id) == before
    text = str(info.value.detail or "") + " " + " ".join(m for ms in (info.value.errors or {}).values() for m in ms)
    if match:
        assert match in text, text
    return info.value


def _sign_notifications(session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Notification.account_id).where(Notification.kind == "agreement_sign")))


def _three_party_plan(session, keyring, world, actors, order):
    agreement_id = ready_plan(session, keyring, world, actors, world["gemeente"]).id
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = party_keys(world)
    offer(session, keyring, actors["mentor"], agreement_id, [keys["student"], keys["school"], keys["gemeente"]],
          order)
    return agreement_id, keys


# -- order --------------------------------------------------------------------------------------------

def test_sequential_order_is_enforced_and_the_next_party_is_told(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.sequential)
    student, mentor, partner = world["student_account"], world["mentor"], world["partner"]
    assert _sign_notifications(session) == {student.id}  # only the first in line is asked

    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert signable_parties(session, actors["mentor"], agreement, agreement.latest) == []
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["mentor"], agreement_id, 1,
                                                           keys["school"]),
             match="De volgorde is vastgelegd: eerst tekent")
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["partner"], agreement_id, 1,
                                                           keys["gemeente"]), match="eerst tekent")

    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    assert _sign_notifications(session) == {student.id, mentor.id}  # now the school's turn
    agreement, _access = reload(session, actors["partner"], agreement_id)
    assert signable_parties(session, actors["partner"], agreement, agreement.latest) == []
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["partner"], agreement_id, 1,
                                                           keys["gemeente"]), match="eerst tekent")
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert [p.key for p in signable_parties(session, actors["mentor"], agreement, agreement.latest)] == [
        keys["school"]]

    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    assert _sign_notifications(session) == {student.id, mentor.id, partner.id}
    sign(session, keyring, actors["partner"], agreement_id, 1, keys["gemeente"])
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert agreement.latest.status is VersionStatus.active
    assert [s.party_key for s in agreement.latest.signatures] == [keys["student"], keys["school"], keys["gemeente"]]
    assert verify_agreement(session, keyring, agreement)[0].complete


def test_parallel_order_lets_anyone_sign_first(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    assert _sign_notifications(session) == {world["student_account"].id, world["mentor"].id, world["partner"].id}
    for actor, key in ((actors["partner"], keys["gemeente"]), (actors["mentor"], keys["school"])):
        sign(session, keyring, actor, agreement_id, 1, key)
        agreement, _access = reload(session, actors["mentor"], agreement_id)
        assert agreement.latest.status is VersionStatus.awaiting
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert agreement.latest.status is VersionStatus.active
    assert verify_agreement(session, keyring, agreement)[0].complete


def test_two_plans_started_at_once_make_one_and_lead_the_other_to_it(session, keyring, world, actors):
    """A double click on "Plan maken", or two mentors at once: both requests find no open plan
    for the student. The database's unique index refuses the second, which gets the same
    Conflict as any second plan, naming the one that was made."""
    from sqlalchemy import event, func
    from sqlalchemy.orm import Session as PlainSession

    from consent.agreements.models import Agreement, AgreementEvent
    from network.db import db

    student = StudentFactory(school=world["school"], date_of_birth=born_years_ago(17))
    made = []

    def other_request_first(*_):
        if not made:  # once, before this request's first write
            with PlainSession(db.engine) as other:
                made.append(create_agreement(other, actors["mentor"], keyring, other.get(type(student), student.id),
                                             AgreementKind.plan).id)
                other.commit()

    event.listen(session, "before_flush", other_request_first)
    try:
        with pytest.raises(Conflict) as refused:
            create_agreement(session, actors["mentor"], keyring, student, AgreementKind.plan)
    finally:
        event.remove(session, "before_flush", other_request_first)
    assert refused.value.extra["agreement"] == str(made[0])
    session.commit()  # nothing of the refused plan is left in the session
    assert session.scalar(select(func.count()).select_from(Agreement).where(Agreement.student_id == student.id)) == 1
    assert session.scalar(select(func.count()).select_from(AgreementEvent).where(
        AgreementEvent.agreement_id == made[0])) == 1
    create_agreement(session, actors["mentor"], keyring, student, AgreementKind.privacy)  # the other kind: its own
    session.commit()


# -- who signs for whom -------------------------------------------------------------------------------

def _plan_for(session, keyring, world, actors, student):
    mentor = actors["mentor"]
    agreement = create_agreement(session, mentor, keyring, student, AgreementKind.plan)
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "checks", dict(CHECKS))
    save_parties(session, mentor, keyring, agreement, access, party_rows(agreement))
    session.commit()
    offer(session, keyring, mentor, agreement.id, ["student", f"org-{world['school'].id}"])
    return agreement.id


def _student_with_account(world, years):
    account = make_member(Role.student, world["school"])
    student = StudentFactory(school=world["school"], account_id=account.id, date_of_birth=born_years_ago(years),
                             parent_email="ouder@example.org")
    return student, principal_for(account)


def test_under_16_the_legal_representative_signs_on_the_students_behalf(session, keyring, world, actors):
    young, young_actor = _student_with_account(world, 15)
    add_representation(session, actors["mentor"], young, email="ouder@example.org", relation="ouder")
    session.commit()
    agreement_id = _plan_for(session, keyring, world, actors, young)

    agreement, access = reload(session, young_actor, agreement_id)  # the student may read the plan
    assert signing_capacity(session, young_actor, agreement, agreement.latest.parties[0]) is None
    _refused(session, agreement_id, Forbidden, lambda: sign(session, keyring, young_actor, agreement_id, 1,
                                                            "student"), match="namens")

    guardian = actors["guardian"]
    agreement, access = reload(session, guardian, agreement_id)
    assert access.relation == "representative"
    assert [p.key for p in signable_parties(session, guardian, agreement, agreement.latest)] == ["student"]
    row = sign(session, keyring, guardian, agreement_id, 1, "student")
    assert (row.signer_name, row.on_behalf_of, row.signer_organisation) == ("Ouder Jansen", young.full_name, None)
    sign(session, keyring, actors["mentor"], agreement_id, 1, f"org-{world['school'].id}")
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert agreement.latest.status is VersionStatus.active
    [report] = verify_agreement(session, keyring, agreement)
    assert report.complete
    student_check = next(s for s in report.signatures if s.party == "student")
    assert (student_check.signer, student_check.on_behalf_of) == ("Ouder Jansen", young.full_name)


def test_from_16_the_student_signs_and_a_guardian_cannot(session, keyring, world, actors):
    for years in (16, 17):
        student, student_actor = _student_with_account(world, years)
        add_representation(session, actors["mentor"], student, email="ouder@example.org", relation="ouder")
        session.commit()
        agreement_id = _plan_for(session, keyring, world, actors, student)
        guardian = actors["guardian"]
        with pytest.raises(NotFound):  # a 16/17-year-old's guardian does not see the plan at all
            reload(session, guardian, agreement_id)
        agreement, access = reload(session, actors["mentor"], agreement_id)
        assert signing_capacity(session, guardian, agreement, agreement.latest.parties[0]) is None
        _refused(session, agreement_id, Forbidden, functools.partial(
            sign_version, session, guardian, keyring, agreement, access, 1, "student", authenticated_at=utcnow(),
            method=SignatureMethod.password), match="namens")
        row = sign(session, keyring, student_actor, agreement_id, 1, "student")
        assert (row.signer_name, row.on_behalf_of) == (student_actor.name, None)


def test_a_partner_signs_only_for_its_own_organisation(session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"], world["rmc"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = {**party_keys(world), "rmc": f"org-{world['rmc'].id}"}
    offer(session, keyring, actors["mentor"], agreement.id, list(keys.values()))
    partner = actors["partner"]
    for other in ("student", "school", "rmc"):
        _refused(session, agreement.id, Forbidden, lambda other=other: sign(session, keyring, partner, agreement.id,
                                                                            1, keys[other]), match="namens")
    _refused(session, agreement.id, Forbidden, lambda: sign(session, keyring, actors["rmc_staff"], agreement.id, 1,
                                                            keys["gemeente"]), match="namens")
    # the student is a member of the school, but not its staff
    _refused(session, agreement.id, Forbidden, lambda: sign(session, keyring, actors["student_account"],
                                                            agreement.id, 1, keys["school"]), match="namens")
    row = sign(session, keyring, partner, agreement.id, 1, keys["gemeente"])
    assert row.signer_organisation == world["gemeente"].name


def test_school_staff_of_another_school_cannot_sign(session, keyring, world, actors):
    agreement_id = _plan_for(session, keyring, world, actors, world["student"])
    other_school = OrganisationFactory(region=world["region"], school=True)
    other_mentor = principal_for(make_member(Role.mentor, other_school))
    outsider = principal_for(make_member(Role.partner_staff, world["far_gemeente"]))
    for stranger in (other_mentor, outsider):
        with pytest.raises(NotFound):
            reload(session, stranger, agreement_id)
    agreement, access = reload(session, actors["mentor"], agreement_id)
    school_party = agreement.latest.parties[1]
    assert signing_capacity(session, other_mentor, agreement, school_party) is None
    _refused(session, agreement_id, Forbidden, lambda: sign_version(
        session, other_mentor, keyring, agreement, access, 1, school_party.key, authenticated_at=utcnow(),
        method=SignatureMethod.password))


# -- bad input -------------------------------------------------------------------------------------------

def test_signing_a_superseded_version_is_refused(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    agreement, access = reload(session, actors["mentor"], agreement_id)
    save_section(session, actors["mentor"], keyring, agreement, access, "future", {"goal": "Iets anders"})
    session.commit()
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert [v.status for v in agreement.versions] == [VersionStatus.superseded, VersionStatus.draft]
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["mentor"], agreement_id, 1,
                                                           keys["school"]), match="vervangen door een nieuwere")
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["mentor"], agreement_id, 2,
                                                           keys["school"]), match="nog niet ter ondertekening")
    _refused(session, agreement_id, NotFound, lambda: sign(session, keyring, actors["mentor"], agreement_id, 7,
                                                           keys["school"]))


def test_signing_twice_or_for_another_party_is_refused(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["student_account"],
                                                           agreement_id, 1, keys["student"]), match="al gereageerd")
    _refused(session, agreement_id, Forbidden, lambda: sign(session, keyring, actors["student_account"],
                                                            agreement_id, 1, keys["gemeente"]), match="namens")
    _refused(session, agreement_id, ValidationFailed,
             lambda: sign(session, keyring, actors["mentor"], agreement_id, 1, "org-999999"),
             match="ondertekent deze versie niet")
    # a party that said no cannot sign afterwards, and the refusal ends the round
    decline_version(session, actors["partner"], keyring, *reload(session, actors["partner"], agreement_id), 1,
                    keys["gemeente"], reason="De uren kloppen niet")
    session.commit()
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["mentor"], agreement_id, 1,
                                                           keys["school"]), match="geweigerd")


def test_a_stale_authentication_is_refused(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    now = utcnow()
    for authenticated_at in (now - dt.timedelta(minutes=11), None, now + dt.timedelta(minutes=6)):
        _refused(session, agreement_id, Forbidden, lambda at=authenticated_at: sign_version(
            session, actors["mentor"], keyring, *reload(session, actors["mentor"], agreement_id), 1, keys["school"],
            authenticated_at=at, method=SignatureMethod.password, now=now),
            match="Bevestig eerst opnieuw wie u bent")
    row = sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"],
               at=now - dt.timedelta(minutes=9), now=now)
    assert row.method is SignatureMethod.password


def test_bad_organisation_key_signatures_are_refused(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    private, kid, admin = register_key(session, world, world["gemeente"])
    other_private, other_kid, _admin = register_key(session, world, world["rmc"])
    partner = actors["partner"]

    def attempt(*, use_kid=kid, key=private, signed_at=None, signer_name="Koppeling", claimed=None, name=None):
        agreement, access = reload(session, partner, agreement_id)
        version = agreement.latest
        party = next(p for p in version.parties if p.key == keys["gemeente"])
        at = signed_at or utcnow().replace(microsecond=0)
        stmt = partner_statement(agreement, version, party, signer_name=claimed or signer_name,
                                 organisation=partner.acting.organisation_name,
                                 signed_at=at if at.tzinfo else at.replace(tzinfo=dt.UTC))
        return sign_with_organisation_key(session, partner, keyring, agreement, access, 1, keys["gemeente"],
                                          signer_name=signer_name if name is None else name, signed_at=at,
                                          kid=use_kid, signature=sign_statement(key, stmt))

    cases = [
        ("kid", dict(use_kid="org1-onbekend")),
        ("kid", dict(use_kid=other_kid, key=other_private)),  # the RMC's key for the gemeente's party
        ("signature", dict(claimed="Iemand anders")),  # signed another statement than the one sent
        ("signature", dict(key=other_private)),
        ("signed_at", dict(signed_at=utcnow() - dt.timedelta(minutes=6))),
        ("signed_at", dict(signed_at=utcnow() + dt.timedelta(minutes=6))),
        ("signed_at", dict(signed_at=utcnow().replace(tzinfo=None))),
        ("signer_name", dict(name="   ")),
    ]
    for field, kwargs in cases:
        error = _refused(session, agreement_id, ValidationFailed, lambda kwargs=kwargs: attempt(**kwargs))
        assert list(error.errors) == [field], (field, kwargs, error.errors)

    revoke_organisation_key(session, admin, session.scalar(select(OrganisationKey).where(OrganisationKey.kid == kid)))
    session.commit()
    error = _refused(session, agreement_id, ValidationFailed, attempt, match="ingetrokken")
    assert list(error.errors) == ["kid"]

    fresh_private, fresh_kid, _admin = register_key(session, world, world["gemeente"])
    row = attempt(use_kid=fresh_kid, key=fresh_private)
    session.commit()
    assert (row.kid, row.method) == (fresh_kid, SignatureMethod.organisation_key)


def test_offering_an_incomplete_plan_is_refused(session, keyring, world, actors):
    mentor = actors["mentor"]
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    keys = [p.key for p in agreement.latest.parties]

    def offer_with(signers):
        agreement_, access = reload(session, mentor, agreement.id)
        return offer_for_signature(session, mentor, keyring, agreement_, access, order=SigningOrder.parallel,
                                   signers=signers)

    error = _refused(session, agreement.id, ValidationFailed, lambda: offer_with(["student"]), commit=False)
    assert "signers" in error.errors and "twee partijen" in error.errors["signers"][0]
    error = _refused(session, agreement.id, ValidationFailed, lambda: offer_with(keys[1:]), commit=False)
    assert "De leerling ondertekent" in " ".join(error.errors["signers"])
    error = _refused(session, agreement.id, ValidationFailed, lambda: offer_with(["student", "org-999999"]),
                     commit=False)
    assert "signers" in error.errors

    agreement_, access = reload(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement_, access, "checks",
                 {k: v for k, v in CHECKS.items() if k != "fallback"})
    rows = party_rows(agreement_)  # the gemeente is a party already: its row loses its commitment
    rows[-1]["commitment"] = ""
    save_parties(session, mentor, keyring, agreement_, access, rows)
    session.commit()
    error = _refused(session, agreement.id, ValidationFailed, lambda: offer_with(keys), commit=False)
    assert set(error.errors) == {"checks.fallback", f"party-org-{world['gemeente'].id}"}
    assert "Terugvalstrategie" in error.errors["checks.fallback"][0]
    assert world["gemeente"].name in error.errors[f"party-org-{world['gemeente'].id}"][0]
    agreement_, _access = reload(session, mentor, agreement.id)
    assert agreement_.latest.status is VersionStatus.draft and agreement_.latest.content_hash is None


def test_offering_again_after_a_refusal_validates_before_making_a_version(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    decline_version(session, actors["partner"], keyring, *reload(session, actors["partner"], agreement_id), 1,
                    keys["gemeente"], reason="De uren kloppen niet")
    session.commit()

    def offer_with(signers):
        agreement, access = reload(session, actors["mentor"], agreement_id)
        return offer_for_signature(session, actors["mentor"], keyring, agreement, access,
                                   order=SigningOrder.parallel, signers=signers)

    _refused(session, agreement_id, ValidationFailed, lambda: offer_with([keys["school"]]), match="twee partijen")
    version = offer_with([keys["student"], keys["school"], keys["gemeente"]])
    session.commit()
    assert version.number == 2
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert [v.status for v in agreement.versions] == [VersionStatus.declined, VersionStatus.awaiting]


def test_an_ended_agreement_cannot_be_edited_offered_or_signed(session, keyring, world, actors):
    agreement_id, keys = _three_party_plan(session, keyring, world, actors, SigningOrder.parallel)
    mentor = actors["mentor"]
    end_agreement(session, mentor, *reload(session, mentor, agreement_id), reason="De leerling is verhuisd")
    session.commit()
    attempts = [
        lambda: save_section(session, mentor, keyring, *reload(session, mentor, agreement_id), "future",
                             {"goal": "Nieuw doel"}),
        lambda: save_parties(session, mentor, keyring, *reload(session, mentor, agreement_id), []),
        lambda: offer_for_signature(session, mentor, keyring, *reload(session, mentor, agreement_id),
                                    order=SigningOrder.parallel, signers=list(keys.values())),
        lambda: end_agreement(session, mentor, *reload(session, mentor, agreement_id), reason="Nog een keer"),
    ]
    for attempt in attempts:
        _refused(session, agreement_id, Conflict, attempt, match="beëindigd")
    _refused(session, agreement_id, Conflict, lambda: sign(session, keyring, actors["student_account"], agreement_id,
                                                           1, keys["student"]), match="beëindigd")


def test_a_stale_row_version_is_a_conflict(session, keyring, world, actors):
    mentor = actors["mentor"]
    agreement = ready_plan(session, keyring, world, actors)
    agreement, access = reload(session, mentor, agreement.id)
    seen = agreement.row_version
    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Eerste versie"},
                 row_version=seen)
    session.commit()
    agreement, access = reload(session, mentor, agreement.id)
    assert agreement.row_version > seen
    for attempt in (
        lambda: save_section(session, mentor, keyring, *reload(session, mentor, agreement.id), "future",
                             {"goal": "Tweede"}, row_version=seen),
        lambda: save_parties(session, mentor, keyring, *reload(session, mentor, agreement.id),
                             party_rows(agreement), row_version=seen),
        lambda: offer_for_signature(session, mentor, keyring, *reload(session, mentor, agreement.id),
                                    order=SigningOrder.parallel, signers=["student", f"org-{world['school'].id}"],
                                    row_version=seen),
        lambda: end_agreement(session, mentor, *reload(session, mentor, agreement.id), reason="Klaar",
                              row_version=seen),
    ):
        error = _refused(session, agreement.id, Conflict, attempt, match="Iemand anders heeft deze overeenkomst")
        assert error.extra.get("current") == agreement.row_version


def test_signatures_are_rows_of_their_version_only(session, keyring, world, actors):
    """Sanity of what the other tests count: three signatures, all on version 1."""
    agreement_id = signed_plan(session, keyring, world, actors)
    rows = session.scalars(select(AgreementSignature)).all()
    assert len(rows) == 3 and {r.version.number for r in rows} == {1}
    assert {r.version.agreement_id for r in rows} == {agreement_id}
