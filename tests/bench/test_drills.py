"""The drills' README row: every kill of a backend together."""

from __future__ import annotations

import argparse

from bench.drills import Row, result_rows


def test_one_row_per_backend() -> None:
    args = argparse.Namespace(scale=0.002, down=2.0)
    rows = [
        Row("none", "sqlite", None, 0, 0, True),
        Row("nats", "sqlite", 2.6, 0, 0, True, retried=3),
        Row("dossier", "sqlite", 6.8, 0, 0, True, retried=8),
        Row("nats", "postgres", 3.1, 1, 0, True),
    ]
    sqlite, postgres = result_rows(args, rows)
    assert sqlite.met is True
    assert sqlite.what.endswith("restarted 2 s later; faults: nats, dossier")
    assert sqlite.measured == (
        "2 faults: 0 events lost, 0 counted twice, report exact in every phase; "
        "time to recover 2.6–6.8 s; 11 calls retried"
    )
    assert postgres.met is False
    assert "PostgreSQL" in postgres.what
    assert postgres.measured.startswith("1 fault: 1 events lost")
