"""Who is acting, and what they may do.

Permissions are named ``feature:resource:action`` and granted per role. A :class:`Principal` is
the acting account in one organisation and role (its *acting membership*), plus where the
request came from; services receive it and the audit log records it. Object-level checks are
the ``can_*`` predicates: a view checks the permission, loads the object, then the predicate
(404 before 403: an object outside the caller's walls does not exist for them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from network.models import SCHOOL_STAFF_ROLES, OrganisationType, Role


class Permission(enum.StrEnum):
    dashboard_view = "network:dashboard:view"
    student_list = "network:student:list"
    student_view = "network:student:view"
    student_create = "network:student:create"
    student_update = "network:student:update"
    #: partner staff read the students who gave their organisation a basis (the students API;
    #: the HTML shows them per consent under consent_shared_view)
    student_shared_view = "network:student:shared-view"
    organisation_view = "network:organisation:view"
    organisation_manage = "network:organisation:manage"
    account_view = "network:account:view"
    account_manage = "network:account:manage"
    audit_verify = "network:audit:verify"
    outbox_view = "network:outbox:view"
    #: whether the background work keeps up (scheduler, outbox, audit sealing): the hub admin's
    #: and the uitstroomcoördinator's dashboards warn when it does not (network.health)
    operations_view = "network:operations:view"
    # the sociale kaart (socialmap/): reading active entries is public, contacts are for members
    socialmap_contact_view = "socialmap:contact:view"
    socialmap_service_edit = "socialmap:service:edit"
    socialmap_freshness_view = "socialmap:freshness:view"
    socialmap_category_manage = "socialmap:category:manage"
    socialmap_export = "socialmap:service:export"
    socialmap_import = "socialmap:service:import"
    # consent (the consent package's views; declared here so roles can hold them)
    consent_view = "consent:consent:view"
    consent_record = "consent:consent:record"
    consent_catalogue = "consent:catalogue:manage"
    consent_shared_view = "consent:shared:view"
    # referrals and routes (referrals/): school staff refer and keep the routes of their own
    # students; partner staff work the inbox of their organisation; the uitstroomcoördinator
    # watches the region's overdue referrals and outcomes (aggregates, no student data)
    referral_create = "referrals:referral:create"
    referral_view = "referrals:referral:view"
    referral_handle = "referrals:referral:handle"
    referral_overdue = "referrals:referral:overdue"
    route_view = "referrals:route:view"
    route_manage = "referrals:route:manage"
    checkin_record = "referrals:checkin:record"
    region_dashboard = "referrals:dashboard:view"
    #: the region's follow-up term per school level (the uitstroomcoördinator; the hub admin any region)
    followup_term_manage = "referrals:followup-term:manage"
    #: the map's editors (the uitstroomcoördinator, the hub admin) answer the companies schools
    #: propose with a placement (referrals.placements.proposals)
    employer_proposal_review = "referrals:employer-proposal:review"
    #: an employer's staff fill in the employer's assessment of an internship at their company in the hub
    placement_assess = "referrals:placement:assess"
    #: a stagebedrijf's placement history and the employers' own feedback (school staff, the
    #: uitstroomcoördinator, the hub admin; referrals.placements.employer_profile)
    employer_profile_view = "referrals:employer-profile:view"
    # signed agreements (consent/agreements/): the school drafts and offers the plan and the
    # privacy agreement of its own students; every party (student, school, partner) reads and
    # signs its own; object-level walls in consent.agreements.access.find_agreement
    agreement_view = "consent:agreement:view"
    agreement_manage = "consent:agreement:manage"
    organisation_key_manage = "network:organisation-key:manage"
    # a partner system signs its organisation's part with its own key (the API)
    agreement_sign = "consent:agreement:sign"
    # partner systems (network/oauth.py): the hub admin manages API clients; a client with the
    # scope webhooks:manage keeps its own webhook subscriptions
    api_client_manage = "network:api-client:manage"
    webhook_manage = "network:webhook:manage"


_SCHOOL_STAFF = frozenset({
    Permission.dashboard_view, Permission.student_list, Permission.student_view,
    Permission.student_create, Permission.student_update, Permission.organisation_view,
    Permission.consent_view, Permission.consent_record,
})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    **{role: _SCHOOL_STAFF for role in SCHOOL_STAFF_ROLES},
    Role.partner_staff: frozenset({Permission.dashboard_view, Permission.organisation_view,
                                   Permission.consent_shared_view, Permission.student_shared_view}),
    Role.coordinator: frozenset({Permission.dashboard_view, Permission.organisation_view, Permission.account_view,
                                 Permission.operations_view}),
    Role.hub_admin: frozenset({
        Permission.dashboard_view, Permission.organisation_view, Permission.organisation_manage,
        Permission.account_view, Permission.account_manage, Permission.audit_verify, Permission.outbox_view,
        Permission.consent_catalogue, Permission.operations_view,
    }),
    Role.student: frozenset({Permission.dashboard_view}),
}

# The sociale kaart (socialmap/). Every network member (not students) sees contact persons,
# edits the own organisation's entries (object level: socialmap.entries.can_edit_service) and
# exports; the uitstroomcoördinator keeps the region's map current; the hub admin also edits
# the "waarvoor te benaderen" catalogue.
_SOCIALMAP_MEMBER = frozenset({
    Permission.socialmap_contact_view, Permission.socialmap_service_edit, Permission.socialmap_export,
})
_SOCIALMAP_COORDINATOR = _SOCIALMAP_MEMBER | {Permission.socialmap_freshness_view, Permission.socialmap_import}
for _role, _granted in {
    **{role: _SOCIALMAP_MEMBER for role in SCHOOL_STAFF_ROLES},
    Role.partner_staff: _SOCIALMAP_MEMBER,
    Role.coordinator: _SOCIALMAP_COORDINATOR,
    Role.hub_admin: _SOCIALMAP_COORDINATOR | {Permission.socialmap_category_manage},
}.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

# Signed agreements (consent/agreements/). A guardian has no membership and so no role: the
# pages a guardian needs (read and sign a plan of a student under 16) are login-only views
# with the agreement's own walls.
for _role, _granted in {
    **{role: frozenset({Permission.agreement_view, Permission.agreement_manage, Permission.agreement_sign,
                        Permission.webhook_manage}) for role in SCHOOL_STAFF_ROLES},
    Role.partner_staff: frozenset({Permission.agreement_view, Permission.agreement_sign, Permission.webhook_manage}),
    Role.student: frozenset({Permission.agreement_view}),
    Role.hub_admin: frozenset({Permission.organisation_key_manage, Permission.api_client_manage}),
}.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

# Referrals and routes (referrals/); object-level checks in referrals.service (can_view_referral, ...).
for _role, _granted in {
    **{role: frozenset({Permission.referral_create, Permission.referral_view, Permission.route_view,
                        Permission.route_manage, Permission.checkin_record, Permission.employer_profile_view})
       for role in SCHOOL_STAFF_ROLES},
    Role.partner_staff: frozenset({Permission.referral_view, Permission.referral_handle, Permission.checkin_record,
                                   Permission.placement_assess}),
    Role.coordinator: frozenset({Permission.referral_overdue, Permission.region_dashboard,
                                 Permission.employer_proposal_review, Permission.employer_profile_view,
                                 Permission.followup_term_manage}),
    Role.hub_admin: frozenset({Permission.referral_overdue, Permission.region_dashboard,
                               Permission.employer_proposal_review, Permission.employer_profile_view,
                               Permission.followup_term_manage}),
}.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted


@dataclass(frozen=True)
class Acting:
    """The membership an account acts under: one organisation, one role."""

    membership_id: int
    organisation_id: int
    organisation_name: str
    organisation_type: OrganisationType
    region_id: int
    role: Role


@dataclass(frozen=True)
class Principal:
    """The actor of a request, CLI command or job, and where it came from (NEN 7513 user and
    source fields). ``account_id`` is None for anonymous requests and for the system itself."""

    account_id: int | None = None
    name: str = "anoniem"
    acting: Acting | None = None
    memberships: tuple[Acting, ...] = ()
    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    #: the person on whose behalf this actor works (a guardian for a student under 16, ...)
    on_behalf_of: str | None = None
    #: "web", "api", "cli" or "job"
    channel: str = "web"
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    #: the API client (network.oauth.ApiClient id) acting for its organisation, and its token's scope
    client_id: int | None = None
    scope: str = ""
    #: what a personal link (channel ``link``, no account) was issued for, e.g. ``placement:12``:
    #: the one object its holder acts on (the praktijkopleider's assessment link)
    link_object: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.account_id is not None or self.client_id is not None

    @property
    def role(self) -> Role | None:
        return self.acting.role if self.acting else None

    @property
    def organisation_id(self) -> int | None:
        return self.acting.organisation_id if self.acting else None

    @property
    def region_id(self) -> int | None:
        return self.acting.region_id if self.acting else None

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_school_staff(self) -> bool:
        return self.role in SCHOOL_STAFF_ROLES


def permissions_for(role: Role | None) -> frozenset[Permission]:
    return ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()


def system_principal(channel: str = "cli", name: str = "systeem") -> Principal:
    """The hub itself, for CLI commands and scheduled jobs (audited as such)."""
    return Principal(name=name, channel=channel)


# -- object-level predicates -----------------------------------------------------------

def can_manage_student(principal: Principal, student) -> bool:
    """School staff act on the students of the school they act for; nobody else does here."""
    return principal.is_school_staff and student.school_id == principal.organisation_id


def can_view_organisation(principal: Principal, organisation) -> bool:
    """Every member of the network sees the organisations of their own region; hub admins all."""
    if principal.role is Role.hub_admin:
        return True
    return principal.has(Permission.organisation_view) and organisation.region_id == principal.region_id


def can_view_account(principal: Principal, account) -> bool:
    """Hub admins see every account; coordinators the accounts of their region."""
    if principal.role is Role.hub_admin:
        return True
    if principal.role is Role.coordinator:
        return any(m.organisation.region_id == principal.region_id for m in account.memberships)
    return False
