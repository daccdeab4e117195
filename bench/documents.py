"""Signed documents sent through the documents service: documents per second, CPU per document.

    .venv/bin/python -m bench.documents [--duration 15] [--concurrency 16] [--batch 100]
        [--batch-concurrency 2] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

The documents service runs as it is deployed, `lgsp run documents` in its own process, on a fresh
database per backend, with its events published for real (an embedded NATS JetStream server; the
outbox relay publishes every event, and a phase ends when the outbox is empty: that time counts).
Token checks are off (the gateway's share is `bench.gateway`'s). The sending organs are the
province's UBND, its organs and its districts, all connected to document exchange; each sends to
the organ above it and to up to two peers, electronic, signed, with a PDF attachment, as the
simulator's documents are (`scenarios/year.py`), every call with an `Idempotency-Key`.

First every organ concerned is connected to document exchange (each gets its RSA-3072 key then:
a one-off cost per organ, printed apart) and every sender sends one document. Then, in one run,
two phases of `--duration` seconds each, closed loop:

- `single`: `--concurrency` clients, one `POST /v1/documents` each at a time;
- `batch`: `--batch-concurrency` clients, each `POST /v1/documents:batch` of `--batch` documents.

Printed per phase: documents per second (published), the service's CPU time per document (every
process of the service: steadier than the rate on a shared machine), p50/p99 of a call. The
result goes to `bench/results/documents-<sqlite|postgresql>.json` (`--results DIR`,
`--no-results`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench import results
from contracts import reference
from lgsp_kit.natsserver import free_port, start_nats, wait_for_port

TARGET = 600  # documents/s (issue 19)
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PDF = base64.b64encode(b"%PDF-1.4\n% van ban\n" + bytes(range(256))).decode()
HUB = "000.00.00.H03"  # the province's UBND
BACKLOG = re.compile(r"^lgsp_outbox_backlog\{[^}]*\} ([0-9.e+]+)$", re.M)


def senders() -> dict[str, list[str]]:
    """Each sending organ and the organs it may send to (the one above it first)."""
    organs = [
        o
        for o in reference.organs().values()
        if o.level in ("province", "province_organ", "district")
    ]
    codes = sorted(o.code for o in organs)
    return {
        o.code: [o.parent_code or HUB, *(c for c in codes if c not in (o.code, o.parent_code))]
        if o.code != HUB
        else [c for c in codes if c != HUB]
        for o in organs
    }


class Documents:
    """Bodies of documents to send, each with its own number (so its own key and content)."""

    def __init__(self, seed: int = 42) -> None:
        self.rng = random.Random(seed)
        self.routes = senders()
        self.numbers = itertools.count(1)
        self.run = uuid.uuid4().hex[:8]

    def one(self, sender: str | None = None) -> tuple[str, dict[str, Any]]:
        sender = sender or self.rng.choice(sorted(self.routes))
        above, *peers = self.routes[sender]
        to = [above, *self.rng.sample(peers, k=self.rng.choice([0, 0, 1, 2]))]
        number = next(self.numbers)
        body = {
            "from_organ": sender,
            "to_organs": to,
            "code_number": str(number),
            "code_notation": "UBND-VP",
            "document_type": "CV",
            "subject": f"V/v triển khai chuyển đổi số (số {number})",
            "promulgation": {"place": "Bắc Giang", "date": "2023-06-01"},
            "signer": {"full_name": "Nguyễn Văn Bình", "position": "Chánh Văn phòng"},
            "electronic": True,
            "sent_at": "2023-06-01T08:00:00+07:00",
            "attachments": [
                {"name": "van-ban.pdf", "content_type": "application/pdf", "content_base64": PDF}
            ],
        }
        return f"bench-{self.run}-{number}", body


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


def _start_service(
    database_url: str, data_dir: Path, nats_port: int, workers: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(
        os.environ,
        LGSP_DATA_DIR=str(data_dir),
        DOCUMENTS_PORT=str(port),
        DOCUMENTS_DATABASE_URL=database_url,
        DOCUMENTS_AUTH_REQUIRED="false",
        DOCUMENTS_WORKERS=str(workers),
        NATS_URL=f"nats://127.0.0.1:{nats_port}",
        LGSP_LOG_LEVEL="warning",
    )
    cli = [sys.executable, "-m", "lgsp.cli"]
    subprocess.run([*cli, "db", "upgrade", "documents"], env=env, check=True, capture_output=True)
    log = (data_dir / "documents.log").open("ab")
    proc = subprocess.Popen([*cli, "run", "documents"], env=env, stdout=log, stderr=log)
    wait_for_port(port, timeout=60)
    return proc, port


async def _backlog(http: aiohttp.ClientSession) -> float:
    async with http.get("/metrics") as resp:
        text = await resp.text()
    return sum(float(v) for v in BACKLOG.findall(text))


async def _drain(http: aiohttp.ClientSession) -> float:
    for _ in range(2400):  # the outbox empties, or two minutes pass
        backlog = await _backlog(http)
        if backlog == 0:
            return 0.0
        await asyncio.sleep(0.05)
    return await _backlog(http)


async def _ready(http: aiohttp.ClientSession) -> None:
    for _ in range(600):
        async with http.get("/readyz") as resp:
            if resp.status == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("the documents service did not become ready")


async def prepare(http: aiohttp.ClientSession, docs: Documents) -> dict[str, Any]:
    """Connect every organ concerned to qlvb (its key), then one document from each sender."""
    organs = sorted({c for route in docs.routes.values() for c in route} | set(docs.routes))
    started = time.perf_counter()
    for code in organs:
        body = {"system": "qlvb", "connected": True, "at": "2023-01-02T08:00:00+07:00"}
        async with http.post(f"/v1/organs/{code}/connections", json=body) as resp:
            if resp.status != 200:
                raise RuntimeError(f"connect {code}: {resp.status} {await resp.text()}")
    connected = time.perf_counter()
    for sender in sorted(docs.routes):
        key, body = docs.one(sender)
        async with http.post("/v1/documents", json=body, headers={"Idempotency-Key": key}) as resp:
            if resp.status != 201:
                raise RuntimeError(f"first send of {sender}: {resp.status} {await resp.text()}")
    return {
        "organs": len(organs),
        "connect_s": round(connected - started, 2),
        "senders": len(docs.routes),
        "first_sends_s": round(time.perf_counter() - connected, 2),
    }


Call = Callable[[aiohttp.ClientSession], Awaitable[int]]


async def phase(
    http: aiohttp.ClientSession,
    clients: int,
    duration: float,
    call: Call,
    pid: int,
) -> dict[str, Any]:
    """`clients` in a closed loop for `duration` seconds, then until the outbox is empty."""
    latencies: list[float] = []
    errors: list[str] = []
    sent = 0
    stop_at = time.perf_counter() + duration

    async def client() -> None:
        nonlocal sent
        while time.perf_counter() < stop_at and len(errors) < 10:
            began = time.perf_counter()
            try:
                created = await call(http)
            except RuntimeError as exc:
                errors.append(str(exc))
                continue
            latencies.append(time.perf_counter() - began)
            sent += created  # after the await: `sent += await …` would lose concurrent counts

    cpu = _tree_cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    calls_s = time.perf_counter() - started
    backlog = await _drain(http)
    published_s = time.perf_counter() - started
    cpu = _tree_cpu_seconds(pid) - cpu
    ordered = sorted(latencies) or [0.0]
    n = max(sent, 1)
    return {
        "documents": sent,
        "calls": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "calls_s": round(calls_s, 3),
        "published_s": round(published_s, 3),
        "backlog_left": backlog,
        "documents_per_s": round(sent / published_s, 1),
        "service_cpu_s": round(cpu, 2),
        "cpu_ms_per_document": round(cpu / n * 1000, 3),
        "call_ms": {
            "p50": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        },
    }


def single_sends(docs: Documents) -> Call:
    async def call(http: aiohttp.ClientSession) -> int:
        key, body = docs.one()
        async with http.post("/v1/documents", json=body, headers={"Idempotency-Key": key}) as r:
            if r.status != 201:
                raise RuntimeError(f"send {r.status}: {(await r.text())[:300]}")
            await r.read()
        return 1

    return call


def batch_sends(docs: Documents, size: int) -> Call:
    async def call(http: aiohttp.ClientSession) -> int:
        items = [{"key": key, "document": body} for key, body in (docs.one() for _ in range(size))]
        async with http.post("/v1/documents:batch", json={"items": items}) as r:
            if r.status != 200:
                raise RuntimeError(f"batch {r.status}: {(await r.text())[:300]}")
            answer = await r.json()
        if answer["failed"]:
            failed = [x for x in answer["results"] if not x["ok"]]
            raise RuntimeError(f"batch: {answer['failed']} refused, e.g. {failed[:2]}")
        return int(answer["created"])

    return call


def _say(backend: str, name: str, figures: dict[str, Any]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{BACKEND_NAMES[backend]:<10} {name:<7} {figures['documents']:>6} documents = "
        f"{figures['documents_per_s']:7.1f}/s published  (the service: "
        f"{figures['cpu_ms_per_document']:.2f} ms CPU a document; call p50 "
        f"{figures['call_ms']['p50']} ms, p99 {figures['call_ms']['p99']} ms; "
        f"{figures['errors']} errors; load average {load})"
    )
    if figures["first_error"]:
        print(f"  first error: {figures['first_error']}")


async def drive(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    docs = Documents()
    connector = aiohttp.TCPConnector(limit=max(args.concurrency, args.batch_concurrency))
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{port}", connector=connector, timeout=timeout
    ) as http:
        await _ready(http)
        figures: dict[str, Any] = {"prepare": await prepare(http, docs)}
        await _drain(http)
        figures["single"] = await phase(
            http, args.concurrency, args.duration, single_sends(docs), pid
        )
        if args.batch:
            figures["batch"] = await phase(
                http, args.batch_concurrency, args.duration, batch_sends(docs, args.batch), pid
            )
    return figures


def measure(
    args: argparse.Namespace, backend: str, database_url: str, data_dir: Path, nats_port: int
) -> dict[str, Any]:
    proc, port = _start_service(database_url, data_dir, nats_port, args.workers)
    try:
        figures = asyncio.run(drive(args, port, proc.pid))
    except BaseException:
        print((data_dir / "documents.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        proc.terminate()
        proc.wait(30)
    prepared = figures["prepare"]
    print(
        f"{BACKEND_NAMES[backend]:<10} first   {prepared['organs']:>6} organs connected (each "
        f"makes its RSA-3072 key) in {prepared['connect_s']} s, {prepared['senders']} senders' "
        f"first documents in {prepared['first_sends_s']} s"
    )
    for name in ("single", "batch"):
        if name in figures:
            _say(backend, name, figures[name])
    return figures


def result_rows(
    args: argparse.Namespace, backend: str, figures: dict[str, Any]
) -> list[results.Row]:
    where = "`python -m bench.documents`"
    common = (
        f"on {BACKEND_NAMES[backend]}: the documents service alone ({args.workers} worker"
        f"{'s' if args.workers > 1 else ''}), RSA-3072 signed and verified, one PDF "
        "attachment, 1–3 recipients, events published to JetStream, token checks off"
    )

    def measured(f: dict[str, Any]) -> str:
        return (
            f"**{f['documents_per_s']:,.0f} documents/s** ({f['documents']:,} in "
            f"{f['published_s']:.1f} s; {f['cpu_ms_per_document']:.2f} ms of service CPU a "
            f"document; call p99 {f['call_ms']['p99']:.0f} ms)"
        )

    single = figures["single"]
    rows = [
        results.Row(
            what=f"signed documents sent one a call (`POST /v1/documents`, "
            f"{args.concurrency} in flight) {common}",
            measured=measured(single),
            target=f"≥ {TARGET:,} documents/s" if not args.batch else "",
            met=(single["documents_per_s"] >= TARGET) if not args.batch else None,
            where=where,
        )
    ]
    if "batch" in figures:
        batch = figures["batch"]
        rows.append(
            results.Row(
                what=f"signed documents sent in batches (`POST /v1/documents:batch`, "
                f"{args.batch} a call, {args.batch_concurrency} in flight) {common}",
                measured=measured(batch),
                target=f"≥ {TARGET:,} documents/s",
                met=batch["documents_per_s"] >= TARGET,
                where=where,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each phase")
    parser.add_argument("--concurrency", type=int, default=16, help="single sends in flight")
    parser.add_argument("--batch", type=int, default=100, help="documents a batch (0: none)")
    parser.add_argument("--batch-concurrency", type=int, default=2, help="batches in flight")
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
                    figures = measure(args, backend, url, data_dir, nats_port)
                    results.write_from_args(
                        args,
                        "documents",
                        started=started,
                        variant=backend,
                        figures=figures,
                        rows=result_rows(args, backend, figures),
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
