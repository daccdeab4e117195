"""deploy/k8s renders with `kubectl kustomize`, and every manifest validates against the
Kubernetes schemas (kubernetes-validate, from PyPI).

Without kubectl the base's resources are still read and validated file by file (patches,
namespace and images of the overlay need kustomize and are skipped then, saying so).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.promql import ROOT

K8S_DIR = ROOT / "deploy" / "k8s"
BASE = K8S_DIR / "base"
OVERLAY = K8S_DIR / "overlays" / "province"
KUBECTL = os.environ.get("LGSP_KUBECTL") or shutil.which("kubectl")
KUBERNETES_VERSION = "1.30"
APPS = {"gateway": 8000, "dossier": 8001, "documents": 8002, "reporting": 8003}

Manifest = dict[str, Any]


def kustomize(target: Path) -> list[Manifest]:
    if KUBECTL is None:
        pytest.skip(
            "kubectl not installed (Debian package `kubernetes-client`, or set LGSP_KUBECTL)"
        )
    result = subprocess.run(
        [KUBECTL, "kustomize", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def resolve(directory: Path) -> list[Manifest]:
    """The documents a kustomization lists (`resources`, `bases`), without applying patches."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[Manifest] = []
    for entry in kustomization.get("bases", []) + kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            docs.extend(resolve(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def validate(manifest: Manifest) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


@pytest.fixture(scope="module")
def base() -> list[Manifest]:
    """The base as kustomize renders it, or as its files say when kubectl is absent."""
    if KUBECTL is None:
        return resolve(BASE)
    return kustomize(BASE)


# --- schema validation ----------------------------------------------------------------------


def test_every_base_file_validates_against_the_schemas() -> None:
    docs = resolve(BASE)
    assert len(docs) >= 20
    for doc in docs:
        validate(doc)


@pytest.mark.parametrize("target", [BASE, OVERLAY], ids=["base", "overlay-province"])
def test_kustomize_renders_and_every_manifest_validates(target: Path) -> None:
    docs = kustomize(target)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "StatefulSet", "ConfigMap", "Secret"} <= kinds
    for doc in docs:
        validate(doc)


def test_the_validator_refuses_a_broken_manifest(base: list[Manifest]) -> None:
    """The check can fail: a misspelt field and a wrongly typed port are both refused."""
    deployment = yaml.safe_load(yaml.safe_dump(find(base, "Deployment", "dossier")))
    deployment["spec"]["revisionHistoryLimt"] = deployment["spec"].pop("revisionHistoryLimit")
    with pytest.raises(kubernetes_validate.ValidationError, match="revisionHistoryLimt"):
        validate(deployment)
    deployment = yaml.safe_load(yaml.safe_dump(find(base, "Deployment", "dossier")))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8001"
    with pytest.raises(kubernetes_validate.ValidationError, match="integer"):
        validate(deployment)


# --- what the deployment promises -----------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_each_app_is_probed_sized_and_served(base: list[Manifest], app: str) -> None:
    deployment = find(base, "Deployment", app)
    pod = deployment["spec"]["template"]
    # The autoscaler owns the count: a `replicas` here would undo it on every apply.
    assert "replicas" not in deployment["spec"]
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["lgsp", "run", app]
    assert container["ports"] == [{"name": "http", "containerPort": APPS[app]}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for box in (container, *pod["spec"]["initContainers"]):
        assert {"cpu", "memory"} <= box["resources"]["requests"].keys()
        assert "memory" in box["resources"]["limits"]
    (migrate,) = pod["spec"]["initContainers"]
    assert migrate["command"] == ["lgsp", "db", "upgrade", app]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(APPS[app])

    service = find(base, "Service", app)
    assert service["spec"]["ports"][0]["port"] == APPS[app]
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("app", APPS)
def test_each_app_reads_its_database_url_and_the_shared_config(
    base: list[Manifest], app: str
) -> None:
    config = find(base, "ConfigMap", "lgsp-config")["data"]
    secret = find(base, "Secret", "lgsp-databases")["stringData"]
    pod = find(base, "Deployment", app)["spec"]["template"]["spec"]
    for box in (*pod["containers"], *pod["initContainers"]):
        assert box["envFrom"] == [{"configMapRef": {"name": "lgsp-config"}}]
        env = box["env"][0]
        ref = env["valueFrom"]["secretKeyRef"]
        assert env["name"] == ref["key"] == f"{app.upper()}_DATABASE_URL"
        assert ref["name"] == "lgsp-databases"
    assert secret[f"{app.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{app}")
    assert config[f"{app.upper()}_MIGRATE_ON_START"] == "false"
    assert config[f"{app.upper()}_HOST"] == "0.0.0.0"


def with_real_secrets(docs: list[Manifest]) -> list[Manifest]:
    """The manifests after an operator replaced the Secrets' placeholders (as an overlay's
    secretGenerator does): each `CHANGE_ME…` becomes a long random value."""
    copied: list[Manifest] = yaml.safe_load(yaml.safe_dump(docs))
    for doc in copied:
        if doc["kind"] == "Secret":
            for key, value in doc["stringData"].items():
                real = f"{key.lower().replace('_', '-')}-q7Vd3kLpZr9w"
                doc["stringData"][key] = re.sub(r"CHANGE_ME[\w-]*", real, value)
    return copied


def pod_environment(docs: list[Manifest], app: str) -> dict[str, str]:
    """The variables the app container gets: its ConfigMaps, then its secret references."""
    (container,) = find(docs, "Deployment", app)["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            # `$(NAME)`: a variable defined before it, as the kubelet expands it.
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], var["value"])
            continue
        ref = var["valueFrom"]["secretKeyRef"]
        env[var["name"]] = find(docs, "Secret", ref["name"])["stringData"][ref["key"]]
    return env


@pytest.mark.parametrize("app", APPS)
def test_each_app_accepts_the_settings_its_pod_gets(
    base: list[Manifest], app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's own Settings class reads the pod's variables (outside dev, which refuses
    default secrets) and lands on the cluster's database, NATS and stream replicas."""
    for name in list(os.environ):
        if name.startswith(("LGSP_", "NATS_", f"{app.upper()}_")):
            monkeypatch.delenv(name)
    for name, value in pod_environment(with_real_secrets(base), app).items():
        monkeypatch.setenv(name, value)
    module = "gateway.settings" if app == "gateway" else f"services.{app}.settings"
    settings = importlib.import_module(module).Settings()
    assert settings.environment == "production"
    assert settings.resolved_database_url().endswith(f"@postgres:5432/{app}")
    assert settings.nats_url == "nats://nats:4222"
    assert settings.stream_replicas == 3
    assert settings.migrate_on_start is False
    assert (settings.host, settings.port) == ("0.0.0.0", APPS[app])


def test_documents_refuses_to_start_without_its_key_passphrase(
    base: list[Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the pod carries DOCUMENTS_KEY_PASSPHRASE: without it the settings are refused."""
    for name, value in pod_environment(with_real_secrets(base), "documents").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DOCUMENTS_KEY_PASSPHRASE")
    with pytest.raises(ValueError, match="DOCUMENTS_KEY_PASSPHRASE"):
        importlib.import_module("services.documents.settings").Settings()


@pytest.mark.parametrize("app", APPS)
def test_each_app_refuses_the_base_s_placeholder_secrets(
    base: list[Manifest], app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied as committed, no app starts: every Secret holds a `CHANGE_ME` placeholder."""
    for name in list(os.environ):
        if name.startswith(("LGSP_", "NATS_", f"{app.upper()}_")):
            monkeypatch.delenv(name)
    env = pod_environment(base, app)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = "gateway.settings" if app == "gateway" else f"services.{app}.settings"
    settings_class = importlib.import_module(module).Settings
    url = f"{app.upper()}_DATABASE_URL"
    with pytest.raises(ValueError, match=f"{url} has a placeholder password"):
        settings_class()
    monkeypatch.setenv(url, env[url].replace("CHANGE_ME", "q7Vd3kLpZr9w"))
    nats_password = f"{app.upper()}_NATS_PASSWORD"
    if nats_password in env:
        with pytest.raises(ValueError, match=nats_password):
            settings_class()
        monkeypatch.setenv(nats_password, "n4Tq-8sLm-Wc2v-Pz7k")
    passphrase = f"{app.upper()}_KEY_PASSPHRASE"
    if passphrase in env:
        # The documents passphrase (and the gateway's, where its settings read one).
        if app == "documents" or "key_passphrase" in settings_class.model_fields:
            with pytest.raises(ValueError, match=passphrase):
                settings_class()
        monkeypatch.setenv(passphrase, "q7Vd-3kLp-Zr9w-Tx2m-Hc4n")
    national = f"{app.upper()}_NATIONAL_CLIENT_SECRET"
    if national in env:
        with pytest.raises(ValueError, match=national):
            settings_class()
        monkeypatch.setenv(national, "n8Rw-2kVp-Qx5t-Lm3c")
    assert settings_class().environment == "production"


def test_the_gateway_reads_its_key_passphrase_from_a_secret(base: list[Manifest]) -> None:
    pod = find(base, "Deployment", "gateway")["spec"]["template"]["spec"]
    for box in (*pod["containers"], *pod["initContainers"]):
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in box["env"] if "valueFrom" in e}
        assert refs["GATEWAY_KEY_PASSPHRASE"] == {
            "name": "lgsp-gateway",
            "key": "GATEWAY_KEY_PASSPHRASE",
        }
    assert "GATEWAY_KEY_PASSPHRASE" in find(base, "Secret", "lgsp-gateway")["stringData"]
    config = find(base, "ConfigMap", "lgsp-config")["data"]
    assert not [k for k in config if "PASSPHRASE" in k or "PASSWORD" in k]


def test_the_shared_config_points_at_the_cluster_services(base: list[Manifest]) -> None:
    config = find(base, "ConfigMap", "lgsp-config")["data"]
    assert config["NATS_URL"] == "nats://nats:4222"
    assert config["LGSP_JWKS_URL"] == "http://gateway:8000/.well-known/jwks.json"
    assert yaml.safe_load(config["GATEWAY_UPSTREAMS"]) == {
        app: f"http://{app}:{port}" for app, port in APPS.items() if app != "gateway"
    }
    assert config["LGSP_ENVIRONMENT"] != "dev"
    assert find(base, "Service", "postgres")["spec"]["type"] == "ExternalName"


def test_nats_is_a_three_server_jetstream_cluster_with_streams_in_three_copies(
    base: list[Manifest],
) -> None:
    statefulset = find(base, "StatefulSet", "nats")
    replicas = statefulset["spec"]["replicas"]
    assert replicas == 3
    assert find(base, "ConfigMap", "lgsp-config")["data"]["LGSP_STREAM_REPLICAS"] == "3"
    conf = find(base, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert "jetstream" in conf
    headless = statefulset["spec"]["serviceName"]
    assert find(base, "Service", headless)["spec"]["clusterIP"] == "None"
    routes = re.findall(r"nats://(nats-\d+)\.([\w-]+):6222", conf)
    assert routes == [(f"nats-{i}", headless) for i in range(replicas)]
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]
    assert find(base, "PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("app", APPS)
def test_each_app_is_autoscaled_and_keeps_replicas_through_a_drain(
    base: list[Manifest], app: str
) -> None:
    hpa = find(base, "HorizontalPodAutoscaler", app)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": app}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # Utilization is a share of the request: the container must state one.
    (container,) = find(base, "Deployment", app)["spec"]["template"]["spec"]["containers"]
    assert "cpu" in container["resources"]["requests"]
    budget = find(base, "PodDisruptionBudget", app)["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"]["app.kubernetes.io/name"] == app


def test_the_gateway_is_given_redis_with_its_password(base: list[Manifest]) -> None:
    env = pod_environment(with_real_secrets(base), "gateway")
    password = find(with_real_secrets(base), "Secret", "lgsp-redis")["stringData"]["REDIS_PASSWORD"]
    assert env["LGSP_REDIS_URL"] == f"redis://:{password}@redis:6379/0"
    redis = find(base, "Deployment", "redis")["spec"]["template"]["spec"]
    (container,) = redis["containers"]
    assert container["args"][:2] == ["--requirepass", "$(REDIS_PASSWORD)"]
    assert container["readinessProbe"]["exec"]["command"] == ["redis-cli", "ping"]
    assert {e["name"] for e in container["env"]} == {"REDIS_PASSWORD", "REDISCLI_AUTH"}
    service = find(base, "Service", "redis")["spec"]
    assert service["ports"][0]["port"] == 6379
    assert service["selector"].items() <= redis_labels(base).items()
    # The migrations need no Redis.
    (migrate,) = find(base, "Deployment", "gateway")["spec"]["template"]["spec"]["initContainers"]
    assert "LGSP_REDIS_URL" not in {e["name"] for e in migrate["env"]}


def redis_labels(docs: list[Manifest]) -> dict[str, str]:
    labels: dict[str, str] = find(docs, "Deployment", "redis")["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def test_pods_meet_the_restricted_pod_security_profile(base: list[Manifest]) -> None:
    for doc in base:
        if doc["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for box in (*pod["containers"], *pod.get("initContainers", [])):
            context = box["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, box["name"]
            assert context["capabilities"]["drop"] == ["ALL"]


def test_the_province_overlay_scales_out_in_its_namespace() -> None:
    docs = kustomize(OVERLAY)
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"lgsp"}
    replicas = {
        d["metadata"]["name"]: d["spec"]["replicas"]
        for d in docs
        if "replicas" in d.get("spec", {})
    }
    # The national simulator runs one replica (its axis worker polls the province).
    assert replicas == {"nats": 3, "redis": 1, "national": 1}
    bounds = {
        d["metadata"]["name"]: (d["spec"]["minReplicas"], d["spec"]["maxReplicas"])
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert bounds == {
        "gateway": (3, 12),
        "dossier": (3, 8),
        "documents": (2, 4),
        "reporting": (2, 4),
    }
    images = {
        c["image"]
        for d in docs
        if d["kind"] == "Deployment" and d["metadata"]["name"] in APPS
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.example.invalid/lgsp/lgsp-sim:0.1.0"}
    assert find(docs, "Service", "postgres")["spec"]["externalName"] == "pg.lgsp.example.invalid"


# --- network policies -----------------------------------------------------------------------

INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
# A peer: the labels of a pod of this namespace, or ("namespace", name) for any pod there.
Peer = dict[str, str] | tuple[str, str]


def pod_template(docs: list[Manifest], name: str) -> Manifest:
    (doc,) = [
        d
        for d in docs
        if d["kind"] in {"Deployment", "StatefulSet"} and d["metadata"]["name"] == name
    ]
    template: Manifest = doc["spec"]["template"]
    return template


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector
    return bool(selector.get("matchLabels", {}).items() <= labels.items())


def peer_matches(entry: Manifest, peer: Peer) -> bool:
    assert set(entry) <= {"podSelector", "namespaceSelector"}, entry
    if isinstance(peer, tuple):
        names = entry.get("namespaceSelector", {}).get("matchLabels", {})
        return "podSelector" not in entry and names == {"kubernetes.io/metadata.name": peer[1]}
    return "namespaceSelector" not in entry and selects(entry["podSelector"], peer)


def port_number(port: int | str, pod: Manifest) -> int:
    if isinstance(port, int):
        return port
    (found,) = [
        p["containerPort"]
        for c in pod["spec"]["containers"]
        for p in c["ports"]
        if p["name"] == port
    ]
    return int(found)


def allowed(docs: list[Manifest], direction: str, pod: Manifest, peer: Peer) -> set[int]:
    """TCP ports the policies open for `pod` from (ingress) or to (egress) `peer`; named ports
    are resolved on `pod` (for egress to a pod, see `egress`)."""
    key, side = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    ports: set[int] = set()
    labels = pod["metadata"]["labels"]
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        spec = policy["spec"]
        if direction not in spec["policyTypes"] or not selects(spec["podSelector"], labels):
            continue
        for rule in spec.get(key, []):
            if side in rule and not any(peer_matches(e, peer) for e in rule[side]):
                continue
            ports |= {
                port_number(p["port"], pod)
                for p in rule["ports"]
                if p.get("protocol", "TCP") == "TCP"
            }
    return ports


def egress(docs: list[Manifest], pod: Manifest, target: Manifest) -> set[int]:
    """Ports `pod` may open on `target` (named ports resolved on the target)."""
    labels = pod["metadata"]["labels"]
    ports: set[int] = set()
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        spec = policy["spec"]
        if "Egress" not in spec["policyTypes"] or not selects(spec["podSelector"], labels):
            continue
        for rule in spec.get("egress", []):
            if "to" in rule and not any(
                peer_matches(e, target["metadata"]["labels"]) for e in rule["to"]
            ):
                continue
            ports |= {port_number(p["port"], target) for p in rule["ports"]}
    return ports


def test_everything_is_denied_unless_a_policy_allows_it(base: list[Manifest]) -> None:
    deny = find(base, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for doc in base:
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            labels = doc["spec"]["template"]["metadata"]["labels"]
            chosen = [
                d["metadata"]["name"]
                for d in base
                if d["kind"] == "NetworkPolicy"
                and d["spec"]["podSelector"]
                and selects(d["spec"]["podSelector"], labels)
            ]
            assert len(chosen) == 1, (doc["metadata"]["name"], chosen)


def test_only_the_gateway_takes_traffic_from_the_ingress_controller(
    base: list[Manifest],
) -> None:
    outside = ("namespace", INGRESS_NAMESPACE)
    gateway = pod_template(base, "gateway")
    assert allowed(base, "Ingress", gateway, outside) == {8000}
    for name in ("dossier", "documents", "reporting", "nats"):
        assert allowed(base, "Ingress", pod_template(base, name), outside) == set(), name


def test_only_the_gateway_reaches_the_services(base: list[Manifest]) -> None:
    gateway = pod_template(base, "gateway")
    for app, port in APPS.items():
        if app == "gateway":
            continue
        service = pod_template(base, app)
        assert allowed(base, "Ingress", service, gateway["metadata"]["labels"]) == {port}
        # (Egress to 5432 is open to any address: PostgreSQL is outside the cluster.)
        assert egress(base, gateway, service) - {5432} == {port}
        for other in ("dossier", "documents", "reporting", "nats"):
            peer = pod_template(base, other)["metadata"]["labels"]
            assert allowed(base, "Ingress", service, peer) == set(), (app, other)
        # And the services fetch the gateway's JWKS.
        assert allowed(base, "Ingress", gateway, service["metadata"]["labels"]) == {8000}
        assert egress(base, service, gateway) - {5432} == {8000}


def test_only_the_apps_reach_nats_and_postgresql(base: list[Manifest]) -> None:
    nats = pod_template(base, "nats")
    for app in APPS:
        pod = pod_template(base, app)
        assert allowed(base, "Ingress", nats, pod["metadata"]["labels"]) == {4222}
        assert 4222 in egress(base, pod, nats)
        assert 5432 in allowed(base, "Egress", pod, ("namespace", "database"))
    assert allowed(base, "Ingress", nats, nats["metadata"]["labels"]) == {6222}
    assert allowed(base, "Ingress", nats, ("namespace", INGRESS_NAMESPACE)) == set()
    assert 5432 not in allowed(base, "Egress", nats, ("namespace", "database"))


def test_only_the_gateway_reaches_redis(base: list[Manifest]) -> None:
    redis = pod_template(base, "redis")
    gateway = pod_template(base, "gateway")
    assert allowed(base, "Ingress", redis, gateway["metadata"]["labels"]) == {6379}
    assert 6379 in egress(base, gateway, redis)
    for other in ("dossier", "documents", "reporting", "nats"):
        peer = pod_template(base, other)
        assert allowed(base, "Ingress", redis, peer["metadata"]["labels"]) == set(), other
        assert 6379 not in egress(base, peer, redis), other
    assert allowed(base, "Ingress", redis, ("namespace", INGRESS_NAMESPACE)) == set()
    assert allowed(base, "Egress", redis, ("namespace", "database")) == set()


def test_prometheus_scrapes_every_metrics_port(base: list[Manifest]) -> None:
    monitoring = ("namespace", MONITORING_NAMESPACE)
    for app in APPS:
        pod = pod_template(base, app)
        port = int(pod["metadata"]["annotations"]["prometheus.io/port"])
        assert allowed(base, "Ingress", pod, monitoring) == {port}, app
    assert allowed(base, "Ingress", pod_template(base, "nats"), monitoring) == {8222}


def test_the_policies_reach_the_province_overlay() -> None:
    docs = kustomize(OVERLAY)
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert names == {"default-deny", "gateway", "services", "nats", "redis"}
    gateway = pod_template(docs, "gateway")
    assert allowed(docs, "Ingress", gateway, ("namespace", INGRESS_NAMESPACE)) == {8000}


def test_the_national_simulator_runs_beside_the_services() -> None:
    docs = kustomize(BASE)
    deployment = find(docs, "Deployment", "national")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["lgsp", "run", "national"]
    assert container["ports"] == [{"name": "http", "containerPort": 8004}]
    assert pod["initContainers"][0]["command"] == ["lgsp", "db", "upgrade", "national"]
    secrets = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"]}
    assert {"NATIONAL_DATABASE_URL", "NATIONAL_ADMIN_SECRET", "NATIONAL_CONSUMERS"} <= secrets
    assert find(docs, "Service", "national")["spec"]["ports"][0]["port"] == 8004
    config = find(docs, "ConfigMap", "lgsp-config")["data"]
    assert config["NATIONAL_PROVINCE_URL"] == "http://gateway:8000"
    assert "national" not in config["GATEWAY_UPSTREAMS"]


def test_the_gateway_and_the_dossier_service_reach_the_national_tier(
    base: list[Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's settings from its pod publish ngsp and dvcqg at the national simulator's
    Service, as the consumer the simulator's Secret names; the dossier service's sync goes
    through the gateway with the credentials of its Secret."""
    docs = with_real_secrets(base)
    env = pod_environment(docs, "gateway")
    for name in list(os.environ):
        if name.startswith(("LGSP_", "NATS_", "GATEWAY_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = importlib.import_module("gateway.settings").Settings()
    assert settings.national() == {
        "dvcqg": "http://national:8004/dvcqg",
        "ngsp": "http://national:8004",
    }
    national = pod_environment(docs, "national")
    consumers = json.loads(national["NATIONAL_CONSUMERS"])
    secret = settings.national_client_secret.get_secret_value()
    # An operator puts the same secret in both Secrets; the base's placeholders already match.
    base_consumers = json.loads(pod_environment(base, "national")["NATIONAL_CONSUMERS"])
    assert set(consumers) == set(base_consumers) == {settings.national_client_id}
    assert secret.startswith("gateway-national-client-secret-")
    assert (
        pod_environment(base, "gateway")["GATEWAY_NATIONAL_CLIENT_SECRET"]
        == base_consumers[settings.national_client_id]
    )
    dossier = pod_environment(docs, "dossier")
    assert dossier["DOSSIER_DVCQG_GATEWAY_URL"] == "http://gateway:8000"
    assert {"DOSSIER_DVCQG_CLIENT_ID", "DOSSIER_DVCQG_CLIENT_SECRET"} <= dossier.keys()
    gateway = pod_template(docs, "gateway")
    assert 8004 in egress(docs, gateway, pod_template(docs, "national"))
    assert 8000 in egress(docs, pod_template(docs, "dossier"), gateway)
