"""Signatures that cannot vanish (issue 18, item 2).

Someone with write access to the database, without the hub's key, deletes signature rows and
sets the statuses back. Each case below is its own test, and each must show as **not valid**,
naming whose signature is gone, everywhere a person or a system looks: the verification of the
stored agreement, the public page ``/controle/<code>``, its API, the bundle verification API
(on a bundle made from the tampered database) and the school's overview. Putting the rows back
makes all of them valid again.

The plan of :func:`signed_plan` is signed by the student, the school and the gemeente, in that
order: the school's signature names the student's in ``previous``, the gemeente's names both.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Uuid, bindparam, func, select, text

from consent.agreements.access import find_agreement
from consent.agreements.integrity import build_bundle, describe_party, verify_agreement
from consent.agreements.models import Agreement, AgreementSignature, AgreementVersion, VersionStatus
from consent.agreements.service import save_section
from network.audit import AuditEvent
from network.audit_chain import seal
from network.errors import Conflict
from tests.consent.agreements._signed import party_keys, reload, sign, signed_plan
from tests.factories import login

AGREEMENT_ID = bindparam("agreement", type_=Uuid())


def _ids(session, agreement_id, world) -> dict:
    """The ids a tamperer needs: the agreement, version 1, and version 1's signatures by party."""
    session.expire_all()
    version = session.scalar(select(AgreementVersion).where(AgreementVersion.agreement_id == agreement_id,
                                                            AgreementVersion.number == 1))
    by_party = {s.party_key: s.id for s in version.signatures}
    keys = party_keys(world)
    return {"agreement": agreement_id, "version": version.id,
            **{name: by_party[key] for name, key in keys.items() if key in by_party}}


def _delete(session, *signature_ids):
    for signature_id in signature_ids:
        session.execute(text("DELETE FROM agreement_signature WHERE id = :id"), {"id": signature_id})


def _reset_to_awaiting(session, ids):
    """What makes the deletion sneaky: the version and the agreement wait for signatures again."""
    session.execute(text("UPDATE agreement_version SET status = 'awaiting', activated_at = NULL WHERE id = :id"),
                    {"id": ids["version"]})
    session.execute(text("UPDATE agreement SET status = 'awaiting' WHERE id = :agreement").bindparams(AGREEMENT_ID),
                    {"agreement": ids["agreement"]})


def middle_deleted(session, ids):
    _delete(session, ids["school"])
    return ["school"]


def middle_deleted_status_reset(session, ids):
    _delete(session, ids["school"])
    _reset_to_awaiting(session, ids)
    return ["school"]


def first_deleted_status_reset(session, ids):
    _delete(session, ids["student"])
    _reset_to_awaiting(session, ids)
    return ["student"]


def last_deleted_status_reset(session, ids):
    _delete(session, ids["gemeente"])
    _reset_to_awaiting(session, ids)
    return ["gemeente"]


def all_deleted_status_reset(session, ids):
    _delete(session, ids["student"], ids["school"], ids["gemeente"])
    _reset_to_awaiting(session, ids)
    return ["student", "school", "gemeente"]


def deleted_next_relinked(session, ids):
    """The school's signature deleted, and the gemeente's row made to name only the student's."""
    previous = session.scalar(select(AgreementSignature.previous).where(AgreementSignature.id == ids["gemeente"]))
    _delete(session, ids["school"])
    session.execute(text("UPDATE agreement_signature SET previous = :p WHERE id = :id"),
                    {"p": json.dumps([p for p in previous if p["party"] == "student"]), "id": ids["gemeente"]})
    _reset_to_awaiting(session, ids)
    return ["school"]


def deleted_rest_renumbered(session, ids):
    """The school's signature deleted, and the gemeente's row given its id (the order looks whole)."""
    _delete(session, ids["school"])
    session.execute(text("UPDATE agreement_signature SET id = :new WHERE id = :old"),
                    {"new": ids["school"], "old": ids["gemeente"]})
    _reset_to_awaiting(session, ids)
    return ["school"]


def last_turned_into_refusal(session, ids):
    session.execute(text("UPDATE agreement_signature SET declined = :yes, signature = NULL, decline_reason = 'Nee' "
                         "WHERE id = :id"), {"yes": True, "id": ids["gemeente"]})
    session.execute(text("UPDATE agreement_version SET status = 'declined', activated_at = NULL WHERE id = :id"),
                    {"id": ids["version"]})
    session.execute(text("UPDATE agreement SET status = 'awaiting' WHERE id = :agreement").bindparams(AGREEMENT_ID),
                    {"agreement": ids["agreement"]})
    return ["gemeente"]


def reset_to_unoffered_draft(session, ids):
    _delete(session, ids["student"], ids["school"], ids["gemeente"])
    session.execute(text("UPDATE agreement_version SET status = 'draft', content_hash = NULL, offered_at = NULL, "
                         "activated_at = NULL WHERE id = :id"), {"id": ids["version"]})
    session.execute(text("UPDATE agreement SET status = 'draft' WHERE id = :agreement").bindparams(AGREEMENT_ID),
                    {"agreement": ids["agreement"]})
    return ["student", "school", "gemeente"]


CASES = {
    "the middle signature deleted": middle_deleted,
    "the middle signature deleted, status reset": middle_deleted_status_reset,
    "the first signature deleted, status reset": first_deleted_status_reset,
    "the last signature deleted, status reset": last_deleted_status_reset,
    "every signature of the version deleted, status reset": all_deleted_status_reset,
    "a signature deleted, the next re-linked": deleted_next_relinked,
    "a signature deleted, the rest renumbered": deleted_rest_renumbered,
    "the last signature turned into a refusal, version marked declined": last_turned_into_refusal,
    "the version reset to a draft never offered, its signatures deleted": reset_to_unoffered_draft,
}


def _described(session, agreement_id, world, names) -> list[str]:
    agreement = session.get(Agreement, agreement_id)
    parties = {p.key: p for v in agreement.versions for p in v.parties}
    return [describe_party(parties[party_keys(world)[name]]) for name in names]


def assert_not_valid_everywhere(client, session, keyring, world, agreement_id, gone: list[str], *, bundle=True):
    """``gone`` (party names of :func:`party_keys`) vanished, and every surface says so."""
    keys = [party_keys(world)[name] for name in gone]
    described = _described(session, agreement_id, world, gone)
    agreement, _access = reload(session, world["mentor_principal"], agreement_id)
    reports = verify_agreement(session, keyring, agreement)
    assert any(not r.ok for r in reports), reports
    vanished = {v.party for r in reports for v in r.vanished}
    assert set(keys) <= vanished, (keys, reports)

    code = agreement.verify_code
    html = client.get(f"/controle/{code}").get_data(as_text=True)
    assert "NIET geldig" in html and "geldig, nog niet door iedereen ondertekend" not in html
    for who in described:
        assert f"van {who} is verwijderd" in html, who
    assert world["student"].full_name not in html

    body = client.get(f"/api/v1/agreement-verifications/{code}").get_json()
    assert body["valid"] is False
    problems = " ".join(p for v in body["versions"] for p in v["problems"])
    assert all(f"van {who} is verwijderd" in problems for who in described), problems

    if bundle:
        version = next(v for v in agreement.versions if v.number == 1)
        checked = client.post("/api/v1/agreement-bundles/verify", json=build_bundle(keyring, agreement, version))
        result = checked.get_json()
        assert checked.status_code == 200 and result["valid"] is False, result
        assert set(keys) <= set(result["vanished"]) and result["problems"], result

    login(client, world["mentor"])
    overview = client.get(f"/plannen/{agreement_id}").get_data(as_text=True)
    assert "Waarschuwing: de controle is mislukt" in overview
    assert all(f"van {who} is verwijderd" in overview for who in described)


@pytest.fixture
def plan(session, keyring, world, actors):
    world["mentor_principal"] = actors["mentor"]
    agreement_id = signed_plan(session, keyring, world, actors)
    seal(session, keyring)  # the signing events are chained and signed, as the seal job does
    session.commit()
    return agreement_id


def test_each_signature_names_the_ones_before_it_and_is_in_the_audit_log(session, keyring, world, plan, client):
    keys = party_keys(world)
    agreement, _access = reload(session, world["mentor_principal"], plan)
    rows = agreement.latest.signatures
    assert [s.party_key for s in rows] == [keys["student"], keys["school"], keys["gemeente"]]
    assert [[p["party"] for p in s.previous] for s in rows] == [[], [keys["student"]],
                                                               [keys["student"], keys["school"]]]
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:signature")
                             .order_by(AuditEvent.id)).all()
    assert [json.loads(e.detail) for e in events] == [
        {"version": 1, "party": key, "declined": False} for key in (keys["student"], keys["school"], keys["gemeente"])]
    assert all(e.seq is not None and e.object_id == str(plan) and e.student_id == str(world["student"].id)
               and e.basis for e in events)
    [report] = verify_agreement(session, keyring, agreement)
    assert report.ok and report.complete and not report.vanished
    body = client.get(f"/api/v1/agreement-verifications/{agreement.verify_code}").get_json()
    assert body["valid"] and body["versions"][0]["complete"]


@pytest.mark.parametrize("case", list(CASES))
def test_a_vanished_signature_is_not_valid_anywhere(client, session, keyring, world, plan, case):
    gone = CASES[case](session, _ids(session, plan, world))
    session.commit()
    assert_not_valid_everywhere(client, session, keyring, world, plan, gone,
                                bundle="never offered" not in case)


def test_a_whole_version_deleted_is_not_valid(client, session, keyring, world, actors, plan):
    """Version 2 is being written; version 1 (signed by all three) is deleted with its rows."""
    agreement, access = find_agreement(session, actors["mentor"], plan)
    save_section(session, actors["mentor"], keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    ids = _ids(session, plan, world)
    session.execute(text("DELETE FROM agreement_signature WHERE version_id = :v"), {"v": ids["version"]})
    session.execute(text("DELETE FROM agreement_party WHERE version_id = :v"), {"v": ids["version"]})
    session.execute(text("DELETE FROM agreement_version WHERE id = :v"), {"v": ids["version"]})
    session.execute(text("UPDATE agreement SET status = 'draft' WHERE id = :agreement").bindparams(AGREEMENT_ID),
                    {"agreement": plan})
    session.commit()
    agreement, _access = reload(session, actors["mentor"], plan)
    [lost] = verify_agreement(session, keyring, agreement)
    assert lost.number == 1 and not lost.ok and {v.party for v in lost.vanished} == set(party_keys(world).values())
    html = client.get(f"/controle/{agreement.verify_code}").get_data(as_text=True)
    assert "NIET geldig" in html and "Versie 1 is uit Schakel verwijderd" in html and "verwijderd uit Schakel" in html
    body = client.get(f"/api/v1/agreement-verifications/{agreement.verify_code}").get_json()
    assert body["valid"] is False and body["versions"][0]["status"] is None
    login(client, world["mentor"])
    assert "Versie 1 is uit Schakel verwijderd" in client.get(f"/plannen/{plan}").get_data(as_text=True)


def _saved(session, plan):
    """The signature rows and the statuses, as a backup holds them."""
    session.expire_all()
    table = AgreementSignature.__table__
    version_ids = select(AgreementVersion.id).where(AgreementVersion.agreement_id == plan)
    rows = [dict(r) for r in session.execute(select(table).where(table.c.version_id.in_(version_ids))).mappings()]
    versions = [dict(r) for r in session.execute(select(AgreementVersion.id, AgreementVersion.status,
                                                        AgreementVersion.activated_at)
                                                 .where(AgreementVersion.agreement_id == plan)).mappings()]
    return rows, versions, session.get(Agreement, plan).status


def _restore(session, plan, saved):
    rows, versions, status = saved
    table = AgreementSignature.__table__
    version_ids = select(AgreementVersion.id).where(AgreementVersion.agreement_id == plan)
    session.execute(table.delete().where(table.c.version_id.in_(version_ids)))
    session.execute(table.insert(), rows)
    for version in versions:
        session.execute(AgreementVersion.__table__.update().where(AgreementVersion.id == version["id"])
                        .values(status=version["status"], activated_at=version["activated_at"]))
    session.execute(Agreement.__table__.update().where(Agreement.id == plan).values(status=status))
    session.commit()


@pytest.mark.parametrize("case", ["the middle signature deleted, status reset",
                                  "the last signature deleted, status reset",
                                  "every signature of the version deleted, status reset"])
def test_putting_the_rows_back_makes_it_valid_again(client, session, keyring, world, plan, case):
    saved = _saved(session, plan)
    CASES[case](session, _ids(session, plan, world))
    session.commit()
    agreement, _access = reload(session, world["mentor_principal"], plan)
    assert not verify_agreement(session, keyring, agreement)[0].ok
    _restore(session, plan, saved)
    agreement, _access = reload(session, world["mentor_principal"], plan)
    [report] = verify_agreement(session, keyring, agreement)
    assert report.ok and report.complete, report
    body = client.get(f"/api/v1/agreement-verifications/{agreement.verify_code}").get_json()
    assert body["valid"] and body["versions"][0]["complete"]
    checked = client.post("/api/v1/agreement-bundles/verify", json=build_bundle(keyring, agreement, agreement.latest))
    assert checked.get_json()["valid"] and checked.get_json()["complete"]
    assert session.scalar(select(func.count()).select_from(AgreementSignature)) == 3
    assert agreement.latest.status is VersionStatus.active


def test_nobody_signs_a_version_a_signature_vanished_from(client, session, keyring, world, actors, plan):
    """Signing again would hide what happened (the school's new signature would stand where the
    deleted one was); the signing page says why before a password is typed."""
    middle_deleted_status_reset(session, _ids(session, plan, world))
    session.commit()
    with pytest.raises(Conflict, match="handtekening verwijderd"):
        sign(session, keyring, actors["mentor"], plan, 1, party_keys(world)["school"])
    session.rollback()
    login(client, world["mentor"])
    page = client.get(f"/plannen/{plan}/versies/1/ondertekenen?partij={party_keys(world)['school']}")
    assert "buiten Schakel een handtekening verwijderd" in page.get_data(as_text=True)
