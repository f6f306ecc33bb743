"""network.clock: now in UTC, today in the Netherlands, ages and the under-16 rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from network import clock

UTC = dt.UTC


def test_utcnow_is_aware_utc(time_machine):
    time_machine.move_to(dt.datetime(2027, 1, 15, 23, 30, tzinfo=UTC), tick=False)
    now = clock.utcnow()
    assert now == dt.datetime(2027, 1, 15, 23, 30, tzinfo=UTC)
    assert now.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(("moment", "day"), [
    # winter (CET, UTC+1): midnight in Amsterdam is 23:00 UTC the day before
    (dt.datetime(2027, 1, 15, 22, 59, tzinfo=UTC), dt.date(2027, 1, 15)),
    (dt.datetime(2027, 1, 15, 23, 0, tzinfo=UTC), dt.date(2027, 1, 16)),
    (dt.datetime(2027, 1, 15, 23, 30, tzinfo=UTC), dt.date(2027, 1, 16)),
    # summer (CEST, UTC+2): midnight in Amsterdam is 22:00 UTC the day before
    (dt.datetime(2027, 7, 15, 21, 59, tzinfo=UTC), dt.date(2027, 7, 15)),
    (dt.datetime(2027, 7, 15, 22, 0, tzinfo=UTC), dt.date(2027, 7, 16)),
    (dt.datetime(2027, 7, 15, 23, 30, tzinfo=UTC), dt.date(2027, 7, 16)),
    # new year's eve: the Dutch year starts an hour before the UTC one
    (dt.datetime(2026, 12, 31, 23, 15, tzinfo=UTC), dt.date(2027, 1, 1)),
])
def test_today_is_the_date_in_amsterdam_around_midnight_utc(time_machine, moment, day):
    time_machine.move_to(moment, tick=False)
    assert clock.today() == day
    assert clock.utcnow().date() == moment.date()  # the UTC date, which differs here


def test_today_does_not_follow_the_servers_own_zone(time_machine):
    # a server whose local zone is UTC+14: its date.today() is already the 16th
    time_machine.move_to(dt.datetime(2027, 1, 16, 0, 30, tzinfo=ZoneInfo("Pacific/Kiritimati")), tick=False)
    assert dt.date.today() == dt.date(2027, 1, 16)
    assert clock.today() == dt.date(2027, 1, 15)  # 11:30 in Amsterdam


@pytest.mark.parametrize(("born", "day", "age"), [
    (dt.date(2011, 5, 10), dt.date(2027, 5, 9), 15),   # the day before the birthday
    (dt.date(2011, 5, 10), dt.date(2027, 5, 10), 16),  # on the birthday
    (dt.date(2011, 5, 10), dt.date(2027, 12, 31), 16),
    (dt.date(2011, 5, 10), dt.date(2011, 5, 10), 0),
    # born on 29 February: a year older on 1 March in a common year, on 29 February in a leap year
    (dt.date(2012, 2, 29), dt.date(2028, 2, 28), 15),
    (dt.date(2012, 2, 29), dt.date(2028, 2, 29), 16),
    (dt.date(2012, 2, 29), dt.date(2027, 2, 28), 14),
    (dt.date(2012, 2, 29), dt.date(2027, 3, 1), 15),
])
def test_age_on(born, day, age):
    assert clock.age_on(born, day) == age


@pytest.mark.parametrize(("born", "day", "under"), [
    (dt.date(2011, 5, 10), dt.date(2027, 5, 9), True),    # 15, one day before turning 16
    (dt.date(2011, 5, 10), dt.date(2027, 5, 10), False),  # 16 today: consents themself
    (dt.date(2009, 1, 1), dt.date(2027, 5, 10), False),   # 18
    (dt.date(2014, 6, 1), dt.date(2027, 5, 10), True),    # 12
    (dt.date(2012, 2, 29), dt.date(2028, 2, 28), True),   # leap-day birthday: 16 on 29 February 2028
    (dt.date(2012, 2, 29), dt.date(2028, 2, 29), False),
])
def test_under_consent_age_is_under_16(born, day, under):
    assert clock.ADULT_CONSENT_AGE == 16
    assert clock.under_consent_age(born, day) is under


def test_wall_time_is_the_dutch_clock_in_winter_and_summer():
    wall_time = clock.wall_time
    assert wall_time(dt.datetime(2026, 1, 15, 13, 5, tzinfo=dt.UTC)) == "15-01-2026 14:05"  # CET, UTC+1
    assert wall_time(dt.datetime(2026, 7, 15, 13, 5, tzinfo=dt.UTC)) == "15-07-2026 15:05"  # CEST, UTC+2
    assert wall_time(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == "01-01-2027 00:30"  # the next day
    assert wall_time(None) == ""


def test_wall_date_is_the_dutch_day_of_a_utc_moment():
    assert clock.wall_date(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == "01-01-2027"
    assert clock.wall_date(dt.datetime(2026, 6, 30, 21, 59, tzinfo=dt.UTC)) == "30-06-2026"
    assert clock.wall_date(dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)) == "01-07-2026"
    assert clock.wall_date(None) == ""


def test_day_of_a_moment_is_the_dutch_day():
    assert clock.day_of(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)
    assert clock.day_of(dt.datetime(2026, 12, 31, 22, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 31)
