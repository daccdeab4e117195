"""The reporting benchmark's README rows: freshness judged with the rate taken, the query p50."""

from __future__ import annotations

import argparse
from typing import Any

from bench.reporting_freshness import freshness_row, percentiles, query_row


def figures(accepted: int, per_s: float, p99: float, errors: int = 0) -> dict[str, Any]:
    return {
        "offered": 2000,
        "accepted": accepted,
        "accepted_per_s": per_s,
        "errors": errors,
        "accepted_to_metrics_s": {"p50": 0.03, "p95": 0.1, "p99": p99, "max": p99},
    }


def test_freshness_is_met_only_at_the_offered_rate() -> None:
    args = argparse.Namespace(rate=200.0, duration=10.0, via="dossier")
    row = freshness_row(args, "sqlite", figures(2000, 197.0, 0.151))
    assert row.met is True
    assert row.measured == ("2,000 of 2,000 accepted at 197/s, 0 errors; p50 30 ms, p99 **151 ms**")
    assert "dossier service's answer" in row.what
    assert row.what.endswith("SQLite, 200 dossiers/s offered for 10 s")
    slow = freshness_row(args, "postgresql", figures(2000, 123.0, 0.349))
    assert slow.met is False
    assert slow.measured.endswith("(**200/s not reached**)")
    failing = freshness_row(args, "sqlite", figures(1990, 199.0, 0.2, errors=10))
    assert failing.met is False


def test_freshness_with_nothing_seen() -> None:
    args = argparse.Namespace(rate=200.0, duration=10.0, via="nats")
    data = figures(2000, 200.0, 0.1) | {"accepted_to_metrics_s": None}
    row = freshness_row(args, "sqlite", data)
    assert row.met is False
    assert "no reception seen" in row.measured
    assert "JetStream" in row.what


def test_query_row_judges_the_year_p50() -> None:
    args = argparse.Namespace(repeat=5)
    data: dict[str, Any] = {
        "events": 6_012_345,
        "projection_rows": 871_234,
        "build_report": {"year": {"p50": 0.0301, "p95": 0.0402}},
        "http_year": {"p50": 0.0333},
    }
    row = query_row(args, "sqlite", data)
    assert row.met is True
    assert row.what.startswith("Phụ lục II for a year over 6.0 M events (871,234 projection rows)")
    assert row.measured.startswith("**30.1 ms** (p95 40.2 ms)")
    data["build_report"]["year"]["p50"] = 0.051
    assert query_row(args, "postgresql", data).met is False


def test_percentiles() -> None:
    assert percentiles([float(i) for i in range(100)]) == {
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
        "max": 99.0,
    }
