"""Working days in the Netherlands: weekends and Dutch public holidays do not count."""

from __future__ import annotations

import datetime as dt

import pytest

from referrals.workdays import add_working_days, is_working_day, working_days_between

D = dt.date


@pytest.mark.parametrize(("start", "days", "expected"), [
    (D(2027, 1, 4), 1, D(2027, 1, 5)),                 # an ordinary Monday
    (D(2027, 1, 8), 1, D(2027, 1, 11)),                # Friday → Monday
    (D(2027, 1, 9), 1, D(2027, 1, 11)),                # from a Saturday
    (D(2027, 3, 25), 1, D(2027, 3, 30)),               # Goede Vrijdag, the weekend and Tweede Paasdag
    (D(2027, 4, 26), 1, D(2027, 4, 28)),               # Koningsdag (Tuesday 27 April)
    (D(2027, 5, 5), 1, D(2027, 5, 7)),                 # Hemelvaartsdag (Thursday 6 May)
    (D(2027, 5, 14), 1, D(2027, 5, 18)),               # Pinksteren: weekend and Tweede Pinksterdag
    (D(2026, 12, 24), 1, D(2026, 12, 28)),             # Kerst (Friday), Tweede Kerstdag on Saturday
    (D(2026, 12, 24), 5, D(2027, 1, 4)),               # and Nieuwjaarsdag (Friday 1 January 2027)
    (D(2030, 12, 24), 1, D(2030, 12, 27)),             # both Christmas days on weekdays
    (D(2025, 5, 2), 1, D(2025, 5, 6)),                 # Bevrijdingsdag in a lustrum year (2025, Monday)
    (D(2026, 5, 4), 1, D(2026, 5, 5)),                 # ... and not in 2026
    (D(2027, 1, 4), 0, D(2027, 1, 4)),
])
def test_add_working_days(start, days, expected):
    assert add_working_days(start, days) == expected


def test_liberation_day_counts_only_in_lustrum_years():
    assert not is_working_day(D(2025, 5, 5)) and not is_working_day(D(2030, 5, 5))  # 2030: lustrum (and a Sunday)
    assert is_working_day(D(2026, 5, 5)) and is_working_day(D(2027, 5, 5))
    # 2030: Koningsdag on Saturday 27 April, Tweede Paasdag 22 April, Hemelvaart 30 May, Pinkstermaandag 10 June
    assert [d for d in (D(2030, 4, 22), D(2030, 5, 30), D(2030, 6, 10)) if is_working_day(d)] == []
    assert add_working_days(D(2030, 4, 18), 1) == D(2030, 4, 23)  # Goede Vrijdag and Paasmaandag


def test_a_negative_number_of_days_is_refused():
    with pytest.raises(ValueError):
        add_working_days(D(2027, 1, 4), -1)


@pytest.mark.parametrize(("start", "end", "expected"), [
    (D(2027, 1, 4), D(2027, 1, 4), 0),
    (D(2027, 1, 4), D(2027, 1, 3), 0),
    (D(2026, 12, 24), D(2027, 1, 4), 5),
    (D(2027, 1, 8), D(2027, 1, 11), 1),
])
def test_working_days_between(start, end, expected):
    assert working_days_between(start, end) == expected


def test_add_and_between_agree_over_two_years():
    day = D(2026, 1, 1)
    while day < D(2028, 1, 1):
        for n in (1, 2, 5, 20):
            assert working_days_between(day, add_working_days(day, n)) == n
        day += dt.timedelta(days=3)
