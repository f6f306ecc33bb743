"""The whole life of a plan at the service layer: draft, parties, offer, three signatures,
active, verification, a bundle checked offline, an edit that asks for signatures again."""

from __future__ import annotations

from consent.agreements.access import find_agreement
from consent.agreements.documents import verify_bundle
from consent.agreements.integrity import build_bundle, verify_agreement
from consent.agreements.lifecycle import offer_for_signature
from consent.agreements.models import AgreementStatus, SignatureMethod, SigningOrder, VersionStatus
from consent.agreements.service import save_section
from consent.agreements.signatures import sign_version
from network.keys import published_jwks
from tests.consent.agreements.conftest import give_plan_consent, ready_plan


def test_plan_signed_by_three_parties_verifies_offline(session, keyring, world, actors, fresh):
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    mentor, student, jobcoach = actors["mentor"], actors["student_account"], actors["partner"]
    agreement, access = find_agreement(session, mentor, agreement.id)
    keys = [p.key for p in agreement.latest.parties]
    offer_for_signature(session, mentor, keyring, agreement, access, order=SigningOrder.parallel, signers=keys)
    session.commit()
    for actor, key in ((student, "student"), (mentor, f"org-{world['school'].id}"),
                       (jobcoach, f"org-{world['gemeente'].id}")):
        agreement, access = find_agreement(session, actor, agreement.id)
        sign_version(session, actor, keyring, agreement, access, 1, key, authenticated_at=fresh,
                     method=SignatureMethod.password)
        session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    assert agreement.status is AgreementStatus.active
    assert agreement.latest.status is VersionStatus.active
    reports = verify_agreement(session, keyring, agreement)
    assert reports[0].complete, reports[0]
    bundle = build_bundle(keyring, agreement, agreement.latest)
    assert verify_bundle(bundle, published_jwks(session, keyring)).complete

    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    assert [v.status for v in agreement.versions] == [VersionStatus.active, VersionStatus.draft]
    assert agreement.active_version.number == 1
