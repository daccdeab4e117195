"""Soak: a steady mix of calls through the gateway for minutes, memory watched, nothing lost.

A script, not a test: `python -m bench.soak [--minutes 10] [--rate 100] [--backend
sqlite|postgres] [--warmup 60] [--seed 1]`. It starts the real platform as processes (embedded
NATS and the four apps, `lgsp run <app>` each, on SQLite files or on fresh PostgreSQL databases
that it creates and drops), then sends calls at a fixed arrival schedule (open loop: call *i*
is due at `start + i / rate` whatever happened to the calls before it, and its latency is counted
from that due time, so a stall shows in the percentiles instead of slowing the sender down).

The mix, with the demo consumer's token and an `Idempotency-Key` on every POST that takes one:
submit a dossier, move dossiers along the lifecycle (1 → 2 → 4 → 9 → 10), read a dossier, list
dossiers, list procedures, send a document (three in four on paper, the rest signed and
electronic), a recipient taking a document in (01 → 03), read a document, an organ's inbox, the
organ directory, reporting's indicators, Phụ lục II and status, a submit replayed with its key
(must answer the first answer, create nothing), and a new token now and then.

It prints, per operation, calls, errors and p50/p99/max latency of the measured window (after
the warm-up), the throughput and error rate, and the resident memory (VmRSS, child processes
included) of NATS and of each app after the warm-up, every minute, and at the end. At the end
it waits for reporting and compares its counters with what the soak created. Exit 1 when the
error rate is above 0.1 %, a counter differs, or a process ends above its memory bound:
`end ≤ start × 1.25 + 20 MiB` (start = after the warm-up), and for NATS 1 KiB more per event
published after the warm-up, for the event ids its duplicate window keeps (see NATS_PER_EVENT).

The result goes to `bench/results/soak-<backend>.json` (`--results DIR`, `--no-results`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bench import results
from tests.e2e.platform import APPS, Platform

MIB = 1024 * 1024
# The memory bound: a process may end at most this much above its size after the warm-up.
GROWTH_FACTOR = 1.25
GROWTH_SLACK_MIB = 20.0
MAX_ERROR_RATE = 0.001
BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# NATS also keeps the id of every event published in the last DUPLICATE_WINDOW (10 min) to drop
# a republished one: its size grows with the events of the run until the window is full, then
# stays (measured alone: a 60 s window at 300 events/s filled in 60 s, +16 MiB for 18,000 ids,
# and stayed at that size while the stream grew to 58,000 events). Allowed: 1 KiB per event
# published after the warm-up.
NATS_PER_EVENT = 1024

# Operation → weight (per 100 calls).
MIX: dict[str, int] = {
    "submit dossier": 10,
    "dossier status": 22,
    "get dossier": 12,
    "list dossiers": 8,
    "list procedures": 5,
    "send document": 6,
    "recipient status": 4,
    "get document": 3,
    "organ inbox": 6,
    "list organs": 6,
    "indicators": 4,
    "phu-luc-ii report": 3,
    "reporting status": 2,
    "submit replay": 3,
    "token": 1,
}
# The lifecycle a desk walks a dossier through: received, processing, resolved, returned.
NEXT_STATUS = {1: 2, 2: 4, 4: 9, 9: 10}
DOSSIER_KINDS = [("1.001193", 2), ("1.001193", 1), ("1.000894", 1), ("1.000894", 2)]
COMMUNES = ["000.01.31.H03", "000.02.31.H03", "000.03.31.H03", "000.01.32.H03"]
HUB = "000.00.00.H03"
# Recipients of electronic documents (connected to qlvb in the set-up) and of paper ones.
CONNECTED = ["000.00.31.H03", "000.00.32.H03", "000.00.33.H03"]
PAPER_TO = ["000.00.01.H03", "000.00.02.H03", "000.00.03.H03", *CONNECTED]
ATTACHMENT = {
    "name": "cong-van.pdf",
    "content_type": "application/pdf",
    "content_base64": "JVBERi0xLjQKJcfsj6IK",
}

SUBMITTED = "lgsp.dossier.submitted"
STATUS_CHANGED = "lgsp.dossier.status_changed"
DOCUMENT_SENT = "lgsp.documents.document_sent"
RECIPIENT_STATUS = "lgsp.documents.recipient_status_changed"
CONNECTION_CHANGED = "lgsp.documents.organ_connection_changed"


# --- measurements ---------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(q * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class OpStats:
    calls: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # measured window only, seconds

    def row(self, name: str) -> str:
        lat = sorted(self.latencies)
        return (
            f"{name:<20} {self.calls:>8,} {self.errors:>7,} {percentile(lat, 0.5) * 1000:>9.1f} "
            f"{percentile(lat, 0.99) * 1000:>9.1f} {(lat[-1] if lat else 0) * 1000:>9.1f}"
        )


def process_rss(pid: int) -> int:
    """VmRSS in bytes of a process and all its descendants (uvicorn workers, …)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def platform_pids(platform: Platform) -> dict[str, int]:
    pids = {"nats": platform.nats.pid} if platform.nats is not None else {}
    pids.update({app: proc.pid for app, proc in platform.procs.items()})
    return pids


@dataclass
class Memory:
    """RSS samples of every process: (label, {process: bytes})."""

    pids: dict[str, int]
    samples: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    allowance: dict[str, float] = field(default_factory=dict)  # bytes, above the bound

    def sample(self, label: str) -> None:
        self.samples.append((label, {name: process_rss(pid) for name, pid in self.pids.items()}))

    def _at(self, label: str) -> dict[str, int]:
        return next(s for lbl, s in self.samples if lbl == label)

    def bound(self, name: str) -> float:
        start = self._at("start")[name]
        return start * GROWTH_FACTOR + GROWTH_SLACK_MIB * MIB + self.allowance.get(name, 0.0)

    def over_bound(self) -> list[str]:
        end = self._at("end")
        return [
            f"{name}: {end[name] / MIB:.1f} MiB at the end > bound {self.bound(name) / MIB:.1f} MiB"
            for name in self.pids
            if end[name] > self.bound(name)
        ]

    def table(self) -> str:
        labels = [lbl for lbl, _ in self.samples]
        head = f"{'RSS MiB':<10}" + "".join(f"{lbl:>9}" for lbl in labels)
        lines = [head + f"{'growth':>9}{'bound':>9}  ok"]
        start = self._at("start")
        end = self._at("end")
        for name in self.pids:
            cells = "".join(f"{s[name] / MIB:>9.1f}" for _, s in self.samples)
            growth = (end[name] - start[name]) / MIB
            ok = "yes" if end[name] <= self.bound(name) else "NO"
            lines.append(f"{name:<10}{cells}{growth:>+9.1f}{self.bound(name) / MIB:>9.1f}  {ok}")
        return "\n".join(lines)


# --- reporting's counters -------------------------------------------------------------------

SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? ([-+0-9.eE]+|NaN|[+-]Inf)$", re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (name, dict(LABEL.findall(labels or "")), float(value))
        for name, labels, value in SAMPLE.findall(text)
    ]


def metric_sum(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> int:
    return int(
        sum(
            v
            for n, lbls, v in samples
            if n == name and all(lbls.get(k) == want for k, want in labels.items())
        )
    )


async def counters(http: aiohttp.ClientSession, platform: Platform) -> dict[str, int]:
    """What reporting has counted, by the names `Load.created` uses."""
    async with http.get(platform.url("reporting") + "/metrics") as resp:
        samples = parse_metrics(await resp.text())
    consumed = "lgsp_events_consumed_total"
    return {
        "events dossier.submitted": metric_sum(samples, consumed, type=SUBMITTED),
        "events dossier.status_changed": metric_sum(samples, consumed, type=STATUS_CHANGED),
        "events documents.document_sent": metric_sum(samples, consumed, type=DOCUMENT_SENT),
        "events documents.recipient_status": metric_sum(samples, consumed, type=RECIPIENT_STATUS),
        "events documents.connection": metric_sum(samples, consumed, type=CONNECTION_CHANGED),
        "dossiers received (status 2)": metric_sum(samples, "lgsp_dossiers_received_total"),
        "documents sent, electronic": metric_sum(
            samples, "lgsp_documents_sent_total", electronic="true"
        ),
        "documents sent, paper": metric_sum(
            samples, "lgsp_documents_sent_total", electronic="false"
        ),
        "organs connected to qlvb": metric_sum(samples, "lgsp_organs_connected", system="qlvb"),
    }


async def outbox_backlog(http: aiohttp.ClientSession, platform: Platform) -> int:
    total = 0
    for app in ("dossier", "documents"):
        async with http.get(platform.url(app) + "/metrics") as resp:
            total += metric_sum(parse_metrics(await resp.text()), "lgsp_outbox_backlog")
    return total


async def settled_counters(http: aiohttp.ClientSession, platform: Platform) -> dict[str, int]:
    """Reporting's counters once the outboxes are empty and nothing has changed for 3 s."""
    last: dict[str, int] = {}
    still = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = await counters(http, platform)
        backlog = await outbox_backlog(http, platform)
        still = still + 1 if now == last and backlog == 0 else 0
        if still >= 3:
            return now
        last = now
        await asyncio.sleep(1.0)
    raise TimeoutError(f"reporting did not settle: {last}")


# --- the load -------------------------------------------------------------------------------


@dataclass
class Call:
    ok: bool
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case


class Load:
    """The integrator: picks each call from the mix, keeps the state the next calls need
    (dossiers by status, documents waiting to be taken in) and counts what it created."""

    def __init__(
        self, http: aiohttp.ClientSession, creds: dict[str, str], *, seed: int, tz: ZoneInfo
    ) -> None:
        self.http = http
        self.creds = creds
        self.rng = random.Random(seed)
        self.run = uuid.uuid4().hex[:8]
        self.tz = tz
        self.year = str(datetime.now(tz).year)
        self.token = ""
        self.seq = 0
        self.ops = list(MIX)
        self.weights = [MIX[o] for o in self.ops]
        self.ready: deque[tuple[str, int]] = deque()  # dossiers not in flight, with status
        self.dossiers: list[str] = []
        self.submits: list[tuple[str, dict[str, Any], str]] = []  # key, body, code
        self.documents: list[str] = []
        self.arrived: deque[tuple[str, str]] = deque()  # (document, recipient) at 01
        self.created: Counter[str] = Counter()
        self.stats: dict[str, OpStats] = {op: OpStats() for op in MIX}
        self.error_samples: list[str] = []
        self.measure_from = float("inf")

    def events(self) -> int:
        """Events published so far by what this load created."""
        return sum(n for what, n in self.created.items() if what.startswith("events "))

    def today(self) -> str:
        return datetime.now(self.tz).date().isoformat()

    def next_id(self) -> int:
        self.seq += 1
        return self.seq

    # -- the wire ----------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int = 200,
        key: str | None = None,
        **kwargs: Any,
    ) -> Call:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            body = await resp.json(content_type=None) if resp.status != 204 else None
            answer_headers = {k.lower(): v for k, v in resp.headers.items()}
            return Call(resp.status == expect, resp.status, body, answer_headers)

    async def new_token(self) -> Call:
        pair = f"{self.creds['client_id']}:{self.creds['client_secret']}".encode()
        async with self.http.post(
            "/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status == 200:
                self.token = body["access_token"]
            return Call(resp.status == 200, resp.status, body)

    # -- the mix -----------------------------------------------------------------------------

    def pick(self) -> tuple[str, Any]:
        """The next call and what it works on; a dossier or a recipient is taken here, at
        schedule time, so that no two calls in flight move the same one."""
        op = self.rng.choices(self.ops, self.weights)[0]
        if op == "dossier status":
            return (op, self.ready.popleft()) if self.ready else ("submit dossier", None)
        if op == "recipient status":
            return (op, self.arrived.popleft()) if self.arrived else ("send document", None)
        if op in ("get dossier", "submit replay") and not self.submits:
            return "submit dossier", None
        if op == "get document" and not self.documents:
            return "send document", None
        return op, None

    async def perform(self, op: str, arg: Any, due: float) -> None:
        """Run one call of the mix, due at `due` (monotonic); record it."""
        handler: Callable[..., Any] = getattr(self, "op_" + op.replace(" ", "_").replace("-", "_"))
        try:
            result: Call = await (handler(arg) if arg is not None else handler())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            result = Call(False, 0, repr(exc))
        done = time.monotonic()
        stats = self.stats[op]
        stats.calls += 1
        if not result.ok:
            stats.errors += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{op}: {result.status} {str(result.body)[:300]}")
        if due >= self.measure_from:
            stats.latencies.append(done - due)

    async def op_submit_dossier(self) -> Call:
        procedure, channel = self.rng.choice(DOSSIER_KINDS)
        n = self.next_id()
        body = {
            "procedure_code": procedure,
            "organ_code": self.rng.choice(COMMUNES),
            "channel": channel,
            "applicant": {"type": 1, "name": "Nguyễn Thị Soak", "identifier": f"0240{n:08d}"},
        }
        key = f"soak-{self.run}-submit-{n}"
        result = await self.call("POST", "/dossier/v1/dossiers", json=body, key=key, expect=201)
        if result.ok:
            code = result.body["code"]
            self.created["events dossier.submitted"] += 1
            self.dossiers.append(code)
            self.submits.append((key, body, code))
            self.ready.append((code, result.body["status"]))
        return result

    async def op_submit_replay(self) -> Call:
        key, body, code = self.rng.choice(self.submits)
        result = await self.call("POST", "/dossier/v1/dossiers", json=body, key=key, expect=201)
        if result.ok and (
            result.body.get("code") != code or result.headers.get("idempotent-replayed") != "true"
        ):
            return Call(False, result.status, f"replay answered another dossier: {result.body}")
        return result

    async def op_dossier_status(self, dossier: tuple[str, int]) -> Call:
        code, status = dossier
        to = NEXT_STATUS[status]
        result = await self.call(
            "POST",
            f"/dossier/v1/dossiers/{code}/status",
            json={"status": to, "note": "soak"},
            key=f"soak-{self.run}-{code}-{to}",
        )
        if result.ok:
            self.created["events dossier.status_changed"] += 1
            if to == 2:
                self.created["dossiers received (status 2)"] += 1
            status = to
        if status in NEXT_STATUS:
            self.ready.append((code, status))
        return result

    async def op_get_dossier(self) -> Call:
        return await self.call("GET", f"/dossier/v1/dossiers/{self.rng.choice(self.dossiers)}")

    async def op_list_dossiers(self) -> Call:
        params: dict[str, Any] = {"limit": 20}
        if self.rng.random() < 0.5:
            params["status"] = self.rng.choice([1, 2, 4, 9, 10])
        return await self.call("GET", "/dossier/v1/dossiers", params=params)

    async def op_list_procedures(self) -> Call:
        return await self.call("GET", "/dossier/v1/procedures", params={"limit": 50})

    async def op_send_document(self, electronic: bool | None = None) -> Call:
        if electronic is None:
            electronic = self.rng.random() < 0.25
        n = self.next_id()
        to = self.rng.sample(CONNECTED if electronic else PAPER_TO, 2)
        body = {
            "code_notation": "UBND-SOAK",
            "code_number": str(n),
            "document_type": self.rng.choice(["CV", "TB", "KH", "BC"]),
            "subject": f"Văn bản thử tải số {n}",
            "from_organ": HUB,
            "to_organs": to,
            "electronic": electronic,
            "promulgation": {
                "place": "Bắc Giang",
                "date": datetime.now(self.tz).date().isoformat(),
            },
            "signer": {"full_name": "Nguyễn Văn Bình", "position": "Chánh Văn phòng"},
            "attachments": [ATTACHMENT] if electronic else [],
        }
        result = await self.call(
            "POST",
            "/documents/v1/documents",
            json=body,
            key=f"soak-{self.run}-doc-{n}",
            expect=201,
        )
        if result.ok:
            kind = "electronic" if electronic else "paper"
            self.created["events documents.document_sent"] += 1
            self.created[f"documents sent, {kind}"] += 1
            self.documents.append(result.body["id"])
            for recipient in result.body["recipients"]:
                self.created["events documents.recipient_status"] += 1
                if recipient["status"] == "01":
                    self.arrived.append((result.body["id"], recipient["organ_code"]))
        return result

    async def op_recipient_status(self, recipient: tuple[str, str]) -> Call:
        document, organ = recipient
        result = await self.call(
            "POST",
            f"/documents/v1/documents/{document}/recipients/{organ}/status",
            json={"status": "03", "note": "Vào sổ"},
            key=f"soak-{self.run}-{document}-{organ}-03",
        )
        if result.ok:
            self.created["events documents.recipient_status"] += 1
        return result

    async def op_get_document(self) -> Call:
        return await self.call("GET", f"/documents/v1/documents/{self.rng.choice(self.documents)}")

    async def op_organ_inbox(self) -> Call:
        organ = self.rng.choice(PAPER_TO)
        return await self.call("GET", f"/documents/v1/organs/{organ}/inbox", params={"limit": 20})

    async def op_list_organs(self) -> Call:
        params: dict[str, Any] = {"limit": 50}
        if self.rng.random() < 0.5:
            params["level"] = self.rng.choice(["province_organ", "district", "commune"])
        return await self.call("GET", "/documents/v1/organs", params=params)

    async def op_indicators(self) -> Call:
        return await self.call("GET", "/reporting/v1/indicators")

    async def op_phu_luc_ii_report(self) -> Call:
        return await self.call(
            "GET", "/reporting/v1/reports/phu-luc-ii", params={"period": self.year}
        )

    async def op_reporting_status(self) -> Call:
        return await self.call("GET", "/reporting/v1/status")

    async def op_token(self) -> Call:
        return await self.new_token()

    # -- set-up and the schedule -------------------------------------------------------------

    async def set_up(self) -> None:
        """A token, the hub and the electronic recipients connected to qlvb, and a first
        electronic document (the hub's signing key is made at its first send)."""
        if not (await self.new_token()).ok:
            raise RuntimeError("no token for the demo consumer")
        for organ in [HUB, *CONNECTED]:
            result = await self.call(
                "POST",
                f"/documents/v1/organs/{organ}/connections",
                json={"system": "qlvb", "connected": True},
            )
            if not result.ok:
                raise RuntimeError(f"connecting {organ}: {result.status} {result.body}")
            if result.body["changed"]:
                self.created["events documents.connection"] += 1
                self.created["organs connected to qlvb"] += 1
        first = await self.op_send_document(electronic=True)
        if not first.ok:
            raise RuntimeError(f"first electronic document: {first.status} {first.body}")

    async def drive(self, rate: float, seconds: float, start: float) -> None:
        """Open loop: call i is started at start + i / rate, whatever came before."""
        pending: set[asyncio.Task[None]] = set()
        i = 0
        while (due := start + i / rate) < start + seconds:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.perform(*self.pick(), due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        if pending:
            await asyncio.gather(*pending)


# --- the soak -------------------------------------------------------------------------------


@dataclass
class Outcome:
    rate: float
    seconds: float  # measured window
    warmup: float
    stats: dict[str, OpStats]
    memory: Memory
    counted: dict[str, int]  # reporting's counters, minus what they were before the soak
    created: dict[str, int]
    error_samples: list[str]

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.stats.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.stats.values())

    @property
    def error_rate(self) -> float:
        return self.errors / max(self.calls, 1)

    @property
    def measured_calls(self) -> int:
        return sum(len(s.latencies) for s in self.stats.values())

    def lost(self) -> list[str]:
        return [
            f"{what}: created {self.created.get(what, 0)}, reporting counted {n}"
            for what, n in self.counted.items()
            if n != self.created.get(what, 0)
        ]

    def problems(self, *, memory: bool = True) -> list[str]:
        out = []
        if self.error_rate > MAX_ERROR_RATE:
            out.append(f"error rate {self.error_rate:.3%} > {MAX_ERROR_RATE:.1%}")
        out += self.lost()
        if memory:
            out += self.memory.over_bound()
        return out

    def figures(self) -> dict[str, Any]:
        """The raw numbers: per operation, memory per process, reporting's counters."""

        def stats(s: OpStats) -> dict[str, Any]:
            lat = sorted(s.latencies)
            return {
                "calls": s.calls,
                "errors": s.errors,
                "measured": len(lat),
                "p50_ms": round(percentile(lat, 0.5) * 1000, 1),
                "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
                "max_ms": round((lat[-1] if lat else 0) * 1000, 1),
            }

        every = OpStats(
            self.calls, self.errors, [x for s in self.stats.values() for x in s.latencies]
        )
        start, end = self.memory._at("start"), self.memory._at("end")
        return {
            "rate": self.rate,
            "measured_s": self.seconds,
            "warmup_s": self.warmup,
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "throughput_per_s": round(self.measured_calls / self.seconds, 2),
            "all": stats(every),
            "operations": {op: stats(self.stats[op]) for op in MIX if self.stats[op].calls},
            "rss_mib": {
                name: {
                    "samples": {lbl: round(s[name] / MIB, 1) for lbl, s in self.memory.samples},
                    "growth": round((end[name] - start[name]) / MIB, 1),
                    "bound": round(self.memory.bound(name) / MIB, 1),
                    "ok": end[name] <= self.memory.bound(name),
                }
                for name in self.memory.pids
            },
            "counters": {
                what: {"created": self.created.get(what, 0), "counted": n}
                for what, n in self.counted.items()
            },
            "problems": self.problems(),
        }

    def result_row(self, backend: str) -> results.Row:
        """The README row: errors, latency, counters and memory of the whole soak."""
        f = self.figures()
        every = f["all"]
        over = [name for name, m in f["rss_mib"].items() if not m["ok"]]
        lost = self.lost()
        return results.Row(
            what=f"soak through the gateway, {BACKEND_NAMES[backend]}: the mixed load at "
            f"{self.rate:g} calls/s (open loop) for {self.seconds / 60:g} min after a "
            f"{self.warmup:g} s warm-up",
            measured=f"{self.errors} errors in {self.calls:,} calls ({self.error_rate:.3%}); "
            f"p50 {every['p50_ms']:.1f} ms, p99 {every['p99_ms']:.1f} ms; reporting's "
            f"counters {'all equal' if not lost else f'{len(lost)} differ'}; end RSS "
            + (f"over the bound: {', '.join(over)}" if over else "within the bound for all"),
            target=f"errors ≤ {MAX_ERROR_RATE:.1%}, counters equal, end RSS ≤ start × "
            f"{GROWTH_FACTOR:g} + {GROWTH_SLACK_MIB:g} MiB",
            met=not f["problems"],
            where="`python -m bench.soak`",
        )

    def render(self) -> str:
        head = f"{'operation':<20} {'calls':>8} {'errors':>7}" + "".join(
            f"{h:>10}" for h in ("p50 ms", "p99 ms", "max ms")
        )
        lines = [head, "-" * len(head)]
        lines += [self.stats[op].row(op) for op in MIX if self.stats[op].calls]
        total = OpStats(
            self.calls,
            self.errors,
            [x for s in self.stats.values() for x in s.latencies],
        )
        lines += ["-" * len(head), total.row("all")]
        lines.append(
            f"throughput {self.measured_calls / self.seconds:.1f} calls/s over "
            f"{self.seconds / 60:.1f} min measured (offered {self.rate:g}/s open loop, after a "
            f"{self.warmup:.0f} s warm-up); errors {self.errors} of {self.calls} = "
            f"{self.error_rate:.3%} (calls and errors include the warm-up; latencies are "
            "of the measured window, from each call's due time)"
        )
        lines += ["", self.memory.table(), ""]
        lines.append(f"{'reporting counter':<34} {'created':>8} {'counted':>8}  equal")
        for what, n in self.counted.items():
            want = self.created.get(what, 0)
            lines.append(f"{what:<34} {want:>8,} {n:>8,}  {'yes' if n == want else 'NO'}")
        return "\n".join(lines)


async def soak(
    platform: Platform,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    seed: int = 1,
    sample_every: float = 60.0,
    say: Callable[[str], None] = print,
) -> Outcome:
    """Load a started platform for `warmup + seconds` at `rate` calls/s; see the module doc."""
    creds = json.loads((platform.data_dir / "demo-client.json").read_text())
    tz = ZoneInfo(os.environ.get("LGSP_TIMEZONE", "Asia/Ho_Chi_Minh"))
    memory = Memory(platform_pids(platform))
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        platform.gateway, connector=connector, timeout=timeout
    ) as http:
        load = Load(http, creds, seed=seed, tz=tz)
        before = await settled_counters(http, platform)
        memory.sample("started")
        await load.set_up()
        start = time.monotonic() + 0.5
        load.measure_from = start + warmup
        end = load.measure_from + seconds

        events_at_start: list[int] = []

        async def sampler() -> None:
            await asyncio.sleep(max(0.0, load.measure_from - time.monotonic()))
            memory.sample("start")
            events_at_start.append(load.events())
            say(f"soak: warm-up done, measuring for {seconds / 60:.1f} min")
            minute = 1
            while (at := load.measure_from + minute * sample_every) < end - 1:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                since = minute * sample_every
                memory.sample(f"+{since / 60:g}m" if since % 60 == 0 else f"+{since:g}s")
                calls = sum(s.calls for s in load.stats.values())
                errors = sum(s.errors for s in load.stats.values())
                say(f"soak: +{minute * sample_every:.0f} s: {calls:,} calls, {errors} errors")
                minute += 1

        sampling = asyncio.create_task(sampler())
        await load.drive(rate, warmup + seconds, start)
        await sampling
        memory.sample("end")
        memory.allowance["nats"] = (load.events() - events_at_start[0]) * NATS_PER_EVENT
        after = await settled_counters(http, platform)
    return Outcome(
        rate=rate,
        seconds=seconds,
        warmup=warmup,
        stats=load.stats,
        memory=memory,
        counted={k: after[k] - before.get(k, 0) for k in after},
        created=dict(load.created),
        error_samples=load.error_samples,
    )


@contextmanager
def running_platform(backend: str, postgres_url: str) -> Iterator[Platform]:
    """NATS and the four apps in a temporary data dir, on SQLite or fresh PostgreSQL
    databases (dropped afterwards)."""
    from bench.reporting_freshness import postgres_databases

    admin = postgres_url if backend == "postgres" else None
    with (
        tempfile.TemporaryDirectory(prefix="lgsp-soak-") as tmp,
        postgres_databases(admin, list(APPS)) as urls,
    ):
        platform = Platform(Path(tmp) / "platform", database_urls=urls)
        try:
            platform.start_all()
            yield platform
        finally:
            platform.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured time")
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before measuring")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LGSP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="admin URL, for --backend postgres",
    )
    parser.add_argument("--seed", type=int, default=1)
    results.add_arguments(parser)
    args = parser.parse_args()
    started = results.start()
    # Stopped early (Ctrl-C, or TERM when run in the background), the platform is still stopped
    # and its databases dropped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"soak: {args.backend}, {args.rate:g} calls/s for {args.minutes:g} min after a "
        f"{args.warmup:g} s warm-up; bound end RSS ≤ start × {GROWTH_FACTOR} + "
        f"{GROWTH_SLACK_MIB:g} MiB (NATS: + {NATS_PER_EVENT} B per event published, its "
        f"duplicate window); error rate ≤ {MAX_ERROR_RATE:.1%}",
        flush=True,
    )
    with running_platform(args.backend, args.postgres_url) as platform:
        outcome = asyncio.run(
            soak(
                platform,
                rate=args.rate,
                seconds=args.minutes * 60,
                warmup=args.warmup,
                seed=args.seed,
                say=lambda line: print(line, flush=True),
            )
        )
    print()
    print(outcome.render())
    for sample in outcome.error_samples:
        print("error:", sample)
    problems = outcome.problems()
    for problem in problems:
        print("FAIL:", problem)
    results.write_from_args(
        args,
        "soak",
        started=started,
        variant=args.backend,
        figures=outcome.figures(),
        rows=[outcome.result_row(args.backend)],
    )
    if problems:
        sys.exit(1)
    print("soak: passed")


if __name__ == "__main__":
    main()
