"""Gateway benchmark: wrk against a backend directly, through nginx, and through the gateway.

A script, not a test: `python -m bench.gateway [--duration 15] [--workers 1]`. It starts, on
free ports and in a temporary data dir, an embedded NATS, three backends, nginx (Debian) as a
plain reverse proxy with upstream keep-alive, and the gateway with a Gold-tier consumer (JWT
verification, throttling and audit on; the Gold limit raised so the run is counted but never
refused). The backends, from slowest to fastest:

- `documents`: the documents service itself (`GET /v1/organs?limit=1`: FastAPI, a database
  read, token verification);
- `python`: one uvicorn process with one FastAPI route answering a small fixed JSON (no
  database, no token check) — the cost of a lean Python service, what the gateway fronts;
- `static`: nginx answering a fixed JSON — next to free, so what is measured through a proxy is
  the proxy's own cost.

It runs wrk with the same token against each target in turn and prints req/s, p50 and p99, the
CPU time the process under test used per call (the backend for `direct`, else the proxy; steadier
than req/s on a shared machine) and the ratios, all backends side by side at the end. Everything
it started is stopped.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgsp_kit.natsserver import free_port, start_nats

CALL = "/v1/organs?limit=1"
NGINX_HEAD = """
worker_processes {workers};
daemon off;
pid {root}/{name}.pid;
error_log {root}/{name}-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/{name}-body;
    proxy_temp_path {root}/{name}-proxy;
    fastcgi_temp_path {root}/{name}-fastcgi;
    uwsgi_temp_path {root}/{name}-uwsgi;
    scgi_temp_path {root}/{name}-scgi;
"""
# nginx as a plain reverse proxy: one server block per backend, upstream keep-alive.
PROXY_BLOCK = """
    upstream {name} {{
        server 127.0.0.1:{backend};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{name};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
"""
# The trivial backend: a fixed JSON answer (it does not check the token), so what is measured
# through a proxy is the proxy's own cost.
STATIC_CONF = """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type application/json;
            return 200 '{{"items":[{{"code":"000.00.00.H06"}}],"next_cursor":null}}';
        }}
    }}
"""


def python_backend() -> Any:
    """The `python` backend: one FastAPI route with a small fixed JSON answer (uvicorn
    factory), about 8k req/s alone on the 2-CPU machine."""
    from fastapi import FastAPI

    app = FastAPI(openapi_url=None)

    @app.get("/v1/organs")
    async def organs(limit: int = 20) -> dict[str, Any]:
        return {"items": [{"code": "000.00.00.H06"}][:limit], "next_cursor": None}

    return app


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: str
    requests: int = 0
    # CPU of the process group under test (the backend for `direct`, else the proxy) per call.
    cpu_us: float = 0.0


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(name: str, url: str, token: str, duration: int, connections: int, threads: int) -> Result:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    requests = re.search(r"(\d+) requests in", out)
    return Result(
        name,
        rps,
        p50,
        p99,
        int(non2xx.group(1)) if non2xx else 0,
        errors.group(0) if errors else "",
        int(requests.group(1)) if requests else 0,
    )


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s")


def post_json(url: str, body: dict[str, object] | None, headers: dict[str, str]) -> dict[str, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer: dict[str, str] = json.load(resp)
        return answer


def token(gateway: str, client_id: str, secret: str, scope: str | None = None) -> str:
    form = "grant_type=client_credentials" + (f"&scope={scope}" if scope else "")
    req = urllib.request.Request(
        f"{gateway}/token",
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    req.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(json.load(resp)["access_token"])


def spawn(stack: ExitStack, cmd: list[str], env: dict[str, str], log: Path) -> int:
    """Start a process in its own group; the group id is returned (for `cpu_seconds`)."""
    handle = stack.enter_context(log.open("ab"))
    proc = subprocess.Popen(
        cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    stack.callback(stop)
    return proc.pid


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group: on a
    shared machine, CPU per call is steadier than req/s, which depends on what else runs."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name: state, ppid, pgrp…
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def nginx_conf(root: Path, name: str, workers: int, blocks: str) -> Path:
    conf = root / f"{name}.conf"
    conf.write_text(NGINX_HEAD.format(root=root, name=name, workers=workers) + blocks + "}\n")
    return conf


BACKENDS = ("documents", "python", "static")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--nginx-workers", type=int, default=1, help="nginx proxy workers")
    parser.add_argument(
        "--backend",
        choices=["all", *BACKENDS],
        action="append",
        help="which backend to measure (repeatable; default all)",
    )
    parser.add_argument(
        "--no-audit",
        action="store_true",
        help="run the gateway with its audit log off (to measure what the log costs)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y nginx wrk", file=sys.stderr)
            return 2
    chosen = args.backend or ["all"]
    backends = list(BACKENDS) if "all" in chosen else [b for b in BACKENDS if b in chosen]

    root = Path(tempfile.mkdtemp(prefix="lgsp-bench-"))
    names = ("nats", "gateway", *BACKENDS, *(f"nginx-{b}" for b in BACKENDS))
    ports = {name: free_port() for name in names}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    gateway = url["gateway"]
    env = dict(os.environ)
    env.update(
        {
            "LGSP_DATA_DIR": str(root),
            "LGSP_LOG_LEVEL": "warning",
            "NATS_URL": f"nats://127.0.0.1:{ports['nats']}",
            "LGSP_JWKS_URL": f"{gateway}/.well-known/jwks.json",
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_WORKERS": str(args.workers),
            "GATEWAY_UPSTREAMS": json.dumps({b: url[b] for b in BACKENDS}),
            "GATEWAY_TIER_LIMITS": json.dumps(
                {"Bronze": 1000, "Silver": 2000, "Gold": 1_000_000_000, "Unlimited": None}
            ),
            "DOCUMENTS_PORT": str(ports["documents"]),
            "GATEWAY_AUDIT_ENABLED": "false" if args.no_audit else "true",
        }
    )
    lgsp = [sys.executable, "-m", "lgsp_kit.cli", "run"]
    summary: list[tuple[str, list[Result]]] = []
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        nats = start_nats(root, ports["nats"])

        def stop_nats() -> None:
            nats.terminate()
            nats.wait(10)

        stack.callback(stop_nats)
        groups: dict[str, int] = {}
        groups["gateway"] = spawn(stack, [*lgsp, "gateway"], env, root / "gateway.log")
        wait_http(f"{gateway}/healthz")
        if "documents" in backends:
            groups["documents"] = spawn(stack, [*lgsp, "documents"], env, root / "documents.log")
            wait_http(f"{url['documents']}/readyz")
        if "python" in backends:
            groups["python"] = spawn(
                stack, python_command(ports["python"]), env, root / "python.log"
            )
        static = nginx_conf(root, "static", 1, STATIC_CONF.format(port=ports["static"]))
        proxy_blocks = "".join(
            PROXY_BLOCK.format(name=b, backend=ports[b], port=ports[f"nginx-{b}"]) for b in BACKENDS
        )
        proxy = nginx_conf(root, "proxy", args.nginx_workers, proxy_blocks)
        for name, conf in (("static", static), ("nginx", proxy)):
            groups[name] = spawn(
                stack, ["nginx", "-c", str(conf), "-p", str(root)], env, root / "nginx.log"
            )

        admin = json.loads((root / "admin-client.json").read_text())
        admin_token = token(gateway, admin["client_id"], admin["client_secret"])
        consumer = post_json(
            f"{gateway}/admin/consumers",
            {
                "name": "bench",
                "organ_code": "000.00.00.H06",
                "apis": list(BACKENDS),
                "tier": "Gold",
            },
            {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        )
        bearer = token(gateway, consumer["client_id"], consumer["client_secret"])
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
            f"GET {CALL} with a Bearer token; gateway workers {args.workers}, "
            f"nginx proxy workers {args.nginx_workers}, {os.cpu_count()} CPUs, "
            f"audit {'off' if args.no_audit else 'on'}, "
            f"load average before {os.getloadavg()[0]:.2f}"
        )
        for backend in backends:
            targets = [
                ("direct", f"{url[backend]}{CALL}"),
                ("nginx", f"{url['nginx-' + backend]}{CALL}"),
                ("gateway", f"{gateway}/{backend}{CALL}"),
            ]
            for _, target in targets:
                wait_http_auth(target, bearer)
            results = []
            for name, target in targets:
                wrk(name, target, bearer, 2, args.connections, args.threads)  # warm-up
                group = groups[backend if name == "direct" else name]
                used = cpu_seconds(group)
                result = wrk(name, target, bearer, args.duration, args.connections, args.threads)
                used = cpu_seconds(group) - used
                result.cpu_us = used * 1e6 / max(result.requests, 1)
                results.append(result)
            report(backend, results)
            summary.append((backend, results))
        print(f"\nload average after {os.getloadavg()[0]:.2f}")
        if not args.no_audit:
            print(f"audit records written by the gateway: {audit_count(gateway, admin_token)}")
        side_by_side(summary, args.workers)
    return 0


def python_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.gateway:python_backend",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def wait_http_auth(url: str, bearer: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                if resp.status == 200:
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def audit_count(gateway: str, admin_token: str) -> str:
    """How far the audit log got: the id of its newest record (ids count up from 1)."""
    time.sleep(2)
    req = urllib.request.Request(
        f"{gateway}/admin/audit?limit=1", headers={"Authorization": f"Bearer {admin_token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        items = json.load(resp)["items"]
    return str(items[0]["id"]) if items else "0"


def report(backend: str, results: list[Result]) -> None:
    by = {r.name: r for r in results}
    print(f"\nbackend: {backend}")
    print(
        f"{'target':<9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/call':>12} "
        f"{'non-2xx':>8}  errors"
    )
    for r in results:
        row = (
            f"{r.name:<9} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.cpu_us:>12.0f} "
            f"{r.non_2xx:>8}"
        )
        print(f"{row}  {r.errors}")
    d, n, g = by["direct"], by["nginx"], by["gateway"]
    print(
        f"gateway/nginx req/s {g.rps / n.rps:.2f} (target >= 0.6); "
        f"gateway/direct {g.rps / d.rps:.2f}; nginx/direct {n.rps / d.rps:.2f}\n"
        f"p99 added over direct: gateway {g.p99_ms - d.p99_ms:+.2f} ms (target <= 10), "
        f"nginx {n.p99_ms - d.p99_ms:+.2f} ms"
    )


def side_by_side(summary: list[tuple[str, list[Result]]], workers: int) -> None:
    """One Markdown table of every backend, with the targets met or not."""
    print(
        "\n| backend | direct req/s | nginx req/s | gateway req/s | gateway/nginx "
        "| direct p99 ms | nginx p99 ms | gateway p99 ms | p99 added ms "
        "| nginx CPU µs/call | gateway CPU µs/call | targets |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for backend, results in summary:
        d, n, g = (next(r for r in results if r.name == k) for k in ("direct", "nginx", "gateway"))
        ratio, added = g.rps / n.rps, g.p99_ms - d.p99_ms
        met = (
            f"req/s {'met' if ratio >= 0.6 else 'missed'}, p99 {'met' if added <= 10 else 'missed'}"
        )
        print(
            f"| {backend} (gateway {workers}w) | {d.rps:,.0f} | {n.rps:,.0f} | {g.rps:,.0f} "
            f"| {ratio:.2f} | {d.p99_ms:.1f} | {n.p99_ms:.1f} | {g.p99_ms:.1f} | {added:+.1f} "
            f"| {n.cpu_us:.0f} | {g.cpu_us:.0f} | {met} |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
