"""consent.agreements.demo: Daan's plan is active and verifies; his privacy agreement waits for
the gemeente and shows the warning for the UWV flow; the route timeline lists the plan."""

from __future__ import annotations

from sqlalchemy import func, select

from consent.agreements.demo import seed_demo_agreements
from consent.agreements.integrity import verify_agreement
from consent.agreements.models import Agreement, AgreementKind, AgreementStatus, VersionStatus
from consent.agreements.service import content_of
from consent.agreements.sharing import sharing_warnings
from consent.demo import seed_demo_consents
from network import clock


def _seed(session, keyring):
    from network.demo import seed_demo_region
    from network.passwords import make_hasher

    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=clock.today())
    seed_demo_consents(session, keyring, clock.today())
    session.commit()


def test_demo_agreements_are_made_once_and_verify(app, session, keyring):
    _seed(session, keyring)
    assert seed_demo_agreements(session, keyring, clock.today()) == 2
    session.commit()
    assert seed_demo_agreements(session, keyring, clock.today()) == 0
    assert session.scalar(select(func.count()).select_from(Agreement)) == 2

    plan = session.scalar(select(Agreement).where(Agreement.kind == AgreementKind.plan))
    assert plan.status is AgreementStatus.active
    report = verify_agreement(session, keyring, plan)[0]
    assert report.complete and len(report.signatures) == 3

    privacy = session.scalar(select(Agreement).where(Agreement.kind == AgreementKind.privacy))
    assert privacy.latest.status is VersionStatus.awaiting
    assert [s.party_key for s in privacy.latest.signatures] == [f"org-{privacy.school_id}"]
    warnings = sharing_warnings(session, privacy, privacy.latest, content_of(keyring, privacy.latest))
    assert [(w.organisation_name, w.purpose) for w in warnings] == [("UWV Waalstede", "arbeidsdeskundig-onderzoek")]
    assert set(warnings[0].missing) == {"contactgegevens", "opleiding", "school-naar-werk-plan"}


def test_route_timeline_lists_the_plan(app, session, keyring):
    import referrals  # noqa: F401  (registers the referral features)
    from consent.demo import _principal
    from referrals.demo import seed_demo_routes
    from referrals.models import Route
    from referrals.route_timeline import timeline

    _seed(session, keyring)
    seed_demo_agreements(session, keyring, clock.today())
    seed_demo_routes(session, keyring, clock.today())
    session.commit()
    plan = session.scalar(select(Agreement).where(Agreement.kind == AgreementKind.plan))
    route = session.scalar(select(Route).where(Route.student_id == plan.student_id))
    mentor = _principal(session, "j.devries@rocwaalrand.example")
    kinds = [e.kind for e in timeline(session, mentor, keyring, route).entries]
    assert "agreement:offered" in kinds and "agreement:activated" in kinds
