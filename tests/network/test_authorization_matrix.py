"""Who gets what: every route of the app × every role × three tenants.

Every rule in ``app.url_map`` must be classified in :data:`MATRIX`; a new route without an
entry fails :func:`test_every_route_is_classified`. Kinds of entry:

- ``PUBLIC``: anyone, logged in or not (must not be refused or crash);
- a status code: everyone gets that answer (e.g. 404 for a made-up reset token);
- ``LOGIN``: any logged-in account; anonymous users are sent to the login page;
- ``Perm(permission, walls)``: anonymous → login page; a role without the permission → 403;
  with it, an object outside the caller's walls → 404, inside → served;
- ``Walled(walls)``: any logged-in account within the object's own walls (no permission: a
  guardian has none): anonymous → login page; outside → 404; inside → served;
- ``SUBJECT``: the student portal's own objects: anonymous → login page; the data subject (the
  ``student`` actor, for its ``own`` objects) → served; every other account → 404.

Tenants are relative to the school staff's school A in region 1: ``own`` (school A, or an
object of it), ``same_region`` (school B in region 1) and ``other_region`` (school C in region 2).
Partner staff (a gemeente), the coordinator and the hub admin (the hub) all sit in region 1.
"""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from network import clock, create_app
from network.models import OrganisationType, Role
from network.permissions import Permission
from tests.conftest import fresh_tables, shared_world, test_config
from tests.factories import (
    OrganisationFactory,
    RegionFactory,
    StudentFactory,
    login,
    make_api_client,
    make_member,
    one_commit,
)

SCHOOL_STAFF = ("zorgcoordinator", "mentor", "bpv_begeleider", "decaan")
ROLES = ("anonymous", *SCHOOL_STAFF, "partner_staff", "coordinator", "hub_admin", "student")
TENANTS = ("own", "same_region", "other_region")

OK, LOGIN_PAGE, FORBIDDEN, NOT_FOUND = "ok", "login", 403, 404
#: OAuth endpoints for API clients only: 401 for every caller without client credentials
CLIENT_CREDENTIALS = "client-credentials"
#: the monitoring's endpoint: 401 for every caller without the metrics token, logged in or not
#: (a session is no way in; tests/network/test_metrics.py asks it with the token)
METRICS_TOKEN = "metrics-token"


# -- walls: which tenants' objects exist for a role (inside the permission check) ----------

def school_walls(role: str, tenant: str) -> bool:
    """Students: only those of the school the staff member acts for."""
    return tenant == "own"


def region_walls(role: str, tenant: str) -> bool:
    """Organisations (and accounts for the coordinator): the own region; the hub admin: all."""
    return role == "hub_admin" or tenant != "other_region"


def socialmap_edit_walls(role: str, tenant: str) -> bool:
    """Sociale kaart entries (of the schools): own organisation's staff, the region's
    coordinator, the hub admin everywhere; partner staff edit only their own organisation's."""
    if role == "hub_admin":
        return True
    if role == "coordinator":
        return tenant != "other_region"
    return role in SCHOOL_STAFF and tenant == "own"


def employer_entry_walls(role: str, tenant: str) -> bool:
    """An employer's entry (its side as a stagebedrijf): the employer's own staff (none in the
    matrix), the region's coordinator and the hub admin; school staff do not edit a company's entry."""
    return role == "hub_admin" or (role == "coordinator" and tenant != "other_region")


def referral_walls(role: str, tenant: str) -> bool:
    """Referrals: the own school's referral went to the matrix's gemeente, so its staff (the
    sender) and the partner staff (the receiver) see it; the other tenants' went elsewhere."""
    return tenant == "own"


def route_check_in_walls(role: str, tenant: str) -> bool:
    """Follow-up check-ins: the own school's staff, and the RMC of the school's region (the
    matrix's partner staff work at a gemeente, so they see none)."""
    return role in SCHOOL_STAFF and tenant == "own"


def route_instrument_walls(role: str, tenant: str) -> bool:
    """The instruments of a route: the own school's staff, and a gemeente or UWV with a basis for
    the student (the matrix's gemeente was given no consent: 404 for it, as for an unknown id)."""
    return role in SCHOOL_STAFF and tenant == "own"


def student_api_walls(role: str, tenant: str) -> bool:
    """Students and consents in the API: the own school's staff see their own students; the
    matrix's partner (a gemeente) was given no consent by any of them, so every id is 404."""
    return role in SCHOOL_STAFF and tenant == "own"


def shared_student_walls(role: str, tenant: str) -> bool:
    """A partner's page of a student shared with them (``/gedeeld/<id>``): without a basis the
    student does not exist for them (404, as for an unknown id); the matrix's partner (a
    gemeente) was given no consent by any student, so every id is 404."""
    return False


def agreement_walls(role: str, tenant: str) -> bool:
    """Agreements (plans, privacy agreements): the own school's is the matrix student's own plan,
    so the school's staff and that student see it; the matrix's gemeente is no party of it (404)."""
    return role in (*SCHOOL_STAFF, "student") and tenant == "own"


@dataclass(frozen=True)
class Perm:
    permission: Permission
    walls: Callable[[str, str], bool] | None = None


@dataclass(frozen=True)
class Walled:
    """Any logged-in account (no permission: a guardian has no role), inside the object's own
    walls: anonymous → login page; outside the walls → 404; inside → served."""

    walls: Callable[[str, str], bool]


@dataclass(frozen=True)
class ClientOnly:
    """An API route for partner systems only (their own webhook subscriptions): anonymous → 401;
    every logged-in person → 403, holding the permission or not (a person is no API client)."""

    permission: Permission


@dataclass(frozen=True)
class AnyPerm:
    """Like :class:`Perm` for an API route that school staff and partner staff each reach with
    their own permission (``api_require_any``): a role holding none of them → 403."""

    permissions: tuple[Permission, ...]
    walls: Callable[[str, str], bool] | None = None


PUBLIC, LOGIN, SUBJECT = "public", "login-required", "data-subject"
#: a change to a referral through the API: the receiver handles, the sending school changes its own
_REFERRAL_WRITE = (Permission.referral_handle, Permission.referral_create)

MATRIX: dict[str, object] = {
    # main
    "main.index": PUBLIC,
    "main.dashboard": LOGIN,
    "main.set_language": PUBLIC,
    "main.healthz": PUBLIC,
    "main.readyz": PUBLIC,
    "main.readyz_scheduler": PUBLIC,
    "main.metrics": METRICS_TOKEN,
    "main.jwks": PUBLIC,
    "main.audit_checkpoints": PUBLIC,
    "static": PUBLIC,
    # public API (the sociale kaart directory) and its OpenAPI document
    "api-docs.openapi_json": PUBLIC,
    "api-docs.openapi_swagger_ui": PUBLIC,
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
    # the own notifications (any account; object level: only its own, tests/referrals/test_notifications.py)
    "notifications.index": LOGIN,
    "notifications.read": LOGIN,  # an empty post: 400
    "notifications.read_all": LOGIN,
    "notifications.open_notification": LOGIN,  # an empty post: 400
    "notifications.settings": LOGIN,  # an empty post: 400 with the form again
    # the region's dashboard and overdue referrals (aggregates; the own region, the hub admin any)
    "regio.dashboard": Perm(Permission.region_dashboard),
    "regio.export_csv": Perm(Permission.region_dashboard),
    "regio.overdue": Perm(Permission.referral_overdue),
    # the region's follow-up term per school level (issue 20): the coordinator of the region, the
    # hub admin any (?regio=; another region is 404); an empty post: 400 with the form again
    "regio.followup_terms": Perm(Permission.followup_term_manage),
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
    # consent: the student portal (any account; it shows the students the account acts for)
    "consent.home": LOGIN,
    "consent.portal": LOGIN,
    "consent.access_log": LOGIN,
    "consent.download": LOGIN,
    "consent.grant": SUBJECT,
    "consent.withdraw": SUBJECT,
    "consent.receipt": SUBJECT,
    "consent.access_proof": SUBJECT,
    # consent: school staff
    "consent_staff.overview": Perm(Permission.consent_view, school_walls),
    "consent_staff.record": Perm(Permission.consent_record, school_walls),
    "consent_staff.ask": Perm(Permission.consent_record, school_walls),
    "consent_staff.representative": Perm(Permission.consent_record, school_walls),
    "consent_staff.withdraw": Perm(Permission.consent_record, school_walls),
    "consent_staff.end_representative": Perm(Permission.consent_record, school_walls),
    "consent_staff.cancel_ask": Perm(Permission.consent_record, school_walls),
    "consent_staff.receipts": Perm(Permission.consent_view, school_walls),
    # consent: partner staff (the page shows only what decide allows; none here: no consent, so 404)
    "consent_partner.shared": Perm(Permission.consent_shared_view),
    "consent_partner.student": Perm(Permission.consent_shared_view, shared_student_walls),
    # the students and consents API (network/student_api.py, consent/api.py): school staff their own
    # school's students, partner staff the students (and consents) given to their organisation;
    # recording is the school's (an empty post: 415)
    "students_api.list_students": AnyPerm((Permission.student_list, Permission.student_shared_view)),
    "students_api.get_student": AnyPerm((Permission.student_view, Permission.student_shared_view),
                                        student_api_walls),
    "consents_api.list_student_consents": AnyPerm((Permission.consent_view, Permission.consent_shared_view),
                                                  student_api_walls),
    "consents_api.get_consent": AnyPerm((Permission.consent_view, Permission.consent_shared_view),
                                        student_api_walls),
    "consents_api.record_consent": Perm(Permission.consent_record, school_walls),
    "consents_api.withdraw": Perm(Permission.consent_record, school_walls),
    # consent: the hub admin's catalogues
    "consent_admin.catalogue": Perm(Permission.consent_catalogue),
    "consent_admin.purpose_edit": Perm(Permission.consent_catalogue),
    "consent_admin.purpose_new": Perm(Permission.consent_catalogue),
    "consent_admin.legal_task_new": Perm(Permission.consent_catalogue),
    "consent_admin.category_edit": Perm(Permission.consent_catalogue),
    "consent_admin.legal_task_edit": Perm(Permission.consent_catalogue),
    "consent_admin.scopes": Perm(Permission.consent_catalogue),
    "consent_admin.scope_edit": Perm(Permission.consent_catalogue),
    # sociale kaart (socialmap/): reading active entries is public; editing is walled
    "socialmap.index": PUBLIC,
    "socialmap.detail": PUBLIC,
    "socialmap.organisation": PUBLIC,
    "socialmap.create": Perm(Permission.socialmap_service_edit),
    "socialmap.edit": Perm(Permission.socialmap_service_edit, socialmap_edit_walls),
    "socialmap.capacity": Perm(Permission.socialmap_service_edit, socialmap_edit_walls),
    "socialmap.verify": Perm(Permission.socialmap_service_edit, socialmap_edit_walls),
    # an employer entry's side as a stagebedrijf (socialmap/employer_views.py); an empty post saves
    # an empty offer (every field is optional)
    "socialmap.employer_offer": Perm(Permission.socialmap_service_edit, employer_entry_walls),
    "socialmap.confirm_link": NOT_FOUND,  # for a made-up token; real links: tests/socialmap
    "socialmap.dashboard": Perm(Permission.socialmap_freshness_view),
    "socialmap.categories": Perm(Permission.socialmap_category_manage),
    "socialmap.export_csv": Perm(Permission.socialmap_export),
    "socialmap.export_xlsx": Perm(Permission.socialmap_export),
    "socialmap.employers": PUBLIC,
    "socialmap.export_hsds": Perm(Permission.socialmap_import),
    "socialmap.import_upload": Perm(Permission.socialmap_import),
    # a made-up pending import: nobody's own (real ones: tests/socialmap/test_spreadsheet.py)
    "socialmap.import_preview": Perm(Permission.socialmap_import, lambda role, tenant: False),
    "socialmap.import_confirm": Perm(Permission.socialmap_import, lambda role, tenant: False),
    "socialmap.import_cancel": Perm(Permission.socialmap_import, lambda role, tenant: False),
    # the sociale kaart's write API (socialmap/service_api.py): the own organisation's entries, walled
    # as the entry form; PATCH and DELETE without If-Match: 428, an empty POST: 415
    "services_api.list_services": Perm(Permission.socialmap_service_edit),
    "services_api.create": Perm(Permission.socialmap_service_edit),
    "services_api.get_one": Perm(Permission.socialmap_service_edit, socialmap_edit_walls),
    "services_api.patch": Perm(Permission.socialmap_service_edit, socialmap_edit_walls),
    "services_api.close": Perm(Permission.socialmap_service_edit, socialmap_edit_walls),
    # the HSDS 3.0 read API (public; made-up ids are 404)
    "hsds.meta": PUBLIC,
    "hsds.services": PUBLIC,
    "hsds.service": NOT_FOUND,
    "hsds.organizations": PUBLIC,
    "hsds.organization": NOT_FOUND,
    "hsds.service_at_locations": PUBLIC,
    "hsds.service_at_location": NOT_FOUND,
    "hsds.taxonomies": PUBLIC,
    "hsds.taxonomy": NOT_FOUND,
    "hsds.taxonomy_terms": PUBLIC,
    "hsds.taxonomy_term": NOT_FOUND,
    # routes (referrals/route_views.py): the school's own students' routes; a check-in also for
    # the region's RMC (the matrix's partner is a gemeente: 404), the intake form needs route_manage
    "routes.index": Perm(Permission.route_view),
    "routes.new": Perm(Permission.route_manage, school_walls),
    "routes.detail": Perm(Permission.route_view, school_walls),
    "routes.update": Perm(Permission.route_manage, school_walls),
    "routes.exit_school": Perm(Permission.route_manage, school_walls),
    "routes.intake": Perm(Permission.route_manage, school_walls),
    "routes.intake_detail": Perm(Permission.route_view, school_walls),
    # the eindgesprek and the structured exit (referrals/exit_views.py, issue 20): the route's walls,
    # decided with the plan category
    "routes.eindgesprek": Perm(Permission.route_manage, school_walls),
    "routes.eindgesprek_detail": Perm(Permission.route_view, school_walls),
    # the warm hand-over at exit (referrals/exit_handover_views.py, issue 20 item 3): as the exit page
    "routes.exit_handover": Perm(Permission.route_manage, school_walls),
    "my_route.page": LOGIN,  # the student's own route in the portal (referrals/student_route_views.py)
    "routes.timeline": Perm(Permission.route_view, school_walls),
    "routes.check_in": Perm(Permission.checkin_record, route_check_in_walls),
    "routes.rmc_alert": Perm(Permission.checkin_record, route_check_in_walls),
    # the instruments of the move into work (referrals/instrument_views.py): school staff and partner
    # staff (referral_view); the decision decides who sees which
    "routes.instruments": Perm(Permission.referral_view, route_instrument_walls),
    "routes.record": Perm(Permission.referral_view, route_instrument_walls),
    # the matrix's routes have no instruments: an unknown instrument is 404 for everyone
    "routes.end": Perm(Permission.referral_view, lambda role, tenant: False),
    # placements (referrals/placements/views.py): as the route pages (the route's walls and decision);
    # an empty post is 400 with the form again. The map's editors answer proposed companies of
    # their region (referrals/placements/proposal_views.py; the hub admin any region's)
    "placements.index": Perm(Permission.route_view),
    "placements.new": Perm(Permission.route_manage, school_walls),
    "placements.detail": Perm(Permission.route_view, school_walls),
    "placements.edit": Perm(Permission.route_manage, school_walls),
    "placements.change": Perm(Permission.route_manage, school_walls),
    # the stageprotocol (referrals/placements/protocol_views.py): the placement's walls and decision;
    # the list of contacts is the acting school's (its own rows only)
    "placements.record": Perm(Permission.route_manage, school_walls),
    "placements.move": Perm(Permission.route_manage, school_walls),
    "placements.contacts": Perm(Permission.route_view),
    "placements.card_page": Perm(Permission.route_view, school_walls),
    "placements.card_pdf": Perm(Permission.route_view, school_walls),
    # the employer's assessment (referrals/placements/assessment_views.py): the placement's walls and
    # decision; sending without the praktijkopleider's address is a 400, revoking a submitted one a 409
    "placements.assessment_send": Perm(Permission.route_manage, school_walls),
    "placements.assessment_revoke": Perm(Permission.route_manage, school_walls),
    "placements.assessment_result": Perm(Permission.route_view, school_walls),
    "placements.assessment_pdf": Perm(Permission.route_view, school_walls),
    "placements.assessment_to_plan": Perm(Permission.route_manage, school_walls),  # no plan in the world: 409
    # the praktijkopleider's personal link (no account): 404 for a made-up token, for everyone;
    # real links: tests/referrals/test_placements_assessment.py
    "placements.assessment_link": NOT_FOUND,
    # the student's own assessments in the portal (referrals/placements/assessment_student_views.py)
    "placements.my_assessments": LOGIN,
    # the begeleidingsformulier (referrals/placements/guidance_views.py): the student writes it and
    # chooses its readers in the portal (an empty post is 400 with the page again); school staff
    # read it inside the placement's walls, and only a role the student ticked (403 otherwise;
    # the matrix's student wrote none, so the page says so)
    # an employer's staff fill in the assessments sent to their company (referrals/placements/
    # assessment_inbox_views.py); the matrix's placements are at proposed companies: 404 for all
    "placements.inbox": Perm(Permission.placement_assess),
    "placements.inbox_form": Perm(Permission.placement_assess, lambda role, tenant: False),
    "placements.my_placements": LOGIN,  # the student's own placements (referrals/placements/student_views.py)
    "placements.my_guidance": LOGIN,
    "placements.my_guidance_save": SUBJECT,  # an account that acts for no student: 404
    "placements.my_guidance_share": SUBJECT,
    "placements.guidance": Perm(Permission.route_view, school_walls),
    "placements.proposals": Perm(Permission.employer_proposal_review),
    "placements.decide": Perm(Permission.employer_proposal_review, region_walls),
    # the company side of the map (referrals/placements/employer_views.py): a stagebedrijf's history
    # and feedback for school staff and the coordinator of its region; the employers proposed for a
    # student inside the route's walls
    "placements.employer_profile": Perm(Permission.employer_profile_view, region_walls),
    "placements.employer_matches": Perm(Permission.route_view, school_walls),
    # the referral wizard and the school's referral pages (referrals/views.py, sent_views.py): school
    # staff of the sending school; partner staff have their own pages in the inbox (403 here)
    "referrals.new": Perm(Permission.referral_create),
    "referrals.drafts": Perm(Permission.referral_create),
    "referrals.index": Perm(Permission.referral_create),
    "referrals.edit": Perm(Permission.referral_create, school_walls),
    "referrals.send": Perm(Permission.referral_create, school_walls),  # sent already: 409
    "referrals.delete_draft": Perm(Permission.referral_create, school_walls),  # not a draft: 409
    "referrals.detail": Perm(Permission.referral_create, school_walls),
    "referrals.cancel": Perm(Permission.referral_create, school_walls),
    "referrals.entered_in_error": Perm(Permission.referral_create, school_walls),
    "referrals.handover": Perm(Permission.referral_create, school_walls),
    "referrals.message": Perm(Permission.referral_create, school_walls),
    # the partner inbox (referrals/inbox_views.py): the receiving organisation's staff only
    "inbox.index": Perm(Permission.referral_handle),
    "inbox.detail": Perm(Permission.referral_handle, referral_walls),
    "inbox.change_status": Perm(Permission.referral_handle, referral_walls),
    "inbox.assign_owner": Perm(Permission.referral_handle, referral_walls),
    "inbox.handover": Perm(Permission.referral_handle, referral_walls),
    "inbox.confirm": Perm(Permission.referral_handle, referral_walls),
    "inbox.message": Perm(Permission.referral_handle, referral_walls),
    # the referral API (referrals/api.py; session cookie for now, anonymous → 401): sender and receiver
    "referrals_api.list_referrals": Perm(Permission.referral_view),
    "referrals_api.get_referral_detail": Perm(Permission.referral_view, referral_walls),
    "referrals_api.transition_referral": AnyPerm(_REFERRAL_WRITE, referral_walls),
    # a change also needs the write permission of the caller's side (every role that reads has it)
    "referrals_api.create_referral": Perm(Permission.referral_create),  # an empty post: 415
    "referrals_api.post_update": AnyPerm(_REFERRAL_WRITE, referral_walls),
    "referrals_api.record_handover_api": AnyPerm(_REFERRAL_WRITE, referral_walls),
    "referrals_api.confirm_handover_api": AnyPerm(_REFERRAL_WRITE, referral_walls),
    "referrals_api.assign_owner": AnyPerm(_REFERRAL_WRITE, referral_walls),
    # the route API (referrals/route_api.py): as the route pages; check-ins also for the region's RMC
    "routes_api.list_routes": Perm(Permission.route_view),
    "routes_api.get_route": Perm(Permission.route_view, school_walls),
    "routes_api.update_route": Perm(Permission.route_manage, school_walls),  # PATCH, empty: 415
    "routes_api.record_exit": Perm(Permission.route_manage, school_walls),
    "routes_api.list_check_ins": Perm(Permission.referral_view, route_check_in_walls),
    "routes_api.record_check_in_api": Perm(Permission.checkin_record, route_check_in_walls),
    # the instruments of the move into work (referrals/instrument_api.py): as the HTML page
    "routes_api.list_instruments": Perm(Permission.referral_view, route_instrument_walls),
    "routes_api.record_instrument_api": AnyPerm((Permission.route_manage, Permission.referral_handle),
                                                route_instrument_walls),
    "placements_api.list_placements": Perm(Permission.route_view),
    "placements_api.get_placement": Perm(Permission.route_view, school_walls),
    "placements_api.update": Perm(Permission.route_manage, school_walls),  # PATCH, empty: 415
    "placements_api.set_status": Perm(Permission.route_manage, school_walls),
    "placements_api.create": Perm(Permission.route_manage, school_walls),
    # the stageprotocol's contacts and the employer's assessments (referrals/placements/api_contacts.py,
    # api_assessments.py): the placement's walls and decision; recording without If-Match: 428
    "placements_api.list_contacts": Perm(Permission.route_view, school_walls),
    "placements_api.record_planned_contact": Perm(Permission.route_manage, school_walls),
    "placements_api.list_assessments": Perm(Permission.route_view, school_walls),
    "placements_api.get_assessment": Perm(Permission.route_view, school_walls),
    # signed agreements, the school's pages (consent/agreements/views.py): the list for any
    # account (a guardian's: the plans of a child under 16); the overview, a version and the diff
    # inside the agreement's own walls; writing for the school's staff
    "agreements.index": LOGIN,
    "agreements.new": Perm(Permission.agreement_manage, school_walls),
    "agreements.detail": Walled(agreement_walls),
    "agreements.version": Walled(agreement_walls),
    "agreements.diff": Walled(agreement_walls),
    "agreements.section": Perm(Permission.agreement_manage, agreement_walls),
    "agreements.parties": Perm(Permission.agreement_manage, agreement_walls),
    "agreements.offer": Perm(Permission.agreement_manage, agreement_walls),
    "agreements.end": Perm(Permission.agreement_manage, agreement_walls),
    # an empty post: back with a message
    "agreements.request_consent": Perm(Permission.agreement_manage, agreement_walls),
    # signed agreements: signing, print, PDF and bundle (consent/agreements/sign_views.py): any
    # logged-in party inside the agreement's own walls (a guardian has no role). The matrix's plans
    # are drafts: the signing page refuses with 409, a bundle is 409, print and PDF are served
    "agreement_signing.sign": Walled(agreement_walls),
    "agreement_signing.decline": Walled(agreement_walls),  # an empty post: the page again, 400
    "agreement_signing.print_view": Walled(agreement_walls),
    "agreement_signing.pdf": Walled(agreement_walls),
    "agreement_signing.bundle": Walled(agreement_walls),
    # verification by anyone (consent/agreements/verify_views.py): no login, no student data
    "agreement_verify.lookup": PUBLIC,  # an empty post: 400 with the form
    "agreement_verify.public": PUBLIC,
    # the agreements API (consent/agreements/api.py; a token or the session, anonymous → 401): the
    # list of the caller's agreements, reading inside the walls, signing with agreement_sign
    "agreements_api.list_agreements_api": Perm(Permission.agreement_view),
    "agreements_api.get_agreement": Perm(Permission.agreement_view, agreement_walls),
    "agreements_api.get_bundle": Perm(Permission.agreement_view, agreement_walls),  # a draft: 409
    "agreements_api.sign_version_with_key": Perm(Permission.agreement_sign, agreement_walls),  # no JSON: 415
    "agreements_api.get_verification": PUBLIC,
    "agreements_api.verify_bundle_upload": PUBLIC,  # no JSON: 415
    # organisations' signing keys on the organisation page (network/web/admin.py): the hub admin
    "admin.organisation_key_register": Perm(Permission.organisation_key_manage, region_walls),  # empty: 400
    "admin.organisation_key_revoke": Perm(Permission.organisation_key_manage, region_walls),
    # OAuth 2 for partner systems (network/web/oauth.py): the token endpoint answers an empty
    # post with 400 unsupported_grant_type; revocation and introspection need client
    # credentials (401 invalid_client for everyone else, a logged-in person included)
    "oauth.issue_token": PUBLIC,
    "oauth.revoke_token": CLIENT_CREDENTIALS,
    "oauth.introspect_token": CLIENT_CREDENTIALS,
    "oauth.metadata": PUBLIC,
    # the hub admin manages organisations' API clients (network/web/api_clients.py)
    "api_clients.clients": Perm(Permission.api_client_manage, region_walls),
    "api_clients.client_create": Perm(Permission.api_client_manage, region_walls),  # empty: 400
    "api_clients.client_rotate": Perm(Permission.api_client_manage, region_walls),
    "api_clients.client_revoke": Perm(Permission.api_client_manage, region_walls),
    # webhooks (network/webhook_api.py): an API client keeps its own subscriptions (tokens:
    # tests/network/test_webhook_api.py); the hub admin's dead-letter list (network/web/webhooks.py)
    "webhooks_api.subscriptions": ClientOnly(Permission.webhook_manage),
    "webhooks_api.subscription": ClientOnly(Permission.webhook_manage),
    "webhooks_api.rotate_subscription_secret": ClientOnly(Permission.webhook_manage),
    "webhooks_admin.dead_letters": Perm(Permission.outbox_view),
    "webhooks_admin.replay": Perm(Permission.outbox_view),  # an empty post: 400 with the list
}


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = sorted(endpoints - set(MATRIX))
    assert not unclassified, f"add these endpoints to the authorization matrix: {unclassified}"
    stale = sorted(set(MATRIX) - endpoints)
    assert not stale, f"these matrix entries have no route any more: {stale}"


def test_permission_declarations_match_the_views(app):
    for endpoint, spec in MATRIX.items():
        if isinstance(spec, (Perm, ClientOnly)):
            declared = getattr(app.view_functions[endpoint], "required_permission", None)
            assert declared is spec.permission, f"{endpoint} declares {declared}, matrix says {spec.permission}"
        if isinstance(spec, AnyPerm):
            declared = getattr(app.view_functions[endpoint], "required_permissions", None)
            assert declared == spec.permissions, f"{endpoint} declares {declared}, matrix says {spec.permissions}"


def expected(spec, role: str, tenant: str):
    if spec == PUBLIC:
        return OK
    if isinstance(spec, int):
        return spec
    if spec in (CLIENT_CREDENTIALS, METRICS_TOKEN):
        return LOGIN_PAGE  # 401
    if role == "anonymous":
        return LOGIN_PAGE
    if isinstance(spec, ClientOnly):
        return FORBIDDEN
    if spec == LOGIN:
        return OK
    if spec == SUBJECT:
        return OK if (role, tenant) == ("student", "own") else NOT_FOUND
    if isinstance(spec, Walled):
        return OK if spec.walls(role, tenant) else NOT_FOUND
    from network.permissions import ROLE_PERMISSIONS

    if isinstance(spec, AnyPerm):
        if not set(spec.permissions) & ROLE_PERMISSIONS[Role(role)]:
            return FORBIDDEN
    elif spec.permission not in ROLE_PERMISSIONS[Role(role)]:
        return FORBIDDEN
    if spec.walls is not None and not spec.walls(role, tenant):
        return NOT_FOUND
    return OK


# -- the world -----------------------------------------------------------------------------

def _reads_only(app, endpoint: str) -> bool:
    """The matrix asks every rule of ``endpoint`` with GET (see :func:`test_matrix`)."""
    return all("GET" in rule.methods for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)


def refused_everywhere(endpoint: str, role: str) -> bool:
    """``role`` is refused (login page, 401, 403 or 404) for every tenant's object of
    ``endpoint``: the matrix's request changes nothing, or the case fails."""
    return all(expected(MATRIX[endpoint], role, tenant) != OK for tenant in TENANTS)


def shares_world(app, endpoint: str, role: str) -> bool:
    """A case that cannot change the world: the endpoint is asked with GET only, or every one of
    its requests is refused. Should a refusal fail and write after all, that case fails (and the
    run with it), so a world it spoiled cannot make another case pass that should not."""
    return _reads_only(app, endpoint) or refused_everywhere(endpoint, role)


@functools.cache
def _get_only_endpoints() -> frozenset[str]:
    """The endpoints whose every rule the matrix asks with GET, from an app made for the purpose
    (collection has no app fixture yet)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(test_config(Path(tmp)))
        return frozenset(endpoint for endpoint in MATRIX if _reads_only(app, endpoint))


def collection_order(item) -> tuple:
    """The matrix cases that may share one world (:func:`shares_world`) first, the others after
    them: the shared world is then built about once per worker instead of again after each case
    that needed a fresh one."""
    params = getattr(item, "callspec", SimpleNamespace(params={})).params
    endpoint, role = params.get("endpoint"), params.get("role")
    if endpoint is None:
        return (0, "", "")
    shares = endpoint in _get_only_endpoints() or refused_everywhere(endpoint, role)
    return (0 if shares else 1, endpoint, role)


@pytest.fixture
def world(request, app, session):
    """The world of one matrix case. The cases that cannot change it (:func:`shares_world`)
    share one world (built once, ~0.1 s, instead of once for each of the ~1,700 cases: most of
    the suite's time): a read or a refusal changes nothing another role's answer depends on.
    A case that posts and is served, and any other test using this world, gets a world of its own."""
    params = getattr(request.node, "callspec", SimpleNamespace(params={})).params
    if params.get("endpoint") is not None and shares_world(app, params["endpoint"], params["role"]):
        return shared_world(request, "authorization-matrix", lambda: _build_world(session))
    fresh_tables(request)
    return _build_world(session)


def _build_world(session) -> dict:
    with one_commit(session):
        return _make_world(session)


def _make_world(session) -> dict:
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
    me = StudentFactory(school=schools["own"], account_id=actors["student"].id)
    consents = _consents(session, {"own": me, "same_region": StudentFactory(school=schools["same_region"]),
                                   "other_region": StudentFactory(school=schools["other_region"])})
    return {
        "actors": {role: SimpleNamespace(id=account.id) for role, account in actors.items()},
        "student_id": {t: StudentFactory(school=s).id for t, s in schools.items()},
        "organisation_id": {t: s.id for t, s in schools.items()},
        "client_id": {t: make_api_client(s, ["referrals:read"], name=f"Matrix {t}")[0].id for t, s in schools.items()},
        "service_id": {t: _socialmap_entry(s).uuid for t, s in schools.items()},
        "account_id": {t: make_member(Role.mentor, s).id for t, s in schools.items()},
        "consent_id": {t: c.id for t, c in consents.items()},
        "receipt_id": {t: c.receipts[0].id for t, c in consents.items()},
        "representation_id": _representations(session, consents),
        "event_id": _audit_events(session, consents),
        "request_id": _requests(session, consents),
        "purpose_id": dict.fromkeys(TENANTS, consents["own"].purpose_id),
        "category_code": dict.fromkeys(TENANTS, "leefgebieden"),
        "task_id": dict.fromkeys(TENANTS, _first_legal_task(session)),
        "region_id": dict.fromkeys(TENANTS, region.id),  # the legal tasks' scopes: the hub admin's
        **(routes := _routes(schools)),
        **_placements(session, schools, routes["route_id"]),
        **_referrals(schools, gemeente),
        **_agreements(session, schools, me),
        **_agreement_codes_and_keys(session, schools),
        **_employers(schools),
    }


def _first_legal_task(session):
    from sqlalchemy import select

    from consent.models import LegalTask

    return session.scalar(select(LegalTask.id).order_by(LegalTask.id))


def _consents(session, students):
    """One active consent (with a receipt) per tenant's student, to a gemeente of its region."""
    import datetime as dt
    import uuid

    from sqlalchemy import select

    from consent.catalogue import seed_catalogues
    from consent.models import Consent, ConsentItem, ConsentReceipt, Purpose

    seed_catalogues(session)
    purpose = session.scalar(select(Purpose).where(Purpose.code == "jobcoaching"))
    today = clock.today()
    consents = {}
    for tenant, student in students.items():
        recipient = OrganisationFactory(region=student.school.region, type=OrganisationType.gemeente)
        consent = Consent(student=student, recipient=recipient, purpose=purpose, valid_from=today,
                          valid_until=today + dt.timedelta(days=300), given_by="student", channel="portal",
                          text_version="t", text_hash="0" * 64, recorded_by_name="Leerling",
                          items=[ConsentItem(category="contactgegevens")])
        consent.receipts = [ConsentReceipt(id=uuid.uuid4(), kind="grant", payload="{}", key_id="k", signature="s")]
        session.add(consent)
        consents[tenant] = consent
    session.flush()
    return consents


def _representations(session, consents):
    """A parent account representing each tenant's student."""
    from consent.models import Relation, Representation
    from tests.factories import AccountFactory

    found = {}
    for tenant, consent in consents.items():
        representation = Representation(account_id=AccountFactory().id, student_id=consent.student_id,
                                        relation=Relation.parent, recorded_by_name="Mentor")
        session.add(representation)
        found[tenant] = representation
    session.flush()
    return {t: r.id for t, r in found.items()}


def _audit_events(session, consents):
    """An audit event (a read) about each tenant's student."""
    from network.audit import AuditAction, record
    from network.permissions import system_principal
    from network.tags import StudentTag

    found = {tenant: record(session, system_principal(), action=AuditAction.read, event_type=StudentTag.view,
                            object_type="student", object_id=str(consent.student_id),
                            student_id=str(consent.student_id))
             for tenant, consent in consents.items()}
    session.flush()
    return {t: e.id for t, e in found.items()}


def _requests(session, consents):
    """An open request for consent for each tenant's student."""
    from consent.models import ConsentRequest

    found = {}
    for tenant, consent in consents.items():
        request = ConsentRequest(student_id=consent.student_id, recipient_id=consent.recipient_id,
                                 purpose_id=consent.purpose_id, categories="contactgegevens",
                                 requested_by_name="Mentor")
        session.add(request)
        found[tenant] = request
    session.flush()
    return {t: r.id for t, r in found.items()}


def _routes(schools):
    """A route per tenant's school (a student of its own), with an intake, an eindgesprek and a
    check-in after the exit: ``route_id``, ``intake_id``, ``eindgesprek_id`` and ``check_in_id``
    per tenant."""
    import datetime as dt
    import json

    from flask import current_app

    from network.db import db
    from referrals.exit_models import Eindgesprek
    from referrals.models import CheckIn, Intake, Route, RouteStatus

    keyring = current_app.extensions["schakel.keyring"]
    found = {"route_id": {}, "intake_id": {}, "check_in_id": {}, "eindgesprek_id": {}}
    today = clock.today()
    for tenant, school in schools.items():
        route = Route(student=StudentFactory(school=school), school_id=school.id,
                      start_date=today - dt.timedelta(days=400), expected_exit_date=today - dt.timedelta(days=35),
                      exit_date=today - dt.timedelta(days=35), status=RouteStatus.followup)
        route.check_ins = [CheckIn(months=3, due_date=today + dt.timedelta(days=55))]
        db.session.add(route)
        db.session.flush()
        intake = Intake(route_id=route.id, held_on=today - dt.timedelta(days=300), recorded_by_name="Mentor")
        intake.content_encrypted = keyring.encrypt(json.dumps({"summary": "Jobcoach"}), intake.content_ref())
        db.session.add(intake)
        db.session.flush()
        talk = Eindgesprek(route_id=route.id, held_on=today - dt.timedelta(days=40), recorded_by_name="Mentor")
        talk.content_encrypted = keyring.encrypt(json.dumps({"student_words": "Ja", "partners": []}),
                                                 talk.content_ref())
        db.session.add(talk)
        db.session.flush()
        found["eindgesprek_id"][tenant] = talk.id
        found["route_id"][tenant], found["intake_id"][tenant] = route.id, intake.id
        found["check_in_id"][tenant] = route.check_ins[0].id
    db.session.flush()
    return found


def _placements(session, schools, route_ids):
    """A planned placement on each tenant's route, at a company proposed for the sociale kaart of
    the school's region, with a planned visit and a submitted assessment: ``placement_id``, ``proposal_id``,
    ``contact_id`` and ``assessment_id`` per tenant."""
    import datetime as dt

    from referrals.models import Route
    from referrals.placements.models import EmployerProposal, Placement
    from referrals.placements.protocol_models import ContactKind, PlacementContact
    from referrals.placements.states import PlacementKind

    today = clock.today()
    from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment

    found = {"placement_id": {}, "proposal_id": {}, "contact_id": {}, "assessment_id": {}}
    for tenant, school in schools.items():
        proposal = EmployerProposal(region_id=school.region_id, school_id=school.id, proposed_by_name="Mentor",
                                    name=f"Bedrijf {tenant}")
        placement = Placement(route_id=route_ids[tenant], student_id=session.get(Route, route_ids[tenant]).student_id,
                              school_id=school.id, kind=PlacementKind.bpv, proposal=proposal, function="Medewerker",
                              trainer_name="Praktijkopleider", trainer_phone="0612345678", start_date=today,
                              end_date=today + dt.timedelta(days=60), schedule={"ma": 360}, created_by_name="Mentor")
        session.add(placement)
        session.flush()
        found["placement_id"][tenant], found["proposal_id"][tenant] = placement.id, proposal.id
        contact = PlacementContact(placement_id=placement.id, school_id=school.id, kind=ContactKind.visit,
                                   due_date=today + dt.timedelta(days=14))
        session.add(contact)
        session.flush()
        found["contact_id"][tenant] = contact.id
        # a submitted employer's assessment (item 4): its result and PDF are read, revoking it is a 409
        assessment = PlacementAssessment(placement_id=placement.id, student_id=placement.student_id,
                                         school_id=school.id, status=AssessmentStatus.submitted,
                                         sent_to="po@bedrijf.example", sent_by_name="Mentor",
                                         expires_at=clock.utcnow() + dt.timedelta(days=30), company_name="Bedrijf",
                                         function="Medewerker", assessor_name="Praktijkopleider",
                                         assessed_on=today, would_hire=True, can_develop=True,
                                         signed_name="Praktijkopleider", submitted_at=clock.utcnow())
        session.add(assessment)
        session.flush()
        found["assessment_id"][tenant] = assessment.id
    return found


def _referrals(schools, gemeente):
    """A requested referral per tenant's school (a student of its own): the own school's to the
    matrix's gemeente, the others' to a gemeente of their own region: ``referral_id``."""
    from network.db import db
    from referrals.models import Referral
    from referrals.states import ReferralStatus, ReferralType

    found = {}
    for tenant, school in schools.items():
        recipient = gemeente if tenant == "own" else OrganisationFactory(region=school.region,
                                                                         type=OrganisationType.gemeente)
        referral = Referral(student_id=StudentFactory(school=school).id, from_organisation_id=school.id,
                            from_name="Mentor", to_organisation_id=recipient.id,
                            service_id=_socialmap_entry(recipient).id, purpose="jobcoaching",
                            type=ReferralType.transitieroute, status=ReferralStatus.requested,
                            categories="contactgegevens")
        db.session.add(referral)
        found[tenant] = referral
    db.session.flush()
    return {"referral_id": {t: r.id for t, r in found.items()}}


def _agreements(session, schools, me):
    """A draft plan per tenant's school: the own school's is of the matrix's student (``me``),
    the others' of a student of their own: ``agreement_id``."""
    from flask import current_app

    from consent.agreements.models import AgreementKind
    from consent.agreements.service import create_agreement
    from tests.factories import principal_for

    keyring = current_app.extensions["schakel.keyring"]
    found = {}
    for tenant, school in schools.items():
        student = me if tenant == "own" else StudentFactory(school=school)
        made = create_agreement(session, principal_for(make_member(Role.mentor, school)), keyring, student,
                                AgreementKind.plan)
        found[tenant] = made.id
    session.flush()
    return {"agreement_id": found}


def _agreement_codes_and_keys(session, schools):
    """The verification code of each tenant's plan (made by :func:`_agreements`) and a signing
    key registered for each tenant's school: ``code`` and ``key_id``."""
    import base64
    import secrets

    from sqlalchemy import select

    from consent.agreements.models import Agreement
    from network.models import OrganisationKey

    codes, keys = {}, {}
    for tenant, school in schools.items():
        codes[tenant] = session.scalar(select(Agreement.verify_code).where(Agreement.school_id == school.id))
        key = OrganisationKey(organisation_id=school.id, kid=f"org{school.id}-matrix", label="Matrix",
                              public_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode())
        session.add(key)
        keys[tenant] = key
    session.flush()
    return {"code": codes, "key_id": {t: k.id for t, k in keys.items()}}


def _employers(schools):
    """An employer (organisation of type werkgever) with an entry in each tenant's school's region:
    ``employer_id`` and ``entry_id`` per tenant."""
    from network.db import db
    from network.permissions import system_principal
    from socialmap.entries import create_service

    employers, entries = {}, {}
    for tenant, school in schools.items():
        employer = OrganisationFactory(region=school.region, type=OrganisationType.werkgever)
        entry = create_service(db.session, system_principal(), employer, {"name": "Stageplaatsen"})
        employers[tenant], entries[tenant] = employer.id, entry.uuid
    db.session.flush()
    return {"employer_id": employers, "entry_id": entries}


def _socialmap_entry(organisation):
    from network.db import db
    from network.permissions import system_principal
    from socialmap.entries import create_service

    service = create_service(db.session, system_principal(), organisation, {"name": "Stagebureau"})
    db.session.flush()
    return service


_FIXED = {"filename": "css/schakel.css", "token": "geen-geldig-token",
          "placement_uuid": "00000000-0000-4000-8000-000000000002",  # with the made-up token: 404
          "hsds_id": "00000000-0000-4000-8000-000000000000",
          "import_id": "00000000-0000-4000-8000-000000000001",
          "section": "future", "number": 1,  # an agreement's section and version
          "subscription_id": 1,  # a webhook subscription: refused (403) before it is looked up
          "instrument_id": 1}  # the world has no instrument: 404 for whoever may reach the route


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


#: monitoring's probes: public, and their 503 is an answer ("the scheduler is not running")
PROBES = frozenset({"main.readyz_scheduler"})


def outcome(response) -> object:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status in (301, 302, 303) and "/inloggen?" in location and "next=" in location:
        return LOGIN_PAGE  # Flask-Login's answer to an anonymous request (logout also ends there)
    if status == 401:
        return LOGIN_PAGE  # the JSON API's answer to an anonymous request
    if status in (403, 404):
        return status
    if status >= 500:
        return status
    return OK  # 2xx, other redirects, and 4xx answers to an empty form post


@pytest.mark.shared_world
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
        method = "GET" if "GET" in rule.methods else "POST" if "POST" in rule.methods else min(
            rule.methods - {"HEAD", "OPTIONS"})  # PATCH, DELETE
        tenants = TENANTS if rule.arguments - set(_FIXED) else ("own",)
        for tenant in tenants:
            url = build_url(rule, world, tenant)
            response = client.open(url, method=method)
            got, want = outcome(response), expected(spec, role, tenant)
            if endpoint in PROBES and response.status_code == 503 and response.json["status"] == "unavailable":
                got = OK  # a probe's 503 is its finding (no scheduler runs beside the tests), not a refusal
            response.close()
            if got != want:
                mismatches.append(f"{method} {url} [{tenant}]: got {got} ({response.status_code}), want {want}")
    assert not mismatches, "\n".join(mismatches)
