"""Which webhook events the domain services emit, for whom, and what they hold: a referral
sent or changed (the organisations on either side), a consent withdrawn (its recipient), an
agreement offered (the organisations that sign), a sociale kaart entry changed (everyone
subscribed). Events are thin: ids, never a name or content. They are written in the
transaction of the change and vanish with it."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from consent.agreements.models import SigningOrder
from consent.service import withdraw_consent
from network.models import OrganisationType, OutboxMessage
from network.oauth import client_principal
from network.permissions import system_principal
from network.webhook_delivery import UrlPolicy
from network.webhook_subscriptions import create_subscription, delete_subscription
from referrals import service as rs
from referrals import transitions as rt
from referrals import wizard_service as ws
from socialmap.entries import create_service, set_capacity, update_service
from tests.consent.agreements._signed import offer, party_keys, sign
from tests.consent.agreements.conftest import give_plan_consent, ready_plan
from tests.consent.conftest import actors, world  # noqa: F401 - fixtures
from tests.factories import OrganisationFactory, make_api_client
from tests.referrals.conftest import draft_data, ractors, rworld  # noqa: F401 - fixtures

ALL_TYPES = ["referral.created", "referral.updated", "consent.withdrawn", "agreement.awaiting_signature",
             "socialmap.changed"]


def subscribed(session, keyring, organisation, types=ALL_TYPES, name="Zaaksysteem") -> int:
    """A partner system of ``organisation`` subscribed to ``types``; returns the subscription id."""
    api_client, _ = make_api_client(organisation, ["webhooks:manage", "referrals:read", "consents:read",
                                                   "agreements:read"], name=name)
    principal = client_principal(api_client, api_client.scope)
    subscription, _ = create_subscription(session, principal, keyring, UrlPolicy(True, True),
                                          url=f"https://hooks.example/{organisation.id}/{name}", event_types=types)
    session.commit()
    return subscription.id


def events(session, keyring) -> list[tuple[int, str, dict]]:
    """(subscription id, event type, event body) of every queued webhook, in order of creation."""
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                               .order_by(OutboxMessage.created_at, OutboxMessage.subscription_id)).all()
    return [(m.subscription_id, m.subject, json.loads(keyring.decrypt(m.body_encrypted, m.body_ref())))
            for m in messages]


def of_type(found, event_type) -> dict[int, dict]:
    return {subscription: body for subscription, kind, body in found if kind == event_type}


def test_a_sent_and_changed_referral_is_announced_to_both_sides_and_no_one_else(session, keyring, rworld, ractors):
    school = subscribed(session, keyring, rworld["school"])
    gemeente = subscribed(session, keyring, rworld["gemeente"])
    gemeente_map_only = subscribed(session, keyring, rworld["gemeente"], ["socialmap.changed"], name="Kaart")
    elsewhere = subscribed(session, keyring, rworld["far_gemeente"])
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    session.commit()
    assert events(session, keyring) == []  # a draft is nobody's business yet

    ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23))
    session.commit()
    created = of_type(events(session, keyring), "referral.created")
    assert set(created) == {school, gemeente}
    assert all(body["data"] == {"id": referral.id} and body["type"] == "referral.created" for body in created.values())

    rt.transition(session, ractors["jobcoach"], keyring, referral, "accepted", expected_version=referral.version)
    session.commit()
    assert set(of_type(events(session, keyring), "referral.updated")) == {school, gemeente}

    rs.post_message(session, ractors["jobcoach"], keyring, referral, "Intern: Sanne belt maandag", internal=True)
    session.commit()
    updates = [s for s, kind, _ in events(session, keyring) if kind == "referral.updated"]
    assert updates.count(gemeente) == 2 and updates.count(school) == 1  # the internal note stays inside

    found = events(session, keyring)
    assert gemeente_map_only not in {s for s, _, _ in found} and elsewhere not in {s for s, _, _ in found}
    text = json.dumps([body for _, _, body in found])
    for name in ("Sanne", "Jobzoeker", rworld["school"].name, rworld["gemeente"].name, "Jobcoaching",
                 rworld["student"].id.hex):
        assert name not in text  # thin: ids of the referral only


def test_a_failed_change_leaves_no_event(session, keyring, rworld, ractors):
    subscribed(session, keyring, rworld["gemeente"])
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23))
    session.rollback()  # the request failed after the send
    assert events(session, keyring) == []


def test_a_withdrawn_consent_is_announced_to_its_recipient_only(session, keyring, rworld, ractors):
    school = subscribed(session, keyring, rworld["school"])
    gemeente = subscribed(session, keyring, rworld["gemeente"])
    consent = rworld["consent"]
    withdraw_consent(session, ractors["student_account"], keyring, consent)
    session.commit()
    found = of_type(events(session, keyring), "consent.withdrawn")
    assert set(found) == {gemeente} and school not in found
    assert found[gemeente]["data"] == {"id": consent.id, "student_id": str(consent.student_id)}


def test_an_offered_agreement_is_announced_to_the_organisations_that_sign(session, keyring, world, actors):
    gemeente = subscribed(session, keyring, world["gemeente"])
    rmc = subscribed(session, keyring, world["rmc"])
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    assert of_type(events(session, keyring), "agreement.awaiting_signature") == {}  # a draft
    keys = party_keys(world)
    number = offer(session, keyring, actors["mentor"], agreement.id, [keys["student"], keys["gemeente"]],
                   SigningOrder.parallel)
    found = of_type(events(session, keyring), "agreement.awaiting_signature")
    assert set(found) == {gemeente} and rmc not in found
    assert found[gemeente]["data"] == {"id": str(agreement.id), "version": number}


def test_a_sequential_signing_announces_each_organisation_when_it_is_its_turn(session, keyring, world, actors):
    school = subscribed(session, keyring, world["school"])
    gemeente = subscribed(session, keyring, world["gemeente"])
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = party_keys(world)
    number = offer(session, keyring, actors["mentor"], agreement.id,
                   [keys["student"], keys["school"], keys["gemeente"]], SigningOrder.sequential)

    def announced() -> list[int]:
        return [sub for sub, kind, _ in events(session, keyring) if kind == "agreement.awaiting_signature"]

    assert announced() == []  # the student signs first: no organisation's turn yet
    sign(session, keyring, actors["student_account"], agreement.id, number, keys["student"])
    assert announced() == [school]
    sign(session, keyring, actors["mentor"], agreement.id, number, keys["school"])
    assert announced() == [school, gemeente]  # each announced once, in turn
    body = of_type(events(session, keyring), "agreement.awaiting_signature")[gemeente]
    assert body["data"] == {"id": str(agreement.id), "version": number}


def test_a_sociale_kaart_change_is_announced_to_every_subscriber(session, keyring, rworld):
    here = subscribed(session, keyring, rworld["gemeente"])
    far = subscribed(session, keyring, rworld["far_gemeente"])
    referrals_only = subscribed(session, keyring, rworld["school"], ["referral.created"])
    ended = subscribed(session, keyring, OrganisationFactory(region=rworld["region"], type=OrganisationType.wsp))
    from network.webhooks import WebhookSubscription

    subscription = session.get(WebhookSubscription, ended)
    delete_subscription(session, client_principal(subscription.client, "webhooks:manage"), subscription)
    session.commit()

    system = system_principal()
    service = create_service(session, system, rworld["gemeente"], {"name": "Werkfit traject"})
    session.commit()
    update_service(session, system, service, {"description": "Voor jongeren tot 27 jaar"})
    session.commit()
    update_service(session, system, service, {"description": "Voor jongeren tot 27 jaar"})  # nothing changed
    session.commit()
    set_capacity(session, system, service, "wachtlijst")
    session.commit()
    found = [(s, body) for s, kind, body in events(session, keyring) if kind == "socialmap.changed"]
    assert sorted(s for s, _ in found) == sorted([here, far] * 3)
    assert {json.dumps(body["data"]) for _, body in found} == {json.dumps({"id": str(service.uuid)})}
    assert referrals_only not in {s for s, _ in found} and ended not in {s for s, _ in found}
