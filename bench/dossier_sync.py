"""Throughput of `POST /v1/dossiers:sync` on SQLite and PostgreSQL (records per second).

    .venv/bin/python -m bench.dossier_sync [--records 100000] [--batch 1000] [--concurrency 2]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

The dossier service runs as it is deployed, `lgsp run dossier` in its own process (uvicorn, token
checks off, the embedded NATS not started), on a fresh database per backend; this script is the
client, with `--concurrency` batches in flight, their bodies built before the clock starts. The
outbox relay is pointed at a NATS port nobody listens on, so publishing does not compete for the
CPU: this measures HTTP, validation, the rules replay, event building and the bulk inserts
(dossiers, history, payments, outbox). Besides the wall-clock rate it prints the service's own CPU
time, which tells a slow service from a busy machine.

The result goes to `bench/results/dossier_sync-<sqlite|postgresql>.json` (`--results DIR`,
`--no-results`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import results
from lgsp_kit.natsserver import free_port, wait_for_port

# (procedure, fee bearing with online payment)
PROCEDURES = [("1.001193", False), ("1.004873", True), ("1.000894", False), ("2.000635", True)]
ORGANS = ["000.01.31.H03", "000.02.31.H03", "000.00.13.H03"]


def make_record(i: int, rng: random.Random) -> dict[str, Any]:
    submitted = datetime(2023, 1, 2, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(500_000))
    procedure, pays_online = PROCEDURES[i % len(PROCEDURES)]

    def later(t: datetime) -> datetime:
        return t + timedelta(minutes=rng.randrange(30, 3000))

    at = later(submitted)
    history = [{"status": 2, "at": at.isoformat()}]
    for status in [4, 5, 4, 9, 10] if i % 10 == 0 else [4, 9, 10]:
        at = later(at)
        history.append({"status": status, "at": at.isoformat()})
    payments = []
    if pays_online:
        paid = submitted + timedelta(minutes=5)
        payments.append(
            {"amount": 50_000, "method": "online", "online_gateway": 1, "at": paid.isoformat()}
        )
    return {
        "code": f"BENCH-{i:08d}",
        "procedure_code": procedure,
        "organ_code": ORGANS[i % len(ORGANS)],
        "channel": 1 + i % 3,
        "applicant": {"type": 1, "name": "Nguyễn Thị Minh Khai", "identifier": f"0240{i:08d}"},
        "submitted_at": submitted.isoformat(),
        "history": history,
        "payments": payments,
    }


def bodies(total: int, batch: int) -> list[bytes]:
    rng = random.Random(42)
    records = [make_record(i, rng) for i in range(total)]
    return [
        json.dumps({"records": records[s : s + batch]}, ensure_ascii=False).encode()
        for s in range(0, total, batch)
    ]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_service(
    database_url: str, data_dir: Path, *, nats_url: str | None = None, workers: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    """`lgsp run dossier` on its own port, token checks off; with no `nats_url` the relay is
    pointed at a port nobody listens on (nothing published). Returns once it listens."""
    port = free_port()
    env = dict(
        os.environ,
        LGSP_DATA_DIR=str(data_dir),
        DOSSIER_PORT=str(port),
        DOSSIER_DATABASE_URL=database_url,
        DOSSIER_AUTH_REQUIRED="false",
        DOSSIER_WORKERS=str(workers),
        NATS_URL=nats_url or f"nats://127.0.0.1:{free_port()}",
        LGSP_LOG_LEVEL="warning",
    )
    cli = [sys.executable, "-m", "lgsp.cli"]
    subprocess.run([*cli, "db", "upgrade", "dossier"], env=env, check=True, capture_output=True)
    log = (data_dir / "dossier.log").open("ab")
    proc = subprocess.Popen([*cli, "run", "dossier"], env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port, timeout=180)  # a busy shared machine imports slowly
    except BaseException:
        proc.terminate()  # not left running (with its workers) when it never came up
        proc.wait(30)
        raise
    return proc, port


async def run(
    database_url: str, data_dir: Path, payloads: list[bytes], concurrency: int
) -> tuple[int, float, float]:
    proc, port = start_service(database_url, data_dir)
    created = 0
    try:
        queue = iter(payloads)
        headers = {"content-type": "application/json"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            (await client.get("/healthz")).raise_for_status()

            async def sender() -> None:
                nonlocal created
                for body in queue:
                    resp = await client.post("/v1/dossiers:sync", content=body, headers=headers)
                    resp.raise_for_status()
                    answer = resp.json()
                    if answer["failed"]:
                        raise SystemExit(f"refused records: {answer['results'][:3]}")
                    created += answer["created"]

            start, cpu = time.perf_counter(), _cpu_seconds(proc.pid)
            await asyncio.gather(*(sender() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
            cpu = _cpu_seconds(proc.pid) - cpu
    except BaseException:
        print((data_dir / "dossier.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        proc.terminate()
        proc.wait(30)
    return created, elapsed, cpu


def report(name: str, created: int, elapsed: float, cpu: float) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{name:<10} {created:>8} records in {elapsed:7.2f} s = {created / elapsed:6.0f} records/s"
        f"  (the service: {cpu:.2f} s CPU = {created / cpu:6.0f} records per CPU-second;"
        f" load average {load})"
    )


TARGET = 5_000  # records/s
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def result_row(
    args: argparse.Namespace, backend: str, created: int, elapsed: float, cpu: float
) -> results.Row:
    """The README row of one backend. What is left out of the measure is said in `what`: no
    event reaches a bus, no gateway is crossed, no token is checked."""
    rate = created / elapsed
    return results.Row(
        what=f"batch sync of {args.records:,} dossier records (`POST /v1/dossiers:sync`, "
        f"{args.batch:,} a call, {args.concurrency} in flight) on {BACKEND_NAMES[backend]}: "
        "the dossier service alone in its own process, **no events published** (the outbox "
        "filled, its relay pointed at a closed port), **no gateway**, token checks off",
        measured=f"**{rate:,.0f} records/s** ({created:,} in {elapsed:.1f} s; the service "
        f"used {cpu:.1f} s of CPU = {created / cpu:,.0f} records per CPU-second)",
        target=f"≥ {TARGET:,} records/s",
        met=rate >= TARGET,
        where="`python -m bench.dossier_sync`",
    )


def write_result(
    args: argparse.Namespace,
    started: results.Start,
    backend: str,
    created: int,
    elapsed: float,
    cpu: float,
) -> None:
    results.write_from_args(
        args,
        "dossier_sync",
        started=started,
        variant=backend,
        figures={
            "created": created,
            "elapsed_s": round(elapsed, 3),
            "service_cpu_s": round(cpu, 3),
            "records_per_s": round(created / elapsed, 1),
            "records_per_cpu_s": round(created / cpu, 1),
        },
        rows=[result_row(args, backend, created, elapsed, cpu)],
    )


def measure(
    args: argparse.Namespace,
    started: results.Start,
    backend: str,
    url: str,
    data_dir: Path,
    payloads: list[bytes],
) -> None:
    created, elapsed, cpu = asyncio.run(run(url, data_dir, payloads, args.concurrency))
    report(backend, created, elapsed, cpu)
    write_result(args, started, backend, created, elapsed, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="batches in flight")
    parser.add_argument("--postgres", default="", help="admin URL; a fresh database is made")
    results.add_arguments(parser)
    args = parser.parse_args()
    started = results.start()  # one run, one file per backend
    payloads = bodies(args.records, args.batch)
    print(f"{args.records} records in batches of {args.batch}, {args.concurrency} in flight")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        measure(args, started, "sqlite", url, Path(tmp), payloads)
        if args.postgres:
            name = f"lgsp_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                base = args.postgres.rsplit("/", 1)[0]
                pg = f"{base}/{name}"
                measure(args, started, "postgresql", pg, Path(tmp), payloads)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
