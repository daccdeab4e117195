"""docker-compose.yml: valid for `docker-compose config`, and the stack it describes is whole."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from lgsp_kit.bus import server_urls
from tests.deploy.promql import ROOT

APPS = {"gateway": 8000, "dossier": 8001, "documents": 8002, "reporting": 8003, "national": 8004}
NATS_SERVERS = ("nats-1", "nats-2", "nats-3")
EXAMPLE_ENV = ROOT / "deploy" / "compose" / "example.env"
MONITORING_PORTS = ROOT / "deploy" / "compose" / "monitoring-ports.yml"
# The values an operator puts in `.env`; the file has no default for any of them.
SECRETS = {
    "POSTGRES_PASSWORD": "pg-3f9c1d7e5b",
    "GATEWAY_KEY_PASSPHRASE": "gateway-key-8e2a6c4b0d",
    "DOCUMENTS_KEY_PASSPHRASE": "documents-key-1b7d9f3a5c",
    "GRAFANA_ADMIN_PASSWORD": "grafana-5a0e8c2f4d",
    "NATS_DOSSIER_PASSWORD": "nats-dossier-7c1e9a3f5b",
    "NATS_DOCUMENTS_PASSWORD": "nats-documents-2d8b6f0a4e",
    "NATS_REPORTING_PASSWORD": "nats-reporting-9f3a5c7e1d",
    "NATS_OPERATOR_PASSWORD": "nats-operator-4b6d8f0a2c",
    "NATS_TLS_DIR": "/srv/lgsp/nats-tls",
    "NATIONAL_ADMIN_SECRET": "national-admin-6e2c8a0f4b",
    "NATIONAL_CONSUMER_SECRET": "national-consumer-3a9d1f7b5e",
    "REDIS_PASSWORD": "redis-6e0c2a8f4b",
}


@cache
def empty_env_file() -> Path:
    handle, name = tempfile.mkstemp(suffix=".env")
    os.close(handle)
    atexit.register(os.unlink, name)
    return Path(name)


def run_compose(
    *args: str, env: dict[str, str], files: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose not installed (Debian package `docker-compose`)")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    chosen = [arg for f in (ROOT / "docker-compose.yml", *files) for arg in ("-f", str(f))]
    # A developer's own `.env` is not read unless a test names an env file.
    if "--env-file" not in args:
        chosen += ["--env-file", str(empty_env_file())]
    return subprocess.run(
        [tool, *chosen, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )


def resolve(env: dict[str, str], files: tuple[Path, ...] = ()) -> dict[str, Any]:
    result = run_compose("config", env=env, files=files)
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    return resolved


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as docker-compose resolves it (anchors merged, variables filled)."""
    return resolve(SECRETS)


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
    assert set(compose["services"]) == {
        "postgres",
        *NATS_SERVERS,
        "redis",
        "prometheus",
        "grafana",
        *APPS,
    }


def test_each_app_has_its_database_nats_and_a_readiness_check(compose: dict[str, Any]) -> None:
    for app, port in APPS.items():
        service = compose["services"][app]
        env = service["environment"]
        url = env[f"{app.upper()}_DATABASE_URL"]
        assert url == f"postgresql://lgsp:{SECRETS['POSTGRES_PASSWORD']}@postgres:5432/{app}"
        assert server_urls(env["NATS_URL"]) == [f"nats://{n}:4222" for n in NATS_SERVERS]
        assert env["LGSP_STREAM_REPLICAS"] == "3"
        redis = {"redis"} if app == "gateway" else set()
        assert set(service["depends_on"]) == {"postgres", *NATS_SERVERS, *redis}
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
    stores = set()
    for name in NATS_SERVERS:
        nats = compose["services"][name]
        assert "ports" not in nats  # only the apps reach it, on the compose network
        assert nats["command"] == ["--config", "/etc/nats/nats.conf"]
        mounts = binds(nats)
        assert mounts["/etc/nats/nats.conf"] == str(ROOT / "deploy" / "nats" / "nats.conf")
        assert mounts["/etc/nats/tls"] == SECRETS["NATS_TLS_DIR"]
        env = nats["environment"]
        assert env["NATS_SERVER_NAME"] == name
        for user in ("DOSSIER", "DOCUMENTS", "REPORTING", "OPERATOR"):
            assert env[f"NATS_{user}_PASSWORD"] == SECRETS[f"NATS_{user}_PASSWORD"]
        (store,) = [v.split(":")[0] for v in nats["volumes"] if str(v).endswith(":/data:rw")]
        stores.add(store)
    assert len(stores) == len(NATS_SERVERS)  # a JetStream store of its own each
    for app in ("dossier", "documents", "reporting"):
        service = compose["services"][app]
        env = service["environment"]
        assert env[f"{app.upper()}_NATS_USER"] == app
        assert env[f"{app.upper()}_NATS_PASSWORD"] == SECRETS[f"NATS_{app.upper()}_PASSWORD"]
        assert binds(service)[env["NATS_TLS_CA"]] == SECRETS["NATS_TLS_DIR"] + "/ca.crt"


def test_the_nats_servers_route_to_each_other_by_their_compose_names() -> None:
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    assert re.findall(r"nats://([\w-]+):6222", conf) == list(NATS_SERVERS)
    assert "server_name: $NATS_SERVER_NAME" in conf


# --- production defaults --------------------------------------------------------------------


def published(service: dict[str, Any]) -> list[str]:
    """The service's published ports, as `[address:]host:container` (either syntax)."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            address = f"{port['host_ip']}:" if port.get("host_ip") else ""
            out.append(f"{address}{port['published']}:{port['target']}")
        else:
            out.append(str(port).removesuffix("/tcp"))
    return out


def test_only_the_gateway_is_published_on_the_host(compose: dict[str, Any]) -> None:
    ports = {name: published(service) for name, service in compose["services"].items()}
    assert ports.pop("gateway") == ["8000:8000"]
    assert ports == {name: [] for name in ports}
    assert {"reporting", "prometheus", "grafana", "postgres"} <= ports.keys()


def test_monitoring_ports_are_on_the_loopback_only() -> None:
    compose = resolve(SECRETS, files=(MONITORING_PORTS,))
    assert published(compose["services"]["prometheus"]) == ["127.0.0.1:9090:9090"]
    assert published(compose["services"]["grafana"]) == ["127.0.0.1:3000:3000"]
    assert published(compose["services"]["reporting"]) == []


def test_the_apps_run_in_production_mode_with_the_given_secrets(compose: dict[str, Any]) -> None:
    for app in APPS:
        env = compose["services"][app]["environment"]
        assert env["LGSP_ENVIRONMENT"] == "production", app
    services = compose["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    gateway = services["gateway"]["environment"]
    assert gateway["GATEWAY_KEY_PASSPHRASE"] == SECRETS["GATEWAY_KEY_PASSPHRASE"]
    documents = services["documents"]["environment"]
    assert documents["DOCUMENTS_KEY_PASSPHRASE"] == SECRETS["DOCUMENTS_KEY_PASSPHRASE"]


def test_the_gateway_shares_its_state_in_redis_with_its_password(compose: dict[str, Any]) -> None:
    services = compose["services"]
    password = SECRETS["REDIS_PASSWORD"]
    assert (
        services["gateway"]["environment"]["LGSP_REDIS_URL"] == f"redis://:{password}@redis:6379/0"
    )
    redis = services["redis"]
    assert redis["command"][:3] == ["redis-server", "--requirepass", password]
    assert redis["environment"]["REDISCLI_AUTH"] == password
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert published(redis) == []
    for app in APPS.keys() - {"gateway"}:
        assert "LGSP_REDIS_URL" not in services[app]["environment"], app


def test_the_national_tier_is_wired(compose: dict[str, Any]) -> None:
    """The gateway publishes the national simulator's NGSP and DVCQG with the province's
    consumer secret there; the dossier service syncs to DVCQG through the gateway; the axis
    reaches the province through the gateway."""
    services = compose["services"]
    gateway = services["gateway"]["environment"]
    national = services["national"]["environment"]
    assert gateway["GATEWAY_NATIONAL_URL"] == "http://national:8004"
    consumers = json.loads(national["NATIONAL_CONSUMERS"])
    assert consumers == {gateway["GATEWAY_NATIONAL_CLIENT_ID"]: SECRETS["NATIONAL_CONSUMER_SECRET"]}
    assert gateway["GATEWAY_NATIONAL_CLIENT_SECRET"] == SECRETS["NATIONAL_CONSUMER_SECRET"]
    assert services["dossier"]["environment"]["DOSSIER_DVCQG_GATEWAY_URL"] == "http://gateway:8000"
    assert national["NATIONAL_PROVINCE_URL"] == "http://gateway:8000"
    assert "national" not in json.loads(gateway["GATEWAY_UPSTREAMS"])
    assert published(services["national"]) == []


def test_prometheus_cannot_be_reloaded_or_stopped_over_http(compose: dict[str, Any]) -> None:
    command = compose["services"]["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert not [flag for flag in command if flag.startswith("--web.enable-")]


def test_grafana_has_no_default_credentials(compose: dict[str, Any]) -> None:
    env = compose["services"]["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == SECRETS["GRAFANA_ADMIN_PASSWORD"]
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


@pytest.mark.parametrize("missing", SECRETS)
def test_a_missing_secret_stops_compose_and_says_which(missing: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != missing}
    result = run_compose("config", "-q", env=env)
    assert result.returncode != 0
    assert f"set {missing} (" in result.stderr, result.stderr
    # An empty value is missing too.
    result = run_compose("config", "-q", env={**env, missing: ""})
    assert result.returncode != 0 and f"set {missing} (" in result.stderr


def test_the_example_env_names_every_required_variable() -> None:
    """CI runs `docker-compose --env-file deploy/compose/example.env config -q`."""
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert required == set(SECRETS)
    example = dict(
        line.split("=", 1)
        for line in EXAMPLE_ENV.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(example) == required
    # Placeholders the apps refuse outside dev, never a usable secret.
    # (a directory for NATS_TLS_DIR: compose reads a bare word as a named volume)
    assert all("CHANGE_ME" in value for value in example.values()), example
    result = run_compose("--env-file", str(EXAMPLE_ENV), "config", "-q", env={})
    assert result.returncode == 0, result.stderr
    assert "/.env" in (ROOT / ".gitignore").read_text().splitlines()
