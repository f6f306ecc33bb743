"""referrals.demo_referrals: the demo referrals of region Waalrand are made once, through the
service (packets, events, audit), in the states the demo needs."""

from __future__ import annotations

from sqlalchemy import func, select

from consent.demo import seed_demo_consents
from network import clock
from network.audit import AuditEvent
from referrals.demo_referrals import seed_demo_referrals
from referrals.models import HandoverPacket, Referral
from referrals.states import ReferralStatus as S


def test_seed_demo_referrals_is_idempotent(app, session, keyring):
    import referrals  # noqa: F401  (connects the consent signals)
    from network.demo import seed_demo_region
    from network.passwords import make_hasher
    from socialmap.demo import seed_demo_socialmap

    today = clock.today()
    assert seed_demo_referrals(session, keyring, today) == 0  # no region yet
    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=today)
    seed_demo_socialmap(session, today)
    seed_demo_consents(session, keyring, today)
    session.commit()
    assert seed_demo_referrals(session, keyring, today) == 5
    session.commit()
    assert seed_demo_referrals(session, keyring, today) == 0
    statuses = sorted(s.value for s in session.scalars(select(Referral.status)))
    assert statuses == sorted(["requested", "accepted", "in-progress", "completed", "draft"])
    overdue = session.scalar(select(Referral).where(Referral.status == S.requested))
    assert overdue.response_due < today
    done = session.scalar(select(Referral).where(Referral.status == S.completed))
    assert done.outcome.value == "werk" and done.handover_confirmed_at is not None
    running = session.scalar(select(Referral).where(Referral.status == S.in_progress))
    assert running.handover_on is not None and running.handover_confirmed_at is not None
    assert session.scalar(select(func.count(HandoverPacket.id))) == 4
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event_type == "referral:send")) == 4
