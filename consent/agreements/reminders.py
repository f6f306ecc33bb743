"""The agreements' clocks: reminders for signatures that are still missing, and the dated
review moments of an active plan's checks & balances.

Both are idempotent: a party is reminded again only :data:`REMIND_EVERY` after its last
reminder (stamped on the party), a review moment once (stamped on the moment); running a job
twice in a row sends nothing new. Notification titles never name the student.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.agreements.lifecycle import signer_accounts
from consent.agreements.models import (
    Agreement,
    AgreementStatus,
    AgreementVersion,
    ReviewMoment,
    SigningOrder,
    VersionStatus,
)
from consent.tags import AgreementNotice
from network.clock import utcnow
from network.crypto import Keyring
from network.models import SCHOOL_STAFF_ROLES
from network.notifications import notify, organisation_staff

#: a pending signature is reminded this long after the offer, and again after as long
REMIND_EVERY = dt.timedelta(days=3)


def remind_pending_signatures(session: Session, keyring: Keyring, *, base_url: str = "",
                              now: dt.datetime | None = None) -> int:
    """Remind every party whose signature is still missing on an offered version (in a
    sequential order only the party whose turn it is). Returns the number of parties reminded."""
    now = now or utcnow()
    due = now - REMIND_EVERY
    versions = session.scalars(
        select(AgreementVersion).where(AgreementVersion.status == VersionStatus.awaiting,
                                       AgreementVersion.offered_at <= due)
        .options(selectinload(AgreementVersion.parties), selectinload(AgreementVersion.signatures),
                 selectinload(AgreementVersion.agreement).selectinload(Agreement.student)))
    reminded = 0
    for version in versions:
        done = {s.party_key for s in version.signatures}
        waiting = [p for p in version.parties if p.signs and p.key not in done]
        if version.signing_order is SigningOrder.sequential:
            waiting = waiting[:1]
            # the party was asked when its turn came (the previous signature), not at the offer
            if version.signatures and max(s.signed_at for s in version.signatures) > due:
                continue
        for party in waiting:
            if party.reminded_at is not None and party.reminded_at > due:
                continue
            accounts = signer_accounts(session, version.agreement, party)
            notify(session, keyring, accounts, kind=AgreementNotice.sign_reminder,
                   title=str(_l("Herinnering: versie %(n)s van een plan wacht nog op uw handtekening",
                                n=version.number)),
                   link=f"/plannen/{version.agreement_id}", base_url=base_url, now=now)
            party.reminded_at = now
            reminded += 1
    return reminded


def remind_review_moments(session: Session, keyring: Keyring, *, today: dt.date, base_url: str = "",
                          now: dt.datetime | None = None) -> int:
    """On (or after) the day of a critical success moment of an active plan, tell the contact
    (the plan's author, else the school's staff) once."""
    now = now or utcnow()
    moments = session.execute(
        select(ReviewMoment, Agreement.school_id)
        .join(Agreement, Agreement.id == ReviewMoment.agreement_id)
        .where(ReviewMoment.due_date <= today, ReviewMoment.reminded_at.is_(None),
               Agreement.status == AgreementStatus.active)).all()
    for moment, school_id in moments:
        accounts = ([moment.contact_account_id] if moment.contact_account_id
                    else organisation_staff(session, school_id, SCHOOL_STAFF_ROLES))
        notify(session, keyring, accounts, kind=AgreementNotice.review,
               title=str(_l("Evaluatiemoment in een plan: %(what)s (%(day)s)", what=moment.label,
                            day=moment.due_date.strftime("%d-%m-%Y"))),
               link=f"/plannen/{moment.agreement_id}", base_url=base_url, now=now)
        moment.reminded_at = now
    return len(moments)

