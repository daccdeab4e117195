"""Hostile input through the gateway: none of it may bring a 5xx, a hang or a change of state.

A script, not a test: `python -m bench.hostile [--examples N] [--keep]`. It starts the real
platform (NATS and the four apps as processes, SQLite in a temporary data dir, as the
end-to-end tests do), takes the demo consumer's token (and the development administrator's for
`/admin`), and attacks through the gateway:

- `schemathesis`: the contract suite's API part (`lgsp contract-test`) at `--examples` examples
  per operation and phase; every status it drew is counted from the gateway's own metrics;
- `body-size`: bodies over the gateway's limit (declared, sent, chunked: 413) and just under it
  (4xx, not 5xx);
- `json-shape`: deep nesting, huge numbers, duplicate keys, non-JSON literals, wrong shapes;
- `encoding`: invalid UTF-8 and NUL bytes in body, path, query and headers;
- `headers`: overlong header values, floods of headers, floods of query parameters, long URLs;
- `method-type`: methods a path does not allow, wrong content types;
- `injection`: SQL-injection and path-traversal strings in every text field of every POST/PUT
  body (fields from the merged OpenAPI at the gateway's `/openapi.json`), in every path
  parameter and every query parameter; an accepted one must come back verbatim;
- `slow-loris`: heads trickled byte by byte, bodies declared and never finished or sent a byte a
  second; each must be cut by the server while a normal call keeps answering within 1 s.

State is snapshotted around every family but Schemathesis (which may create what it likes):
row counts of every table of every app's SQLite file (the gateway's audit log excepted: it
records the refusals), reporting's `lgsp_*_total` counters, and counts via the list endpoints.
A family whose requests were all refused must leave the snapshot equal; one with accepted
requests may only add (nothing shrinks or disappears) and must read its text back verbatim.

It prints one row per family: requests, status histogram, 5xx, hangs, state changes; and exits 1
when any of those is not zero, or when an app is not ready or not alive at the end.

The result goes to `bench/results/hostile-<sqlite|postgresql>.json` (`--results DIR`,
`--no-results`).
"""

# The attack cases are tables, one case a line: they stay longer than the line limit.
# ruff: noqa: E501
from __future__ import annotations

import argparse
import json
import re
import select
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench import results
from gateway.settings import Settings as GatewaySettings
from tests.e2e.platform import APPS, Platform

SQLI = (
    "' OR 1=1--",
    '"; DROP TABLE dossier;--',
    "'; DELETE FROM consumer; --",
    "1' UNION SELECT client_id, secret_hash FROM consumer--",
    "') OR ('a'='a",
    "1; SELECT pg_sleep(5)--",
    "%' OR '1'='1",
    "admin'/*",
)
TRAVERSAL = (
    "../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "..\\..\\windows\\win.ini",
    "....//....//etc/passwd",
)
OTHER = ("<script>alert(1)</script>", "${jndi:ldap://127.0.0.1/a}", "{{7*7}}")
PAYLOADS = SQLI + TRAVERSAL + OTHER
QUICK_PAYLOADS = (SQLI[0], SQLI[1], TRAVERSAL[0], TRAVERSAL[3])
QUICK_BODY_PATHS = ("/dossier/v1/dossiers", "/documents/v1/documents", "/admin/consumers")
# A normal call during slow-loris must answer within this.
RESPONSIVE_SECONDS = 1.0
ANSWER_TIMEOUT = 20.0  # no answer (nor close) by then: a hang
VERBOSE = False

GOOD_DOSSIER: dict[str, Any] = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}


# --------------------------------------------------------------------------- results


@dataclass
class Family:
    name: str
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    hangs: int = 0
    state_changes: int = 0
    notes: list[str] = field(default_factory=list)
    checks_state: bool = True
    # A write was accepted (2xx): the state may grow, and what was sent must read back verbatim.
    accepted: bool = False

    def record(self, status: int | str, what: str, method: str = "GET") -> None:
        """One request's outcome: an HTTP status, `closed` (no answer, connection closed) or
        `hang` (no answer and still open when the time ran out)."""
        self.sent += 1
        self.statuses[str(status)] += 1
        if VERBOSE:
            print(f"    {self.name}: {status} {what[:200]}", file=sys.stderr)
        if isinstance(status, int) and 200 <= status < 300 and method not in ("GET", "HEAD"):
            self.accepted = True
        if isinstance(status, int) and status >= 500:
            self.server_errors += 1
            self.note(f"{status}: {what}")
        elif status == "hang":
            self.hangs += 1
            self.note(f"hang: {what}")

    def note(self, line: str) -> None:
        if len(self.notes) < 40:
            self.notes.append(line)

    @property
    def failed(self) -> bool:
        return bool(self.server_errors or self.hangs or self.state_changes)

    def histogram(self) -> str:
        return " ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items()))


def result_row(families: list[Family], problems: list[str], backend: str) -> results.Row:
    """The README row: every family of the run together."""
    names = ", ".join(f.name for f in families)
    sent = sum(f.sent for f in families)
    errors = sum(f.server_errors for f in families)
    hangs = sum(f.hangs for f in families)
    changes = sum(f.state_changes for f in families if f.checks_state)
    return results.Row(
        what=f"hostile input through the gateway, {backend}: {names}",
        measured=f"{sent:,} requests: {errors} 5xx, {hangs} hangs, {changes} state changes"
        + (f"; {len(problems)} apps not ready or alive at the end" if problems else ""),
        target="0 5xx, 0 hangs, 0 state changes",
        met=not (errors or hangs or changes or problems),
        where="`python -m bench.hostile`",
    )


def table(families: list[Family]) -> str:
    rows = [("attack family", "requests", "statuses", "5xx", "hangs", "state changes")]
    for f in families:
        rows.append(
            (
                f.name,
                str(f.sent),
                f.histogram(),
                str(f.server_errors),
                str(f.hangs),
                str(f.state_changes) if f.checks_state else "n/a",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --------------------------------------------------------------------------- raw HTTP


@dataclass
class Answer:
    status: int | str  # an HTTP status, "closed" or "hang"
    head: bytes = b""
    body: bytes = b""
    seconds: float = 0.0


def _parse_status(data: bytes) -> int | None:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def raw_exchange(
    port: int,
    request: bytes | Iterable[bytes],
    *,
    timeout: float = ANSWER_TIMEOUT,
    pause: float = 0.0,
) -> Answer:
    """Send bytes as they are (pieces `pause` seconds apart) and read one answer. The server
    may answer before the request is all sent (413): sending stops when the answer begins."""
    started = time.monotonic()
    deadline = started + timeout
    pieces = [request] if isinstance(request, bytes) else list(request)
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setblocking(False)
    received = bytearray()
    closed = False
    try:
        for i, piece in enumerate(pieces):
            if i and pause:
                readable, _, _ = select.select([sock], [], [], pause)
                if readable:
                    break
            view = memoryview(piece)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                readable, writable, _ = select.select([sock], [sock], [], remaining)
                if readable:
                    view = memoryview(b"")
                    break
                if writable:
                    try:
                        n = sock.send(view[:65536])
                    except (BrokenPipeError, ConnectionResetError):
                        view = memoryview(b"")
                        break
                    view = view[n:]
            else:
                continue
            break
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                continue
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
            if _answer_complete(bytes(received)):
                break
    finally:
        sock.close()
    seconds = time.monotonic() - started
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status = _parse_status(head)
    if status is not None:
        return Answer(status, head, body, seconds)
    return Answer("closed" if closed else "hang", head, body, seconds)


def _answer_complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if m:
        return len(body) >= int(m.group(1))
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        return body.endswith(b"0\r\n\r\n")
    return False


def request_bytes(
    method: str,
    target: bytes | str,
    *,
    token: str | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
    body: bytes | None = None,
    content_type: bytes | None = b"application/json",
    close: bool = True,
) -> bytes:
    t = target.encode() if isinstance(target, str) else target
    lines = [method.encode() + b" " + t + b" HTTP/1.1", b"host: 127.0.0.1"]
    if token:
        lines.append(b"authorization: Bearer " + token.encode())
    if body is not None:
        if content_type:
            lines.append(b"content-type: " + content_type)
        lines.append(b"content-length: %d" % len(body))
    if close:
        lines.append(b"connection: close")
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


# --------------------------------------------------------------------------- state


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def table_counts(platform: Platform) -> dict[str, int]:
    """`app.table` → rows, for every app's database (the audit log and bookkeeping left out:
    the audit log records every call, refused ones too; the outbox drains to NATS)."""
    counts: dict[str, int] = {}
    for app in APPS:
        url = platform.database_urls.get(app)
        if url:
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
                names = [
                    str(r[0])
                    for r in pg.execute(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public'"
                    )
                ]
                for name in names:
                    if _counted(name):
                        row = pg.execute(f'SELECT count(*) FROM "{name}"').fetchone()
                        counts[f"{app}.{name}"] = int(row[0]) if row else -1
            continue
        path = platform.data_dir / f"{app}.db"
        if not path.exists():
            continue
        with _read_only(path) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            for name in names:
                if _counted(name):
                    (n,) = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
                    counts[f"{app}.{name}"] = int(n)
    return counts


def _counted(table: str) -> bool:
    return "audit" not in table and table not in ("alembic_version", "outbox")


def reporting_counters(platform: Platform) -> dict[str, float]:
    """Reporting's `lgsp_*_total` samples (its HTTP counters left out: reading them moves them)."""
    text = httpx.get(platform.url("reporting") + "/metrics", timeout=10).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("lgsp_") or line.startswith("lgsp_http_"):
            continue
        name, _, value = line.rpartition(" ")
        if name.split("{", 1)[0].endswith("_total"):
            out[name] = float(value)
    return out


def listed(client: httpx.Client, path: str) -> int:
    """How many items a list endpoint walks to (its cursor followed)."""
    total, cursor = 0, None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        resp = client.get(path, params=params)
        resp.raise_for_status()
        body = resp.json()
        total += len(body.get("items", []))
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return total


@dataclass
class Snapshot:
    tables: dict[str, int]
    counters: dict[str, float]
    lists: dict[str, int]

    def flat(self) -> dict[str, float]:
        out: dict[str, float] = {f"table {k}": v for k, v in self.tables.items()}
        out |= {f"metric {k}": v for k, v in self.counters.items()}
        out |= {f"list {k}": v for k, v in self.lists.items()}
        return out


LIST_PATHS = ("/dossier/v1/dossiers", "/dossier/v1/procedures", "/documents/v1/organs")


def snapshot(platform: Platform, client: httpx.Client) -> Snapshot:
    """The platform's state once it is quiet: taken again until two readings agree (the outbox
    relay and reporting's consumer may still be catching up)."""
    last: Snapshot | None = None
    for _ in range(40):
        snap = Snapshot(
            table_counts(platform),
            reporting_counters(platform),
            {p: listed(client, p) for p in LIST_PATHS},
        )
        if last is not None and snap == last:
            return snap
        last = snap
        time.sleep(0.5)
    assert last is not None
    return last


def compare(before: Snapshot, after: Snapshot, *, additions_allowed: bool) -> list[str]:
    """What changed: anything when nothing was accepted; a shrink or a disappearance otherwise."""
    a, b = before.flat(), after.flat()
    changes = []
    for key in sorted(set(a) | set(b)):
        old, new = a.get(key), b.get(key)
        if old == new:
            continue
        if additions_allowed and new is not None and (old is None or new > old):
            continue
        changes.append(f"{key}: {old} → {new}")
    return changes


# --------------------------------------------------------------------------- the attack


@dataclass
class Target:
    """The platform under attack, with what the attacks need of it."""

    platform: Platform
    token: str
    admin_token: str
    spec: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)
    # A reduced budget (CI): fewer payloads, bodies of a few operations, no 16 MiB heads.
    quick: bool = False

    @property
    def payloads(self) -> tuple[str, ...]:
        return QUICK_PAYLOADS if self.quick else PAYLOADS

    @property
    def port(self) -> int:
        return self.platform.ports["gateway"]

    @property
    def base(self) -> str:
        return self.platform.gateway

    def token_for(self, path: str) -> str:
        return self.admin_token if path.startswith("/admin") else self.token

    def client(self, path: str = "") -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.token_for(path)}"},
            timeout=ANSWER_TIMEOUT,
        )


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def example_body(spec: dict[str, Any], op: dict[str, Any]) -> Any:
    """The operation's published example body (JSON), or None."""
    content = op.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if media is None:
        return None
    if "example" in media:
        return media["example"]
    schema = resolve(spec, media.get("schema", {}))
    examples = schema.get("examples") or []
    return examples[0] if examples else {}


def string_fields(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of every string in a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from string_fields(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from string_fields(v, (*path, i))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    items = list(value)
    items[head] = replaced(items[head], rest, new)
    return items


def fill(path: str, params: dict[str, str], override: dict[str, str] | None = None) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if override and name in override:
            return override[name]
        return quote(params.get(name, "x"), safe="")

    return re.sub(r"\{([^}]+)\}", sub, path)


def _has_value(data: Any, wanted: str) -> bool:
    if isinstance(data, str):
        return data == wanted
    if isinstance(data, dict):
        return any(_has_value(v, wanted) for v in data.values())
    if isinstance(data, list):
        return any(_has_value(v, wanted) for v in data)
    return False


def _read_back(
    target: Target, method: str, path: str, resp: httpx.Response, sent: Any = None
) -> Any:
    """What the platform returns of an accepted write: the resource read again when it can be
    found (PUT: its own path; a dossier or a document: by its code or id; a batch of
    documents: each by its id, and the answer with the keys), else the answer."""
    body = resp.json() if resp.content else None
    with target.client(path) as client:
        if method == "PUT":
            return client.get(path).json()
        if isinstance(body, dict):
            if path == "/dossier/v1/dossiers" and "code" in body:
                return client.get(f"/dossier/v1/dossiers/{quote(body['code'], safe='')}").json()
            if path == "/documents/v1/documents" and "id" in body:
                return client.get(f"/documents/v1/documents/{body['id']}").json()
            if path == "/admin/consumers" and "client_id" in body:
                return client.get(f"/admin/consumers/{body['client_id']}").json()
            if path == "/documents/v1/documents:batch" and isinstance(body.get("results"), list):
                return [
                    client.get(f"/documents/v1/documents/{r['id']}").json()
                    for r in body["results"]
                    if isinstance(r, dict) and r.get("id")
                ] + [body]
        if path == "/dossier/v1/dossiers:sync" and isinstance(sent, dict):
            return [
                client.get(f"/dossier/v1/dossiers/{quote(r['code'], safe='')}").json()
                for r in sent.get("records", [])
                if isinstance(r, dict) and isinstance(r.get("code"), str)
            ]
    return body


def setup(target: Target) -> None:
    """Something for the path parameters to name: a dossier, a document, the demo consumer."""
    creds = json.loads((target.platform.data_dir / "demo-client.json").read_text())
    params = {
        "code": "1.001193",
        "document_id": str(uuid.uuid4()),
        "organ_code": "000.00.31.H03",
        "stt": "1",
        "client_id": creds["client_id"],  # replaced below by a consumer of the attack's own
        "context": "dossier",
    }
    with target.client("/admin") as admin:
        # A consumer of its own for the `/admin/consumers/{client_id}/...` paths: the attacks
        # that an administrator may make (disable, rotate its secret) must not hit the demo one.
        resp = admin.post(
            "/admin/consumers",
            json={"name": "hostile-input target", "organ_code": "000.00.00.H03", "apis": []},
        )
        resp.raise_for_status()
        params["client_id"] = resp.json()["client_id"]
    with target.client() as client:
        resp = client.post("/dossier/v1/dossiers", json=GOOD_DOSSIER)
        resp.raise_for_status()
        params["dossier"] = resp.json()["code"]
        doc = example_body(target.spec, target.spec["paths"]["/documents/v1/documents"]["post"])
        resp = client.post("/documents/v1/documents", json={**doc, "electronic": False})
        if resp.status_code == 201:
            params["document_id"] = resp.json()["id"]
    target.params = params


def path_params(target: Target, path: str) -> dict[str, str]:
    params = dict(target.params)
    if path.startswith("/dossier/v1/dossiers/"):
        params["code"] = target.params["dossier"]
    elif path.startswith("/documents/v1/organs/"):
        params["code"] = "000.01.31.H03"
    return params


@contextmanager
def state_checked(
    target: Target, family: Family, accepted: list[Callable[[], list[str]]] | None = None
) -> Iterator[Callable[[], None]]:
    """Snapshot before and after the family; `mark_accepted()` lets additions through, and the
    read-back checks in `accepted` run at the end."""

    def mark() -> None:
        family.accepted = True

    with target.client() as client:
        before = snapshot(target.platform, client)
        yield mark
        after = snapshot(target.platform, client)
    changes = compare(before, after, additions_allowed=family.accepted)
    for check in accepted or []:
        changes += check()
    family.state_changes += len(changes)
    for line in changes:
        family.note(f"state: {line}")


def send(target: Target, family: Family, what: str, data: bytes | Iterable[bytes]) -> Answer:
    answer = raw_exchange(target.port, data)
    first = data if isinstance(data, bytes) else b"".join(list(data)[:1])
    family.record(answer.status, what, first.split(b" ", 1)[0].decode("latin-1"))
    return answer


# ---- families


def attack_body_size(target: Target, family: Family) -> None:
    limit = GatewaySettings().max_body_bytes
    with state_checked(target, family):
        for path in (
            "/dossier/v1/dossiers",
            "/documents/v1/documents",
            "/dossier/v1/dossiers:sync",
        ):
            tok = target.token
            over = b'{"x": "' + b"a" * (limit + 1 - 9) + b'"}'
            answer = send(target, family, f"POST {path} {len(over)} bytes",
                          request_bytes("POST", path, token=tok, body=over))  # fmt: skip
            _expect(family, answer, {413}, f"POST {path} over the limit")
            # A length declared over the limit, body never sent: refused at once.
            head = request_bytes("POST", path, token=tok, body=b"")
            head = head.replace(b"content-length: 0", b"content-length: %d" % (limit * 4))
            answer = send(target, family, f"POST {path} declared {limit * 4}", head)
            _expect(family, answer, {413}, f"POST {path} declared over the limit")
            # Chunked, no length: counted as it comes.
            chunks = [
                request_bytes(
                    "POST",
                    path,
                    token=tok,
                    body=None,
                    headers=[
                        (b"content-type", b"application/json"),
                        (b"transfer-encoding", b"chunked"),
                    ],
                ),
            ] + [
                b"%x\r\n%s\r\n" % (1 << 20, b"a" * (1 << 20)) for _ in range(limit // (1 << 20) + 2)
            ]
            chunks.append(b"0\r\n\r\n")  # fmt: skip
            answer = send(target, family, f"POST {path} chunked over the limit", chunks)
            _expect(family, answer, {413}, f"POST {path} chunked over the limit")
            # Just under the limit: the service reads it and refuses it (4xx), no 5xx.
            text = "Nguyễn " * ((limit - 300) // len("Nguyễn ".encode()))
            under = json.dumps({**GOOD_DOSSIER, "applicant": {**GOOD_DOSSIER["applicant"],
                               "name": text}}, ensure_ascii=False).encode()  # fmt: skip
            answer = send(target, family, f"POST {path} {len(under)} bytes (under the limit)",
                          request_bytes("POST", path, token=tok, body=under))  # fmt: skip
            _expect_4xx(family, answer, f"POST {path} just under the limit")


def _expect(family: Family, answer: Answer, statuses: set[int], what: str) -> None:
    if answer.status not in statuses:
        family.note(f"unexpected {answer.status} (wanted {sorted(statuses)}): {what}")


def _expect_4xx(family: Family, answer: Answer, what: str) -> None:
    if isinstance(answer.status, int) and answer.status < 300:
        family.note(f"accepted ({answer.status}), where a refusal was possible: {what}")
    elif not (isinstance(answer.status, int) and 400 <= answer.status < 500):
        family.note(f"unexpected {answer.status} (wanted 4xx): {what}")


def json_shapes() -> list[tuple[str, bytes]]:
    deep = 100_000
    return [
        ("100k levels of [", b"[" * deep + b"]" * deep),
        ("100k levels of [ unclosed", b"[" * deep),
        ("100k levels of {", b'{"a":' * deep + b"1" + b"}" * deep),
        ("applicant nested 10k deep", json.dumps(GOOD_DOSSIER).encode().replace(
            b'"Nguy', b"[" * 10_000 + b"1" + b"]" * 10_000 + b', "x": "Nguy', 1)),
        ("1e400", b'{"procedure_code": "1.001193", "organ_code": "000.01.31.H03", "channel": 1e400}'),
        ("-1e400", b'{"channel": -1e400, "amount": -1e400, "value": -1e400}'),
        ("10**5000 digits", b'{"channel": ' + b"9" * 5000 + b', "status": 1, "value": '
         + b"9" * 5000 + b', "amount": ' + b"9" * 5000 + b"}"),
        ("10**5000 digits, bare", b"9" * 5000),
        ("2**64", b'{"channel": 18446744073709551616, "status": 18446744073709551616,'
         b' "amount": 18446744073709551616, "value": 18446744073709551616}'),
        ("0.1e-400", b'{"channel": 1e-400, "value": 1e-400, "amount": 1e-400}'),
        ("NaN and Infinity", b'{"channel": NaN, "value": Infinity, "amount": -Infinity}'),
        ("duplicate keys", b'{"procedure_code": "1.001193", "procedure_code": "x", '
         b'"organ_code": "000.01.31.H03", "channel": 2, "channel": "2", '
         b'"applicant": {"type": 1, "name": "A", "name": "B", "identifier": "024090001234"}}'),
        ("empty body", b""),
        ("null", b"null"),
        ("array", b"[]"),
        ("string", b'"x"'),
        ("truncated", b'{"procedure_code": "1.0'),
        ("trailing garbage", json.dumps(GOOD_DOSSIER).encode() + b"}}garbage"),
        ("two documents", json.dumps(GOOD_DOSSIER).encode() * 2),
        ("BOM", b"\xef\xbb\xbf" + json.dumps(GOOD_DOSSIER).encode()),
        ("UTF-16", json.dumps(GOOD_DOSSIER).encode("utf-16")),
        ("long string key", b'{"' + b"k" * 1_000_000 + b'": 1}'),
        ("100k keys", b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(100_000)) + b"}"),
        ("100k items", b'{"records": [' + b",".join(b"{}" for _ in range(100_000)) + b"]}"),
        ("lone surrogate", b'{"procedure_code": "\\ud800", "organ_code": "\\udfff", '
         b'"applicant": {"type": 1, "name": "\\ud800", "identifier": "1"}, "channel": 2}'),
        ("escaped NUL", json.dumps({**GOOD_DOSSIER, "applicant": {
            **GOOD_DOSSIER["applicant"], "name": "An\u0000"}}).encode()),
    ]  # fmt: skip


def body_operations(target: Target) -> list[tuple[str, str]]:
    out = []
    for method, path, op in operations(target.spec):
        if method in ("POST", "PUT") and "requestBody" in op and path != "/token":
            out.append((method, fill(path, path_params(target, path))))
    return out


def attack_json_shape(target: Target, family: Family) -> None:
    ops = body_operations(target)
    if target.quick:
        ops = [(m, p) for m, p in ops if p in QUICK_BODY_PATHS]
    with state_checked(target, family):
        for method, path in ops:
            for label, body in json_shapes():
                answer = send(target, family, f"{method} {path}: {label}",
                              request_bytes(method, path, token=target.token_for(path),
                                            body=body))  # fmt: skip
                _expect_4xx(family, answer, f"{method} {path}: {label}")


def attack_encoding(target: Target, family: Family) -> None:
    dossier = quote(target.params["dossier"], safe="")
    bad_json = json.dumps(GOOD_DOSSIER, ensure_ascii=False).encode().replace(
        "Nguyễn".encode(), b"Nguy\xff\xfe\xc3n")  # fmt: skip
    tok = target.token
    cases: list[tuple[str, bytes]] = [
        ("invalid UTF-8 in body", request_bytes("POST", "/dossier/v1/dossiers", token=tok, body=bad_json)),
        ("overlong UTF-8 in body", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=bad_json.replace(b"\xff\xfe", b"\xc0\xaf"))),
        ("NUL in body", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=bad_json.replace(b"\xff\xfe", b"\x00"))),
        ("latin-1 body declared", request_bytes("POST", "/dossier/v1/dossiers", token=tok, body=bad_json,
            content_type=b"application/json; charset=latin-1")),
        ("invalid UTF-8 in path", request_bytes("GET", b"/dossier/v1/dossiers/\xff\xfe", token=tok)),
        ("invalid UTF-8 in path, encoded", request_bytes("GET", "/dossier/v1/dossiers/%ff%fe%c3", token=tok)),
        ("invalid UTF-8 in the API name", request_bytes("GET", "/%ff%fe/v1/x", token=tok)),
        ("invalid UTF-8 in the API name, raw", request_bytes("GET", b"/\xff/v1/x", token=tok)),
        ("invalid UTF-8 in query", request_bytes("GET", b"/dossier/v1/dossiers?status=\xff\xfe", token=tok)),
        ("invalid UTF-8 in query, encoded", request_bytes("GET", "/dossier/v1/dossiers?organ_code=%ff%fe", token=tok)),
        ("invalid UTF-8 in a query name", request_bytes("GET", "/dossier/v1/dossiers?%ff%fe=1", token=tok)),
        ("invalid UTF-8 in cursor", request_bytes("GET", "/dossier/v1/dossiers?cursor=%ff%fe%00", token=tok)),
        ("NUL in path", request_bytes("GET", f"/dossier/v1/dossiers/{dossier}%00", token=tok)),
        ("NUL in path, raw", request_bytes("GET", b"/dossier/v1/dossiers/a\x00b", token=tok)),
        ("NUL in query", request_bytes("GET", "/dossier/v1/dossiers?organ_code=000%00", token=tok)),
        ("NUL in procedures query", request_bytes("GET", "/dossier/v1/procedures?field=a%00b", token=tok)),
        ("NUL in inbox query", request_bytes("GET", "/documents/v1/organs/000.01.31.H03/inbox?document_type=%00", token=tok)),
        ("NUL in a header", request_bytes("GET", "/dossier/v1/procedures", token=tok, headers=[(b"x-a", b"a\x00b")])),
        ("NUL in the token", request_bytes("GET", "/dossier/v1/procedures", token=tok + "\x00")),
        ("invalid UTF-8 in a header", request_bytes("GET", "/dossier/v1/procedures", token=tok,
            headers=[(b"x-a", b"\xff\xfe"), (b"idempotency-key", b"\xff\xfe")])),
        ("invalid UTF-8 in the token", request_bytes("GET", "/dossier/v1/procedures", headers=[
            (b"authorization", b"Bearer \xff\xfe")])),
        ("invalid UTF-8 in X-Request-ID", request_bytes("GET", "/dossier/v1/procedures", token=tok,
            headers=[(b"x-request-id", b"\xff\xfe")])),
        ("invalid UTF-8 in Idempotency-Key", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=json.dumps(GOOD_DOSSIER).encode(), headers=[(b"idempotency-key", b"k\xff\xfe")])),
        ("invalid UTF-8 in Accept", request_bytes("GET", "/reporting/v1/reports/phu-luc-ii?period=2023",
            token=tok, headers=[(b"accept", b"\xff\xfe")])),
        ("invalid UTF-8 in a form body", request_bytes("POST", "/token", body=b"grant_type=\xff\xfe",
            content_type=b"application/x-www-form-urlencoded")),
        ("invalid UTF-8 in basic auth", request_bytes("POST", "/token", body=b"grant_type=client_credentials",
            content_type=b"application/x-www-form-urlencoded", headers=[(b"authorization", b"Basic //79")])),
        ("invalid XML bytes", request_bytes("POST", "/documents/v1/documents:import", token=tok,
            body=b"<edXMLEnvelope>\xff\xfe</edXMLEnvelope>", content_type=b"application/xml")),
        ("XML entity bomb", request_bytes("POST", "/documents/v1/documents:import", token=tok, body=(
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9))
            + b"]><edXMLEnvelope>&j;</edXMLEnvelope>"), content_type=b"application/xml")),
        ("XML external entity", request_bytes("POST", "/documents/v1/documents:import", token=tok, body=(
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<edXMLEnvelope>&x;</edXMLEnvelope>"), content_type=b"application/xml")),
    ]  # fmt: skip
    with state_checked(target, family):
        for label, data in cases:
            answer = send(target, family, label, data)
            _expect_4xx(family, answer, label)


def attack_headers(target: Target, family: Family) -> None:
    tok = target.token
    path = "/dossier/v1/procedures"
    many = lambda n, size=8: [(b"x-h%d" % i, b"v" * size) for i in range(n)]  # noqa: E731
    cases: list[tuple[str, bytes]] = [
        ("header value 64 KiB", request_bytes("GET", path, token=tok, headers=[(b"x-a", b"a" * 65536)])),
        ("header value 1 MiB", request_bytes("GET", path, token=tok, headers=[(b"x-a", b"a" * (1 << 20))])),
        ("header value 16 MiB", request_bytes("GET", path, token=tok, headers=[(b"x-a", b"a" * (16 << 20))])),
        ("token 1 MiB", request_bytes("GET", path, token="a" * (1 << 20))),
        ("token 64 KiB of dots", request_bytes("GET", path, token="." * 65536)),
        ("X-Request-ID 1 MiB", request_bytes("GET", path, token=tok, headers=[(b"x-request-id", b"a" * (1 << 20))])),
        ("Idempotency-Key 64 KiB", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=json.dumps(GOOD_DOSSIER).encode(), headers=[(b"idempotency-key", b"k" * 65536)])),
        ("100 headers", request_bytes("GET", path, token=tok, headers=many(100))),
        ("1,000 headers", request_bytes("GET", path, token=tok, headers=many(1000))),
        ("10,000 headers", request_bytes("GET", path, token=tok, headers=many(10_000))),
        ("100,000 headers", request_bytes("GET", path, token=tok, headers=many(100_000))),
        ("1,000 headers of 1 KiB", request_bytes("GET", path, token=tok, headers=many(1000, 1024))),
        ("1,000 Authorization headers", request_bytes("GET", path, headers=[
            (b"authorization", b"Bearer " + tok.encode())] * 1000)),
        ("1,000 Content-Length headers", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=b"{}", headers=[(b"content-length", b"2")] * 1000)),
        ("conflicting Content-Length", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=b"{}", headers=[(b"content-length", b"200")])),
        ("Content-Length and chunked", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=b"0\r\n\r\n", headers=[(b"transfer-encoding", b"chunked")])),
        ("negative Content-Length", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=b"", headers=[]).replace(b"content-length: 0", b"content-length: -1")),
        ("huge Content-Length", request_bytes("POST", "/dossier/v1/dossiers", token=tok,
            body=b"").replace(b"content-length: 0", b"content-length: 99999999999999999999999")),
        ("1,000 Connection tokens", request_bytes("GET", path, token=tok, close=False, headers=[
            (b"connection", b", ".join(b"x-h%d" % i for i in range(1000)) + b", close"), *many(1000)])),
        ("100 cookies of 4 KiB", request_bytes("GET", path, token=tok, headers=[
            (b"cookie", b"; ".join(b"c%d=%s" % (i, b"v" * 4096) for i in range(100)))])),
        ("10,000 query parameters", request_bytes("GET", path + "?" + "&".join(f"field={i}" for i in range(10_000)), token=tok)),
        ("100,000 query parameters", request_bytes("GET", path + "?" + "&".join(f"q{i}=1" for i in range(100_000)), token=tok)),
        ("10,000 list filters", request_bytes("GET", "/dossier/v1/dossiers?" + "&".join("status=1" for _ in range(10_000)), token=tok)),
        ("URL of 64 KiB", request_bytes("GET", path + "/" + "a" * 65536, token=tok)),
        ("URL of 1 MiB", request_bytes("GET", path + "?field=" + "a" * (1 << 20), token=tok)),
        ("path of 10,000 segments", request_bytes("GET", "/dossier/v1/" + "a/" * 10_000, token=tok)),
        ("limit=10**100", request_bytes("GET", path + "?limit=1" + "0" * 100, token=tok)),
        ("limit=-1", request_bytes("GET", path + "?limit=-1", token=tok)),
        ("cursor of 64 KiB", request_bytes("GET", path + "?cursor=" + "A" * 65536, token=tok)),
        ("Host of 64 KiB", request_bytes("GET", path, token=tok, headers=[(b"host", b"h" * 65536)])),
        ("HTTP/1.0 without Host", b"GET " + path.encode() + b" HTTP/1.0\r\nauthorization: Bearer "
            + tok.encode() + b"\r\n\r\n"),
        ("HTTP/9.9", b"GET " + path.encode() + b" HTTP/9.9\r\nhost: x\r\n\r\n"),
        ("no request line", b"\r\n\r\n\r\n"),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200),
    ]  # fmt: skip
    if target.quick:
        cases = [(label, data) for label, data in cases if len(data) < (2 << 20)]
    with state_checked(target, family):
        for label, data in cases:
            answer = send(target, family, label, data)
            if answer.status != "closed" and not str(answer.status).startswith("2"):
                _expect_4xx(family, answer, label)


def attack_method_type(target: Target, family: Family) -> None:
    cases: list[tuple[str, bytes]] = []
    methods = (
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "HEAD",
        "OPTIONS",
        "TRACE",
        "CONNECT",
        "PROPFIND",
        "FOO",
    )
    for method, path, _op in operations(target.spec):
        concrete = fill(path, path_params(target, path))
        allowed = {m.upper() for m in target.spec["paths"][path] if m != "parameters"}
        tok = target.token_for(path)
        for other in methods:
            if other in allowed or (other == "HEAD" and "GET" in allowed):
                continue
            cases.append(
                (f"{other} {concrete}", request_bytes(other, concrete, token=tok, body=b"{}"))
            )
        if method in ("POST", "PUT") and path != "/token":
            body = json.dumps(example_body(target.spec, _op) or {}).encode()
            for ctype in (b"text/plain", b"application/xml", b"application/x-www-form-urlencoded",
                          b"multipart/form-data; boundary=x", b"application/json; charset=utf-16",
                          b"\xff\xfe", b"application/json" + b";a" * 1000, None):  # fmt: skip
                cases.append((f"{method} {concrete} as {ctype!r}",
                              request_bytes(method, concrete, token=tok, body=body, content_type=ctype)))  # fmt: skip
    with state_checked(target, family) as mark:
        for label, data in cases:
            answer = send(target, family, label, data)
            if isinstance(answer.status, int) and answer.status < 300:
                # No content type, or another one, where JSON is parsed anyway: accepted data.
                mark()
            elif answer.status != "closed":
                _expect_4xx(family, answer, label)


def attack_injection(target: Target, family: Family) -> None:
    accepted: list[tuple[str, str, str, httpx.Response]] = []
    pending: list[Callable[[], list[str]]] = []

    def verbatim() -> list[str]:
        problems = []
        for method, path, payload, resp in accepted:
            try:
                sent = json.loads(resp.request.content) if resp.request.content else None
                back = _read_back(target, method, path, resp, sent)
            except (httpx.HTTPError, ValueError) as exc:
                problems.append(f"{method} {path} with {payload!r}: cannot read back: {exc}")
                continue
            if not _has_value(back, payload) and not _has_value(resp.json(), payload):
                problems.append(f"{method} {path}: {payload!r} accepted, not returned verbatim")
        return problems

    pending.append(verbatim)
    serial = 100_000
    with (
        state_checked(target, family, pending) as mark,
        httpx.Client(base_url=target.base, timeout=ANSWER_TIMEOUT) as client,
    ):
        # Every text field of every POST/PUT body.
        for method, path, op in operations(target.spec):
            if method not in ("POST", "PUT") or path == "/token":
                continue
            base = example_body(target.spec, op)
            if base is None:
                continue
            concrete = fill(path, path_params(target, path))
            auth = {"Authorization": f"Bearer {target.token_for(path)}"}
            if target.quick and path not in QUICK_BODY_PATHS:
                continue
            for where in string_fields(base):
                for payload in target.payloads:
                    body = replaced(base, where, payload)
                    if path.endswith(":sync") and where[-1] != "code":
                        # A code already synced is left as it was (its answer says so).
                        serial += 1
                        code = f"000.01.31.H03-231120-{serial:06d}"
                        body = replaced(body, ("records", 0, "code"), code)
                    try:
                        resp = client.request(method, concrete, json=body, headers=auth)
                    except httpx.TimeoutException:
                        family.record("hang", f"{method} {concrete} {where}={payload!r}")
                        continue
                    family.record(
                        resp.status_code, f"{method} {concrete} {where}={payload!r}", method
                    )
                    if _stored(path, resp):
                        mark()
                        accepted.append((method, concrete, payload, resp))
        # Every path parameter and every query parameter.
        for method, path, op in operations(target.spec):
            auth = {"Authorization": f"Bearer {target.token_for(path)}"}
            params = path_params(target, path)
            body = example_body(target.spec, op) if method in ("POST", "PUT") else None
            for p in op.get("parameters", []):
                for payload in target.payloads:
                    if p["in"] == "path":
                        for enc in (quote(payload, safe=""), quote(payload, safe="/%")):
                            url = fill(path, params, {p["name"]: enc})
                            _call(client, family, method, url, auth, body, mark, accepted, payload)
                    elif p["in"] == "query":
                        url = (
                            fill(path, params)
                            + "?"
                            + quote(p["name"])
                            + "="
                            + quote(payload, safe="")
                        )
                        _call(client, family, method, url, auth, body, mark, accepted, payload)
                    elif p["in"] == "header" and p["name"].lower() != "authorization":
                        url = fill(path, params)
                        _call(client, family, method, url, {**auth, p["name"]: payload}, body,
                                  mark, [], payload)  # fmt: skip
        # Traversal in the raw path itself, where it reaches the router.
        for raw in ("/dossier/v1/../../etc/passwd", "/dossier/v1/%2e%2e/%2e%2e/metrics",
                        "/dossier/v1/..%2f..%2fmetrics", "/dossier/v1/..%252f..%252fadmin",
                        "/dossier/v1/dossiers/..%2f..%2f..%2fadmin%2fconsumers",
                        "/dossier/../admin/consumers", "/dossier/v1//..//..//readyz",
                        "/%2e%2e/admin/consumers", "/dossier%2fv1%2fdossiers",
                        "/dossier/v1/dossiers/%2e%2e", "/dossier/v1/dossiers/."):  # fmt: skip
            answer = send(target, family, f"GET {raw}",
                              request_bytes("GET", raw, token=target.token))  # fmt: skip
            if answer.status == 200 and ".." in raw.replace("%2e", ".").replace("%2E", "."):
                family.note(f"GET {raw}: 200 (a path with .. reached something)")


def _stored(path: str, resp: httpx.Response) -> bool:
    """An accepted write (a sync or a batch answers 200 with each item refused or created)."""
    if resp.status_code >= 300:
        return False
    if path.endswith((":sync", ":batch")):
        return bool(resp.json().get("created"))
    return True


def _call(
    client: httpx.Client,
    family: Family,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    mark: Callable[[], None],
    accepted: list[tuple[str, str, str, httpx.Response]],
    payload: str,
) -> None:
    try:
        resp = client.request(method, url, headers=headers, json=body)
    except httpx.TimeoutException:
        family.record("hang", f"{method} {url}")
        return
    except httpx.HTTPError as exc:
        family.record("closed", f"{method} {url}: {exc!r}")
        return
    family.record(resp.status_code, f"{method} {url}", method)
    if method != "GET" and resp.status_code < 300:
        mark()
        accepted.append((method, url.split("?", 1)[0], payload, resp))


# ---- slow-loris


@dataclass
class Slow:
    label: str
    head: bytes
    trickle: bytes
    pause: float


def slow_clients(target: Target) -> list[Slow]:
    tok = target.token
    path = "/dossier/v1/dossiers"
    body = json.dumps(GOOD_DOSSIER).encode()
    complete_head = request_bytes("POST", path, token=tok, body=b"").replace(
        b"content-length: 0", b"content-length: %d" % len(body)
    )
    return [
        Slow("head trickled a byte every 0.5 s", b"GET /dossier/v1/procedures HTTP/1.1\r\n",
             b"host: 127.0.0.1\r\n" + b"x-slow: " + b"a" * 200, 0.5),
        Slow("connected, nothing sent", b"", b"", 0.5),
        Slow("body declared, never sent", complete_head, b"", 0.5),
        Slow("body declared, a byte a second", complete_head, body, 1.0),
        Slow("body declared, half sent, then nothing", complete_head + body[: len(body) // 2], b"", 0.5),
        Slow("chunked body, never finished", complete_head.replace(
            b"content-length: %d" % len(body), b"transfer-encoding: chunked") + b"5\r\nab", b"", 0.5),
    ]  # fmt: skip


def _hold(port: int, slow: Slow, limit: float, result: dict[str, Any]) -> None:
    """Keep one slow client going until the server cuts it (or `limit` seconds pass)."""
    started = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError as exc:
        result.update(status="refused", seconds=0.0, error=repr(exc))
        return
    sock.setblocking(False)
    received = bytearray()
    try:
        if slow.head:
            _send_all(sock, slow.head)
        pos = 0
        while time.monotonic() - started < limit:
            readable, _, _ = select.select([sock], [], [], slow.pause)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    break
                received += chunk
                continue
            if pos < len(slow.trickle):
                try:
                    sock.send(slow.trickle[pos : pos + 1])
                except OSError:
                    break
                pos += 1
        else:
            result.update(status="hang", seconds=time.monotonic() - started)
            return
    finally:
        sock.close()
    status = _parse_status(bytes(received))
    result.update(
        status=status if status is not None else "closed", seconds=time.monotonic() - started
    )


def _send_all(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        select.select([], [sock], [], 5)
        view = view[sock.send(view) :]


def attack_slow_loris(
    target: Target, family: Family, *, per_kind: int, limit: float
) -> list[float]:
    """`per_kind` clients of each slow kind at once; a normal call every 0.25 s meanwhile must
    answer within `RESPONSIVE_SECONDS`. Returns the normal calls' latencies."""
    latencies: list[float] = []
    results: list[tuple[Slow, dict[str, Any]]] = []
    threads = []
    with state_checked(target, family):
        for slow in slow_clients(target):
            for _ in range(per_kind):
                result: dict[str, Any] = {}
                results.append((slow, result))
                t = threading.Thread(
                    target=_hold, args=(target.port, slow, limit, result), daemon=True
                )
                threads.append(t)
                t.start()
        with target.client() as client:
            while any(t.is_alive() for t in threads):
                began = time.monotonic()
                try:
                    resp = client.get("/dossier/v1/procedures", params={"limit": 1}, timeout=5)
                    ok = resp.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.monotonic() - began)
                if not ok or latencies[-1] > RESPONSIVE_SECONDS:
                    family.record(
                        "hang", f"a normal call took {latencies[-1]:.2f} s during slow-loris"
                    )
                time.sleep(0.25)
        for t in threads:
            t.join()
    for slow, result in results:
        status = result.get("status", "hang")
        family.record(status, f"{slow.label} ({result.get('seconds', 0):.1f} s)")
        if status not in ("hang", "closed") and status != 408:
            family.note(f"{slow.label}: answered {status} (wanted 408 or a close)")
    seconds = [r.get("seconds", 0.0) for _, r in results]
    if seconds:
        family.note(f"slow clients cut after {min(seconds):.1f}–{max(seconds):.1f} s")
    return latencies


# ---- Schemathesis


def gateway_statuses(target: Target) -> Counter[str]:
    text = httpx.get(target.base + "/metrics", timeout=10).text
    out: Counter[str] = Counter()
    for line in text.splitlines():
        m = re.match(r"lgsp_(gateway|http)_requests_total\{(.*)\} (\S+)$", line)
        if m is None or (m.group(1) == "http" and 'app="gateway"' not in m.group(2)):
            continue
        status = re.search(r'status="(\d+)"', m.group(2))
        if status:
            out[status.group(1)] += int(float(m.group(3)))
    return out


def attack_schemathesis(target: Target, family: Family, *, examples: int, seed: int | None) -> None:
    from lgsp_kit.contract._api import run_api_checks
    from lgsp_kit.contract._auth import TokenSource

    family.checks_state = False
    creds = json.loads((target.platform.data_dir / "demo-client.json").read_text())
    tokens = TokenSource(target.base, creds["client_id"], creds["client_secret"])
    before = gateway_statuses(target)
    result = run_api_checks(target.base, tokens, max_examples=examples, seed=seed)
    after = gateway_statuses(target)
    delta = after - before
    # The metrics count every call the gateway answered, the suite's own token calls too.
    family.sent = sum(delta.values())
    family.statuses = delta
    family.server_errors = sum(v for k, v in delta.items() if k.startswith("5"))
    if result.fatal:
        family.note(f"fatal: {result.fatal}")
    for case in result.failures:
        for finding in case.findings:
            family.note(f"{case.name}: {finding.check}: {finding.title}")
            family.note(f"  {finding.message[:600]}\n  {finding.reproduce[:1500]}")
            if finding.check == "not_a_server_error" and not family.server_errors:
                family.server_errors += 1
    family.note(f"suite: {len(result.cases)} cases, {len(result.failures)} failed")


# --------------------------------------------------------------------------- the run


def alive_and_ready(platform: Platform) -> list[str]:
    problems = []
    for app, proc in platform.procs.items():
        if proc.poll() is not None:
            problems.append(f"{app} exited with {proc.returncode}")
            continue
        try:
            status = httpx.get(platform.url(app) + "/readyz", timeout=5).status_code
        except httpx.HTTPError as exc:
            problems.append(f"{app} /readyz: {exc!r}")
            continue
        if status != 200:
            problems.append(f"{app} /readyz answered {status}")
    if platform.nats is None or platform.nats.poll() is not None:
        problems.append("NATS is not running")
    return problems


def connect(platform: Platform, *, quick: bool = False) -> Target:
    admin = json.loads((platform.data_dir / "admin-client.json").read_text())
    resp = httpx.post(
        platform.gateway + "/token",
        data={"grant_type": "client_credentials"},
        auth=(admin["client_id"], admin["client_secret"]),
    )
    resp.raise_for_status()
    spec = httpx.get(platform.gateway + "/openapi.json", timeout=30).json()
    target = Target(platform, platform.demo_token(), resp.json()["access_token"], spec, quick=quick)
    setup(target)
    return target


FAMILIES = (
    "body-size",
    "json-shape",
    "encoding",
    "headers",
    "method-type",
    "injection",
    "slow-loris",
)


def run_attacks(
    target: Target,
    *,
    families: Iterable[str] = FAMILIES,
    slow_per_kind: int = 5,
    slow_limit: float = 40.0,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Family]:
    """Every family but Schemathesis, in turn; each one's outcome."""
    out = []
    for name in families:
        progress(f"attack: {name}")
        family = Family(name)
        started = time.monotonic()
        if name == "body-size":
            attack_body_size(target, family)
        elif name == "json-shape":
            attack_json_shape(target, family)
        elif name == "encoding":
            attack_encoding(target, family)
        elif name == "headers":
            attack_headers(target, family)
        elif name == "method-type":
            attack_method_type(target, family)
        elif name == "injection":
            attack_injection(target, family)
        elif name == "slow-loris":
            latencies = attack_slow_loris(target, family, per_kind=slow_per_kind, limit=slow_limit)
            if latencies:
                family.note(
                    f"normal calls meanwhile: {len(latencies)}, slowest {max(latencies):.3f} s"
                )
        else:
            raise ValueError(f"no attack family {name!r}")
        progress(f"  {family.sent} requests in {time.monotonic() - started:.1f} s")
        out.append(family)
    return out


def _new_database(server: str, made: list[str]) -> str:
    import psycopg

    name = f"lgsp_hostile_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    made.append(name)
    return f"{server.rpartition('/')[0]}/{name}"


def _drop_databases(server: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--examples", type=int, default=500, help="Schemathesis examples per operation and phase"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--slow-clients", type=int, default=10, help="slow-loris clients of each kind"
    )
    parser.add_argument("--only", action="append", choices=(*FAMILIES, "schemathesis"))
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument(
        "--postgres", help="run the apps on fresh databases of this PostgreSQL server (URL)"
    )
    parser.add_argument("--verbose", action="store_true", help="print every request's outcome")
    results.add_arguments(parser)
    args = parser.parse_args(argv)
    started = results.start()
    global VERBOSE
    VERBOSE = args.verbose

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    tmp = tempfile.mkdtemp(prefix="lgsp-hostile-")
    made: list[str] = []
    urls: dict[str, str] = {}
    if args.postgres:
        urls = {app: _new_database(args.postgres, made) for app in APPS}
    platform = Platform(Path(tmp) / "platform", database_urls=urls)
    say(f"starting the platform in {platform.data_dir}")
    families: list[Family] = []
    problems: list[str] = []
    try:
        platform.start_all()
        target = connect(platform)
        chosen = args.only or [*FAMILIES, "schemathesis"]
        families = run_attacks(
            target,
            families=[f for f in chosen if f != "schemathesis"],
            slow_per_kind=args.slow_clients,
            progress=say,
        )
        if "schemathesis" in chosen:
            say(f"attack: schemathesis, {args.examples} examples per operation and phase")
            family = Family("schemathesis")
            attack_schemathesis(target, family, examples=args.examples, seed=args.seed)
            families.append(family)
        problems = alive_and_ready(platform)
    finally:
        platform.stop_all()
        if made:
            _drop_databases(args.postgres, made)
    print(table(families))
    for f in families:
        for line in f.notes:
            print(f"  {f.name}: {line}")
    for line in problems:
        print(f"  platform: {line}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    failed = any(f.failed for f in families) or bool(problems)
    print("FAILED" if failed else "PASSED: 0 server errors, 0 hangs, 0 state changes")
    backend = "postgresql" if args.postgres else "sqlite"
    results.write_from_args(
        args,
        "hostile",
        started=started,
        variant=backend,
        figures={
            "families": [
                {
                    "name": f.name,
                    "requests": f.sent,
                    "statuses": dict(sorted(f.statuses.items())),
                    "server_errors": f.server_errors,
                    "hangs": f.hangs,
                    "state_changes": f.state_changes if f.checks_state else None,
                    "notes": f.notes,
                }
                for f in families
            ],
            "problems": problems,
        },
        rows=[result_row(families, problems, "PostgreSQL" if args.postgres else "SQLite")],
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
