"""The webhook API (``/api/v1/webhook-subscriptions``): a partner system keeps its own
subscriptions (list, create, read, change with ``If-Match``, end) and rotates their signing
secret. Only an API client with the scope ``webhooks:manage`` does this; another client's
subscription does not exist for it (404). A change comes as ``Content-Type: application/json``
(415 otherwise); unknown fields are refused (400). The secret is in the answer of the create
and of a rotation, and never again. Every error is RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from network.api import (
    ETAG_HEADER,
    NO_IF_MATCH,
    NOT_JSON,
    STALE,
    Blueprint,
    api_principal,
    api_require,
    body_doc,
    check_if_match,
    etag,
    if_match_doc,
    json_body,
)
from network.db import db
from network.permissions import Permission, Principal
from network.schemas import BaseSchema
from network.web import keyring
from network.webhook_delivery import UrlPolicy
from network.webhook_subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    require_client,
    rotate_secret,
    update_subscription,
)
from network.webhooks import EVENT_TYPES, WebhookSubscription

bp = Blueprint("webhooks_api", __name__, url_prefix="/api/v1",
               description="Webhooks: abonnementen van uw partnersysteem op gebeurtenissen")

_EVENT_LIST = ", ".join(f"`{name}` ({description})" for name, description in EVENT_TYPES.items())


class SubscriptionArgs(BaseSchema):
    """The body of a create (``PATCH``: the same fields, each optional)."""

    error_messages = {"unknown": "Onbekend veld."}

    url = fields.String(required=True, validate=validate.Length(max=500),
                        metadata={"description": "Waar de hub de gebeurtenissen heen POST: https, geen intern adres."})
    event_types = fields.List(fields.String(validate=validate.Length(max=60)), required=True,
                              metadata={"description": f"Soorten gebeurtenissen: {_EVENT_LIST}."})
    description = fields.String(allow_none=True, validate=validate.Length(max=200),
                                metadata={"description": "Eigen omschrijving (hoogstens 200 tekens)."})


class SubscriptionSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String()
    created_at = fields.DateTime()
    version = fields.Integer(metadata={"description": 'De ETag is W/"<version>".'})
    previous_secret_valid_until = fields.DateTime(
        allow_none=True, metadata={"description": "Na een rotatie ondertekent het vorige geheim tot dan ook."})


class NewSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(metadata={"description": "Het geheim (`whsec_...`) waarmee de hub ondertekent "
                                                   "(Standard Webhooks). Alleen nu te zien: bewaar het."})


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


class SecretSchema(Schema):
    secret = fields.String(metadata={"description": "Het nieuwe geheim; alleen nu te zien."})
    previous_secret_valid_until = fields.DateTime(metadata={"description": "Tot dan ondertekent het vorige geheim "
                                                                           "ook (24 uur)."})


def _policy() -> UrlPolicy:
    return UrlPolicy.from_config(current_app.config)


def _dump(subscription: WebhookSubscription, secret: str | None = None) -> dict[str, Any]:
    body = {"id": subscription.id, "url": subscription.url, "event_types": subscription.types,
            "description": subscription.description, "created_at": subscription.created_at,
            "version": subscription.version, "previous_secret_valid_until": subscription.previous_secret_until}
    if secret is not None:
        body["secret"] = secret
    return body


def _headers(subscription: WebhookSubscription) -> dict[str, str]:
    return {"ETag": etag(subscription.version),
            "Location": url_for("webhooks_api.subscription", subscription_id=subscription.id)}


def _if_match(subscription: WebhookSubscription, *, required: bool) -> int | None:
    """The version the caller saw (If-Match): 428 when missing and required, 412 stale."""
    return check_if_match(subscription.version, "het abonnement", required=required,
                          stale="Het abonnement is intussen gewijzigd; haal het opnieuw op.")


def _find(subscription_id: int) -> tuple[Principal, WebhookSubscription]:
    principal = api_principal()
    return principal, get_subscription(db.session, principal, subscription_id)


@bp.route("/webhook-subscriptions", endpoint="subscriptions")
class Subscriptions(MethodView):
    decorators = [api_require(Permission.webhook_manage)]

    @bp.response(200, SubscriptionListSchema)
    @bp.problems((401, "Niet ingelogd"), (403, "Geen API-client met de scope webhooks:manage"))
    def get(self):
        """De actieve webhook-abonnementen van uw client."""
        return {"items": [_dump(s) for s in list_subscriptions(db.session, api_principal())]}

    @bp.doc(requestBody=body_doc(SubscriptionArgs))
    @bp.response(201, NewSubscriptionSchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
    @bp.problems((400, "Ongeldige invoer: een URL die niet mag (geen https, een intern adres), een onbekende soort "
                     "gebeurtenis, een onbekend veld"),
               (401, "Niet ingelogd"), (403, "Geen API-client met de scope webhooks:manage"),
               NOT_JSON)
    def post(self):
        """Abonneer een URL op gebeurtenissen. Het antwoord bevat het geheim waarmee de hub elke
        aanroep ondertekent (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
        `webhook-signature`); het is daarna niet meer op te vragen."""
        principal = api_principal()
        require_client(principal)  # before looking at the body: a person gets 403, not 415
        data = json_body(SubscriptionArgs)
        subscription, secret = create_subscription(db.session, principal, keyring(), _policy(), url=data["url"],
                                                   event_types=data["event_types"],
                                                   description=data.get("description") or "")
        body, headers = _dump(subscription, secret), _headers(subscription)
        return body, headers


@bp.route("/webhook-subscriptions/<int:subscription_id>", endpoint="subscription")
class Subscription(MethodView):
    decorators = [api_require(Permission.webhook_manage)]

    @bp.response(200, SubscriptionSchema, headers=ETAG_HEADER)
    @bp.problems((401, "Niet ingelogd"), (403, "Geen API-client met de scope webhooks:manage"),
               (404, "Niet gevonden (of van een andere client)"))
    def get(self, subscription_id):
        """Eén abonnement van uw client."""
        _, subscription = _find(subscription_id)
        return _dump(subscription), {"ETag": etag(subscription.version)}

    @bp.doc(parameters=[if_match_doc("het abonnement")], requestBody=body_doc(SubscriptionArgs))
    @bp.response(200, SubscriptionSchema, headers=ETAG_HEADER)
    @bp.problems((400, "Ongeldige invoer"), (401, "Niet ingelogd"),
               (403, "Geen API-client met de scope webhooks:manage"), (404, "Niet gevonden"),
               STALE, NOT_JSON, NO_IF_MATCH)
    def patch(self, subscription_id):
        """Wijzig de URL, de soorten gebeurtenissen of de omschrijving. Vereist `If-Match`."""
        principal, subscription = _find(subscription_id)
        expected = _if_match(subscription, required=True)
        data = json_body(SubscriptionArgs(partial=True))
        update_subscription(db.session, principal, _policy(), subscription, data, expected_version=expected)
        body, tag = _dump(subscription), etag(subscription.version)
        return body, {"ETag": tag}

    @bp.doc(parameters=[if_match_doc("het abonnement", required=False)])
    @bp.response(204)
    @bp.problems((401, "Niet ingelogd"), (403, "Geen API-client met de scope webhooks:manage"),
               (404, "Niet gevonden"), STALE)
    def delete(self, subscription_id):
        """Beëindig een abonnement: er komen geen gebeurtenissen meer, ook niet wat nog in de
        wachtrij stond. `If-Match` mag (niet verplicht)."""
        principal, subscription = _find(subscription_id)
        delete_subscription(db.session, principal, subscription,
                            expected_version=_if_match(subscription, required=False))


@bp.route("/webhook-subscriptions/<int:subscription_id>/secret-rotations", methods=["POST"])
@api_require(Permission.webhook_manage)
@bp.doc(parameters=[if_match_doc("het abonnement", required=False)])
@bp.response(201, SecretSchema, headers=ETAG_HEADER)
@bp.problems((401, "Niet ingelogd"), (403, "Geen API-client met de scope webhooks:manage"),
           (404, "Niet gevonden"), STALE)
def rotate_subscription_secret(subscription_id):
    """Een nieuw geheim voor een abonnement. Het vorige ondertekent nog 24 uur mee (twee
    handtekeningen in `webhook-signature`), zodat u zonder onderbreking kunt overstappen. Het
    nieuwe geheim staat alleen in dit antwoord."""
    principal, subscription = _find(subscription_id)
    secret = rotate_secret(db.session, principal, keyring(), subscription,
                           expected_version=_if_match(subscription, required=False))
    body = {"secret": secret, "previous_secret_valid_until": subscription.previous_secret_until}
    tag = etag(subscription.version)
    return body, {"ETag": tag}


__all__ = ["bp"]
