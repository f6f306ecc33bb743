"""Helpers of the service-layer agreement tests: offer, sign, count rows, and a plan signed by
three parties (the 17-year-old student, the school and the gemeente's jobcoach)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from consent.agreements.access import find_agreement
from consent.agreements.lifecycle import offer_for_signature
from consent.agreements.models import (
    Agreement,
    AgreementEvent,
    AgreementSignature,
    SignatureMethod,
    SigningOrder,
)
from consent.agreements.signatures import sign_version
from network.db import db
from tests.consent.agreements.conftest import give_plan_consent, ready_plan


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def reload(session, actor, agreement_id):
    """The agreement as a new request sees it: nothing cached in the session."""
    session.expire_all()
    return find_agreement(session, actor, agreement_id)


def offer(session, keyring, actor, agreement_id, signers=None, order=SigningOrder.parallel):
    agreement, access = reload(session, actor, agreement_id)
    keys = signers if signers is not None else [p.key for p in agreement.latest.parties]
    version = offer_for_signature(session, actor, keyring, agreement, access, order=order, signers=keys)
    session.commit()
    return version.number


def sign(session, keyring, actor, agreement_id, number, party_key, *, at=None, now=None):
    agreement, access = reload(session, actor, agreement_id)
    row = sign_version(session, actor, keyring, agreement, access, number, party_key,
                       authenticated_at=at or utcnow(), method=SignatureMethod.password, now=now)
    session.commit()
    return row


def party_keys(world) -> dict[str, str]:
    return {"student": "student", "school": f"org-{world['school'].id}", "gemeente": f"org-{world['gemeente'].id}"}


def signed_plan(session, keyring, world, actors, order=SigningOrder.parallel):
    """A plan of the 17-year-old, version 1 signed by the student, the school and the gemeente
    (active). Returns the agreement id."""
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = party_keys(world)
    offer(session, keyring, actors["mentor"], agreement.id, [keys["student"], keys["school"], keys["gemeente"]], order)
    for actor, key in ((actors["student_account"], keys["student"]), (actors["mentor"], keys["school"]),
                       (actors["partner"], keys["gemeente"])):
        sign(session, keyring, actor, agreement.id, 1, key)
    return agreement.id


def snapshot(agreement_id) -> dict:
    """What a refused step must leave as it was: rows and statuses, read from the database."""
    from consent.agreements.models import AgreementVersion

    session = db.session
    session.expire_all()
    versions = session.execute(select(AgreementVersion.number, AgreementVersion.status, AgreementVersion.content_hash)
                               .where(AgreementVersion.agreement_id == agreement_id)
                               .order_by(AgreementVersion.number)).all()
    return {
        "status": session.scalar(select(Agreement.status).where(Agreement.id == agreement_id)),
        "row_version": session.scalar(select(Agreement.row_version).where(Agreement.id == agreement_id)),
        "versions": [tuple(v) for v in versions],
        "signatures": session.scalar(select(func.count()).select_from(AgreementSignature).where(
            AgreementSignature.version_id.in_(select(AgreementVersion.id).where(
                AgreementVersion.agreement_id == agreement_id)))),
        "events": session.scalar(select(func.count()).select_from(AgreementEvent).where(
            AgreementEvent.agreement_id == agreement_id)),
    }


# -- a partner system's own key -------------------------------------------------------------------

def b64url(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def register_key(session, world, organisation):
    """A hub admin registers ``organisation``'s Ed25519 key; returns (private key, kid)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from network.keys import register_organisation_key
    from network.models import OrganisationType, Role
    from tests.factories import OrganisationFactory, make_member, principal_for

    hub = OrganisationFactory(region=world["region"], type=OrganisationType.hub)
    admin = principal_for(make_member(Role.hub_admin, hub))
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = register_organisation_key(session, admin, organisation, public_key=b64url(raw), label="koppeling")
    session.commit()
    return private, key.kid, admin


LEGACY = None


def partner_statement(agreement, version, party, *, signer_name, organisation, signed_at, method="organisation-key",
                      previous="as the API gives it"):
    """The statement a partner system signs, built from the documented format (not the hub's code).
    ``previous`` is the version's ``previous`` as ``GET /api/v1/agreements/{id}`` gives it, unless
    given; :data:`LEGACY` leaves it out (the form before issue 18, still accepted)."""
    stmt = {"agreement": str(agreement.id), "version": version.number, "version_hash": version.content_hash,
            "party": party.key, "role": party.role,
            "signer": {"name": signer_name, "organisation": organisation, "on_behalf_of": None},
            "time": signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "method": method}
    if previous == "as the API gives it":
        from consent.agreements.api import _version

        previous = _version(version, agreement)["previous"]
    if previous is not LEGACY:
        stmt["previous"] = previous
    return stmt


def sign_statement(private, stmt) -> str:
    import rfc8785

    return b64url(private.sign(rfc8785.dumps(stmt)))
