"""The hub's own audit event tags: signing in, the directory (regions, organisations, accounts),
students, keys, API clients and webhook subscriptions. See :mod:`network.events`.

The values are stored in the hash-chained audit log: never change one (the older ones keep their
spelling, ``api_client.create`` with a dot among them).
"""

from __future__ import annotations

from network.events import EventTag


class AuthTag(EventTag):
    login = "auth:login"
    logout = "auth:logout"
    reauthenticate = "auth:reauthenticate"
    totp_enable = "auth:totp_enable"
    totp_disable = "auth:totp_disable"
    password_change = "auth:password_change"  # nosec B105 # an audit event's name, not a password
    password_reset_request = "auth:password_reset_request"  # nosec B105 # an audit event's name, not a password
    password_reset = "auth:password_reset"  # nosec B105 # an audit event's name, not a password


class RegionTag(EventTag):
    create = "region:create"


class OrganisationTag(EventTag):
    create = "organisation:create"
    update = "organisation:update"
    key_register = "organisation:key-register"
    key_revoke = "organisation:key-revoke"


class AccountTag(EventTag):
    create = "account:create"
    deactivate = "account:deactivate"
    reactivate = "account:reactivate"


class MembershipTag(EventTag):
    create = "membership:create"


class StudentTag(EventTag):
    create = "student:create"
    update = "student:update"
    #: the edit form was shown (a read of the student's data)
    edit = "student:edit"
    view = "student:view"
    list = "student:list"


class ApiClientTag(EventTag):
    create = "api_client.create"
    rotate = "api_client.rotate"
    revoke = "api_client.revoke"
    token = "api_client.token"  # nosec B105 # an audit event's name, not a token


class WebhookTag(EventTag):
    subscribe = "webhook:subscribe"
    update = "webhook:update"
    rotate = "webhook:rotate"
    unsubscribe = "webhook:unsubscribe"
    replay = "webhook:replay"
