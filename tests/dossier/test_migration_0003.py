"""Migration 0003 on both backends: stored dossiers judged by the old rules get the 766 verdict.

Each row below is what revision 0002's rules stored; the verdict expected after the upgrade is
worked out by hand beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from lgsp_kit.db import alembic_config, normalise_url
from services.dossier.main import MIGRATIONS

RECEIVED = datetime(2023, 11, 17, 2, tzinfo=UTC)  # 09:00 in Hà Nội
DUE = datetime(2023, 11, 22, 2, tzinfo=UTC)


def at(day: int, hour: int = 2) -> datetime:
    return datetime(2023, 11, day, hour, tzinfo=UTC)


# (code, status, received_at, paused_since, last_changed_at, on_time stored by 0002,
#  statuses of its history after submission, verdict expected after 0003)
ROWS = [
    # Refused at reception: 0002 stored "on time"; never received, so no verdict.
    ("refused", 3, None, None, at(17, 3), True, [3], None),
    # Withdrawn on the 21st, after reception: 0002 gave none; the withdrawal ends handling
    # before the due date (22nd): on time.
    ("withdrawn", 7, RECEIVED, None, at(21), None, [2, 4, 7], True),
    # Withdrawn on the 24th: after the due date, late.
    ("withdrawn-late", 7, RECEIVED, None, at(24), None, [2, 7], False),
    # Waiting for a supplement asked on the 20th: judged at the request, on time.
    ("waiting", 5, RECEIVED, at(20), at(20), None, [2, 4, 5], True),
    # Asked twice, then resolved on time by 0002's rule: late now.
    ("asked-twice", 9, RECEIVED, None, at(21), True, [2, 4, 5, 4, 5, 4, 9], False),
    # Resolved on time, one request: unchanged.
    ("resolved", 9, RECEIVED, None, at(21), True, [2, 4, 5, 4, 9], True),
]


def test_the_upgrade_brings_stored_verdicts_to_the_766_rules(database_url: str) -> None:
    cfg = alembic_config(MIGRATIONS, database_url)
    command.upgrade(cfg, "0002")
    engine = create_engine(normalise_url(database_url))

    def t(value: datetime | None) -> object:
        if value is None or engine.dialect.name != "sqlite":
            return value
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    with engine.begin() as conn:
        for i, (code, status, received, paused, last, on_time, history, _) in enumerate(ROWS):
            conn.execute(
                text(
                    "INSERT INTO dossier (id, code, procedure_code, organ_code, organ_level, "
                    "service_mode, fee_bearing, processing_days, channel, applicant_type, "
                    "applicant_name, applicant_identifier, fees, status, submitted_at, "
                    "last_changed_at, received_at, due_at, paused_since, on_time, paid_online) "
                    "VALUES (:id, :code, '9.000001', '000.01.31.H03', 'commune', 'partial', "
                    "false, 3, 2, 1, 'A', '1', '[]', :status, :submitted, :last, :received, "
                    ":due, :paused, :on_time, false)"
                ),
                {
                    "id": i + 1,
                    "code": code,
                    "status": status,
                    "submitted": t(at(17, 1)),
                    "last": t(last),
                    "received": t(received),
                    "due": t(DUE if received else None),
                    "paused": t(paused),
                    "on_time": on_time,
                },
            )
            previous = 1
            for step, to in enumerate(history):
                conn.execute(
                    text(
                        "INSERT INTO dossier_history (dossier_id, from_status, to_status, at, "
                        "actor) VALUES (:d, :f, :t, :at, 'a')"
                    ),
                    {"d": i + 1, "f": previous, "t": to, "at": t(at(17, 3 + step))},
                )
                previous = to
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        got = {
            code: (None if on_time is None else bool(on_time), asked, unit)
            for code, on_time, asked, unit in conn.execute(
                text("SELECT code, on_time, supplement_requests, processing_unit FROM dossier")
            )
        }
    engine.dispose()
    assert got == {
        code: (expected, history.count(5), "working_day") for code, *_, history, expected in ROWS
    }
