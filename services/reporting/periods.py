"""Reporting periods (kỳ báo cáo): a year, a half-year, a quarter or a month.

A period is a range of calendar days in the province's time zone; state-at-a-time rows (organ
connections, the procedure catalogue) are read at the instant the period ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lgsp_kit.errors import Unprocessable

# Years 1900–9999, as `parse_period` takes them: the contract states the range it enforces.
PERIOD_PATTERN = r"^(19|[2-9]\d)\d{2}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$"
_RE = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Period:
    label: str
    first_day: date
    last_day: date

    @property
    def first(self) -> str:
        return self.first_day.isoformat()

    @property
    def last(self) -> str:
        return self.last_day.isoformat()

    def end(self, tz: ZoneInfo) -> datetime:
        """The instant the period ends (exclusive): midnight after its last day."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=tz)

    def months(self) -> list[Period]:
        out = []
        m = date(self.first_day.year, self.first_day.month, 1)
        while m <= self.last_day:
            out.append(parse_period(f"{m.year}-{m.month:02d}"))
            m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
        return out


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def parse_period(text: str) -> Period:
    """`2023`, `2023-H1`, `2023-Q4` or `2023-11`."""
    if not _RE.match(text):
        raise Unprocessable(
            f"period {text!r} is not YYYY, YYYY-H1|H2, YYYY-Q1…Q4 or YYYY-MM",
            code="invalid_period",
        )
    year = int(text[:4])
    if year < 1900:
        raise Unprocessable(f"period {text!r}: year out of range", code="invalid_period")
    rest = text[5:]
    if not rest:
        first, last = 1, 12
    elif rest[0] == "H":
        first = 1 if rest == "H1" else 7
        last = first + 5
    elif rest[0] == "Q":
        first = 3 * (int(rest[1]) - 1) + 1
        last = first + 2
    else:
        first = last = int(rest)
    return Period(text, date(year, first, 1), _month_end(year, last))


def current_year(tz: ZoneInfo) -> Period:
    return parse_period(str(datetime.now(tz).year))
