"""Working days: the promised processing time is counted in them, without weekends and holidays."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays as public_holidays


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date `days` working days after `start` (Saturdays, Sundays and `holidays` skipped)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    return current


@lru_cache(maxsize=64)
def holidays_of(country: str | None, first_year: int, last_year: int) -> frozenset[date]:
    """Public holidays of a country (the `holidays` library); none for an unknown country."""
    if not country:
        return frozenset()
    try:
        return frozenset(public_holidays.country_holidays(country.upper(), years=range(first_year, last_year + 1)))
    except NotImplementedError:
        return frozenset()


def working_days_after(start: date, days: int, country: str | None) -> date:
    """`days` working days after `start` in `country`, its public holidays skipped."""
    span = holidays_of(country, start.year, start.year + 1 + days // 200)
    return add_working_days(start, days, span)
