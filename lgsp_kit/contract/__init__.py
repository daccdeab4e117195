"""The contract suite (`lgsp contract-test`): Schemathesis on the gateway's merged OpenAPI and
the event contract on NATS, against any deployment."""

from __future__ import annotations

from lgsp_kit.contract._report import summary, write_junit
from lgsp_kit.contract._results import CaseResult, Finding, SuiteResult
from lgsp_kit.contract._suite import DEFAULT_MAX_EXAMPLES, SuiteOptions, run_suite

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "CaseResult",
    "Finding",
    "SuiteOptions",
    "SuiteResult",
    "run_suite",
    "summary",
    "write_junit",
]
