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

It runs wrk with the same token against each target in turn, in two phases per backend:

1. Saturation: 64 connections as fast as they can go. This gives the most req/s each target
   serves, so the gateway/nginx ratio. Its latency says little: in a closed loop at saturation,
   latency is connections / throughput (Little's law), so a p99 gap only restates the req/s gap.
2. Paced (`--no-paced` skips it): the same connections, each waiting a random time (mean
   connections / rate) before its next request (`bench/paced.lua`), so every target is offered
   the same fixed rate, by default half the lowest saturated req/s of the three (`--rate` sets
   it). Below capacity the queues stay short, so the p99 a proxy adds over direct is its own
   cost. A target that serves less than 90% of the offered rate is named: it queued again.

It prints req/s, p50 and p99, the CPU time the process under test used per call (the backend for
`direct`, else the proxy; steadier than req/s on a shared machine) and the ratios, all backends
side by side at the end. The targets: gateway >= 0.8 x nginx's saturated req/s, and paced p99
added over direct <= 10 ms. Everything it started is stopped.

The result goes to `bench/results/gateway-<backend>.json` (`-<n>w` for n gateway workers,
`-noaudit` without the audit log, `-redis` with `--redis URL`; `--results DIR`, `--no-results`).
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import results
from lgsp_kit.natsserver import app_nats_env, free_port, start_nats

CALL = "/v1/organs?limit=1"
RPS_TARGET = 0.8  # gateway / nginx, saturated (issue 19)
P99_ADDED_TARGET_MS = 10.0  # p99 the gateway adds over direct, paced
PACED_SCRIPT = Path(__file__).with_name("paced.lua")
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
            return 200 '{{"items":[{{"code":"000.00.00.H03"}}],"next_cursor":null}}';
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
        return {"items": [{"code": "000.00.00.H03"}][:limit], "next_cursor": None}

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


@dataclass
class BackendRun:
    """Both phases of one backend: saturated, then paced at `rate` req/s (none if skipped)."""

    backend: str
    saturated: list[Result]
    rate: int | None = None
    paced: list[Result] = field(default_factory=list)


def by_target(results: list[Result]) -> tuple[Result, Result, Result]:
    """direct, nginx, gateway."""
    by = {r.name: r for r in results}
    return by["direct"], by["nginx"], by["gateway"]


def gaps(results: list[Result]) -> tuple[float, float, float]:
    """gateway / nginx req/s, and the p99 added over direct by the gateway and by nginx."""
    d, n, g = by_target(results)
    return g.rps / n.rps, g.p99_ms - d.p99_ms, n.p99_ms - d.p99_ms


def paced_rate(saturated: list[Result], override: int | None) -> int:
    """The rate of the paced phase: `--rate`, else half the lowest saturated req/s, which all
    three targets serve without queueing."""
    return override or max(1, int(min(r.rps for r in saturated) / 2))


def verdict(run: BackendRun) -> str:
    """The targets: req/s from the saturated run, p99 added from the paced one (the saturated
    p99 added stated too: it only restates the req/s gap)."""
    ratio, added, _ = gaps(run.saturated)
    limit = f"{P99_ADDED_TARGET_MS:g}"
    text = (
        f"req/s {'met' if ratio >= RPS_TARGET else 'missed'} ({ratio:.2f}, "
        f"target >= {RPS_TARGET:g}), "
    )
    if not run.paced:
        return text + (
            f"saturated p99 added {'met' if added <= P99_ADDED_TARGET_MS else 'missed'} "
            f"({added:+.1f} ms, target <= {limit})"
        )
    paced_added = gaps(run.paced)[1]
    return text + (
        f"paced p99 added {'met' if paced_added <= P99_ADDED_TARGET_MS else 'missed'} "
        f"({paced_added:+.1f} ms, target <= {limit}); saturated p99 added {added:+.1f} ms"
    )


BACKEND_WHAT = {
    "documents": "the documents service (`GET /v1/organs?limit=1`: a database read, token checked)",
    "python": "the lean Python backend (one FastAPI route on uvicorn, no database, no token check)",
    "static": "a static backend (nginx answering a fixed JSON: the proxy's own cost)",
}
WHERE = "`python -m bench.gateway`, [docs/gateway.md](docs/gateway.md)"


def result_rows(
    run: BackendRun, *, connections: int, workers: int, audit: bool, rate_given: bool
) -> list[results.Row]:
    """The README rows of one backend: saturated req/s against nginx, paced p99 added."""
    d, n, g = by_target(run.saturated)
    ratio, _, _ = gaps(run.saturated)
    plural = "s" if workers > 1 else ""
    setup = f"gateway {workers} worker{plural}, audit {'on' if audit else 'off'}"
    rows = [
        results.Row(
            what=f"gateway vs nginx in front of {BACKEND_WHAT[run.backend]}, wrk {connections} "
            f"connections as fast as they go; {setup}",
            measured=f"{g.rps:,.0f} vs {n.rps:,.0f} req/s = **{ratio:.2f} ×** "
            f"({d.rps:,.0f} direct); CPU per call: gateway {g.cpu_us:,.0f} µs, "
            f"nginx {n.cpu_us:,.0f} µs",
            target=f"≥ {RPS_TARGET:g} ×",
            met=ratio >= RPS_TARGET,
            where=WHERE,
        )
    ]
    if run.paced and run.rate:
        pd, pn, pg = by_target(run.paced)
        _, added, nginx_added = gaps(run.paced)
        how = "`--rate`" if rate_given else "half the lowest saturated req/s"
        slow = [r.name for r in run.paced if r.rps < 0.9 * run.rate]
        rows.append(
            results.Row(
                what=f"the same, p99 added over calling the backend directly, paced at "
                f"{run.rate:,} req/s offered ({how})",
                measured=f"gateway **{added:+.1f} ms**, nginx {nginx_added:+.1f} ms "
                f"(direct p99 {pd.p99_ms:.1f} ms); served: direct {pd.rps:,.0f}, "
                f"nginx {pn.rps:,.0f}, gateway {pg.rps:,.0f} req/s"
                + (f"; below 90 % of the offered rate: {', '.join(slow)}" if slow else ""),
                target=f"≤ {P99_ADDED_TARGET_MS:g} ms",
                met=added <= P99_ADDED_TARGET_MS,
                where=WHERE + " (paced phase)",
            )
        )
    return rows


def result_figures(run: BackendRun) -> dict[str, Any]:
    """The raw numbers of one backend: every wrk run of both phases."""
    ratio, added, nginx_added = gaps(run.saturated)
    figures: dict[str, Any] = {
        "backend": run.backend,
        "saturated": [asdict(r) for r in run.saturated],
        "gateway_nginx_rps_ratio": round(ratio, 4),
        "saturated_p99_added_ms": {"gateway": added, "nginx": nginx_added},
    }
    if run.paced:
        _, paced_added, paced_nginx_added = gaps(run.paced)
        figures["paced_rate"] = run.rate
        figures["paced"] = [asdict(r) for r in run.paced]
        figures["paced_p99_added_ms"] = {"gateway": paced_added, "nginx": paced_nginx_added}
    return figures


def write_results(
    args: argparse.Namespace,
    started: results.Start,
    summary: list[BackendRun],
    audit_records: str | None,
) -> None:
    variant = f"-{args.workers}w" if args.workers != 1 else ""
    variant += "-noaudit" if args.no_audit else ""
    variant += "-redis" if args.redis else ""
    for run in summary:
        figures = result_figures(run)
        figures["audit_records"] = audit_records
        figures["redis"] = bool(args.redis)
        results.write_from_args(
            args,
            "gateway",
            started=started,
            variant=run.backend + variant,
            figures=figures,
            rows=result_rows(
                run,
                connections=args.connections,
                workers=args.workers,
                audit=not args.no_audit,
                rate_given=args.rate is not None,
            ),
        )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    name: str,
    url: str,
    token: str,
    duration: int,
    connections: int,
    threads: int,
    rate: int | None = None,
) -> Result:
    """One wrk run; with `rate`, paced by `bench/paced.lua` to about that many req/s in all."""
    paced = ["-s", str(PACED_SCRIPT)] if rate else []
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        *paced,
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    if rate:
        command += ["--", str(rate), str(connections)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(name, out)


def parse_wrk(name: str, out: str) -> Result:
    """The numbers of wrk's `--latency` output (the same with or without a Lua script)."""
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
    parser.add_argument(
        "--rate",
        type=int,
        help="req/s offered in the paced phase, for every backend "
        "(default: half the lowest saturated req/s of each backend's three targets)",
    )
    parser.add_argument("--no-paced", action="store_true", help="skip the paced phase")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="run the gateway with LGSP_REDIS_URL=URL: throttling counted in Redis, a lease of "
        "100 calls per request to it (the Gold consumer's limit is raised)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    results.add_arguments(parser)
    args = parser.parse_args()
    started = results.start()
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
            "LGSP_REDIS_URL": args.redis or "",
        }
    )
    lgsp = [sys.executable, "-m", "lgsp.cli", "run"]
    summary: list[BackendRun] = []
    audit_records: str | None = None
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        nats = start_nats(root, ports["nats"])
        env.update(app_nats_env(root))  # the services' NATS users on this server

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
                "organ_code": "000.00.00.H03",
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
            f"throttle {'in Redis' if args.redis else 'in process'}, "
            f"load average before {os.getloadavg()[0]:.2f}"
        )
        if not args.no_paced:
            print(
                f"then paced with -s {PACED_SCRIPT.name} at "
                + (f"{args.rate} req/s" if args.rate else "half the lowest saturated req/s")
                + " offered to each target"
            )
        for backend in backends:
            # (name, URL, process group under test: the backend for `direct`, else the proxy)
            targets = [
                ("direct", f"{url[backend]}{CALL}", groups[backend]),
                ("nginx", f"{url['nginx-' + backend]}{CALL}", groups["nginx"]),
                ("gateway", f"{gateway}/{backend}{CALL}", groups["gateway"]),
            ]
            for _, target, _ in targets:
                wait_http_auth(target, bearer)
            run = BackendRun(backend, measure(targets, bearer, args, None))
            report(backend, run.saturated)
            if not args.no_paced:
                run.rate = paced_rate(run.saturated, args.rate)
                run.paced = measure(targets, bearer, args, run.rate)
                report_paced(run)
            summary.append(run)
        print(f"\nload average after {os.getloadavg()[0]:.2f}")
        if not args.no_audit:
            audit_records = audit_count(gateway, admin_token)
            print(f"audit records written by the gateway: {audit_records}")
        side_by_side(summary, args.workers)
    write_results(args, started, summary, audit_records)
    return 0


def measure(
    targets: list[tuple[str, str, int]], bearer: str, args: argparse.Namespace, rate: int | None
) -> list[Result]:
    """wrk against each target in turn (2 s of warm-up, then `--duration`), as fast as it goes
    or paced at `rate` req/s, with the CPU the process group under test used per call."""
    results = []
    for name, target, group in targets:
        wrk(name, target, bearer, 2, args.connections, args.threads, rate)  # warm-up
        used = cpu_seconds(group)
        result = wrk(name, target, bearer, args.duration, args.connections, args.threads, rate)
        used = cpu_seconds(group) - used
        result.cpu_us = used * 1e6 / max(result.requests, 1)
        results.append(result)
    return results


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


def rows(results: list[Result]) -> None:
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


def report(backend: str, results: list[Result]) -> None:
    print(f"\nbackend: {backend}, saturated")
    rows(results)
    d, n, g = by_target(results)
    ratio, added, nginx_added = gaps(results)
    print(
        f"gateway/nginx req/s {ratio:.2f} (target >= {RPS_TARGET:g}); "
        f"gateway/direct {g.rps / d.rps:.2f}; nginx/direct {n.rps / d.rps:.2f}\n"
        f"p99 added over direct: gateway {added:+.2f} ms, "
        f"nginx {nginx_added:+.2f} ms (saturated: Little's law, the req/s gap again)"
    )


def report_paced(run: BackendRun) -> None:
    print(f"\nbackend: {run.backend}, paced at {run.rate} req/s offered")
    rows(run.paced)
    _, added, nginx_added = gaps(run.paced)
    print(
        f"p99 added over direct: gateway {added:+.2f} ms (target <= 10), "
        f"nginx {nginx_added:+.2f} ms"
    )
    slow = [r.name for r in run.paced if run.rate and r.rps < 0.9 * run.rate]
    if slow:
        print(f"below 90% of the offered rate: {', '.join(slow)} (queueing again: lower --rate)")


def side_by_side(summary: list[BackendRun], workers: int) -> None:
    """One Markdown table of every backend, with the targets met or not."""
    print(
        "\n| backend | direct req/s | nginx req/s | gateway req/s | gateway/nginx "
        "| direct p99 ms | nginx p99 ms | gateway p99 ms | p99 added ms "
        "| nginx CPU µs/call | gateway CPU µs/call | paced req/s (gateway of offered) "
        "| paced direct p99 ms | paced nginx p99 ms | paced gateway p99 ms "
        "| paced p99 added ms | targets |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in summary:
        d, n, g = by_target(run.saturated)
        ratio, added, _ = gaps(run.saturated)
        paced = "| – | – | – | – | – "
        if run.paced:
            pd, pn, pg = by_target(run.paced)
            paced = (
                f"| {pg.rps:,.0f} of {run.rate:,} | {pd.p99_ms:.1f} | {pn.p99_ms:.1f} "
                f"| {pg.p99_ms:.1f} | {gaps(run.paced)[1]:+.1f} "
            )
        print(
            f"| {run.backend} (gateway {workers}w) | {d.rps:,.0f} | {n.rps:,.0f} | {g.rps:,.0f} "
            f"| {ratio:.2f} | {d.p99_ms:.1f} | {n.p99_ms:.1f} | {g.p99_ms:.1f} "
            f"| {added:+.1f} | {n.cpu_us:.0f} | {g.cpu_us:.0f} {paced}"
            f"| {verdict(run)} |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
