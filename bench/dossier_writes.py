"""Submit + receive throughput of the dossier service (dossiers per second, CPU per dossier).

    .venv/bin/python -m bench.dossier_writes [--duration 20] [--concurrency 32] [--workers 1]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Each dossier is two calls, as a one-stop desk makes them: `POST /v1/dossiers` (submitted) then
`POST /v1/dossiers/{code}/status` with status 2 (received). The dossier service runs as it is
deployed, `lgsp run dossier` in its own process (`--workers` uvicorn workers), on a fresh database
per backend, with its events published for real: an embedded NATS JetStream server is started and
the outbox relay publishes every event to it; the run ends when the outbox is empty, and that
time counts. Token checks are off (the gateway's share is `bench.gateway`'s). This script is the
client: `--concurrency` desks in a closed loop for `--duration` seconds, on aiohttp.

Printed per backend: dossiers per second, the service's CPU time per dossier (every process of
the service), and the p50/p99 time of a dossier's two calls; then the CPU per dossier of each
process taking part: the service, the PostgreSQL backends of its database, NATS, this client.
SQLite and PostgreSQL run side by side in one run when `--postgres` is given.

The result goes to `bench/results/dossier_writes-<sqlite|postgresql>.json` (`--results DIR`,
`--no-results`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench import results
from bench.dossier_sync import start_service
from lgsp_kit.natsserver import free_port, start_nats

DOSSIER = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}
TARGET = 1_000  # dossiers/s on PostgreSQL (issue 19)
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (uvicorn's workers), living ones included."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        this, parent = int(stat.parent.name), int(fields[1])
        if this == pid or parent == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _pids_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time of each of these processes (those still living)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def _database_backends(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving the connections to this database (the server
    runs on this machine): the service's pool, its relay's, its sequence reservations'."""
    if not database_url.startswith("postgresql"):
        return []
    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
        return [int(r[0]) for r in rows]


class CpuShares:
    """CPU seconds of each process taking part, between `start()` and `stop()`: the service
    (every process of it), the PostgreSQL backends of its database, NATS, this client."""

    def __init__(self, service_pid: int, nats_pid: int, database_url: str) -> None:
        self.service_pid, self.nats_pid, self.database_url = service_pid, nats_pid, database_url

    def _now(self) -> dict[str, Any]:
        return {
            "service": _tree_cpu_seconds(self.service_pid),
            "nats": _tree_cpu_seconds(self.nats_pid),
            "client": time.process_time(),
            "postgresql": _pids_cpu_seconds(_database_backends(self.database_url)),
        }

    def start(self) -> None:
        self.began = self._now()

    def stop(self) -> dict[str, float]:
        end = self._now()
        shares = {k: end[k] - self.began[k] for k in ("service", "nats", "client")}
        if self.database_url.startswith("postgresql"):
            before = self.began["postgresql"]
            shares["postgresql"] = sum(
                v - before.get(pid, 0.0) for pid, v in end["postgresql"].items()
            )
        return shares


BACKLOG = re.compile(r"^lgsp_outbox_backlog\{[^}]*\} ([0-9.e+]+)$", re.M)


async def _backlog(http: aiohttp.ClientSession) -> float:
    async with http.get("/metrics") as resp:
        text = await resp.text()
    return sum(float(v) for v in BACKLOG.findall(text))


async def drive(port: int, concurrency: int, duration: float) -> dict[str, Any]:
    """Desks in a closed loop; returns the figures of the timed part."""
    done: list[float] = []  # a dossier's two calls, seconds
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as http:
        stop_at = time.perf_counter() + duration

        async def desk() -> None:
            while time.perf_counter() < stop_at and len(errors) < 10:
                began = time.perf_counter()
                async with http.post("/v1/dossiers", json=DOSSIER) as resp:
                    body = await resp.json(content_type=None)
                    if resp.status != 201:
                        errors.append(f"submit {resp.status}: {body}")
                        continue
                path = f"/v1/dossiers/{body['code']}/status"
                async with http.post(path, json={"status": 2}) as resp:
                    if resp.status != 200:
                        errors.append(f"receive {resp.status}: {await resp.text()}")
                        continue
                    await resp.read()
                done.append(time.perf_counter() - began)

        started = time.perf_counter()
        await asyncio.gather(*(desk() for _ in range(concurrency)))
        calls_s = time.perf_counter() - started
        for _ in range(2400):  # the outbox empties, or two minutes pass
            if await _backlog(http) == 0:
                break
            await asyncio.sleep(0.05)
        published_s = time.perf_counter() - started
        backlog = await _backlog(http)
    ordered = sorted(done) or [0.0]
    return {
        "dossiers": len(done),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "calls_s": round(calls_s, 3),
        "published_s": round(published_s, 3),
        "backlog_left": backlog,
        "dossier_ms": {
            "p50": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        },
    }


def measure(
    args: argparse.Namespace,
    backend: str,
    database_url: str,
    data_dir: Path,
    nats_port: int,
    nats_pid: int,
) -> dict[str, Any]:
    proc, port = start_service(
        database_url, data_dir, nats_url=f"nats://127.0.0.1:{nats_port}", workers=args.workers
    )
    try:
        # A short warm-up: the first calls load the catalogue and fill the connection pools.
        asyncio.run(drive(port, min(4, args.concurrency), 1.0))
        shares = CpuShares(proc.pid, nats_pid, database_url)
        shares.start()
        figures = asyncio.run(drive(port, args.concurrency, args.duration))
        spent = shares.stop()
        cpu = spent["service"]
    except BaseException:
        print((data_dir / "dossier.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        proc.terminate()
        proc.wait(30)
    n = max(figures["dossiers"], 1)
    figures.update(
        dossiers_per_s=round(figures["dossiers"] / figures["published_s"], 1),
        service_cpu_s=round(cpu, 2),
        cpu_ms_per_dossier=round(cpu / n * 1000, 3),
        # Every process's share: the PostgreSQL figure counts the backends serving the
        # database's connections (not the server's WAL writer, checkpointer, or other clients).
        cpu_ms_per_dossier_by_process={k: round(v / n * 1000, 3) for k, v in spent.items()},
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{BACKEND_NAMES[backend]:<10} {figures['dossiers']:>7} dossiers = "
        f"{figures['dossiers_per_s']:7.1f}/s published"
        f"  (the service: {figures['cpu_ms_per_dossier']:.2f} ms CPU a dossier;"
        f" p50 {figures['dossier_ms']['p50']} ms, p99 {figures['dossier_ms']['p99']} ms;"
        f" {figures['errors']} errors; load average {load})"
    )
    by_process = ", ".join(
        f"{k} {v:.2f}" for k, v in figures["cpu_ms_per_dossier_by_process"].items()
    )
    print(f"  CPU ms a dossier by process: {by_process}")
    if figures["first_error"]:
        print(f"  first error: {figures['first_error']}")
    return figures


def result_row(args: argparse.Namespace, backend: str, figures: dict[str, Any]) -> results.Row:
    rate = figures["dossiers_per_s"]
    return results.Row(
        what=f"dossiers submitted and received (`POST /v1/dossiers` + status 2) on "
        f"{BACKEND_NAMES[backend]}: the dossier service alone ({args.workers} worker"
        f"{'s' if args.workers > 1 else ''}), events published to JetStream, token checks "
        f"off, {args.concurrency} desks in a closed loop",
        measured=f"**{rate:,.0f} dossiers/s** ({figures['dossiers']:,} in "
        f"{figures['published_s']:.1f} s; {figures['cpu_ms_per_dossier']:.2f} ms of service CPU "
        f"a dossier; p99 {figures['dossier_ms']['p99']:.0f} ms)",
        target=f"≥ {TARGET:,} dossiers/s" if backend == "postgresql" else "",
        met=(rate >= TARGET) if backend == "postgresql" else None,
        where="`python -m bench.dossier_writes`",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--concurrency", type=int, default=32, help="desks in a closed loop")
    parser.add_argument("--workers", type=int, default=1, help="the service's worker processes")
    parser.add_argument("--postgres", default="", help="admin URL; a fresh database is made")
    parser.add_argument("--skip-sqlite", action="store_true")
    results.add_arguments(parser)
    args = parser.parse_args()
    started = results.start()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        nats_port = free_port()
        nats = start_nats(data_dir, nats_port, auth=False)
        try:
            backends: list[tuple[str, str]] = []
            if not args.skip_sqlite:
                backends.append(("sqlite", f"sqlite:///{data_dir / 'bench.db'}"))
            name = f"lgsp_bench_{uuid.uuid4().hex[:8]}"
            if args.postgres:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                backends.append(("postgresql", f"{args.postgres.rsplit('/', 1)[0]}/{name}"))
            try:
                for backend, url in backends:
                    figures = measure(args, backend, url, data_dir, nats_port, nats.pid)
                    results.write_from_args(
                        args,
                        "dossier_writes",
                        started=started,
                        # Several worker processes are a variant of their own.
                        variant=backend + (f"-{args.workers}workers" if args.workers > 1 else ""),
                        figures=figures,
                        rows=[result_row(args, backend, figures)],
                    )
            finally:
                if args.postgres:
                    with psycopg.connect(args.postgres, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            nats.terminate()
            nats.wait(10)


if __name__ == "__main__":
    main()
