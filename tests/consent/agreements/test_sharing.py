"""The consistency check: what a privacy agreement (or a plan's partner party) promises to share
is compared with the consents and legal tasks in consent/. A sharing no basis covers is a
warning naming the missing categories, with a one-step fix (ask the student for exactly that
consent); a consent given, or a legal task (the RMC's follow-up of school leavers), clears it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consent.agreements.access import find_agreement
from consent.agreements.models import AgreementKind
from consent.agreements.service import content_of, create_agreement, save_parties, save_section
from consent.agreements.sharing import request_missing_consent, sharing_warnings
from consent.models import ConsentRequest, RequestStatus
from consent.service import grant_consent, withdraw_consent
from network.errors import Forbidden, ValidationFailed
from tests.consent.agreements._signed import reload
from tests.consent.agreements.conftest import give_plan_consent, grant_data, ready_plan
from tests.factories import left_school

JOBCOACHING = ["contactgegevens", "ondersteuningsbehoefte", "opleiding"]


def _privacy(session, keyring, world, actors, flows, readers=None):
    mentor = actors["mentor"]
    agreement = create_agreement(session, mentor, keyring, world["student"], AgreementKind.privacy)
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    rows = [{"key": p.key, "role": p.role, "commitment": "Ik houd me aan de afspraken."}
            for p in agreement.latest.parties]
    rows += [{"organisation_id": world["gemeente"].id, "role": "verwerkingsverantwoordelijke",
              "purpose": "jobcoaching", "commitment": "Alleen voor de jobcoaching."},
             {"organisation_id": world["rmc"].id, "role": "verwerkingsverantwoordelijke", "purpose": "rmc-nazorg",
              "commitment": "Alleen voor de nazorg."}]
    save_parties(session, mentor, keyring, agreement, access, rows)
    key = {"gemeente": f"org-{world['gemeente'].id}", "rmc": f"org-{world['rmc'].id}"}
    save_section(session, mentor, keyring, agreement, access, "flows", {"flows": [
        {"recipient": key[who], "purpose": purpose, "categories": categories, "basis": basis}
        for who, purpose, categories, basis in flows]})
    if readers:
        save_section(session, mentor, keyring, agreement, access, "plan_access",
                     {"plan_readers": [key.get(r, r) for r in readers]})
    session.commit()
    return agreement.id


def _warnings(session, keyring, actors, agreement_id):
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    version = agreement.latest
    return sharing_warnings(session, agreement, version, content_of(keyring, version))


def test_a_flow_without_consent_is_a_warning_naming_the_missing_categories(session, keyring, world, actors):
    agreement_id = _privacy(session, keyring, world, actors, [("gemeente", "jobcoaching", JOBCOACHING, "toestemming")])
    [warning] = _warnings(session, keyring, actors, agreement_id)
    assert warning.where == "flow-0"
    assert (warning.organisation_id, warning.organisation_name) == (world["gemeente"].id, world["gemeente"].name)
    assert (warning.purpose, warning.purpose_label) == ("jobcoaching", "Jobcoaching")
    assert warning.missing == tuple(JOBCOACHING) and warning.claimed == "toestemming" and not warning.requested

    # a consent for part of it: the rest is still named
    partial = grant_consent(session, actors["student_account"], keyring, world["student"],
                            grant_data(world, categories=["contactgegevens", "opleiding"]))
    session.commit()
    [warning] = _warnings(session, keyring, actors, agreement_id)
    assert warning.missing == ("ondersteuningsbehoefte",)

    withdraw_consent(session, actors["student_account"], keyring, partial)
    session.commit()
    [warning] = _warnings(session, keyring, actors, agreement_id)  # a withdrawal counts at once
    assert warning.missing == tuple(JOBCOACHING)
    grant_consent(session, actors["student_account"], keyring, world["student"],
                  grant_data(world, categories=JOBCOACHING, explicit=["ondersteuningsbehoefte"]))
    session.commit()
    assert _warnings(session, keyring, actors, agreement_id) == []


def test_a_flow_covered_by_a_legal_task_needs_no_consent(session, keyring, world, actors):
    left_school(world["student"])  # the RMC's task covers a leaver without a startkwalificatie
    session.commit()
    agreement_id = _privacy(session, keyring, world, actors, [
        ("rmc", "rmc-nazorg", ["contactgegevens", "opleiding"], "wettelijke-taak"),
        ("gemeente", "jobcoaching", ["contactgegevens"], "toestemming")])
    [warning] = _warnings(session, keyring, actors, agreement_id)
    assert warning.where == "flow-1" and warning.organisation_id == world["gemeente"].id
    # the legal task covers contact and education only: life domains for the RMC need consent
    agreement_id_2 = _privacy_again(session, keyring, world, actors, agreement_id, [
        ("rmc", "rmc-nazorg", ["contactgegevens", "leefgebieden", "opleiding"], "wettelijke-taak")])
    [warning] = _warnings(session, keyring, actors, agreement_id_2)
    assert (warning.organisation_id, warning.missing, warning.claimed) == (world["rmc"].id, ("leefgebieden",),
                                                                          "wettelijke-taak")


def _privacy_again(session, keyring, world, actors, agreement_id, flows):
    mentor = actors["mentor"]
    agreement, access = reload(session, mentor, agreement_id)
    key = {"gemeente": f"org-{world['gemeente'].id}", "rmc": f"org-{world['rmc'].id}"}
    save_section(session, mentor, keyring, agreement, access, "flows", {"flows": [
        {"recipient": key[who], "purpose": purpose, "categories": categories, "basis": basis}
        for who, purpose, categories, basis in flows]})
    session.commit()
    return agreement_id


def test_request_missing_consent_asks_once_and_the_warning_says_so(session, keyring, world, actors):
    agreement_id = _privacy(session, keyring, world, actors, [("gemeente", "jobcoaching", JOBCOACHING, "toestemming")])
    [warning] = _warnings(session, keyring, actors, agreement_id)
    agreement, access = reload(session, actors["mentor"], agreement_id)
    request = request_missing_consent(session, actors["mentor"], keyring, agreement, access,
                                      organisation_id=warning.organisation_id, purpose=warning.purpose,
                                      categories=list(warning.missing))
    session.commit()
    assert session.scalar(select(func.count()).select_from(ConsentRequest)) == 1
    assert request.status is RequestStatus.open and request.categories == warning.fix_categories
    [warning] = _warnings(session, keyring, actors, agreement_id)
    assert warning.requested and warning.missing == tuple(JOBCOACHING)  # still missing until the student says yes

    # only the school asks, and only for what the purpose needs
    partner_agreement, partner_access = find_agreement(session, actors["partner"], agreement_id)
    with pytest.raises(Forbidden):
        request_missing_consent(session, actors["partner"], keyring, partner_agreement, partner_access,
                                organisation_id=world["gemeente"].id, purpose="jobcoaching", categories=JOBCOACHING)
    session.rollback()
    agreement, access = reload(session, actors["mentor"], agreement_id)
    with pytest.raises(ValidationFailed):
        request_missing_consent(session, actors["mentor"], keyring, agreement, access,
                                organisation_id=world["gemeente"].id, purpose="bestaat-niet", categories=JOBCOACHING)
    with pytest.raises(ValidationFailed):
        request_missing_consent(session, actors["mentor"], keyring, agreement, access,
                                organisation_id=world["gemeente"].id, purpose="jobcoaching", categories=["bsn"])
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ConsentRequest)) == 1


def test_plan_readers_in_the_privacy_agreement_need_a_basis_for_the_plan(session, keyring, world, actors):
    agreement_id = _privacy(session, keyring, world, actors, [], readers=["student", "gemeente"])
    [warning] = _warnings(session, keyring, actors, agreement_id)
    assert warning.where == f"reader-org-{world['gemeente'].id}" and warning.missing == ("school-naar-werk-plan",)
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    assert _warnings(session, keyring, actors, agreement_id) == []


def test_a_plan_partner_without_a_basis_for_the_plan_is_a_warning(session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    [warning] = _warnings(session, keyring, actors, agreement.id)
    assert warning.where == f"party-org-{world['gemeente'].id}"
    assert warning.missing == ("school-naar-werk-plan",) and warning.purpose == "jobcoaching"
    assert warning.claimed is None
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    assert _warnings(session, keyring, actors, agreement.id) == []


def test_the_school_itself_is_never_a_warning(session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors)
    assert _warnings(session, keyring, actors, agreement.id) == []


def test_the_check_answers_as_the_single_decision_does_in_fixed_statements(session, keyring, world, actors):
    """bases_for_organisations (all parties at once) agrees with bases_for_organisation (one
    recipient at a time), and costs the same number of statements for 1 or 3 recipients."""
    from sqlalchemy import event

    from network.access import bases_for_organisation, bases_for_organisations
    from network.db import db

    give_plan_consent(session, keyring, world, actors)
    left_school(world["student"])  # the RMC's task covers a leaver without a startkwalificatie
    session.commit()
    student = world["student"]
    wanted = [(world["gemeente"], "jobcoaching"), (world["rmc"], "rmc-nazorg"), (world["far_rmc"], "rmc-nazorg"),
              (world["gemeente"], "rmc-nazorg")]
    categories = ["contactgegevens", "opleiding", "school-naar-werk-plan", "ondersteuningsbehoefte"]
    together = bases_for_organisations(session, student, wanted, categories)
    for organisation, purpose in wanted:
        alone = bases_for_organisation(session, organisation, student, purpose, categories)
        assert together[(organisation.id, purpose)].allowed == alone.allowed, (organisation.name, purpose)
    assert together[(world["gemeente"].id, "jobcoaching")].allowed  # the consent
    assert together[(world["rmc"].id, "rmc-nazorg")].allowed  # the legal task, own region
    assert not together[(world["far_rmc"].id, "rmc-nazorg")].allowed  # another region's RMC

    counted = []

    def count(*_args, **_kwargs):
        counted.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        # two recipients (one of them with a legal task whose scope is checked, one statement
        # for all) cost what four do
        bases_for_organisations(session, student, wanted[:2], categories)
        one = len(counted)
        counted.clear()
        bases_for_organisations(session, student, wanted, categories)
        assert len(counted) == one
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
