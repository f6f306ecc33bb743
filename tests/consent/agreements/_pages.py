"""Helpers of the signing, printing, verification and API tests: plans offered for signature
(of the 17-year-old, and of the 15-year-old whose guardian signs), URLs, a TOTP second factor,
and an organisation's own Ed25519 key."""

from __future__ import annotations

import base64
import datetime as dt

import pyotp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from consent.agreements.access import find_agreement
from consent.agreements.models import AgreementKind, AgreementVersion, SigningOrder
from consent.agreements.service import create_agreement, save_parties, save_section
from consent.lifecycle import add_representation
from network.db import db
from network.models import Account
from tests.consent.agreements._signed import offer, party_keys
from tests.consent.agreements.conftest import CHECKS, give_plan_consent, party_rows, ready_plan
from tests.factories import AccountFactory


def offered_plan(session, keyring, world, actors, *, order=SigningOrder.parallel, signers=None):
    """The 17-year-old's plan with the gemeente as a party (and the student's consent for it to
    read the plan), version 1 offered to the student, the school and the gemeente."""
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = party_keys(world)
    offer(session, keyring, actors["mentor"], agreement.id,
          [keys[name] for name in (signers or ("student", "school", "gemeente"))], order)
    return agreement.id


def young_plan(session, keyring, world, actors):
    """The 15-year-old's plan, offered to the student (signed by the guardian) and the school;
    the guardian is recorded as the legal representative. Returns the agreement id."""
    mentor = actors["mentor"]
    add_representation(session, mentor, world["young"], email="ouder@example.org", relation="ouder")
    agreement = create_agreement(session, mentor, keyring, world["young"], AgreementKind.plan)
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Werken als kok"})
    save_section(session, mentor, keyring, agreement, access, "checks", dict(CHECKS))
    save_parties(session, mentor, keyring, agreement, access, party_rows(agreement))
    session.commit()
    offer(session, keyring, mentor, agreement.id)
    return agreement.id


def young_account(session, world):
    """An account of the 15-year-old themself."""
    account = AccountFactory(name="Jonge Leerling")
    world["young"].account_id = account.id
    session.commit()
    return account


def sign_url(agreement_id, number=1, partij=None, action="ondertekenen") -> str:
    url = f"/plannen/{agreement_id}/versies/{number}/{action}"
    return url + (f"?partij={partij}" if partij else "")


def enable_totp(session, keyring, account) -> pyotp.TOTP:
    """Switch a second factor on for ``account``; returns its TOTP generator."""
    secret = pyotp.random_base32()
    session.execute(update(Account).where(Account.id == account.id).values(
        totp_secret_encrypted=keyring.encrypt(secret, account.totp_ref()),
        totp_enabled_at=dt.datetime.now(dt.UTC)))
    session.commit()
    return pyotp.TOTP(secret, interval=30)


def version_row(session, agreement_id, number=1) -> AgreementVersion:
    session.expire_all()
    return session.scalar(select(AgreementVersion).where(AgreementVersion.agreement_id == agreement_id,
                                                         AgreementVersion.number == number))


def tamper_content(agreement_id, number=1) -> None:
    """Change one character of the stored ciphertext, as someone with database access could."""
    version = version_row(db.session, agreement_id, number)
    token = version.content_encrypted
    index = len(token) - 5
    changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1:]
    db.session.execute(update(AgreementVersion).where(AgreementVersion.id == version.id)
                       .values(content_encrypted=changed))
    db.session.commit()


class OrgKey:
    """An organisation's own Ed25519 key pair, made in the test as a partner system would."""

    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.b64 = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        self.pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, statement: dict) -> str:
        import rfc8785

        return base64.urlsafe_b64encode(self.private.sign(rfc8785.dumps(statement))).rstrip(b"=").decode()
