"""Due dates in each unit on the Vietnamese working calendar, each expected date counted by hand
on a calendar (the days off are those of contracts/reference/working_calendar.json)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays
import pytest

from contracts import reference
from contracts.reference import ProcessingUnit, processing_unit_of
from lgsp_kit.workcalendar import due_at, is_working_day, resume

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(y: int, m: int, d: int, h: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "due"),
    [
        # The example: received Friday 17/11/2023. Calendar days: Sat 18, Sun 19,
        # Mon 20. Working days: Mon 20, Tue 21, Wed 22.
        (at(2023, 11, 17), 3, "day", at(2023, 11, 20)),
        (at(2023, 11, 17), 3, "working_day", at(2023, 11, 22)),
        # Wed 26/4/2023 + 3 days = Sat 29/4; 29/4–3/5 are off (Hùng Kings, 30/4, 1/5 and two
        # compensatory days): the period ends on the next working day, Thu 4/5.
        (at(2023, 4, 26), 3, "day", at(2023, 5, 4)),
        # Fri 26/4/2024: Mon 29/4 swapped away, 30/4 and 1/5 holidays; Thu 2/5 is the 1st
        # working day, Fri 3/5 the 2nd, Sat 4/5 (worked in exchange for 29/4) the 3rd.
        (at(2024, 4, 26, 10), 2, "working_day", at(2024, 5, 3, 10)),
        (at(2024, 4, 26, 10), 3, "working_day", at(2024, 5, 4, 10)),
        # Thu 24/4/2025: Fri 25/4 the 1st, Sat 26/4 (worked in exchange for Fri 2/5) the 2nd.
        (at(2025, 4, 24), 2, "working_day", at(2025, 4, 26)),
        # Tue 29/4/2025 + 1 working day: 30/4, 1/5, 2/5 off, 3–4/5 weekend: Mon 5/5.
        (at(2025, 4, 29), 1, "working_day", at(2025, 5, 5)),
        # Months: 31/1/2023 + 1 month has no 31st: Tue 28/2/2023.
        (at(2023, 1, 31), 1, "month", at(2023, 2, 28)),
        # 17/11/2023 + 3 months = Sat 17/2/2024: Mon 19/2/2024.
        (at(2023, 11, 17), 3, "month", at(2024, 2, 19)),
        # 30/12/2024 + 1 month = Thu 30/1/2025, inside Tết (27/1–31/1), then a weekend: 3/2.
        (at(2024, 12, 30), 1, "month", at(2025, 2, 3)),
        # Hours on the clock: Friday 16:00 + 4 hours.
        (at(2023, 11, 17, 16), 4, "hour", at(2023, 11, 17, 20)),
        # A year the data file does not list (2027) follows the Labour Code's rules: Fri
        # 1/1/2027 is New Year's Day, then a weekend: Mon 4/1/2027.
        (at(2026, 12, 31), 1, "working_day", at(2027, 1, 4)),
    ],
)
def test_due_dates_counted_by_hand(
    start: datetime, amount: int, unit: ProcessingUnit, due: datetime
) -> None:
    assert due_at(start, amount, unit, TZ) == due


@pytest.mark.parametrize("unit", ["working_day", "day", "hour", "month"])
def test_a_limit_of_zero_is_the_end_of_the_same_day(unit: ProcessingUnit) -> None:
    assert due_at(at(2023, 11, 17, 15), 0, unit, TZ) == datetime.combine(
        date(2023, 11, 17), time.max, tzinfo=TZ
    )


def test_the_time_waited_for_a_supplement_moves_the_due_date() -> None:
    # Calendar units: by the time itself, 30 hours (Sat 18/11 10:00 to Sun 19/11 16:00).
    assert resume(at(2023, 11, 20), at(2023, 11, 18, 10), at(2023, 11, 19, 16), "day", TZ) == at(
        2023, 11, 21, 15
    )
    # Working days: Tue 17/1/2023 to Mon 30/1 holds 18, 19, 27, 30 (Tết 20–26): 4 working
    # days; 18/1 + 4 working days = 19, 27, 30, 31.
    assert resume(
        at(2023, 1, 18), at(2023, 1, 17, 10), at(2023, 1, 30, 8), "working_day", TZ
    ) == at(2023, 1, 31)


def test_swapped_days_are_working_days_and_their_pairs_are_not() -> None:
    assert is_working_day(date(2024, 5, 4)) and not is_working_day(date(2024, 4, 29))
    assert is_working_day(date(2025, 4, 26)) and not is_working_day(date(2025, 5, 2))
    assert not is_working_day(date(2023, 11, 18))  # an ordinary Saturday


def test_the_data_file_agrees_with_the_labour_code_rules_and_names_its_sources() -> None:
    """Every weekday off of 2023–2026 is also a day off in the `holidays` package (an
    independent reading of the Labour Code and the notices), and the other way round; every
    entry cites a listed source and says how sure it is."""
    cal = reference.working_calendar()
    assert sorted(cal.years) == [2023, 2024, 2025, 2026]
    for year, listed in cal.years.items():
        rules = {d for d in holidays.country_holidays("VN", years=year) if d.weekday() < 5}
        assert {d.date for d in listed.days_off} == rules, year
        for entry in (*listed.days_off, *listed.working_weekend_days):
            assert entry.sources and set(entry.sources) <= set(cal.sources)
    worked = [d.date for y in cal.years.values() for d in y.working_weekend_days]
    assert worked == [date(2024, 5, 4), date(2025, 4, 26), date(2026, 8, 22)]


@pytest.mark.parametrize(
    ("don_vi_tinh", "unit"),
    [
        ("Ngày làm việc", "working_day"),
        ("ngày làm việc", "working_day"),
        ("Ngay lam viec", "working_day"),
        ("Ngày", "day"),
        ("Giờ", "hour"),
        ("Tháng", "month"),
        (" THÁNG ", "month"),
    ],
)
def test_the_catalogue_unit_maps(don_vi_tinh: str, unit: str) -> None:
    assert processing_unit_of(don_vi_tinh) == unit


def test_an_unknown_catalogue_unit_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Ngày làm việc"):
        processing_unit_of("Năm")


def test_the_demo_catalogue_counts_land_mediation_in_calendar_days() -> None:
    by_code = {p.code: p for p in reference.procedures()}
    mediation = by_code["1.003554.000.00.00.H03"]
    assert mediation.name == "Hòa giải tranh chấp đất đai"
    assert (mediation.processing_days, mediation.processing_unit) == (45, "day")
    assert by_code["1.004873"].processing_unit == "working_day"
