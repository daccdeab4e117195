"""The result-file writer: what a file holds, and what it keeps out."""

from __future__ import annotations

import argparse
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench import results

CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
processor\t: 1
model name\t: AMD EPYC 7B13
"""


def start() -> results.Start:
    return results.Start(
        datetime(2026, 12, 5, 21, 30, 5, 123456, tzinfo=UTC), {"head": "a" * 40, "dirty": False}
    )


def test_a_written_file_holds_the_run(tmp_path: Path) -> None:
    row = results.Row("sync", "**6,000 records/s**", "≥ 5,000 records/s", True, "`bench`")
    tmp = tmp_path
    path = results.write(
        tmp,
        "dossier_sync",
        variant="sqlite",
        started=start(),
        parameters={"records": 20_000},
        figures={"records_per_s": 6000.0},
        rows=[row],
        note="shared with other work",
        finished_at=datetime(2026, 12, 5, 21, 31, tzinfo=UTC),
        argv=["bench/dossier_sync.py", "--records", "20000"],
    )
    assert path == tmp / "dossier_sync-sqlite.json"
    data = json.loads(path.read_text())
    assert data["benchmark"] == "dossier_sync"
    assert (data["started_at"], data["finished_at"]) == (
        "2026-12-05T21:30:05Z",
        "2026-12-05T21:31:00Z",
    )
    assert data["commit"] == {"head": "a" * 40, "dirty": False}
    assert data["parameters"] == {"records": 20_000}
    assert data["figures"] == {"records_per_s": 6000.0}
    assert data["rows"] == [
        {
            "what": "sync",
            "measured": "**6,000 records/s**",
            "target": "≥ 5,000 records/s",
            "met": True,
            "where": "`bench`",
        }
    ]
    machine = data["machine"]
    assert machine["note"] == "shared with other work"
    assert machine["cores"] >= 1
    assert set(machine) >= {"cpu_model", "memory_bytes", "os", "python"}
    assert data["command"][0] == "python"
    assert data["command"][-2:] == ["--records", "20000"]
    assert data["variant"] == "sqlite"


def test_a_new_run_overwrites_the_file(tmp_path: Path) -> None:
    tmp = tmp_path
    for rps in (1.0, 2.0):
        results.write(tmp, "gateway", started=start(), parameters={}, figures={"rps": rps}, rows=[])
    assert [p.name for p in tmp.iterdir()] == ["gateway.json"]
    assert json.loads((tmp / "gateway.json").read_text())["figures"] == {"rps": 2.0}


def test_cpu_model_and_memory_from_proc() -> None:
    assert results.cpu_model(CPUINFO) == "AMD EPYC 7B13"
    assert results.cpu_model("Hardware\t: BCM2835\n") == "BCM2835"
    assert results.memory_bytes("MemTotal:       24683772 kB\nMemFree: 1 kB\n") == 24683772 * 1024


def test_parameters_leave_out_the_result_options_and_passwords() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://lgsp:s3cret@db:5432/postgres")
    parser.add_argument("--out", type=Path, default=Path("/tmp/x"))
    results.add_arguments(parser)
    args = parser.parse_args(["--note", "shared"])
    assert results.parameters(args) == {
        "postgres": "postgresql://lgsp:***@db:5432/postgres",
        "out": "/tmp/x",
    }
    typed = ["/w/bench/dossier_sync.py", "--postgres", "postgresql://u:p@h/d"]
    assert results.command(typed, module="bench.dossier_sync") == [
        "python",
        "-m",
        "bench.dossier_sync",
        "--postgres",
        "postgresql://u:***@h/d",
    ]
    assert results.command(["run.py", "-x"], module="") == ["python", "run.py", "-x"]


def test_no_results_writes_nothing(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    results.add_arguments(parser)
    args = parser.parse_args(["--results", str(tmp_path), "--no-results"])
    written = results.write_from_args(args, "soak", started=start(), figures={}, rows=[])
    assert written is None
    assert list(tmp_path.iterdir()) == []
    args = parser.parse_args(["--results", str(tmp_path)])
    written = results.write_from_args(args, "soak", started=start(), figures={}, rows=[])
    assert written == tmp_path / "soak.json"
    assert json.loads(written.read_text())["parameters"] == {}


def test_the_commit_is_the_repository_head() -> None:
    head = subprocess.run(
        ["git", "-C", str(results.ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert results.commit()["head"] == (head or None)
