"""The 766 on-time rules as a table of cases, each verdict and the counts worked out by hand.

Every case has the same due date, Wednesday 22/11/2023 09:00 (a 3-working-day procedure
received Friday 17/11 09:00); the times around it are chosen so that the expected verdict can
be read off the rule quoted in `services/dossier/dossiers/ontime.py`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.dossier.dossiers.ontime import Timeline, verdict

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def t(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2023, 11, day, hour, minute, tzinfo=TZ)


RECEIVED, DUE = t(17), t(22)

# (case, timeline, as_of, expected verdict)
CASES: list[tuple[str, Timeline, datetime | None, bool | None]] = [
    # Rule 2: only received dossiers are judged.
    ("refused at reception (3)", Timeline(None, None, ended_at=t(17, 10)), None, None),
    ("withdrawn (7) before reception", Timeline(None, None, ended_at=t(17, 11)), None, None),
    # Rule 1: the end of handling is not after the due date.
    ("resolved the day before", Timeline(RECEIVED, DUE, ended_at=t(21, 15)), None, True),
    ("resolved at the due minute", Timeline(RECEIVED, DUE, ended_at=t(22, 9)), None, True),
    ("resolved a minute late", Timeline(RECEIVED, DUE, ended_at=t(22, 9, 1)), None, False),
    # Rule 2: a withdrawal after reception ends handling.
    ("withdrawn (7) in time", Timeline(RECEIVED, DUE, ended_at=t(20, 14)), None, True),
    ("withdrawn (7) after the due date", Timeline(RECEIVED, DUE, ended_at=t(24)), None, False),
    # Rule 4: waiting for a supplement, judged at the request time, however long it waits.
    ("waiting, asked before due",
     Timeline(RECEIVED, DUE, waiting_since=t(20), supplement_requests=1), t(30), True),
    ("waiting, asked after due",
     Timeline(RECEIVED, DUE, waiting_since=t(23), supplement_requests=1), None, False),
    # Rule 5: more than one supplement request is late, whatever the end.
    ("asked twice, resolved early", Timeline(RECEIVED, DUE, ended_at=t(21), supplement_requests=2),
     None, False),
    ("asked twice, waiting", Timeline(RECEIVED, DUE, waiting_since=t(20), supplement_requests=2),
     None, False),
    # Rule 6: the due date already moved by the wait (two days: 24/11 09:00).
    ("asked once, resolved by the moved due date",
     Timeline(RECEIVED, t(24), ended_at=t(23, 16), supplement_requests=1), None, True),
    # Still in handling: no verdict, unless judged as of a time (the end of a period).
    ("in handling", Timeline(RECEIVED, DUE), None, None),
    ("in handling, as of the 21st", Timeline(RECEIVED, DUE), t(21), True),
    ("in handling, as of the 30th", Timeline(RECEIVED, DUE), t(30), False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("timeline", "as_of", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_case_gets_its_verdict(
    timeline: Timeline, as_of: datetime | None, expected: bool | None
) -> None:
    assert verdict(timeline, as_of=as_of) is expected


def test_the_table_counts_by_hand() -> None:
    """Counted by hand from the table above: on time are the day-before, due-minute, withdrawn
    in time, waiting asked before due, resolved by the moved due date and as-of-the-21st
    cases (6); late are the minute-late, withdrawn late, waiting asked after due, the two
    asked-twice and as-of-the-30th cases (6); the two never received and the one in handling
    without a date are in neither count (3)."""
    verdicts = [verdict(tl, as_of=as_of) for _, tl, as_of, _ in CASES]
    assert verdicts.count(True) == 6
    assert verdicts.count(False) == 6
    assert verdicts.count(None) == 3
    assert len(CASES) == 15
