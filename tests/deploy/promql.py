"""What the dashboards and rules may query: the platform's metric contract and its recording rules.

`metric_names(expr)` pulls the metric (or recorded series) names out of a PromQL expression
without a full parser: strings, label matchers, range selectors and grouping clauses are cut
first, then every bare identifier that is neither a keyword nor a function call is a name.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"

# The contract: /work/shared DESIGN.md "Metrics", the gateway's `lgsp_gateway_*` and the kit's
# HTTP metrics (lgsp_kit/metrics.py), as Prometheus stores them (counters end in `_total`).
COUNTERS = {
    "lgsp_dossiers_received_total",
    "lgsp_dossier_payments_total",
    "lgsp_documents_sent_total",
    "lgsp_events_consumed_total",
    "lgsp_gateway_requests_total",
    "lgsp_gateway_upstream_errors_total",
    "lgsp_http_requests_total",
}
GAUGES = {
    "lgsp_organs_connected",
    # The organ directory's size per level (the denominator of rows 5.1 and 5.3), exposed by
    # reporting beside lgsp_organs_connected.
    "lgsp_organs_registered",
    "lgsp_indicator_ratio",
    "lgsp_projection_lag_seconds",
    # 1 while the gateway's audit writer is halted on a missing or stale chain head.
    "lgsp_gateway_audit_chain_broken",
    # 0 while a gateway process is without Redis (LGSP_REDIS_URL set), per `part`.
    "lgsp_gateway_shared_state_up",
}
HISTOGRAMS = {"lgsp_gateway_request_duration_seconds", "lgsp_http_request_duration_seconds"}
# Written by Prometheus itself for every target.
BUILTIN = {"up"}
# A gauge the alerts need that the apps do not expose yet (requested from the kit): events
# waiting in each app's outbox (the relay already counts them), label `app`.
REQUESTED = {"lgsp_outbox_backlog"}

CONTRACT_METRICS = (
    COUNTERS
    | GAUGES
    | BUILTIN
    | REQUESTED
    | {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
)

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    "inf",
    "nan",
}

_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression reads (`rate(x{a="b"}[5m])` → {"x"})."""
    s = _STRING.sub('""', expr)
    s = _VARIABLE.sub("5m", s)
    s = _MATCHERS.sub("", s)
    s = _RANGE.sub("", s)
    s = _GROUPING.sub(" ", s)
    names: set[str] = set()
    for match in _IDENT.finditer(s):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def load_rules() -> list[dict[str, str]]:
    rules: list[dict[str, str]] = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(group["rules"])
    return rules


def recording_rules() -> set[str]:
    return {r["record"] for r in load_rules() if "record" in r}


def known_series() -> set[str]:
    return CONTRACT_METRICS | recording_rules()
