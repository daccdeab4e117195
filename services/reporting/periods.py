"""Reporting periods (kỳ báo cáo): a year, a half-year, a quarter or a month, on one of two bases.

- `calendar` (the default): calendar months; the year 2023 is 01/01/2023 – 31/12/2023.
- `decree09`: the data cut-off of Decree 09/2019/NĐ-CP (chế độ báo cáo của cơ quan hành chính
  nhà nước), Điều 12 "thời gian chốt số liệu báo cáo định kỳ": a month runs from the 15th of the
  month before to the 14th of the month; a quarter from the 15th of the month before it to the
  14th of its last month; six months and the year from 15/12 of the year before to 14/06 and
  14/12. The second half (H2), which the article does not name, is taken as 15/06 – 14/12 so
  that the two halves make the year.

A period is a range of whole days in the province's time zone; state-at-a-time rows (organ
connections, the procedure catalogue) are read at the instant the period ends. On either basis
a period starts on the 1st or the 15th of a month and ends on the 14th or a month's last day,
so projections kept by half-month (1–14, 15–end) add up to any period exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from lgsp_kit.errors import Unprocessable

PeriodBasis = Literal["calendar", "decree09"]
BASES: tuple[PeriodBasis, ...] = ("calendar", "decree09")
BASIS_TEXT: dict[str, str] = {
    "calendar": "Kỳ báo cáo theo tháng dương lịch (năm: 01/01 – 31/12).",
    "decree09": "Kỳ báo cáo theo thời gian chốt số liệu của Nghị định 09/2019/NĐ-CP, Điều 12 "
    "(năm: 15/12 năm trước – 14/12; tháng: 15 tháng trước – 14 tháng báo cáo).",
}
# Years 1900–9999, as `parse_period` takes them: the contract states the range it enforces.
PERIOD_PATTERN = r"^(19|[2-9]\d)\d{2}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$"
_RE = re.compile(PERIOD_PATTERN)
CUT_OFF_DAY = 14  # Decree 09: figures close on the 14th


@dataclass(frozen=True)
class Period:
    label: str
    first_day: date
    last_day: date
    basis: PeriodBasis = "calendar"

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
        """The months of the period, on the same basis."""
        out = []
        year, month = self.last_day.year, self.last_day.month
        # Walk back from the month holding the last day (on the Decree 09 basis the month
        # labelled 2023-12 ends on 14/12/2023).
        while year >= 1900:  # the first year a period may name (its months end there too)
            p = parse_period(f"{year}-{month:02d}", self.basis)
            if p.last_day < self.first_day:
                break
            out.append(p)
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return out[::-1]


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _month_range(text: str) -> tuple[int, int, int]:
    """(year, first month, last month) of a period label."""
    year = int(text[:4])
    rest = text[5:]
    if not rest:
        return year, 1, 12
    if rest[0] == "H":
        first = 1 if rest == "H1" else 7
        return year, first, first + 5
    if rest[0] == "Q":
        first = 3 * (int(rest[1]) - 1) + 1
        return year, first, first + 2
    return year, int(rest), int(rest)


def parse_period(text: str, basis: PeriodBasis = "calendar") -> Period:
    """`2023`, `2023-H1`, `2023-Q4` or `2023-11`, on the calendar or the Decree 09 basis."""
    if not _RE.match(text):
        raise Unprocessable(
            f"period {text!r} is not YYYY, YYYY-H1|H2, YYYY-Q1…Q4 or YYYY-MM",
            code="invalid_period",
        )
    if basis not in BASES:
        raise Unprocessable(f"period basis {basis!r} is not one of {BASES}", code="invalid_period")
    year, first, last = _month_range(text)
    if year < 1900:
        raise Unprocessable(f"period {text!r}: year out of range", code="invalid_period")
    if basis == "calendar":
        return Period(text, date(year, first, 1), _month_end(year, last), basis)
    # From the 15th of the month before the first month to the 14th of the last month.
    before = date(year - 1, 12, CUT_OFF_DAY + 1) if first == 1 else date(year, first - 1, 15)
    return Period(text, before, date(year, last, CUT_OFF_DAY), basis)


def current_year(tz: ZoneInfo, basis: PeriodBasis = "calendar") -> Period:
    """The year in progress: on the Decree 09 basis, from 15/12 the next year's period runs."""
    today = datetime.now(tz).date()
    year = today.year
    if basis == "decree09" and today > date(year, 12, CUT_OFF_DAY):
        year += 1
    return parse_period(str(year), basis)


def half_start(day: date) -> str:
    """The first day of the half-month holding `day` (the 1st or the 15th), ISO format."""
    return day.replace(day=1 if day.day <= CUT_OFF_DAY else CUT_OFF_DAY + 1).isoformat()
