"""The student's begeleidingsformulier (issue 19, item 3), without HTTP: who writes it (the
student; under 16 the parent or guardian; nobody else), the texts encrypted, bad input, a
concurrent save, and the sharing choice enforced by the one access decision: every reader
role × shared / not shared / shared and then withdrawn, the praktijkopleider's link (its own
placement only, not after the placement ended early), every read and denial audited."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlalchemy import select

from consent.models import Relation, Representation
from network import clock
from network.access import Category, decide
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, ValidationFailed
from network.models import Role
from referrals.placements.assessment import link_principal, send_link
from referrals.placements.guidance import (
    FORM_PURPOSE,
    ShareWith,
    find_form,
    guidance_summary,
    read_form,
    save_form,
    set_sharing,
)
from referrals.placements.guidance_models import GuidanceForm
from referrals.placements.lifecycle import change_status
from referrals.placements.service import create_placement
from tests.factories import AccountFactory, StudentFactory, make_member, principal_for
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

TEXTS = {"klas": "BPV2B", "kenmerken": "Ik heb autisme. Drukte maakt me moe.",
         "compenserend": "Ik werk heel precies.", "belemmerend": "Veel mensen tegelijk.",
         "presteer": "ik vooraf weet wat ik ga doen.", "tips": "Geef één opdracht tegelijk."}


@pytest.fixture
def student_actor(session, pworld):
    account = make_member(Role.student, pworld["school"])
    pworld["student"].account_id = account.id
    session.commit()
    return principal_for(account)


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    return made


def _write(session, keyring, actor, student, shared=(), **overrides):
    form = save_form(session, actor, keyring, student, {**TEXTS, **overrides}, today=clock.today())
    if shared:
        set_sharing(session, actor, student, shared, today=clock.today())
    session.commit()
    return form


def _link_actor(session, keyring, actor, placement):
    assessment, _link = send_link(session, actor, keyring, placement, base_url="http://schakel.test")
    session.commit()
    return link_principal(actor, assessment)


def test_the_student_writes_it_encrypted_and_rewrites_it(session, keyring, pworld, student_actor):
    form = _write(session, keyring, student_actor, pworld["student"])
    raw = session.scalar(select(GuidanceForm.texts_encrypted).where(GuidanceForm.id == form.id))
    assert "autisme" not in raw and "precies" not in raw
    read = read_form(session, student_actor, keyring, pworld["student"])
    assert read.texts == TEXTS and form.written_by_name == student_actor.name
    save_form(session, student_actor, keyring, pworld["student"], {**TEXTS, "tips": "Zeg het rustig."},
              today=clock.today(), expected_version=form.version)
    session.commit()
    assert read_form(session, student_actor, keyring, pworld["student"]).texts["tips"] == "Zeg het rustig."
    saves = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:guidance-save")
                            .order_by(AuditEvent.id)).all()
    assert [(e.action.value, json.loads(e.detail)["fields"]) for e in saves] == [("C", sorted(TEXTS)), ("U", ["tips"])]
    assert all("autisme" not in e.detail for e in saves)


@pytest.mark.parametrize("data, field", [
    ({"klas": "BPV2B"}, "kenmerken"),  # nothing written
    ({**TEXTS, "tips": "x" * 2001}, "tips"),
    ({**TEXTS, "klas": "k" * 41}, "klas"),
])
def test_bad_input_is_refused_with_a_field_and_writes_nothing(session, keyring, pworld, student_actor, data, field):
    with pytest.raises(ValidationFailed) as refused:
        save_form(session, student_actor, keyring, pworld["student"], data, today=clock.today())
    assert field in refused.value.errors
    session.rollback()
    assert session.scalar(select(GuidanceForm.id)) is None


def test_only_the_student_or_a_guardian_under_16_writes_and_chooses(session, keyring, pworld, pactors,
                                                                     student_actor):
    for actor in (pactors["mentor"], pactors["zorg"], pactors["partner"]):
        with pytest.raises(Forbidden):
            save_form(session, actor, keyring, pworld["student"], TEXTS, today=clock.today())
    _write(session, keyring, student_actor, pworld["student"])
    with pytest.raises(Forbidden):
        set_sharing(session, pactors["mentor"], pworld["student"], ["slb"], today=clock.today())
    # a 15-year-old: the guardian writes and decides; once 16, the guardian no longer does
    young = StudentFactory(school=pworld["school"], date_of_birth=clock.today().replace(year=clock.today().year - 15))
    parent = AccountFactory()
    session.add(Representation(account_id=parent.id, student_id=young.id, relation=Relation.parent,
                               recorded_by_name="Mentor"))
    session.commit()
    guardian = principal_for(parent)
    _write(session, keyring, guardian, young, shared=["slb"])
    assert find_form(session, young).shared_with == ["slb"]
    young.date_of_birth = clock.today().replace(year=clock.today().year - 16) - dt.timedelta(days=1)
    session.commit()
    with pytest.raises(Forbidden):
        set_sharing(session, guardian, young, [], today=clock.today())


def test_a_concurrent_save_is_caught_and_keeps_the_other(session, keyring, pworld, student_actor):
    form = _write(session, keyring, student_actor, pworld["student"])
    started_from = form.version
    save_form(session, student_actor, keyring, pworld["student"], {**TEXTS, "tips": "Eerst"}, today=clock.today(),
              expected_version=started_from)
    session.commit()
    with pytest.raises(Conflict):
        save_form(session, student_actor, keyring, pworld["student"], {**TEXTS, "tips": "Later"},
                  today=clock.today(), expected_version=started_from)
    session.rollback()
    assert read_form(session, student_actor, keyring, pworld["student"]).texts["tips"] == "Eerst"


def test_sharing_needs_a_form_and_known_choices(session, keyring, pworld, student_actor):
    with pytest.raises(ValidationFailed) as first:
        set_sharing(session, student_actor, pworld["student"], ["slb"], today=clock.today())
    assert "Schrijf eerst" in first.value.errors["shared_with"][0]
    session.rollback()
    _write(session, keyring, student_actor, pworld["student"])
    with pytest.raises(ValidationFailed):
        set_sharing(session, student_actor, pworld["student"], ["slb", "iedereen"], today=clock.today())
    session.rollback()
    assert find_form(session, pworld["student"]).shared_with == []


#: the school's readers by role, and the tick each reads under (None: no tick gives them a read)
SCHOOL_READERS = {Role.mentor: ShareWith.slb, Role.bpv_begeleider: ShareWith.bpv_docent,
                  Role.zorgcoordinator: None, Role.decaan: None}


@pytest.mark.parametrize("role, state", list(itertools.product(SCHOOL_READERS, ("shared", "not_shared", "withdrawn"))))
def test_each_school_role_reads_only_when_the_student_chose_it(session, keyring, pworld, student_actor, role, state):
    reader = principal_for(make_member(role, pworld["school"]))
    tick = SCHOOL_READERS[role]
    everyone_else = [s.value for s in ShareWith if s is not tick]
    chosen = {"shared": [*everyone_else, tick.value] if tick else [s.value for s in ShareWith],
              "not_shared": everyone_else, "withdrawn": [*everyone_else, tick.value] if tick else everyone_else}[state]
    _write(session, keyring, student_actor, pworld["student"], shared=chosen)
    if state == "withdrawn":
        set_sharing(session, student_actor, pworld["student"], everyone_else, today=clock.today())
        session.commit()
    allowed = state == "shared" and tick is not None
    if allowed:
        read = read_form(session, reader, keyring, pworld["student"])
        assert read.texts["kenmerken"] == TEXTS["kenmerken"]
        assert [str(b) for b in read.decision.bases] == [f"sharing:begeleidingsformulier:{tick.value}"]
    else:
        with pytest.raises(Forbidden):
            read_form(session, reader, keyring, pworld["student"])
    session.commit()  # a denial's event survives; here nothing failed, so both are kept
    event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:guidance-view")
                            .order_by(AuditEvent.id.desc())).first()
    assert event.account_id == reader.account_id and event.purpose == FORM_PURPOSE
    assert event.outcome.value == ("success" if allowed else "denied")
    assert guidance_summary(session, reader, pworld["student"]).can_read is allowed


def test_outside_the_school_nobody_reads_it_whatever_is_ticked(session, keyring, pworld, pactors, student_actor):
    _write(session, keyring, student_actor, pworld["student"], shared=[s.value for s in ShareWith])
    for actor in (pactors["other_mentor"], pactors["partner"], pactors["rmc_staff"], pactors["coordinator"]):
        with pytest.raises(Forbidden):
            read_form(session, actor, keyring, pworld["student"])
    # a general consent for the support need does not open the form either: its purpose is its own
    assert not decide(session, pactors["partner"], pworld["student"], FORM_PURPOSE, [Category.support]).allowed


@pytest.mark.parametrize("state", ("shared", "not_shared", "withdrawn"))
def test_the_praktijkopleider_reads_it_through_the_link_only_when_chosen(session, keyring, pworld, pactors,
                                                                         student_actor, placement, state):
    chosen = ["slb", "praktijkopleider"] if state != "not_shared" else ["slb"]
    _write(session, keyring, student_actor, pworld["student"], shared=chosen)
    if state == "withdrawn":
        set_sharing(session, student_actor, pworld["student"], ["slb"], today=clock.today())
        session.commit()
    trainer = _link_actor(session, keyring, pactors["mentor"], placement)
    if state == "shared":
        assert read_form(session, trainer, keyring, pworld["student"]).texts["tips"] == TEXTS["tips"]
    else:
        with pytest.raises(Forbidden):
            read_form(session, trainer, keyring, pworld["student"])


def test_the_link_opens_only_its_own_students_form_and_not_after_ending_early(session, keyring, pworld, pactors,
                                                                              student_actor, placement):
    _write(session, keyring, student_actor, pworld["student"], shared=["praktijkopleider"])
    trainer = _link_actor(session, keyring, pactors["mentor"], placement)
    other = StudentFactory(school=pworld["school"])
    other_account = make_member(Role.student, pworld["school"])
    other.account_id = other_account.id
    session.commit()
    _write(session, keyring, principal_for(other_account), other, shared=["praktijkopleider"])
    with pytest.raises(Forbidden):  # the link is for Sanne's placement, not for another student
        read_form(session, trainer, keyring, other)
    change_status(session, pactors["mentor"], placement, "ended_early", reason="Past niet.")
    session.commit()
    with pytest.raises(Forbidden):
        read_form(session, trainer, keyring, pworld["student"])
