"""The event part of the suite: every CloudEvent seen on `lgsp.>` while the suite runs is checked
against the committed JSON Schema of its type, and a few API calls through the gateway must
each bring the event they promise."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import jsonschema

import contracts
from lgsp_kit.contract._auth import TokenSource
from lgsp_kit.contract._results import CaseResult, Finding

SCHEMA_DIR = Path(contracts.__file__).resolve().parent / "events" / "schemas"
SUBJECTS = "lgsp.>"
WAIT_SECONDS = 20.0


def load_schemas(folder: Path = SCHEMA_DIR) -> dict[str, jsonschema.Draft202012Validator]:
    validators = {}
    for path in sorted(folder.glob("lgsp.*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        validators[path.stem] = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
    return validators


@dataclass
class Seen:
    subject: str
    data: bytes
    msg_id: str | None


class EventTap:
    """A core NATS subscription to `lgsp.>` on a thread of its own (the API run is blocking)."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="event-tap", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> EventTap:
        self._thread.start()
        if not self._ready.wait(15) or self.error is not None:
            raise ConnectionError(f"cannot subscribe on {self.nats_url}: {self.error}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def _run(self) -> None:
        try:
            asyncio.run(self._listen())
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    async def _listen(self) -> None:
        import nats

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        nc = await nats.connect(self.nats_url, connect_timeout=5, max_reconnect_attempts=3)

        async def on_message(msg: Any) -> None:
            headers = msg.headers or {}
            with self._lock:
                self.seen.append(Seen(msg.subject, msg.data, headers.get("Nats-Msg-Id")))

        await nc.subscribe(SUBJECTS, cb=on_message)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.drain()

    def snapshot(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.snapshot():
                try:
                    event = json.loads(item.data)
                except ValueError:
                    continue
                if isinstance(event, dict) and predicate(event):
                    return True
            time.sleep(0.1)
        return False


def _text(data: bytes) -> str:
    return data[:500].decode(errors="replace")


def check_seen(
    seen: list[Seen], validators: dict[str, jsonschema.Draft202012Validator]
) -> CaseResult:
    """Every event seen conforms to the schema of its type; its subject is its type."""
    result = CaseResult("events", "every event seen on lgsp.> matches its JSON Schema")
    result.requests = len(seen)
    wrong: dict[tuple[str, str], Finding] = {}
    for item in seen:
        try:
            event = json.loads(item.data)
        except ValueError as exc:
            wrong.setdefault(
                (item.subject, "json"),
                Finding("event_schema", "not JSON", f"{item.subject}: {exc}"),
            )
            continue
        event_type = event.get("type") if isinstance(event, dict) else None
        validator = validators.get(item.subject)
        if validator is None:
            wrong.setdefault(
                (item.subject, "unknown"),
                Finding("event_schema", "no published schema", f"subject {item.subject}"),
            )
            continue
        if event_type != item.subject:
            wrong.setdefault(
                (item.subject, "subject"),
                Finding(
                    "event_subject", "subject is not the type", f"{item.subject} ≠ {event_type}"
                ),
            )
        errors = sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            wrong.setdefault(
                (item.subject, where),
                Finding(
                    "event_schema",
                    f"{item.subject} does not match its schema",
                    f"at {where}: {first.message}\nevent: {_text(item.data)}",
                ),
            )
        if item.msg_id is not None and isinstance(event, dict) and item.msg_id != event.get("id"):
            wrong.setdefault(
                (item.subject, "msgid"),
                Finding("event_msg_id", "Nats-Msg-Id is not the event id", item.msg_id),
            )
    result.findings = list(wrong.values())
    if not seen:
        result.findings.append(Finding("event_schema", "no event seen", "nothing on lgsp.>"))
    return result


class Driver:
    """A few calls through the gateway whose events the contract promises."""

    def __init__(self, base_url: str, tokens: TokenSource, tap: EventTap, wait: float) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=30)
        self.tokens = tokens
        self.tap = tap
        self.wait = wait

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return self.client.request(
            method, path, json=body, params=params or None, headers=self.tokens.headers()
        )

    def expect(
        self, name: str, event_type: str, request: Callable[[], httpx.Response], match: str
    ) -> tuple[CaseResult, httpx.Response | None]:
        """Make the call; the event of `event_type` whose data names `match` must follow."""
        result = CaseResult("events", f"{event_type} after {name}")
        started = time.monotonic()
        try:
            resp = request()
        except httpx.HTTPError as exc:
            result.findings.append(Finding("event_flow", "the call failed", repr(exc)))
            return result, None
        result.requests = 1
        if resp.status_code >= 300:
            result.findings.append(
                Finding("event_flow", f"the call answered {resp.status_code}", resp.text[:500])
            )
            return result, resp

        def wanted(event: dict[str, Any]) -> bool:
            return event.get("type") == event_type and match in json.dumps(event.get("data"))

        if not self.tap.wait_for(wanted, self.wait):
            result.findings.append(
                Finding(
                    "event_flow",
                    "the promised event did not come",
                    f"no {event_type} naming {match} within {self.wait:g} s of {name}",
                )
            )
        result.seconds = time.monotonic() - started
        return result, resp


def _examples(spec: dict[str, Any], path: str, method: str = "post") -> list[dict[str, Any]]:
    body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    examples: list[dict[str, Any]] = spec["components"]["schemas"][name].get("examples", [])
    return examples


def drive(driver: Driver, spec: dict[str, Any]) -> list[CaseResult]:
    """Dossier: submit, receive, pay; documents: connection change, send, recipient status.
    Bodies are the examples the published document gives."""
    results: list[CaseResult] = []
    fee_example = next(
        (e for e in _examples(spec, "/dossier/v1/dossiers") if e.get("fees")),
        _examples(spec, "/dossier/v1/dossiers")[0],
    )
    dossier = {k: v for k, v in fee_example.items() if k != "submitted_at"}
    code = ""

    def submit() -> httpx.Response:
        return driver.call("POST", "/dossier/v1/dossiers", dossier)

    result, resp = driver.expect("POST /dossier/v1/dossiers", "lgsp.dossier.submitted", submit,
                                 dossier["procedure_code"])  # fmt: skip
    results.append(result)
    if resp is not None and resp.status_code == 201:
        code = resp.json()["code"]
        steps = [
            ("status", "lgsp.dossier.status_changed", {"status": 2}),
            ("payments", "lgsp.dossier.payment_recorded",
             {"amount": 50000, "method": "offline"}),
        ]  # fmt: skip
        for leaf, event_type, body in steps:
            path = f"/dossier/v1/dossiers/{code}/{leaf}"
            result, _ = driver.expect(
                f"POST {path}", event_type, partial(driver.call, "POST", path, body), code
            )
            results.append(result)

    document = _examples(spec, "/documents/v1/documents")[0]
    sender = document["from_organ"]
    # The sender's connection to document exchange changes (two facts: off then on, or on);
    # the recipients are connected first so that the electronic send is allowed.
    for organ_code in (sender, *document["to_organs"]):
        organ = driver.call("GET", f"/documents/v1/organs/{organ_code}")
        connected = organ.status_code == 200 and organ.json().get("connections", {}).get("qlvb")
        path = f"/documents/v1/organs/{organ_code}/connections"
        if organ_code != sender:
            if not connected:
                driver.call("POST", path, {"system": "qlvb", "connected": True})
            continue
        for state in (False, True) if connected else (True,):
            result, _ = driver.expect(
                f"POST {path} connected={state}", "lgsp.documents.organ_connection_changed",
                partial(driver.call, "POST", path, {"system": "qlvb", "connected": state}),
                organ_code,
            )  # fmt: skip
            results.append(result)

    def send() -> httpx.Response:
        return driver.call("POST", "/documents/v1/documents", document)

    result, resp = driver.expect(
        "POST /documents/v1/documents", "lgsp.documents.document_sent", send, sender
    )
    results.append(result)
    if resp is not None and resp.status_code == 201:
        document_id = resp.json()["id"]
        recipient = document["to_organs"][0]
        path = f"/documents/v1/documents/{document_id}/recipients/{recipient}/status"
        body = {"status": "03", "note": "Vào sổ"}
        result, _ = driver.expect(
            f"POST {path}", "lgsp.documents.recipient_status_changed",
            partial(driver.call, "POST", path, body), document_id,
        )  # fmt: skip
        results.append(result)
    return results
