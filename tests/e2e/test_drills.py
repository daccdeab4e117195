"""A short fault drill (`bench/drills.py`): NATS, a service and PostgreSQL killed with SIGKILL
while the simulator writes; nothing lost, nothing counted twice, the report exact."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.drills import Drill, Row, parser, private_postgres_possible, table

pytestmark = pytest.mark.e2e


def drill_rows(
    tmp_path: Path, backend: str, faults: list[str], *flags: str
) -> tuple[list[Row], Counter[str]]:
    """The drill's phases for `faults` at a tiny scale (3 batches, a desk call every 10
    records), and the events it expects; each phase lost nothing, counted nothing twice and
    ended with the report exact."""
    args = parser().parse_args(
        ["--scale", "0.0005", "--batches", "3", "--interactive-every", "10", *flags]
    )
    drill = Drill(args, backend, tmp_path)
    try:
        rows = drill.run(faults)
    finally:
        drill.close()
    print(table(rows))
    assert [r.fault for r in rows] == ["none", *faults, "whole year"]
    for row in rows:
        assert (row.lost, row.duplicates, row.exact, row.notes) == (0, 0, True, []), row
    return rows, drill.expected


def test_kill_nats_a_service_and_postgres_loses_and_doubles_nothing(tmp_path: Path) -> None:
    # Without PostgreSQL server binaries (or a user to run them) the other faults still run.
    backend = "postgres" if private_postgres_possible() else "sqlite"
    faults = ["nats", "dossier", "postgres"] if backend == "postgres" else ["nats", "dossier"]
    rows, expected = drill_rows(tmp_path, backend, faults, "--down", "1", "--phase-seconds", "5")
    # Each fault was injected and recovered from; the service kill cut calls in flight.
    assert all(r.recover is not None and r.recover > 0 for r in rows[1:-1])
    assert rows[2].fault == "dossier" and rows[2].retried > 0
    # Something was sent and counted in every phase.
    assert expected["lgsp.dossier.submitted"] > 0


def test_national_side_down_then_failing_leaves_dvcqg_equal_to_the_province(
    tmp_path: Path,
) -> None:
    """The drill's national faults at a small scale with short outages: the national simulator
    killed, then answering error_code "-9", while the simulator writes; afterwards every
    dossier at DVCQG equals the province's, none twice, and reporting counts them."""
    faults = ["national", "dvcqg-error"]
    flags = ["--national-down", "6", "--phase-seconds", "8", "--faults", ",".join(faults)]
    rows, _ = drill_rows(tmp_path, "sqlite", faults, *flags)
    for row in rows:
        assert row.dvcqg is not None and row.dvcqg["equal"], row.dvcqg
        # Something is at DVCQG, each dossier once, and reporting's count agrees.
        assert row.dvcqg["dvcqg"] == row.dvcqg["province"] == row.dvcqg["created"] > 0
        assert row.dvcqg["twice"] == {} and row.dvcqg["reported"] > 0
    # The outage outlasted the sending's start: the national side was out while dossiers came.
    assert all(r.recover is not None and r.recover >= 6 for r in rows[1:3])
    whole = rows[-1].dvcqg
    assert whole is not None and whole["province"] >= rows[2].dvcqg["province"]  # type: ignore[index]
