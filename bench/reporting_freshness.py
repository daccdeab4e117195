"""Reporting benchmark: how fresh `/metrics` is under load, and how fast a year's report is.

A script, not a test: `python -m bench.reporting_freshness [--rate 200] [--duration 30]
[--via dossier|gateway|nats] [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
[--events 3000000] [--skip-freshness] [--skip-query]`.

Freshness. It starts the real platform (NATS and the four apps as processes, the e2e harness
`tests/e2e/platform.py`) in a temporary data dir on free ports, then submits and receives
dossiers (POST the dossier, POST status 2) at `--rate` dossiers/s for `--duration` seconds,
directly on the dossier service (`--via dossier`, the default) or through the gateway
(`--via gateway`); a dossier is accepted when its status-2 call answered 2xx. `--via nats`
instead publishes the status-2 events straight into JetStream at that rate, as the dossier
service's outbox relay would (accepted = JetStream's ack): reporting's own share, apart from
the dossier service's capacity. A separate process subscribes to the events in NATS (the time
each dossier's reception reached the bus, matched by dossier code) and polls reporting's
`/metrics` every `--poll` seconds. The consumer applies the stream in order, so the n-th
reception in the stream is visible at the end of the first poll whose
`lgsp_dossiers_received_total` has grown by n (the end of the poll, not its start: an upper
bound). Prints p50/p95/p99/max of accepted → in NATS and accepted → visible in `/metrics`.

Report query. For each backend (SQLite, and PostgreSQL when `--postgres-url` is given) it fills
a fresh reporting database with a year of projections standing for `--events` dossier events
plus payments and documents, as the consumer would have written them (rows per day × organ ×
…, organ rows and level roll-ups, over Bắc Giang's 240 organs and a catalogue of 1,900
procedures), bulk-inserted for speed, then times `service.build_report` for the year, a
quarter, a month, the year for one district with its communes, and the whole HTTP call.

Results go to `bench/results/reporting_freshness-<via>-<backend>.json` and
`bench/results/reporting_query-<backend>.json` (`--results DIR`, `--no-results`). A short run:
`--duration 10 --events 300000 --repeat 5`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import random
import re
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import httpx
import nats
import psycopg
from sqlalchemy import insert

from bench import results
from contracts.events import DossierStatusChanged
from contracts.events.dossier import DossierStatusChangedData
from contracts.reference import organs as reference_organs
from lgsp_kit import db as dbmod
from services.reporting import service
from services.reporting.main import MIGRATIONS, create_app
from services.reporting.models import (
    ALL_ORGANS,
    DocumentSentDay,
    DossierReceptionDay,
    EventTypeCount,
    FeeDossier,
    Organ,
    OrganConnection,
    PaymentDay,
    ProcedureHalfMonth,
    ProcedureVersion,
)
from services.reporting.periods import parse_period
from services.reporting.settings import Settings
from tests.e2e.platform import APPS, Platform

RECEIVED = re.compile(r"^lgsp_dossiers_received_total\{[^}]*\} ([0-9.e+]+)$", re.M)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
# The dossier the e2e tests submit: a district-level procedure at a district People's Committee.
DOSSIER = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


def fmt_ms(stats: dict[str, float]) -> str:
    return "  ".join(f"{k} {v * 1000:7.1f} ms" for k, v in stats.items())


# --- PostgreSQL databases -------------------------------------------------------------------


@contextmanager
def postgres_databases(admin_url: str | None, names: list[str]) -> Iterator[dict[str, str]]:
    """Fresh PostgreSQL databases (dropped afterwards), or nothing for SQLite."""
    if not admin_url:
        yield {}
        return
    base = admin_url.rpartition("/")[0]
    created = {n: f"lgsp_bench_{n}_{uuid.uuid4().hex[:8]}" for n in names}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for db in created.values():
            conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield {n: f"{base}/{db}" for n, db in created.items()}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for db in created.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# --- freshness ------------------------------------------------------------------------------


def watch(
    metrics_url: str, nats_url: str, interval: float, ready: Event, stop: Event, out: Connection
) -> None:
    """In its own process: polls of `/metrics` and the arrival of each reception in NATS."""
    out.send(asyncio.run(_watch(metrics_url, nats_url, interval, ready, stop)))


async def _watch(
    metrics_url: str, nats_url: str, interval: float, ready: Event, stop: Event
) -> tuple[list[tuple[float, float, int]], list[tuple[float, str]]]:
    polls: list[tuple[float, float, int]] = []
    published: list[tuple[float, str]] = []

    async def on_event(msg: Any) -> None:
        data = json.loads(msg.data)["data"]
        if data.get("to_status") == 2:
            published.append((time.monotonic(), data["code"]))

    nc = await nats.connect(nats_url)
    # A plain subscription sees the stream's messages in the order JetStream stores them.
    await nc.subscribe("lgsp.dossier.status_changed", cb=on_event)
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                text = (await client.get(metrics_url)).text
            except httpx.HTTPError:
                await asyncio.sleep(interval)
                continue
            done = time.monotonic()
            polls.append((sent, done, int(sum(float(v) for v in RECEIVED.findall(text)))))
            ready.set()
            await asyncio.sleep(max(0.0, interval - (done - sent)))
    await nc.drain()
    return polls, published


async def submit_and_receive(
    base: str, prefix: str, token: str, rate: float, duration: float
) -> tuple[dict[str, float], list[float], list[str], float]:
    """Dossiers at `rate`/s: ({code: accepted at}, per-dossier call time, errors, achieved rate)."""
    n = int(rate * duration)
    accepted: dict[str, float] = {}
    call_times: list[float] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as http:
        start = time.monotonic() + 0.2

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            began = time.monotonic()
            try:
                async with http.post(f"{prefix}/v1/dossiers", json=DOSSIER) as resp:
                    body = await resp.json(content_type=None)
                    if resp.status != 201:
                        errors.append(f"submit {resp.status}: {body}")
                        return
                code = body["code"]
                async with http.post(
                    f"{prefix}/v1/dossiers/{code}/status", json={"status": 2}
                ) as resp:
                    if resp.status != 200:
                        errors.append(f"receive {resp.status}: {await resp.text()}")
                        return
                    await resp.read()
            except aiohttp.ClientError as exc:
                errors.append(repr(exc))
                return
            now = time.monotonic()
            accepted[code] = now
            call_times.append(now - began)

        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = (max(accepted.values(), default=time.monotonic())) - start
    return accepted, call_times, errors, len(accepted) / max(elapsed, 1e-9)


async def publish_receptions(
    nats_url: str, rate: float, duration: float
) -> tuple[dict[str, float], list[float], list[str], float]:
    """Receptions (status 2) straight into JetStream at `rate`/s, as the dossier service's
    outbox relay publishes them; a dossier counts as accepted when JetStream acknowledged it."""
    n = int(rate * duration)
    accepted: dict[str, float] = {}
    call_times: list[float] = []
    errors: list[str] = []
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    start = time.monotonic() + 0.2
    try:

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            now = datetime.now(UTC)
            code = f"000.01.31.H03-{now:%y%m%d}-{i:06d}-{uuid.uuid4().hex[:6]}"
            event = DossierStatusChanged(
                source="/lgsp/dossier",
                subject=code,
                time=now,
                data=DossierStatusChangedData(
                    code=code,
                    procedure_code=str(DOSSIER["procedure_code"]),
                    service_mode="full",
                    fee_bearing=False,
                    organ_code=str(DOSSIER["organ_code"]),
                    organ_level="district",
                    channel=2,
                    from_status=1,
                    to_status=2,
                    at=now,
                ),
            )
            began = time.monotonic()
            try:
                await js.publish(
                    event.nats_subject,
                    event.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": event.id},
                )
            except Exception as exc:
                errors.append(repr(exc))
                return
            done = time.monotonic()
            accepted[code] = done
            call_times.append(done - began)

        await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await nc.close()
    elapsed = max(accepted.values(), default=time.monotonic()) - start
    return accepted, call_times, errors, len(accepted) / max(elapsed, 1e-9)


def counted(platform: Platform) -> int:
    text = httpx.get(platform.url("reporting") + "/metrics", timeout=10).text
    return int(sum(float(v) for v in RECEIVED.findall(text)))


def freshness(args: argparse.Namespace, backend: str, urls: dict[str, str]) -> dict[str, Any]:
    """One freshness run: what it prints, and its figures."""
    with tempfile.TemporaryDirectory(prefix="lgsp-bench-") as tmp:
        platform = Platform(Path(tmp) / "platform", database_urls=urls)
        try:
            platform.start_all()
            token = platform.demo_token()
            nats_url = platform.nats_operator_url
            if args.via == "gateway":
                base, prefix = platform.gateway, "/dossier"
            else:
                base, prefix = platform.url("dossier"), ""
            # Warm-up: a few dossiers (first connections, first queries, the durable consumer).
            asyncio.run(submit_and_receive(base, prefix, token, 20, 1))
            deadline = time.monotonic() + 30
            while counted(platform) < 20 and time.monotonic() < deadline:
                time.sleep(0.1)
            baseline = counted(platform)

            ctx = mp.get_context("spawn")
            stop, ready = ctx.Event(), ctx.Event()
            here, there = ctx.Pipe(duplex=False)
            watcher = ctx.Process(
                target=watch,
                args=(
                    platform.url("reporting") + "/metrics",
                    nats_url,
                    args.poll,
                    ready,
                    stop,
                    there,
                ),
                daemon=True,
            )
            watcher.start()
            if not ready.wait(60):  # subscribed to NATS and polling
                raise RuntimeError("the /metrics watcher did not start")
            if args.via == "nats":
                load = publish_receptions(nats_url, args.rate, args.duration)
            else:
                load = submit_and_receive(base, prefix, token, args.rate, args.duration)
            accepted, call_times, errors, achieved = asyncio.run(load)
            want = baseline + len(accepted)
            deadline = time.monotonic() + 60
            while counted(platform) < want and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            stop.set()
            seen, published = here.recv()
            watcher.join(10)
        finally:
            platform.stop_all()

    # The n-th reception in stream order is counted once the counter shows n (the consumer
    # applies the stream in order); its delay runs from its dossier's 2xx to that poll's end.
    to_nats: list[float] = []
    delays: list[float] = []
    j = 0
    for n, (at, code) in enumerate(published, start=1):
        if code not in accepted:
            continue  # its answer never reached the client (an error counted above)
        to_nats.append(at - accepted[code])
        while j < len(seen) and seen[j][2] - baseline < n:
            j += 1
        if j < len(seen):
            delays.append(max(0.0, seen[j][1] - accepted[code]))
    polls = [done - sent for sent, done, _ in seen]
    source = {
        "dossier": "dossier service directly",
        "gateway": "through the gateway",
        "nats": "events published straight to JetStream",
    }[args.via]
    print(f"\nfreshness on {backend}, {source}, target {args.rate:g} dossiers/s:")
    print(
        f"  {int(args.rate * args.duration)} offered over {args.duration:g} s, "
        f"{len(accepted)} accepted at {achieved:.0f}/s, {len(errors)} errors"
        + (f", first: {errors[0][:200]}" if errors else "")
    )
    what = "JetStream publish" if args.via == "nats" else "submit+receive calls"
    print(f"  {what}: {fmt_ms(percentiles(call_times))}")
    print(f"  /metrics polls: {len(seen)}, each {fmt_ms(percentiles(polls))}")
    print(f"  accepted → published in NATS: {fmt_ms(percentiles(to_nats))}")
    missing = len(accepted) - len(delays)
    print(
        f"  accepted → visible in /metrics: {fmt_ms(percentiles(delays))}"
        + (f"  ({missing} never seen)" if missing else "")
    )
    p99 = percentiles(delays)["p99"] if delays else float("inf")
    print(f"  p99 {'<' if p99 < 1 else '≥'} 1 s target: {'met' if p99 < 1 else 'NOT met'}")
    return {
        "offered": int(args.rate * args.duration),
        "accepted": len(accepted),
        "accepted_per_s": round(achieved, 1),
        "errors": len(errors),
        "first_error": errors[0][:200] if errors else None,
        "calls_s": percentiles(call_times) if call_times else None,
        "metrics_polls": len(seen),
        "metrics_poll_s": percentiles(polls) if polls else None,
        "accepted_to_nats_s": percentiles(to_nats) if to_nats else None,
        "accepted_to_metrics_s": percentiles(delays) if delays else None,
        "never_seen": missing,
    }


FRESHNESS_TARGET_S = 1.0
# A run "takes" the offered rate when it accepts at least this share of it (the last answers
# come a little after the last due time, so a short run never shows 100 %).
RATE_TAKEN = 0.95
SOURCES = {
    "dossier": "from the dossier service's answer (submit + status 2; its outbox relay included)",
    "gateway": "from the gateway's answer (submit + status 2 through the gateway; the dossier "
    "service's outbox relay included)",
    "nats": "from JetStream's ack of a reception event published straight to NATS (reporting's "
    "own share: no dossier service)",
}
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def freshness_row(args: argparse.Namespace, backend: str, figures: dict[str, Any]) -> results.Row:
    """The README row of a freshness run: p99 from acceptance to `/metrics`, and whether the
    offered rate was taken at all."""
    stats = figures["accepted_to_metrics_s"]
    p99 = stats["p99"] if stats else float("inf")
    taken = figures["accepted_per_s"] >= RATE_TAKEN * args.rate
    measured = (
        f"{figures['accepted']:,} of {figures['offered']:,} accepted at "
        f"{figures['accepted_per_s']:,.0f}/s, {figures['errors']} errors; "
    )
    if stats:
        measured += f"p50 {stats['p50'] * 1000:,.0f} ms, p99 **{p99 * 1000:,.0f} ms**"
    else:
        measured += "no reception seen in `/metrics`"
    if not taken:
        measured += f" (**{args.rate:g}/s not reached**)"
    return results.Row(
        what=f"reporting freshness {SOURCES[args.via]} → visible in reporting's `/metrics`, "
        f"{BACKEND_NAMES[backend]}, {args.rate:g} dossiers/s offered for {args.duration:g} s",
        measured=measured,
        target=f"p99 < {FRESHNESS_TARGET_S:g} s at {args.rate:g}/s",
        met=p99 < FRESHNESS_TARGET_S and taken and not figures["errors"],
        where=f"`python -m bench.reporting_freshness --via {args.via}`, "
        "[services/reporting/README.md](services/reporting/README.md)",
    )


# --- the year report over millions of events --------------------------------------------------

LEVEL_SHARE = {"province_organ": 0.30, "district": 0.35, "commune": 0.35}
# (service mode, channel) → share of dossiers received: KenhThucHien 1 direct, 2 online, 3 postal.
COMBOS = {
    ("full", 2): 0.26,
    ("full", 1): 0.09,
    ("partial", 2): 0.14,
    ("partial", 1): 0.19,
    ("partial", 3): 0.02,
    ("none", 1): 0.27,
    ("none", 3): 0.03,
}
PROCEDURES_PER_ORGAN_MONTH = {"province_organ": 60, "district": 80, "commune": 30}
SENDER_LEVELS = ("province", "province_organ", "district", "commune")


class Year:
    """A year of projections as the consumer would have written them, organ rows and roll-ups."""

    def __init__(self, year: int, dossiers: int, seed: int = 2023) -> None:
        self.rng = random.Random(seed)
        self.year = year
        self.dossiers = dossiers
        self.organs = list(reference_organs().values())
        self.tables: dict[Any, list[dict[str, Any]]] = {}
        self.events: dict[str, int] = defaultdict(int)

    def days(self) -> Iterator[date]:
        d = date(self.year, 1, 1)
        while d.year == self.year:
            yield d
            d += timedelta(days=1)

    def build(self) -> None:
        rng = self.rng
        self.tables[Organ] = [
            {
                "code": o.code,
                "level": o.level,
                "parent_code": o.parent_code,
                "registered_at": datetime(2020, 1, 1, tzinfo=UTC),
            }
            for o in self.organs
        ]
        connections = []
        for o in self.organs:
            for system in ("qlvb", "motcua"):
                if rng.random() < 0.85:
                    at = datetime(self.year - 1, 1, 1, tzinfo=UTC) + timedelta(
                        days=rng.randrange(700)
                    )
                    connections.append(
                        {
                            "event_id": uuid.uuid4().hex,
                            "code": o.code,
                            "level": o.level,
                            "system": system,
                            "connected": True,
                            "at": at,
                        }
                    )
        self.tables[OrganConnection] = connections
        self.events["lgsp.documents.organ_registered"] = len(self.organs)
        self.events["lgsp.documents.organ_connection_changed"] = len(connections)

        catalogue: dict[str, list[str]] = defaultdict(list)  # level → DVCTT procedure codes
        versions = []
        for i in range(1900):
            level = "province" if i < 1100 else "district" if i < 1500 else "commune"
            mode = rng.choices(["full", "partial", "none"], [0.4, 0.35, 0.25])[0]
            code = f"{1 + i % 2}.{i:06d}"
            fee = rng.random() < 0.3
            for changed in [datetime(self.year - 1, 6, 1, tzinfo=UTC)] + (
                [datetime(self.year, 7, 1, tzinfo=UTC)] if rng.random() < 0.2 else []
            ):
                versions.append(
                    {
                        "code": code,
                        "changed_at": changed,
                        "level": level,
                        "online_mode": mode,
                        "full_online_eligible": mode == "full" or rng.random() < 0.3,
                        "fee_bearing": fee,
                        "online_payment": fee and rng.random() < 0.7,
                    }
                )
            if mode != "none":
                catalogue["province_organ" if level == "province" else level].append(code)
        self.tables[ProcedureVersion] = versions
        self.events["lgsp.dossier.procedure_published"] = len(versions)

        handling = [o for o in self.organs if o.level in LEVEL_SHARE]
        per_level: dict[str, int] = defaultdict(int)
        for o in handling:
            per_level[o.level] += 1
        reception: dict[tuple[Any, ...], int] = defaultdict(int)
        procedure: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        fee_dossiers: list[dict[str, Any]] = []
        payment: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        documents: dict[tuple[Any, ...], int] = defaultdict(int)
        workdays = sum(1 for d in self.days() if d.weekday() < 5)
        for o in handling:
            per_day = self.dossiers * LEVEL_SHARE[o.level] / per_level[o.level] / workdays
            month_dvctt: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for d in self.days():
                day = d.isoformat()
                scale = per_day * (1.0 if d.weekday() < 5 else 0.05)
                received_fee = 0
                for (mode, channel), share in COMBOS.items():
                    n = int(scale * share * rng.uniform(0.5, 1.5) + rng.random())
                    if not n:
                        continue
                    for organ_code in (o.code, ALL_ORGANS):
                        reception[(day, o.level, organ_code, mode, channel)] += n
                    if mode != "none":
                        month_dvctt[day[:7]][0] += n
                        month_dvctt[day[:7]][1] += n if channel == 2 else 0
                    received_fee += n
                    self.events["lgsp.dossier.status_changed"] += n
                resolved = int(received_fee * 0.3)
                paid_online = int(resolved * rng.uniform(0.3, 0.6))
                if resolved:
                    # Row TT.1 keeps one row per fee-bearing dossier (no roll-up).
                    fee_dossiers += [
                        {
                            "code": f"{o.code}-{day}-{i}",
                            "organ_level": o.level,
                            "organ_code": o.code,
                            "procedure_code": "P",
                            "resolved_day": day,
                            "fee_paid": True,
                            "paid_online": i < paid_online,
                        }
                        for i in range(resolved)
                    ]
                    for organ_code in (o.code, ALL_ORGANS):
                        for method, n in (
                            ("online", paid_online),
                            ("offline", resolved - paid_online),
                        ):
                            if n:
                                p = payment[(day, o.level, organ_code, method)]
                                p[0] += n
                                p[1] += n * 50_000
                    self.events["lgsp.dossier.status_changed"] += resolved
                    self.events["lgsp.dossier.payment_recorded"] += resolved
                sent = int(scale * 0.4 * rng.uniform(0.5, 1.5))
                electronic = int(sent * rng.uniform(0.85, 1.0))
                for organ_code in (o.code, ALL_ORGANS):
                    if electronic:
                        documents[(day, o.level, organ_code, True)] += electronic
                    if sent - electronic:
                        documents[(day, o.level, organ_code, False)] += sent - electronic
                self.events["lgsp.documents.sent"] += sent
            # Row 6.2: the month's DVCTT dossiers spread over some of the organ's procedures.
            codes = catalogue[o.level]
            for month, (received, online) in month_dvctt.items():
                chosen = rng.sample(codes, min(len(codes), PROCEDURES_PER_ORGAN_MONTH[o.level]))
                for i, code in enumerate(chosen):
                    share_r = received // len(chosen) + (1 if i < received % len(chosen) else 0)
                    share_o = online // len(chosen) + (1 if i < online % len(chosen) else 0)
                    if share_r:
                        for organ_code in (o.code, ALL_ORGANS):
                            c = procedure[(month, o.level, organ_code, code)]
                            c[0] += share_r
                            c[1] += min(share_o, share_r)
        self.tables[DossierReceptionDay] = [
            {
                "day": k[0],
                "organ_level": k[1],
                "organ_code": k[2],
                "service_mode": k[3],
                "channel": k[4],
                "received": n,
            }
            for k, n in reception.items()
        ]
        self.tables[ProcedureHalfMonth] = [
            {
                "half_start": f"{k[0]}-01",  # the month's counts on its first half
                "organ_level": k[1],
                "organ_code": k[2],
                "procedure_code": k[3],
                "received": v[0],
                "online": v[1],
                "online_payments": 0,
            }
            for k, v in procedure.items()
        ]
        self.tables[FeeDossier] = fee_dossiers
        self.tables[PaymentDay] = [
            {
                "day": k[0],
                "organ_level": k[1],
                "organ_code": k[2],
                "method": k[3],
                "payments": v[0],
                "amount": v[1],
            }
            for k, v in payment.items()
        ]
        self.tables[DocumentSentDay] = [
            {"day": k[0], "sender_level": k[1], "organ_code": k[2], "electronic": k[3], "sent": n}
            for k, n in documents.items()
        ]
        end = datetime(self.year, 12, 31, 10, tzinfo=UTC)
        self.tables[EventTypeCount] = [
            {"type": t, "consumed": n, "last_time": end} for t, n in sorted(self.events.items())
        ]

    def received(self) -> int:
        return sum(r["received"] for r in self.tables[DossierReceptionDay] if not r["organ_code"])

    def rows(self) -> int:
        return sum(len(rows) for rows in self.tables.values())

    def load(self, db: dbmod.Database, chunk: int = 20_000) -> None:
        with db.engine.begin() as conn:
            for model, rows in self.tables.items():
                table = model.__table__
                for i in range(0, len(rows), chunk):
                    conn.execute(insert(table), rows[i : i + chunk])


def time_calls(call: Callable[[], Any], repeat: int) -> tuple[float, dict[str, float]]:
    """(first call, percentiles of the next `repeat`) in seconds."""
    began = time.perf_counter()
    call()
    first = time.perf_counter() - began
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return first, percentiles(times)


async def http_year_report(url: str, repeat: int) -> tuple[float, dict[str, float]]:
    """The whole `GET /v1/reports/phu-luc-ii?period=…` in-process (ASGI; no token check)."""
    with tempfile.TemporaryDirectory(prefix="lgsp-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=url,
            auth_required=False,
            nats_url="nats://127.0.0.1:1",  # no bus: the numbers are all in the database
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                path = f"/v1/reports/phu-luc-ii?period={YEAR}"
                began = time.perf_counter()
                resp = await client.get(path)
                first = time.perf_counter() - began
                assert resp.status_code == 200, resp.text
                times = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    resp = await client.get(path)
                    times.append(time.perf_counter() - began)
                return first, percentiles(times)


YEAR = 2023


def report_query(args: argparse.Namespace, backend: str, url: str) -> dict[str, Any]:
    """Times the report over a generated year: what it prints, and its figures."""
    print(f"\nreport query on {backend}: generating a year of projections…", flush=True)
    year = Year(YEAR, args.events)
    began = time.perf_counter()
    year.build()
    built = time.perf_counter() - began
    dbmod.upgrade(MIGRATIONS, url)
    db = dbmod.Database(url)
    try:
        began = time.perf_counter()
        year.load(db)
        if backend == "postgresql":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        loaded = time.perf_counter() - began
        total_events = sum(year.events.values())
        figures: dict[str, Any] = {
            "events": total_events,
            "dossiers_received": year.received(),
            "projection_rows": year.rows(),
            "generated_s": round(built, 2),
            "loaded_s": round(loaded, 2),
            "build_report": {},
        }
        print(
            f"  {total_events:,} events ({year.received():,} dossiers received) in "
            f"{year.rows():,} projection rows; generated in {built:.1f} s, loaded in {loaded:.1f} s"
        )
        district = next(o.code for o in year.organs if o.level == "district")
        cases: list[tuple[str, str, str | None]] = [
            ("year", str(YEAR), None),
            ("half-year", f"{YEAR}-H2", None),
            ("quarter", f"{YEAR}-Q4", None),
            ("month", f"{YEAR}-11", None),
            ("year, one district and its communes", str(YEAR), district),
        ]
        for label, period, organ in cases:

            def call(period: str = period, organ: str | None = organ) -> Any:
                with db.session() as session:
                    return service.build_report(session, parse_period(period), tz=VN, organ=organ)

            report = call()
            if label == "year":
                row = next(r for r in report.rows if r.stt == "6.3")
                print(f"  (6.3 for {YEAR}: {row.numerator:,} / {row.denominator:,})")
            first, stats = time_calls(call, args.repeat)
            print(f"  build_report, {label:36s} first {first * 1000:6.1f} ms  {fmt_ms(stats)}")
            figures["build_report"][label] = {"first_s": first, **stats}
        first, stats = asyncio.run(http_year_report(url, args.repeat))
        print(
            f"  GET /v1/reports/phu-luc-ii (ASGI), year  first {first * 1000:6.1f} ms  "
            f"{fmt_ms(stats)}"
        )
        figures["http_year"] = {"first_s": first, **stats}
    finally:
        db.dispose()
    return figures


QUERY_TARGET_MS = 50.0


def query_row(args: argparse.Namespace, backend: str, figures: dict[str, Any]) -> results.Row:
    """The README row of the report query: the year's `build_report`, p50."""
    year = figures["build_report"]["year"]
    http = figures["http_year"]
    p50_ms = year["p50"] * 1000
    return results.Row(
        what=f"Phụ lục II for a year over {figures['events'] / 1e6:.1f} M events "
        f"({figures['projection_rows']:,} projection rows), {BACKEND_NAMES[backend]}: "
        f"`build_report` for the year, p50 of {args.repeat} calls after a first",
        measured=f"**{p50_ms:.1f} ms** (p95 {year['p95'] * 1000:.1f} ms); the whole "
        f"`GET /v1/reports/phu-luc-ii` in-process p50 {http['p50'] * 1000:.1f} ms",
        target=f"< {QUERY_TARGET_MS:g} ms",
        met=p50_ms < QUERY_TARGET_MS,
        where="`python -m bench.reporting_freshness`, "
        "[services/reporting/README.md](services/reporting/README.md)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--rate", type=float, default=200.0, help="dossiers per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--via", choices=["dossier", "gateway", "nats"], default="dossier")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between /metrics polls")
    parser.add_argument("--events", type=int, default=3_000_000, help="dossiers received a year")
    parser.add_argument("--repeat", type=int, default=20, help="timed report queries")
    parser.add_argument("--postgres-url", default="", help="admin URL: also run on PostgreSQL")
    parser.add_argument("--skip-freshness", action="store_true")
    parser.add_argument("--skip-query", action="store_true")
    results.add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    backends = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    started = results.start()  # one run, one file per part and backend
    for backend in backends:
        admin = args.postgres_url if backend == "postgresql" else None
        if not args.skip_freshness:
            with postgres_databases(admin, list(APPS)) as urls:
                figures = freshness(args, backend, urls)
            results.write_from_args(
                args,
                "reporting_freshness",
                started=started,
                variant=f"{args.via}-{backend}",
                figures=figures,
                rows=[freshness_row(args, backend, figures)],
            )
        if not args.skip_query:
            with (
                postgres_databases(admin, ["reporting"]) as urls,
                tempfile.TemporaryDirectory(prefix="lgsp-bench-") as tmp,
            ):
                url = urls.get("reporting") or f"sqlite:///{Path(tmp) / 'reporting.db'}"
                figures = report_query(args, backend, url)
            results.write_from_args(
                args,
                "reporting_query",
                started=started,
                variant=backend,
                figures=figures,
                rows=[query_row(args, backend, figures)],
            )
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
