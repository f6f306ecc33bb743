"""The README's example partner client, cut out of README.md and run as a partner would run it:
against the hub served over real HTTP (a werkzeug server in a thread), with a real OAuth2 client
(authlib's OAuth2Session on requests). It gets a token, reads the inbox, accepts the referral,
and checks a webhook signature."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from referrals.models import Referral
from referrals.states import ReferralStatus
from tests.factories import bearer, get_token, make_api_client
from tests.network.test_webhooks import Receiver
from tests.referrals.test_api import sent

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_client() -> dict:
    text = README.read_text(encoding="utf-8")
    start = text.index("**Example partner client**")
    code = re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md (partner client)", "exec"), namespace)
    return namespace


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_the_readme_client_accepts_a_referral_and_verifies_the_webhook(live_server, client, session, keyring,
                                                                       rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    api_client, secret = make_api_client(rworld["gemeente"], ["referrals:read", "referrals:write", "webhooks:manage"])
    session.commit()
    receiver = Receiver()
    try:
        token = get_token(client, api_client, secret, scope="webhooks:manage")
        subscribed = client.post("/api/v1/webhook-subscriptions", headers=bearer(token),
                                 json={"url": receiver.url(), "event_types": ["referral.updated"]})
        assert subscribed.status_code == 201, subscribed.get_data(as_text=True)
        webhook_secret = subscribed.get_json()["secret"]

        example = readme_client()
        partner = example["connect"](live_server, api_client.client_id, secret)
        accepted = example["accept_oldest_new_referral"](partner, live_server)
        assert accepted["id"] == referral.id and accepted["status"] == "accepted"
        session.expire_all()
        assert session.get(Referral, referral.id).status is ReferralStatus.accepted
        assert example["accept_oldest_new_referral"](partner, live_server) is None  # nothing new is waiting

        deadline = time.time() + 10  # delivered right after the accepting request committed
        while not receiver.delivered and time.time() < deadline:
            time.sleep(0.05)
        call = receiver.delivered[0]
        event = json.loads(call.body)
        assert event["type"] == "referral.updated" and event["data"]["id"] == referral.id
        assert example["verify_webhook"](webhook_secret, call.headers, call.body)
        assert not example["verify_webhook"](webhook_secret, call.headers, call.body.replace(b"updated", b"created"))
        assert not example["verify_webhook"]("whsec_" + "A" * 32, call.headers, call.body)
        replayed = {**call.headers, "webhook-timestamp": str(int(call.headers["webhook-timestamp"]) - 600)}
        assert not example["verify_webhook"](webhook_secret, replayed, call.body)  # too old: a replay
    finally:
        receiver.stop()


def test_the_readme_client_is_refused_with_a_wrong_secret(live_server, session, rworld):
    from authlib.integrations.base_client.errors import OAuthError

    api_client, _ = make_api_client(rworld["gemeente"], ["referrals:read"])
    session.commit()
    with pytest.raises(OAuthError, match="invalid_client"):
        readme_client()["connect"](live_server, api_client.client_id, "niet-het-geheim")
