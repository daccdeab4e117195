"""The hostile-input run's README row."""

from __future__ import annotations

from collections import Counter

from bench.hostile import Family, result_row


def test_the_row_sums_every_family() -> None:
    families = [
        Family("body-size", sent=12, statuses=Counter({"413": 9, "422": 3})),
        Family("schemathesis", sent=100, checks_state=False, state_changes=4),
    ]
    row = result_row(families, [], "SQLite")
    assert row.met is True
    assert row.what == "hostile input through the gateway, SQLite: body-size, schemathesis"
    assert row.measured == "112 requests: 0 5xx, 0 hangs, 0 state changes"
    families[0].server_errors = 1
    assert result_row(families, [], "SQLite").met is False
    families[0].server_errors = 0
    assert result_row(families, ["dossier: not ready"], "SQLite").met is False
