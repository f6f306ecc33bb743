"""No student data without a decision (DESIGN.md rule 1, issue 4 "Build" 3): every route of
the app, hit by every role for every tenant of the authorization-matrix world, must leave an
audit event of :func:`network.access.decide` for each student whose row it loaded.

The test needs no list of "student routes": it watches SQLAlchemy load the ``Student`` rows
(``load``/``refresh`` events) during each request, so a new route that reads a student without
asking ``decide`` fails here the first time the matrix reaches it. Answers that show nothing
(404, the login page) are exempt. The school's student list decides per student shown (the
legal task covers it without a query), so it needs no exemption.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, func, select

from network.audit import AuditAction, AuditEvent
from network.db import db
from network.models import Student
from tests.factories import login
from tests.network.test_authorization_matrix import (  # noqa: F401  (world: the matrix's fixture)
    _FIXED,
    MATRIX,
    ROLES,
    TENANTS,
    build_url,
    world,
)

#: reads that may be audited otherwise than per student through decide: none
LIST_READS: dict[str, str] = {}


def _is_decision(audit: AuditEvent, student_id: str) -> bool:
    """An event written by decide for this student (allowed or denied)."""
    detail = json.loads(audit.detail or "{}")
    return audit.student_id == student_id and audit.object_type == "student" and "requested" in detail


def _is_change(audit: AuditEvent, student_id: str) -> bool:
    """An audited change of this student's data (e.g. ``consent:withdraw``)."""
    return audit.student_id == student_id and audit.action is not AuditAction.read


@pytest.fixture
def loaded_students():
    """The ids of the Student rows loaded (or refreshed) since the last clear()."""
    seen: set[str] = set()

    def on_load(target, *args):
        seen.add(str(target.id))

    event.listen(Student, "load", on_load)
    event.listen(Student, "refresh", on_load)
    yield seen
    event.remove(Student, "load", on_load)
    event.remove(Student, "refresh", on_load)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_every_route_that_loads_a_student_decides_and_audits(app, client, world, monkeypatch, loaded_students,
                                                             role):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # empty posts reach the views
    problems, reading = [], set()
    for endpoint in sorted(MATRIX):
        for rule in (r for r in app.url_map.iter_rules() if r.endpoint == endpoint):
            method = "GET" if "GET" in rule.methods else "POST"
            tenants = TENANTS if rule.arguments - set(_FIXED) else ("own",)
            for tenant in tenants:
                url = build_url(rule, world, tenant)
                with app.app_context():
                    last = db.session.scalar(select(func.max(AuditEvent.id))) or 0
                login(client, world["actors"][role])  # again: an earlier route may have logged out
                loaded_students.clear()
                response = client.open(url, method=method)
                status = response.status_code
                response.close()
                location = response.headers.get("Location", "")
                if not loaded_students or status == 404 or "/inloggen" in location:
                    continue
                reading.add(endpoint)
                with app.app_context():
                    events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last)).all()
                    db.session.remove()
                if endpoint in LIST_READS:
                    if not any(e.event_type == LIST_READS[endpoint] for e in events):
                        problems.append(f"{method} {url} ({endpoint}): no {LIST_READS[endpoint]} audit event")
                    continue
                changed = status in (301, 302, 303)  # a change that redirects shows nothing itself
                for student_id in sorted(loaded_students):
                    if not any(_is_decision(e, student_id) or (changed and _is_change(e, student_id))
                               for e in events):
                        problems.append(f"{method} {url} ({endpoint}) [{tenant}] loaded student {student_id} "
                                        f"without a decision (status {status}); events: "
                                        f"{[e.event_type for e in events]}")
    assert not problems, "\n".join(problems)
    # the watch itself works: the routes known to read a student were seen doing so
    expected = {"mentor": {"students.detail", "consent_staff.overview", "consent_staff.receipts",
                           # placements read the route's student (issue 19): each through the decision
                           "placements.index", "placements.detail", "placements.new", "placements.edit",
                           # the stageprotocol's contact form and the visitekaartje (issue 19, item 2)
                           "placements.record", "placements.move", "placements.card_page",
                           "placements.card_pdf",
                           # the employer's assessment (item 4): its result and PDF, decided as the placement
                           "placements.assessment_result", "placements.assessment_pdf",
                           # the employers proposed for the route's student (item 5), decided as the route
                           "placements.employer_matches",
                           # the instruments of the move into work (issue 20, item 4), decided per reader
                           "routes.instruments", "routes.record",
                           # the same through the API (item 6): the contacts and the assessments
                           "placements_api.list_contacts", "placements_api.list_assessments",
                           "placements_api.get_assessment",
                           # the eindgesprek and the structured exit (issue 20), decided with the plan
                           "routes.eindgesprek", "routes.eindgesprek_detail", "routes.exit_school",
                           # the warm hand-over at exit (issue 20, item 3), decided as the exit page
                           "routes.exit_handover"},
                # the partner's own page of a student (/gedeeld) answers 404 without a basis, and the
                # matrix's gemeente has none: its inbox reads the students of its referrals
                "partner_staff": {"inbox.index"},
                "student": {"consent.portal", "consent.access_log", "consent.download", "consent.receipt",
                            "placements.my_assessments", "placements.my_guidance", "placements.my_placements",
                            "placements.my_guidance_save", "placements.my_guidance_share", "my_route.page"}}
    assert expected.get(role, set()) <= reading, sorted(reading)
