"""Working days (ngày làm việc): Monday to Friday minus Vietnamese public holidays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays


@cache
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """NgayHenTra: the `days`-th working day after `start`'s date, at `start`'s local time;
    for 0 days, the end of `start`'s own day."""
    local = start.astimezone(tz)
    if days <= 0:
        return datetime.combine(local.date(), time.max, tzinfo=tz)
    day = local.date()
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return datetime.combine(day, local.time(), tzinfo=tz)


def working_days_between(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """How many working days lie after `start`'s date, up to and including `end`'s date."""
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count
