"""Fault drills: kill -9 a part of the platform while the simulator writes, then count.

A script, not a test: `python -m bench.drills [--scale 0.005] [--backend sqlite|postgres|both]
[--targets scenarios/bac-giang-2023.yaml] [--down 2] [--faults nats,reporting,...] [--rounds 1]
[--phase-seconds 15] [--keep]`.

It starts the real platform (NATS and the four apps as processes, the e2e harness
`tests/e2e/platform.py`) in a temporary data dir on free ports. On `postgres` it first starts a
private PostgreSQL server (initdb in the temporary dir, a free port, one database per app), so
that killing it touches no other database on the machine.

The simulator's year (`scenarios/run.py`) is sent through the gateway in phases: first the
catalogue, the organ connections and the declared rows, then a phase without a fault and one
phase per fault (the list `--rounds` times), each sending its share of the dossiers (batch sync
and interactive calls, every write with an `Idempotency-Key`) and of the documents, spread over
`--phase-seconds`. In each phase, once the first unit is accepted, the fault is injected:
SIGKILL to NATS, to an app, or to the whole PostgreSQL server (postgres backend only); `--down`
seconds later it is started again (same port, same store), while the simulator keeps calling
and retrying. Time to recover runs from the kill until the component answers again: its
`/readyz` for an app; every app's `/readyz` for NATS and PostgreSQL (their connections are back).

After each phase the drill waits for the platform to settle (outboxes empty, reporting caught
up) and counts. Events lost and duplicates counted are per event type: reporting's
`lgsp_events_consumed_total{type}` (read from its projections) against the events the phase's
records must produce so far (a dossier: one `submitted`, one `status_changed` per history entry,
one `payment_recorded` per payment; a document: one `document_sent` and one
`recipient_status_changed` per recipient; other types must not move after the setup). Calls
retried: answers 429/502-504 and cut or refused connections the simulator saw and retried, the
evidence that the fault hit traffic in flight. Report exact: Phụ lục II equals the truth of
everything sent so far (`scenarios/truth.py`), row by row. The last line compares the whole
year. Exit status 1 when anything was lost, counted twice, refused, or differs.

The national side (`--faults national,dvcqg-error`): the platform then runs with the national
simulator, every dossier synced to DVCQG through the gateway (as `make run` wires it). `national`
kills the national simulator for `--national-down` seconds (60); `dvcqg-error` has it answer
every DVCQG call with `error_code` "-9" for as long (its fault control, `PUT /admin/fault`).
After such a phase the drill waits until DVCQG equals the province: every dossier with a
reception decision at DVCQG (`GET /dvcqg/hoso`, the testers' listing) with the province's
status and dates (NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra; the province's
`GET /dossier/v1/dossiers`), as many progress rows as the dossier has history entries, no
other dossier, and none created twice (`GET /dvcqg/calls/creates`, read from DVCQG's call
log); reporting's count of dossiers on DVCQG (`/reporting/v1/reports/dvcqg-sync`) must agree.
The sync's back-off is capped at 10 s in the drill (60 s by default). The phase's `dvcqg` in
the result says how long DVCQG took to equal the province after the national side was back.

The result goes to `bench/results/drills-<backend>.json` (`--results DIR`, `--no-results`).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench import results
from lgsp_kit.natsserver import free_port
from scenarios.client import RETRY_STATUSES, Gateway
from scenarios.run import Simulation, differences, hash_pick
from scenarios.targets import load
from services.national.settings import DEV_ADMIN_SECRET
from tests.e2e.platform import APPS, NATIONAL, Platform

ROOT = Path(__file__).resolve().parents[1]
PG_LIB = Path("/usr/lib/postgresql")
FAULTS = (
    "nats",
    "reporting",
    "dossier",
    "documents",
    "gateway",
    "postgres",
    "national",
    "dvcqg-error",
)
NATIONAL_FAULTS = ("national", "dvcqg-error")
NATIONAL_WHAT = {
    "national": "national (killed, then started)",
    "dvcqg-error": "dvcqg-error (answering error_code -9)",
}
# Events of the DVCQG sync: their number follows the sync's batches, not what was sent.
SYNC_TYPES = ("lgsp.dossier.dvcqg_accepted", "lgsp.dossier.dvcqg_backlog")
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# The DVCQG sync in the drill: its back-off capped at 10 s (60 s by default), a backlog reading
# every 2 s.
SYNC_ENV = {"DOSSIER_DVCQG_RETRY_MAX_SECONDS": "10", "DOSSIER_DVCQG_REPORT_SECONDS": "2"}
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_SECRET}"}
STAMP = "%Y%m%d%H%M%S"
DOSSIER_TYPES = (
    "lgsp.dossier.submitted",
    "lgsp.dossier.status_changed",
    "lgsp.dossier.payment_recorded",
)
DOCUMENT_SENT = "lgsp.documents.document_sent"
RECIPIENT_STATUS = "lgsp.documents.recipient_status_changed"
SENT_TYPES = (*DOSSIER_TYPES, DOCUMENT_SENT, RECIPIENT_STATUS)
BUS_APPS = ("dossier", "documents", "reporting")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- a private PostgreSQL server ----------------------------------------------------------------


def pg_bin_dir() -> Path | None:
    """The PostgreSQL server binaries: on PATH, or Debian's newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent
    found = sorted(
        PG_LIB.glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else None


def private_postgres_possible() -> bool:
    """Server binaries found, and a user to run them as (they refuse root)."""
    if pg_bin_dir() is None:
        return False
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


def _pg_bin(name: str) -> str:
    where = pg_bin_dir()
    if where is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, postgres) not found")
    return str(where / name)


class PrivatePostgres:
    """A PostgreSQL server of our own in `root`, on a free port: ours to kill -9."""

    def __init__(self) -> None:
        # Its own directory under the system temp dir: the server may run as another user,
        # who must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="lgsp-drill-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # initdb and postgres refuse to run as root.
        self.user = "postgres" if os.geteuid() == 0 else None

    def _own(self, path: Path) -> None:
        if self.user is not None:
            shutil.chown(path, self.user, self.user)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            check=True, user=self.user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def start(self) -> None:
        log = (self.root / "postgres.log").open("ab")
        self.proc = subprocess.Popen(
            [_pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(self.root), "-c", "max_connections=300"],
            user=self.user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once, as a crash would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, *, remove: bool = True) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


# -- counting -----------------------------------------------------------------------------------


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    text = httpx.get(url + "/metrics", timeout=30).text
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            out.setdefault(sample.name, {})[labels] = sample.value
    return out


def consumed(platform: Platform) -> Counter[str]:
    samples = scrape(platform.url("reporting")).get("lgsp_events_consumed_total", {})
    out = Counter({dict(labels)["type"]: int(v) for labels, v in samples.items()})
    for type_ in SYNC_TYPES:
        out.pop(type_, None)
    return out


def backlog(platform: Platform) -> int:
    total = 0
    for app in ("dossier", "documents"):
        for value in scrape(platform.url(app)).get("lgsp_outbox_backlog", {}).values():
            total += int(value)
    return total


def lost_and_duplicated(expected: Counter[str], got: Counter[str]) -> tuple[int, int]:
    lost = dup = 0
    for type_ in set(expected) | set(got):
        diff = got[type_] - expected[type_]
        lost += max(0, -diff)
        dup += max(0, diff)
    return lost, dup


# -- DVCQG against the province -----------------------------------------------------------------


def stamp(value: str | None) -> str:
    """A time of the province's API as DVCQG holds it: `yyyyMMddHHmmss` in the province's zone."""
    return datetime.fromisoformat(value).astimezone(ZONE).strftime(STAMP) if value else ""


def expected_at_dvcqg(dossier: dict[str, Any]) -> dict[str, str] | None:
    """What DVCQG must hold of a province dossier (its list item); None: nothing (no reception
    decision yet, or withdrawn before it). A dossier refused at reception (3) is there, its
    NgayTiepNhan the time of the refusal (not in the list item: not compared)."""
    if dossier["received_at"] is None and dossier["status"] != 3:
        return None
    want = {
        "TrangThaiHoSo": str(dossier["status"]),
        "NgayHenTra": stamp(dossier["due_at"]),
        "NgayTra": stamp(dossier["returned_at"]),
    }
    if dossier["received_at"] is not None:
        want["NgayTiepNhan"] = stamp(dossier["received_at"])
    if dossier["resolved_at"] is not None:
        want["NgayKetThucXuLy"] = stamp(dossier["resolved_at"])
    return want


def pages(get: Any, path: str, limit: int) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = get(path, params)
        yield from page["items"]
        if not (cursor := page["next_cursor"]):
            return


@dataclass
class DvcqgCheck:
    """DVCQG against the province, after the simulator stopped writing."""

    sim: Simulation
    national: str
    year: int

    def province(self) -> list[dict[str, Any]]:
        def get(path: str, params: dict[str, Any]) -> Any:
            return self.sim.gw.call("GET", path, params=params).json()

        return list(pages(get, "/dossier/v1/dossiers", 500))

    def at_dvcqg(self) -> dict[str, dict[str, Any]]:
        def get(path: str, params: dict[str, Any]) -> Any:
            resp = httpx.get(self.national + path, params=params, timeout=30)
            resp.raise_for_status()
            return resp.json()

        return {item["MaHoSo"]: item for item in pages(get, "/dvcqg/hoso", 1000)}

    def records(self) -> dict[str, Any]:
        """Dossiers missing at DVCQG, there without a reason, or with another status or date."""
        expected = {d["code"]: w for d in self.province() if (w := expected_at_dvcqg(d))}
        got = self.at_dvcqg()
        differ = sorted(
            c
            for c, want in expected.items()
            if c in got and any(got[c].get(k) != v for k, v in want.items())
        )
        return {
            "province": len(expected),
            "dvcqg": len(got),
            "missing": sorted(set(expected) - set(got)),
            "extra": sorted(set(got) - set(expected)),
            "differ": differ,
            "received_in_year": sum(
                1 for w in expected.values() if w.get("NgayTiepNhan", "")[:4] == str(self.year)
            ),
            "_got": got,
        }

    def progress(self, got: dict[str, dict[str, Any]]) -> list[str]:
        """Dossiers whose progress rows at DVCQG are not one per history entry."""

        def history(code: str) -> int:
            return len(self.sim.gw.call("GET", f"/dossier/v1/dossiers/{code}").json()["history"])

        codes = sorted(got)
        with ThreadPoolExecutor(8) as pool:
            lengths = dict(zip(codes, pool.map(history, codes), strict=True))
        return [c for c in codes if got[c]["progress"] != lengths[c]]

    def run(self, since: float, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until DVCQG equals the province (or `timeout`); the last comparison."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.records()
            got = out.pop("_got")
            out.update(progress_differ=[], twice={}, created=0, reported=None, equal=False)
            if not (out["missing"] or out["extra"] or out["differ"]):
                out["progress_differ"] = self.progress(got)
                creates = httpx.get(self.national + "/dvcqg/calls/creates", timeout=60).json()
                out["twice"], out["created"] = creates["twice"], creates["dossiers"]
                view = self.sim.gw.call(
                    "GET", "/reporting/v1/reports/dvcqg-sync", params={"period": str(self.year)}
                ).json()
                out["reported"] = view["synced"]
                out["equal"] = (
                    not out["progress_differ"]
                    and not out["twice"]
                    and out["created"] == out["dvcqg"]
                    and out["reported"] == out["received_in_year"]
                )
            if out["equal"] or time.monotonic() > deadline:
                out["caught_up_seconds"] = (
                    round(time.monotonic() - since, 1) if out["equal"] else None
                )
                for key in ("missing", "extra", "differ", "progress_differ"):
                    out[key] = out[key][:10]  # a sample in the result file
                return out
            time.sleep(1.0)


# -- the drill ----------------------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    backend: str
    recover: float | None
    lost: int
    duplicates: int
    exact: bool
    retried: int = 0
    notes: list[str] = field(default_factory=list)
    # After a fault of the national side: DVCQG against the province (`DvcqgCheck`).
    dvcqg: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        dvcqg_ok = self.dvcqg is None or bool(self.dvcqg["equal"])
        return (
            self.lost == 0 and self.duplicates == 0 and self.exact and not self.notes and dvcqg_ok
        )


def batched(items: Iterator[Any], n: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, n)):
        yield chunk


class CountingTransport(httpx.HTTPTransport):
    """Counts the answers a client retries (429, 502-504) and the calls cut or refused: the
    evidence that a fault hit the simulator's traffic."""

    def __init__(self) -> None:
        super().__init__()
        self.retried = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            resp = super().handle_request(request)
        except httpx.TransportError:
            with self._lock:
                self.retried += 1
            raise
        if resp.status_code in RETRY_STATUSES:
            with self._lock:
                self.retried += 1
        return resp


class Sender(threading.Thread):
    """Sends one phase's share of the year, spread evenly over `seconds` so that traffic flows
    before, during and after the fault; `progress` counts the units sent (a sync batch with its
    interactive dossiers, or a chunk of documents)."""

    def __init__(
        self,
        drill: Drill,
        batches: list[list[dict[str, Any]]],
        docs: list[dict[str, Any]],
        seconds: float,
    ) -> None:
        super().__init__(daemon=True)
        chunks = list(batched(iter(docs), max(1, -(-len(docs) // max(1, len(batches))))))
        self.units: list[tuple[str, list[dict[str, Any]]]] = []
        for i in range(max(len(batches), len(chunks))):
            self.units += [("dossiers", b) for b in batches[i : i + 1]]
            self.units += [("documents", c) for c in chunks[i : i + 1]]
        self.drill, self.seconds = drill, seconds
        self.progress = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        start = time.monotonic()
        pace = self.seconds / max(1, len(self.units))
        try:
            for i, (kind, unit) in enumerate(self.units):
                time.sleep(max(0.0, start + i * pace - time.monotonic()))
                if kind == "dossiers":
                    self.drill.send_dossiers(unit)
                else:
                    self.drill.send_documents(unit)
                self.progress += 1
        except BaseException as exc:  # the simulator gave up: the phase fails
            self.error = exc


class Drill:
    def __init__(self, args: argparse.Namespace, backend: str, work: Path) -> None:
        self.args = args
        self.backend = backend
        self.work = work
        self.pg: PrivatePostgres | None = None
        urls: dict[str, str] = {}
        if backend == "postgres":
            self.pg = PrivatePostgres()
            try:
                self.pg.init()
                self.pg.start()
                urls = {app: self.pg.create(app) for app in APPS}
            except BaseException:
                self.pg.stop()
                raise
        national = bool(set(args.faults) & set(NATIONAL_FAULTS))
        self.platform = Platform(
            work / "platform",
            database_urls=urls,
            with_national=national,
            extra_env=SYNC_ENV if national else {},
        )
        self.expected: Counter[str] = Counter()
        self.sim: Simulation | None = None
        # When the national side answered normally again, after a fault of it.
        self.national_back: float | None = None

    # -- sending ------------------------------------------------------------------------------

    def send_dossiers(self, batch: list[dict[str, Any]]) -> None:
        sim = self.sim
        assert sim is not None
        interactive = [r for r in batch if hash_pick(r["code"], self.args.interactive_every)]
        bulk = [r for r in batch if not hash_pick(r["code"], self.args.interactive_every)]
        if bulk:
            key = f"{sim.prefix}:drill-sync:{bulk[0]['code']}:{len(bulk)}"
            resp = sim.gw.call("POST", "/dossier/v1/dossiers:sync", json={"records": bulk}, key=key)
            failed = [r for r in resp.json()["results"] if not r["ok"]]
            if failed:
                raise RuntimeError(f"sync refused {len(failed)} records: {failed[:3]}")
        with ThreadPoolExecutor(sim.workers) as pool:
            list(pool.map(sim._interactive, interactive))
        for record in batch:
            sim.tally.dossier(record)
            self.expected["lgsp.dossier.submitted"] += 1
            self.expected["lgsp.dossier.status_changed"] += len(record["history"])
            self.expected["lgsp.dossier.payment_recorded"] += len(record["payments"])

    def send_documents(self, docs: list[dict[str, Any]]) -> None:
        sim = self.sim
        assert sim is not None
        for chunk in batched(iter(docs), 50):
            with ThreadPoolExecutor(sim.workers) as pool:
                list(pool.map(sim.send_document, chunk))
            for doc in chunk:
                sim.tally.document(doc)
                self.expected[DOCUMENT_SENT] += 1
                self.expected[RECIPIENT_STATUS] += len(doc["to_organs"])

    # -- faults -------------------------------------------------------------------------------

    def wait_ready(self, apps: tuple[str, ...], timeout: float = 120.0) -> None:
        for app in apps:
            self.platform.wait_ready(app, timeout)

    def inject(self, fault: str) -> float:
        """Kill -9, wait `--down` seconds, start again; seconds from the kill to recovery."""
        p = self.platform
        down = self.args.down
        t0 = time.monotonic()
        if fault == "nats":
            p.kill_nats()
            time.sleep(down)
            p.start_nats()
            self.wait_ready(BUS_APPS)
        elif fault == "national":
            p.kill(NATIONAL)
            time.sleep(self.args.national_down)
            p.start(NATIONAL)
            self.wait_ready((NATIONAL,))
            self.national_back = time.monotonic()
        elif fault == "dvcqg-error":
            url = p.url(NATIONAL) + "/admin/fault"
            body = {
                "mode": "error",
                "targets": ["dvcqg"],
                "error_code": "-9",
                "duration_seconds": self.args.national_down,
            }
            httpx.put(url, json=body, headers=ADMIN, timeout=10).raise_for_status()
            time.sleep(self.args.national_down)
            while httpx.get(url, headers=ADMIN, timeout=10).status_code != 404:
                time.sleep(0.2)
            self.national_back = time.monotonic()
        elif fault == "postgres":
            assert self.pg is not None
            self.pg.kill()
            time.sleep(down)
            self.pg.start()
            self.wait_ready(tuple(APPS))
        else:
            p.kill(fault)
            time.sleep(down)
            p.start(fault)
            say(f"[{self.backend}]   {fault} listening after {time.monotonic() - t0:.1f}s")
            self.wait_ready((fault,))
        return time.monotonic() - t0

    # -- settling and counting ----------------------------------------------------------------

    def settle(self, timeout: float = 300.0, still: float = 30.0) -> Counter[str]:
        """Wait until reporting has applied what was expected, or nothing moves for `still` s."""
        deadline = time.monotonic() + timeout
        last: Counter[str] | None = None
        since = time.monotonic()
        while True:
            got = consumed(self.platform)
            caught_up = all(got[t] == self.expected[t] for t in SENT_TYPES)
            if caught_up and backlog(self.platform) == 0:
                return got
            if got != last:
                last, since = got, time.monotonic()
            if time.monotonic() - since > still or time.monotonic() > deadline:
                return got
            time.sleep(0.5)

    def check(self, fault: str, recover: float | None, baseline: Counter[str]) -> Row:
        sim = self.sim
        assert sim is not None
        got = self.settle()
        expected = Counter(baseline)
        for t in SENT_TYPES:
            expected[t] = self.expected[t]
        lost, dup = lost_and_duplicated(expected, got)
        diffs = differences(sim.tally.rows(), sim.report())
        row = Row(fault, self.backend, recover, lost, dup, not diffs)
        if diffs:
            row.notes.append("report: " + "; ".join(diffs[:4]))
        self.check_dvcqg(row)
        if lost or dup:
            row.notes.append(
                "events: "
                + ", ".join(
                    f"{t.rsplit('.', 1)[-1]} {got[t]}/{expected[t]}"
                    for t in sorted(set(expected) | set(got))
                    if got[t] != expected[t]
                )
            )
        return row

    def check_dvcqg(self, row: Row) -> None:
        """With the national side on: wait until DVCQG equals the province, and say how long."""
        if not self.platform.with_national or self.sim is None:
            return
        since, self.national_back = self.national_back or time.monotonic(), None
        check = DvcqgCheck(self.sim, self.platform.url(NATIONAL), self.sim.targets.year)
        row.dvcqg = check.run(since)
        if not row.dvcqg["equal"]:
            shown = {k: v for k, v in row.dvcqg.items() if v}
            row.notes.append(f"DVCQG differs from the province: {shown}"[:600])

    # -- the run ------------------------------------------------------------------------------

    def run(self, faults: list[str]) -> list[Row]:
        p = self.platform
        p.start_all()
        creds = json.loads((p.data_dir / "demo-client.json").read_text())
        gw = Gateway(p.gateway, creds["client_id"], creds["client_secret"])
        self.transport = CountingTransport()
        gw.http = httpx.Client(base_url=p.gateway, timeout=120.0, transport=self.transport)
        targets = load(self.args.targets).scaled(self.args.scale)
        self.sim = sim = Simulation(
            gw, targets, seed=self.args.seed, state_path=self.work / "state.json",
            interactive_every=self.args.interactive_every, say=say,
        )  # fmt: skip
        rows: list[Row] = []
        try:
            say(f"[{self.backend}] setup: catalogue, connections, declared rows")
            sim.catalogue()
            sim.connections()
            sim.declared()
            # Types other than dossiers and documents must not move after the setup.
            baseline = self.settle(still=5.0)
            baseline = Counter({t: n for t, n in baseline.items() if t not in SENT_TYPES})

            records = list(sim.year.dossiers())
            docs = list(sim.year.documents())
            phases = len(faults) + 1
            per = -(-len(records) // phases)
            per_doc = -(-len(docs) // phases)
            size = max(1, -(-per // self.args.batches))
            say(
                f"[{self.backend}] {len(records):,} dossiers and {len(docs):,} documents in "
                f"{phases} phases, batches of {size}"
            )
            for i, fault in enumerate(["none", *faults]):
                share = records[i * per : (i + 1) * per]
                sender = Sender(
                    self,
                    list(batched(iter(share), size)),
                    docs[i * per_doc : (i + 1) * per_doc],
                    self.args.phase_seconds,
                )
                say(f"[{self.backend}] phase {i}: {fault}")
                retried = self.transport.retried
                sender.start()
                recover = None
                if fault != "none":
                    while sender.progress < 1 and sender.is_alive():
                        time.sleep(0.05)
                    recover = self.inject(fault)
                    state = "still sending" if sender.is_alive() else "phase already sent"
                    say(f"[{self.backend}]   {fault} back after {recover:.1f}s ({state})")
                sender.join()
                retried = self.transport.retried - retried
                if sender.error is not None:
                    row = Row(fault, self.backend, recover, 0, 0, False, retried)
                    row.notes.append(f"simulator gave up: {sender.error!r}"[:300])
                    rows.append(row)
                    say(f"[{self.backend}]   {row.notes[-1]}")
                    break
                rows.append(self.check(fault, recover, baseline))
                rows[-1].retried = retried
                say(f"[{self.backend}]   {rows[-1]}")
            else:
                final = sim.compare(timeout=120)
                got = consumed(p)
                expected = Counter(baseline)
                for t in SENT_TYPES:
                    expected[t] = self.expected[t]
                lost, dup = lost_and_duplicated(expected, got)
                row = Row("whole year", self.backend, None, lost, dup, not final)
                row.retried = self.transport.retried
                if final:
                    row.notes.append("report: " + "; ".join(final[:4]))
                self.check_dvcqg(row)
                rows.append(row)
        finally:
            gw.close()
        return rows

    def close(self, *, keep: bool = False) -> None:
        self.platform.stop_all()
        if self.pg is not None:
            self.pg.stop(remove=not keep)
            if keep:
                say(f"[{self.backend}] kept {self.pg.root} (PostgreSQL)")


def table(rows: list[Row]) -> str:
    head = (
        "| fault | backend | time to recover (s) | calls retried | events lost "
        "| duplicates counted | report exact |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        rec = "—" if r.recover is None else f"{r.recover:.1f}"
        lines.append(
            f"| {r.fault} | {r.backend} | {rec} | {r.retried} | {r.lost} | {r.duplicates} | "
            f"{'yes' if r.exact else 'no'} |"
        )
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    """One line per fault and backend, the rounds together (times to recover listed)."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.fault, r.backend), []).append(r)
    lines = [
        "| fault | backend | runs | time to recover (s) | calls retried | events lost "
        "| duplicates counted | report exact |",
        "|---|---|---:|---|---:|---:|---:|---|",
    ]
    for (fault, backend), rs in groups.items():
        times = ", ".join(f"{r.recover:.1f}" for r in rs if r.recover is not None) or "—"
        lines.append(
            f"| {fault} | {backend} | {len(rs)} | {times} | {sum(r.retried for r in rs)} "
            f"| {sum(r.lost for r in rs)} | {sum(r.duplicates for r in rs)} "
            f"| {'yes' if all(r.exact for r in rs) else 'no'} |"
        )
    return "\n".join(lines)


def dvcqg_line(fault: str, d: dict[str, Any]) -> str:
    if not d["equal"]:
        return "DVCQG does not equal the province"
    since = "the national side was back" if fault in NATIONAL_FAULTS else "the phase was sent"
    return (
        f"DVCQG equals the province: {d['dvcqg']} dossiers with their status and dates, "
        f"progress rows one per history entry, none created twice, reporting counts "
        f"{d['reported']}; {d['caught_up_seconds']} s after {since}"
    )


BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def result_rows(args: argparse.Namespace, rows: list[Row]) -> list[results.Row]:
    """One README row per backend: every kill of the run together."""
    out = []
    for backend in dict.fromkeys(r.backend for r in rows):
        mine = [r for r in rows if r.backend == backend]
        kills = [r for r in mine if r.recover is not None]
        times = [r.recover for r in kills if r.recover is not None]
        recover = f"{min(times):.1f}–{max(times):.1f} s" if times else "—"
        faults = ", ".join(dict.fromkeys(r.fault for r in kills if r.fault not in NATIONAL_FAULTS))
        if national_kills := [r.fault for r in kills if r.fault in NATIONAL_FAULTS]:
            faults += f"; the national side {args.national_down:g} s: " + ", ".join(
                NATIONAL_WHAT[f] for f in dict.fromkeys(national_kills)
            )
        lost, dups = sum(r.lost for r in mine), sum(r.duplicates for r in mine)
        exact = all(r.exact for r in mine)
        national = [r for r in kills if r.fault in NATIONAL_FAULTS and r.dvcqg is not None]
        dvcqg = ""
        if national:
            equal = all(r.dvcqg and r.dvcqg["equal"] for r in national)
            caught = [r.dvcqg["caught_up_seconds"] for r in national if r.dvcqg]
            dvcqg = (
                f"; after the national side down or failing {args.national_down:g} s, DVCQG "
                + (
                    f"equal to the province, none twice, {max(caught):.1f} s after it was back"
                    if equal
                    else "**not equal to the province**"
                )
            )
        out.append(
            results.Row(
                what=f"fault drills, {BACKEND_NAMES.get(backend, backend)}: SIGKILL under the "
                f"simulator's load (Bắc Giang at scale {args.scale:g}), restarted "
                f"{args.down:g} s later; faults: {faults}",
                measured=f"{len(kills)} fault{'' if len(kills) == 1 else 's'}: {lost} events "
                f"lost, {dups} counted twice, "
                f"report {'exact in every phase' if exact else '**not exact**'}; time to "
                f"recover {recover}; {sum(r.retried for r in mine)} calls retried{dvcqg}",
                target="0 lost, 0 counted twice, report exact",
                met=all(r.ok for r in mine),
                where="`python -m bench.drills`",
            )
        )
    return out


def run_drills(args: argparse.Namespace, backends: list[str]) -> list[Row]:
    rows: list[Row] = []
    for backend in backends:
        faults = [f for f in args.faults if f != "postgres" or backend == "postgres"]
        faults *= args.rounds
        work = Path(tempfile.mkdtemp(prefix=f"lgsp-drill-{backend}-"))
        drill = Drill(args, backend, work)
        done = False
        try:
            rows += drill.run(faults)
            done = all(r.ok for r in rows)
        finally:
            drill.close(keep=args.keep or not done)
            if done and not args.keep:
                shutil.rmtree(work, ignore_errors=True)
            else:
                say(f"[{backend}] kept {work} (logs)")
    return rows


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--targets", type=Path, default=ROOT / "scenarios" / "bac-giang-2023.yaml")
    ap.add_argument("--scale", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--faults", type=lambda s: s.split(","), default=list(FAULTS))
    ap.add_argument("--down", type=float, default=2.0, help="seconds a component stays down")
    ap.add_argument("--rounds", type=int, default=1, help="the list of faults, this many times")
    ap.add_argument(
        "--national-down",
        type=float,
        default=60.0,
        help="seconds the national side is down (national) or answers errors (dvcqg-error)",
    )
    ap.add_argument("--batches", type=int, default=8, help="sync batches per phase")
    ap.add_argument(
        "--phase-seconds", type=float, default=15.0, help="a phase's sending spread over this"
    )
    ap.add_argument("--interactive-every", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    results.add_arguments(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        raise SystemExit(f"unknown faults: {', '.join(sorted(unknown))}")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = results.start()
    rows = run_drills(args, backends)
    print(table(rows))
    if args.rounds > 1:
        print()
        print(summary(rows))
    for r in rows:
        for note in r.notes:
            print(f"  {r.fault} ({r.backend}): {note}")
    for r in rows:
        if r.dvcqg is not None:
            print(f"  {r.fault} ({r.backend}): {dvcqg_line(r.fault, r.dvcqg)}")
    results.write_from_args(
        args,
        "drills",
        started=started,
        variant=args.backend,
        figures={"phases": [asdict(r) for r in rows]},
        rows=result_rows(args, rows),
    )
    return 0 if rows and all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
