"""The hub's clock: now in UTC, today in the Netherlands, ages, and the under-16 rule.

Moments are stored and compared in UTC (:func:`utcnow`). Days — a consent's first and last
day, a deadline, an exit date, a student's age — are Dutch calendar days (:func:`today`,
Europe/Amsterdam), whatever zone the server runs in: nothing in the hub asks the server for
its local date (``date.today()``, naive ``datetime.now()``). Tests move time with
time-machine, which both functions follow.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

#: the zone of the hub's calendar days and of the times people read
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

#: UAVG art. 5: under this age a student's legal representative (parent or guardian) gives
#: consent, signs and acts for them in the portal; from it the student does so themself
ADULT_CONSENT_AGE = 16


def utcnow() -> dt.datetime:
    """Now, in UTC, timezone-aware. The one clock the models and services use."""
    return dt.datetime.now(dt.UTC)


def wall_time(moment: dt.datetime | None) -> str:
    """A stored UTC moment as the time on a Dutch clock (``23-11-2026 14:05``); the template
    filter ``wall_time``. Empty for no moment."""
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") if moment else ""


def day_of(moment: dt.datetime) -> dt.date:
    """The Dutch calendar day of a UTC moment (23:30 UTC on 31 December is 1 January here)."""
    return moment.astimezone(AMSTERDAM).date()


def wall_date(moment: dt.datetime | None) -> str:
    """The Dutch calendar day of a stored UTC moment (``23-11-2026``); the template filter
    ``wall_date``. Just before midnight in UTC it is already the next day in Amsterdam."""
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y") if moment else ""


def today() -> dt.date:
    """Today's date in the Netherlands (around midnight it differs from the UTC date)."""
    return dt.datetime.now(AMSTERDAM).date()


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day``: one more on each birthday (a 29 February birthday
    counts on 1 March in a common year)."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def under_consent_age(date_of_birth: dt.date, day: dt.date) -> bool:
    """Whether the student is under :data:`ADULT_CONSENT_AGE` on ``day``: a legal
    representative consents and signs for them, and a parent's contact is required."""
    return age_on(date_of_birth, day) < ADULT_CONSENT_AGE
