"""Working days: the promised processing time is counted in them."""

from __future__ import annotations

from datetime import date, timedelta


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date `days` working days after `start` (Saturdays, Sundays and `holidays` skipped)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    return current
