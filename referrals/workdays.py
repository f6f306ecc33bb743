"""Working days in the Netherlands: weekends and Dutch public holidays excluded.

Holidays come from the ``holidays`` package (Nieuwjaarsdag, Goede Vrijdag, Pasen, Koningsdag,
Bevrijdingsdag in lustrum years, Hemelvaart, Pinksteren, Kerst), the days most employers and
municipalities close. Response times of services are counted in these days (DESIGN.md rule 3).
"""

from __future__ import annotations

import datetime as dt
import functools

import holidays

DEFAULT_RESPONSE_DAYS = 5


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("NL", years=year).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself does not count).

    ``add_working_days(friday, 1)`` is the next Monday, unless that is a holiday.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    day = start
    while days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count
