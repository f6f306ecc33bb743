"""OAuth 2 for partner systems (authlib): API clients of an organisation, the client-credentials
grant, revocation (RFC 7009), introspection (RFC 7662) and the bearer-token check of the API.

A client belongs to one organisation and holds scopes (:data:`SCOPES`); a hub admin creates,
rotates and revokes it (:mod:`network.oauth_clients`). Client secrets and access tokens are
random 256-bit strings stored only as SHA-256 digests (authlib's SQLAlchemy mixins would store
them in plain text): a leaked database row gives nothing to log in with, and the look-up of a
token is one indexed select. Argon2 is for passwords people choose; for a random 256-bit secret
a plain digest is enough and keeps the token endpoint fast.

An API client acts as its organisation: as a school's staff for a school, as partner staff for
any other organisation. Its permissions are that role's permissions narrowed to its token's
scopes, so every object-level wall and ``consent.decide`` applies as it does for a person of
that organisation; the audit log names the client (``API-client <name>``) as the actor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidScopeError, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import request
from sqlalchemy import ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship

from network.audit import AuditAction, record
from network.clock import utcnow
from network.db import UTCDateTime, db
from network.models import Account, Organisation, OrganisationType, Role
from network.permissions import Acting, Permission, Principal, permissions_for
from network.tags import ApiClientTag

#: access tokens live at most this long (the issue: ≤ 1 hour)
TOKEN_LIFETIME = 3600
#: how often the "last used" moment of a client is written (not on every request)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Scope:
    name: str
    description: str
    permissions: frozenset[Permission]


#: every scope a client can hold, with what it allows (the API's permissions, narrowed further
#: by the client organisation's role: a gemeente client with ``referrals:write`` handles its
#: inbox, it does not create referrals as a school would)
SCOPES: dict[str, Scope] = {scope.name: scope for scope in (
    Scope("students:read", "Leerlingen lezen waarvoor de organisatie een grondslag heeft",
          frozenset({Permission.student_list, Permission.student_view, Permission.student_shared_view})),
    Scope("consents:read", "Toestemmingen lezen",
          frozenset({Permission.consent_view, Permission.consent_shared_view})),
    Scope("consents:write", "Toestemming vastleggen die persoonlijk is gegeven",
          frozenset({Permission.consent_record})),
    Scope("referrals:read", "Verwijzingen, routes en nazorg lezen",
          frozenset({Permission.referral_view, Permission.route_view})),
    Scope("referrals:write", "Verwijzingen maken en behandelen, routes en check-ins bijwerken",
          frozenset({Permission.referral_create, Permission.referral_handle, Permission.route_manage,
                     Permission.checkin_record})),
    Scope("agreements:read", "Plannen en privacyafspraken lezen",
          frozenset({Permission.agreement_view})),
    Scope("agreements:sign", "Plannen en privacyafspraken ondertekenen met de eigen sleutel",
          frozenset({Permission.agreement_view, Permission.agreement_sign})),
    Scope("socialmap:write", "De eigen onderdelen van de sociale kaart bijwerken",
          frozenset({Permission.socialmap_contact_view, Permission.socialmap_service_edit})),
    Scope("webhooks:manage", "Webhook-abonnementen beheren",
          frozenset({Permission.webhook_manage})),
)}


def scope_permissions(scope: str) -> frozenset[Permission]:
    return frozenset().union(*(SCOPES[s].permissions for s in scope.split() if s in SCOPES))


def role_for(organisation: Organisation) -> Role:
    """The role an organisation's client acts in (see the module docstring)."""
    return Role.zorgcoordinator if organisation.type is OrganisationType.school else Role.partner_staff


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiClient(db.Model, ClientMixin):
    """A partner system of one organisation (client credentials, confidential)."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    #: SHA-256 of the secret, hex
    secret_hash: Mapped[str] = mapped_column(String(64))
    #: space-separated scopes this client may ask for
    scope: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    secret_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[Account | None] = relationship()

    def __repr__(self) -> str:
        return f"<ApiClient {self.client_id} org={self.organisation_id}>"

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    # -- authlib's ClientMixin ------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The asked scopes this client holds; all of its scopes when it asks for none."""
        if not scope:
            return self.scope
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(digest(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ApiToken(db.Model, TokenMixin):
    """An access token, stored as its SHA-256 digest."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_in: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[ApiClient] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} client={self.client_id}>"

    @property
    def expires_at(self) -> dt.datetime:
        return self.issued_at + dt.timedelta(seconds=self.expires_in)

    def check_client(self, client: ApiClient) -> bool:
        return self.client_id == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at

    def is_revoked(self) -> bool:
        client = self.client
        return (self.revoked_at is not None or client.revoked_at is not None
                or not client.organisation.is_active)

    def get_user(self) -> None:
        return None

    def get_client(self) -> ApiClient:
        return self.client


# -- the authorization server ----------------------------------------------------------------

def _query_client(client_id: str) -> ApiClient | None:
    client = db.session.scalar(select(ApiClient).join(ApiClient.organisation)
                               .where(ApiClient.client_id == client_id).options(contains_eager(ApiClient.organisation)))
    if client is None or client.revoked_at is not None or not client.organisation.is_active:
        return None
    return client


def _save_token(token: dict, request) -> None:
    client: ApiClient = request.client
    now = utcnow()
    db.session.add(ApiToken(token_hash=digest(token["access_token"]), client_id=client.id,
                            scope=token.get("scope", ""), issued_at=now, expires_in=token["expires_in"]))
    client.last_used_at = now
    record(db.session, client_principal(client, token.get("scope", ""), channel="api"), action=AuditAction.login,
           event_type=ApiClientTag.token, object_type="api_client", object_id=client.id,
           detail={"scope": token.get("scope", "")})


def _query_token(token_string: str) -> ApiToken | None:
    return db.session.scalar(
        select(ApiToken).join(ApiToken.client).join(ApiClient.organisation)
        .where(ApiToken.token_hash == digest(token_string))
        .options(contains_eager(ApiToken.client).contains_eager(ApiClient.organisation)))


class _Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return _query_token(token_string)

    def revoke_token(self, token: ApiToken, request) -> None:
        if token.revoked_at is None:
            token.revoked_at = utcnow()


class _Introspection(IntrospectionEndpoint):
    """A client introspects its own tokens (a resource server of its own can check them)."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return _query_token(token_string)

    def check_permission(self, token: ApiToken, client: ApiClient, request) -> bool:
        return token.client_id == client.id

    def introspect_token(self, token: ApiToken) -> dict:
        client = token.client
        return {"active": True, "client_id": client.client_id,
                "token_type": "Bearer",  # nosec B105 # RFC 7662's token type, not a token
                "scope": token.scope,
                "iat": int(token.issued_at.timestamp()), "exp": int(token.expires_at.timestamp()),
                "sub": client.client_id, "organisation_id": client.organisation_id}


class _ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self):
        """As authlib's, and a scope the client does not hold is ``invalid_scope`` (authlib
        would quietly issue a token without it)."""
        super().validate_token_request()
        asked = (self.request.payload.scope or "").split()
        if any(s not in self.request.client.scopes for s in asked):
            raise InvalidScopeError()


authorization = AuthorizationServer()


def init_oauth(app) -> None:
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": TOKEN_LIFETIME})
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", sorted(SCOPES))
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    if not authorization._token_grants:  # the server is a module global; grants once per process
        authorization.register_grant(_ClientCredentials)
        authorization.register_endpoint(_Revocation)
        authorization.register_endpoint(_Introspection)


# -- the resource server: bearer tokens on /api/v1 -------------------------------------------

class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> ApiToken | None:
        return _query_token(token_string)


protector = ResourceProtector()
protector.register_token_validator(_Validator(realm="schakel"))


def client_principal(client: ApiClient, scope: str, *, source: dict | None = None, channel: str = "api") -> Principal:
    """The actor of a request made with a token of ``client`` holding ``scope``."""
    organisation = client.organisation
    role = role_for(organisation)
    acting = Acting(membership_id=0, organisation_id=organisation.id, organisation_name=organisation.name,
                    organisation_type=organisation.type, region_id=organisation.region_id, role=role)
    source = {**(source or {}), "channel": channel}
    return Principal(name=f"API-client {client.name}", acting=acting, memberships=(acting,), client_id=client.id,
                     scope=scope, permissions=permissions_for(role) & scope_permissions(scope), **source)


def bearer_principal(source: dict) -> Principal | None:
    """The principal of the request's bearer token, None without an ``Authorization`` header;
    an invalid, expired or revoked token is authlib's 401 with ``WWW-Authenticate`` (RFC 6750)."""
    if "Authorization" not in request.headers:
        return None
    try:
        token: ApiToken = protector.acquire_token()
    except OAuth2Error as error:
        protector.raise_error_response(error)
    principal = client_principal(token.client, token.scope, source=source)
    _touch(token.client)
    return principal


def _touch(client: ApiClient) -> None:
    """Write the client's last use at most once a minute (one UPDATE then, none otherwise), in
    a short transaction of its own: a use is a use whatever the request does next, and the
    request's own unit of work is not ended while its principal is still being built."""
    now = utcnow()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        with db.engine.begin() as connection:
            connection.execute(update(ApiClient).where(ApiClient.id == client.id).values(last_used_at=now))


class _InsufficientScope(InsufficientScopeError):
    def __init__(self, scopes: str):
        super().__init__(description=f"Voor dit verzoek is een van deze scopes nodig: {scopes}.")
        self.scopes = scopes

    def get_headers(self):
        return [*super().get_headers(), ("WWW-Authenticate", f'Bearer realm="schakel", error="{self.error}", '
                                                            f'scope="{self.scopes}"')]


def insufficient_scope(permission: Permission, principal: Principal) -> bool:
    """True when ``principal`` is a client whose role has ``permission`` but whose token's scope
    does not grant it (403 ``insufficient_scope``, naming the scopes that would)."""
    return (principal.client_id is not None and permission not in principal.permissions
            and permission in permissions_for(principal.role))


def raise_insufficient_scope(permission: Permission) -> None:
    needed = " ".join(name for name, scope in SCOPES.items() if permission in scope.permissions)
    protector.raise_error_response(_InsufficientScope(needed))
