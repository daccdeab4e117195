"""docker-compose.yml: valid for `docker-compose config`, and the stack it describes is whole."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.promql import ROOT

APPS = {"gateway": 8000, "dossier": 8001, "documents": 8002, "reporting": 8003}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as docker-compose resolves it (anchors merged, variables filled)."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose not installed (Debian package `docker-compose`)")
    result = subprocess.run([tool, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
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
