"""docker-compose.yml: valid for `docker-compose config`, and the stack it describes is whole."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.promql import ROOT

APPS = {"gateway": 8000, "dossier": 8001, "documents": 8002, "reporting": 8003}
# What the operator must set (the file refuses to resolve without them).
REQUIRED = {
    "NATS_DOSSIER_PASSWORD": "nats-dossier-pw",
    "NATS_DOCUMENTS_PASSWORD": "nats-documents-pw",
    "NATS_REPORTING_PASSWORD": "nats-reporting-pw",
    "NATS_OPERATOR_PASSWORD": "nats-operator-pw",
    "NATS_TLS_DIR": "/srv/lgsp/nats-tls",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as docker-compose resolves it (anchors merged, variables filled)."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose not installed (Debian package `docker-compose`)")
    result = subprocess.run(
        [tool, "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **REQUIRED},
    )
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    return resolved


def binds(service: dict[str, Any]) -> dict[str, str]:
    """Bind mounts of a service, target → host path (docker-compose 1.x prints short syntax)."""
    mounts: dict[str, str] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume["type"] == "bind":
                mounts[volume["target"]] = volume["source"]
            continue
        source, target = volume.split(":")[:2]
        if source.startswith("/"):
            mounts[target] = source
    return mounts


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "nats", "prometheus", "grafana", *APPS}


def test_each_app_has_its_database_nats_and_a_readiness_check(compose: dict[str, Any]) -> None:
    for app, port in APPS.items():
        service = compose["services"][app]
        env = service["environment"]
        assert env[f"{app.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{app}")
        assert env["NATS_URL"] == "nats://nats:4222"
        assert service["command"] == ["lgsp", "run", app]
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])


def test_every_app_database_is_created_by_the_init_script() -> None:
    init = (ROOT / "deploy" / "postgres" / "init.sql").read_text()
    for app in APPS:
        assert f"CREATE DATABASE {app};" in init


def test_prometheus_scrapes_each_app_where_compose_runs_it(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    mounts = binds(prometheus)
    assert mounts["/etc/prometheus"] == str(ROOT / "deploy" / "prometheus")
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    for app, port in APPS.items():
        assert targets[app] == [f"{app}:{port}"]


def test_grafana_is_provisioned_from_deploy_grafana(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = binds(grafana)
    assert mounts["/etc/grafana/provisioning"] == str(ROOT / "deploy" / "grafana" / "provisioning")
    assert mounts["/var/lib/grafana/dashboards"] == str(ROOT / "deploy" / "grafana" / "dashboards")
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_nats_requires_a_user_per_app_and_tls_and_is_not_published(
    compose: dict[str, Any],
) -> None:
    nats = compose["services"]["nats"]
    assert "ports" not in nats  # only the apps reach it, on the compose network
    assert nats["command"] == ["--config", "/etc/nats/nats.conf"]
    mounts = binds(nats)
    assert mounts["/etc/nats/nats.conf"] == str(ROOT / "deploy" / "nats" / "nats.conf")
    assert mounts["/etc/nats/tls"] == REQUIRED["NATS_TLS_DIR"]
    for name in ("DOSSIER", "DOCUMENTS", "REPORTING", "OPERATOR"):
        assert nats["environment"][f"NATS_{name}_PASSWORD"] == REQUIRED[f"NATS_{name}_PASSWORD"]
    for app in ("dossier", "documents", "reporting"):
        service = compose["services"][app]
        env = service["environment"]
        assert env[f"{app.upper()}_NATS_USER"] == app
        assert env[f"{app.upper()}_NATS_PASSWORD"] == REQUIRED[f"NATS_{app.upper()}_PASSWORD"]
        assert binds(service)[env["NATS_TLS_CA"]] == REQUIRED["NATS_TLS_DIR"] + "/ca.crt"


def test_the_file_refuses_to_resolve_without_the_nats_secrets() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose not installed (Debian package `docker-compose`)")
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    result = subprocess.run(
        [tool, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode != 0
    assert "NATS_" in result.stderr
