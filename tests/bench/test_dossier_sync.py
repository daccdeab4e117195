"""The sync benchmark's README row: what it measured, and what it left out."""

from __future__ import annotations

import argparse

from bench.dossier_sync import bodies, result_row


def test_the_row_says_no_events_and_no_gateway() -> None:
    args = argparse.Namespace(records=20_000, batch=1000, concurrency=2)
    row = result_row(args, "sqlite", created=20_000, elapsed=4.0, cpu=3.2)
    assert "**no events published**" in row.what
    assert "**no gateway**" in row.what
    assert "SQLite" in row.what
    assert row.measured.startswith("**5,000 records/s** (20,000 in 4.0 s;")
    assert "6,250 records per CPU-second" in row.measured
    assert row.met is True
    slower = result_row(args, "postgresql", created=20_000, elapsed=5.0, cpu=3.2)
    assert (slower.met, "PostgreSQL" in slower.what) == (False, True)


def test_bodies_are_the_batches() -> None:
    payloads = bodies(25, 10)
    assert len(payloads) == 3
    assert payloads[-1].count(b'"code"') == 5
