"""consent.demo: the demo consents are added once, through the services."""

from __future__ import annotations

from sqlalchemy import func, select

from consent.demo import seed_demo_consents
from consent.models import Consent, ConsentRequest
from network import clock


def test_seed_demo_consents_is_idempotent(app, session, keyring):
    from network.demo import seed_demo_region
    from network.passwords import make_hasher

    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=clock.today())
    session.commit()
    assert seed_demo_consents(session, keyring, clock.today()) == 3
    session.commit()
    assert seed_demo_consents(session, keyring, clock.today()) == 0
    assert session.scalar(select(func.count()).select_from(Consent)) == 2
    assert session.scalar(select(func.count()).select_from(ConsentRequest)) == 1
