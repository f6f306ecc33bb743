"""Signatures that cannot vanish (issue 18), continued: a deleted refusal; bundles checked by the
hub against its audit log (one without a seal that lost its last signature is not valid; an
older one stays valid and says what came later); a partner system's signature names the ones
before it (the older form still accepted); the signatures made before the change keep
verifying and are recorded by the upgrade; and where this stops: who also deletes the sealed
audit record breaks the audit chain, which ``schakel audit verify`` names."""

from __future__ import annotations

import json

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, select, text

from consent.agreements.documents import signing_input, statement_for, verify_bundle
from consent.agreements.integrity import build_bundle, verify_agreement
from consent.agreements.models import AgreementSignature
from consent.agreements.signatures import decline_version, sign_with_organisation_key
from network.audit import AuditEvent
from network.audit_chain import seal
from network.audit_verify import verify as verify_audit_log
from network.db import db
from network.errors import ValidationFailed
from tests.consent.agreements._pages import offered_plan
from tests.consent.agreements._signed import (
    LEGACY,
    partner_statement,
    party_keys,
    register_key,
    reload,
    sign,
    sign_statement,
    signed_plan,
    utcnow,
)
from tests.consent.agreements.test_vanishing import _ids, _reset_to_awaiting
from tests.consent.agreements.test_verify_views import _post_bundle
from tests.factories import login

VERIFY = "/api/v1/agreement-bundles/verify"
BEFORE = "e2a7c9d41b36"


def _bundle(session, keyring, actor, agreement_id) -> dict:
    agreement, _access = reload(session, actor, agreement_id)
    return json.loads(json.dumps(build_bundle(keyring, agreement, agreement.latest)))


def test_a_deleted_refusal_is_not_valid(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    agreement, access = reload(session, actors["partner"], agreement_id)
    decline_version(session, actors["partner"], keyring, agreement, access, 1, keys["gemeente"],
                    reason="Wij hebben nu geen plek")
    session.commit()
    refusal = session.scalar(select(AgreementSignature.id).where(AgreementSignature.party_key == keys["gemeente"]))
    session.execute(text("DELETE FROM agreement_signature WHERE id = :id"), {"id": refusal})
    _reset_to_awaiting(session, _ids(session, agreement_id, world))
    session.commit()
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    [report] = verify_agreement(session, keyring, agreement)
    assert not report.ok and [(v.party, v.declined) for v in report.vanished] == [(keys["gemeente"], True)]
    gone = f"De weigering van {world['gemeente'].name} (jobcoach) is verwijderd"
    html = client.get(f"/controle/{agreement.verify_code}").get_data(as_text=True)
    assert "NIET geldig" in html and gone in html
    login(client, world["mentor"])
    assert gone in client.get(f"/plannen/{agreement_id}").get_data(as_text=True)


def test_a_bundle_without_its_seal_that_lost_its_last_signature_is_refused_by_the_hub(client, session, keyring,
                                                                                     world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    bundle = _bundle(session, keyring, actors["mentor"], agreement_id)
    del bundle["seal"]
    bundle["signatures"] = bundle["signatures"][:2]  # the gemeente's, the last, taken out
    offline = verify_bundle(bundle, client.get("/.well-known/jwks.json").get_json())
    assert offline.ok and not offline.complete  # offline, nothing shows it was ever there (README step 5)
    body = client.post(VERIFY, json=bundle).get_json()
    gemeente = party_keys(world)["gemeente"]
    assert body["valid"] is False and body["complete"] is False and body["vanished"] == [gemeente]
    assert body["seal"] == "none" and body["missing"] == [gemeente]
    assert any(f"{world['gemeente'].name} (jobcoach) is verwijderd" in p for p in body["problems"]), body
    html = _post_bundle(client, text=json.dumps(bundle)).get_data(as_text=True)  # the page /controle
    assert "NIET geldig" in html and f"{world['gemeente'].name} (jobcoach) is verwijderd" in html
    with_seal = _bundle(session, keyring, actors["mentor"], agreement_id)
    with_seal["signatures"] = with_seal["signatures"][:2]
    body = client.post(VERIFY, json=with_seal).get_json()
    assert body["valid"] is False and body["seal"] == "valid" and body["vanished"] == [gemeente]
    assert any("uit deze bundel gehaald" in p for p in body["problems"])


def test_an_older_bundle_stays_valid_and_says_who_signed_since(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    older = _bundle(session, keyring, actors["mentor"], agreement_id)
    sign(session, keyring, actors["partner"], agreement_id, 1, keys["gemeente"])
    body = client.post(VERIFY, json=older).get_json()
    assert body["valid"] is True and body["complete"] is False and body["later"] == [keys["gemeente"]]
    assert body["vanished"] == [] and world["gemeente"].name in body["note"] and "opnieuw" in body["note"]
    html = _post_bundle(client, text=json.dumps(older)).get_data(as_text=True)
    assert "geldig, nog niet door iedereen ondertekend" in html and "Download de bundel opnieuw" in html
    stripped = json.loads(json.dumps(older))
    stripped["signatures"] = stripped["signatures"][:1]  # the school's taken out of the older bundle
    body = client.post(VERIFY, json=stripped).get_json()
    assert body["valid"] is False and body["vanished"] == [keys["school"]]
    assert client.post(VERIFY, json=_bundle(session, keyring, actors["mentor"], agreement_id)).get_json()["complete"]


def test_the_hub_holds_only_its_own_version_against_its_log(client, session, keyring, world, actors):
    """A bundle whose document is not the version the hub holds learns nothing from the log."""
    agreement_id = signed_plan(session, keyring, world, actors)
    bundle = _bundle(session, keyring, actors["mentor"], agreement_id)
    del bundle["seal"]
    bundle["signatures"] = bundle["signatures"][:2]
    bundle["document"]["content"]["future"]["goal"] = "Iets anders"
    body = client.post(VERIFY, json=bundle).get_json()
    assert body["valid"] is False and body["vanished"] == []  # not valid for the changed content alone


# -- a partner system's signature ----------------------------------------------------------------

def _partner_signs(session, keyring, world, actors, agreement_id, private, kid, **statement_args):
    partner = actors["partner"]
    agreement, access = reload(session, partner, agreement_id)
    version = agreement.latest
    party = next(p for p in version.parties if p.key == party_keys(world)["gemeente"])
    signed_at = utcnow().replace(microsecond=0)
    stmt = partner_statement(agreement, version, party, signer_name="Koppeling", signed_at=signed_at,
                             organisation=partner.acting.organisation_name, **statement_args)
    row = sign_with_organisation_key(session, partner, keyring, agreement, access, 1, party.key,
                                     signer_name="Koppeling", signed_at=signed_at, kid=kid,
                                     signature=sign_statement(private, stmt))
    session.commit()
    return row


def test_a_partner_names_the_signatures_before_it_as_the_api_gives_them(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    private, kid, _admin = register_key(session, world, world["gemeente"])
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    login(client, world["mentor"])
    [version] = client.get(f"/api/v1/agreements/{agreement_id}").get_json()["versions"]
    [student] = version["signatures"]
    assert version["previous"] == [{"party": "student", "hash": student["hash"]}] and student["previous"] == []
    row = _partner_signs(session, keyring, world, actors, agreement_id, private, kid)
    assert row.previous == version["previous"]
    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert [p["party"] for p in agreement.latest.signatures[-1].previous] == [keys["student"], keys["gemeente"]]
    [report] = verify_agreement(session, keyring, agreement)
    assert report.complete


def test_a_partner_signature_in_the_older_form_is_still_accepted(session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    private, kid, _admin = register_key(session, world, world["gemeente"])
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    row = _partner_signs(session, keyring, world, actors, agreement_id, private, kid, previous=LEGACY)
    assert row.previous is None
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert verify_agreement(session, keyring, agreement)[0].ok


def test_a_partner_signature_over_a_stale_list_is_refused(session, keyring, world, actors):
    """The partner read ``previous`` before the student signed: its statement no longer says
    what is on the version, and the hub says so (nothing is stored)."""
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    private, kid, _admin = register_key(session, world, world["gemeente"])
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    with pytest.raises(ValidationFailed) as refused:
        _partner_signs(session, keyring, world, actors, agreement_id, private, kid, previous=[])
    assert "previous" in refused.value.errors["signature"][0]
    session.rollback()
    assert session.scalar(select(AgreementSignature.id).where(AgreementSignature.party_key == keys["gemeente"])) \
        is None


# -- the signatures made before ------------------------------------------------------------------

def _make_older(session, keyring, agreement_id, actor):
    """Turn the plan's signatures into what the hub made before issue 18: statements without
    ``previous``, and no audit record of them."""
    agreement, _access = reload(session, actor, agreement_id)
    for row in agreement.latest.signatures:
        row.previous = None
        row.kid, row.signature = keyring.sign(signing_input(statement_for(row, agreement.id, 1, row.version_hash)))
    session.execute(delete(AuditEvent).where(AuditEvent.event_type == "agreement:signature"))
    session.commit()


def test_older_signatures_keep_verifying_and_the_upgrade_records_them(session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    _make_older(session, keyring, agreement_id, actors["mentor"])
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert verify_agreement(session, keyring, agreement)[0].complete
    session.remove()
    downgrade(revision=BEFORE)
    upgrade()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:signature")).all()
    assert sorted(json.loads(e.detail)["party"] for e in events) == sorted(party_keys(world).values())
    assert all(json.loads(e.detail)["backfilled"] and e.object_id == str(agreement_id) for e in events)
    seal(db.session, keyring)
    db.session.commit()
    assert verify_audit_log(db.session, keyring).ok  # the upgrade's events chain like any other
    agreement, _access = reload(db.session, actors["mentor"], agreement_id)
    [report] = verify_agreement(db.session, keyring, agreement)
    assert report.ok and report.complete and all(s.previous is None for s in agreement.latest.signatures)
    ids = _ids(db.session, agreement_id, world)
    db.session.execute(text("DELETE FROM agreement_signature WHERE id = :id"), {"id": ids["gemeente"]})
    _reset_to_awaiting(db.session, ids)
    db.session.commit()
    agreement, _access = reload(db.session, actors["mentor"], agreement_id)
    [report] = verify_agreement(db.session, keyring, agreement)
    assert not report.ok and [v.party for v in report.vanished] == [party_keys(world)["gemeente"]]


def test_who_also_deletes_the_sealed_record_breaks_the_audit_chain(session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    seal(session, keyring)
    session.commit()
    assert verify_audit_log(session, keyring).ok
    ids = _ids(session, agreement_id, world)
    session.execute(text("DELETE FROM agreement_signature WHERE id = :id"), {"id": ids["gemeente"]})
    _reset_to_awaiting(session, ids)
    gemeente = party_keys(world)["gemeente"]
    session.execute(text("DELETE FROM audit_event WHERE event_type = :t AND detail LIKE :d"),
                    {"t": "agreement:signature", "d": f'%"party":"{gemeente}"%'})
    session.commit()
    checked = verify_audit_log(session, keyring)
    assert not checked.ok and checked.problem
