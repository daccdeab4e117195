"""Working days and due dates (NgayHenTra) in the unit of a procedure's time limit.

A working day (ngày làm việc) of a state body is Monday to Friday, minus the public holidays,
their compensatory days and the weekdays swapped away, plus the weekend days worked in exchange
(hoán đổi ngày làm việc): `contracts/reference/working_calendar.json` lists them, with sources,
for the years it covers; other years follow the Labour Code's rules as the `holidays` package
computes them (no swaps: they are decided year by year).

Due dates (the Civil Code 91/2015/QH13, Điều 144–148, on periods):

- `working_day`: the n-th working day after the start's date, at the start's time of day;
- `day`: n calendar days after the start (the first day is not counted); `month`: the same
  day n months later, or the month's last day when it has no such day; for both, a period whose
  last day is not a working day ends on the next working day (Điều 148 khoản 5);
- `hour`: n hours after the start, on the clock;
- a time limit of 0 in any unit: the end of the start's own day.

The simulator (`scenarios/`) counts with the same calendar, so what it generates as on time is
what the dossier service judges on time.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from contracts import reference
from contracts.reference import ProcessingUnit


@cache
def _year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(weekdays off, weekend days worked) of `year`."""
    listed = reference.working_calendar().years.get(year)
    if listed is not None:
        return (
            frozenset(d.date for d in listed.days_off),
            frozenset(d.date for d in listed.working_weekend_days),
        )
    # Imported here: the package loads every country's calendars (a third of a second at each
    # process start) for years the reference table does not cover.
    import holidays

    rules = holidays.country_holidays("VN", years=year)
    return frozenset(d for d in rules if d.weekday() < 5), frozenset()


def is_working_day(day: date) -> bool:
    off, worked = _year(day.year)
    if day.weekday() < 5:
        return day not in off
    return day in worked


def next_working_day(day: date) -> date:
    """`day` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The `days`-th working day after `start`'s date, at `start`'s local time; for 0 days, the
    end of `start`'s own day."""
    local = start.astimezone(tz)
    if days <= 0:
        return _end_of_day(local.date(), tz)
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


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_at(start: datetime, amount: int, unit: ProcessingUnit, tz: ZoneInfo) -> datetime:
    """NgayHenTra of a time limit of `amount` `unit`s counted from `start` (see the module)."""
    local = start.astimezone(tz)
    if amount <= 0:
        return _end_of_day(local.date(), tz)
    if unit == "working_day":
        return add_working_days(start, amount, tz)
    if unit == "hour":
        return start + timedelta(hours=amount)
    if unit == "day":
        last = local.date() + timedelta(days=amount)
    else:
        last = add_months(local.date(), amount)
    return datetime.combine(next_working_day(last), local.time(), tzinfo=tz)


def resume(
    due: datetime, paused_since: datetime, resumed_at: datetime, unit: ProcessingUnit, tz: ZoneInfo
) -> datetime:
    """The due date once a wait for a supplement ends: moved by the time waited, which does not
    count (766: the supplement time is taken off). Working days move by the working days
    waited; other units by the time itself."""
    if unit == "working_day":
        waited = working_days_between(paused_since, resumed_at, tz)
        return add_working_days(due, waited, tz) if waited else due
    return due + max(resumed_at - paused_since, timedelta(0))


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.max, tzinfo=tz)
