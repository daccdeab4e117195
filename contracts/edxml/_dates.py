"""The standard's date and time formats.

Dates are `yyyy/MM/dd`; `dd/MM/yyyy` is read too (a tolerance: some senders write it) and
never written. Timestamps are `yyyy/MM/dd HH:mm:ss` in Vietnam's time (UTC+07:00, the
standard names no offset); `dd/MM/yyyy HH:mm:ss` is read too.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")

_YMD = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})")


def parse_date(text: str) -> date:
    """ValueError when `text` is neither `yyyy/MM/dd` nor `dd/MM/yyyy`, or no real day."""
    value = text.strip()
    if m := _YMD.fullmatch(value):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY.fullmatch(value):
        return date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(f"{value!r} is not a date (yyyy/MM/dd)")


def format_date(value: date) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def parse_timestamp(text: str) -> datetime:
    """An aware time (UTC+07:00) from `yyyy/MM/dd HH:mm:ss` (or `dd/MM/yyyy HH:mm:ss`)."""
    parts = text.split()
    if len(parts) != 2 or not (m := _TIME.fullmatch(parts[1])):
        raise ValueError(f"{text.strip()!r} is not a timestamp (yyyy/MM/dd HH:mm:ss)")
    day = parse_date(parts[0])
    return datetime(day.year, day.month, day.day, int(m[1]), int(m[2]), int(m[3]), tzinfo=VIETNAM)


def format_timestamp(value: datetime) -> str:
    local = value.astimezone(VIETNAM) if value.tzinfo is not None else value
    return local.strftime("%Y/%m/%d %H:%M:%S")
