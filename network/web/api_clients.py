"""Beheer of partner systems' API clients (``/beheer/organisaties/<id>/api-clients``).

The hub admin creates a client for an organisation with the scopes it needs, rotates its
secret and revokes it, and sees when it was last used. A new secret is shown once, on the
answer to the POST that made it (never stored in a session or a flash message, never
redirected to a page that could be reloaded later).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from network.db import db
from network.directory import get_organisation
from network.errors import NotFound, ValidationFailed
from network.oauth import SCOPES, ApiClient
from network.oauth_clients import clients_of, create_client, revoke_client, rotate_secret
from network.permissions import Permission
from network.web import current_principal, redirect_to, require

bp = Blueprint("api_clients", __name__, url_prefix="/beheer")

_NO_STORE = {"Cache-Control": "no-store"}

#: what each scope allows, for the admin (network.oauth.SCOPES has the Dutch text of the OpenAPI)
SCOPE_LABELS = {
    "students:read": _l("Leerlingen lezen waarvoor de organisatie een grondslag heeft"),
    "consents:read": _l("Toestemmingen lezen"),
    "consents:write": _l("Toestemming vastleggen die persoonlijk is gegeven"),
    "referrals:read": _l("Verwijzingen, routes en nazorg lezen"),
    "referrals:write": _l("Verwijzingen maken en behandelen, routes en check-ins bijwerken"),
    "agreements:read": _l("Plannen en privacyafspraken lezen"),
    "agreements:sign": _l("Plannen en privacyafspraken ondertekenen met de eigen sleutel"),
    "socialmap:write": _l("De eigen onderdelen van de sociale kaart bijwerken"),
    "webhooks:manage": _l("Webhook-abonnementen beheren"),
}


def _page(organisation, *, values=None, errors=None, status=200):
    return render_template("admin/api_clients.html", organisation=organisation, scopes=SCOPES,
                           scope_labels=SCOPE_LABELS,
                           clients=clients_of(db.session, organisation.id), values=values or {"scopes": []},
                           errors=errors or {}), status


def _client(organisation, client_id: int) -> ApiClient:
    client = db.session.get(ApiClient, client_id)
    if client is None or client.organisation_id != organisation.id:
        raise NotFound(_("Deze API-client bestaat niet."))
    return client


def _secret_page(organisation, client: ApiClient, secret: str, *, new: bool):
    body = render_template("admin/api_client_secret.html", organisation=organisation, client=client, secret=secret,
                           new=new)
    return body, 201 if new else 200, _NO_STORE


@bp.get("/organisaties/<int:organisation_id>/api-clients")
@require(Permission.api_client_manage)
def clients(organisation_id: int):
    return _page(get_organisation(db.session, current_principal(), organisation_id))


@bp.post("/organisaties/<int:organisation_id>/api-clients")
@require(Permission.api_client_manage)
def client_create(organisation_id: int):
    principal = current_principal()
    organisation = get_organisation(db.session, principal, organisation_id)
    values = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes")}
    try:
        client, secret = create_client(db.session, principal, organisation, name=values["name"],
                                       scopes=values["scopes"])
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(get_organisation(db.session, principal, organisation_id), values=values, errors=exc.errors,
                     status=400)
    return _secret_page(organisation, client, secret, new=True)


@bp.post("/organisaties/<int:organisation_id>/api-clients/<int:client_id>/nieuw-geheim")
@require(Permission.api_client_manage)
def client_rotate(organisation_id: int, client_id: int):
    principal = current_principal()
    organisation = get_organisation(db.session, principal, organisation_id)
    client = _client(organisation, client_id)
    try:
        secret = rotate_secret(db.session, principal, client)
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(get_organisation(db.session, principal, organisation_id),
                     errors={"client": [exc.detail or ""]}, status=409)
    return _secret_page(organisation, client, secret, new=False)


@bp.post("/organisaties/<int:organisation_id>/api-clients/<int:client_id>/intrekken")
@require(Permission.api_client_manage)
def client_revoke(organisation_id: int, client_id: int):
    principal = current_principal()
    organisation = get_organisation(db.session, principal, organisation_id)
    client = _client(organisation, client_id)
    revoke_client(db.session, principal, client)
    return redirect_to("api_clients.clients", _("De client %(name)s is ingetrokken; zijn tokens werken niet "
                                                        "meer.", name=client.name), organisation_id=organisation.id)
