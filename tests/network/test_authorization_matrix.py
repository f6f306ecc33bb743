"""Who gets what: every route of the app × every role × three tenants.

Every rule in ``app.url_map`` must be classified in :data:`MATRIX`; a new route without an
entry fails :func:`test_every_route_is_classified`. Kinds of entry:

- ``PUBLIC``: anyone, logged in or not (must not be refused or crash);
- a status code: everyone gets that answer (e.g. 404 for a made-up reset token);
- ``LOGIN``: any logged-in account; anonymous users are sent to the login page;
- ``Perm(permission, walls)``: anonymous → login page; a role without the permission → 403;
  with it, an object outside the caller's walls → 404, inside → served.

Tenants are relative to the school staff's school A in region 1: ``own`` (school A, or an
object of it), ``same_region`` (school B in region 1) and ``other_region`` (school C in region 2).
Partner staff (a gemeente), the coordinator and the hub admin (the hub) all sit in region 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from network.models import OrganisationType, Role
from network.permissions import Permission
from tests.factories import OrganisationFactory, RegionFactory, StudentFactory, login, make_member

SCHOOL_STAFF = ("zorgcoordinator", "mentor", "bpv_begeleider", "decaan")
ROLES = ("anonymous", *SCHOOL_STAFF, "partner_staff", "coordinator", "hub_admin", "student")
TENANTS = ("own", "same_region", "other_region")

OK, LOGIN_PAGE, FORBIDDEN, NOT_FOUND = "ok", "login", 403, 404


# -- walls: which tenants' objects exist for a role (inside the permission check) ----------

def school_walls(role: str, tenant: str) -> bool:
    """Students: only those of the school the staff member acts for."""
    return tenant == "own"


def region_walls(role: str, tenant: str) -> bool:
    """Organisations (and accounts for the coordinator): the own region; the hub admin: all."""
    return role == "hub_admin" or tenant != "other_region"


@dataclass(frozen=True)
class Perm:
    permission: Permission
    walls: Callable[[str, str], bool] | None = None


PUBLIC, LOGIN = "public", "login-required"

MATRIX: dict[str, object] = {
    # main
    "main.index": PUBLIC,
    "main.dashboard": Perm(Permission.dashboard_view),
    "main.set_language": PUBLIC,
    "main.healthz": PUBLIC,
    "main.readyz": PUBLIC,
    "main.jwks": PUBLIC,
    "static": PUBLIC,
    # public API (the sociale kaart directory) and its OpenAPI document
    "api-docs.openapi_json": PUBLIC,
    "directory.list_regions": PUBLIC,
    "directory.list_organisations": PUBLIC,
    # login and the own account (network/web/auth.py)
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.totp_verify": PUBLIC,  # sends to the login page when no login is pending
    "auth.totp_setup": LOGIN,  # or a login pending its forced set-up
    "auth.totp_disable": LOGIN,
    "auth.account": LOGIN,
    "auth.change_password": LOGIN,
    "auth.forgot_password": PUBLIC,
    "auth.forgot_password_sent": PUBLIC,
    "auth.reset_link": NOT_FOUND,  # for a made-up token; a real one is tested in the auth tests
    "auth.reset_password": NOT_FOUND,  # without a checked reset link in the session
    # development mailbox: 404 in production
    "dev.mailbox": LOGIN,
    # students
    "students.index": Perm(Permission.student_list),
    "students.create": Perm(Permission.student_create),
    "students.detail": Perm(Permission.student_view, school_walls),
    "students.edit": Perm(Permission.student_update, school_walls),
    # beheer
    "admin.organisations": Perm(Permission.organisation_view),
    "admin.organisation_new": Perm(Permission.organisation_manage),
    "admin.organisation": Perm(Permission.organisation_view, region_walls),
    "admin.organisation_edit": Perm(Permission.organisation_manage, region_walls),
    "admin.accounts": Perm(Permission.account_view),
    "admin.account_new": Perm(Permission.account_manage),
    "admin.account": Perm(Permission.account_view, region_walls),
    "admin.account_membership": Perm(Permission.account_manage, region_walls),
    "admin.account_deactivate": Perm(Permission.account_manage, region_walls),
    "admin.account_reactivate": Perm(Permission.account_manage, region_walls),
}


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = sorted(endpoints - set(MATRIX))
    assert not unclassified, f"add these endpoints to the authorization matrix: {unclassified}"
    stale = sorted(set(MATRIX) - endpoints)
    assert not stale, f"these matrix entries have no route any more: {stale}"


def test_permission_declarations_match_the_views(app):
    for endpoint, spec in MATRIX.items():
        if isinstance(spec, Perm):
            declared = getattr(app.view_functions[endpoint], "required_permission", None)
            assert declared is spec.permission, f"{endpoint} declares {declared}, matrix says {spec.permission}"


def expected(spec, role: str, tenant: str):
    if spec == PUBLIC:
        return OK
    if isinstance(spec, int):
        return spec
    if role == "anonymous":
        return LOGIN_PAGE
    if spec == LOGIN:
        return OK
    from network.permissions import ROLE_PERMISSIONS

    if spec.permission not in ROLE_PERMISSIONS[Role(role)]:
        return FORBIDDEN
    if spec.walls is not None and not spec.walls(role, tenant):
        return NOT_FOUND
    return OK


# -- the world -----------------------------------------------------------------------------

@pytest.fixture
def world(session):
    region, far = RegionFactory(), RegionFactory()
    schools = {"own": OrganisationFactory(region=region, school=True),
               "same_region": OrganisationFactory(region=region, school=True),
               "other_region": OrganisationFactory(region=far, school=True)}
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente)
    hub = OrganisationFactory(region=region, type=OrganisationType.hub)
    actors = {role: make_member(Role(role), schools["own"]) for role in SCHOOL_STAFF}
    actors["partner_staff"] = make_member(Role.partner_staff, gemeente)
    actors["coordinator"] = make_member(Role.coordinator, hub)
    actors["hub_admin"] = make_member(Role.hub_admin, hub)
    actors["student"] = make_member(Role.student, schools["own"])
    StudentFactory(school=schools["own"], account_id=actors["student"].id)
    return {
        "actors": actors,
        "student_id": {t: StudentFactory(school=s).id for t, s in schools.items()},
        "organisation_id": {t: s.id for t, s in schools.items()},
        "account_id": {t: make_member(Role.mentor, s).id for t, s in schools.items()},
    }


_FIXED = {"filename": "css/schakel.css", "token": "geen-geldig-token"}


def build_url(rule, world, tenant: str) -> str:
    url = rule.rule
    for name in rule.arguments:
        if name in _FIXED:
            value = _FIXED[name]
        elif name in world:
            value = world[name][tenant]
        else:
            raise AssertionError(f"the matrix does not know how to fill <{name}> in {rule.rule}")
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), url)
    return url


def outcome(response) -> object:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status in (301, 302, 303) and "/inloggen?" in location and "next=" in location:
        return LOGIN_PAGE  # Flask-Login's answer to an anonymous request (logout also ends there)
    if status in (403, 404):
        return status
    if status >= 500:
        return status
    return OK  # 2xx, other redirects, and 4xx answers to an empty form post


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_matrix(app, client, world, monkeypatch, endpoint, role):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # empty posts reach the views
    spec = MATRIX[endpoint]
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]
    assert rules, f"no route for {endpoint}"
    if role != "anonymous":
        login(client, world["actors"][role])
    mismatches = []
    for rule in rules:
        method = "GET" if "GET" in rule.methods else "POST"
        tenants = TENANTS if rule.arguments - set(_FIXED) else ("own",)
        for tenant in tenants:
            url = build_url(rule, world, tenant)
            response = client.open(url, method=method)
            got, want = outcome(response), expected(spec, role, tenant)
            response.close()
            if got != want:
                mismatches.append(f"{method} {url} [{tenant}]: got {got} ({response.status_code}), want {want}")
    assert not mismatches, "\n".join(mismatches)
