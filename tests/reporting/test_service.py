"""Every Phụ lục II figure, fed through the real consumer, against hand-computed numbers."""

from __future__ import annotations

from typing import Any

import pytest

from lgsp_kit.consumer import EventConsumer
from lgsp_kit.db import Database
from lgsp_kit.errors import Conflict, NotFound, Unprocessable
from services.reporting import service
from services.reporting.periods import parse_period
from services.reporting.schemas import DeclaredIn
from tests.reporting import scenario
from tests.reporting.events import VN, raw


def report(db: Database, period: str, **kwargs: Any) -> dict[str, Any]:
    with db.session() as session:
        rep = service.build_report(session, parse_period(period), tz=VN, **kwargs)
    return {row.stt: row for row in rep.rows}


def parts(rows: dict[str, Any], stt: str) -> tuple[int | None, int | None]:
    return rows[stt].numerator, rows[stt].denominator


def feed(consumer: EventConsumer) -> None:
    events = scenario.everything()
    # Several batches, the D2 disconnection before its connection, the catalogue backwards.
    for start in range(0, len(events), 7):
        consumer.apply(raw(events[start : start + 7]))


def test_every_indicator_of_2023_matches_the_hand_count(
    db: Database, consumer: EventConsumer
) -> None:
    feed(consumer)
    rows = report(db, "2023")
    for stt, expected in scenario.EXPECTED_2023.items():
        assert parts(rows, stt) == expected, stt
        n, d = expected
        assert rows[stt].value == round(100 * n / d, 2)
        assert rows[stt].source == "computed"
    # Count rows carry the ratio's parts.
    counts = {"6.1.1": 3, "6.1.2": 3, "6.2.1": 3, "6.2.2": 2, "6.3.1": 6, "6.3.2": 4}
    counts |= {"6.4.1": 5, "6.4.2": 2, "6.5.1": 2, "6.5.2": 2}
    for stt, n in counts.items():
        assert rows[stt].value == n, stt
    assert rows["6.3"].value == 66.67
    assert rows["1"].source == "declared" and rows["1"].value is None
    assert rows["5"].source is None  # a heading


def test_periods_cut_at_midnight_in_ho_chi_minh_time(db: Database, consumer: EventConsumer) -> None:
    feed(consumer)
    q1 = report(db, "2023-Q1")
    assert parts(q1, "6.3") == (3, 3)
    assert parts(q1, "6.4") == (2, 2)
    # State at the end of Q1: S2 not yet connected, D2 cut off on 2023-03-01, C3 not yet.
    assert parts(q1, "5.1.1") == (1, 3)
    assert parts(q1, "5.1.2") == (1, 2)
    assert parts(q1, "5.1.3") == (1, 3)
    assert parts(report(db, "2023-02"), "5.1.2") == (2, 2)
    h1 = report(db, "2023-H1")
    assert parts(h1, "6.1") == (1, 2)
    assert parts(h1, "6.5") == (1, 2)
    q4 = report(db, "2023-Q4")
    # 2023-12-31T23:30+07:00 is in 2023 (it is 16:30 UTC); 2024-01-01T00:10+07:00 is not.
    assert parts(q4, "6.3") == (1, 1)
    assert parts(q4, "6.4") == (0, 3)
    december = report(db, "2023-12")
    assert parts(december, "6.3") == (1, 1)
    assert parts(december, "5.2.2") == (0, 1)
    november = report(db, "2023-11")
    assert parts(november, "6.3") == (0, 0) and november["6.3"].value is None
    assert parts(november, "6.4") == (0, 1) and november["6.4"].value == 0.0
    y2024 = report(db, "2024")
    assert parts(y2024, "6.3") == (1, 1)
    # R5, resolved on 2023-12-30, counts in 2023 though its fee was paid online in 2024.
    assert parts(y2024, "TT.1") == (0, 0)
    assert parts(y2024, "TT.2") == (1, 2)
    assert parts(q1, "TT.1") == (2, 3)
    assert parts(q1, "TT.2") == (1, 1)
    assert parts(y2024, "5.1.3") == (3, 3)  # C2 connected at 00:30 on 1 January 2024
    assert parts(y2024, "6.1") == (4, 4)  # P4 published in 2024


def test_the_same_batch_applied_twice_counts_once(db: Database, consumer: EventConsumer) -> None:
    events = raw(scenario.everything())
    assert consumer.apply(events) == len(events)
    before = report(db, "2023")
    assert consumer.apply(events) == 0
    assert consumer.apply(events[:10] + events[:10]) == 0
    after = report(db, "2023")
    for stt in scenario.EXPECTED_2023:
        assert parts(after, stt) == parts(before, stt) == scenario.EXPECTED_2023[stt]


def test_organ_filter_covers_the_organ_and_the_units_under_it(
    db: Database, consumer: EventConsumer
) -> None:
    feed(consumer)
    rows = report(db, "2023", organ="D1")
    assert parts(rows, "5.1.1") == (0, 0) and rows["5.1.1"].value is None
    assert parts(rows, "5.1.2") == (1, 1)
    assert parts(rows, "5.1.3") == (1, 2)
    assert parts(rows, "5.2") == (1, 3)
    assert parts(rows, "6.3") == (4, 5)
    assert parts(rows, "6.4") == (2, 2)
    assert parts(rows, "6.2") == (2, 2)
    assert parts(rows, "TT.1") == (3, 4)
    assert parts(rows, "6.1") == (3, 3) and rows["6.1"].note == service.CATALOGUE_NOTE
    whole = report(db, "2023", organ=scenario.PROV)
    for stt, expected in scenario.EXPECTED_2023.items():
        assert parts(whole, stt) == expected, stt
    with pytest.raises(NotFound):
        report(db, "2023", organ="NOPE")


def test_level_filter_narrows_the_rows_that_add_up_across_levels(
    db: Database, consumer: EventConsumer
) -> None:
    feed(consumer)
    rows = report(db, "2023", level="district")
    assert parts(rows, "6.3") == (4, 4)
    assert parts(rows, "6.4") == (2, 2)
    assert parts(rows, "6.2") == (2, 2)
    assert parts(rows, "5.2") == (1, 2)
    assert parts(rows, "TT.1") == (3, 4)
    assert parts(rows, "6.1") == (0, 0)  # no district procedure is eligible
    assert parts(rows, "5.1.1") == (2, 3)  # per-level rows keep their level
    assert parts(report(db, "2023", level="province"), "5.2") == (1, 1)


def test_declared_rows_keep_history_and_prefer_the_period_s_own_value(db: Database) -> None:
    with db.session() as session:
        service.declare(session, "2", DeclaredIn(value=1), who="official-a")
        service.declare(session, "2", DeclaredIn(value=2, period="2023", note="3 cấp"), who="b")
        service.declare(session, "3", DeclaredIn(value=99.5), who="official-a")
    rows = report(db, "2023")
    assert rows["2"].value == 2 and rows["2"].declared_by == "b" and rows["2"].note == "3 cấp"
    assert report(db, "2022")["2"].value == 1
    assert rows["3"].value == 99.5
    with db.session() as session:
        history = service.declared_history(session, "2")
    assert [h.value for h in history] == [2, 1]
    assert [h.declared_by for h in history] == ["b", "official-a"]
    with db.session() as session, pytest.raises(Conflict):
        service.declare(session, "6.3", DeclaredIn(value=50), who="x")
    with db.session() as session, pytest.raises(NotFound):
        service.declare(session, "9.9", DeclaredIn(value=1), who="x")
    with db.session() as session, pytest.raises(Unprocessable):
        service.declare(session, "1", DeclaredIn(value=3), who="x")
    with db.session() as session, pytest.raises(Unprocessable):
        service.declare(session, "3", DeclaredIn(value=100.5), who="x")


def test_monthly_ratios_for_the_chart(db: Database, consumer: EventConsumer) -> None:
    feed(consumer)
    with db.session() as session:
        series = service.monthly_dossier_ratios(session, parse_period("2023"))
    by_month = {m: (full, partial) for m, full, partial in series}
    assert len(series) == 12
    assert by_month["2023-01"] == (100.0, None)
    assert by_month["2023-02"] == (100.0, 100.0)
    assert by_month["2023-10"] == (None, 0.0)
    assert by_month["2023-12"] == (100.0, None)
