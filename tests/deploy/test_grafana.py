"""Grafana provisioning and dashboards: every panel queries only series that exist.

A series exists when the platform exposes it (the metric contract, tests/deploy/promql.py) or
a recording rule of deploy/prometheus/rules defines it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import (
    ROOT,
    known_series,
    load_rules,
    metric_names,
    recording_rules,
)

GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DATASOURCE_UID = "lgsp-prometheus"


def walk_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) for every query of the dashboard, variables included."""
    for panel in walk_panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield panel.get("title", "?"), target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            yield f"${variable.get('name')}", query


def unknown_series(dashboard: dict[str, Any], known: set[str]) -> list[str]:
    return [
        f"{title}: {name}"
        for title, expr in expressions(dashboard)
        for name in sorted(metric_names(expr) - known)
    ]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --- the name extraction itself -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        (
            'sum by (api) (rate(lgsp_gateway_requests_total{status=~"5.."}[5m]))',
            {"lgsp_gateway_requests_total"},
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__rate_interval]))) > 1e3",
            {"x_bucket"},
        ),
        ('a / on (level) group_left () (b{level="commune"} > 0) or vector(0)', {"a", "b"}),
        (
            "sum(lgsp:indicator_6_3:numerator offset 1h) without (instance)",
            {"lgsp:indicator_6_3:numerator"},
        ),
        ('max(x) by (job) unless y and bool z{name="sum(w)"}', {"x", "y", "z"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_a_panel_naming_a_series_that_does_not_exist_is_caught() -> None:
    """The check can fail: a misspelt counter and an undefined rule are both reported."""
    dashboard = load(DASHBOARDS[0])
    dashboard["panels"].append(
        {
            "id": 999,
            "type": "timeseries",
            "title": "Bad panel",
            "targets": [
                {"refId": "A", "expr": "sum(rate(lgsp_dossiers_recieved_total[5m]))"},
                {"refId": "B", "expr": "lgsp:indicator_9_9:ratio * 100"},
            ],
        }
    )
    assert unknown_series(dashboard, known_series()) == [
        "Bad panel: lgsp_dossiers_recieved_total",
        "Bad panel: lgsp:indicator_9_9:ratio",
    ]


# --- the dashboards -------------------------------------------------------------------------


def test_the_three_dashboards_are_there() -> None:
    titles = {load(p)["title"] for p in DASHBOARDS}
    assert titles == {
        "LGSP — Phụ lục II indicators",
        "LGSP — gateway traffic",
        "LGSP — event pipeline health",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_queries_only_known_series(path: Path) -> None:
    dashboard = load(path)
    assert list(expressions(dashboard)), "a dashboard without queries"
    assert unknown_series(dashboard, known_series()) == []


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] == path.stem
    panels = list(walk_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels:
        assert panel.get("title"), panel
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert panel["targets"], f"{panel['title']}: no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            assert target["expr"].strip()


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_recorded_series_a_board_uses_is_defined(path: Path) -> None:
    """Recorded series (`level:metric:operation`) in panels are defined by some rule."""
    used = {n for _, e in expressions(load(path)) for n in metric_names(e) if ":" in n}
    assert used <= recording_rules()


def test_every_rule_reads_only_known_series() -> None:
    known = known_series()
    bad = {
        r.get("record") or r["alert"]: sorted(metric_names(r["expr"]) - known)
        for r in load_rules()
        if metric_names(r["expr"]) - known
    }
    assert bad == {}


def test_panel_queries_parse_as_promql(tmp_path: Path) -> None:
    """promtool parses every panel query (as a recording rule), Grafana's interval variable set."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`)")
    rules = [
        {"record": f"panel:check_{i}:query", "expr": expr.replace("$__rate_interval", "5m")}
        for i, (_, expr) in enumerate(
            pair for path in DASHBOARDS for pair in expressions(load(path))
        )
    ]
    rule_file = tmp_path / "panels.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


# --- provisioning ---------------------------------------------------------------------------


def test_datasource_provisioning_names_the_uid_the_panels_use() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    (source,) = provisioned["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"


def test_dashboard_provider_reads_the_folder_compose_mounts() -> None:
    provider = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "lgsp.yml").read_text()
    )
    (entry,) = provider["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{entry['options']['path']}:ro" in volumes
