"""The API part of the suite: Schemathesis (4.x, its Python engine) over the gateway's merged
OpenAPI document, every default check on, stateful links followed, auth checks included."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import schemathesis
from schemathesis import CheckContext, Response
from schemathesis.engine import Status, events, from_schema
from schemathesis.generation.case import Case

from lgsp_kit.contract._auth import TokenSource
from lgsp_kit.contract._results import CaseResult, Finding, SuiteResult

PROBLEM_JSON = "application/problem+json"
# The gateway marks the national operations with the status of their answer to invalid input.
INVALID_INPUT = "x-lgsp-invalid-input-status"
# A schema-valid request may still break a domain rule no schema can state (an unknown
# procedure, a time in the future, a reused Idempotency-Key, an attachment type the deployment
# does not allow): the service answers 422 (or 415 for an attachment) with its own problem
# `code`, or `validation_failed` from a cross-field rule (pydantic `value_error`).
# Any other refusal of schema-valid data means the published schema is wrong.
# A NUL character is not text (`lgsp_kit.fields.Text` refuses it: PostgreSQL cannot store it),
# which no published pattern says (`text_nul`).
DOMAIN_RULE_ERROR_TYPES = frozenset({"value_error", "text_nul"})
SECRET = re.compile(r"(Authorization: Bearer )[A-Za-z0-9._\-]+", re.IGNORECASE)


def _has_integral_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


def _is_integer_as_float(response: Response, case: Case) -> bool:
    """JSON Schema counts 36.0 as an `integer`; the platform takes integers (codes, days) as
    JSON integers only, on purpose (`2.0` for a channel is refused), and says so in its guide.
    Each error is that or a domain rule (a request may break both)."""
    if response.status_code != 422 or not _has_integral_float(case.body):
        return False
    try:
        errors = json.loads(response.content).get("errors") or []
    except (ValueError, AttributeError):
        return False
    explained = {"int_type", *DOMAIN_RULE_ERROR_TYPES}
    return bool(errors) and all(e.get("type") in explained for e in errors)


def _is_domain_rule(response: Response) -> bool:
    if response.status_code not in (415, 422):
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if body.get("code") not in (None, "validation_failed", "unsupported_media_type"):
        return True
    errors = body.get("errors") or []
    return bool(errors) and all(e.get("type") in DOMAIN_RULE_ERROR_TYPES for e in errors)


@schemathesis.check
def schema_valid_request_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis's positive data acceptance, less the 422s of domain rules (see above)."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if _is_domain_rule(response) or _is_integer_as_float(response, case):
            return None
        raise


def _config(
    base_url: str, max_examples: int, seed: int | None, portal_operations: list[str] | None = None
) -> schemathesis.Config:
    data: dict[str, Any] = {
        "base-url": base_url,
        "workers": 1,
        "generation": {"max-examples": max_examples},
        # Replaced by `schema_valid_request_accepted`; every other default check stays on.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
    if portal_operations:
        # The national services the gateway publishes answer invalid input HTTP 200 in their
        # own shape (`{error_code: "-1", message}`), as the national portal does: no 4xx to
        # expect. Their answers are still checked against their schemas.
        data["operations"] = [
            {
                "include-operation-id": portal_operations,
                "checks": {"negative_data_rejection": {"enabled": False}},
            }
        ]
    if seed is not None:
        data["seed"] = seed
    return schemathesis.Config.from_dict(data)


def _portal_operations(raw: dict[str, Any]) -> list[str]:
    """Operation ids whose answer to invalid input is HTTP 200 (`x-lgsp-invalid-input-status`)."""
    return sorted(
        op["operationId"]
        for item in raw.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict)
        and str(op.get(INVALID_INPUT, "")).startswith("2")
        and "operationId" in op
    )


def _auth_provider(tokens: TokenSource) -> type:
    class GatewayToken:
        """Client credentials at the gateway; renewed on expiry and when a 401 says so."""

        def get(self, case: Case, ctx: Any) -> str:
            return tokens.token()

        def set(self, case: Case, data: str, ctx: Any) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    return GatewayToken


def _reproduce(case: Any) -> str:
    try:
        return SECRET.sub(r"\1<token>", case.as_curl_command())
    except Exception:  # a case that cannot be rendered still reports its failure
        return f"{case.method} {case.path}"


def _answer(interaction: Any) -> str:
    response = getattr(interaction, "response", None)
    if response is None:
        return ""
    text = (response.content or b"")[:600].decode("utf-8", errors="replace")
    return f"\nanswered {response.status_code}: {text}"


def _scenario(event: events.ScenarioFinished, results: dict[str, CaseResult]) -> None:
    label = event.recorder.label or "?"
    name = f"{label} [{event.phase.name.lower()}]"
    result = results.setdefault(name, CaseResult("api", name))
    result.seconds += event.elapsed_time
    result.requests += len(event.recorder.interactions)
    if event.status == Status.SKIP and not event.recorder.interactions:
        result.skipped = event.skip_reason or "skipped"
    seen: set[tuple[str, str]] = set()
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            failure = check.failure_info.failure
            key = (check.name, failure.title)
            if key in seen:  # one line per kind of failure, with one way to reproduce it
                continue
            seen.add(key)
            node = event.recorder.cases.get(case_id)
            result.findings.append(
                Finding(
                    check=check.name,
                    title=failure.title,
                    message=failure.message + _answer(event.recorder.interactions.get(case_id)),
                    reproduce=_reproduce(node.value) if node is not None else "",
                )
            )


def run_api_checks(
    base_url: str,
    tokens: TokenSource,
    *,
    max_examples: int,
    seed: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> SuiteResult:
    """Run Schemathesis against the deployment's `GET {base_url}/openapi.json`."""
    started = time.monotonic()
    base_url = base_url.rstrip("/")
    suite = SuiteResult()
    try:
        schema = schemathesis.openapi.from_url(
            f"{base_url}/openapi.json", config=_config(base_url, max_examples, seed), timeout=30
        )
        portal = _portal_operations(schema.raw_schema)
        if portal:
            config = _config(base_url, max_examples, seed, portal)
            schema = schemathesis.openapi.from_dict(schema.raw_schema, config=config)
    except Exception as exc:
        suite.fatal = f"could not load {base_url}/openapi.json: {exc}"
        return suite
    unavailable = schema.raw_schema.get("x-lgsp-unavailable") or []
    if unavailable:
        suite.fatal = f"the gateway's catalogue leaves out unavailable APIs: {unavailable}"
        return suite
    schema.auth(refresh_interval=None)(_auth_provider(tokens))
    results: dict[str, CaseResult] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            _scenario(event, results)
        elif isinstance(event, events.PhaseStarted):
            progress(f"schemathesis phase: {event.phase.name.value}")
        elif isinstance(event, events.NonFatalError):
            name = f"{event.label} [error]"
            result = results.setdefault(name, CaseResult("api", name))
            message = event.info.format(base_url_is_set=True)
            result.findings.append(Finding("error", "the run could not test this", message))
        elif isinstance(event, events.FatalError):
            suite.fatal = f"Schemathesis stopped: {event.exception}"
        elif isinstance(event, events.EngineFinished) and event.stop_reason.skip_explanation:
            suite.fatal = f"Schemathesis stopped early: {event.stop_reason.skip_explanation}"
    suite.cases = sorted(results.values(), key=lambda r: r.name)
    suite.seconds = time.monotonic() - started
    return suite
