"""A short fault drill (`bench/drills.py`): NATS, a service and PostgreSQL killed with SIGKILL
while the simulator writes; nothing lost, nothing counted twice, the report exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.drills import Drill, parser, private_postgres_possible, table

pytestmark = pytest.mark.e2e


def test_kill_nats_a_service_and_postgres_loses_and_doubles_nothing(tmp_path: Path) -> None:
    # Without PostgreSQL server binaries (or a user to run them) the other faults still run.
    backend = "postgres" if private_postgres_possible() else "sqlite"
    faults = ["nats", "dossier", "postgres"] if backend == "postgres" else ["nats", "dossier"]
    args = parser().parse_args(
        ["--scale", "0.0005", "--batches", "3", "--down", "1", "--phase-seconds", "5",
         "--interactive-every", "10"]
    )  # fmt: skip
    drill = Drill(args, backend, tmp_path)
    try:
        rows = drill.run(faults)
    finally:
        drill.close()
    print(table(rows))
    assert [r.fault for r in rows] == ["none", *faults, "whole year"]
    for row in rows:
        assert (row.lost, row.duplicates, row.exact, row.notes) == (0, 0, True, []), row
    # Each fault was injected and recovered from; the service kill cut calls in flight.
    assert all(r.recover is not None and r.recover > 0 for r in rows[1:-1])
    assert rows[2].fault == "dossier" and rows[2].retried > 0
    # Something was sent and counted in every phase.
    assert drill.expected["lgsp.dossier.submitted"] > 0
