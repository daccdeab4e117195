"""The catalogue of published APIs: each service's OpenAPI, fetched lazily and kept briefly,
rewritten as seen through the gateway (`/v1/x` → `/{context}/v1/x`, unique operation ids,
the gateway's security schemes), and merged with the gateway's own operations.

A national context (`ngsp`, `dvcqg`) publishes the operations of the national side's document
tagged with the context's name, under `/{context}` + their path after the context's prefix
there (`/apiCSDLDanCu/X` → `/ngsp/apiCSDLDanCu/X`, `/dvcqg/X` → `/dvcqg/X`), with only the
schemas they use.

A service that is down is left out (and named), never breaking the catalogue of the others.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
READ = frozenset({"get", "head", "options"})
VERSIONS = ("v1",)
FAILURE_CACHE_SECONDS = 2.0
SCHEMA_REF = "#/components/schemas/"
# The extension on a national operation: the HTTP status of its answer to invalid input.
INVALID_INPUT = "x-lgsp-invalid-input-status"
GATEWAY_REFUSALS = {
    "401": "no gateway token, or one unknown or expired",
    "403": "not subscribed to the API, or the token lacks its scope",
    "429": "over the consumer's tier (Retry-After)",
}
# The national contexts' titles in the catalogue (the national side's document has one title
# for all its parts).
NATIONAL_TITLES = {
    "dvcqg": "Cổng Dịch vụ công quốc gia (DVCQG): dossier sync",
    "ngsp": "NGSP: national shared-data services",
}

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


def security_schemes() -> dict[str, Any]:
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "OAuth2 client credentials at the gateway's `POST /token`",
            "flows": {"clientCredentials": {"tokenUrl": "/token", "scopes": {}}},
        },
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }


@dataclass
class Entry:
    fetched_at: float
    spec: dict[str, Any] | None = None
    error: str | None = None
    routes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.spec is not None


def _rename_refs(node: Any, api: str) -> Any:
    if isinstance(node, dict):
        return {k: _rename_refs(v, api) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, api) for v in node]
    if isinstance(node, str) and node.startswith(SCHEMA_REF):
        return f"{SCHEMA_REF}{api}.{node.removeprefix(SCHEMA_REF)}"
    return node


def published_title(api: str, name: str) -> str:
    """A schema's title in the merged document, unique across the platform: client generators
    name their models by title, and two services' `Problem`, or FastAPI's `Applicant-Input` and
    `Applicant-Output`, would otherwise be one model. The API's name in PascalCase goes first
    unless the schema's own name already starts with it (`DossierOut`, `DocumentOut`)."""
    words = re.split(r"[^0-9A-Za-z]+", name)
    base = "".join(w[:1].upper() + w[1:] for w in words if w)
    prefix = api[:1].upper() + api[1:]
    singular = prefix.removesuffix("s").removesuffix("ing")
    return base if base.startswith(singular) else prefix + base


def rewrite(api: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The service's document as published by the gateway (only its `/v1/...` operations)."""
    chosen = {
        f"/{api}{path}": item
        for path, item in spec.get("paths", {}).items()
        if path.startswith("/v1/") or path == "/v1"
    }
    return _published(api, spec, chosen, spec.get("components", {}).get("schemas", {}))


def rewrite_national(api: str, prefix: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The national side's operations tagged `api`, as the gateway publishes them at
    `/{api}` + their path after `prefix`, with the gateway's refusals."""
    prefix = prefix.rstrip("/")
    chosen: dict[str, Any] = {}
    for path, item in spec.get("paths", {}).items():
        if prefix and not path.startswith(prefix + "/"):
            continue
        ops = {
            method: _gateway_answers(op)
            for method, op in item.items()
            if method in HTTP_METHODS and api in op.get("tags", [])
        }
        if ops:
            chosen[f"/{api}{path.removeprefix(prefix)}"] = ops
    schemas = spec.get("components", {}).get("schemas", {})
    used = _used_schemas(chosen, schemas)
    title = NATIONAL_TITLES.get(api, f"{api} (national)")
    published = _published(api, spec, chosen, {n: schemas[n] for n in sorted(used)}, True)
    published["info"] = {**published["info"], "title": title, "x-lgsp-national": True}
    return published


def _gateway_answers(op: dict[str, Any]) -> dict[str, Any]:
    """The refusals a caller gets from the gateway (token, subscription or scope, throttle) as
    its problem+json. Invalid input is answered HTTP 200 in the service's own shape
    (`error_code` "-1"), so no 422 but for a body that is not readable at all."""
    problem = {"application/problem+json": {"schema": {"$ref": f"{SCHEMA_REF}Problem"}}}
    responses = {k: v for k, v in op.get("responses", {}).items() if k != "422"}
    if "requestBody" in op:
        responses["422"] = {"description": "a body that cannot be read", "content": problem}
    for code, text in GATEWAY_REFUSALS.items():
        responses[code] = {"description": text, "content": problem}
    # Says so to testers and tools (the contract suite expects no 4xx for invalid input here).
    return {**op, "responses": responses, INVALID_INPUT: "200"}


def _snake(name: str) -> str:
    """`ChiaSeThongTinCongDan` → `chia_se_thong_tin_cong_dan` (the national services' names);
    a province service's id is snake case already."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return name.lower()


def _used_schemas(node: Any, schemas: dict[str, Any]) -> set[str]:
    """The schemas `node` refers to, and those they refer to, by name."""
    used: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str) and item.startswith(SCHEMA_REF):
            name = item.removeprefix(SCHEMA_REF)
            if name not in used and name in schemas:
                used.add(name)
                todo.append(schemas[name])
    return used


def _published(
    api: str,
    spec: dict[str, Any],
    chosen: dict[str, Any],
    schemas: dict[str, Any],
    national: bool = False,
) -> dict[str, Any]:
    """`chosen` (published path → path item) with the gateway's operation ids, tags and
    security, and `schemas`, every reference renamed into the API's namespace."""
    chosen = _rename_refs(chosen, api)
    schemas = _rename_refs(schemas, api)
    paths: dict[str, Any] = {}
    scopes: dict[str, str] = {}
    for path, item in chosen.items():
        new_item: dict[str, Any] = {}
        for method, op in item.items():
            if method not in HTTP_METHODS:
                new_item[method] = op
                continue
            scope = f"{api}:{'read' if method in READ else 'write'}"
            scopes[scope] = f"{'read' if method in READ else 'write'} the {api} API"
            op = dict(op)
            op["operationId"] = f"{api}_{_snake(op.get('operationId') or method + path)}"
            # A national operation's tag is the context's name already (its selection).
            tags = [t for t in op.get("tags", []) if not (national and t == api)]
            op["tags"] = [f"{api}: {t}" for t in tags] or [api]
            op["security"] = [{"oauth2": [scope]}, {"bearerAuth": []}]
            new_item[method] = op
        paths[path] = new_item
    titled = {
        name: {**schema, "title": published_title(api, name)} for name, schema in schemas.items()
    }
    schemes = security_schemes()
    schemes["oauth2"]["flows"]["clientCredentials"]["scopes"] = scopes
    return {
        "openapi": spec.get("openapi", "3.1.0"),
        "info": {**spec.get("info", {}), "x-lgsp-context": api},
        "paths": paths,
        "components": {
            "schemas": {f"{api}.{name}": s for name, s in titled.items()},
            "securitySchemes": schemes,
        },
    }


def _compile(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in spec.get("paths", {}):
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}$"), template))
    # Literal paths win over templated ones (`/v1/dossiers:sync` over `/v1/dossiers/{code}`).
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
    return routes


class Catalogue:
    """`upstreams`: context → a province service's base URL; `national`: context → (the
    national side's base URL, the context's path prefix there)."""

    def __init__(
        self,
        upstreams: dict[str, str],
        fetch: Fetch,
        ttl: float,
        national: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.upstreams = upstreams
        self.national = {k: v for k, v in (national or {}).items() if k not in upstreams}
        self.contexts = [*upstreams, *self.national]
        self.fetch = fetch
        self.ttl = ttl
        self._entries: dict[str, Entry] = {}
        self._locks = {api: asyncio.Lock() for api in self.contexts}
        self._background: set[asyncio.Task[Entry]] = set()

    def _fresh(self, entry: Entry | None) -> bool:
        # Our own expiry rather than cachetools: `route()` keeps serving an expired entry's routes
        # while it refreshes (a TTL cache would drop them), and the proxy asks on every call, where
        # a `TLRUCache` membership test cost 254 ns against 85 ns for this check (timeit; a whole
        # `route()` is about 1 µs).
        if entry is None:
            return False
        keep = self.ttl if entry.available else FAILURE_CACHE_SECONDS
        return time.monotonic() - entry.fetched_at < keep

    async def entry(self, api: str) -> Entry:
        """The service's published document, fetched when the cached one is too old."""
        cached = self._entries.get(api)
        if self._fresh(cached):
            assert cached is not None
            return cached
        async with self._locks[api]:
            cached = self._entries.get(api)
            if self._fresh(cached):
                assert cached is not None
                return cached
            try:
                spec = await self._published(api)
                entry = Entry(time.monotonic(), spec=spec, routes=_compile(spec))
            except Exception as exc:
                entry = Entry(time.monotonic(), error=f"{type(exc).__name__}: {exc}"[:200])
                if cached is not None and cached.available:
                    # Keep the last good routes for audit records; the catalogue says down.
                    entry.routes = cached.routes
            self._entries[api] = entry
            return entry

    async def _published(self, api: str) -> dict[str, Any]:
        if api in self.national:
            base, prefix = self.national[api]
            return rewrite_national(api, prefix, await self.fetch(base))
        return rewrite(api, await self.fetch(self.upstreams[api]))

    def route(self, api: str, path: str) -> str | None:
        """The route template a path matches, when the service's document is known; asks for
        it in the background otherwise (never waits on the hot path)."""
        entry = self._entries.get(api)
        if not self._fresh(entry) and not self._locks[api].locked():
            task = asyncio.get_running_loop().create_task(self.entry(api))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if entry is None:
            return None
        for pattern, template in entry.routes:
            if pattern.match(path):
                return template
        return None

    async def entries(self) -> dict[str, Entry]:
        apis = self.contexts
        found = await asyncio.gather(*(self.entry(a) for a in apis))
        return dict(zip(apis, found, strict=True))

    async def merged(self, own: dict[str, Any]) -> dict[str, Any]:
        """The gateway's own document plus every available published API."""
        doc = copy.deepcopy(own)
        components = doc.setdefault("components", {})
        schemes = components.setdefault("securitySchemes", {})
        schemes.update(security_schemes())
        scopes = schemes["oauth2"]["flows"]["clientCredentials"]["scopes"]
        schemas = components.setdefault("schemas", {})
        paths = doc.setdefault("paths", {})
        tags = doc.setdefault("tags", [])
        missing = []
        for api, entry in (await self.entries()).items():
            if entry.spec is None:
                missing.append(api)
                continue
            paths.update(entry.spec["paths"])
            schemas.update(entry.spec["components"]["schemas"])
            scopes.update(
                entry.spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"][
                    "scopes"
                ]
            )
            title = entry.spec["info"].get("title", api)
            base = f"/{api}/..." if api in self.national else f"/{api}/v1/..."
            tags.append({"name": api, "description": f"{title} — `{base}`"})
        if missing:
            doc["info"]["description"] = (
                doc["info"].get("description", "")
                + f"\n\nUnavailable now, left out: {', '.join(missing)}."
            )
        doc["x-lgsp-unavailable"] = missing
        return doc
