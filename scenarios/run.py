"""`lgsp simulate`: replay a year through the gateway, resumable, then compare the report.

Stages, each resumable from the state file: the procedures catalogue, organ connections, the
declared rows; then at once the dossiers (batch sync of 1,000 whole records per call, with a
sample sent as ordinary interactive calls) and the documents (batch sends of 200); then wait for
reporting and compare row by row.
Every write carries an `Idempotency-Key` derived from the seed, so a stage replayed after an
interruption creates nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from contracts import reference
from scenarios.client import ApiError, Gateway
from scenarios.plan import ProcedurePlan, build_plan, check_plan
from scenarios.targets import LEVELS, Targets
from scenarios.truth import Expected, Tally
from scenarios.year import Year

T = TypeVar("T")
SYNC_BATCH = 1000
# Documents a batch call, and batch calls in flight: each batch is one transaction of the
# documents service, which signs and writes them in one thread (bench/documents.py).
DOCUMENT_BATCH = 200
DOCUMENT_STREAMS = 2
ATTACHMENT = {
    "name": "van-ban.pdf",
    "content_type": "application/pdf",
    "content_base64": "JVBERi0xLjQKJcfsj6IK",
}


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>8,.0f}/s")


class Progress:
    """One line on stderr: done/total, rate and time left; counts from `done` on a resume.
    Stages running at once share one display (a terminal holds one live display)."""

    _display: RichProgress | None = None
    _users = 0
    _lock = threading.Lock()

    def __init__(self, label: str, total: int, done: int = 0) -> None:
        self._label, self._total, self._done = label, total, done

    def __enter__(self) -> Progress:
        with Progress._lock:
            if Progress._display is None:
                Progress._display = RichProgress(
                    TextColumn("{task.description:<12}", markup=False),
                    TextColumn("{task.completed:>9,.0f}/{task.total:<9,.0f}", markup=False),
                    _Rate(),
                    TextColumn(" ETA", markup=False),
                    TimeRemainingColumn(),
                    console=Console(stderr=True),
                    refresh_per_second=2,
                )
                Progress._display.start()
            Progress._users += 1
            self._task = Progress._display.add_task(
                self._label, total=self._total, completed=self._done
            )
        return self

    def __exit__(self, *exc: object) -> None:
        with Progress._lock:
            Progress._users -= 1
            if Progress._users == 0 and Progress._display is not None:
                Progress._display.stop()
                Progress._display = None

    def advance(self, n: int) -> None:
        assert Progress._display is not None
        Progress._display.advance(self._task, n)


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


class Stopped(RuntimeError):
    """A stage stopped because the one running beside it failed."""


@dataclass
class State:
    """What has been sent, saved after every step so that a rerun resumes."""

    path: Path
    fingerprint: str
    done: dict[str, int]

    @classmethod
    def open(cls, path: Path, fingerprint: str) -> State:
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("fingerprint") == fingerprint:
                return cls(path, fingerprint, saved["done"])
        return cls(path, fingerprint, {})

    lock: threading.Lock = field(default_factory=threading.Lock)

    def save(self) -> None:
        """Stages running at once save one after the other."""
        with self.lock:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "done": dict(self.done)}))
            tmp.replace(self.path)


class Simulation:
    def __init__(
        self,
        gateway: Gateway,
        targets: Targets,
        *,
        seed: int,
        state_path: Path,
        interactive_every: int = 500,
        workers: int = 8,
        say: Callable[[str], None] = print,
    ) -> None:
        self.gw = gateway
        self.targets = targets
        self.seed = seed
        self.plans: list[ProcedurePlan] = build_plan(targets, seed)
        check_plan(targets, self.plans)
        self.year = Year(targets, self.plans, seed)
        self.tz = ZoneInfo(targets.timezone)
        raw = targets.model_dump_json() + f"|{seed}"
        self.prefix = "sim-" + hashlib.sha256(raw.encode()).hexdigest()[:12]
        self.state = State.open(state_path, self.prefix)
        self.interactive_every = interactive_every
        self.workers = workers
        self.say = say
        self.tally = Tally(targets, self.plans)
        self._stop = threading.Event()

    def start_of_year(self, day: int = 1) -> str:
        return datetime.combine(
            datetime(self.targets.year, 1, day).date(), dtime(7, 0), self.tz
        ).isoformat()

    # -- stages -------------------------------------------------------------------------------

    def run(self) -> None:
        """The catalogue, connections and declared rows first (dossiers and documents need
        them), then the dossiers and the documents at once: they go to two services, each
        with a core of its own to use."""
        self.catalogue()
        self.connections()
        self.declared()
        self._stop.clear()
        with ThreadPoolExecutor(2, thread_name_prefix="stage") as stages:
            running = [stages.submit(self.dossiers), stages.submit(self.documents)]
            try:
                for stage in running:
                    stage.result()
            except BaseException:
                self._stop.set()  # the other stage stops after its call in flight
                raise

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise Stopped("another stage failed")

    def _stage(self, name: str, items: list[Any], send: Callable[[Any], None]) -> None:
        done = self.state.done.get(name, 0)
        with Progress(name, len(items), done) as progress:
            for chunk in batched(items[done:], 50):
                with ThreadPoolExecutor(self.workers) as pool:
                    list(pool.map(send, chunk))
                self.state.done[name] = self.state.done.get(name, 0) + len(chunk)
                self.state.save()
                progress.advance(len(chunk))

    def catalogue(self) -> None:
        at = self.start_of_year()

        def put(plan: ProcedurePlan) -> None:
            body = {k: v for k, v in plan.as_api().items() if k != "code"}
            self.gw.call("PUT", f"/dossier/v1/procedures/{plan.code}", json={**body, "at": at})

        self._stage("procedures", self.plans, put)

    def connections(self) -> None:
        organs: dict[str, list[str]] = {level: [] for level in LEVELS}
        for organ in sorted(reference.organs().values(), key=lambda o: o.code):
            if organ.level in organs:
                organs[organ.level].append(organ.code)
        wanted = [
            (system, code)
            for system in ("qlvb", "motcua")
            for level in LEVELS
            for code in organs[level][: getattr(self.targets.connections, system).get(level)]
        ]
        # The provincial People's Committee is the hub of document exchange; rows 5.1 and 5.3
        # do not count it (it is none of their three levels).
        wanted += [("qlvb", self.year.hub), ("motcua", self.year.hub)]
        at = self.start_of_year(2)

        def connect(item: tuple[str, str]) -> None:
            system, code = item
            body = {"system": system, "connected": True, "at": at}
            self.gw.call(
                "POST",
                f"/documents/v1/organs/{code}/connections",
                json=body,
                key=f"{self.prefix}:connect:{system}:{code}",
            )

        self._stage("connections", wanted, connect)

    def declared(self) -> None:
        def declare(item: tuple[str, float | int]) -> None:
            stt, value = item
            self.gw.call(
                "PUT",
                f"/reporting/v1/indicators/{stt}/declared",
                json={"value": value, "period": str(self.targets.year), "note": "simulator"},
            )

        self._stage("declared", sorted(self.targets.declared.items()), declare)

    def _interactive(self, record: dict[str, Any]) -> None:
        """One dossier as a desk would handle it: submit, then each change and payment."""
        key = f"{self.prefix}:{record['code']}"
        body = {k: record[k] for k in ("procedure_code", "organ_code", "channel", "applicant")}
        body["fees"] = record["fees"]
        body["submitted_at"] = record["submitted_at"]
        code = self.gw.call("POST", "/dossier/v1/dossiers", json=body, key=f"{key}:submit").json()[
            "code"
        ]
        steps: list[tuple[str, int, str, dict[str, Any]]] = []
        for i, change in enumerate(record["history"]):
            steps.append((change["at"], 0, f"s{i}", {"status": change["status"], **change}))
        for i, pay in enumerate(record["payments"]):
            steps.append((pay["at"], 1, f"p{i}", pay))
        for _at, kind, tag, data in sorted(
            steps, key=lambda s: (datetime.fromisoformat(s[0]), s[1])
        ):
            path = f"/dossier/v1/dossiers/{code}/" + ("status" if kind == 0 else "payments")
            self.gw.call("POST", path, json=data, key=f"{key}:{tag}")

    def dossiers(self) -> None:
        total = sum(p.dossiers for p in self.plans)
        done = self.state.done.get("dossiers", 0)
        with Progress("dossiers", total + total * 3 // 1000, done) as progress:
            records = self.year.dossiers()
            for index, batch in enumerate(batched(records, SYNC_BATCH)):
                for record in batch:
                    self.tally.dossier(record)
                if (index + 1) * SYNC_BATCH <= done:
                    continue
                self._check_stop()
                interactive = [r for r in batch if hash_pick(r["code"], self.interactive_every)]
                bulk = [r for r in batch if not hash_pick(r["code"], self.interactive_every)]
                if bulk:
                    resp = self.gw.call(
                        "POST",
                        "/dossier/v1/dossiers:sync",
                        json={"records": bulk},
                        key=f"{self.prefix}:sync:{index}",
                    )
                    failed = [r for r in resp.json()["results"] if not r["ok"]]
                    if failed:
                        raise RuntimeError(f"sync refused {len(failed)} records: {failed[:3]}")
                with ThreadPoolExecutor(self.workers) as pool:
                    list(pool.map(self._interactive, interactive))
                self.state.done["dossiers"] = done = (index + 1) * SYNC_BATCH
                self.state.save()
                progress.advance(len(batch))

    def documents(self) -> None:
        """The year's documents, `DOCUMENT_BATCH` a call to `POST /documents/v1/documents:batch`
        with `DOCUMENT_STREAMS` calls in flight (one being written while the next is read and
        signed); each document keeps its own idempotency key, so a batch sent again after an
        interruption creates nothing twice."""
        docs = list(self.year.documents())
        for doc in docs:
            self.tally.document(doc)
        done = self.state.done.get("documents", 0)
        chunks = list(batched(docs[done:], DOCUMENT_BATCH))
        with (
            Progress("documents", len(docs), done) as progress,
            ThreadPoolExecutor(DOCUMENT_STREAMS) as pool,
        ):
            # In order: the state counts only documents whose batch and every earlier one
            # were answered.
            for chunk, _ in zip(chunks, pool.map(self.send_documents, chunks), strict=True):
                self._check_stop()
                self.state.done["documents"] = self.state.done.get("documents", 0) + len(chunk)
                self.state.save()
                progress.advance(len(chunk))

    def document_body(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A generated document as the body of a send (an attachment when electronic)."""
        body = {k: v for k, v in doc.items() if k not in ("key", "level")}
        body["promulgation"] = {"place": "Bắc Giang", "date": doc["sent_at"][:10]}
        body["signer"] = {"full_name": "Nguyễn Văn Bình", "position": "Chánh Văn phòng"}
        body["attachments"] = [ATTACHMENT] if doc["electronic"] else []
        return body

    def send_document(self, doc: dict[str, Any]) -> None:
        """One generated document as `POST /documents/v1/documents`, keyed so that sending it
        again creates nothing."""
        self.gw.call(
            "POST",
            "/documents/v1/documents",
            json=self.document_body(doc),
            key=f"{self.prefix}:{doc['key']}",
        )

    def send_documents(self, docs: list[dict[str, Any]]) -> None:
        """Generated documents in one `POST /documents/v1/documents:batch`, each under the key
        `send_document` gives it (a document sent either way is replayed, not sent twice)."""
        items = [
            {"key": f"{self.prefix}:{doc['key']}", "document": self.document_body(doc)}
            for doc in docs
        ]
        resp = self.gw.call("POST", "/documents/v1/documents:batch", json={"items": items})
        failed = [r for r in resp.json()["results"] if not r["ok"]]
        if failed:
            raise RuntimeError(f"the batch refused {len(failed)} documents: {failed[:3]}")

    # -- the report ---------------------------------------------------------------------------

    def report(self) -> dict[str, dict[str, Any]]:
        resp = self.gw.call(
            "GET", "/reporting/v1/reports/phu-luc-ii", params={"period": str(self.targets.year)}
        )
        return {row["stt"]: row for row in resp.json()["rows"]}

    def compare(self, timeout: float = 600.0) -> list[str]:
        """Wait until the report equals the truth (or stops changing), then list differences."""
        expected = self.tally.rows()
        deadline = time.monotonic() + timeout
        last: dict[str, dict[str, Any]] = {}
        still_since = time.monotonic()
        while True:
            rows = self.report()
            diffs = differences(expected, rows)
            if not diffs:
                return []
            if rows != last:
                last, still_since = rows, time.monotonic()
            if time.monotonic() - still_since > 60 or time.monotonic() > deadline:
                return diffs
            time.sleep(1.0)

    def national(self, timeout: float = 120.0, still: float = 30.0) -> dict[str, Any] | None:
        """Reporting's view of the sync to DVCQG for the year (`/reporting/v1/reports/dvcqg-sync`),
        once DVCQG holds every dossier received and nothing waits, or the figures stopped
        moving for `still` seconds, or at `timeout`, or at once when the sync has never reported;
        None when the platform has no such view."""
        deadline = time.monotonic() + timeout
        last: tuple[Any, ...] | None = None
        since = time.monotonic()
        while True:
            try:
                resp = self.gw.call(
                    "GET",
                    "/reporting/v1/reports/dvcqg-sync",
                    params={"period": str(self.targets.year)},
                )
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise
            view: dict[str, Any] = resp.json()
            backlog = view.get("backlog") or {}
            figures = (view["received"], view["synced"], backlog.get("pending"))
            if view.get("backlog") is None:
                return view  # the sync has never reported: it does not run
            if view["synced"] == view["received"] and backlog.get("pending") == 0:
                return view
            if figures != last:
                last, since = figures, time.monotonic()
            if time.monotonic() - since > still or time.monotonic() > deadline:
                return view
            time.sleep(1.0)


def national_summary(view: dict[str, Any] | None) -> str:
    """One line on the dossiers that reached DVCQG, from reporting's view of the sync."""
    if view is None:
        return "DVCQG: the platform's reporting has no view of the national sync"
    line = f"DVCQG holds {view['synced']:,} of the {view['received']:,} dossiers received"
    if view["value"] is not None:
        line += f" ({view['value']:.2f} %)"
    backlog = view.get("backlog")
    if backlog is None:
        return line + "; the national sync has not reported (is it running?)"
    if backlog["pending"]:
        line += (
            f"; {backlog['pending']:,} dossiers still waiting, the oldest change for "
            f"{backlog['lag_seconds']:,.0f} s"
        )
        if backlog["refused"]:
            line += f", {backlog['refused']:,} refused by DVCQG at their last try"
    else:
        line += "; nothing waits"
    return line


def hash_pick(code: str, every: int) -> bool:
    """A stable sample: about one record in `every` goes through interactive calls."""
    if every <= 0:
        return False
    return int(hashlib.sha256(code.encode()).hexdigest()[:8], 16) % every == 0


def differences(expected: dict[str, Expected], rows: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for stt, want in expected.items():
        row = rows.get(stt)
        if row is None:
            out.append(f"{stt}: missing from the report")
            continue
        if want.numerator is not None:
            got = (row.get("numerator"), row.get("denominator"))
            if got != (want.numerator, want.denominator):
                out.append(
                    f"{stt}: {got[0]}/{got[1]}, expected {want.numerator}/{want.denominator}"
                )
        elif want.value is not None and row.get("value") != want.value:
            out.append(f"{stt}: {row.get('value')}, expected {want.value}")
    return out
