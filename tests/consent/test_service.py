"""Consent services: grant, withdraw, expire, remind, requests, guardians; bad input is refused
in Dutch with nothing saved; age rules; special categories; legal tasks; decide's SQL budget."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select, update

from consent.lifecycle import (
    add_representation,
    expire_consents,
    remind_expiring,
    request_consent,
)
from consent.models import (
    Consent,
    ConsentReceipt,
    ConsentStatus,
    GivenBy,
    ReceiptKind,
    RequestStatus,
)
from consent.service import grant_consent, withdraw_consent
from network import clock
from network.access import Category, decide
from network.audit import AuditEvent
from network.db import db
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import OutboxMessage
from network.signals import consent_withdrawn
from tests.consent.conftest import born_years_ago, grant_data
from tests.factories import StudentFactory, left_school, make_member, principal_for

C = Category


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_grant_gives_the_partner_exactly_the_consented_categories(session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    assert consent.status is ConsentStatus.active and consent.given_by is GivenBy.student
    assert consent.valid_until == (world["student"].expected_exit_date.replace(
        year=world["student"].expected_exit_date.year + 1))
    assert len(consent.text_hash) == 64 and consent.text_version
    decision = decide(session, actors["partner"], world["student"], "jobcoaching", [C.contact, C.support, C.bsn])
    assert decision.allowed == {C.contact} | set() and decision.basis_label == f"consent:{consent.id}"
    other_purpose = decide(session, actors["partner"], world["student"], "stagebegeleiding", [C.contact])
    assert not other_purpose.allowed
    session.commit()
    grant_event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "consent:grant"))
    assert grant_event.object_id == str(consent.id) and grant_event.student_id == str(world["student"].id)
    [receipt] = consent.receipts
    assert receipt.kind is ReceiptKind.grant


@pytest.mark.parametrize("overrides, field, words", [
    ({"categories": ["contactgegevens", "leefgebieden"]}, "categories", "niet nodig"),
    ({"valid_from": dt.date(2020, 1, 1)}, "valid_from", "verleden"),
    ({"valid_until": dt.date(2020, 1, 1)}, "valid_until", "verleden"),
    ({"valid_from": clock.today() + dt.timedelta(days=20), "valid_until": clock.today() + dt.timedelta(days=10)},
     "valid_until", "vóór de begindatum"),
    ({"categories": ["contactgegevens", "ondersteuningsbehoefte"]}, "explicit", "uitdrukkelijke"),
    ({"categories": []}, "categories", "minstens"),
    ({"purpose_code": "bestaat-niet"}, "purpose_code", "Kies een doel"),
])
def test_bad_input_is_refused_in_dutch_and_nothing_is_saved(session, world, actors, keyring, overrides, field, words):
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world, **overrides))
    assert any(words in str(m) for m in exc.value.errors[field]), exc.value.errors
    session.rollback()
    assert _count(session, Consent) == 0 and _count(session, ConsentReceipt) == 0


def test_recipient_outside_the_region_is_refused(session, world, actors, keyring):
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, actors["student_account"], keyring, world["student"],
                      grant_data(world, recipient_id=world["far_gemeente"].id))
    assert "regio" in str(exc.value.errors["recipient_id"][0])


def test_special_category_needs_its_own_tick(session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(
        world, categories=["contactgegevens", "ondersteuningsbehoefte"], explicit=["ondersteuningsbehoefte"]))
    session.commit()
    assert {(i.category, i.explicit) for i in consent.items} == {("contactgegevens", False),
                                                                 ("ondersteuningsbehoefte", True)}
    decision = decide(session, actors["partner"], world["student"], "jobcoaching", [C.support])
    assert decision.allowed == {C.support}


# -- age rules ---------------------------------------------------------------------------------

def _student_of_age(world, years):
    account = make_member(__import__("network.models", fromlist=["Role"]).Role.student, world["school"])
    student = StudentFactory(school=world["school"], account_id=account.id, date_of_birth=born_years_ago(years))
    return student, principal_for(account)


def test_fifteen_year_old_cannot_consent_alone(session, world, keyring):
    student, me = _student_of_age(world, 15)
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, me, keyring, student, grant_data(world))
    assert "jonger dan 16" in str(exc.value.errors["__all__"][0])


@pytest.mark.parametrize("years", [16, 17])
def test_sixteen_and_seventeen_consent_themselves(session, world, keyring, years):
    student, me = _student_of_age(world, years)
    consent = grant_consent(session, me, keyring, student, grant_data(world))
    assert consent.given_by is GivenBy.student and consent.representative_name is None


@pytest.mark.parametrize("years", [16, 17])
def test_representative_for_sixteen_or_seventeen_is_refused(session, world, actors, keyring, years):
    student, _ = _student_of_age(world, years)
    data = grant_data(world, channel="paper", representative_name="P. Jansen", representative_relation="ouder")
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, actors["mentor"], keyring, student, data)
    assert f"{years} jaar" in str(exc.value.errors["representative_name"][0])
    session.rollback()
    assert _count(session, Consent) == 0


def test_school_records_paper_consent_of_parent_for_fifteen_year_old(session, world, actors, keyring):
    data = grant_data(world, channel="paper", representative_name="P. Jansen", representative_relation="ouder")
    consent = grant_consent(session, actors["mentor"], keyring, world["young"], data)
    assert consent.given_by is GivenBy.representative and consent.representative_name == "P. Jansen"
    assert consent.recorded_by_organisation_id == world["school"].id
    without = grant_data(world, channel="in_person", purpose_code="stagebegeleiding")
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, actors["mentor"], keyring, world["young"], without)
    assert "representative_name" in exc.value.errors


def test_guardian_acts_in_the_portal_for_a_student_under_16_only(session, world, actors, keyring):
    add_representation(session, actors["mentor"], world["young"], email="ouder@example.org", relation="ouder")
    add_representation(session, actors["mentor"], world["student"], email="ouder@example.org", relation="ouder")
    session.commit()
    consent = grant_consent(session, actors["guardian"], keyring, world["young"], grant_data(world))
    assert consent.given_by is GivenBy.representative and consent.representative_account_id == world["guardian"].id
    with pytest.raises(NotFound):  # the 17-year-old decides alone
        grant_consent(session, actors["guardian"], keyring, world["student"], grant_data(world))
    assert decide(session, actors["guardian"], world["young"], "inzage", [C.contact]).allowed == {C.contact}
    assert not decide(session, actors["guardian"], world["student"], "inzage", [C.contact]).allowed


def test_partner_cannot_grant_for_a_student(session, world, actors, keyring):
    with pytest.raises(NotFound):
        grant_consent(session, actors["partner"], keyring, world["student"], grant_data(world))


# -- legal tasks -------------------------------------------------------------------------------

def test_rmc_follow_up_is_a_legal_task_in_its_own_region_only(session, world, actors):
    left_school(world["student"])  # the task covers a leaver without a startkwalificatie
    decision = decide(session, actors["rmc_staff"], world["student"], "rmc-nazorg",
                      [C.contact, C.education, C.life_domains])
    assert decision.allowed == {C.contact, C.education}
    assert decision.basis_label == "legal_task:rmc-nazorg"
    assert not decide(session, actors["far_rmc_staff"], world["student"], "rmc-nazorg", [C.contact]).allowed
    assert not decide(session, actors["partner"], world["student"], "rmc-nazorg", [C.contact]).allowed
    assert not decide(session, actors["rmc_staff"], world["student"], "jobcoaching", [C.contact]).allowed


# -- withdraw, expire, remind ------------------------------------------------------------------

def test_withdrawal_denies_at_once_tells_the_recipient_and_signals(session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    heard = []
    with consent_withdrawn.connected_to(lambda sender, **kw: heard.append((sender, kw["session"]))):
        receipt = withdraw_consent(session, actors["student_account"], keyring, consent)
    session.commit()
    assert heard == [(consent, session)] and receipt.kind is ReceiptKind.withdraw
    assert not decide(session, actors["partner"], world["student"], "jobcoaching", [C.contact]).allowed
    [mail] = session.scalars(select(OutboxMessage)).all()
    assert mail.recipient == "jongeren@gemeente.example" and "ingetrokken" in mail.subject
    with pytest.raises(Conflict):
        withdraw_consent(session, actors["student_account"], keyring, consent)
    with pytest.raises(NotFound):
        withdraw_consent(session, actors["partner"], keyring, consent)


def test_two_grants_at_once_record_one_consent_and_tell_the_other_why(session, world, actors, keyring):
    """A double click on "Toestemming geven": both requests find no active consent for this
    recipient and purpose. The one that writes second is refused by the database's unique index
    and answered like any duplicate grant (a field error), with no second receipt or event."""
    from sqlalchemy.orm import Session as PlainSession

    def other_request_first(flushing, *_):
        if not other_request_first.done:  # once, before this request's first write
            other_request_first.done = True
            with PlainSession(db.engine) as other:
                grant_consent(other, actors["student_account"], keyring, other.get(type(world["student"]),
                              world["student"].id), grant_data(world))
                other.commit()
    other_request_first.done = False

    event.listen(session, "before_flush", other_request_first)
    try:
        with pytest.raises(ValidationFailed) as refused:
            grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    finally:
        event.remove(session, "before_flush", other_request_first)
    assert "al een geldige toestemming" in str(refused.value.errors["purpose_code"][0])
    session.commit()  # the session is still usable: nothing of the refused grant is left in it
    assert _count(session, Consent) == 1 and _count(session, ConsentReceipt) == 1
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:grant")).all()) == 1


def test_a_withdrawal_that_lost_a_race_is_a_conflict_and_writes_nothing(session, world, actors, keyring):
    """The student and the mentor withdraw the same consent at the same moment (or the student
    presses the button twice): both requests read it while it was active. The one that writes
    second must not withdraw it again: no second receipt, audit event or e-mail."""
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    assert consent.status is ConsentStatus.active  # this request has read it
    with db.engine.begin() as conn:  # the other request withdraws it in between
        conn.execute(update(Consent.__table__).where(Consent.id == consent.id).values(
            status=ConsentStatus.withdrawn, withdrawn_at=dt.datetime.now(dt.UTC), withdrawn_by_name="Mentor"))
    with pytest.raises(Conflict):
        withdraw_consent(session, actors["student_account"], keyring, consent)
    session.rollback()
    assert _count(session, ConsentReceipt) == 1  # the grant's only
    assert not session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:withdraw")).all()
    assert not session.scalars(select(OutboxMessage)).all()
    assert session.get(Consent, consent.id).withdrawn_by_name == "Mentor"


def test_expire_is_idempotent_and_decide_denies_past_the_end_even_before_it(session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    consent.valid_from = clock.today() - dt.timedelta(days=30)
    consent.valid_until = clock.today() - dt.timedelta(days=1)
    session.commit()
    assert not decide(session, actors["partner"], world["student"], "jobcoaching", [C.contact]).allowed
    assert expire_consents(session) == 1
    assert expire_consents(session) == 0
    session.commit()
    assert consent.status is ConsentStatus.expired and consent.expired_at is not None


def test_the_expiry_job_leaves_a_consent_withdrawn_after_it_looked(session, world, actors, keyring):
    """The job reads the consents past their end; one is withdrawn before the job writes: it
    stays withdrawn, and the job neither counts it nor records an expiry."""
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    consent.valid_from = clock.today() - dt.timedelta(days=30)
    consent.valid_until = clock.today() - dt.timedelta(days=1)
    session.commit()

    def withdrawn_in_between(state):
        if state.is_update and not withdrawn_in_between.done:
            withdrawn_in_between.done = True
            with db.engine.begin() as conn:
                conn.execute(update(Consent.__table__).where(Consent.id == consent.id).values(
                    status=ConsentStatus.withdrawn, withdrawn_at=dt.datetime.now(dt.UTC), withdrawn_by_name="Leerling"))
    withdrawn_in_between.done = False
    event.listen(session, "do_orm_execute", withdrawn_in_between)
    try:
        assert expire_consents(session) == 0
    finally:
        event.remove(session, "do_orm_execute", withdrawn_in_between)
    session.commit()
    assert withdrawn_in_between.done and consent.status is ConsentStatus.withdrawn and consent.expired_at is None
    assert not session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:expire")).all()


def test_ending_a_representation_or_cancelling_a_request_that_just_changed_writes_nothing(session, world, actors,
                                                                                         keyring):
    """Two colleagues end the same guardian, or cancel the same consent request, at the same
    moment (or the student answers the request just then): both read it open. The second is
    told it already happened, records no audit event, and the first one's outcome stays."""
    from consent.lifecycle import cancel_request, end_representation
    from consent.models import ConsentRequest, Representation

    representation = add_representation(session, actors["mentor"], world["young"], email="ouder@example.org",
                                        relation="ouder")
    request = request_consent(session, actors["mentor"], keyring, world["student"], grant_data(world))
    session.commit()
    assert representation.ended_at is None and request.status is RequestStatus.open  # read by this request
    with db.engine.begin() as conn:  # the other requests, in between
        conn.execute(update(Representation.__table__).where(Representation.id == representation.id)
                     .values(ended_at=dt.datetime.now(dt.UTC)))
        conn.execute(update(ConsentRequest.__table__).where(ConsentRequest.id == request.id)
                     .values(status=RequestStatus.answered, answered_at=dt.datetime.now(dt.UTC)))
    for change in (lambda: end_representation(session, actors["mentor"], representation),
                   lambda: cancel_request(session, actors["mentor"], request)):
        with pytest.raises(Conflict):
            change()
        session.rollback()
    assert request.status is RequestStatus.answered and representation.ended_at is not None
    assert not session.scalars(select(AuditEvent).where(AuditEvent.event_type.in_(
        ["consent:representative-end", "consent:request-cancel"]))).all()


def test_reminder_goes_out_once_thirty_days_before_the_end(session, world, actors, keyring):
    consent = grant_consent(session, actors["mentor"], keyring, world["student"], grant_data(world, channel="in_person",
                            valid_until=clock.today() + dt.timedelta(days=20)))
    session.commit()
    assert remind_expiring(session, keyring) == 1
    assert remind_expiring(session, keyring) == 0
    session.commit()
    recipients = sorted(m.recipient for m in session.scalars(select(OutboxMessage)))
    assert recipients == sorted([world["student"].email, world["mentor"].email])
    assert consent.reminder_sent_at is not None


def test_request_is_pending_and_answered_by_the_grant(session, world, actors, keyring):
    request = request_consent(session, actors["mentor"], keyring, world["student"], grant_data(world))
    session.commit()
    assert request.status is RequestStatus.open
    assert session.scalar(select(OutboxMessage.recipient)) == world["student"].email
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    assert request.status is RequestStatus.answered and request.consent_id == consent.id
    with pytest.raises(ValidationFailed):
        request_consent(session, actors["mentor"], keyring, world["student"],
                        grant_data(world, recipient_id=world["far_gemeente"].id))


def test_representation_needs_an_existing_account(session, world, actors):
    with pytest.raises(ValidationFailed) as exc:
        add_representation(session, actors["mentor"], world["young"], email="niemand@example.org", relation="ouder")
    assert "email" in exc.value.errors


# -- the decision's SQL budget -----------------------------------------------------------------

def test_decide_uses_at_most_two_statements_for_the_consent_lookup(session, world, actors, keyring):
    grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    student = world["student"]
    principal = actors["partner"]
    _ = student.id, student.account_id, student.school_id, student.date_of_birth  # loaded, as on a page
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        decision = decide(session, principal, student, "jobcoaching", [C.contact, C.education])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert decision.allowed == {C.contact, C.education}
    assert len(statements) <= 2, statements
    print(f"decide SQL statements: {len(statements)}")
