"""Run the whole suite against one deployment."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from lgsp_kit.contract._api import run_api_checks
from lgsp_kit.contract._auth import TokenSource
from lgsp_kit.contract._events import (
    SCHEMA_DIR,
    WAIT_SECONDS,
    Driver,
    EventTap,
    check_seen,
    drive,
    load_schemas,
)
from lgsp_kit.contract._results import SuiteResult

DEFAULT_MAX_EXAMPLES = 25


@dataclass
class SuiteOptions:
    base_url: str
    client_id: str
    client_secret: str
    nats_url: str | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    event_wait_seconds: float = WAIT_SECONDS
    schema_dir: Path = SCHEMA_DIR


def run_suite(
    options: SuiteOptions, progress: Callable[[str], None] = lambda _: None
) -> SuiteResult:
    """The API checks, and with a NATS URL the event checks around them."""
    started = time.monotonic()
    tokens = TokenSource(options.base_url, options.client_id, options.client_secret)
    try:
        tokens.token()
    except (PermissionError, httpx.HTTPError) as exc:
        return SuiteResult(fatal=f"no access token from {options.base_url}/token: {exc}")
    with ExitStack() as stack:
        tap = None
        if options.nats_url:
            try:
                tap = stack.enter_context(EventTap(options.nats_url))
            except ConnectionError as exc:
                return SuiteResult(fatal=str(exc))
        progress(f"API checks: Schemathesis, {options.max_examples} examples per operation")
        result = run_api_checks(
            options.base_url, tokens, max_examples=options.max_examples, seed=options.seed,
            progress=progress,
        )  # fmt: skip
        if tap is not None and result.fatal is None:
            progress("event checks: driving calls through the gateway")
            spec = httpx.get(f"{options.base_url.rstrip('/')}/openapi.json", timeout=30).json()
            driver = Driver(options.base_url, tokens, tap, options.event_wait_seconds)
            result.cases += drive(driver, spec)
            result.cases.append(check_seen(tap.snapshot(), load_schemas(options.schema_dir)))
    result.seconds = time.monotonic() - started
    return result
